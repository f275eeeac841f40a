"""The rendered hello film's `.otio`, read back by OTIO's own reader: the plan's timeline to the frame, what
filmc knew about each clip, a marker per scene, and media that still resolve after the folder is moved.

Rendered with `--keep-clips`, so each previz shot has its own clip file with handles, as generated clips do;
without it (the last test) the timeline cuts the drawn picture itself."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import opentimelineio as otio
import pytest

from filmc.assemble.media import count_frames
from filmc.check.resolved import ResolvedShot
from filmc.cli.progress import PlainEvents
from filmc.deliver.timeline import media_path
from filmc.pipeline import compile_film, render_film
from filmc.plan.model import MusicSpec, PictureSpec, Plan, VideoSpec, VoiceSpec
from tests.conftest import FILMS

pytestmark = pytest.mark.slow


class Rendered:
    """hello.film rendered offline once for this module: its plan and the `.otio` the render wrote."""

    def __init__(self, root: Path, *, keep_clips: bool = True) -> None:
        film = root / "hello.film"
        shutil.copy(FILMS / "hello.film", film)
        self.plan: Plan = asyncio.run(compile_film(film, keep_clips=keep_clips))[0]
        self.out = root / "out"
        summary = asyncio.run(render_film(self.plan, out_dir=self.out, events=PlainEvents(), backoff=0.01))
        assert not summary.failed
        self.otio_file = self.out / summary.manifest.outputs["timeline"]

    def read(self) -> otio.schema.Timeline:
        return otio.adapters.read_from_file(str(self.otio_file))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rendered]:
    yield Rendered(tmp_path_factory.mktemp("hello"))


def _picture(plan: Plan) -> PictureSpec:
    (_, picture), = plan.specs(PictureSpec)
    return picture


def test_picture_track_is_the_plans_timeline_to_the_frame(rendered: Rendered) -> None:
    picture = _picture(rendered.plan)
    video = rendered.read().video_tracks()[0]
    clips = list(video.find_clips())
    assert [c.name for c in clips] == [s.segment_id for s in picture.segments]
    assert [c.duration().to_frames() for c in clips] == [s.frames for s in picture.segments]
    assert video.duration().to_frames() == picture.frames == rendered.plan.film.timeline.frames
    # each clip starts where the checked timeline puts its segment
    starts = {s.id: s.start_frame for s in rendered.plan.film.timeline.segments}
    assert [c.range_in_parent().start_time.to_frames() for c in clips] == [starts[c.name] for c in clips]
    # transitions sit just before the clip they lead into, with the plan's kind and length
    planned = [(s.segment_id, s.transition_in.kind, s.transition_in.frames) for s in picture.segments[1:]
               if s.transition_in is not None and s.transition_in.kind != "cut"]
    items = list(video)
    found = [(items[i + 1].name, t.name, t.out_offset.to_frames() + t.in_offset.to_frames())
             for i, t in enumerate(items) if isinstance(t, otio.schema.Transition)]
    assert found == planned and planned   # hello has transitions: the comparison means something


def test_narration_and_music_are_placed_on_the_films_clock(rendered: Rendered) -> None:
    timeline = rendered.read()
    voice, music = timeline.audio_tracks()
    fps = rendered.plan.film.timeline.fps_num / rendered.plan.film.timeline.fps_den
    lines = list(voice.find_clips())
    planned = rendered.plan.specs(VoiceSpec)
    assert [c.name for c in lines] == [spec.beat_id for _, spec in planned]
    assert [c.range_in_parent().start_time.to_frames() for c in lines] == [round(s.start * fps) for _, s in planned]
    (score,) = music.find_clips()
    assert score.duration().to_frames() == rendered.plan.film.timeline.frames   # the score runs under the whole film


def test_every_clip_carries_what_filmc_knew(rendered: Rendered) -> None:
    plan = rendered.plan
    timeline = rendered.read()
    resolved = {s.id: s for s in plan.film.timeline.segments}
    videos = {job.id: (job, spec) for job, spec in plan.specs(VideoSpec)}
    for seg, clip in zip(_picture(plan).segments, timeline.video_tracks()[0].find_clips(), strict=True):
        notes = clip.metadata["filmc"]
        assert list(notes["palette"]) == list(resolved[seg.segment_id].palette)
        if seg.video_job is None:
            assert notes["kind"] == "card" and notes["text"] == "\n".join(seg.card_lines)
            continue
        job, spec = videos[seg.video_job]
        shot = resolved[seg.segment_id]
        assert isinstance(shot, ResolvedShot)
        assert notes["kind"] == "shot" and notes["scene"] == shot.scene_title
        assert notes["prompt"] == spec.request.prompt and notes["prompt"].startswith(shot.description)
        assert notes["negative_prompt"] == spec.request.negative != ""
        assert notes["content_key"] == job.key and notes["backend"] == job.backend == "animatic"
        assert notes["cost_usd"] == str(job.estimated_usd) and isinstance(notes["cost_usd"], str)
    voices = {spec.beat_id: (job, spec) for job, spec in plan.specs(VoiceSpec)}
    for clip in timeline.audio_tracks()[0].find_clips():
        notes = clip.metadata["filmc"]
        job, spec = voices[clip.name]
        assert notes["kind"] == "narration" and notes["text"] == spec.request.text
        assert notes["tone"] == spec.request.tone and notes["pace"] == spec.request.pace
        assert notes["content_key"] == job.key and notes["backend"] == "espeak"
    spoken = [c.metadata["filmc"]["text"] for c in timeline.audio_tracks()[0].find_clips()]
    assert "Hello, world." in spoken and not any(mark in "".join(spoken) for mark in "*[]")   # as spoken: no markup
    (score_job, _), = plan.specs(MusicSpec)
    (score,) = timeline.audio_tracks()[1].find_clips()
    assert score.metadata["filmc"]["content_key"] == score_job.key


def test_a_marker_names_each_scene_at_its_first_frame(rendered: Rendered) -> None:
    markers = rendered.read().tracks.markers
    first: dict[str, tuple[str, int]] = {}
    for seg in rendered.plan.film.timeline.segments:
        if isinstance(seg, ResolvedShot):
            first.setdefault(seg.scene_id, (seg.scene_title, seg.start_frame))
    assert [(m.name, m.marked_range.start_time.to_frames()) for m in markers] == list(first.values())
    assert len(markers) >= 2 and markers[0].name == "Cold"   # hello's first scene


def test_media_resolve_after_the_output_folder_moves(rendered: Rendered, tmp_path: Path) -> None:
    moved = tmp_path / "elsewhere" / "delivered"
    moved.parent.mkdir()
    copy = tmp_path / "copy"
    shutil.copytree(rendered.out, copy)   # the module's other tests keep the original
    shutil.move(copy, moved)
    otio_file = moved / rendered.otio_file.name
    timeline = otio.adapters.read_from_file(str(otio_file))
    references = [c.media_reference for c in timeline.find_clips()]
    plan = rendered.plan
    assert len(references) == len(_picture(plan).segments) + len(plan.specs(VoiceSpec)) + 1   # and the score
    for ref in references:
        assert isinstance(ref, otio.schema.ExternalReference)
        assert not ref.target_url.startswith(("file:", "/")), ref.target_url
        assert ref.target_url.startswith("media/")
        # OTIO's own url reader, against the .otio's new folder
        assert (otio_file.parent / otio.url_utils.filepath_from_url(ref.target_url)).is_file()
        assert media_path(otio_file, ref).is_file() and moved in media_path(otio_file, ref).parents
    assert not copy.exists()


def test_available_ranges_are_the_files_own_lengths(rendered: Rendered) -> None:
    """What lets an editor trim into a handle: the reference says how many frames its file really has."""
    for clip in rendered.read().video_tracks()[0].find_clips():
        frames = count_frames(media_path(rendered.otio_file, clip.media_reference))
        assert clip.media_reference.available_range.duration.to_frames() == frames
        assert frames >= clip.duration().to_frames()


def test_without_kept_clips_the_picture_track_cuts_the_drawn_picture(tmp_path: Path) -> None:
    """Previz drawn in the picture pass has no clip files: V1 plays the graded picture itself, each segment its
    own slot of it (transitions already in its frames), with the same notes per shot."""
    drawn = Rendered(tmp_path, keep_clips=False)
    picture = _picture(drawn.plan)
    video, = drawn.read().video_tracks()
    clips = list(video)
    assert [c.name for c in clips] == [s.segment_id for s in picture.segments]   # no transitions between them
    starts = [c.source_range.start_time.to_frames() for c in clips]
    lengths = [c.source_range.duration.to_frames() for c in clips]
    assert lengths == [s.frames for s in picture.segments]
    assert starts == [sum(lengths[:i]) for i in range(len(lengths))]   # back to back: the film, frame for frame
    media = {media_path(drawn.otio_file, c.media_reference) for c in clips}
    assert len(media) == 1
    (made,) = media
    assert count_frames(made) == picture.frames == sum(lengths)
    assert not list((drawn.out / "media").glob("s0*-sh*.mp4"))   # no clip or card drawn again for the editor
    shot = next(c for c in clips if c.metadata["filmc"]["kind"] == "shot")
    assert shot.metadata["filmc"]["status"] == "drawn" and shot.metadata["filmc"]["backend"] == "animatic"
