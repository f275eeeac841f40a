"""The front end every command shares: read one .film file, parse it, check it."""

from __future__ import annotations

from pathlib import Path

from filmc import codes
from filmc.check.resolved import CheckedFilm
from filmc.check.rules import check
from filmc.diagnostics import Diagnostic, FilmError
from filmc.model import Span


def load(path: Path, *, display: str | None = None) -> tuple[CheckedFilm, tuple[Diagnostic, ...], str]:
    """Read, parse and check one file: the checked film, its warnings, and the text they point into."""
    from filmc.syntax import parse_collecting

    shown = display or str(path)
    text = read_source(path, shown)
    film, lowering = parse_collecting(text, shown)
    checked, warnings = check(film, path.resolve().parent, lowering)
    return checked, warnings, text


def read_source(path: Path, shown: str) -> str:
    """A .film file's text; unreadable or not UTF-8 is diagnostic F0010, never a traceback."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise FilmError([_file_diagnostic(shown, f"cannot read {shown}: {err.strerror}")]) from None
    try:
        return raw.decode("utf-8-sig")  # an editor's byte-order mark is not part of the film
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise FilmError([_file_diagnostic(shown, "the file is not UTF-8 text", line)]) from None


def _file_diagnostic(path: str, message: str, line: int = 1) -> Diagnostic:
    return Diagnostic(severity="error", code=codes.UNREADABLE_FILE.code, message=message,
                      span=Span(path=path, line=line, column=1, end_line=line, end_column=2),
                      hint="save the film as UTF-8 text" if "UTF-8" in message else "check the path")
