"""A translation's override file, `<film>.<lang>.lines` beside the film: the director's own words for some lines.

One line per narration line, `s01-l01: Year 2847. [pause 0.6s] Humanity is *extinct*.`; blank lines and
`#` comments are free. The text is read by the film's own narration rules, so its markup is checked (and
located) exactly as in the film. An override wins over any translator, and is in the voice job's key like
any other text, so editing one line re-voices that line alone.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from pathlib import Path

from filmc import codes
from filmc.check.loader import read_source
from filmc.diagnostics import Diagnostic, Diagnostics, FilmError, Related
from filmc.model import Span
from filmc.syntax import ir

SUFFIX = ".lines"
_ENTRY = re.compile(r"^(\s*)([^:\s][^:]*?)\s*:[ \t]*(.*?)\s*$")
_ID = re.compile(r"^[A-Za-z0-9_-]+$")


def overrides_path(film: Path, language: str) -> Path:
    """`films/entropy.film` in `en` -> `films/entropy.en.lines`."""
    return film.with_name(f"{film.stem}.{language}{SUFFIX}")


def read_overrides(path: Path, shown: str, line_ids: Sequence[str]) -> dict[str, str]:
    """Line id -> text as written (markup kept); every problem in the file is a located diagnostic, all of
    them reported at once (FilmError)."""
    from filmc.syntax.lower import narration_parts  # Lark, only when there is a file to read

    text = read_source(path, shown)
    diags = Diagnostics()
    known = set(line_ids)
    seen: dict[str, Span] = {}
    out: dict[str, str] = {}
    for number, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        m = _ENTRY.match(raw)
        if m is None or not _ID.match(m.group(2)):
            diags.error(codes.BAD_LINES_ENTRY, "this is not `id: text`", _span(shown, number, 0, len(raw)),
                        hint="write the line's id, a colon, then its text: s01-l01: Year 2847.")
            continue
        line_id, said = m.group(2), m.group(3)
        id_span = _span(shown, number, m.start(2), m.end(2))
        if not said:
            diags.error(codes.BAD_LINES_ENTRY, f"line `{line_id}` has no text", id_span,
                        hint="write its text after the colon, or delete the line to keep the translation")
            continue
        if line_id not in known:
            near = difflib.get_close_matches(line_id, sorted(known), n=1)
            diags.error(codes.UNKNOWN_LINE_ID, f"the film has no narration line `{line_id}`", id_span,
                        hint=f"did you mean `{near[0]}`?" if near else
                        "`filmc compile FILE --lang LANG` lists every line's id")
            continue
        if line_id in seen:
            diags.error(codes.DUPLICATE_LINE_ID, f"line `{line_id}` is given twice", id_span,
                        related=[Related(span=seen[line_id], message="first given here")],
                        hint="keep one; the second would silently win")
            continue
        seen[line_id] = id_span
        # the column just before the text, as narration_parts counts (the film's quote sits there)
        start = m.start(3)
        _, problems = narration_parts(ir.Text(value=said, span=_span(shown, number, start - 1, len(raw))))
        diags.extend(problems)
        out[line_id] = said
    diags.raise_if_errors()
    return out


def _span(path: str, line: int, start: int, end: int) -> Span:
    """0-based [start, end) of a line as a 1-based span; an empty range still shows one caret."""
    return Span(path=path, line=line, column=start + 1, end_line=line, end_column=max(end, start + 1) + 1)


def override_problems(film: Path, shown: str, line_ids: Sequence[str], languages: Sequence[str]) -> list[Diagnostic]:
    """`filmc check`: every problem in the override files of the languages the film's `translate` lists."""
    found: list[Diagnostic] = []
    for language in languages:
        path = overrides_path(film, language)
        if path.is_file():
            try:
                read_overrides(path, str(overrides_path(Path(shown), language)), line_ids)
            except FilmError as err:
                found.extend(err.diagnostics)
    return found
