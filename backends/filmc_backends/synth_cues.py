"""The temp score's cues as the synthesiser reads them: which palette a cue's words ask for, and its levels over time.

Levels glide between cues as smoothed steps evaluated from absolute time, so any block sees the same bits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt

from filmc.model import Model

F64 = npt.NDArray[np.float64]

GLIDE = 1.5  # seconds, centred on each section boundary, over which presence, intensity and weight glide


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Keywords that pull a cue towards one palette; a trailing plural "s" is ignored when matching.
_ORCHESTRAL_WORDS = _words(
    "string orchestra orchestral orchestrated orchestration symphony symphonic philharmonic piano choir "
    "choral chorus cello celli violin viola contrabass brass horn trumpet trombone tuba timpani woodwind "
    "flute oboe clarinet bassoon harp acoustic bowed pizzicato legato ensemble chamber"
)
_ELECTRONIC_WORDS = _words(
    "synth synthesizer synthesiser synthetic synthwave electronic electronica electro pulse pulsing glitch "
    "glitches glitchy drone droning analog analogue digital sequencer sequenced arpeggiator arp modular sub "
    "pad techno industrial bitcrushed vocoder 808 edm dubstep chiptune lofi"
)


class ScoreSection(Model):
    """One time-anchored music cue as the synthesiser sees it: a span, words, and how hard it plays."""

    start: float
    end: float
    description: str
    instruments: str = ""
    intensity: float


def orchestral_weight(description: str, instruments: str) -> float:
    """Where a cue sits between electronic (0) and orchestral (1) palettes, by its words; neutral is 0.5."""
    words = re.findall(r"[a-z0-9]+", f"{description} {instruments}".lower())
    orchestral = sum(w in _ORCHESTRAL_WORDS or w.removesuffix("s") in _ORCHESTRAL_WORDS for w in words)
    electronic = sum(w in _ELECTRONIC_WORDS or w.removesuffix("s") in _ELECTRONIC_WORDS for w in words)
    return 0.5 if orchestral + electronic == 0 else orchestral / (orchestral + electronic)


@dataclass(frozen=True, eq=False)
class Timeline:
    """Presence, intensity and weight as smoothed steps: value(t) = first + sum(jump * glide(t - edge))."""

    edges: tuple[float, ...]
    jumps: tuple[tuple[float, float, float], ...]
    first: tuple[float, float, float]


Level = tuple[float, float, float]  # presence, intensity, orchestral weight


def level(s: ScoreSection) -> Level:
    """Intensity is clamped rather than refused: a temp score should play whatever the cue says."""
    return 1.0, min(max(s.intensity, 0.0), 1.0), orchestral_weight(s.description, s.instruments)


def timeline(sections: Sequence[ScoreSection]) -> Timeline:
    """Gaps between sections are silent but keep the last intensity and weight, so timbre never jumps."""
    spans = sorted((s for s in sections if s.end > s.start), key=lambda s: s.start)
    if not spans:
        return Timeline(edges=(), jumps=(), first=(0.0, 0.0, 0.5))
    edges = sorted({e for s in spans for e in (s.start, s.end)})
    first: Level = (0.0, *level(spans[0])[1:])
    levels, prev = [first], first
    for a, b in zip(edges, [*edges[1:], edges[-1] + 1.0], strict=True):
        active = [s for s in spans if s.start <= (a + b) / 2 < s.end]
        prev = level(active[-1]) if active else (0.0, prev[1], prev[2])  # the latest-starting cue wins
        levels.append(prev)
    jumps = tuple((q[0] - p[0], q[1] - p[1], q[2] - p[2]) for p, q in pairwise(levels))
    return Timeline(edges=tuple(edges), jumps=jumps, first=first)


def smooth(x: Any) -> Any:
    """C1 smoothstep on [0, 1], clipped: the shape of every glide, fade and crossfade."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def params(tl: Timeline, t: F64) -> tuple[F64, F64, F64]:
    """Same bits for a time in any block: a glide is skipped or added whole only where exactly 0 or 1."""
    acc: list[Any] = list(tl.first)
    lo, hi, margin = float(t[0]), float(t[-1]), GLIDE / 2 + 1e-6
    for edge, jump in zip(tl.edges, tl.jumps, strict=True):
        if edge - margin > hi:
            break
        if edge + margin < lo:
            acc = [a + j for a, j in zip(acc, jump, strict=True)]
        else:
            g = smooth((t - edge) / GLIDE + 0.5)
            acc = [a + j * g for a, j in zip(acc, jump, strict=True)]
    p, i, w = (np.broadcast_to(np.asarray(a, dtype=np.float64), t.shape) for a in acc)
    return p, i, w


def steady(tl: Timeline, lo: float, hi: float) -> Level | None:
    """The levels over [lo, hi] when no glide reaches into it, else None.

    Exactly the floats `params` would broadcast over such a span (the same sums in the same order), so a
    caller may do its arithmetic once on numbers instead of once per sample and get the same bits.
    """
    acc, margin = tl.first, GLIDE / 2 + 1e-6
    for edge, jump in zip(tl.edges, tl.jumps, strict=True):
        if edge - margin > hi:
            break
        if edge + margin >= lo:
            return None
        acc = (acc[0] + jump[0], acc[1] + jump[1], acc[2] + jump[2])
    return acc


