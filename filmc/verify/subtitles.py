"""The SRT a render wrote, read back as a viewer's player reads it: numbered cues, `-->` times, text."""

from __future__ import annotations

import re
from pathlib import Path

from filmc.model import Model

_TIMES = re.compile(r"(\d+):(\d{2}):(\d{2})[,.](\d{3})\s*-->\s*(\d+):(\d{2}):(\d{2})[,.](\d{3})")


class Cue(Model):
    start: float
    end: float
    text: str


def _seconds(h: str, m: str, s: str, ms: str) -> float:
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def parse_srt(text: str) -> list[Cue]:
    """Cues in file order; a block without a times line is not a cue, as players skip it."""
    cues = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()):
        lines = block.split("\n")
        at = next((i for i, ln in enumerate(lines) if _TIMES.search(ln)), None)
        if at is None:
            continue
        m = _TIMES.search(lines[at])
        assert m is not None
        cues.append(Cue(start=_seconds(*m.groups()[:4]), end=_seconds(*m.groups()[4:]),
                        text="\n".join(lines[at + 1:]).strip()))
    return cues


def read_srt(path: str) -> list[Cue]:
    """The cues of the written file; a missing file has none, so every line reads as unsubtitled."""
    try:
        return parse_srt(Path(path).read_text("utf-8"))
    except FileNotFoundError:
        return []
