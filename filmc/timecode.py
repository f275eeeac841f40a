"""Durations and timecodes as people write them, as exact fractions of a second and whole frames."""

from __future__ import annotations

import math
import re
from fractions import Fraction

_SECONDS = re.compile(r"^(\d+(?:\.\d+)?)(ms|s)$")
_CLOCK = re.compile(r"^(\d+):(\d{1,2}(?:\.\d+)?)$")

# Frame rates people write as decimals but mean as NTSC fractions.
_NTSC = {"23.976": Fraction(24000, 1001), "29.97": Fraction(30000, 1001), "59.94": Fraction(60000, 1001)}


def parse_time(text: str) -> Fraction:
    """`12s`, `1.5s`, `500ms`, `0:12`, `1:05.5` -> seconds; ValueError names the accepted forms."""
    text = text.strip()
    if m := _SECONDS.match(text):
        value = Fraction(m.group(1))
        return value / 1000 if m.group(2) == "ms" else value
    if m := _CLOCK.match(text):
        seconds = Fraction(m.group(2))
        if seconds >= 60:
            raise ValueError(f"`{text}`: seconds must be below 60 in m:ss")
        return int(m.group(1)) * 60 + seconds
    raise ValueError(f"`{text}` is not a duration; write 12s, 1.5s, 500ms, 0:12 or 1:05.5")


def parse_fps(text: str) -> Fraction:
    """`24`, `25`, `23.976` (meaning 24000/1001)."""
    return _NTSC.get(text, Fraction(text))


def to_frames(seconds: Fraction, fps: Fraction) -> int:
    """Round half up, so a time written in seconds lands on the nearest frame, deterministically."""
    return math.floor(seconds * fps + Fraction(1, 2))


def format_time(seconds: Fraction | float) -> str:
    """The canonical spelling `fmt` writes: `12s`, `1.5s`, `500ms`, `1:05.5`."""
    value = Fraction(seconds)
    if value >= 60:
        minutes, rest = divmod(value, 60)
        return f"{int(minutes)}:{_decimal(rest, pad=True)}"
    if value < 1 and value != 0 and (value * 1000).denominator == 1:
        return f"{int(value * 1000)}ms"
    return f"{_decimal(value)}s"


def _decimal(value: Fraction, *, pad: bool = False) -> str:
    whole = int(value)
    frac = value - whole
    text = f"{whole:02d}" if pad else str(whole)
    if frac:
        digits = f"{float(frac):.6f}"[2:].rstrip("0")
        text += "." + digits
    return text


def format_clock(seconds: float) -> str:
    """m:ss.s for tables a person reads."""
    minutes, rest = divmod(max(seconds, 0.0), 60)
    return f"{int(minutes)}:{rest:04.1f}"
