"""Any `/v1/videos`-compatible provider through the openai SDK: a proxy, a self-hosted server, a new vendor.

OpenAI's own Sora / Videos API shut down on 2026-09-24 (openai 3.57 marks `videos.*` deprecated), but the
wire protocol lives on at compatible providers, so this backend names none: the model, the lengths and
the sizes it allows, and the price come from the profile; the base URL and key from OPENAI_BASE_URL and
OPENAI_API_KEY. It is the one provider here with a list call, so an ambiguous create is reconciled by
looking for the job it may have started instead of paying for another.

    [profile.final.video]
    backend = "openai-videos"
    model = "the-provider's-model"
    options = { seconds = "4,8,12", sizes = "1280x720,720x1280" }
    price = { per_second = 0.10 }
"""

from __future__ import annotations

import os
import time
import warnings
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

if TYPE_CHECKING:
    from openai import AsyncOpenAI

KEY_VARIABLE = "OPENAI_API_KEY"
DEFAULT_PRICE = Decimal("0.10")   # per second: a placeholder until the profile names the provider's price


def _quietly(method: Any, *args: Any, **kwargs: Any) -> Any:
    """Call an SDK method without its deprecation warning (it concerns OpenAI's own Sora service, which is
    not what this backend talks to); the warning is raised on the call, before the coroutine runs."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        return method(*args, **kwargs)


def _sizes(text: str) -> tuple[tuple[int, int], ...]:
    return tuple((int(w), int(h)) for w, h in (s.strip().split("x") for s in text.split(",") if s.strip()))


class OpenAIVideos:
    name = "openai-videos"
    version = "1"
    capabilities = Capabilities(layer="video", env=(KEY_VARIABLE,), remote=True,
                                price=Price(per_second=DEFAULT_PRICE))

    def __init__(self, config: BackendConfig, setup: Setup) -> None:
        if not config.model:
            raise ValueError("openai-videos needs the provider's model: set `model = \"…\"` for the video layer")
        self.model = config.model
        seconds = tuple(float(s) for s in str(config.options.get("seconds", "4,8,12")).split(",") if s.strip())
        priced = config.price is not None and "per_second" in config.price.model_fields_set
        per_second = config.price.per_second if config.price is not None and priced else DEFAULT_PRICE
        self.capabilities = Capabilities(
            layer="video", clip_seconds=seconds, frame_sizes=_sizes(str(config.options.get("sizes", "1280x720"))),
            env=(KEY_VARIABLE,), remote=True, price=Price(per_second=per_second), models=(self.model,),
            default_model=self.model)
        self.base_url = config.base_url   # None: the SDK reads OPENAI_BASE_URL (with /v1)
        self._client: AsyncOpenAI | None = None

    def client(self) -> AsyncOpenAI:
        if self._client is None:
            from openai import AsyncOpenAI

            key = os.environ.get(KEY_VARIABLE)
            if not key:
                raise BackendError(f"{KEY_VARIABLE} is not set")
            self._client = AsyncOpenAI(api_key=key, base_url=self.base_url, max_retries=0, timeout=120.0)
        return self._client

    async def render(self, request: VideoRequest, out: Path, ctx: RenderContext) -> None:
        await run_remote(VideoJob(self, request, ctx), out, ctx)


class VideoJob:
    provider = "openai-videos"

    def __init__(self, backend: OpenAIVideos, request: VideoRequest, ctx: RenderContext) -> None:
        self.backend, self.request = backend, request
        self.estimated_usd = backend.capabilities.price.per_second * Decimal(str(request.seconds))
        self.sent_at = 0.0

    async def create(self) -> RemoteState:
        self.sent_at = time.time()
        videos: Any = self.backend.client().videos   # the SDK types model, seconds and size as OpenAI's own lists
        try:
            video = await _quietly(videos.create, prompt=self.request.prompt, model=self.backend.model,
                                   seconds=str(round(self.request.seconds)),
                                   size=f"{self.request.width}x{self.request.height}")
        except Exception as err:
            raise classify_create_failure(err, secret=os.environ.get(KEY_VARIABLE)) from None
        return RemoteState(provider=self.provider, operation=video.id)

    async def poll(self, state: RemoteState) -> Progress:
        try:
            video = await _quietly(self.backend.client().with_options(max_retries=3).videos.retrieve, state.operation)
        except Exception as err:
            if getattr(err, "status_code", None) == 404:
                return Progress(status="gone", detail="the provider no longer knows this video")
            reason = scrub(str(err), os.environ.get(KEY_VARIABLE))
            raise BackendError(f"polling video {state.operation}: {reason}", transient=True) from None
        if video.status == "completed":
            return Progress(status="done")
        if video.status == "failed":
            return Progress(status="failed", detail=video.error.message if video.error else "failed")
        return Progress(status="running" if video.status == "in_progress" else "queued",
                        progress=video.progress / 100)

    async def download(self, state: RemoteState, done: Progress, out: Path) -> None:
        try:
            videos = self.backend.client().with_options(max_retries=3).videos
            content = await _quietly(videos.download_content, state.operation)
            out.write_bytes(content.content)
        except Exception as err:
            reason = scrub(str(err), os.environ.get(KEY_VARIABLE))
            raise BackendError(f"downloading video {state.operation}: {reason}", transient=True) from None

    async def find(self) -> RemoteState | None:
        """The video an ambiguous create may have started: same prompt, model, length and size, made since."""
        try:
            page = await _quietly(self.backend.client().with_options(max_retries=3).videos.list, order="desc", limit=20)
        except Exception:
            return None   # can't tell: the loop retries at most create_retries times, each possibly billed
        for video in page.data:
            if (video.prompt == self.request.prompt and video.created_at >= self.sent_at - 5
                    and str(video.seconds) == str(round(self.request.seconds))
                    and video.size == f"{self.request.width}x{self.request.height}"):
                return RemoteState(provider=self.provider, operation=video.id)
        return None
