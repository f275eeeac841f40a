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
size most graders ship, applied by ffmpeg's `lut3d` with tetrahedral interpolation.
"""

from __future__ import annotations

import hashlib
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


TINT_STRENGTH = 0.35


def tint_filter(palette: Sequence[str], strength: float = TINT_STRENGTH) -> str:
    """A cheap grade: a chroma cast towards the palette, applied on the YUV planes with `lutyuv`.

    The 3D LUT costs about 10 ms a 720p frame (as much as encoding it); this costs about 0.3 ms.
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
