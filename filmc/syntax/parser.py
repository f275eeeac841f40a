"""Text -> Film: the cached LALR parser and the syntax stage's entry points."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from lark import Lark
from lark.exceptions import UnexpectedInput

from filmc.diagnostics import Diagnostic, FilmError
from filmc.files import user_cache
from filmc.perf import gc_paused
from filmc.syntax import ir
from filmc.syntax.lower import lower
from filmc.syntax.messages import syntax_diagnostic


def grammar_text() -> str:
    """The grammar ships inside the wheel as filmc/_grammar; an editable install reads grammar/."""
    shipped = resources.files("filmc") / "_grammar" / "film.lark"
    if shipped.is_file():
        return shipped.read_text("utf-8")
    return (Path(__file__).resolve().parents[2] / "grammar" / "film.lark").read_text("utf-8")


def _tables_file() -> str | bool:
    """Where Lark keeps the analysed grammar between runs (Lark checks the grammar's hash, its own version and
    Python's before using it, and builds afresh from a missing, stale or torn file): analysing it was 90 ms of
    every run, loading it takes 15. Off where the user's cache folder can't be made."""
    folder = user_cache("grammar")
    return str(folder / "film.lark-tables") if folder is not None else False


@functools.cache
def parser() -> Lark:
    """Built once per process: Lark's grammar analysis costs more than parsing a film."""
    return Lark(grammar_text(), parser="lalr", propagate_positions=True, maybe_placeholders=False,
                cache=_tables_file())


def parse(text: str, path: str) -> ir.Film:
    """The syntax stage: raises FilmError with diagnostics; lowering problems are collected too."""
    film, problems = parse_collecting(text, path)
    if any(d.severity == "error" for d in problems):
        raise FilmError(problems)
    return film


def parse_collecting(text: str, path: str) -> tuple[ir.Film, tuple[Diagnostic, ...]]:
    """Raises only for a syntax error; lowering problems (a bad timecode, an unknown [direction]) come back
    beside a usable film, so the checker can report its own problems in the same run."""
    with gc_paused():
        try:
            tree = parser().parse(text)
        except UnexpectedInput as err:
            raise FilmError([syntax_diagnostic(err, text, path, parser().terminals)]) from None
        return lower(tree, path)
