"""Runway text-to-video (runwayml SDK) on filmc's remote-job loop: each shot created once, resumed, priced.

Facts this adapter rests on (runwayml 5.24, 2026-10): `text_to_video.create(model, prompt_text, ratio,
duration)` answers a task id; `tasks.retrieve(id)` gives PENDING / THROTTLED / RUNNING / SUCCEEDED /
FAILED / CANCELLED, the output URLs (they expire: download at once) and the final `cost` in credits
($0.01 each). `gen4_turbo` is image-to-video only, so text-only shots default to `gen4.5`. The SDK's
own retries are off for the create (it sends no idempotency key: a retry could bill twice); polls and
downloads are idempotent and keep them.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
from filmc.backend.remote import Progress, classify_create_failure, run_remote, scrub
from filmc.model import Model

if TYPE_CHECKING:
    from runwayml import AsyncRunwayML

KEY_VARIABLE = "RUNWAYML_API_SECRET"
USD_PER_CREDIT = Decimal("0.01")


class RunwayModel(Model):
    """What one Runway model makes. Credits per second are list prices (2026-10), estimates only: the
    provider's own `cost` goes into the ledger when the task ends."""

    durations: tuple[int, ...]
    ratios: tuple[tuple[int, int], ...]
    credits_per_second: int


MODELS: dict[str, RunwayModel] = {
    "gen4.5": RunwayModel(durations=tuple(range(2, 11)), ratios=((1280, 720), (720, 1280)), credits_per_second=12),
    "veo3.1": RunwayModel(durations=(4, 6, 8), ratios=((1280, 720), (720, 1280), (1920, 1080), (1080, 1920)),
                          credits_per_second=40),
    "veo3.1_fast": RunwayModel(durations=(4, 6, 8), ratios=((1280, 720), (720, 1280), (1920, 1080), (1080, 1920)),
                               credits_per_second=15),
}
DEFAULT_MODEL = "gen4.5"


def capabilities_of(model: str) -> Capabilities:
    spec = MODELS[model]
    return Capabilities(layer="video", clip_seconds=tuple(float(d) for d in spec.durations), frame_sizes=spec.ratios,
                        max_prompt_chars=1000, env=(KEY_VARIABLE,), remote=True,
                        price=Price(per_second=USD_PER_CREDIT * spec.credits_per_second), models=tuple(MODELS),
                        default_model=DEFAULT_MODEL)


class RunwayVideo:
    """`video = { backend = "runway", model = "gen4.5" }`; the key comes from RUNWAYML_API_SECRET only."""

    name = "runway"
    version = "2"   # 2: text-to-video on filmc's remote loop (1 could only plan)
    capabilities = capabilities_of(DEFAULT_MODEL)

    def __init__(self, config: BackendConfig, setup: Setup) -> None:
        self.model = config.model or DEFAULT_MODEL
        if self.model not in MODELS:
            raise ValueError(f"runway model {self.model!r} is not one filmc knows for text-to-video "
                             f"({', '.join(MODELS)})")
        self.capabilities = capabilities_of(self.model)
        self.base_url = config.base_url   # None: the SDK reads RUNWAYML_BASE_URL
        self._client: AsyncRunwayML | None = None   # built on first use: compile never needs the key

    def client(self) -> AsyncRunwayML:
        if self._client is None:
            from runwayml import AsyncRunwayML

            key = os.environ.get(KEY_VARIABLE)
            if not key:
                raise BackendError(f"{KEY_VARIABLE} is not set")
            # retries off, see the module docstring
            self._client = AsyncRunwayML(api_key=key, base_url=self.base_url, max_retries=0, timeout=60.0)
        return self._client

    async def render(self, request: VideoRequest, out: Path, ctx: RenderContext) -> None:
        await run_remote(RunwayJob(self, request), out, ctx)


class RunwayJob:
    provider = "runway"

    def __init__(self, backend: RunwayVideo, request: VideoRequest) -> None:
        self.backend, self.request = backend, request
        spec = MODELS[backend.model]
        self.estimated_usd = USD_PER_CREDIT * spec.credits_per_second * Decimal(str(request.seconds))

    async def create(self) -> RemoteState:
        try:
            # one overload per model in the SDK's types; ours is one of MODELS, checked at construction
            create: Any = self.backend.client().text_to_video.create
            task = await create(model=self.backend.model, prompt_text=self.request.prompt,
                                ratio=f"{self.request.width}:{self.request.height}",
                                duration=round(self.request.seconds), seed=self.request.seed)
        except BackendError:
            raise
        except Exception as err:
            raise classify_create_failure(err, secret=os.environ.get(KEY_VARIABLE)) from None
        return RemoteState(provider=self.provider, operation=task.id)

    async def poll(self, state: RemoteState) -> Progress:
        client = self.backend.client().with_options(max_retries=3)  # a GET: retrying costs nothing
        try:
            task: Any = await client.tasks.retrieve(state.operation)
        except Exception as err:
            if getattr(err, "status_code", None) == 404:
                return Progress(status="gone", detail="Runway no longer knows this task")
            reason = scrub(str(err), os.environ.get(KEY_VARIABLE))
            raise BackendError(f"polling Runway task {state.operation}: {reason}", transient=True) from None
        status = task.status
        if status == "SUCCEEDED":
            return Progress(status="done", output_uri=task.output[0] if task.output else None,
                            actual_usd=USD_PER_CREDIT * task.cost.credits)
        if status in ("FAILED", "CANCELLED"):
            return Progress(status="failed", detail=getattr(task, "failure", "") or status.lower())
        return Progress(status="running" if status == "RUNNING" else "queued", progress=getattr(task, "progress", None))

    async def download(self, state: RemoteState, done: Progress, out: Path) -> None:
        import httpx

        if not done.output_uri:
            raise BackendError(f"Runway task {state.operation} succeeded with no output")
        try:
            async with httpx.AsyncClient(timeout=120.0, follow_redirects=True) as http, \
                    http.stream("GET", done.output_uri) as answer:
                answer.raise_for_status()
                with open(out, "wb") as fh:
                    async for chunk in answer.aiter_bytes(1 << 20):
                        fh.write(chunk)
        except httpx.HTTPError as err:  # an expired URL or a cut transfer: polling again gives a fresh one
            raise BackendError(f"downloading Runway task {state.operation}'s clip: {type(err).__name__}",
                               transient=True) from None

    async def find(self) -> RemoteState | None:
        return None   # Runway lists no tasks: an ambiguous create is retried at most create_retries times
