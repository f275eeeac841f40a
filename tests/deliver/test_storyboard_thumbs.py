"""Storyboard thumbnails of previz drawn in one picture: each shot's frame comes from inside its own slot, all of
a picture's shots cost one ffmpeg run (two when a slot holds no keyframe), and a kept thumbnail costs none."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from filmc.assemble import media
from filmc.assemble.media import mean_rgb, run_ffmpeg
from filmc.deliver import storyboard
from filmc.deliver.storyboard import Slot, Still, nearest_inside, thumbnail, thumbnails

FPS = 24
# (colour, frames) in picture order; a keyframe every 12 frames (0, 12, 24, … 60) and none at the colour cuts
PIECES = (("#C03020", 24), ("#20A040", 13), ("#2040C0", 6), ("#D0C020", 11), ("#20C0C0", 18))
# each shot's slot in frames: A red, B green, C blue (shorter than a GOP, no keyframe inside), D yellow then cyan
SLOTS = {"A": (0, 24), "B": (24, 37), "C": (37, 43), "D": (43, 72)}
COLOUR = {"A": (0xC0, 0x30, 0x20), "B": (0x20, 0xA0, 0x40), "C": (0x20, 0x40, 0xC0),
          "D": (0x20, 0xC0, 0xC0)}   # D's middle (57.5) is nearer its keyframe 60 (cyan) than 48 (yellow)


@pytest.fixture(scope="module")
def picture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3 s, 160x90 picture of solid colours whose keyframes sit only where SLOTS say."""
    out = tmp_path_factory.mktemp("picture") / "picture.mp4"
    sources = ";".join(f"color=c={colour}:s=160x90:r={FPS},trim=end_frame={frames},setpts=PTS-STARTPTS[p{i}]"
                       for i, (colour, frames) in enumerate(PIECES))
    joined = "".join(f"[p{i}]" for i in range(len(PIECES)))
    run_ffmpeg(["-filter_complex", f"{sources};{joined}concat=n={len(PIECES)}:v=1:a=0", "-c:v", "libx264",
                "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "12", "-keyint_min", "12", "-sc_threshold", "0",
                str(out)])
    return out


def _still(picture: Path, shot: str) -> Still:
    """A shot's still as `clips_of` makes it for previz: the slot's middle, and the slot."""
    first, end = SLOTS[shot]
    return Still(picture, (first + end) / 2 / FPS, Slot(first / FPS, end / FPS))


@pytest.fixture(autouse=True)
def forget() -> Iterator[None]:
    """Each test starts with nothing remembered in the process."""
    storyboard._MEMO.clear()
    yield
    storyboard._MEMO.clear()


@pytest.fixture
def ffmpeg_runs(monkeypatch: pytest.MonkeyPatch) -> list[Sequence[str]]:
    """Every ffmpeg process started from here on, by its command line."""
    runs: list[Sequence[str]] = []
    real = media.run_process

    def counted(cmd: Sequence[str]) -> subprocess.CompletedProcess[bytes]:
        runs.append(cmd)
        return real(cmd)

    monkeypatch.setattr(media, "run_process", counted)
    return runs


def _rgb(uri: str, tmp_path: Path) -> tuple[float, float, float]:
    image = tmp_path / "thumb.jpg"
    image.write_bytes(base64.b64decode(uri.removeprefix("data:image/jpeg;base64,"), validate=True))
    return mean_rgb(image, 0.0)


def _near(got: tuple[float, float, float], want: tuple[float, float, float]) -> bool:
    return max(abs(g - w) for g, w in zip(got, want, strict=True)) < 12


@pytest.mark.slow
def test_shots_with_keyframes_in_their_slots_cost_one_ffmpeg_run(picture: Path, tmp_path: Path,
                                                                 ffmpeg_runs: list[Sequence[str]]) -> None:
    uris = thumbnails({shot: _still(picture, shot) for shot in ("A", "B", "D")}, width=80)
    assert len(ffmpeg_runs) == 1 and "nokey" in ffmpeg_runs[0]
    assert list(uris) == ["A", "B", "D"]
    for shot, uri in uris.items():
        got = _rgb(uri, tmp_path)
        assert _near(got, COLOUR[shot]), (shot, got)
        # the frame the old accurate seek took at the slot's middle looks the same
        assert _near(got, mean_rgb(picture, _still(picture, shot).at)), shot


@pytest.mark.slow
def test_a_slot_shorter_than_a_gop_falls_back_to_a_seek(picture: Path, tmp_path: Path,
                                                         ffmpeg_runs: list[Sequence[str]]) -> None:
    uris = thumbnails({shot: _still(picture, shot) for shot in SLOTS}, width=80)
    assert len(ffmpeg_runs) == 2 and sum("nokey" in run for run in ffmpeg_runs) == 1
    assert list(uris) == list(SLOTS)
    assert all(_near(_rgb(uri, tmp_path), COLOUR[shot]) for shot, uri in uris.items())


@pytest.mark.slow
def test_a_shot_all_transition_is_seeked_at_its_middle(picture: Path, tmp_path: Path,
                                                       ffmpeg_runs: list[Sequence[str]]) -> None:
    """Blends fill its slot (`clips_of` gives an empty one): no keyframe run is spent on it, one seek is."""
    uris = thumbnails({"C": Still(picture, 40 / FPS, Slot(43 / FPS, 43 / FPS))}, width=80)
    assert len(ffmpeg_runs) == 1 and "nokey" not in ffmpeg_runs[0]
    assert _near(_rgb(uris["C"], tmp_path), COLOUR["C"])


@pytest.mark.slow
def test_one_missing_shot_reads_only_its_slot(picture: Path, tmp_path: Path,
                                              ffmpeg_runs: list[Sequence[str]]) -> None:
    """D alone: ffmpeg seeks to its slot, and the keyframe times it reports still line up with the slot."""
    uris = thumbnails({"D": _still(picture, "D")}, width=80)
    assert len(ffmpeg_runs) == 1 and "-ss" in ffmpeg_runs[0]
    assert _near(_rgb(uris["D"], tmp_path), COLOUR["D"])


@pytest.mark.slow
def test_kept_thumbnails_cost_no_ffmpeg(picture: Path, tmp_path: Path, ffmpeg_runs: list[Sequence[str]]) -> None:
    stills = {shot: _still(picture, shot) for shot in SLOTS}
    store = tmp_path / "thumbs"
    first = thumbnails(stills, width=80, store=store)
    assert len(ffmpeg_runs) == 2 and len(list(store.rglob("*.jpg"))) == len(SLOTS)   # the fallback is kept too
    assert thumbnails(stills, width=80, store=store) == first and len(ffmpeg_runs) == 2   # remembered in-process
    storyboard._MEMO.clear()
    assert thumbnails(stills, width=80, store=store) == first and len(ffmpeg_runs) == 2   # read from the store
    picture.touch()   # a picture made again is another file: its thumbnails are made again
    try:
        thumbnails(stills, width=80, store=store)
        assert len(ffmpeg_runs) == 4
    finally:
        storyboard._MEMO.clear()


@pytest.mark.slow
def test_a_clip_of_its_own_is_seeked_and_a_missing_file_shows_its_swatch(
        picture: Path, tmp_path: Path, ffmpeg_runs: list[Sequence[str]]) -> None:
    uri = thumbnail(picture, 40 / FPS, width=80)   # a still with no slot: today's accurate seek, frame 40
    assert len(ffmpeg_runs) == 1 and "nokey" not in ffmpeg_runs[0]
    assert thumbnails({"gone": Still(tmp_path / "gone.mp4", 1.0, Slot(0.0, 2.0))}) == {}
    assert len(ffmpeg_runs) == 1
    assert uri is not None and _near(_rgb(uri, tmp_path), COLOUR["C"])


def test_the_keyframe_nearest_the_middle_inside_the_slot_is_picked() -> None:
    times = [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]
    assert nearest_inside(times, Slot(1.0, 1.5416), 1.27) == 3          # B: 1.5 is nearer than 1.0
    assert nearest_inside(times, Slot(1.0, 1.5), 1.3) == 2             # the slot's end is the next shot's
    assert nearest_inside(times, Slot(1.5416, 1.7916), 1.66) is None   # C: no keyframe inside
    assert nearest_inside(times, Slot(0.0, 1.0), 0.25) == 0            # a tie goes to the earlier
    assert nearest_inside([1.999], Slot(2.0, 3.0), 2.5) == 0           # a millisecond's rounding is inside
    assert nearest_inside([], Slot(0.0, 1.0), 0.5) is None
