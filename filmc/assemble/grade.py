"""The palette grade: a small 3D LUT that pulls a picture's colour towards the scene's palette.

What it does, per input colour, in OKLab (the space the palette is interpolated in):

* lightness `L` is kept exactly, so the grade never crushes or lifts the exposure the clip was made with;
* the palette colours are sorted by their own lightness and act as split-tone anchors: a tone at
  the lightness of the darkest palette colour is pulled towards that colour's chroma (hue and
  saturation), a tone at the lightness of the brightest towards its chroma, tones between towards
  the OKLab interpolation of the two, tones outside towards the nearest anchor;
* the pull is a blend `ab' = ab + w(L) * (ab_palette(L) - ab)` with `w(L) = strength * min(1, 4 L (1 - L))`,
  so mid-tones move most while pure black and pure white stay neutral;
* the result is brought back into the sRGB gamut by lowering its chroma (never its lightness).

So a neutral grey turns the palette's colour at that lightness, a saturated object keeps part of
its own colour, and the picture as a whole reads in the palette. The LUT is 17 points a side, the
size most graders ship, applied by ffmpeg's `lut3d` with tetrahedral interpolation: to a clip once per
2x2 block of its 4:2:0 frame (`chroma_grade_graph`), where its colour lives, to a drawn still per pixel.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from filmc.color import hex_to_rgb, is_hex, oklab_to_srgb, rgb_to_hex, srgb_to_oklab

LUT_SIZE = 17
DEFAULT_STRENGTH = 0.3

Array = npt.NDArray[np.float64]

# Björn Ottosson's OKLab matrices, the same ones filmc.color uses, here vectorised over the LUT.
_M1 = np.array([[0.4122214708, 0.5363325363, 0.0514459929],
                [0.2119034982, 0.6806995451, 0.1073969566],
                [0.0883024619, 0.2817188376, 0.6299787005]])
_M2 = np.array([[0.2104542553, 0.7936177850, -0.0040720468],
                [1.9779984951, -2.4285922050, 0.4505937099],
                [0.0259040371, 0.7827717662, -0.8086757660]])
_M2_INV = np.linalg.inv(_M2)
_M1_INV = np.linalg.inv(_M1)


def _to_linear(c: Array) -> Array:
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _to_srgb(c: Array) -> Array:
    c = np.clip(c, 0.0, None)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055)


def _rgb_to_lab(rgb: Array) -> Array:
    lab: Array = np.cbrt(_to_linear(rgb) @ _M1.T) @ _M2.T
    return lab


def _lab_to_linear(lab: Array) -> Array:
    return ((lab @ _M2_INV.T) ** 3) @ _M1_INV.T


def _fit_gamut(lab: Array) -> Array:
    """Lower chroma, keeping L and hue, until every colour is inside sRGB (bisection on a scale factor)."""
    low = np.zeros(lab.shape[0])
    high = np.ones(lab.shape[0])
    inside = np.all(np.abs(_lab_to_linear(lab) - 0.5) <= 0.5 + 1e-9, axis=1)
    low[inside] = 1.0
    for _ in range(24):
        mid = (low + high) / 2
        trial = np.column_stack([lab[:, 0], lab[:, 1] * mid, lab[:, 2] * mid])
        ok = np.all(np.abs(_lab_to_linear(trial) - 0.5) <= 0.5 + 1e-9, axis=1)
        low = np.where(ok, mid, low)
        high = np.where(ok, high, mid)
    return np.column_stack([lab[:, 0], lab[:, 1] * low, lab[:, 2] * low])


def grade_colors(rgb: Array, palette: Sequence[str], strength: float = DEFAULT_STRENGTH) -> Array:
    """The grade as a pure function of sRGB colours (N x 3, 0..1), so it can be tested without ffmpeg."""
    anchors = sorted(srgb_to_oklab(hex_to_rgb(c)) for c in palette)
    lab = _rgb_to_lab(rgb)
    lightness = lab[:, 0]
    xs = [a[0] for a in anchors]
    target_a = np.interp(lightness, xs, [a[1] for a in anchors])
    target_b = np.interp(lightness, xs, [a[2] for a in anchors])
    weight = strength * np.clip(4 * lightness * (1 - lightness), 0.0, 1.0)
    graded = np.column_stack([lightness,
                              lab[:, 1] + weight * (target_a - lab[:, 1]),
                              lab[:, 2] + weight * (target_b - lab[:, 2])])
    return np.clip(_to_srgb(_lab_to_linear(_fit_gamut(graded))), 0.0, 1.0)


def cube_text(palette: Sequence[str], strength: float = DEFAULT_STRENGTH, size: int = LUT_SIZE) -> str:
    """An Adobe/Resolve `.cube` file: red varies fastest, values in 0..1, so any grading tool reads it."""
    axis = np.linspace(0.0, 1.0, size)
    blue, green, red = np.meshgrid(axis, axis, axis, indexing="ij")
    rgb = np.column_stack([red.ravel(), green.ravel(), blue.ravel()])
    out = grade_colors(rgb, palette, strength)
    head = [f'TITLE "filmc grade {" ".join(palette)}"', f"LUT_3D_SIZE {size}",
            "DOMAIN_MIN 0.0 0.0 0.0", "DOMAIN_MAX 1.0 1.0 1.0"]
    return "\n".join(head + [f"{r:.6f} {g:.6f} {b:.6f}" for r, g, b in out]) + "\n"


def write_lut(palette: Sequence[str], workdir: Path, strength: float = DEFAULT_STRENGTH) -> Path:
    """The LUT file for a palette, named by its content so segments with the same palette share it."""
    bad = [c for c in palette if not is_hex(c)]
    if not palette or bad:
        raise ValueError(f"a grade needs #RRGGBB colours, got {list(palette)!r}")
    text = cube_text(palette, strength)
    name = hashlib.sha256(text.encode()).hexdigest()[:16]
    path = workdir / f"grade-{name}.cube"
    if not path.exists():
        workdir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.part")
        tmp.write_text(text, "utf-8")
        tmp.replace(path)
    return path


# Labels of the filters inside one chroma-resolution grade: every graph that grades gets its own, so any number of
# graded segments can share one filtergraph (`render_picture`). Only their names change, never the picture.
_GRAPH_IDS = itertools.count()


def chroma_grade_graph(lut: str, width: int, height: int) -> str:
    """The LUT grade at the chroma planes' resolution: a filtergraph fragment, yuv420p TV range in and out.

    Applying the 17^3 LUT to every pixel means converting each 4:2:0 frame to float RGB and back: at 720p
    that cost ~6.5 ms a frame (conversions ~3 ms, `lut3d` ~3.5 ms), close to decoding and encoding it.
    Colour in 4:2:0 exists once per 2x2 block, so the grade runs there: the luma is averaged over each
    block (`scale` with `area`), joined with U and V into a quarter-size 4:4:4 frame, graded through float
    RGB as before (`lut3d`'s SIMD path; the input's colour matrix is read from the frame, as the full path
    does) and brought back to BT.709 YUV. U and V are the graded planes; the luma keeps its full-size
    detail and takes its block's graded change (`grainextract`, upscaled, `grainmerge`). About 2.5-3 ms a
    720p frame. Where a block has one colour the result is the full path's to within rounding (smooth
    gradients: 52 dB PSNR between the two); at hard saturated edges (testsrc2's bars: 42-44 dB at 720p) it
    differs as the full path's own chroma resampling does: against a 4:4:4 grade of the same bars both
    paths score 39-40 dB, this one slightly higher.

    `lut` is the `.cube` path already escaped for a filter option; the fragment continues the stream it is
    appended to and ends on one unlabelled yuv420p stream (its tags are the caller's to set: BT.709, TV).
    """
    if width % 2 or height % 2:
        raise ValueError(f"a 4:2:0 grade needs an even frame size, got {width}x{height}")
    n = next(_GRAPH_IDS)
    y, u, v, y1, y2, s1, s2, gy, gu, gv, ty, ts, tg, d, out = (f"[g{n}{name}]" for name in (
        "y", "u", "v", "y1", "y2", "s1", "s2", "gy", "gu", "gv", "ty", "ts", "tg", "d", "out"))
    half = f"{width // 2}:{height // 2}"
    # `blend` and `mergeplanes` want one colour space on all their inputs: without these tags (the planes here are
    # grey, their tags say nothing) ffmpeg would convert the whole input frame to BT.709 up front, the full-size
    # pass this graph exists to avoid
    tag = "setparams=colorspace=bt709:range=tv"
    # float RGB back to 8-bit YUV by swscale, which rounds to nearest: zimg's `zscale` was a third faster here but
    # rounds down (flat 0x808080 came back Y 125, not 126: the graded luma 0.85 code values dark on a gradient),
    # and not every ffmpeg build has it, so the picture's bytes would have depended on the build
    back = f"scale={half}:out_color_matrix=bt709:out_range=tv"
    return ";".join([
        f"format=yuv420p,extractplanes=y+u+v{y}{u}{v}",
        f"{y}split{y1}{y2}",
        f"{y1}{tag}{ty}",
        f"{y2}scale={half}:flags=area,split{s1}{s2}",
        f"{s2}{tag}{ts}",
        # the block averages and the chroma as one quarter-size 4:4:4 picture (the input's colour tags ride along)
        f"{s1}{u}{v}mergeplanes=format=yuv444p:map1s=1:map2s=2,format=gbrpf32,"
        f"lut3d=file={lut}:interp=tetrahedral,{back},format=yuv444p,"
        f"extractplanes=y+u+v{gy}{gu}{gv}",
        # graded block luma minus the input's, about mid-grey, upscaled and added to the full-size luma
        f"{gy}{tag}{tg}",
        f"{tg}{ts}blend=all_mode=grainextract,scale={width}:{height}:flags=bilinear{d}",
        f"{ty}{d}blend=all_mode=grainmerge{out}",
        f"{out}{gu}{gv}mergeplanes=format=yuv420p:map1s=1:map2s=2",
    ])


TINT_STRENGTH = 0.35


def tint_filter(palette: Sequence[str], strength: float = TINT_STRENGTH) -> str:
    """A cheap grade: a chroma cast towards the palette, applied on the YUV planes with `lutyuv`.

    The 3D LUT costs about 2.5 ms a 720p frame at chroma resolution (7 ms per pixel); this costs about 0.3 ms.
    It keeps luma exactly and adds the palette's average hue (at mid lightness) to every pixel, so
    it reads as a colour balance rather than a split-tone. The `preview` profile uses it.
    """
    bad = [c for c in palette if not is_hex(c)]
    if not palette or bad:
        raise ValueError(f"a grade needs #RRGGBB colours, got {list(palette)!r}")
    labs = [srgb_to_oklab(hex_to_rgb(c)) for c in palette]
    a = sum(lab[1] for lab in labs) / len(labs)
    b = sum(lab[2] for lab in labs) / len(labs)
    r, g, bl = (min(max(c, 0.0), 1.0) for c in oklab_to_srgb((0.6, a, b)))
    y = 0.2126 * r + 0.7152 * g + 0.0722 * bl
    cb, cr = (bl - y) / (2 * (1 - 0.0722)), (r - y) / (2 * (1 - 0.2126))
    du, dv = strength * 224 * cb, strength * 224 * cr
    return f"lutyuv=u=clip(val{du:+.2f}\\,16\\,240):v=clip(val{dv:+.2f}\\,16\\,240)"


def card_colors(palette: Sequence[str]) -> tuple[str, str]:
    """A card's background (the darkest palette colour, darker) and text (near white, in the light hue)."""
    if not palette:
        return "#000000", "#F2F2F2"
    dark = min((srgb_to_oklab(hex_to_rgb(c)) for c in palette), key=lambda lab: lab[0])
    light = max((srgb_to_oklab(hex_to_rgb(c)) for c in palette), key=lambda lab: lab[0])
    shrink = min(1.0, 0.16 / dark[0]) if dark[0] > 0 else 1.0
    background = (dark[0] * shrink, dark[1] * shrink, dark[2] * shrink)
    text = (0.95, light[1] * 0.15, light[2] * 0.15)
    return rgb_to_hex(oklab_to_srgb(background)), rgb_to_hex(oklab_to_srgb(text))
