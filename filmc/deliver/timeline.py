"""The film as an OpenTimelineIO timeline, so an editor can finish it in DaVinci Resolve or elsewhere.

Resolve (18.5 and later) imports `.otio` natively (File > Import > Timeline); so do Premiere (via
plugins), Hiero/Nuke Studio and Kdenlive. Only the adapters built into `opentimelineio` are used
(`.otio`, `.otioz`, `.otiod`); FCPXML, EDL and AAF need extra adapter packages filmc does not depend on.

Tracks: V1 the picture (one clip per segment, transitions as OTIO transitions), then the narration
(gaps between lines; a second narration track only if two lines overlap), then the music. All
times are whole frames at the film's rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import opentimelineio as otio

from filmc.assemble.audio import NarrationPlacement
from filmc.assemble.media import probe
from filmc.assemble.video import Format, PictureSegment, check_timeline, handles
from filmc.files import write_atomic
from filmc.model import Model


class ExportClip(Model):
    """A picture segment for the editor: a clip name, the file it plays and how many frames that file has."""

    name: str
    media: Path
    segment: PictureSegment
    available_frames: int | None = None   # None: a conformed segment, i.e. its slot plus its tail handle


def _time(frames: int, fmt: Format) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(frames, float(fmt.fps))


def _range(start: int, frames: int, fmt: Format) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(_time(start, fmt), _time(frames, fmt))


def _reference(path: Path, frames: int, fmt: Format) -> otio.schema.ExternalReference:
    """An absolute file URL with its available range, which is what lets an editor relink and trim."""
    return otio.schema.ExternalReference(
        target_url=otio.url_utils.url_from_filepath(str(path.resolve())),
        available_range=_range(0, frames, fmt),
    )


def _transition(seg: PictureSegment, fmt: Format) -> otio.schema.Transition | None:
    """Ours happen after the cut, in the incoming slot: in_offset 0, out_offset its length (A's handle)."""
    t = seg.transition_in
    if t is None or t.kind == "cut" or t.frames <= 0:
        return None
    return otio.schema.Transition(
        name=t.kind, transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
        in_offset=_time(0, fmt), out_offset=_time(t.frames, fmt), metadata={"filmc": {"kind": t.kind}},
    )


def _video_track(clips: Sequence[ExportClip], fmt: Format) -> otio.schema.Track:
    """V1: the segments end to end; the first segment's opening fade has no neighbour: metadata only."""
    check_timeline([c.segment for c in clips])
    track = otio.schema.Track(name="V1 Picture", kind=otio.schema.TrackKind.Video)
    for index, (clip, handle) in enumerate(zip(clips, handles([c.segment for c in clips]), strict=True)):
        transition = _transition(clip.segment, fmt)
        if transition is not None and index > 0:
            track.append(transition)
        available = clip.segment.frames + handle if clip.available_frames is None else clip.available_frames
        meta: dict[str, object] = {"grade": list(clip.segment.grade)}
        if index == 0 and transition is not None:
            meta["opening"] = transition.name   # a fade in from black, baked into the conformed media
        track.append(otio.schema.Clip(name=clip.name, media_reference=_reference(clip.media, available, fmt),
                                      source_range=_range(0, clip.segment.frames, fmt),
                                      metadata={"filmc": meta}))
    return track


def _audio_frames(path: Path, fmt: Format, known: float | None = None) -> int:
    """Known durations come from the render's sidecars; probing 80 files cost a no-op render 1.4 s."""
    return max(1, round((known if known is not None else probe(path).duration) * fmt.fps))


class _Placed(NamedTuple):
    """An audio clip on a track: first frame, frames used, the file and how many frames it has."""

    start: int
    frames: int
    path: Path
    available: int


def _lanes(narration: Sequence[NarrationPlacement], fmt: Format) -> list[list[_Placed]]:
    """Lines on as few tracks as possible: a second narration track only where two lines overlap."""
    lanes: list[list[_Placed]] = []
    for line in sorted(narration, key=lambda n: n.start):
        frames = _audio_frames(line.wav, fmt, line.duration)
        item = _Placed(max(0, round(line.start * fmt.fps)), frames, line.wav, frames)
        lane = next((ln for ln in lanes if ln[-1].start + ln[-1].frames <= item.start), None)
        if lane is None:
            lanes.append([item])
        else:
            lane.append(item)
    return lanes


def _audio_track(name: str, items: Sequence[_Placed], fmt: Format) -> otio.schema.Track:
    """An audio track of clips at their frames, with gaps between them."""
    track = otio.schema.Track(name=name, kind=otio.schema.TrackKind.Audio)
    position = 0
    for item in items:
        if item.start > position:
            track.append(otio.schema.Gap(source_range=_range(0, item.start - position, fmt)))
        reference = _reference(item.path, item.available, fmt)
        track.append(otio.schema.Clip(name=item.path.stem, media_reference=reference,
                                      source_range=_range(0, item.frames, fmt)))
        position = item.start + item.frames
    return track


def build_timeline(
    clips: Sequence[ExportClip],
    narration: Sequence[NarrationPlacement],
    music: Path | None,
    fmt: Format,
    *,
    title: str = "filmc",
) -> otio.schema.Timeline:
    """The timeline object, apart from writing it, so it can be inspected or written in another format."""
    # OTIO keeps names as C strings: a NUL would silently cut the title short, so it is left out
    timeline = otio.schema.Timeline(name=title.replace("\0", ""), global_start_time=_time(0, fmt))
    timeline.metadata["filmc"] = {"width": fmt.width, "height": fmt.height, "rate": fmt.rate}
    timeline.tracks.append(_video_track(clips, fmt))
    lanes = _lanes(narration, fmt) or [[]]
    for index, lane in enumerate(lanes):
        timeline.tracks.append(_audio_track("A1 Narration" + (f" {index + 1}" if index else ""), lane, fmt))
    total = sum(c.segment.frames for c in clips)
    if music is not None:
        available = _audio_frames(music, fmt)
        placed = _Placed(0, min(total, available), music, available)
        timeline.tracks.append(_audio_track("A2 Music", [placed], fmt))
    return timeline


def write_otio(
    clips: Sequence[ExportClip],
    narration: Sequence[NarrationPlacement],
    music: Path | None,
    fmt: Format,
    out: Path,
    *,
    title: str = "filmc",
) -> None:
    """Write the timeline (`.otio` JSON, or `.otioz` to bundle the media), whole or not at all."""
    timeline = build_timeline(clips, narration, music, fmt, title=title)
    write_atomic(out, lambda tmp: otio.adapters.write_to_file(timeline, str(tmp)))  # the suffix picks the adapter
