"""Colours: hex parsing and OKLab interpolation, because RGB midpoints of blue and amber go grey-muddy."""

from __future__ import annotations

import functools
import itertools
import re

_HEX = re.compile(r"^#[0-9A-Fa-f]{6}$")

RGB = tuple[float, float, float]


def is_hex(text: str) -> bool:
    return bool(_HEX.match(text))


def hex_to_rgb(text: str) -> RGB:
    """`#3A7BD5` -> sRGB floats in 0..1."""
    return (int(text[1:3], 16) / 255, int(text[3:5], 16) / 255, int(text[5:7], 16) / 255)


def rgb_to_hex(rgb: RGB) -> str:
    return "#" + "".join(f"{round(min(max(c, 0.0), 1.0) * 255):02X}" for c in rgb)


def _to_linear(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def _to_srgb(c: float) -> float:
    return 12.92 * c if c <= 0.0031308 else 1.055 * c ** (1 / 2.4) - 0.055


def srgb_to_oklab(rgb: RGB) -> RGB:
    """Björn Ottosson's OKLab (2020), from his reference implementation's matrices."""
    r, g, b = (_to_linear(c) for c in rgb)
    l_ = 0.4122214708 * r + 0.5363325363 * g + 0.0514459929 * b
    m_ = 0.2119034982 * r + 0.6806995451 * g + 0.1073969566 * b
    s_ = 0.0883024619 * r + 0.2817188376 * g + 0.6299787005 * b
    l_, m_, s_ = (x ** (1 / 3) if x >= 0 else -((-x) ** (1 / 3)) for x in (l_, m_, s_))
    return (
        0.2104542553 * l_ + 0.7936177850 * m_ - 0.0040720468 * s_,
        1.9779984951 * l_ - 2.4285922050 * m_ + 0.4505937099 * s_,
        0.0259040371 * l_ + 0.7827717662 * m_ - 0.8086757660 * s_,
    )


def oklab_to_srgb(lab: RGB) -> RGB:
    L, a, b = lab
    l_ = (L + 0.3963377774 * a + 0.2158037573 * b) ** 3
    m_ = (L - 0.1055613458 * a - 0.0638541728 * b) ** 3
    s_ = (L - 0.0894841775 * a - 1.2914855480 * b) ** 3
    r = 4.0767416621 * l_ - 3.3077115913 * m_ + 0.2309699292 * s_
    g = -1.2684380046 * l_ + 2.6097574011 * m_ - 0.3413193965 * s_
    bl = -0.0041960863 * l_ - 0.7034186147 * m_ + 1.7076147010 * s_
    return (_to_srgb(r), _to_srgb(g), _to_srgb(bl))


@functools.lru_cache(maxsize=1024)
def hex_to_oklab(text: str) -> RGB:
    """Palettes repeat a handful of colours across thousands of shots: convert each once."""
    return srgb_to_oklab(hex_to_rgb(text))


def mix_oklab(a: str, b: str, t: float) -> str:
    """The colour a fraction `t` of the way from `a` to `b`, walked in OKLab."""
    la, lb = hex_to_oklab(a), hex_to_oklab(b)
    lab = (la[0] + (lb[0] - la[0]) * t, la[1] + (lb[1] - la[1]) * t, la[2] + (lb[2] - la[2]) * t)
    return rgb_to_hex(oklab_to_srgb(lab))


def interpolate_palette(stops: list[tuple[float, tuple[str, ...]]], at: float) -> tuple[str, ...]:
    """Colours at time `at` between sorted stops; a stop with fewer colours repeats its last one."""
    if not stops:
        return ()
    if at <= stops[0][0]:
        return stops[0][1]
    for (t0, c0), (t1, c1) in itertools.pairwise(stops):
        if t0 <= at <= t1:
            t = 0.0 if t1 == t0 else (at - t0) / (t1 - t0)
            n = max(len(c0), len(c1))
            return tuple(mix_oklab(c0[min(i, len(c0) - 1)], c1[min(i, len(c1) - 1)], t) for i in range(n))
    return stops[-1][1]


def describe(hex_color: str) -> str:
    """A colour in words for prompts: lightness and hue family, from OKLab."""
    import math

    L, a, b = srgb_to_oklab(hex_to_rgb(hex_color))
    chroma = math.hypot(a, b)
    tone = "very dark" if L < 0.3 else "dark" if L < 0.5 else "light" if L > 0.8 else "mid"
    if chroma < 0.03:
        return f"{tone} neutral grey"
    hue = math.degrees(math.atan2(b, a)) % 360
    families = [(20, "pink-red"), (45, "red"), (70, "orange"), (100, "amber"), (115, "yellow"), (160, "green"),
                (200, "teal"), (245, "cyan-blue"), (290, "blue"), (330, "violet"), (360, "magenta")]
    name = next(n for limit, n in families if hue < limit)
    return f"{tone} {name}"
