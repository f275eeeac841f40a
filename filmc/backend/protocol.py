"""Backends: one small protocol per layer, typed capabilities, discovery through entry points.

No stage above this module knows a provider's name, clip lengths or sizes: the plan asks the
backend's declared capabilities, so a provider can vanish (as Sora's API did) without touching them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import Field

from filmc.model import Model

Layer = Literal["expand", "video", "voice", "music"]
OptionValue = str | int | float | bool


class Price(Model):
    """What one unit costs; the plan multiplies, the profile may override any field."""

    per_second: Decimal = Field(default=Decimal(0), ge=0)      # video
    per_1k_chars: Decimal = Field(default=Decimal(0), ge=0)    # speech
    per_minute: Decimal = Field(default=Decimal(0), ge=0)      # music
    per_mtok_in: Decimal = Field(default=Decimal(0), ge=0)     # language models
    per_mtok_out: Decimal = Field(default=Decimal(0), ge=0)


class Capabilities(Model):
    """What a backend can make; `None` means no limit of that kind."""

    layer: Layer
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


class BackendConfig(Model):
    """A profile's settings for one layer: the backend's name, model and free-form options."""

    backend: str
    model: str = ""
    concurrency: int = 2
    timeout: float = 900.0
    options: dict[str, OptionValue] = Field(default_factory=dict)
    price: Price | None = None


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


class WordTime(Model):
    word: str
    start: float
    end: float


class VoiceRequest(Model):
    """One narration line: the plain text for subtitles and the marked-up text for the service."""

    text: str
    markup: str
    parts: tuple[dict[str, Any], ...] = ()   # typed narration parts, dumped (speech, pause, breath)
    language: str
    voice: str
    voice_description: str = ""
    tone: str = ""
    pace: float = 1.0
    source_file: str | None = None
    source_digest: str = ""


class VoiceResult(Model):
    duration: float
    words: tuple[WordTime, ...] = ()


class MusicSection(Model):
    start: float
    end: float
    description: str
    instruments: str = ""
    intensity: float = 0.5
    prompt: str = ""


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


@runtime_checkable
class VideoBackend(Protocol):
    name: str
    version: str
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


# A backend class (or any callable) taking the profile's settings for its layer and where it runs.
BackendFactory = Callable[["BackendConfig", "Setup"], Any]


def discover() -> tuple[dict[str, BackendFactory], list[str]]:
    """Built-ins come through the `filmc.backends` entry points too, so no plugin is second class."""
    found: dict[str, BackendFactory] = {}
    problems: list[str] = []
    for ep in entry_points(group="filmc.backends"):
        try:
            found[ep.name] = ep.load()
        except Exception as err:  # shown to the user by name, never skipped in silence
            problems.append(f"backend `{ep.name}` ({ep.value}) failed to load: {err}")
    return found, problems


class BackendError(Exception):
    """A backend's one-paragraph failure; `transient` ones are retried with backoff."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


def fit_clip_seconds(needed: float, allowed: Sequence[float] | None, max_seconds: float | None) -> float | None:
    """The smallest allowed length that covers the shot (trimmed later), or None if none can."""
    if allowed is None:
        return needed if max_seconds is None or needed <= max_seconds + 1e-9 else None
    fitting = [a for a in sorted(allowed) if a + 1e-9 >= needed]
    return fitting[0] if fitting else None


class Setup(Model):
    """What a factory may know about where it runs: the project and its cache, nothing else."""

    project_dir: Path
    cache_dir: Path
