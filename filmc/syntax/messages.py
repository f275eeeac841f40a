"""Lark's syntax errors in a filmmaker's words: one diagnostic naming what was expected, never a token dump."""

from __future__ import annotations

from collections.abc import Iterable

from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.lexer import TerminalDef

from filmc import codes
from filmc.diagnostics import Diagnostic, Diagnostics
from filmc.model import Span
from filmc.syntax.quoting import quoted

_WORDS = {
    "TIME": "a duration like 12s or 0:12",
    "STRING": 'a "quoted text"',
    "BLOCK": 'a """text block"""',
    "NAME": "a name",
    "NUMBER": "a number",
    "COLOR": "a colour like #3A7BD5",
    "SIZE": "a frame size like 1280x720",
    "$END": "the end of the file",
}

_MISPLACED = {
    "camera": "camera, light, mood, with, transition and clip go inside a shot's { } block",
    "light": "camera, light, mood, with, transition and clip go inside a shot's { } block",
    "transition": "transitions belong to a shot: shot 6s \"…\" { transition crossfade 1s }",
}


def syntax_diagnostic(err: UnexpectedInput, text: str, path: str, terminals: Iterable[TerminalDef]) -> Diagnostic:
    """The one diagnostic for a parse failure; `terminals` (the grammar's) spell out what would have fitted."""
    diags = Diagnostics()
    by_name = {t.name: t for t in terminals}
    if isinstance(err, UnexpectedCharacters):
        span = _point(path, err.line, err.column)
        pos = err.pos_in_stream or 0
        char = text[pos] if pos < len(text) else ""
        if char == '"':
            diags.error(codes.UNCLOSED_TEXT, "this text is never closed", span,
                        hint='close it with " on the same line, or use """…""" for text over several lines')
        elif char == "#":
            diags.error(codes.UNEXPECTED_CHARACTER, "unexpected `#` here", span,
                        hint="colours belong in `palette { 0:00 name #RRGGBB }`; comments start with //")
        else:
            diags.error(codes.UNEXPECTED_CHARACTER, f"unexpected character {quoted(char)}", span,
                        hint=f"expected {_describe_expected(set(err.allowed or ()), by_name)}")
    elif isinstance(err, UnexpectedToken) and err.token.type != "$END":
        _unexpected_token(diags, err, path, by_name)
    else:
        _unexpected_end(diags, err, text, path, by_name)
    assert isinstance(err, UnexpectedCharacters | UnexpectedToken | UnexpectedEOF)
    return diags.items[0]


def _unexpected_token(diags: Diagnostics, err: UnexpectedToken, path: str, terminals: dict[str, TerminalDef]) -> None:
    tok = err.token
    span = _point(path, tok.line or 1, tok.column or 1, len(str(tok)))
    expected = set(err.expected)
    if tok.type == "NUMBER" and "TIME" in expected:
        n = str(tok) if len(tok) <= 12 else "12"
        diags.error(codes.DURATION_WITHOUT_UNIT, f"{quoted(tok)} needs a unit", span,
                    hint=f"write `{n}s` for seconds, `{n}ms` for milliseconds, or m:ss like 0:{n}")
    elif tok.type == "STRING" and "NAME" in expected:
        diags.error(codes.UNEXPECTED_TOKEN, f"{quoted(tok)} should be a bare word here", span,
                    hint=f"write it without quotes: {quoted(tok[1:-1])[1:-1]}")
    elif str(tok) in _MISPLACED:
        diags.error(codes.UNEXPECTED_TOKEN, f"{quoted(tok)} cannot appear here", span, hint=_MISPLACED[str(tok)])
    else:
        diags.error(codes.UNEXPECTED_TOKEN, f"unexpected {quoted(tok)}", span,
                    hint=f"expected {_describe_expected(expected, terminals)}")


def _unexpected_end(diags: Diagnostics, err: UnexpectedInput, text: str, path: str,
                    terminals: dict[str, TerminalDef]) -> None:
    expected = set(getattr(err, "expected", ()) or ())
    span = _end_of_text(text, path)
    if not text.strip():
        diags.error(codes.UNEXPECTED_END, "the file is empty", span,
                    hint='a film starts with: film "Title" { language en  scene "One" { shot 4s "…" } }')
    elif "RBRACE" in expected:
        diags.error(codes.UNEXPECTED_END, "the file ends before every `{` is closed", span,
                    hint="a closing `}` is missing")
    else:
        diags.error(codes.UNEXPECTED_END, "the file ends before the film is complete", span,
                    hint=f"expected {_describe_expected(expected, terminals)}")


def _describe_expected(names: set[str], terminals: dict[str, TerminalDef]) -> str:
    words = set()
    for name in names:
        term = terminals.get(name)
        if name in _WORDS:
            words.add(_WORDS[name])
        elif term is not None and term.pattern.type == "str":
            words.add(f"`{term.pattern.value}`")
        else:
            words.add(name.lower())
    ordered = sorted(words)
    if len(ordered) > 8:
        ordered = [*ordered[:8], "…"]
    return ", ".join(ordered)


def _point(path: str, line: int, column: int, width: int = 1) -> Span:
    return Span(path=path, line=line, column=column, end_line=line, end_column=column + max(width, 1))


def _end_of_text(text: str, path: str) -> Span:
    """Just after the last character, counting lines as the parser does (at \n only: a form feed or U+2028
    inside a text is not a line break); a final line break ends the last line rather than starting one."""
    lines = text.split("\n")
    if len(lines) > 1 and not lines[-1]:
        lines.pop()
    return _point(path, len(lines), len(lines[-1]) + 1)
