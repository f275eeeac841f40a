"""What a render leaves in the output folder: the film, subtitles, a timeline for an editor, the manifest."""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filmc import __version__
from filmc.assemble import Format, PictureSegment, conform_segment, handles
from filmc.assemble.media import count_frames
from filmc.deliver.storyboard import write_storyboard
from filmc.deliver.subtitles import TimedLine, cues_from_lines, to_srt, to_vtt
from filmc.files import owned_name, place, remove_stale_parts, write_atomic, write_text_atomic
from filmc.keys import content_key
from filmc.model import Model
from filmc.plan.model import Job, MusicSpec, MuxSpec, PictureSpec, Plan, VideoSpec, VoiceSpec
from filmc.render.assembly import format_of, segments_of
from filmc.render.cache import Cache
from filmc.render.jobs import kind_of, suffix_of
from filmc.render.ledger import LedgerEntry, spent
from filmc.render.outcome import AssetMeta, JobOutcome
from filmc.verify import ExpectationResult, Rendered, SpokenLine, verify

if TYPE_CHECKING:
    from filmc.deliver.timeline import ExportClip


class Overrun(Model):
    line: str
    needed: float
    slot: float


class QAReport(Model):
    """One screen at the end of a render: is it the film we planned, at the level we asked for?"""

    duration: float
    planned_duration: float
    integrated_lufs: float | None = None
    true_peak_dbtp: float | None = None
    loudness_target: float
    overruns: tuple[Overrun, ...] = ()
    jobs: int
    made: int
    cached: int
    failed: int
    drawn: int = 0               # previz clips drawn inside the picture pass, with no file of their own
    usd: Decimal                 # the estimate of the jobs made
    ledger_usd: Decimal = Decimal(0)   # what the ledger says was (or may have been) billed
    expectations: tuple[ExpectationResult, ...] = ()   # each `expect` line, measured on the delivered film


class ManifestAsset(Model):
    job: str
    kind: str
    what: str          # the kind's one-line description of this job
    key: str
    backend: str
    model: str
    status: str
    prompt: str | None = None
    parameters: dict[str, Any]
    duration: float
    usd: Decimal
    seconds: float
    cache_hit: bool
    path: str | None = None


class Manifest(Model):
    """Every asset with its key, backend, model, prompt, parameters, cost and timing; never a secret."""

    filmc: str = __version__
    title: str
    source: str
    profile: str
    rendered_at: str
    outputs: dict[str, str]
    assets: tuple[ManifestAsset, ...]
    ledger: tuple[LedgerEntry, ...] = ()   # every billed or possibly billed attempt, failed ones too
    qa: QAReport


class RenderSummary(Model):
    """What `filmc render` reports: every job's outcome, and the manifest of what it delivered where."""

    outcomes: tuple[JobOutcome, ...]
    manifest: Manifest
    out_dir: str

    @property
    def failed(self) -> list[JobOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def unmet(self) -> list[ExpectationResult]:
        """The film's `expect` lines the delivered film doesn't meet."""
        return [r for r in self.manifest.qa.expectations if not r.passed]


_SLUG_BYTES = 96   # file names stop at 255 bytes; `.storyboard.html` and the folder of the same name fit after this


def slug(title: str) -> str:
    """A file name from a title, keeping letters of any script ("Perché" -> "perché"). A title too long for a
    file name is cut at a character and told apart from others sharing its start by its digest."""
    name = re.sub(r"[\W_]+", "-", title.lower()).strip("-") or "film"
    if len(name.encode("utf-8")) <= _SLUG_BYTES:
        return name
    digest = hashlib.sha256(title.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    cut = name.encode("utf-8")[: _SLUG_BYTES - 9].decode("utf-8", "ignore").rstrip("-")
    return f"{cut}-{digest}"


def language_suffix(plan: Plan) -> str:
    """`.en` for a translation's outputs (`--lang en`), nothing for the film's own language: the languages of
    one film sit side by side in its folder and never replace each other."""
    return f".{plan.translation.language}" if plan.translation else ""


def output_name(plan: Plan) -> str:
    """The film's file name without its suffix: a draft is `<slug>.draft`, so it never replaces a full render;
    a translation `<slug>.en` (`<slug>.en.draft`)."""
    return slug(plan.film.title) + language_suffix(plan) + (".draft" if plan.profile.draft else "")


def manifest_name(plan: Plan) -> str:
    return f"manifest{language_suffix(plan)}{'.draft' if plan.profile.draft else ''}.json"


def subtitles(plan: Plan, metas: Mapping[str, AssetMeta]) -> tuple[str, str]:
    """Cues from each spoken line's word timings, on the film's clock."""
    lines = [TimedLine(start=spec.start, text=spec.request.text, words=metas[job.id].words,
                       duration=metas[job.id].duration)
             for job, spec in plan.specs(VoiceSpec) if job.id in metas]
    cues = cues_from_lines(lines, end=plan.film.timeline.duration)  # the film ends: so do its subtitles
    return to_srt(cues), to_vtt(cues)


def overruns(plan: Plan, metas: Mapping[str, AssetMeta]) -> tuple[Overrun, ...]:
    """Lines the voice made longer than the time the film gives them before the next one."""
    spoken = {spec.beat_id: metas[job.id] for job, spec in plan.specs(VoiceSpec) if job.id in metas}
    out = []
    for beat in plan.film.timeline.beats:
        meta = spoken.get(beat.id)
        slot = beat.slot_end - beat.start
        if meta and meta.duration > slot + 0.05:
            out.append(Overrun(line=beat.id, needed=round(meta.duration, 2), slot=round(slot, 2)))
    return tuple(out)


def manifest_asset(job: Job, outcome: JobOutcome, meta: AssetMeta | None) -> ManifestAsset:
    prompt = kind_of(job.spec).prompt(job.spec)
    parameters = job.spec.model_dump(mode="json", exclude={"request": {"prompt"}} if prompt else None)
    return ManifestAsset(job=job.id, kind=job.spec.kind, what=kind_of(job.spec).describe(job.spec), key=job.key,
                         backend=job.backend, model=job.model, status=outcome.status, prompt=prompt,
                         parameters=parameters,
                         duration=meta.duration if meta else 0.0, usd=outcome.usd, seconds=outcome.seconds,
                         cache_hit=outcome.status == "cached", path=outcome.path)


def expectations(plan: Plan, metas: Mapping[str, AssetMeta], film: Path | None, srt: Path,
                 usd: Decimal, store: Path | None = None,
                 loudness: tuple[float | None, float | None] | None = None) -> tuple[ExpectationResult, ...]:
    """The film's `expect` lines judged on the delivered files; each line at its voiced length, or at the
    checker's estimate where its voice wasn't made."""
    if not plan.film.expectations:
        return ()
    voiced = {spec.beat_id: metas[job.id].duration for job, spec in plan.specs(VoiceSpec) if job.id in metas}
    texts = {spec.beat_id: spec.request.text for _, spec in plan.specs(VoiceSpec)}
    lines = tuple(SpokenLine(beat_id=b.id, scene_id=b.scene_id, text=texts.get(b.id, b.text), start=b.start,
                             duration=voiced.get(b.id, b.estimated)) for b in plan.film.timeline.beats)
    rendered = Rendered(film=str(film) if film else None, subtitles=str(srt), lines=lines, usd=usd,
                        store=str(store) if store else None, loudness=loudness)
    return verify(plan.film, rendered)


def write_outputs(plan: Plan, outcomes: Mapping[str, JobOutcome], cache: Cache, out_dir: Path,
                  ledger: Sequence[LedgerEntry] = ()) -> Manifest:
    """Place the film and its sidecars; measure it; write the manifest last (it lists what was written)."""
    name = output_name(plan)
    remove_stale_parts(out_dir)  # what an interrupted delivery left, once it is old
    metas = {j.id: meta for j in plan.jobs if outcomes[j.id].usable
             and (meta := cache.meta(j.spec.kind, j.key, suffix_of(j.spec))) is not None}
    written: dict[str, str] = {}
    film = out_dir / f"{name}.mp4"
    (mux_job, _), = plan.specs(MuxSpec)
    (picture_job, _), = plan.specs(PictureSpec)
    mux = outcomes[mux_job.id]
    qa_extra: dict[str, Any] = {}
    if mux.path and mux.usable:
        place(Path(mux.path), film)
        written["film"] = film.name
        meta = metas.get(mux_job.id)
        qa_extra = {"duration": round(meta.duration if meta else mux.duration, 3),
                    "integrated_lufs": meta.lufs if meta else None, "true_peak_dbtp": meta.true_peak if meta else None}
    srt, vtt = subtitles(plan, metas)
    for suffix, text in ((".srt", srt), (".vtt", vtt)):
        write_text_atomic(out_dir / f"{name}{suffix}", text)
        written[suffix[1:]] = f"{name}{suffix}"
    if outcomes[picture_job.id].usable:
        written["timeline"] = write_timeline(plan, outcomes, out_dir, name, work=cache.root / "work")
    written["storyboard"] = write_storyboard(plan, out_dir / f"{name}.storyboard.html", cache=cache,
                                             outcomes=outcomes).name
    statuses = [o.status for o in outcomes.values()]
    mux_meta = metas.get(mux_job.id) if "film" in written else None
    qa_extra["expectations"] = expectations(plan, metas, film if "film" in written else None,
                                            out_dir / f"{name}.srt", spent(ledger), store=cache.root / "measured",
                                            loudness=(mux_meta.lufs, mux_meta.true_peak) if mux_meta else None)
    qa = QAReport(duration=qa_extra.pop("duration", 0.0), planned_duration=plan.film.timeline.duration,
                  loudness_target=plan.profile.loudness, overruns=overruns(plan, metas), jobs=len(statuses),
                  made=statuses.count("made"), cached=statuses.count("cached"), failed=statuses.count("failed"),
                  drawn=statuses.count("drawn"),
                  usd=sum((o.usd for o in outcomes.values()), Decimal(0)), ledger_usd=spent(ledger), **qa_extra)
    assets = tuple(manifest_asset(j, outcomes[j.id], metas.get(j.id)) for j in plan.jobs)
    manifest = Manifest(title=plan.film.title, source=plan.source, profile=plan.profile.name,
                        rendered_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"), outputs=written, assets=assets,
                        ledger=tuple(ledger), qa=qa)
    write_text_atomic(out_dir / manifest_name(plan), manifest.model_dump_json(indent=1))
    return manifest


def clip_frames(generated: Mapping[str, VideoSpec], video_job: str | None, media: Path) -> int:
    """Frames a clip has: the plan knows it for generated clips; a user's clip is counted."""
    spec = generated.get(video_job or "")
    if spec is not None and not spec.request.source_file:
        return spec.request.frames
    return count_frames(media)


def _draw_card(segment: PictureSegment, fmt: Format, handle: int, copy: Path, work: Path | None) -> None:
    """Drawn in a folder of the cache's `work/`, named by this process, so what a killed render leaves there
    is removed by the next render (the system's temp folder would keep it)."""
    if work is None:
        with tempfile.TemporaryDirectory() as temp:
            write_atomic(copy, lambda tmp: conform_segment(segment, fmt, handle, tmp, workdir=Path(temp)))
        return
    folder = work / owned_name()
    folder.mkdir(parents=True)
    try:
        write_atomic(copy, lambda tmp: conform_segment(segment, fmt, handle, tmp, workdir=folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _picture_clips(plan: Plan, picture: PictureSpec, segments: Sequence[PictureSegment], made: Path, media: Path,
                   outcomes: Mapping[str, JobOutcome]) -> list[ExportClip]:
    """Each segment as its slot of the graded picture, transitions baked in: what the film shows, frame for frame,
    with every shot's notes; `--keep-clips` gives an editor separate clips with handles instead."""
    from filmc.deliver.timeline import ExportClip, segment_notes

    copy = media / f"picture-{picture.width}x{picture.height}{made.suffix}"
    place(made, copy)
    clips, start = [], 0
    for seg, segment in zip(picture.segments, segments, strict=True):
        cut = segment.model_copy(update={"source": copy, "drawn": None, "card": None, "transition_in": None,
                                         "transition_out": None})
        clips.append(ExportClip(name=seg.segment_id, media=copy, segment=cut, available_frames=picture.frames,
                                first_frame=start, notes=segment_notes(plan, seg, outcomes)))
        start += seg.frames
    return clips


def _segment_clips(plan: Plan, picture: PictureSpec, segments: Sequence[PictureSegment], media: Path,
                   outcomes: Mapping[str, JobOutcome], work: Path | None) -> list[ExportClip]:
    """Each shot's own clip with its handles, each card drawn once: an editor can re-cut and re-time them."""
    from filmc.deliver.timeline import ExportClip, segment_notes

    generated = {job.id: spec for job, spec in plan.specs(VideoSpec)}
    clips = []
    for seg, segment, handle in zip(picture.segments, segments, handles(segments), strict=True):
        notes = segment_notes(plan, seg, outcomes)
        if segment.source is None:  # a card has no media of its own: draw it once for the editor
            card_key = content_key(segment.model_copy(update={"grade_method": "lut"}))[:12]
            copy = media / f"{seg.segment_id}-{card_key}-{picture.width}x{picture.height}.mp4"  # a draft's is smaller
            if not copy.exists():  # named by its content's key and written whole: a file there is this card
                _draw_card(segment, format_of(picture), handle, copy, work)
            clips.append(ExportClip(name=seg.segment_id, media=copy, segment=segment, notes=notes))
            continue
        copy = media / f"{seg.segment_id}{segment.source.suffix}"
        place(segment.source, copy)
        clips.append(ExportClip(name=seg.segment_id, media=copy, segment=segment.model_copy(update={"source": copy}),
                                available_frames=clip_frames(generated, seg.video_job, copy), notes=notes))
    return clips


def write_timeline(plan: Plan, outcomes: Mapping[str, JobOutcome], out_dir: Path, name: str,
                   work: Path | None = None) -> str:
    """An OpenTimelineIO timeline over copies of the clips, narration and music in media/, for Resolve; cards
    are drawn in `work` (the system's temp folder if None). Each clip carries its prompt, key and cost."""
    from filmc.deliver.timeline import (  # OpenTimelineIO only when a timeline is written
        ExportAudio,
        line_notes,
        music_notes,
        scene_markers,
        write_otio,
    )

    (picture_job, picture), = plan.specs(PictureSpec)
    media = out_dir / "media"
    deps = {o.job: o for o in outcomes.values()}
    segments = segments_of(picture, deps)
    if any(deps[s.video_job].status == "drawn" for s in picture.segments if s.video_job):
        # previz drawn in the picture pass has no clip files: V1 is the picture, cut at its segments
        clips = _picture_clips(plan, picture, segments, Path(deps[picture_job.id].path or ""), media, outcomes)
    else:
        clips = _segment_clips(plan, picture, segments, media, outcomes, work)
    narration = []
    for job, spec in plan.specs(VoiceSpec):
        outcome = outcomes[job.id]
        if outcome.path:
            copy = media / f"{spec.beat_id}{language_suffix(plan)}.wav"   # each language its own
            place(Path(outcome.path), copy)
            narration.append(ExportAudio(path=copy, start=spec.start, duration=outcome.duration or None,
                                         notes=line_notes(plan, job, spec, outcome)))
    music_copy = None
    for score_job, score in plan.specs(MusicSpec)[:1]:
        outcome = outcomes[score_job.id]
        if outcome.path:
            place(Path(outcome.path), media / "score.wav")
            music_copy = ExportAudio(path=media / "score.wav", duration=outcome.duration or None,
                                     notes=music_notes(score_job, score, outcome))
    write_otio(clips, narration, music_copy, format_of(picture), out_dir / f"{name}.otio", title=plan.film.title,
               scenes=scene_markers(plan))
    return f"{name}.otio"
