"""Video backends that misbehave on purpose, registered through entry points like any plugin."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from filmc.backend.protocol import (
    BackendConfig,
    BackendError,
    Capabilities,
    Price,
    RemoteState,
    RenderContext,
    Setup,
    VideoRequest,
)
from filmc.backend.remote import Progress
from filmc_backends.animatic_engine import AnimaticClip, render_animatic


def _animatic(request: VideoRequest, out: Path, ctx: RenderContext) -> None:
    clip = AnimaticClip(width=request.width, height=request.height, fps_num=request.fps_num, fps_den=request.fps_den,
                        frames=request.frames, colors=request.colors or ("#303030",), camera=request.camera,
                        heading="", caption="")
    render_animatic(clip, out, workdir=ctx.workdir, threads=1)


class _Counting:
    """Counts calls in a file under the cache, so a test in another process can read them."""

    version = "1"

    def __init__(self, config: BackendConfig, setup: Setup) -> None:
        self.ledger = setup.cache_dir / f"{self.name}.calls.json"  # type: ignore[attr-defined]

    def count(self, what: str) -> int:
        from filelock import FileLock

        from filmc.files import write_text_atomic

        self.ledger.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(self.ledger.with_suffix(".lock")):  # two renders may count at once
            data = json.loads(self.ledger.read_text()) if self.ledger.exists() else {}
            data[what] = data.get(what, 0) + 1
            write_text_atomic(self.ledger, json.dumps(data))
        return int(data[what])


class FailVideo(_Counting):
    name = "failvideo"
    capabilities = Capabilities(layer="video")

    async def render(self, request: VideoRequest, out: Path, ctx: RenderContext) -> None:
        out.write_bytes(b"half a clip")  # a backend that dies mid-write
        if "turns" in request.prompt:
            self.count("fail")
            raise BackendError("the service refused this shot")
        _animatic(request, out, ctx)


class FlakyVideo(_Counting):
    name = "flakyvideo"
    capabilities = Capabilities(layer="video")

    async def render(self, request: VideoRequest, out: Path, ctx: RenderContext) -> None:
        if self.count(request.prompt[:20]) == 1:
            raise BackendError("503 from the service", transient=True)
        _animatic(request, out, ctx)


class _LedgerProvider:
    """A provider whose jobs live in a JSON file under the cache, so a second process sees the first's jobs.
    It answers `done` on the second poll; prompts steer its faults (see RemoteVideo)."""

    provider = "ledgerprov"

    def __init__(self, backend: RemoteVideo, request: VideoRequest, ctx: RenderContext) -> None:
        self.backend, self.request, self.ctx = backend, request, ctx
        self.estimated_usd = Decimal("0.10") * Decimal(str(request.seconds))

    async def create(self) -> RemoteState:
        from filmc.backend.remote import CreateError

        if "refused" in self.request.prompt and self.backend.count("refused") == 1:
            raise CreateError("429 Too Many Requests", outcome="not_created", retry_after=0.01)
        self.backend.count("paid")
        if "slow" in self.request.prompt:  # a create that takes a while to answer: the window two renders share
            import asyncio

            await asyncio.sleep(1.0)
        operation = f"op-{self.request.prompt[:8]}-{self.backend.count('ops')}"
        if "turns" in self.request.prompt and not (self.backend.ledger.parent / "crashed").exists():
            (self.backend.ledger.parent / "crashed").write_text("1")
            assert self.ctx.journal_remote is not None
            self.ctx.journal_remote(RemoteState(provider=self.provider, operation=operation))
            raise KeyboardInterrupt  # the process dies while the remote job runs, its id journalled
        return RemoteState(provider=self.provider, operation=operation)

    async def poll(self, state: RemoteState) -> Progress:
        if self.backend.count(f"poll {state.operation}") < 2:
            return Progress(status="running", progress=0.5)
        if "vanishes" in self.request.prompt and not (self.backend.ledger.parent / "vanished").exists():
            (self.backend.ledger.parent / "vanished").write_text("1")
            return Progress(status="gone", detail="expired")
        return Progress(status="done", actual_usd=self.estimated_usd - Decimal("0.01"))

    async def download(self, state: RemoteState, done: Progress, out: Path) -> None:
        self.backend.count("resumed" if self.ctx.known_remote else "downloaded")
        garbled = self.backend.ledger.parent / "garbled"
        if "garbled" in self.request.prompt and not garbled.exists():   # the provider's clip is broken, once
            garbled.write_text("1")
            out.write_bytes(b"not a clip at all")
            return
        _animatic(self.request, out, self.ctx)

    async def find(self) -> RemoteState | None:
        return None


class RemoteVideo(_Counting):
    """A paid remote backend on filmc's own remote loop. Prompts steer faults: "turns" crashes the process
    after the create (once), "refused" gets one 429, "vanishes" is reported gone by the provider (once),
    "slow" takes a second to answer its create, "garbled" delivers a broken clip (once)."""

    name = "remotevideo"
    capabilities = Capabilities(layer="video", remote=True, price=Price(per_second=Decimal("0.10")))

    async def render(self, request: VideoRequest, out: Path, ctx: RenderContext) -> None:
        from filmc.backend.remote import Pacing, run_remote

        fast = Pacing(first_poll=0.01, max_poll=0.02, create_backoff=0.01)
        await run_remote(_LedgerProvider(self, request, ctx), out, ctx, pacing=fast)


class GatedVideo(_Counting):
    """Makes clips like the animatic, but while FILMC_TEST_GATE names a file it stops at the shot that turns:
    it creates that file (the test's event: a job is in flight) and waits, so Ctrl-C lands mid-job every time."""

    name = "gatedvideo"
    capabilities = Capabilities(layer="video")

    async def render(self, request: VideoRequest, out: Path, ctx: RenderContext) -> None:
        import asyncio
        import os

        gate = os.environ.get("FILMC_TEST_GATE")
        if gate and "turns" in request.prompt:
            out.write_bytes(b"the start of a clip")  # half-written when the interrupt comes
            Path(gate).write_text("in flight", "utf-8")
            await asyncio.sleep(3600)
        _animatic(request, out, ctx)


class LeakyVideo(_Counting):
    """Fails with an error that echoes its API key, as SDK errors echoing request headers do."""

    name = "leakyvideo"
    capabilities = Capabilities(layer="video", env=("LEAKY_API_KEY",))

    async def render(self, request: VideoRequest, out: Path, ctx: RenderContext) -> None:
        import os

        raise BackendError(f"401 Unauthorized: headers {{'Authorization': 'Bearer {os.environ['LEAKY_API_KEY']}'}}")


class GpuVideo(_Counting):
    """Makes clips like the animatic, declaring one GPU a job, as a local open video model would."""

    name = "gpuvideo"
    capabilities = Capabilities(layer="video", gpus=1)

    async def render(self, request: VideoRequest, out: Path, ctx: RenderContext) -> None:
        _animatic(request, out, ctx)
