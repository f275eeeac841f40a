"""The Plan: a versioned JSON artifact listing every job with its content key, inputs, cost and cache status.

`filmc render plan.json` makes exactly what `filmc compile` showed, with nothing recomputed. Each
job's spec says *what* to make; how it is made, verified and stored is the render stage's kind table.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Literal, TypeVar

from pydantic import Field

from filmc import __version__
from filmc.backend.capabilities import FILE_BACKEND
from filmc.backend.protocol import Capabilities, MusicRequest, OptionValue, Price, VideoRequest, VoiceRequest
from filmc.check.resolved import CheckedFilm, TransitionSpec
from filmc.expand.context import ShotPrompt
from filmc.expand.translation import Translation
from filmc.model import Model
from filmc.plan.profiles import Profile

PLAN_VERSION = 1
CENT = Decimal("0.0001")

# The picture, the mix and the mux are made in-process by filmc's assembler; this names it in their keys
# (bump the version when the assembler's output changes for the same inputs).
ASSEMBLER_NAME = "ffmpeg"
ASSEMBLER_VERSION = "5"   # 5: cards converted once and held (4: clips graded at chroma resolution, mix gain aimed
# by trials; 3: x264 on one thread)


class VideoSpec(Model):
    kind: Literal["video"] = "video"
    shot_id: str
    request: VideoRequest


class VoiceSpec(Model):
    kind: Literal["voice"] = "voice"
    beat_id: str
    start: float
    request: VoiceRequest
    # the film is fitted to its narration: the voice is made before the timeline, which its length decides, so
    # its key leaves `start` out (`keyed`); absent, not false, when off, so other films keep their keys
    fitted: bool = Field(default=False, exclude_if=lambda on: not on)


class MusicSpec(Model):
    kind: Literal["music"] = "music"
    request: MusicRequest


class SegmentSpec(Model):
    """One timeline slot of the picture: its clip (a video job) or a card, its length, transition and grade."""

    segment_id: str
    video_job: str | None = None
    frames: int
    handle_frames: int
    transition_in: TransitionSpec | None = None
    # the last segment's fade out, inside its slot; absent, not null, when there is none, so a film without one
    # keeps the keys it had before segments could end in a fade
    transition_out: TransitionSpec | None = Field(default=None, exclude_if=lambda t: t is None)
    grade: tuple[str, ...] = ()
    card_lines: tuple[str, ...] = ()
    card_style: Literal["title", "credits"] | None = None


class PictureSpec(Model):
    """The whole picture, conformed, graded and joined in one pass: an audio edit never touches it."""

    kind: Literal["picture"] = "picture"
    segments: tuple[SegmentSpec, ...]
    grade: Literal["lut", "tint", "none"] = "lut"
    frames: int
    width: int
    height: int
    fps_num: int
    fps_den: int
    # x264's fastest preset (width and height already halved by the planner); absent, not false, when off, so a
    # full-quality picture keeps the key it had before drafts existed
    draft: bool = Field(default=False, exclude_if=lambda on: not on)


class MixSpec(Model):
    kind: Literal["mix"] = "mix"
    lines: tuple[tuple[str, float], ...]      # (voice job id, start seconds)
    music: str | None
    duration: float
    loudness: float
    true_peak: float


class MuxSpec(Model):
    kind: Literal["mux"] = "mux"
    duration: float


JobSpec = Annotated[VideoSpec | VoiceSpec | MusicSpec | PictureSpec | MixSpec | MuxSpec,
                    Field(discriminator="kind")]
Spec = VideoSpec | VoiceSpec | MusicSpec | PictureSpec | MixSpec | MuxSpec
S = TypeVar("S", VideoSpec, VoiceSpec, MusicSpec, PictureSpec, MixSpec, MuxSpec)
JobLayer = Literal["video", "voice", "music", "assemble"]


class Job(Model):
    id: str
    layer: JobLayer
    backend: str
    backend_version: str
    model: str
    deps: tuple[str, ...] = ()
    files: tuple[str, ...] = ()   # read, made by no job: `path sha256` (a reference image's bytes are in the key)
    key: str
    spec: JobSpec
    seconds: float
    estimated_usd: Decimal
    cached: bool
    remote: bool = False
    # a previz clip the picture pass draws in place (`Capabilities.drawn`): no file is made for it unless the
    # profile keeps clips; absent, not false, when off, so other plans read the same
    drawn: bool = Field(default=False, exclude_if=lambda on: not on)


class JobKey(Model):
    """Everything that changes a job's output, and nothing else: the spec, who makes it, the inputs' keys."""

    backend: str
    backend_version: str
    model: str
    options: dict[str, OptionValue]
    spec: JobSpec
    inputs: tuple[str, ...]


class ExpansionSummary(Model):
    expander: str
    model: str
    calls: int
    input_tokens: int
    output_tokens: int
    usd: Decimal
    shots: tuple[tuple[str, ShotPrompt], ...]
    music_prompt: str


class Plan(Model):
    """Everything render needs and nothing it recomputes: these prompts are final."""

    version: Literal[1] = 1
    filmc: str = __version__
    source: str
    project_dir: str
    profile: Profile
    film: CheckedFilm
    expansion: ExpansionSummary
    jobs: tuple[Job, ...]
    estimated_usd: Decimal      # the uncached jobs: what render would spend now
    total_usd: Decimal          # every job, as if nothing were cached
    # `--lang`: the plan of a translation (its lines, where each came from); absent from the JSON for the film's
    # own language, so an original plan reads as before
    translation: Translation | None = Field(default=None, exclude_if=lambda t: t is None)

    def job(self, job_id: str) -> Job:
        return next(j for j in self.jobs if j.id == job_id)

    def specs(self, kind: type[S]) -> list[tuple[Job, S]]:
        """The jobs of one kind with their specs typed as that kind, in plan order."""
        return [(j, j.spec) for j in self.jobs if isinstance(j.spec, kind)]


class BackendInfo(Model):
    """What the plan needs of a backend: its name, version, model and declared capabilities."""

    name: str
    version: str
    model: str
    capabilities: Capabilities
    price: Price


def keyed(spec: Spec) -> Spec:
    """What a job's key is computed over: its spec, but a voice made before its timeline (`fitted`) without its
    start, so a line that moves when a fit changes keeps its voice (and a voice measured for the fit is the one
    the render uses)."""
    if isinstance(spec, VoiceSpec) and spec.fitted:
        return spec.model_copy(update={"start": 0.0})
    return spec


def key_options(profile: Profile, layer: JobLayer, backend: str) -> dict[str, OptionValue]:
    """The profile options a job's key folds in: its layer's, unless filmc's assembler or the `file` source makes it."""
    if layer == "assemble" or backend == FILE_BACKEND:
        return {}
    return profile.layer(layer).options


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)
