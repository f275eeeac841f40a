"""Video backends that misbehave on purpose, registered through entry points like any plugin."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from filmc.backend.protocol import BackendConfig, BackendError, Capabilities, Price, RenderContext, Setup, VideoRequest
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
        data = json.loads(self.ledger.read_text()) if self.ledger.exists() else {}
        data[what] = data.get(what, 0) + 1
        self.ledger.parent.mkdir(parents=True, exist_ok=True)
        self.ledger.write_text(json.dumps(data))
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


class RemoteVideo(_Counting):
    """Pays when it creates a job; journals the id before waiting; a resumed job polls instead of paying."""

    name = "remotevideo"
    capabilities = Capabilities(layer="video", remote=True, price=Price(per_second=Decimal("0.10")))

    async def render(self, request: VideoRequest, out: Path, ctx: RenderContext) -> None:
        if ctx.known_remote_id is None:
            self.count("paid")
            assert ctx.journal_remote_id is not None
            ctx.journal_remote_id(f"remote-{request.prompt[:8]}")
            if "turns" in request.prompt and not (self.ledger.parent / "crashed").exists():
                (self.ledger.parent / "crashed").write_text("1")
                raise KeyboardInterrupt  # the process dies while the remote job runs
        else:
            self.count("resumed")
        _animatic(request, out, ctx)


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
