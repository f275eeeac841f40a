"""What a backend is: one small protocol per layer, the requests it takes and the capabilities it declares.

No stage above this module knows a provider's name, clip lengths or sizes: the plan asks the
backend's declared capabilities, so a provider can vanish (as Sora's API did) without touching them.
A plugin author reads this module and `filmc.backend.registry`, and nothing else.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from pydantic import Field

from filmc.assemble.drawing import Drawing
from filmc.backend.capabilities import (
    MEDIA_LAYERS,
    BackendConfig,
    Capabilities,
    Layer,
    OptionValue,
    Pacing,
    Price,
    Setup,
)
from filmc.expand.context import FilmContext, MusicSection, ShotContext, ShotPrompt, Usage
from filmc.expand.translation import LineContext, LineTranslation, TranslationResult
from filmc.model import Model
from filmc.syntax.ir import NarrationPart

if TYPE_CHECKING:
    from filmc.expand.templating import Templates

class VideoRequest(Model):
    """One clip to make: everything that changes its pixels is here, and therefore in its key."""

    prompt: str
    negative: str = ""
    seconds: float          # the fitted clip length the backend makes
    frames: int             # the same, in frames at the film's rate
    width: int
    height: int
    fps_num: int
    fps_den: int = 1
    camera: str = "static"
    colors: tuple[str, ...] = ()
    heading: str = ""
    caption: str = ""
    label: str = ""
    source_file: str | None = None      # a user clip (the `file` backend), relative to the project
                                        # (absolute if from a folder the user allowed outside it)
    source_digest: str = ""             # its content's sha256: the key follows the bytes, not the name
    reference_images: tuple[str, ...] = ()
    seed: int = 0


class WordTiming(Model):
    """A spoken word; times in seconds from the start of its line. Voices give them, subtitles use them."""

    word: str
    start: float
    end: float


class VoiceRequest(Model):
    """One narration line: the plain text for subtitles, the marked-up text and the parts for the voice."""

    text: str
    markup: str
    parts: tuple[NarrationPart, ...] = ()   # speech, pauses and breaths, for voices that take no markup
    language: str
    voice: str
    voice_description: str = ""
    tone: str = ""
    pace: float = 1.0
    source_file: str | None = None
    source_digest: str = ""


class VoiceResult(Model):
    duration: float
    words: tuple[WordTiming, ...] = ()


class MusicRequest(Model):
    duration: float
    sections: tuple[MusicSection, ...] = ()
    prompt: str = ""
    source_file: str | None = None
    source_digest: str = ""
    seed: int = 0


# How sure a ledger entry is: the provider's own figure; our estimate of a job it accepted; or a create
# whose answer never came back, which the provider may or may not have billed.
CostBasis = Literal["actual", "estimated", "possibly-billed"]


class RemoteState(Model):
    """What identifies a paid job at its provider: journalled (fsynced) before filmc waits for it."""

    provider: str
    operation: str                  # the provider's id for the job
    output_uri: str | None = None   # where the result waits, once the provider says


class Cooldown:
    """A provider's shared pause: one 429 holds back every job about to be sent there, not only the refused one,
    so a burst of creates doesn't earn a burst of refusals. The executor keeps one per provider per render."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.until = 0.0

    def hold(self, seconds: float) -> None:
        self.until = max(self.until, self.clock() + seconds)

    def remaining(self) -> float:
        return max(0.0, self.until - self.clock())


class RenderContext(Model):
    """Where a backend may write scratch files, and how it tells the executor what it paid for and where
    it waits. `filmc.backend.remote.run_remote` uses all of it; a local backend needs only `workdir`."""

    model_config = Model.model_config | {"arbitrary_types_allowed": True}
    workdir: Path
    scratch: Path | None = None            # a folder per key that outlives attempts and crashes: paid-for work
    key: str = ""                          # the job's content key
    deadline: float | None = None          # time.monotonic() after which to stop waiting (the id is kept)
    known_remote: RemoteState | None = None   # set when resuming: poll this job, never create another
    journal_remote: Callable[[RemoteState], None] | None = None
    record_cost: Callable[[Decimal, CostBasis, str], None] | None = None   # (usd, basis, what) into the ledger
    report: Callable[[str, float | None], None] | None = None          # (remote state, progress 0..1)
    create_retries: int = 1                # ambiguous creates retried at most this often (each possibly billed)
    pacing: Pacing | None = None           # the profile's polling pace, over the backend's
    cooldown: Cooldown | None = None       # the provider's, shared by every job sent there
    # Inside `idle()` the job holds no share of the render's --jobs limit: a paid job that only waits on its
    # provider should not keep local work (encodes, mixes) from running.
    idle: Callable[[], AbstractAsyncContextManager[None]] | None = None
    # Before an attempt that may be billed again (an ambiguous create re-sent): why it may not be, or None.
    may_spend: Callable[[Decimal], str | None] | None = None
    files: dict[str, str] = Field(default_factory=dict)   # input files as planned, path -> sha256: check first


class BackendError(Exception):
    """A backend's one-paragraph failure; `transient` ones are retried with backoff."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


@runtime_checkable
class VideoBackend(Protocol):
    name: str
    version: str                     # part of every content key this backend produces
    capabilities: Capabilities

    async def render(self, request: VideoRequest, out: Path, ctx: RenderContext) -> None: ...


@runtime_checkable
class DrawnVideoBackend(Protocol):
    """A video backend whose clip is a drawing ffmpeg can make on the fly (previz): the picture pass draws it
    in place at the picture's size, rather than encoding a clip only to decode and scale it again."""

    def drawing(self, request: VideoRequest, width: int, height: int, textdir: Path) -> Drawing:
        """The clip as ffmpeg chains with no input, endless frames at `width`x`height` (the picture cuts them to
        length and grades the still world once); any files they read go into `textdir`, which outlives the run."""
        ...


@runtime_checkable
class VoiceBackend(Protocol):
    name: str
    version: str
    capabilities: Capabilities

    async def render(self, request: VoiceRequest, out: Path, ctx: RenderContext) -> VoiceResult: ...


@runtime_checkable
class MusicBackend(Protocol):
    name: str
    version: str
    capabilities: Capabilities

    async def render(self, request: MusicRequest, out: Path, ctx: RenderContext) -> None: ...


@runtime_checkable
class SourceBackend(Protocol):
    """Serves every media layer from files the user supplies (`capabilities.layer == "any"`)."""

    name: str
    version: str
    capabilities: Capabilities

    async def render(self, request: VideoRequest | VoiceRequest | MusicRequest, out: Path,
                     ctx: RenderContext) -> VoiceResult | None: ...


@runtime_checkable
class Expander(Protocol):
    """Writes each shot's prompt. Answers it has already paid for are cached, so `is_cached` shots cost nothing."""

    name: str
    version: str
    capabilities: Capabilities

    def is_cached(self, film: FilmContext, shot: ShotContext, templates: Templates) -> bool: ...

    def estimate_tokens(self, film: FilmContext, shots: Sequence[ShotContext],
                        templates: Templates) -> tuple[int, int]:
        """Tokens in and out the uncached shots would use, before any call: the budget is checked on it."""
        ...

    async def expand_shots(self, film: FilmContext, shots: Sequence[ShotContext],
                           templates: Templates) -> tuple[list[ShotPrompt], Usage]: ...


@runtime_checkable
class Translator(Protocol):
    """An expander that also translates narration (`--lang`); one without it leaves lines untranslated.
    The same contract as shots: cached answers cost nothing, and the uncached are estimated before any call."""

    def is_translated(self, film: FilmContext, line: LineContext, templates: Templates) -> bool: ...

    def estimate_translation_tokens(self, film: FilmContext, lines: Sequence[LineContext],
                                    templates: Templates) -> tuple[int, int]: ...

    async def translate_lines(self, film: FilmContext, lines: Sequence[LineContext],
                              templates: Templates) -> TranslationResult: ...


MediaBackend = VideoBackend | VoiceBackend | MusicBackend | SourceBackend
AnyBackend = MediaBackend | Expander

# A backend class (or any callable) taking the profile's settings for its layer and where it runs.
BackendFactory = Callable[[BackendConfig, Setup], object]

__all__ = [  # the plugin author's whole vocabulary; the capability models live in filmc.backend.capabilities
    "MEDIA_LAYERS", "AnyBackend", "BackendConfig", "BackendError", "BackendFactory", "Capabilities", "Cooldown",
    "CostBasis", "Expander",
    "Layer", "LineContext", "LineTranslation", "MediaBackend", "MusicBackend", "MusicRequest", "MusicSection",
    "OptionValue", "Price", "RemoteState", "RenderContext", "Setup", "SourceBackend", "TranslationResult",
    "Translator", "VideoBackend", "VideoRequest", "VoiceBackend", "VoiceRequest", "VoiceResult", "WordTiming",
]
