"""Prompts + profile -> Plan: every job with its content key, dependencies, cost and cache status.

The plan never calls a generation backend: it reads the capabilities they declare, fits each shot to
them and prices the work, so every refusal comes before any money is spent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path

from filmc import codes
from filmc.backend.protocol import Capabilities, MusicRequest, VideoRequest, VoiceRequest
from filmc.check.resolved import CheckedFilm, ResolvedCard, ResolvedShot
from filmc.diagnostics import Diagnostics
from filmc.expand.context import Expansion
from filmc.files import file_digest
from filmc.keys import content_key
from filmc.model import Model
from filmc.plan.model import (
    ASSEMBLER_NAME,
    ASSEMBLER_VERSION,
    BackendInfo,
    ExpansionSummary,
    Job,
    JobKey,
    JobLayer,
    MixSpec,
    MusicSpec,
    MuxSpec,
    PictureSpec,
    Plan,
    SegmentSpec,
    Spec,
    VideoSpec,
    VoiceSpec,
    key_options,
    keyed,
    money,
)
from filmc.plan.profiles import Profile

IsCached = Callable[[Spec, str], bool]   # (spec, key) -> is its asset already in the cache?


class PlanBackends(Model):
    """What the plan knows of each layer's backend, and of `file`, the source of user-supplied media."""

    expand: BackendInfo
    video: BackendInfo
    voice: BackendInfo
    music: BackendInfo
    file: BackendInfo


def fit_clip_seconds(needed: float, allowed: Sequence[float] | None, max_seconds: float | None) -> float | None:
    """The smallest allowed length that covers the shot (trimmed later), or None if none can."""
    if allowed is None:
        return needed if max_seconds is None or needed <= max_seconds + 1e-9 else None
    fitting = [a for a in sorted(allowed) if a + 1e-9 >= needed]
    return fitting[0] if fitting else None


def draft_size(width: int, height: int) -> tuple[int, int]:
    """A draft's picture: half the film's frame, each side even (x264's 4:2:0 needs it) and at least 16 pixels.
    Only the picture shrinks: the clips are requested at the film's size, so a draft and the full render
    share every generated clip and switching between them never pays for one twice."""
    return max(16, round(width / 4) * 2), max(16, round(height / 4) * 2)


class Planner:
    """Builds jobs in dependency order, so every job's key can fold in its inputs' keys."""

    def __init__(self, checked: CheckedFilm, profile: Profile, backends: PlanBackends, expansion: Expansion,
                 is_cached: IsCached) -> None:
        self.checked, self.profile, self.backends = checked, profile, backends
        self.expansion, self.is_cached = expansion, is_cached
        self.tl = checked.timeline
        self.project = Path(checked.project_dir)
        self.jobs: dict[str, Job] = {}
        self.diags = Diagnostics()

    def add(self, job_id: str, layer: JobLayer, spec: Spec, deps: Sequence[str], seconds: float, usd: Decimal,
            info: BackendInfo | None = None, files: tuple[str, ...] = (), drawn: bool = False) -> Job:
        """One job, keyed over its spec, its maker and its inputs' keys; `info=None`: filmc's assembler makes it.
        `files`: what it reads that no job makes (a reference image), as `path sha256`."""
        name, version, model = (info.name, info.version, info.model) if info else \
            (ASSEMBLER_NAME, ASSEMBLER_VERSION, "")
        inputs = tuple(self.jobs[d].key for d in deps) + files
        key = content_key(JobKey(backend=name, backend_version=version, model=model,
                                 options=key_options(self.profile, layer, name), spec=keyed(spec), inputs=inputs))
        job = Job(id=job_id, layer=layer, backend=name, backend_version=version, model=model, deps=tuple(deps),
                  files=files, key=key, spec=spec, seconds=round(seconds, 6), estimated_usd=money(usd),
                  cached=self.is_cached(spec, key), remote=info.capabilities.remote if info else False, drawn=drawn)
        self.jobs[job_id] = job
        return job

    def relative(self, absolute: str) -> tuple[str, str]:
        return self.named(absolute), file_digest(Path(absolute))

    def named(self, absolute: str) -> str:
        """A checked file as the plan names it: relative to the project, so a plan travels with its folder;
        absolute only for a file from a folder the user allowed outside it (filmc.check.paths)."""
        path = Path(absolute)
        return str(path.relative_to(self.project)) if path.is_relative_to(self.project) else str(path)

    def video_jobs(self) -> None:
        prompts = dict(self.expansion.shots)
        fps = self.tl.fps_num / self.tl.fps_den
        for seg in self.tl.segments:
            if not isinstance(seg, ResolvedShot):
                continue
            info = self.backends.file if seg.clip else self.backends.video
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
                self.diags.error(codes.PROMPT_TOO_LONG,
                                 f"shot {seg.id}'s prompt is {len(prompt.prompt)} characters; video backend "
                                 f"`{info.name}` takes at most {caps.max_prompt_chars}", seg.span,
                                 hint="shorten the style bible or the shot's text, or let the claude expander "
                                 "write the prompt (it is told the limit)")
            source, digest = self.relative(seg.clip) if seg.clip else (None, "")
            request = VideoRequest(
                prompt=prompt.prompt, negative=prompt.negative, seconds=fitted, frames=round(fitted * fps),
                width=width, height=height, fps_num=self.tl.fps_num, fps_den=self.tl.fps_den, camera=seg.camera,
                colors=seg.palette, source_file=source, source_digest=digest,
                reference_images=tuple(self.named(i) for e in seg.entities
                                       for i in e.images),
                **self.overlay(seg, caps))
            self.add(f"video:{seg.id}", "video", VideoSpec(shot_id=seg.id, request=request), (), fitted,
                     info.price.video_per_second(width, height) * Decimal(str(fitted)), info,
                     files=tuple(f"{path} {file_digest(self.project / path)}" for path in request.reference_images
                                 if caps.reference_images),
                     drawn=caps.drawn and not self.profile.keep_clips)

    def overlay(self, seg: ResolvedShot, caps: Capabilities) -> dict[str, str]:
        """Titles drawn into previz are part of its picture; a real model never sees them (nor pays for them)."""
        if not caps.draws_text:
            return {}
        seconds = seg.frames * self.tl.fps_den / self.tl.fps_num
        return {"heading": seg.scene_title, "caption": seg.description,
                "label": f"{seg.id.upper().replace('-', ' · ')}  {seconds:.1f}s"}

    def frame_size(self, caps: Capabilities) -> tuple[int, int]:
        """The film's size if allowed, else of the allowed sizes closest in shape the smallest that covers the
        film (the largest if none does): a bigger frame costs more and is scaled down anyway."""
        want = (self.tl.width, self.tl.height)
        if caps.frame_sizes is None or want in caps.frame_sizes:
            return want
        aspect = want[0] / want[1]

        def preference(size: tuple[int, int]) -> tuple[float, bool, int]:
            covers = size[0] >= want[0] and size[1] >= want[1]
            area = size[0] * size[1]
            return abs(size[0] / size[1] - aspect), not covers, area if covers else -area

        return min(caps.frame_sizes, key=preference)

    def clip_misfit(self, seg: ResolvedShot, info: BackendInfo, needed: float) -> None:
        caps = info.capabilities
        allowed = ", ".join(f"{s:g}s" for s in caps.clip_seconds) if caps.clip_seconds else \
            f"up to {caps.max_seconds:g}s"
        self.diags.error(codes.CLIP_LENGTH_UNSUPPORTED,
                         f"shot {seg.id} needs a {needed:.2f}s clip (with its transition handle), but "
                         f"video backend `{info.name}` makes clips of {allowed}", seg.span,
                         hint="split the shot into shorter shots, or pick a video backend in the profile that "
                         "allows this length")

    def handle_frames(self, seg: ResolvedShot | ResolvedCard) -> int:
        """Extra frames past the slot for the transition into the next segment; the last one fades inside."""
        last = seg is self.tl.segments[-1]
        return seg.transition_out.frames if seg.transition_out and not last else 0

    def voice_jobs(self) -> None:
        info = self.backends.voice
        languages = info.capabilities.languages
        base = self.checked.language.split("-")[0].lower()
        if languages is not None and self.expansion.lines and base not in {lang.lower() for lang in languages}:
            first = self.expansion.lines[0].beat
            self.diags.error(codes.LANGUAGE_UNSUPPORTED,
                             f"voice backend `{info.name}` does not speak `{self.checked.language}`",
                             first.span, hint=f"it speaks {', '.join(languages)}; pick another voice backend")
            return
        for line in self.expansion.lines:
            beat = line.beat
            request = VoiceRequest(
                text=line.text, markup=line.markup,
                parts=beat.parts, language=self.checked.language,
                voice=self.profile.voices.get(beat.voice, beat.voice), voice_description=beat.voice_description,
                tone=beat.tone or "", pace=beat.pace)
            usd = info.price.per_1k_chars * Decimal(len(line.markup)) / 1000
            spec = VoiceSpec(beat_id=beat.id, start=beat.start, request=request, fitted=bool(self.checked.fit))
            self.add(f"voice:{beat.id}", "voice", spec, (), beat.estimated, usd, info)

    def music_job(self) -> str | None:
        if self.tl.music_file:
            info, (source, digest) = self.backends.file, self.relative(self.tl.music_file)
            request = MusicRequest(duration=self.tl.duration, source_file=source, source_digest=digest)
        elif self.expansion.music_sections:
            info = self.backends.music
            request = MusicRequest(duration=self.tl.duration, sections=self.expansion.music_sections,
                                   prompt=self.expansion.music_prompt)
        else:
            return None
        usd = info.price.per_minute * Decimal(str(self.tl.duration)) / 60
        self.add("music:score", "music", MusicSpec(request=request), (), self.tl.duration, usd, info)
        return "music:score"

    def assembly_jobs(self, music: str | None) -> None:
        segments = []
        for seg in self.tl.segments:
            lines, style = (seg.lines, seg.style) if isinstance(seg, ResolvedCard) else ((), None)
            video = f"video:{seg.id}" if isinstance(seg, ResolvedShot) else None
            segments.append(SegmentSpec(segment_id=seg.id, video_job=video, frames=seg.frames,
                                        handle_frames=self.handle_frames(seg), transition_in=seg.transition_in,
                                        transition_out=None if seg is not self.tl.segments[-1] else seg.transition_out,
                                        grade=seg.palette, card_lines=lines, card_style=style))
        width, height = draft_size(self.tl.width, self.tl.height) if self.profile.draft else \
            (self.tl.width, self.tl.height)
        picture = PictureSpec(segments=tuple(segments), grade=self.profile.grade, frames=self.tl.frames,
                              width=width, height=height, fps_num=self.tl.fps_num, fps_den=self.tl.fps_den,
                              draft=self.profile.draft)
        self.add("picture", "assemble", picture, [s.video_job for s in segments if s.video_job], self.tl.duration,
                 Decimal(0))
        voices = [(j, j.spec) for j in self.jobs.values() if isinstance(j.spec, VoiceSpec)]
        placed = tuple((j.id, spec.start) for j, spec in voices)
        mix = MixSpec(lines=placed, music=music, duration=self.tl.duration, loudness=self.profile.loudness,
                      true_peak=self.profile.true_peak)
        self.add("mix", "assemble", mix, [j.id for j, _ in voices] + ([music] if music else []), self.tl.duration,
                 Decimal(0))
        self.add("mux", "assemble", MuxSpec(duration=self.tl.duration), ["picture", "mix"], self.tl.duration,
                 Decimal(0))


def build_plan(checked: CheckedFilm, profile: Profile, backends: PlanBackends, expansion: Expansion,
               is_cached: IsCached, source: str) -> Plan:
    """The plan stage: raises FilmError when a shot can't be made by its backend (before any money is spent)."""
    planner = Planner(checked, profile, backends, expansion, is_cached)
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
