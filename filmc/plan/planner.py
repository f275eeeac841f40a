"""Prompts + profile -> Plan: every job with its content key, dependencies, cost and cache status.

The plan never calls a generation backend. It is a versioned JSON artifact: `filmc render plan.json`
makes exactly what `filmc compile` showed, with nothing recomputed.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field

from filmc import __version__
from filmc.backend.protocol import (
    Capabilities,
    MusicRequest,
    OptionValue,
    Price,
    VideoRequest,
    VoiceRequest,
    fit_clip_seconds,
)
from filmc.check.resolved import CheckedFilm, ResolvedCard, ResolvedShot, TransitionSpec
from filmc.diagnostics import Diagnostics
from filmc.expand.context import Expansion, ShotPrompt
from filmc.keys import content_key
from filmc.model import Model
from filmc.plan.profiles import Profile
from filmc.render.cache import Cache, file_digest

PLAN_VERSION = 1
CENT = Decimal("0.0001")


class VideoSpec(Model):
    kind: Literal["video"] = "video"
    shot_id: str
    request: VideoRequest


class VoiceSpec(Model):
    kind: Literal["voice"] = "voice"
    beat_id: str
    start: float
    request: VoiceRequest


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


class Job(Model):
    id: str
    layer: Literal["video", "voice", "music", "assemble"]
    backend: str
    backend_version: str
    model: str
    deps: tuple[str, ...] = ()
    key: str
    spec: JobSpec
    seconds: float
    estimated_usd: Decimal
    cached: bool
    remote: bool = False


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

    def job(self, job_id: str) -> Job:
        return next(j for j in self.jobs if j.id == job_id)


class BackendInfo(Model):
    """What the plan needs of a backend: its name, version, model and declared capabilities."""

    name: str
    version: str
    model: str
    capabilities: Capabilities
    price: Price
    options: dict[str, OptionValue] = Field(default_factory=dict)   # the profile's, part of every key


def plan_problems(plan: Plan) -> list[str]:
    """What makes a plan unsafe to render: a key that doesn't match its job (an edited plan would file
    a new asset under an old name), a dependency that is missing or comes later (or loops)."""
    problems: list[str] = []
    keys: dict[str, str] = {}
    for job in plan.jobs:
        missing = [d for d in job.deps if d not in keys]
        if missing:
            problems.append(f"job {job.id} depends on {', '.join(missing)}, which no earlier job makes")
            continue
        options = {} if job.layer == "assemble" or job.backend == "file" else plan.profile.layer(job.layer).options
        expected = content_key(JobKey(backend=job.backend, backend_version=job.backend_version, model=job.model,
                                      options=options, spec=job.spec, inputs=tuple(keys[d] for d in job.deps)))
        if job.key != expected:
            problems.append(f"job {job.id}'s key does not match its contents (was the plan edited?)")
        keys[job.id] = expected
    for needed in ("picture", "mix", "mux"):
        if needed not in keys:
            problems.append(f"the plan has no `{needed}` job")
    return problems


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


class Planner:
    """Builds jobs in dependency order, so every job's key can fold in its inputs' keys."""

    def __init__(self, checked: CheckedFilm, profile: Profile, backends: dict[str, BackendInfo],
                 expansion: Expansion, cache: Cache) -> None:
        self.checked, self.profile, self.backends = checked, profile, backends
        self.expansion, self.cache = expansion, cache
        self.tl = checked.timeline
        self.project = Path(checked.project_dir)
        self.jobs: dict[str, Job] = {}
        self.diags = Diagnostics()

    def add(self, job_id: str, layer: Any, info: BackendInfo, spec: Any, deps: Sequence[str], seconds: float,
            usd: Decimal) -> Job:
        inputs = tuple(self.jobs[d].key for d in deps)
        key = content_key(JobKey(backend=info.name, backend_version=info.version, model=info.model,
                                 options=info.options, spec=spec, inputs=inputs))
        job = Job(id=job_id, layer=layer, backend=info.name, backend_version=info.version, model=info.model,
                  deps=tuple(deps), key=key, spec=spec, seconds=round(seconds, 6), estimated_usd=money(usd),
                  cached=self.cache.has(spec.kind, key), remote=info.capabilities.remote)
        self.jobs[job_id] = job
        return job

    def relative(self, absolute: str) -> tuple[str, str]:
        path = Path(absolute)
        return str(path.relative_to(self.project)), file_digest(path)

    def video_jobs(self) -> None:
        prompts = dict(self.expansion.shots)
        fps = self.tl.fps_num / self.tl.fps_den
        for seg in self.tl.segments:
            if not isinstance(seg, ResolvedShot):
                continue
            info = self.backends["file"] if seg.clip else self.backends["video"]
            caps = info.capabilities
            handle = self.handle_frames(seg)
            needed = (seg.frames + handle) / fps
            fitted = fit_clip_seconds(needed, caps.clip_seconds, caps.max_seconds)
            if fitted is None:
                self.clip_misfit(seg, info, needed)
                continue
            width, height = self.frame_size(caps)
            prompt = prompts[seg.id]
            if caps.max_prompt_chars and not seg.clip and len(prompt.prompt) > caps.max_prompt_chars:
                self.diags.error("F0711", f"shot {seg.id}'s prompt is {len(prompt.prompt)} characters; video backend "
                                 f"`{info.name}` takes at most {caps.max_prompt_chars}", seg.span,
                                 hint="shorten the style bible or the shot's text, or let the claude expander "
                                 "write the prompt (it is told the limit)")
            source, digest = self.relative(seg.clip) if seg.clip else (None, "")
            request = VideoRequest(
                prompt=prompt.prompt, negative=prompt.negative, seconds=fitted, frames=round(fitted * fps),
                width=width, height=height, fps_num=self.tl.fps_num, fps_den=self.tl.fps_den, camera=seg.camera,
                colors=seg.palette, source_file=source, source_digest=digest,
                reference_images=tuple(str(Path(i).relative_to(self.project)) for e in seg.entities
                                       for i in e.images),
                **self.overlay(seg, caps))
            self.add(f"video:{seg.id}", "video", info, VideoSpec(shot_id=seg.id, request=request), (), fitted,
                     info.price.per_second * Decimal(str(fitted)))

    def overlay(self, seg: ResolvedShot, caps: Capabilities) -> dict[str, str]:
        """Titles drawn into previz are part of its picture; a real model never sees them (nor pays for them)."""
        if not caps.draws_text:
            return {}
        seconds = seg.frames * self.tl.fps_den / self.tl.fps_num
        return {"heading": seg.scene_title, "caption": seg.description,
                "label": f"{seg.id.upper().replace('-', ' · ')}  {seconds:.1f}s"}

    def frame_size(self, caps: Capabilities) -> tuple[int, int]:
        """The film's size if allowed, else the allowed size closest in shape (then larger); assembly conforms."""
        want = (self.tl.width, self.tl.height)
        if caps.frame_sizes is None or want in caps.frame_sizes:
            return want
        aspect = want[0] / want[1]
        return min(caps.frame_sizes, key=lambda s: (abs(s[0] / s[1] - aspect), -s[0] * s[1]))

    def clip_misfit(self, seg: ResolvedShot, info: BackendInfo, needed: float) -> None:
        caps = info.capabilities
        allowed = ", ".join(f"{s:g}s" for s in caps.clip_seconds) if caps.clip_seconds else \
            f"up to {caps.max_seconds:g}s"
        self.diags.error("F0710", f"shot {seg.id} needs a {needed:.2f}s clip (with its transition handle), but "
                         f"video backend `{info.name}` makes clips of {allowed}", seg.span,
                         hint="split the shot into shorter shots, or pick a video backend in the profile that "
                         "allows this length")

    def handle_frames(self, seg: ResolvedShot | ResolvedCard) -> int:
        """Extra frames past the slot for the transition into the next segment; the last one fades inside."""
        last = seg is self.tl.segments[-1]
        return seg.transition_out.frames if seg.transition_out and not last else 0

    def voice_jobs(self) -> None:
        info = self.backends["voice"]
        languages = info.capabilities.languages
        base = self.checked.language.split("-")[0].lower()
        if languages is not None and self.expansion.lines and base not in {lang.lower() for lang in languages}:
            first = self.expansion.lines[0].beat
            self.diags.error("F0712", f"voice backend `{info.name}` does not speak `{self.checked.language}`",
                             first.span, hint=f"it speaks {', '.join(languages)}; pick another voice backend")
            return
        for line in self.expansion.lines:
            beat = line.beat
            request = VoiceRequest(
                text=line.text, markup=line.markup,
                parts=tuple(p.model_dump(mode="json") for p in beat.parts), language=self.checked.language,
                voice=self.profile.voices.get(beat.voice, beat.voice), voice_description=beat.voice_description,
                tone=beat.tone or "", pace=beat.pace)
            usd = info.price.per_1k_chars * Decimal(len(line.markup)) / 1000
            self.add(f"voice:{beat.id}", "voice", info, VoiceSpec(beat_id=beat.id, start=beat.start, request=request),
                     (), beat.estimated, usd)

    def music_job(self) -> str | None:
        if self.tl.music_file:
            info, (source, digest) = self.backends["file"], self.relative(self.tl.music_file)
            request = MusicRequest(duration=self.tl.duration, source_file=source, source_digest=digest)
        elif self.expansion.music_sections:
            info = self.backends["music"]
            request = MusicRequest(duration=self.tl.duration, sections=self.expansion.music_sections,
                                   prompt=self.expansion.music_prompt)
        else:
            return None
        usd = info.price.per_minute * Decimal(str(self.tl.duration)) / 60
        self.add("music:score", "music", info, MusicSpec(request=request), (), self.tl.duration, usd)
        return "music:score"

    def assembly_jobs(self, music: str | None) -> None:
        asm = self.backends["assemble"]
        segments = []
        for seg in self.tl.segments:
            lines, style = (seg.lines, seg.style) if isinstance(seg, ResolvedCard) else ((), None)
            video = f"video:{seg.id}" if isinstance(seg, ResolvedShot) else None
            segments.append(SegmentSpec(segment_id=seg.id, video_job=video, frames=seg.frames,
                                        handle_frames=self.handle_frames(seg), transition_in=seg.transition_in,
                                        grade=seg.palette, card_lines=lines, card_style=style))
        picture = PictureSpec(segments=tuple(segments), grade=self.profile.grade, frames=self.tl.frames,
                              width=self.tl.width,
                              height=self.tl.height, fps_num=self.tl.fps_num, fps_den=self.tl.fps_den)
        self.add("picture", "assemble", asm, picture, [s.video_job for s in segments if s.video_job],
                 self.tl.duration, Decimal(0))
        voices = [j for j in self.jobs.values() if j.spec.kind == "voice"]
        placed = tuple((j.id, j.spec.start) for j in voices if isinstance(j.spec, VoiceSpec))
        mix = MixSpec(lines=placed, music=music, duration=self.tl.duration, loudness=self.profile.loudness,
                      true_peak=self.profile.true_peak)
        self.add("mix", "assemble", asm, mix, [j.id for j in voices] + ([music] if music else []),
                 self.tl.duration, Decimal(0))
        self.add("mux", "assemble", asm, MuxSpec(duration=self.tl.duration), ["picture", "mix"], self.tl.duration,
                 Decimal(0))


def build_plan(checked: CheckedFilm, profile: Profile, backends: dict[str, BackendInfo], expansion: Expansion,
               cache: Cache, source: str) -> Plan:
    """The plan stage: raises FilmError when a shot can't be made by its backend (before any money is spent)."""
    planner = Planner(checked, profile, backends, expansion, cache)
    planner.video_jobs()
    planner.voice_jobs()
    music = planner.music_job()
    planner.diags.raise_if_errors()
    planner.assembly_jobs(music)
    jobs = tuple(planner.jobs.values())
    summary = ExpansionSummary(
        expander=expansion.expander, model=expansion.model, calls=expansion.usage.calls,
        input_tokens=expansion.usage.input_tokens, output_tokens=expansion.usage.output_tokens,
        usd=money(expansion.usd), shots=expansion.shots, music_prompt=expansion.music_prompt)
    return Plan(source=source, project_dir=checked.project_dir, profile=profile, film=checked, expansion=summary,
                jobs=jobs, estimated_usd=money(sum((j.estimated_usd for j in jobs if not j.cached), Decimal(0))),
                total_usd=money(sum((j.estimated_usd for j in jobs), Decimal(0))))
