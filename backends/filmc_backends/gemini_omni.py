"""Google Gemini Omni Flash text-to-video (google-genai's Interactions API) on filmc's remote-job loop.

Facts this adapter rests on (google-genai 3.6.1, read in its source, 2026-12):

- `client.aio.interactions.create(model, input, response_modalities=["video"], response_format={"type":
  "video", "duration": "8s", "aspect_ratio", "resolution", "delivery"}, background=True)` POSTs
  `/{api_version}/interactions` (api_version is `v1` unless GOOGLE_GENAI_API_VERSION says otherwise) and
  answers the interaction's id; `interactions.get(id)` polls it. Statuses: queued, in_progress, completed,
  failed, cancelled, incomplete, budget_exceeded (and requires_action, idle, requires_continuation, which
  a background video job should never reach).
- The clip is a `video` content block in the interaction's `steps` (a `model_output` step), which the
  SDK surfaces as `interaction.output_video`: base64 `data`, or a `uri` naming a Files API file, fetched
  with `files.get` (state PROCESSING / ACTIVE / FAILED) then `files.download`. A poll may answer base64
  even when a uri was asked for, so both are handled whatever the profile's `delivery`.
- The SDK prefers GOOGLE_API_KEY to GEMINI_API_KEY when it reads the environment, so filmc reads
  GEMINI_API_KEY itself and passes it; the base URL is the profile's, else the SDK's own
  GOOGLE_GEMINI_BASE_URL, else the service.
- Its retries are per client, not per call, and are on by default (5 attempts, including 409, 429 and
  5xx): a create sends no idempotency key, so a retried create could bill twice. Creates go through a
  client built with `attempts=1`; polls and file reads, which cost nothing, through one that retries.

Omni also generates a soundtrack; filmc's assembler keeps only a clip's picture (`-an`), so it is muted
in the mix. A paid clip is kept under the key's scratch folder the moment its bytes arrive, so a crash or
a failed download afterwards never pays for it again.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import logging
import mimetypes
import os
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

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
from filmc.backend.remote import CreateError, Progress, classify_create_failure, run_remote, scrub
from filmc.files import atomic_path, atomic_path_async, place
from filmc.model import Model

if TYPE_CHECKING:
    from google.genai import Client

KEY_VARIABLE = "GEMINI_API_KEY"
DEFAULT_MODEL = "gemini-omni-1.2-flash"
DELIVERIES = ("inline", "uri")
DEFAULT_DELIVERY = "inline"
# Statuses after which the interaction will never make its clip (a background video job should reach none of
# the last two): the job failed, and only `--recreate` pays for another.
FAILED = {"failed": "failed", "cancelled": "was cancelled", "incomplete": "stopped incomplete",
          "budget_exceeded": "ran over its budget", "requires_action": "asks for an action filmc cannot take",
          "idle": "is idle"}
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp")


class Resolution(Model):
    """One output resolution: its landscape frame size and filmc's per-second estimate of its price.

    The prices are estimates, not Google's word (no price list was at hand when this was written): about
    $0.03/s at 360p, $0.10/s at 720p and $0.15/s at 1080p, the per-second grid resellers quoted for Omni
    Flash in 2026. A profile's `price = { per_second = … }` overrides them. Omni reports no charge per
    interaction (its `usage` counts tokens), so the ledger holds these estimates."""

    size: tuple[int, int]
    usd_per_second: Decimal


RESOLUTIONS: dict[str, Resolution] = {   # smallest first
    "360p": Resolution(size=(640, 360), usd_per_second=Decimal("0.03")),
    "720p": Resolution(size=(1280, 720), usd_per_second=Decimal("0.10")),
    "1080p": Resolution(size=(1920, 1080), usd_per_second=Decimal("0.15")),
}
DEFAULT_RESOLUTION = "1080p"   # a ceiling: the planner asks for the smallest frame that covers the film


class OmniModel(Model):
    durations: tuple[int, ...]   # whole seconds, sent as "Ns"


MODELS: dict[str, OmniModel] = {"gemini-omni-1.2-flash": OmniModel(durations=tuple(range(3, 16)))}


def frame_sizes(up_to: str) -> tuple[tuple[int, int], ...]:
    """Landscape and portrait sizes of every resolution up to `up_to`. The planner takes the film's own size
    when it is listed, else the smallest of the film's shape that covers it, so `up_to` caps what it costs."""
    sizes: list[tuple[int, int]] = []
    for name, resolution in RESOLUTIONS.items():
        width, height = resolution.size
        sizes += [(width, height), (height, width)]
        if name == up_to:
            break
    return tuple(sizes)


def capabilities_of(model: str, resolution: str, per_second: Decimal | None = None) -> Capabilities:
    """Priced per frame size, so the plan's estimate is the job's own; a profile's `per_second` prices all."""
    sizes = frame_sizes(resolution)
    by_size = {} if per_second is not None else {
        f"{w}x{h}": RESOLUTIONS[resolution_for(w, h)].usd_per_second for w, h in sizes}
    return Capabilities(layer="video", clip_seconds=tuple(float(d) for d in MODELS[model].durations),
                        frame_sizes=sizes, env=(KEY_VARIABLE,), remote=True,
                        price=Price(per_second=per_second if per_second is not None
                                    else RESOLUTIONS[resolution].usd_per_second, per_second_by_size=by_size),
                        models=tuple(MODELS), default_model=DEFAULT_MODEL, reference_images=True)


def resolution_for(width: int, height: int) -> str:
    """The smallest resolution whose frame covers the request's, else the largest."""
    long, short = max(width, height), min(width, height)
    for name, resolution in RESOLUTIONS.items():
        if resolution.size[0] >= long and resolution.size[1] >= short:
            return name
    return list(RESOLUTIONS)[-1]


def aspect_ratio(width: int, height: int) -> Literal["16:9", "9:16"]:
    return "9:16" if height > width else "16:9"


class GeminiOmniVideo:
    """`video = { backend = "gemini-omni", model = "gemini-omni-1.2-flash" }`; the key comes from GEMINI_API_KEY.

    Options: `resolution` ("360p", "720p" or "1080p", default 1080p: the largest frame filmc may ask for),
    `delivery` ("inline" or "uri": how the clip comes back)."""

    name = "gemini-omni"
    version = "1"
    capabilities = capabilities_of(DEFAULT_MODEL, DEFAULT_RESOLUTION)

    def __init__(self, config: BackendConfig, setup: Setup) -> None:
        self.model = config.model or DEFAULT_MODEL
        if self.model not in MODELS:
            raise ValueError(f"gemini-omni model {self.model!r} is not one filmc knows ({', '.join(MODELS)}); "
                             f"set `model = \"{DEFAULT_MODEL}\"` for the video layer (a built-in profile's model "
                             "belongs to its own backend)")
        self.resolution = str(config.options.get("resolution", DEFAULT_RESOLUTION))
        if self.resolution not in RESOLUTIONS:
            raise ValueError(f"gemini-omni resolution {self.resolution!r} is not one of {', '.join(RESOLUTIONS)}")
        self.delivery = str(config.options.get("delivery", DEFAULT_DELIVERY))
        if self.delivery not in DELIVERIES:
            raise ValueError(f"gemini-omni delivery {self.delivery!r} is not one of {', '.join(DELIVERIES)}")
        priced = config.price is not None and "per_second" in config.price.model_fields_set
        self.price_override = config.price.per_second if config.price is not None and priced else None
        self.capabilities = capabilities_of(self.model, self.resolution, self.price_override)
        self.base_url = config.base_url   # None: the SDK reads GOOGLE_GEMINI_BASE_URL, else the service
        self.project_dir = setup.project_dir
        # built on first use (compile never needs the key) and kept: the async transport lives on the Client
        self._clients: dict[str, Client] = {}

    def client(self, purpose: Literal["create", "read"]) -> Client:
        """`create`: no retries (a retried create may bill twice); `read`: polls and files, retried."""
        if purpose not in self._clients:
            from google.genai import Client
            from google.genai.types import HttpOptions, HttpRetryOptions

            key = os.environ.get(KEY_VARIABLE)
            if not key:
                raise BackendError(f"{KEY_VARIABLE} is not set")
            options = HttpOptions(base_url=self.base_url, timeout=60_000 if purpose == "create" else 300_000,
                                  retry_options=HttpRetryOptions(attempts=1 if purpose == "create" else 3))
            with _quiet_about_google_api_key():
                self._clients[purpose] = Client(api_key=key, vertexai=False, http_options=options)
        return self._clients[purpose]

    def usd_per_second(self, resolution: str) -> Decimal:
        return self.price_override if self.price_override is not None else RESOLUTIONS[resolution].usd_per_second

    async def render(self, request: VideoRequest, out: Path, ctx: RenderContext) -> None:
        if ctx.scratch is None:
            raise BackendError("the gemini-omni backend needs the executor's scratch folder; it was not given one")
        await run_remote(OmniJob(self, request, ctx.scratch, ctx.files), out, ctx)


class OmniJob:
    """One clip as one background interaction; its bytes kept under the key's scratch folder once they arrive."""

    provider = "gemini-omni"

    def __init__(self, backend: GeminiOmniVideo, request: VideoRequest, scratch: Path,
                 planned: dict[str, str] | None = None) -> None:
        self.backend, self.request, self.scratch = backend, request, scratch
        self.planned = planned or {}   # reference image -> the sha256 its job's key was made with
        self.seconds = max(1, round(request.seconds))
        self.resolution = resolution_for(request.width, request.height)
        self.estimated_usd = backend.usd_per_second(self.resolution) * self.seconds
        self.file_size: int | None = None   # what files.get said the clip weighs, checked after the download

    def input(self) -> str | list[dict[str, str]]:
        """The prompt (negative constraints folded in), and the shot's entity reference images if it has any."""
        text = self.request.prompt
        if self.request.negative.strip():
            text += f"\n\nAvoid: {self.request.negative.strip()}"
        if not self.request.reference_images:
            return text
        parts = [{"type": "text", "text": text}]
        for name in self.request.reference_images:
            path = self.backend.project_dir / name
            mime = mimetypes.guess_type(path.name)[0]
            if mime not in IMAGE_TYPES:
                raise BackendError(f"reference image {name} is not a PNG, JPEG or WebP file, which Gemini takes")
            try:
                data = path.read_bytes()
            except OSError as err:
                raise BackendError(f"cannot read reference image {name}: {err.strerror}") from None
            if name in self.planned and hashlib.sha256(data).hexdigest() != self.planned[name]:
                # the clip would be stored under a key made for the old picture
                raise BackendError(f"reference image {name} changed after the plan was made; compile again "
                                   "(`filmc render FILM.film` does) so the shots it guides are keyed by it")
            parts.append({"type": "image", "mime_type": mime, "data": base64.b64encode(data).decode("ascii")})
        return parts

    async def create(self) -> RemoteState:
        key = os.environ.get(KEY_VARIABLE)
        body = self.input()   # before anything is sent: a missing image costs nothing
        fmt = {"type": "video", "duration": f"{self.seconds}s",
               "aspect_ratio": aspect_ratio(self.request.width, self.request.height),
               "resolution": self.resolution, "delivery": self.backend.delivery}
        try:
            # typed as a TypedDict union in the SDK; ours is the video variant, checked by the tests' fake
            interactions: Any = self.backend.client("create").aio.interactions
            interaction = await interactions.create(model=self.backend.model, input=body,
                                                    response_modalities=["video"], response_format=fmt,
                                                    background=True)
        except BackendError:
            raise
        except Exception as err:
            raise classify_create_failure(err, secret=key) from None
        if not interaction.id:   # accepted, so maybe started and billed, but with nothing to poll
            raise CreateError("Gemini accepted the interaction but answered no id", outcome="ambiguous")
        state = RemoteState(provider=self.provider, operation=str(interaction.id))
        if interaction.status == "completed":   # answered at once after all: keep what was paid for
            # unreadable or unstorable: the first poll asks again; the id must reach the journal first
            with contextlib.suppress(BackendError, OSError):
                self.keep_inline(state, interaction)
        return state

    def kept(self, state: RemoteState) -> Path:
        return self.scratch / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', state.operation)}.mp4"

    def keep_inline(self, state: RemoteState, interaction: Any) -> bool:
        """Write a clip that came back as base64 under the scratch folder; False if it came as a uri."""
        video = interaction.output_video
        if video is None or not video.data:
            return False
        try:
            data = base64.b64decode(video.data, validate=True)
        except (binascii.Error, ValueError):
            raise BackendError(f"Gemini interaction {state.operation}'s clip is not valid base64",
                               transient=True) from None
        with atomic_path(self.kept(state)) as tmp:
            tmp.write_bytes(data)
        return True

    async def poll(self, state: RemoteState) -> Progress:
        kept = self.kept(state)
        if kept.is_file():   # paid for and kept by an earlier attempt: nothing to ask
            return Progress(status="done", output_uri=str(kept))
        try:
            interaction: Any = await self.backend.client("read").aio.interactions.get(state.operation)
        except Exception as err:
            if _status(err) == 404:
                return Progress(status="gone", detail="Gemini no longer knows this interaction")
            raise BackendError(f"polling Gemini interaction {state.operation}: {self.reason(err)}",
                               transient=True) from None
        status = str(interaction.status)
        if status == "completed":
            return await self.completed(state, interaction)
        if status in FAILED:
            return Progress(status="failed", detail=self.failure(interaction, FAILED[status]))
        return Progress(status="queued" if status == "queued" else "running")

    async def completed(self, state: RemoteState, interaction: Any) -> Progress:
        if self.keep_inline(state, interaction):
            return Progress(status="done", output_uri=str(self.kept(state)))
        video = interaction.output_video
        if video is None or not video.uri:
            said = scrub(" ".join(str(interaction.output_text or "").split())[:300], os.environ.get(KEY_VARIABLE))
            return Progress(status="failed", detail="the interaction completed without a video"
                            + (f"; the model said: {said}" if said else ""))
        name = file_name(str(video.uri))
        if name is None:
            return Progress(status="failed", detail=f"the clip's uri names no Gemini file: {video.uri}")
        try:
            file = await self.backend.client("read").aio.files.get(name=name)
        except Exception as err:
            if _status(err) in (403, 404):
                return Progress(status="gone", detail=f"the clip's file {name} has expired or is gone")
            raise BackendError(f"asking for Gemini file {name}: {self.reason(err)}", transient=True) from None
        file_state = str(getattr(file.state, "value", file.state) or "")
        if file_state == "FAILED":
            message = file.error.message if file.error is not None and file.error.message else "processing failed"
            return Progress(status="failed", detail=f"the clip's file {name}: {message}")
        if file_state != "ACTIVE":   # PROCESSING: keep polling, at the loop's pace and within its deadline
            return Progress(status="running", progress=1.0)
        self.file_size = file.size_bytes
        return Progress(status="done", output_uri=name)

    async def download(self, state: RemoteState, done: Progress, out: Path) -> None:
        kept = self.kept(state)
        if not kept.is_file():
            await self.fetch(state, done.output_uri or "", kept)
        place(kept, out)

    async def fetch(self, state: RemoteState, name: str, kept: Path) -> None:
        """The clip's file, streamed to a temp file beside its kept place, checked whole, then moved in."""
        try:
            async with atomic_path_async(kept) as tmp:
                await self.backend.client("read").aio.files.download(file=name, destination=str(tmp))
                size = tmp.stat().st_size
                if self.file_size is not None and size != self.file_size:
                    raise BackendError(f"downloading Gemini file {name}: got {size} of {self.file_size} bytes",
                                       transient=True)
        except BackendError:
            raise
        except Exception as err:   # a cut transfer or an expired file: polling again says which
            raise BackendError(f"downloading Gemini interaction {state.operation}'s clip: {self.reason(err)}",
                               transient=True) from None

    async def find(self) -> RemoteState | None:
        return None   # Gemini lists no interactions: an ambiguous create is retried at most create_retries times

    def failure(self, interaction: Any, what: str) -> str:
        """The provider's reasons for a failed interaction: its recorded errors and any step's error."""
        reasons = [e.message for e in interaction.errors or () if e.message]
        reasons += [step.error.message for step in interaction.steps or ()
                    if getattr(step, "error", None) is not None and step.error.message]
        return scrub(f"the interaction {what}" + (f": {'; '.join(reasons)}" if reasons else ""),
                     os.environ.get(KEY_VARIABLE))

    @staticmethod
    def reason(err: BaseException) -> str:
        return scrub(" ".join(str(err).split()) or type(err).__name__, os.environ.get(KEY_VARIABLE))


def file_name(uri: str) -> str | None:
    """`files/<id>` from a Files API uri (`https://…/v1beta/files/abc123:download?alt=media`) or name. The
    SDK's own parser reads https uris only and stops at a dash, which file ids may contain."""
    match = re.search(r"(?:^|/)files/([a-z0-9](?:[a-z0-9-]*[a-z0-9])?)(?=$|[:/?])", uri)
    return f"files/{match.group(1)}" if match else None


def _status(err: BaseException) -> int | None:
    """The HTTP status of an SDK error: `status_code` on the Interactions API's, `code` on the Files API's."""
    from google.genai import errors

    status = getattr(err, "status_code", None)
    if isinstance(status, int):
        return status
    return err.code if isinstance(err, errors.APIError) and isinstance(err.code, int) else None


@contextlib.contextmanager
def _quiet_about_google_api_key() -> Iterator[None]:
    """The SDK warns "Both GOOGLE_API_KEY and GEMINI_API_KEY are set. Using GOOGLE_API_KEY." whenever both are
    set, even when it is handed a key: filmc uses GEMINI_API_KEY, so that line would mislead."""
    sdk_logger = logging.getLogger("google_genai._api_client")

    def other(record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Both GOOGLE_API_KEY and GEMINI_API_KEY are set")

    sdk_logger.addFilter(other)
    try:
        yield
    finally:
        sdk_logger.removeFilter(other)
