"""Hypothesis: fmt is idempotent and keeps the IR; no mutated input escapes as anything but FilmError."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from filmc.check import check
from filmc.diagnostics import FilmError
from filmc.syntax import parse
from filmc.syntax.fmt import format_text
from tests.conftest import FILMS

ENTROPY = (FILMS / "entropy.film").read_text("utf-8")
HELLO = (FILMS / "hello.film").read_text("utf-8")
SETTINGS = settings(max_examples=int(os.environ.get("FILMC_HYPOTHESIS_EXAMPLES", "60")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def without_spans(value: Any) -> Any:
    """The IR minus where things were written: what fmt must preserve."""
    if isinstance(value, dict):
        return {k: without_spans(v) for k, v in value.items() if k not in ("span", "palette_span")}
    if isinstance(value, list):
        return [without_spans(v) for v in value]
    return value


def ir_of(text: str) -> Any:
    return without_spans(parse(text, "f.film").model_dump(mode="json"))


gap = st.sampled_from([" ", "  ", "\n", "\n\n", " \n   ", "\t", "\n\n\n  "])
comment = st.sampled_from(["", "", " // note", " // è “curly” ok"])
block_words = st.lists(st.sampled_from([*"abc xyzèà’“”.,:;!?-*\\"]), min_size=1, max_size=30).map("".join)
words = st.lists(st.sampled_from([*"abc xyzèà’“”.,:;!?-*", '\\"', "\\\\"]), min_size=1, max_size=30).map("".join)
# in a narration line a lone `*` or bracket is an error (F0109): lines have paired emphasis instead
said = st.lists(st.sampled_from([*"abc xyzèà’“”.,:;!?-", "*x*", "[breath]", '\\"', "\\\\"]),
                min_size=1, max_size=30).map("".join)


@st.composite
def films(draw: st.DrawFn) -> str:
    """Random but valid films with random layout: whitespace, comments, blank lines."""
    g = lambda: draw(gap)  # noqa: E731
    parts = [f'film "{draw(words)}"', g(), "{", draw(comment), "\n", "language", g(), "it", g()]
    if draw(st.booleans()):
        parts += ["frame", g(), "320x180", g(), "@", g(), "24", g()]
    if draw(st.booleans()):
        # a block ends at the first """, so its text can't end in a quote; fmt must still keep it exact
        parts += ["style", g(), '"""', draw(block_words), "\n", draw(block_words).rstrip('"'), '"""', g()]
    parts += ["entity", g(), "orb", g(), f'"{draw(words)}"', g()]
    if draw(st.booleans()):
        parts += ["palette", g(), "{", g(), "0:00", g(), "a", g(), "#0B1E3F", g(), "#3A7BD5", g(), "}", g()]
    for i in range(draw(st.integers(1, 3))):
        parts += [f'scene "S{i}"', g(), "{", draw(comment), "\n"]
        for _ in range(draw(st.integers(1, 2))):
            parts += ["shot", g(), draw(st.sampled_from(["2s", "1.5s", "0:03", "500ms"])), g(),
                      f'"{draw(words)}"', g()]
            if draw(st.booleans()):
                parts += ["{", g(), "camera", g(), draw(st.sampled_from(["orbit", "push-in", "static"])), g(),
                          "with", g(), "orb", draw(comment), "\n", "}", g()]
        if draw(st.booleans()):
            parts += ["say", g(), "+0.1s", g(), f'"{draw(said)}"', g(), "tone", g(), f'"{draw(words)}"', g()]
        parts += ["}", draw(comment), "\n"]
    parts += ["}", "\n"]
    return "".join(parts)


@SETTINGS
@given(films())
def test_fmt_is_idempotent_and_preserves_the_ir(text: str) -> None:
    once = format_text(text, "f.film")
    assert format_text(once, "f.film") == once
    assert ir_of(once) == ir_of(text)
    assert once.count("//") == text.count("//")  # comments are kept


def test_fmt_keeps_the_example_films() -> None:
    for text in (ENTROPY, HELLO):
        assert format_text(text, "f.film") == text  # the examples are already canonical
        assert ir_of(format_text(text, "f.film")) == ir_of(text)


def compile_front(text: str) -> None:
    """Everything `check` does, on text: the only exception allowed out is FilmError."""
    try:
        check(parse(text, "m.film"), Path(FILMS))
        format_text(text, "m.film")
    except FilmError as err:
        assert err.diagnostics and all(d.span.line >= 1 and d.span.column >= 1 for d in err.diagnostics)


@SETTINGS
@given(st.data())
def test_byte_mutations_never_raise_anything_else(data: st.DataObject) -> None:
    raw = bytearray(ENTROPY.encode("utf-8"))
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        op = data.draw(st.sampled_from(["delete", "insert", "replace"]))
        byte = data.draw(st.sampled_from([*list(b'{}"#:@+*[]\n 0a\\'), 195]))
        if op == "delete":
            del raw[pos]
        elif op == "insert":
            raw.insert(pos, byte)
        else:
            raw[pos] = byte
    compile_front(raw.decode("utf-8", errors="replace"))


@SETTINGS
@given(st.data())
def test_token_mutations_never_raise_anything_else(data: st.DataObject) -> None:
    tokens = ENTROPY.split(" ")
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(tokens) - 1))
        j = data.draw(st.integers(0, len(tokens) - 1))
        op = data.draw(st.sampled_from(["swap", "drop", "dup"]))
        if op == "swap":
            tokens[i], tokens[j] = tokens[j], tokens[i]
        elif op == "drop":
            del tokens[i]
        else:
            tokens.insert(i, tokens[j])
    compile_front(" ".join(tokens))
