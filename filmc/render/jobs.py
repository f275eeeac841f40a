"""The job kinds, as one table: how each kind is produced, verified, stored and described.

The executor, the cache and the manifest ask this table how to handle a kind and never test it
themselves, so a new kind (cached picture segments, clip audio, a local model's output) is one spec in
the plan and one entry here. (Delivery reads particular kinds' contents, the voice lines for the
subtitles say, through the plan's typed `Plan.specs`.)
"""

from __future__ import annotations

import asyncio
import functools
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

from filmc.assemble.audio import Loudness, measure_loudness
from filmc.assemble.drawing import Drawer
from filmc.assemble.media import MediaError, MediaInfo, count_frames, probe, verify_media
from filmc.backend.protocol import DrawnVideoBackend, MediaBackend, RenderContext, VoiceResult
from filmc.model import Model
from filmc.plan.model import Job, MixSpec, MusicSpec, MuxSpec, PictureSpec, Plan, Spec, VideoSpec, VoiceSpec
from filmc.render.outcome import JobOutcome

if TYPE_CHECKING:   # the assembler (numpy with it) is imported when a picture is made, not for the table
    from filmc.assemble.video import MapChunks

S = TypeVar("S", bound=Spec)

# What producing an asset hands its verification besides the file: a voice's word timings, or the loudness the mux
# read of the sound it encoded (the very packets written, decoded in the same run); None mostly.
Made = VoiceResult | Loudness | None


class Verified(Model):
    """What verification measured of a new asset: kept in its sidecar, so a later hit needs no decode."""

    duration: float
    lufs: float | None = None
    true_peak: float | None = None


@dataclass(frozen=True)
class Work(Generic[S]):
    """Everything producing one job may use: its spec, its inputs' outcomes, its backend, scratch space."""

    job: Job
    spec: S
    deps: Mapping[str, JobOutcome]
    backend: MediaBackend | None      # None for the assembly kinds, which filmc makes itself
    ctx: RenderContext
    drawers: Mapping[str, Drawer] = field(default_factory=dict)   # the picture's drawn inputs, by job id
    map_chunks: MapChunks | None = None   # how the picture's chunks are encoded (None: two at a time, side by side)


@dataclass(frozen=True)
class JobKind(Generic[S]):
    spec: type[S]
    suffix: str                                                     # the cached asset's extension
    produce: Callable[[Work[S], Path], Awaitable[Made]]
    verify: Callable[[S, Plan, Path, Made], Verified]                # raises MediaError if the file is wrong
    describe: Callable[[S], str]                                     # one line, for people
    prompt: Callable[[S], str | None] = lambda _: None              # the generation prompt, for the manifest
    assembly: bool = False    # made in-process by filmc: one at a time per kind, no backend, no timeout
    # its making hands the work on to parallel passes of its own (`Work.map_chunks`): a Ray task for it holds no CPU
    fans_out: bool = False


async def _by_backend(work: Work[S], out: Path) -> VoiceResult | None:
    """Media kinds are made by the job's backend; only a voice returns something (its word timings)."""
    assert work.backend is not None and isinstance(work.spec, VideoSpec | VoiceSpec | MusicSpec)
    result: VoiceResult | None = await work.backend.render(work.spec.request, out, work.ctx)  # type: ignore[arg-type]
    return result


def _fps(plan: Plan) -> float:
    return plan.film.timeline.fps_num / plan.film.timeline.fps_den


def _verify_video(spec: VideoSpec, plan: Plan, path: Path, made: Made) -> Verified:
    if spec.request.source_file:  # a user's clip: any length, conformed later
        info = verify_media(path, expect_video=True, expect_audio=False, duration=None, tolerance=0)
    else:
        info = verify_media(path, expect_video=True, expect_audio=False, duration=spec.request.seconds,
                            tolerance=1.5 / _fps(plan) + 0.05)
    return Verified(duration=info.duration)


def _verify_voice(spec: VoiceSpec, plan: Plan, path: Path, made: Made) -> Verified:
    info = verify_media(path, expect_video=False, expect_audio=True, duration=None, tolerance=0.05)
    return Verified(duration=info.duration)


def _verify_music(spec: MusicSpec, plan: Plan, path: Path, made: Made) -> Verified:
    expected = None if spec.request.source_file else spec.request.duration
    info = verify_media(path, expect_video=False, expect_audio=True, duration=expected, tolerance=0.05)
    return Verified(duration=info.duration)


def _verify_picture(spec: PictureSpec, plan: Plan, path: Path, made: Made) -> Verified:
    return Verified(duration=_verify_frames(path, spec.frames, audio=False).duration)


def _verify_mix(spec: MixSpec, plan: Plan, path: Path, made: Made) -> Verified:
    info = verify_media(path, expect_video=False, expect_audio=True, duration=plan.film.timeline.duration,
                        tolerance=1.01 / _fps(plan) + 0.03)
    return Verified(duration=info.duration)


def _verify_mux(spec: MuxSpec, plan: Plan, path: Path, made: Made) -> Verified:
    """The mux copies an already verified picture: count its packets rather than decode every frame.
    Its loudness is read once, kept in the sidecar, so a cached film's QA reads it back: by the mux itself as it
    encoded the sound when its ffmpeg could, else measured here on the file."""
    info = _verify_frames(path, plan.film.timeline.frames, audio=True)
    measured = made if isinstance(made, Loudness) else measure_loudness(path)
    return Verified(duration=info.duration, lufs=_finite(measured.integrated),
                    true_peak=_finite(measured.true_peak))


def _verify_frames(path: Path, frames: int, *, audio: bool) -> MediaInfo:
    """Our own encodes: every frame is there (counted by stream copy, no decode) and the streams are right."""
    info = probe(path)
    if info.video is None or (audio and info.audio is None):
        raise MediaError(f"{path} lacks a {'video' if info.video is None else 'audio'} stream")
    counted = count_frames(path)
    if counted != frames:
        raise MediaError(f"{path} has {counted} frames, the plan has {frames}")
    return info


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


# The assembly kinds import the assembler (and numpy with it) when one runs, not when the table is read:
# `filmc compile` asks the table only for suffixes.
async def _picture(work: Work[PictureSpec], out: Path) -> None:
    from filmc.render import assembly

    await assembly.picture(work.spec, work.deps, out, work.ctx.workdir, work.drawers, work.map_chunks)


async def _mix(work: Work[MixSpec], out: Path) -> None:
    from filmc.render import assembly

    await assembly.mix(work.spec, work.deps, out)


async def _mux(work: Work[MuxSpec], out: Path) -> Loudness | None:
    from filmc.render import assembly

    picture, mix = (work.deps[d] for d in work.job.deps)   # the plan lists the mux's inputs in this order
    return await assembly.mux(picture, mix, out)


KINDS: dict[str, JobKind[VideoSpec] | JobKind[VoiceSpec] | JobKind[MusicSpec] | JobKind[PictureSpec]
            | JobKind[MixSpec] | JobKind[MuxSpec]] = {
    "video": JobKind(VideoSpec, ".mp4", _by_backend, _verify_video,
                     describe=lambda s: f"clip of {s.request.seconds:g}s for shot {s.shot_id}",
                     prompt=lambda s: s.request.prompt),
    "voice": JobKind(VoiceSpec, ".wav", _by_backend, _verify_voice,
                     describe=lambda s: f"narration line {s.beat_id} at {s.start:.2f}s"),
    "music": JobKind(MusicSpec, ".wav", _by_backend, _verify_music,
                     describe=lambda s: f"score of {s.request.duration:.1f}s",
                     prompt=lambda s: s.request.prompt or None),
    "picture": JobKind(PictureSpec, ".mp4", _picture, _verify_picture, assembly=True, fans_out=True,
                       describe=lambda s: f"picture of {len(s.segments)} segments, {s.frames} frames"),
    "mix": JobKind(MixSpec, ".wav", _mix, _verify_mix, assembly=True,
                   describe=lambda s: f"mix of {len(s.lines)} lines" + (" and the score" if s.music else "")),
    "mux": JobKind(MuxSpec, ".mp4", _mux, _verify_mux, assembly=True,
                   describe=lambda s: "the film: picture and mix in one MP4"),
}


def drawers(job: Job, plan: Plan, backend_of: Callable[[str], MediaBackend | None]) -> dict[str, Drawer]:
    """For each input clip of `job` that a drawing backend makes (kept as a file or not), how the picture pass
    draws it in place: the picture is the same whether or not the clip file exists."""
    found: dict[str, Drawer] = {}
    for dep in map(plan.job, job.deps):
        backend = backend_of(dep.backend)
        if isinstance(dep.spec, VideoSpec) and isinstance(backend, DrawnVideoBackend):
            found[dep.id] = functools.partial(backend.drawing, dep.spec.request)
    return found


def kind_of(spec: Spec) -> JobKind[Spec]:
    return KINDS[spec.kind]  # type: ignore[return-value]


def suffix_of(spec: Spec) -> str:
    return KINDS[spec.kind].suffix


async def produce(work: Work[Spec], out: Path) -> Made:
    """Make `out` the way the job's kind is made."""
    return await kind_of(work.spec).produce(work, out)


async def verify(spec: Spec, plan: Plan, path: Path, made: Made = None) -> Verified:
    """Check `path` the way the job's kind is checked, in a worker thread (it runs ffmpeg); `made`: what producing
    it returned."""
    return await asyncio.to_thread(kind_of(spec).verify, spec, plan, path, made)
