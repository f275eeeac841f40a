"""The rendered timeline for editors that don't read OpenTimelineIO: FCPXML, FCP 7 XML and CMX 3600 EDL.

OTIO's adapters for these are packages of their own (`pip install 'filmc[editors]'`); each format keeps less
than the `.otio` (docs/editing.md has the table), and this module adapts filmc's timeline to what each keeps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import opentimelineio as otio

from filmc.deliver.timeline import media_path
from filmc.errors import UsageError
from filmc.files import write_atomic
from filmc.model import Model

EditorName = Literal["fcpxml", "fcp7", "edl"]


class EditorFormat(Model):
    """One interchange format: the OTIO adapter that writes it, the package that installs that adapter, and
    what the format keeps of a filmc timeline (docs/editing.md says the same for people)."""

    name: EditorName
    adapter: str
    package: str
    suffix: str
    picture_only: bool = False       # EDL: one video track; filmc's audio lives in the .otio and the MP4
    clip_markers: bool = False       # the format drops timeline markers but keeps a clip's: move them there
    url: Literal["file", "localhost", "path"] = "file"


EDITOR_FORMATS: dict[str, EditorFormat] = {
    "fcpxml": EditorFormat(name="fcpxml", adapter="fcpx_xml", package="otio-fcpx-xml-adapter", suffix=".fcpxml",
                           clip_markers=True),
    "fcp7": EditorFormat(name="fcp7", adapter="fcp_xml", package="otio-fcp-adapter", suffix=".xml",
                         url="localhost"),
    "edl": EditorFormat(name="edl", adapter="cmx_3600", package="otio-cmx3600-adapter", suffix=".edl",
                        picture_only=True, clip_markers=True, url="path"),
}


def missing_adapter(fmt: EditorFormat) -> str | None:
    """Why OTIO can't write `fmt` here, naming the install command; None when its adapter is installed."""
    if fmt.adapter in otio.adapters.available_adapter_names():
        return None
    return (f"exporting {fmt.name} needs OpenTimelineIO's `{fmt.adapter}` adapter, which is not installed: "
            f"pip install '{fmt.package}' (or pip install 'filmc[editors]' for all three formats)")


def _absolute_url(path: Path, style: Literal["file", "localhost", "path"]) -> str:
    """XML formats want a file URL (FCP7 XML as Premiere and Resolve write it: file://localhost/...); an EDL
    names its media in comments only, as a plain path."""
    if style == "path":
        return path.as_posix()
    uri = path.as_uri()
    return uri.replace("file://", "file://localhost", 1) if style == "localhost" else uri


def _scene_markers_on_clips(timeline: otio.schema.Timeline) -> None:
    """Each timeline marker onto the picture clip playing at its frame, at the same film frame: for formats
    that keep a clip's markers and drop the timeline's."""
    video = timeline.video_tracks()[0]
    for marker in list(timeline.tracks.markers):
        frame = marker.marked_range.start_time
        for clip in video.find_clips():
            placed = clip.range_in_parent()
            if placed.start_time <= frame < placed.end_time_exclusive():
                local = clip.source_range.start_time + (frame - placed.start_time)
                marked = otio.opentime.TimeRange(local, marker.marked_range.duration)
                clip.markers.append(otio.schema.Marker(name=marker.name, color=marker.color, marked_range=marked,
                                                       metadata=marker.metadata))
                break
    timeline.tracks.markers.clear()


def editor_timeline(source: Path, fmt: EditorFormat) -> otio.schema.Timeline:
    """filmc's `.otio` as `fmt` can carry it: media by absolute location (XML has no notion of a path relative to
    itself), markers where the format keeps them, audio left out of a one-track EDL."""
    try:
        timeline = otio.adapters.read_from_file(str(source), adapter_name="otio_json")
    except (OSError, ValueError, otio.exceptions.OTIOError) as err:   # a missing, unreadable or foreign file
        raise UsageError(f"{source} can't be read as an OpenTimelineIO timeline ({err}); pass the .otio that "
                         "`filmc render` wrote, or the .film it rendered") from None
    if not isinstance(timeline, otio.schema.Timeline) or not timeline.video_tracks():
        raise UsageError(f"{source} has no video track: it is not a timeline filmc wrote")
    for clip in timeline.find_clips():
        ref = clip.media_reference
        if isinstance(ref, otio.schema.ExternalReference) and ref.target_url:
            ref.target_url = _absolute_url(media_path(source, ref).resolve(), fmt.url)
    if fmt.picture_only:
        for track in [t for t in timeline.tracks if t.kind != otio.schema.TrackKind.Video]:
            timeline.tracks.remove(track)
    if fmt.clip_markers:
        _scene_markers_on_clips(timeline)
    return timeline


def export_timeline(source: Path, fmt: EditorFormat, out: Path) -> None:
    """Write `source` (filmc's `.otio`) as `fmt` at `out`, whole or not at all."""
    timeline = editor_timeline(source, fmt)
    try:
        write_atomic(out, lambda tmp: otio.adapters.write_to_file(timeline, str(tmp), adapter_name=fmt.adapter))
    except otio.exceptions.OTIOError as err:   # the adapter's own limits, e.g. an EDL's tracks
        raise UsageError(f"OpenTimelineIO's {fmt.adapter} adapter can't write this timeline: {err}") from None
