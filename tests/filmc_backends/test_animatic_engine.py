"""The animatic generator, on tiny clips really rendered by ffmpeg."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from filmc.assemble.media import count_frames, grab_frame, mean_rgb, probe, verify_media
from filmc.vocabulary import CAMERA_MOVES
from filmc_backends.animatic_engine import CAMERA_PATHS, AnimaticClip, render_animatic, wrap

pytestmark = pytest.mark.slow

NASTY = 'It\'s "50%": a, b [x] \\ back\\slash\nL’umanità è “estinta”; {x} $HOME %{pts} \\n'
BLUE = ("#0B1E3F", "#3A7BD5")
AMBER = ("#FFB347", "#C46A1B")


def _clip(**overrides: Any) -> AnimaticClip:
    fields: dict[str, Any] = {
        "width": 160,
        "height": 90,
        "fps_num": 24,
        "frames": 24,
        "colors": BLUE,
        "camera": "static",
        "heading": "",
        "caption": "",
        "label": "",
    }
    return AnimaticClip(**(fields | overrides))


def _render(tmp_path: Path, name: str, **overrides: Any) -> Path:
    out = tmp_path / f"{name}.mp4"
    render_animatic(_clip(**overrides), out, workdir=tmp_path / "work")
    return out


def _diff(a: bytes, b: bytes) -> float:
    """Mean absolute difference per channel, 0-255."""
    return sum(abs(x - y) for x, y in zip(a, b, strict=True)) / len(a)


def _first_last_diff(clip: Path, frames: int, fps: float = 24.0) -> float:
    first, last = (grab_frame(clip, at, width=64, height=36) for at in (0, (frames - 1) / fps))
    return _diff(first, last)


@pytest.mark.parametrize(("fps_num", "fps_den", "frames"), [(24, 1, 36), (24000, 1001, 30)])
def test_output_is_h264_of_exact_size_rate_and_frames(
    tmp_path: Path, fps_num: int, fps_den: int, frames: int
) -> None:
    out = _render(
        tmp_path,
        "clip",
        width=320,
        height=180,
        fps_num=fps_num,
        fps_den=fps_den,
        frames=frames,
        camera="push-in",
        heading="Anno 2847",
        caption="A city",
        label="S01·SH01",
    )
    info = probe(out)
    assert info.video is not None and info.audio is None
    assert (info.video.codec, info.video.width, info.video.height) == ("h264", 320, 180)
    assert info.video.fps == pytest.approx(fps_num / fps_den, abs=1e-6)
    assert info.duration == pytest.approx(frames * fps_den / fps_num, abs=0.011)
    assert count_frames(out) == frames
    verify_media(
        out,
        expect_video=True,
        expect_audio=False,
        duration=frames * fps_den / fps_num,
        tolerance=fps_den / fps_num,
    )


def test_mean_colour_follows_the_palette(tmp_path: Path) -> None:
    r, _, b = mean_rgb(_render(tmp_path, "blue", colors=BLUE), 0.5)
    assert b > r + 40
    r, _, b = mean_rgb(_render(tmp_path, "amber", colors=AMBER), 0.5)
    assert r > b + 40


@pytest.mark.parametrize("colors", [("#808080",), tuple(f"#{i * 20:02X}2040" for i in range(11))])
def test_one_colour_and_more_than_eight_still_render(tmp_path: Path, colors: tuple[str, ...]) -> None:
    assert count_frames(_render(tmp_path, "palette", colors=colors, frames=6)) == 6


@pytest.mark.parametrize("camera", ["push-in", "pan-left", "orbit"])
def test_camera_moves_the_picture_far_more_than_static(tmp_path: Path, camera: str) -> None:
    static = _first_last_diff(_render(tmp_path, "static"), 24)
    moving = _first_last_diff(_render(tmp_path, camera, camera=camera), 24)
    assert moving > 3.0
    assert static < moving / 5


@pytest.mark.parametrize("camera", CAMERA_MOVES)
def test_every_camera_move_renders(tmp_path: Path, camera: str) -> None:
    assert count_frames(_render(tmp_path, camera, camera=camera, frames=12)) == 12


def test_every_path_is_a_camera_move() -> None:
    assert set(CAMERA_PATHS) == set(CAMERA_MOVES)


def test_unknown_camera_raises_before_writing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="dolly-zoom"):
        _render(tmp_path, "bad", camera="dolly-zoom")
    assert not (tmp_path / "bad.mp4").exists()


def test_clip_fields_are_validated() -> None:
    with pytest.raises(ValidationError):
        _clip(colors=("blue",))
    with pytest.raises(ValidationError):
        _clip(colors=())
    with pytest.raises(ValidationError):
        _clip(width=161)
    with pytest.raises(ValidationError):
        _clip(frames=0)


def test_any_text_renders_literally(tmp_path: Path) -> None:
    weird_workdir = tmp_path / "it's: a, b [x]; c\\d"
    out = tmp_path / "text.mp4"
    clip = _clip(width=320, height=180, heading=NASTY, caption=NASTY * 4, label=NASTY)
    render_animatic(clip, out, workdir=weird_workdir)
    assert count_frames(out) == 24
    assert not list(weird_workdir.iterdir())  # the text files are cleaned up


def test_text_is_really_drawn(tmp_path: Path) -> None:
    plain = _render(tmp_path, "plain", width=320, height=180)
    text = _render(tmp_path, "text", width=320, height=180, heading="Anno 2847", caption="A silent city")
    before, after = (grab_frame(clip, 0.5, width=320, height=180) for clip in (plain, text))
    changed = sum(abs(x - y) > 60 for x, y in zip(before, after, strict=True))
    assert changed > 300  # glyph pixels, white on blue; encoding noise alone never moves a value this far


def test_wrap_keeps_breaks_and_caps_lines() -> None:
    assert wrap("one two three four", 9, 5) == "one two\nthree\nfour"
    assert wrap("first\n\nthird", 40, 5) == "first\n\nthird"
    capped = wrap("word " * 40, 12, 2)
    assert capped.count("\n") == 1 and capped.endswith("…")
    assert all(len(line) <= 12 for line in capped.split("\n"))
    assert wrap("tab\there\x07bell\r\nnext", 40, 5) == "tab here bell\nnext"
