"""Title cards and end credits, drawn by ffmpeg rather than generated, so their text is always right.

Text reaches drawtext through `textfile=` (a UTF-8 file in the work dir) with `expansion=none`,
so quotes, colons, backslashes, `%`, brackets and any script render literally: no user text is
ever spliced into the filtergraph.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import re
import unicodedata
from pathlib import Path
from typing import NamedTuple

from filmc.assemble.media import filter_spec
from filmc.vocabulary import CARD_TEXT_FADE_SECONDS

_FONT_PACKAGE = "font_source_sans_pro"
_REGULAR = "SourceSansPro-Regular.ttf"
_SEMIBOLD = "SourceSansPro-Semibold.ttf"
_EM_WIDTH = 0.56       # generous mean advance of a Source Sans glyph, in ems, to keep long lines on screen
_MAX_TEXT_WIDTH = 0.88
_MAX_BLOCK_HEIGHT = 0.86
_LEADING = 1.3


def font_path(name: str) -> Path:
    """A font file from the `font-source-sans-pro` wheel, so cards look the same on every machine."""
    path = Path(str(importlib.resources.files(_FONT_PACKAGE) / "files" / name))
    if not path.is_file():
        raise FileNotFoundError(f"font {name} is missing from the {_FONT_PACKAGE} package")
    return path


class _Row(NamedTuple):
    """One visual line of a card: its text, font and size before fitting."""

    text: str
    font: str
    size: float
    gap_before: float


_LINE_BREAKS = re.compile(r"\r\n|[\r\v\f\x1c-\x1e\x85\u2028\u2029]")


def _clean(line: str) -> str:
    """Every way of writing a line break as `\\n`, and other control characters (a tab, NUL, ESC) as a space,
    which drawtext would otherwise draw as boxes or, for NUL, end the text at."""
    line = _LINE_BREAKS.sub("\n", line)
    if line.isprintable():
        return line
    return "".join(" " if ch != "\n" and unicodedata.category(ch) == "Cc" else ch for ch in line)


def _rows(lines: tuple[str, ...], style: str, height: int) -> list[_Row]:
    """Title: the first line large, the rest as a subtitle; credits: one size; first lines semibold."""
    rows: list[_Row] = []
    for index, line in enumerate(lines):
        big = style == "title" and index == 0
        size = height * (0.10 if big else 0.05 if style == "title" else 0.045)
        font = _SEMIBOLD if index == 0 else _REGULAR
        gap = height * 0.03 if style == "title" and index == 1 else 0.0
        for part_index, part in enumerate(_clean(line).split("\n")):
            rows.append(_Row(part, font, size, gap if part_index == 0 else 0.0))
    return rows


def _fit(rows: list[_Row], width: int, height: int) -> float:
    """One scale for the whole card so the widest line fits the width and the block fits the height."""
    if not rows:
        return 1.0
    widths = [len(r.text) * r.size * _EM_WIDTH for r in rows if r.text]
    block = sum(r.size * _LEADING + r.gap_before for r in rows)
    scale = min(1.0, _MAX_BLOCK_HEIGHT * height / block)
    if widths:
        scale = min(scale, _MAX_TEXT_WIDTH * width / max(widths))
    return scale


def _text_file(text: str, workdir: Path) -> Path:
    """The line as a UTF-8 file named by its content; no trailing newline, which drawtext would draw."""
    path = workdir / f"card-{hashlib.sha256(text.encode()).hexdigest()[:16]}.txt"
    if not path.exists():
        tmp = path.with_name(f".{path.name}.part")
        tmp.write_text(text, "utf-8")
        tmp.replace(path)
    return path


def card_filters(
    lines: tuple[str, ...], style: str, size: tuple[int, int], seconds: float, text_color: str, workdir: Path
) -> list[str]:
    """drawtext filters, one per visual line, centred as a block, the text fading in and out gently."""
    width, height = size
    rows = _rows(lines, style, height)
    scale = _fit(rows, width, height)
    block = sum((r.size * _LEADING + r.gap_before) * scale for r in rows)
    top = (height - block) / 2
    fade = max(min(CARD_TEXT_FADE_SECONDS, seconds / 4), 1e-3)
    alpha = f"max(0,min(1,min(t/{fade:.4f},({seconds:.6f}-t)/{fade:.4f})))"
    workdir.mkdir(parents=True, exist_ok=True)
    filters: list[str] = []
    for row in rows:
        top += row.gap_before * scale
        font_size = max(1, round(row.size * scale))
        if row.text.strip():
            filters.append(filter_spec(
                "drawtext", fontfile=font_path(row.font), textfile=_text_file(row.text, workdir),
                expansion="none", fontsize=font_size, fontcolor=f"0x{text_color[1:]}",
                x="(w-text_w)/2", y=round(top + (row.size * scale * (_LEADING - 1)) / 2), alpha=alpha))
        top += row.size * scale * _LEADING
    return filters
