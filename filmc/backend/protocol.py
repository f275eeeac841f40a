"""What a backend is: one small protocol per layer, the requests it takes and the capabilities it declares.

No stage above this module knows a provider's name, clip lengths or sizes: the plan asks the
backend's declared capabilities, so a provider can vanish (as Sora's API did) without touching them.
A plugin author reads this module and `filmc.backend.registry`, and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from pydantic import Field, model_validator

from filmc.expand.context import FilmContext, MusicSection, ShotContext, ShotPrompt, Usage
from filmc.model import Model
from filmc.syntax.ir import NarrationPart

if TYPE_CHECKING:
    from filmc.expand.templating import Templates

Layer = Literal["expand", "video", "voice", "music"]
MEDIA_LAYERS: tuple[Layer, ...] = ("video", "voice", "music")
OptionValue = str | int | float | bool


class Price(Model):
    """What one unit costs; the plan multiplies, the profile may override any field."""

    per_second: Decimal = Field(default=Decimal(0), ge=0)      # video
    per_1k_chars: Decimal = Field(default=Decimal(0), ge=0)    # speech
    per_minute: Decimal = Field(default=Decimal(0), ge=0)      # music
    per_mtok_in: Decimal = Field(default=Decimal(0), ge=0)     # language models
    per_mtok_out: Decimal = Field(default=Decimal(0), ge=0)


class Capabilities(Model):
    """What a backend can make; `None` means no limit of that kind. Impossible declarations fail at load."""

    layer: Layer | Literal["any"]                     # "any": a source for every media layer (`file`)
    clip_seconds: tuple[float, ...] | None = None     # allowed clip lengths (video)
    max_seconds: float | None = None                   # longest clip or track
    frame_sizes: tuple[tuple[int, int], ...] | None = None
    languages: tuple[str, ...] | None = None           # voice
    max_prompt_chars: int | None = None
    markup: Literal["none", "ssml-break", "audio-tags"] = "none"   # how a voice takes pauses and emphasis
    env: tuple[str, ...] = ()                          # environment variables it needs (names only)
    remote: bool = False                               # paid, over the network: journal before waiting
    price: Price = Price()
    models: tuple[str, ...] = ()                       # known models; empty: the backend has one
    default_model: str = ""
    draws_text: bool = False       # the picture shows heading/caption (previz): they belong in its key
    renders: bool = True           # False: can be planned and priced, cannot make assets in this version

    @model_validator(mode="after")
    def _possible(self) -> Capabilities:
        """A declaration no shot could ever satisfy is the plugin's bug: say so when it loads, not mid-render."""
        if self.clip_seconds is not None and (not self.clip_seconds or min(self.clip_seconds) <= 0):
            raise ValueError("clip_seconds must list at least one positive length (or be None for any)")
        if self.max_seconds is not None and self.max_seconds <= 0:
            raise ValueError("max_seconds must be positive (or None for no limit)")
        if self.frame_sizes is not None and (not self.frame_sizes or any(w <= 0 or h <= 0 or w % 2 or h % 2
                                                                         for w, h in self.frame_sizes)):
            raise ValueError("frame_sizes must list positive, even sizes (or be None for any)")
        if self.languages is not None and not self.languages:
            raise ValueError("languages must list at least one language (or be None for any)")
        if self.max_prompt_chars is not None and self.max_prompt_chars <= 0:
            raise ValueError("max_prompt_chars must be positive (or None for no limit)")
        if self.models and self.default_model and self.default_model not in self.models:
            raise ValueError(f"default_model {self.default_model!r} is not one of its models {self.models}")
        return self


class BackendConfig(Model):
    """A profile's settings for one layer: the backend's name, model and free-form options."""

    backend: str
    model: str = ""
    concurrency: int = 2
    timeout: float = 900.0
    options: dict[str, OptionValue] = Field(default_factory=dict)
    price: Price | None = None


class Setup(Model):
    """What a factory may know about where it runs: the project and its cache, nothing else."""

    project_dir: Path
    cache_dir: Path


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


class RenderContext(Model):
    """Where a backend may write scratch files, and how to record a remote id before waiting."""

    model_config = Model.model_config | {"arbitrary_types_allowed": True}
    workdir: Path
    journal_remote_id: Callable[[str], None] | None = None
    known_remote_id: str | None = None


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


MediaBackend = VideoBackend | VoiceBackend | MusicBackend | SourceBackend
AnyBackend = MediaBackend | Expander

# A backend class (or any callable) taking the profile's settings for its layer and where it runs.
BackendFactory = Callable[[BackendConfig, Setup], object]
