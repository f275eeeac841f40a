"""The LUT grade at chroma resolution against the full-size float RGB grade it replaced, on real rendered frames.

The clip path grades once per 2x2 block (`chroma_grade_graph`), a third of the CPU; these tests hold it to the
full path's picture: where colour is smooth (a gradient) it must be the same to within rounding, on testsrc2's
hard saturated bar edges it may differ as much as the full path's own chroma resampling does, whatever colour
matrix and range the source was tagged with.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from filmc.assemble.grade import chroma_grade_graph
from filmc.assemble.media import ffmpeg_exe, run_ffmpeg, run_process
from filmc.assemble.video import Format, PictureSegment, _clip_chain, _finish, _grade

pytestmark = pytest.mark.slow

FMT = Format(width=320, height=180, fps_num=24)
COLD = ("#0B2A4A", "#3A86B8", "#A3DBF6")
AMBER = ("#5A2E12", "#C36B2A", "#F2C38B")
FRAMES = 6
# a smooth sweep over hue and lightness, where banding or a shifted tone would show
GRADIENT = "nullsrc=s=320x180:r=24,format=gbrp,geq=r='255*X/W':g='255*Y/H':b='255*(1-X/W)*0.6+40'"


def _clip(root: Path, name: str, source: str, *tags: str) -> Path:
    path = root / f"{name}.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", source, "-frames:v", str(FRAMES), "-c:v", "libx264", "-crf", "8",
                "-pix_fmt", "yuvj420p" if "pc" in tags else "yuv420p", *tags, str(path)])
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """testsrc2 untagged (read as BT.601, as ffmpeg does) and tagged BT.709; the gradient tagged, and full range."""
    root = tmp_path_factory.mktemp("grade")
    bt709 = ("-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709")
    return {
        "bars": _clip(root, "bars", "testsrc2=s=320x180:r=24"),
        "bars709": _clip(root, "bars709", "testsrc2=s=320x180:r=24", *bt709),
        "gradient": _clip(root, "gradient", GRADIENT, *bt709),
        "gradient-pc": _clip(root, "gradient-pc", GRADIENT, *bt709, "-color_range", "pc"),
    }


def _frames(source: Path, chain: str) -> np.ndarray:
    done = run_process([ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(source),
                        "-filter_complex", f"[0:v:0]{chain}[v]", "-map", "[v]", "-frames:v", str(FRAMES),
                        "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"])
    assert done.returncode == 0, done.stderr.decode()
    frames = np.frombuffer(done.stdout, np.uint8).astype(np.float64)
    assert frames.size == FRAMES * FMT.width * FMT.height * 3 // 2
    return frames


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Over every sample of the 4:2:0 frames, as ffmpeg's `psnr` filter reports its `average`."""
    return float(10 * np.log10(255**2 / max(np.mean((a - b) ** 2), 1e-12)))


def _both(source: Path, palette: tuple[str, ...], workdir: Path) -> tuple[np.ndarray, np.ndarray]:
    seg = PictureSegment(source=source, frames=FRAMES, grade=palette)
    _, chroma = _clip_chain(source, seg, FMT, FRAMES, workdir)
    full = ",".join([*_grade(seg, workdir), _finish(FMT)])   # every pixel through float RGB: the old clip path
    assert "extractplanes" in chroma and "extractplanes" not in full
    return _frames(source, chroma), _frames(source, full)


@pytest.mark.parametrize("palette", [COLD, AMBER], ids=["cold", "amber"])
# measured at this size: gradients 51.5-52.5 dB, bars 38.2-38.7 (at 1280x720: 42.5-44.4; against a 4:4:4 grade of the
# same bars both paths score ~39-40 dB, the chroma one a little higher: the gap is the full path's chroma resampling)
@pytest.mark.parametrize(("clip", "floor"), [("gradient", 48.0), ("gradient-pc", 48.0), ("bars", 36.0),
                                             ("bars709", 36.0)])
def test_the_chroma_resolution_grade_is_the_full_grade(clips: dict[str, Path], tmp_path: Path,
                                                       palette: tuple[str, ...], clip: str, floor: float) -> None:
    chroma, full = _both(clips[clip], palette, tmp_path)
    ungraded = _frames(clips[clip], _finish(FMT))
    assert _psnr(chroma, full) >= floor
    # the grade did something the check can see: the two paths agree far better than either with no grade
    assert _psnr(chroma, full) > _psnr(ungraded, full) + 10


@pytest.mark.parametrize("palette", [COLD, AMBER], ids=["cold", "amber"])
def test_the_chroma_resolution_grade_keeps_the_full_grades_mean_luma(clips: dict[str, Path], tmp_path: Path,
                                                                     palette: tuple[str, ...]) -> None:
    """Rounding to nearest on the way back to 8-bit YUV: a conversion that rounds down (zimg's) left the graded
    luma 0.85 code values darker than the full grade's on this gradient."""
    chroma, full = _both(clips["gradient"], palette, tmp_path)
    size = FMT.width * FMT.height
    assert abs(chroma[:size].mean() - full[:size].mean()) < 0.25


def test_the_chroma_resolution_grade_pulls_the_mean_colour_like_the_full_grade(
        clips: dict[str, Path], tmp_path: Path) -> None:
    for palette in (COLD, AMBER):
        chroma, full = _both(clips["gradient"], palette, tmp_path)
        ungraded = _frames(clips["gradient"], _finish(FMT))
        size = FMT.width * FMT.height
        for plane in (slice(size, size * 5 // 4), slice(size * 5 // 4, size * 3 // 2)):   # U, then V of frame 0
            moved, wanted = chroma[plane].mean() - ungraded[plane].mean(), full[plane].mean() - ungraded[plane].mean()
            assert abs(wanted) > 2 and abs(moved - wanted) < 0.1 * abs(wanted)


def test_graded_clips_share_one_graph_and_odd_frames_are_refused() -> None:
    one, two = chroma_grade_graph("a.cube", 64, 36), chroma_grade_graph("a.cube", 64, 36)
    labels = {part.split("]")[0] for part in one.split("[")[1:]}
    assert labels and not labels & {part.split("]")[0] for part in two.split("[")[1:]}
    with pytest.raises(ValueError, match="even"):
        chroma_grade_graph("a.cube", 65, 36)
