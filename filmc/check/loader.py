"""The front end every command shares: read one .film file, parse it, check it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from filmc import codes
from filmc.check.resolved import CheckedFilm
from filmc.check.rules import check
from filmc.diagnostics import Diagnostic, FilmError
from filmc.model import Span


def load(path: Path, *, display: str | None = None, allow: Iterable[Path | str] = (),
         voiced: Mapping[str, float] | None = None) -> tuple[CheckedFilm, tuple[Diagnostic, ...], str]:
    """Read, parse and check one file: the checked film, its warnings, and the text they point into.
    `allow`: folders outside the film's own its files may come from, besides FILMC_ALLOW_PATHS's; `voiced`:
    measured line lengths for `fit narration` (filmc.check.rules.check)."""
    from filmc.syntax import parse_collecting

    shown = display or str(path)
    text = read_source(path, shown)
    film, lowering = parse_collecting(text, shown)
    checked, warnings = check(film, path.resolve().parent, lowering, allow=allow, voiced=voiced)
    return checked, warnings, text


def read_source(path: Path, shown: str) -> str:
    """A .film file's text; unreadable or not UTF-8 is diagnostic F0010, never a traceback."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise FilmError([_file_diagnostic(shown, f"cannot read {shown}: {err.strerror}")]) from None
    return decode_source(raw, shown)


def decode_source(raw: bytes, shown: str) -> str:
    """UTF-8 bytes as the parser reads them: an editor's byte-order mark dropped, and CRLF or a lone CR made a
    plain newline, so a line is what an editor (and the CLI, re-reading the file to show a diagnostic) calls one."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        # err.object, not raw: utf-8-sig reports positions in the bytes after the byte-order mark
        before = _newlines(err.object[: err.start].decode("utf-8", errors="replace"))
        line, column = before.count("\n") + 1, len(before) - before.rfind("\n")
        raise FilmError([_file_diagnostic(shown, "the file is not UTF-8 text", line, column)]) from None
    return _newlines(text)


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _file_diagnostic(path: str, message: str, line: int = 1, column: int = 1) -> Diagnostic:
    return Diagnostic(severity="error", code=codes.UNREADABLE_FILE.code, message=message,
                      span=Span(path=path, line=line, column=column, end_line=line, end_column=column + 1),
                      hint="save the film as UTF-8 text" if "UTF-8" in message else "check the path")
