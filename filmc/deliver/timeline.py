"""The film as an OpenTimelineIO timeline, so an editor can finish it in DaVinci Resolve or elsewhere.

Resolve (18 and later) imports `.otio` natively (File > Import > Timeline); so do Hiero/Nuke Studio,
Kdenlive and Olive. Writing `.otio`, `.otioz` and `.otiod` needs only `opentimelineio`;
filmc.deliver.editors converts to FCPXML, FCP 7 XML and CMX 3600 EDL through OTIO's adapter packages.

Tracks: V1 the picture (one clip per segment, transitions as OTIO transitions), then the narration
(gaps between lines; a second narration track only if two lines overlap), then the music. All
times are whole frames at the film's rate. A marker on the timeline names each scene at its first frame.

Media references are paths relative to the `.otio` file (`media/s01-sh01.mp4`), so the output folder can
be moved, copied or zipped. OTIO stores a `target_url` as written and resolves nothing; Resolve looks for a
relative one beside the `.otio` it imports, and `media_path` below reads it the same way. No `file://` URL:
Resolve 20.2 was reported to refuse them (OTIO issue #1985). A bundle (`.otioz`, `.otiod`) gets absolute
paths instead, since OTIO's bundler reads relative ones against the process's working folder (issue #1783).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal, NamedTuple, TypedDict

import opentimelineio as otio

from filmc.assemble.media import probe
from filmc.assemble.video import Format, PictureSegment, check_timeline, handles
from filmc.check.resolved import ResolvedShot
from filmc.files import write_atomic
from filmc.model import Model
from filmc.plan.model import Job, MusicSpec, Plan, SegmentSpec, VideoSpec, VoiceSpec
from filmc.render.outcome import JobOutcome

NAMESPACE = "filmc"   # every metadata key filmc writes lives under it, as OTIO asks of each application
_BUNDLES = (".otioz", ".otiod")


class ClipNotes(Model):
    """What filmc knew about a clip, under `metadata["filmc"]`: where it came from and what it cost, so an
    editor (or a script over the timeline) can tell a generated shot from a card and re-prompt it."""

    kind: Literal["shot", "card", "narration", "music"]
    scene: str | None = None             # the scene's title
    prompt: str | None = None
    negative_prompt: str | None = None
    content_key: str | None = None
    backend: str | None = None
    model: str | None = None
    cost_usd: str | None = None          # a decimal as text: JSON floats would turn 0.1 into 0.1000000000000000055
    status: str | None = None            # made by this render, or found in the cache
    palette: tuple[str, ...] = ()        # the scene's interpolated colours, `#RRGGBB`
    text: str | None = None              # a card's lines, a narration line as spoken
    tone: str | None = None              # a line's direction
    pace: float | None = None
    voice: str | None = None


class ExportClip(Model):
    """A picture segment for the editor: a clip name, the file it plays and how many frames that file has."""

    name: str
    media: Path
    segment: PictureSegment
    available_frames: int | None = None   # None: a conformed segment, i.e. its slot plus its tail handle
    notes: ClipNotes | None = None
    first_frame: int = 0   # where the segment starts in `media`: its slot, when `media` is the whole picture


class ExportAudio(Model):
    """A narration line or the score: its file, where it starts on the film's clock and what filmc knew."""

    path: Path
    start: float = 0.0
    duration: float | None = None   # known from the render's sidecar: no probe needed
    notes: ClipNotes | None = None


class SceneMarker(Model):
    """A scene's title at its first frame: the editor's chapter list."""

    name: str
    frame: int
    scene_id: str


def _time(frames: int, fmt: Format) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(frames, float(fmt.fps))


def _range(start: int, frames: int, fmt: Format) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(_time(start, fmt), _time(frames, fmt))


def _url(path: Path, base: Path | None) -> str:
    """Relative to the timeline's folder when there is one, in `/` form on every system; else absolute."""
    if base is None:
        return path.resolve().as_posix()
    return Path(os.path.relpath(path.resolve(), base.resolve())).as_posix()


def _reference(path: Path, frames: int, fmt: Format, base: Path | None) -> otio.schema.ExternalReference:
    """The file with its available range, which is what lets an editor relink and trim."""
    return otio.schema.ExternalReference(target_url=_url(path, base), available_range=_range(0, frames, fmt))


def _metadata(notes: ClipNotes | None, **extra: object) -> dict[str, object]:
    """The `filmc` namespace of one item; None and empty fields are left out, not written as nulls."""
    data: dict[str, object] = notes.model_dump(mode="json", exclude_none=True) if notes else {}
    data = {k: v for k, v in data.items() if v != []}
    return {NAMESPACE: {**data, **extra}}


def _transition(seg: PictureSegment, fmt: Format) -> otio.schema.Transition | None:
    """Ours happen after the cut, in the incoming slot: in_offset 0, out_offset its length (A's handle)."""
    t = seg.transition_in
    if t is None or t.kind == "cut" or t.frames <= 0:
        return None
    return otio.schema.Transition(
        name=t.kind, transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
        in_offset=_time(0, fmt), out_offset=_time(t.frames, fmt), metadata={NAMESPACE: {"kind": t.kind}},
    )


def _video_track(clips: Sequence[ExportClip], fmt: Format, base: Path | None) -> otio.schema.Track:
    """V1: the segments end to end; the first segment's opening fade has no neighbour: metadata only."""
    check_timeline([c.segment for c in clips])
    track = otio.schema.Track(name="V1 Picture", kind=otio.schema.TrackKind.Video)
    for index, (clip, handle) in enumerate(zip(clips, handles([c.segment for c in clips]), strict=True)):
        transition = _transition(clip.segment, fmt)
        if transition is not None and index > 0:
            track.append(transition)
        available = clip.segment.frames + handle if clip.available_frames is None else clip.available_frames
        extra: dict[str, object] = {"grade": list(clip.segment.grade)}
        if index == 0 and transition is not None:
            extra["opening"] = transition.name   # a fade in from black, baked into the conformed media
        track.append(otio.schema.Clip(name=clip.name, media_reference=_reference(clip.media, available, fmt, base),
                                      source_range=_range(clip.first_frame, clip.segment.frames, fmt),
                                      metadata=_metadata(clip.notes, **extra)))
    return track


def _audio_frames(path: Path, fmt: Format, known: float | None = None) -> int:
    """Known durations come from the render's sidecars; probing 80 files cost a no-op render 1.4 s."""
    return max(1, round((known if known is not None else probe(path).duration) * fmt.fps))


class _Placed(NamedTuple):
    """An audio clip on a track: first frame, frames used, how many frames its file has, and the clip."""

    start: int
    frames: int
    available: int
    audio: ExportAudio


def _lanes(narration: Sequence[ExportAudio], fmt: Format) -> list[list[_Placed]]:
    """Lines on as few tracks as possible: a second narration track only where two lines overlap."""
    lanes: list[list[_Placed]] = []
    for line in sorted(narration, key=lambda n: n.start):
        frames = _audio_frames(line.path, fmt, line.duration)
        item = _Placed(max(0, round(line.start * fmt.fps)), frames, frames, line)
        lane = next((ln for ln in lanes if ln[-1].start + ln[-1].frames <= item.start), None)
        if lane is None:
            lanes.append([item])
        else:
            lane.append(item)
    return lanes


def _audio_track(name: str, items: Sequence[_Placed], fmt: Format, base: Path | None) -> otio.schema.Track:
    """An audio track of clips at their frames, with gaps between them."""
    track = otio.schema.Track(name=name, kind=otio.schema.TrackKind.Audio)
    position = 0
    for item in items:
        if item.start > position:
            track.append(otio.schema.Gap(source_range=_range(0, item.start - position, fmt)))
        reference = _reference(item.audio.path, item.available, fmt, base)
        track.append(otio.schema.Clip(name=item.audio.path.stem, media_reference=reference,
                                      source_range=_range(0, item.frames, fmt),
                                      metadata=_metadata(item.audio.notes)))
        position = item.start + item.frames
    return track


def _marker(scene: SceneMarker, fmt: Format) -> otio.schema.Marker:
    # OTIO keeps names as C strings: a NUL would silently cut the title short, so it is left out
    return otio.schema.Marker(name=scene.name.replace("\0", ""), marked_range=_range(scene.frame, 0, fmt),
                              color=otio.schema.MarkerColor.BLUE, metadata={NAMESPACE: {"scene": scene.scene_id}})


def build_timeline(
    clips: Sequence[ExportClip],
    narration: Sequence[ExportAudio],
    music: ExportAudio | None,
    fmt: Format,
    *,
    title: str = "filmc",
    scenes: Sequence[SceneMarker] = (),
    base: Path | None = None,
) -> otio.schema.Timeline:
    """The timeline object, apart from writing it, so it can be inspected or written in another format.
    `base`: the folder media references are relative to (the `.otio`'s); None for absolute paths."""
    timeline = otio.schema.Timeline(name=title.replace("\0", ""), global_start_time=_time(0, fmt))
    timeline.metadata[NAMESPACE] = {"width": fmt.width, "height": fmt.height, "rate": fmt.rate}
    timeline.tracks.append(_video_track(clips, fmt, base))
    lanes = _lanes(narration, fmt) or [[]]
    for index, lane in enumerate(lanes):
        timeline.tracks.append(_audio_track("A1 Narration" + (f" {index + 1}" if index else ""), lane, fmt, base))
    total = sum(c.segment.frames for c in clips)
    if music is not None:
        available = _audio_frames(music.path, fmt, music.duration)
        placed = _Placed(0, min(total, available), available, music)
        timeline.tracks.append(_audio_track("A2 Music", [placed], fmt, base))
    for scene in scenes:
        timeline.tracks.markers.append(_marker(scene, fmt))
    return timeline


def write_otio(
    clips: Sequence[ExportClip],
    narration: Sequence[ExportAudio],
    music: ExportAudio | None,
    fmt: Format,
    out: Path,
    *,
    title: str = "filmc",
    scenes: Sequence[SceneMarker] = (),
) -> None:
    """Write the timeline (`.otio` JSON, or `.otioz` to bundle the media), whole or not at all."""
    base = None if out.suffix.lower() in _BUNDLES else out.parent
    timeline = build_timeline(clips, narration, music, fmt, title=title, scenes=scenes, base=base)
    write_atomic(out, lambda tmp: otio.adapters.write_to_file(timeline, str(tmp)))  # the suffix picks the adapter


def media_path(timeline_file: Path, reference: otio.schema.ExternalReference) -> Path:
    """Where a reference's file is: a relative `target_url` is read against the timeline's own folder."""
    path = Path(otio.url_utils.filepath_from_url(reference.target_url))
    return path if path.is_absolute() else timeline_file.parent / path


# --- what filmc knew about each clip, from the plan and the render -------------------------------------------

class _MadeBy(TypedDict):
    content_key: str
    backend: str
    model: str | None
    cost_usd: str
    status: str


def _made_by(job: Job, outcome: JobOutcome | None) -> _MadeBy:
    """What every made clip shares: its key, who made it, what it costs at the plan's prices (cached or not),
    and whether this render made it or found it in the cache."""
    return _MadeBy(content_key=job.key, backend=job.backend, model=job.model or None,
                   cost_usd=str(job.estimated_usd), status=outcome.status if outcome else "missing")


def segment_notes(plan: Plan, segment: SegmentSpec, outcomes: Mapping[str, JobOutcome]) -> ClipNotes:
    """A shot's prompts, key, backend and cost with its scene and palette; a card's lines and palette."""
    resolved = {s.id: s for s in plan.film.timeline.segments}.get(segment.segment_id)
    palette = resolved.palette if resolved else segment.grade
    if segment.video_job is None:
        return ClipNotes(kind="card", text="\n".join(segment.card_lines), palette=palette)
    scene = resolved.scene_title if isinstance(resolved, ResolvedShot) else None
    for job, spec in plan.specs(VideoSpec):
        if job.id == segment.video_job:
            return ClipNotes(kind="shot", scene=scene, prompt=spec.request.prompt,
                             negative_prompt=spec.request.negative or None, palette=palette,
                             **_made_by(job, outcomes.get(job.id)))
    return ClipNotes(kind="shot", scene=scene, palette=palette)   # not in this plan: say only where it is


def line_notes(plan: Plan, job: Job, spec: VoiceSpec, outcome: JobOutcome) -> ClipNotes:
    """A narration line as spoken (the subtitles' text) and its direction: tone, pace, voice."""
    beat = next((b for b in plan.film.timeline.beats if b.id == spec.beat_id), None)
    scene = next((s.scene_title for s in plan.film.timeline.segments
                  if isinstance(s, ResolvedShot) and beat is not None and s.scene_id == beat.scene_id), None)
    request = spec.request
    return ClipNotes(kind="narration", scene=scene, text=request.text, tone=request.tone or None, pace=request.pace,
                     voice=request.voice, **_made_by(job, outcome))


def music_notes(job: Job, spec: MusicSpec, outcome: JobOutcome) -> ClipNotes:
    """The score's brief (what a music service was asked for) with its key and cost."""
    return ClipNotes(kind="music", prompt=spec.request.prompt or None, **_made_by(job, outcome))


def scene_markers(plan: Plan) -> tuple[SceneMarker, ...]:
    """One marker per scene, at the first frame of its first shot, named by its title."""
    seen: dict[str, SceneMarker] = {}
    for segment in plan.film.timeline.segments:
        if isinstance(segment, ResolvedShot) and segment.scene_id not in seen:
            seen[segment.scene_id] = SceneMarker(name=segment.scene_title, frame=segment.start_frame,
                                                 scene_id=segment.scene_id)
    return tuple(seen.values())

