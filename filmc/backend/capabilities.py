"""What a backend declares and what a profile sets for it: plain models, so reading filmc.toml stays cheap.

`filmc.backend.protocol` re-exports all of these; a plugin author imports from there.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from filmc.model import Model

Layer = Literal["expand", "video", "voice", "music"]
FILE_BACKEND = "file"   # user-supplied clips, lines and tracks: present in every profile, for every media layer
MEDIA_LAYERS: tuple[Layer, ...] = ("video", "voice", "music")
OptionValue = str | int | float | bool


class Price(Model):
    """What one unit costs; the plan multiplies, the profile may override any field."""

    per_second: Decimal = Field(default=Decimal(0), ge=0)      # video
    per_second_by_size: dict[str, Annotated[Decimal, Field(ge=0)]] = Field(default_factory=dict)   # "1280x720"
    per_1k_chars: Decimal = Field(default=Decimal(0), ge=0)    # speech
    per_minute: Decimal = Field(default=Decimal(0), ge=0)      # music
    per_mtok_in: Decimal = Field(default=Decimal(0), ge=0)     # language models
    per_mtok_out: Decimal = Field(default=Decimal(0), ge=0)

    def video_per_second(self, width: int, height: int) -> Decimal:
        return self.per_second_by_size.get(f"{width}x{height}", self.per_second)


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
    provider: str = ""             # whose rate and concurrency limits it shares; "": its own (the backend's name)
    draws_text: bool = False       # the picture shows heading/caption (previz): they belong in its key
    reference_images: bool = False  # sends entities' reference images: their bytes belong in its key
    renders: bool = True           # False: can be planned and priced, cannot make assets in this version
    # its clips are ffmpeg source graphs (a `DrawnVideoBackend`): the picture pass draws them in place, and a
    # clip file is made only when asked (`--keep-clips`)
    drawn: bool = False
    # GPUs one job holds while it runs (a local open model): on Ray its task asks for them, so it lands on a node
    # that has them; the local executor runs it as any other job, on this machine's GPU if the backend uses one
    gpus: float = Field(default=0.0, ge=0)

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


class Pacing(Model):
    """How often filmc asks a provider about a job (`[profile.final.video.pacing]`, in no job key): every
    second while a short clip may be finishing, then backing off to a ceiling. A job is seen done at most
    one interval late: ~0.5 s for the first `steady_for` seconds, then at most `max_poll`
    (benchmarks/bench_remote.py measures it)."""

    first_poll: float = Field(default=1.0, gt=0)
    steady_for: float = Field(default=12.0, ge=0)
    poll_factor: float = Field(default=1.5, ge=1)
    max_poll: float = Field(default=10.0, gt=0)
    create_backoff: float = Field(default=2.0, ge=0)
    max_not_created: int = Field(default=5, ge=0)   # refusals (429, 4xx worth retrying) before giving up
    max_transient: int = Field(default=8, ge=0)     # poll or download failures in a row before the attempt fails


class BackendConfig(Model):
    """A profile's settings for one layer: the backend's name, model and free-form options.

    `base_url`, `create_retries` and `pacing` say how to reach the service, not what it makes, so unlike
    `options` they are in no job key: pointing a profile at a proxy or a fake re-makes nothing.
    """

    backend: str
    model: str = ""
    concurrency: int = 2
    timeout: float = 900.0
    options: dict[str, OptionValue] = Field(default_factory=dict)
    price: Price | None = None
    base_url: str | None = None      # None: the SDK's own variable (e.g. RUNWAYML_BASE_URL) or the service
    create_retries: int = Field(default=1, ge=0, le=5)   # ambiguous creates re-sent, each possibly billed
    pacing: Pacing | None = None     # None: the backend's own

    @field_validator("base_url")
    @classmethod
    def _plain_url(cls, url: str | None) -> str | None:
        """A URL with a user, password or query would carry credentials into plan.json and the logs."""
        if url is None:
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("base_url must be an http:// or https:// address")
        if parts.username or parts.password or parts.query or parts.fragment:
            raise ValueError("base_url may not hold a user, password, query or fragment: keys belong in the "
                             "environment")
        return url


class Setup(Model):
    """What a factory may know about where it runs: the project and its cache, nothing else."""

    project_dir: Path
    cache_dir: Path
