"""The OpenTimelineIO export re-reads with OTIO's own adapter and says what the film is, frame for frame."""

from __future__ import annotations

from pathlib import Path

import opentimelineio as otio
import pytest

from filmc.assemble import Card, Format, PictureSegment, Transition
from filmc.assemble.media import run_ffmpeg
from filmc.deliver.timeline import ExportAudio, ExportClip, write_otio

FMT = Format(width=1280, height=720, fps_num=24)


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("audio")
    for name, seconds in (("line1", 1.5), ("line2", 2.0), ("line3", 1.0), ("music", 20.0)):
        run_ffmpeg(
            ["-f", "lavfi", "-i", f"anullsrc=r=48000:cl=stereo:d={seconds}", str(root / f"{name}.wav")]
        )
    return root


def _clips(root: Path) -> list[ExportClip]:
    segments = [
        PictureSegment(source=None, card=Card(lines=("Entropy",), style="title"), frames=48),
        PictureSegment(
            source=root / "a.mp4", frames=120, transition_in=Transition(kind="crossfade", frames=12)
        ),
        PictureSegment(source=root / "b.mp4", frames=96, transition_in=Transition(kind="cut", frames=0)),
        PictureSegment(
            source=root / "c.mp4", frames=72, transition_in=Transition(kind="fade-to-black", frames=24)
        ),
    ]
    return [
        ExportClip(name=f"shot {i}", media=root / f"seg{i}.mp4", segment=seg)
        for i, seg in enumerate(segments)
    ]


def _write(audio: Path, tmp_path: Path, narration: list[ExportAudio]) -> otio.schema.Timeline:
    out = tmp_path / "film.otio"
    write_otio(_clips(tmp_path), narration, ExportAudio(path=audio / "music.wav"), FMT, out)
    return otio.adapters.read_from_file(str(out))


def test_timeline_rereads_with_the_film_shape(audio: Path, tmp_path: Path) -> None:
    narration = [
        ExportAudio(path=audio / "line1.wav", start=1.0),
        ExportAudio(path=audio / "line2.wav", start=5.0),
    ]
    timeline = _write(audio, tmp_path, narration)
    video, voice, music = timeline.tracks
    assert [t.kind for t in timeline.tracks] == ["Video", "Audio", "Audio"]
    clips = list(video.find_clips())
    assert [c.duration().value for c in clips] == [48, 120, 96, 72]
    assert [c.media_reference.available_range.duration.value for c in clips] == [
        60,
        120,
        120,
        72,
    ]  # + handles
    assert clips[1].media_reference.target_url == "seg1.mp4"   # beside the .otio: relative to it
    transitions = [item for item in video if isinstance(item, otio.schema.Transition)]
    assert [(t.name, t.in_offset.value, t.out_offset.value) for t in transitions] == [
        ("crossfade", 0, 12),
        ("fade-to-black", 0, 24),
    ]
    assert video.duration().value == 48 + 120 + 96 + 72
    assert video.duration().rate == 24
    assert [(type(i).__name__, i.duration().value) for i in voice] == [
        ("Gap", 24),
        ("Clip", 36),
        ("Gap", 60),
        ("Clip", 48),
    ]
    assert [c.duration().value for c in music.find_clips()] == [336]  # 20 s of music, cut to the film


def test_overlapping_lines_get_a_second_narration_track(audio: Path, tmp_path: Path) -> None:
    narration = [
        ExportAudio(path=audio / "line2.wav", start=0.0),
        ExportAudio(path=audio / "line3.wav", start=1.0),
        ExportAudio(path=audio / "line1.wav", start=3.0),
    ]
    timeline = _write(audio, tmp_path, narration)
    names = [t.name for t in timeline.tracks]
    assert names == ["V1 Picture", "A1 Narration", "A1 Narration 2", "A2 Music"]
    assert len(list(timeline.tracks[1].find_clips())) == 2
    assert len(list(timeline.tracks[2].find_clips())) == 1
