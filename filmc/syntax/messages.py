"""Lark's syntax errors in a filmmaker's words: one diagnostic naming what was expected, never a token dump."""

from __future__ import annotations

import re
from collections.abc import Iterable
from fractions import Fraction

from lark import Token
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
    "SIGNED": "a negative number like -16",
    "COMPARE": "a comparison like <=",
    "TOLERANCE": "a tolerance like ±1",
    "$END": "the end of the file",
}

# Quotes an editor or a word processor puts where a straight " belongs.
_CURLY_QUOTES = frozenset("“”„‟‘’‚‛«»")
# `1m6s`, `2m`, `1m 30s`: minutes written with a unit, which the language spells 1:06.
_MINUTES = re.compile(r"(\d{1,4})m(?:(\d{1,2}(?:\.\d{1,6})?)s)?(?![\w.])")
# A word running straight into a quote: the rest of a text whose opening quote closed the text before it.
_QUOTED_WORD = re.compile(r'[^\s"]+"')
# A text as the grammar's STRING reads it, to find where one the parser took as closed began.
_STRING = re.compile(r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"')

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
        elif char in _CURLY_QUOTES:
            diags.error(codes.UNEXPECTED_CHARACTER, f"a curly quote {quoted(char)} can't open or close a text", span,
                        hint='write straight quotes around a text: "like this" (curly ones are fine inside it)')
        elif text.startswith("/*", pos):
            end = text.find("*/", pos)
            width = end + 2 - pos if end != -1 and "\n" not in text[pos:end] else 2
            diags.error(codes.UNEXPECTED_CHARACTER, "comments start with //, not /*", _point(path, err.line,
                        err.column, width), hint="write // before the comment; it runs to the end of its line")
        elif char == "#":
            diags.error(codes.UNEXPECTED_CHARACTER, "unexpected `#` here", span,
                        hint="colours belong in `palette { 0:00 name #RRGGBB }`; comments start with //")
        else:
            diags.error(codes.UNEXPECTED_CHARACTER, f"unexpected character {quoted(char)}", span,
                        hint=f"expected {_describe_expected(set(err.allowed or ()), by_name)}")
    elif isinstance(err, UnexpectedToken) and err.token.type != "$END":
        _unexpected_token(diags, err, text, path, by_name)
    else:
        _unexpected_end(diags, err, text, path, by_name)
    assert isinstance(err, UnexpectedCharacters | UnexpectedToken | UnexpectedEOF)
    return diags.items[0]


def _unexpected_token(diags: Diagnostics, err: UnexpectedToken, text: str, path: str,
                      terminals: dict[str, TerminalDef]) -> None:
    tok = err.token
    span = _point(path, tok.line or 1, tok.column or 1, len(str(tok)))
    expected = set(err.expected)
    opened = _closed_by_next_opening(tok, text)
    minutes = _MINUTES.match(text, tok.start_pos or 0) if tok.type == "NUMBER" else None
    if opened is not None:
        diags.error(codes.UNCLOSED_TEXT, "this text is never closed", _point(path, tok.line or 1, opened),
                    hint=f'the quote just before {quoted(tok)} closes it instead of opening the next text: '
                    'add the missing " where this text should end')
    elif minutes is not None and "TIME" in expected:
        m, written = int(minutes.group(1)), minutes.group(2) or "0"
        sec = Fraction(written)
        head, dot, tail = written.partition(".")
        whole = f"{m}:{int(head):02d}{dot}{tail}"
        diags.error(codes.DURATION_WITHOUT_UNIT, f"{quoted(minutes.group(0))} is not a time filmc reads",
                    _point(path, tok.line or 1, tok.column or 1, len(minutes.group(0))),
                    hint=(f"write minutes as m:ss, `{whole}`, or in seconds, " if sec < 60 else "write ")
                    + f"`{_seconds(m * 60 + sec)}`")
    elif tok.type == "NUMBER" and "TIME" in expected:
        n = str(tok) if len(tok) <= 12 else "12"
        diags.error(codes.DURATION_WITHOUT_UNIT, f"{quoted(tok)} needs a unit", span,
                    hint=f"write `{n}s` for seconds, `{n}ms` for milliseconds, or m:ss like 0:{n}")
    elif tok.type == "STRING" and "NAME" in expected:
        diags.error(codes.UNEXPECTED_TOKEN, f"{quoted(tok)} should be a bare word here", span,
                    hint=f"write it without quotes: {quoted(tok[1:-1])[1:-1]}")
    elif (tok.start_pos or 0) > 0 and text[(tok.start_pos or 0) - 1] == '"' and tok.type != "STRING":
        diags.error(codes.UNEXPECTED_TOKEN, f"unexpected {quoted(tok)} right after a closing quote", span,
                    hint='if the quote before it belongs to the text, write it as \\"')
    elif str(tok) in _MISPLACED:
        diags.error(codes.UNEXPECTED_TOKEN, f"{quoted(tok)} cannot appear here", span, hint=_MISPLACED[str(tok)])
    else:
        diags.error(codes.UNEXPECTED_TOKEN, f"unexpected {quoted(tok)}", span,
                    hint=f"expected {_describe_expected(expected, terminals)}")


def _closed_by_next_opening(tok: Token, text: str) -> int | None:
    """The column of a text's opening quote when the parser stopped at a word glued to its closing quote and
    itself closed by a quote: in `"A sky { light "soft" }` the closing quote is missing, and the quote meant to
    open "soft" closed the first text. None otherwise."""
    start = tok.start_pos or 0
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", start)
    rest = text[start:line_end if line_end != -1 else len(text)]
    if start == 0 or text[start - 1] != '"' or not _QUOTED_WORD.match(rest) or tok.type == "STRING":
        return None   # `say "He"llo there."` is a stray quote inside a text, not an unclosed one
    for m in _STRING.finditer(text, line_start, start):
        if m.end() == start:
            return m.start() - line_start + 1
    return None


def _seconds(value: Fraction) -> str:
    return f"{value}s" if value.denominator == 1 else f"{float(value):g}s"


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
