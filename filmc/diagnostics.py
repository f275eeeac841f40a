"""Diagnostics are data: collected by every stage, rendered by pure functions, never raised one by one."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Sequence

from filmc.codes import Code, Severity
from filmc.errors import FilmcError
from filmc.model import Model, Span

__all__ = ["Diagnostic", "Diagnostics", "FilmError", "Related", "Severity", "render_all", "render_text", "to_json"]


class Related(Model):
    """A second place that explains the first, e.g. where a name was first declared."""

    span: Span
    message: str


class Diagnostic(Model):
    """One problem a filmmaker can fix, with a stable code documented in docs/diagnostics.md."""

    severity: Severity
    code: str  # a plain "F0202" in JSON and text; filmc.codes holds its meaning
    message: str
    span: Span
    related: tuple[Related, ...] = ()
    hint: str | None = None


class FilmError(FilmcError):
    """A user's mistake in a file, with every diagnostic found: one run shows them all."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        first = self.diagnostics[0].message if self.diagnostics else "invalid input"
        super().__init__(f"{len(self.diagnostics)} problem(s); first: {first}")


class Diagnostics:
    """A stage's collector: report and keep going, fail once at the end with everything found."""

    def __init__(self) -> None:
        self.items: list[Diagnostic] = []

    def error(self, code: Code, message: str, span: Span, *, hint: str | None = None,
              related: Iterable[Related] = ()) -> None:
        """Takes a registry entry, not a string, so every code reported is one filmc.codes documents."""
        self.items.append(Diagnostic(severity="error", code=code.code, message=message, span=span,
                                     hint=hint, related=tuple(related)))

    def warning(self, code: Code, message: str, span: Span, *, hint: str | None = None,
                related: Iterable[Related] = ()) -> None:
        self.items.append(Diagnostic(severity="warning", code=code.code, message=message, span=span,
                                     hint=hint, related=tuple(related)))

    def extend(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.items.extend(diagnostics)

    @property
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.items)

    def sorted(self) -> tuple[Diagnostic, ...]:
        """Source order, so a user reads them top to bottom like the file."""
        return tuple(sorted(self.items, key=lambda d: (d.span.path, d.span.line, d.span.column, d.code)))

    def raise_if_errors(self) -> None:
        if self.has_errors:
            raise FilmError(self.sorted())


def _source_line(source: str, line: int) -> str:
    """Line `line` as the parser counts lines (at \n only: str.splitlines would also break at U+2028 or a form
    feed and show the wrong line), each character the terminal wouldn't print as one cell, a control or bidi
    character, shown as U+FFFD, so the snippet can't reorder or restyle the report and the caret still lines up."""
    lines = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    return text if text.isprintable() else "".join(ch if ch.isprintable() or ch == "\t" else "\ufffd" for ch in text)


def _cells(text: str) -> int:
    """Terminal columns `text` takes: a wide (CJK) or fullwidth character two, a combining mark none."""
    if text.isascii():
        return len(text)
    return sum(0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
               for ch in text)


def _snippet(span: Span, source: str, gutter: int, label: str = "") -> list[str]:
    """The source line and a caret under the span; spans count characters, the caret counts terminal cells."""
    pad = " " * gutter
    text = _source_line(source, span.line).expandtabs(1)
    end = span.end_column if span.end_line == span.line else len(text) + 1
    end = min(end, len(text) + 1)
    width = max(1, _cells(text[span.column - 1:end - 1]))
    before = _cells(text[:span.column - 1]) + max(0, span.column - 1 - len(text))
    caret = f"{pad} | {' ' * before}{'^' * width}"
    return [f"{pad} |", f"{span.line:>{gutter}} | {text}".rstrip(), caret + (f" {label}" if label else "")]


def render_text(d: Diagnostic, source: str) -> str:
    """rustc-shaped plain text; the CLI adds colour, tests compare this exact string."""
    lines_seen = [d.span.line] + [r.span.line for r in d.related]
    gutter = len(str(max(lines_seen)))
    pad = " " * gutter
    out = [f"{d.severity}[{d.code}]: {d.message}", f"{pad}--> {d.span.path}:{d.span.line}:{d.span.column}"]
    out += _snippet(d.span, source, gutter)
    for rel in d.related:
        if rel.span.path == d.span.path:
            out += _snippet(rel.span, source, gutter, rel.message)
        else:
            out.append(f"{pad} = note: {rel.message} at {rel.span.path}:{rel.span.line}:{rel.span.column}")
    if d.hint:
        out.append(f"{pad} = help: {d.hint}")
    return "\n".join(out)


def render_all(diagnostics: Sequence[Diagnostic], sources: dict[str, str]) -> str:
    """All reports, blank-line separated, then a one-line summary like a compiler's."""
    blocks = [render_text(d, sources.get(d.span.path, "")) for d in diagnostics]
    errors = sum(d.severity == "error" for d in diagnostics)
    warnings = len(diagnostics) - errors
    summary = f"{errors} error(s), {warnings} warning(s)"
    return "\n\n".join([*blocks, summary]) if blocks else summary


def to_json(diagnostics: Sequence[Diagnostic]) -> str:
    """Editors and CI read the same 1-based numbers the text shows."""
    return json.dumps([d.model_dump(mode="json") for d in diagnostics], ensure_ascii=False, indent=2)
