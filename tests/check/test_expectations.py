"""`expect` lines through the front end: parsed, laid out by `fmt`, and judged into readings that pass."""

from __future__ import annotations

import pytest

from filmc import codes
from filmc.check import check
from filmc.check.resolved import ResolvedExpectation
from filmc.diagnostics import FilmError
from filmc.syntax import parse
from filmc.syntax.fmt import format_text
from tests.conftest import ROOT

FILM = """film "X" {{
  language en
  {expect}
  scene "One" {{
    shot 2s "x"
    say "Hello."
  }}
}}
"""


def judged(line: str) -> ResolvedExpectation:
    film = parse(FILM.format(expect=line), "x.film")
    checked, _ = check(film, ROOT)
    (expectation,) = checked.expectations
    return expectation


@pytest.mark.parametrize(("line", "compare", "value", "tolerance", "unit"), [
    ("expect loudness -16 LUFS ±1", "=", -16.0, 1.0, "LUFS"),
    ("expect loudness -14.5 LKFS +-0.5", "=", -14.5, 0.5, "LKFS"),
    ("expect true-peak <= -1 dBTP", "<=", -1.0, 0.0, "dBTP"),
    ("expect true-peak ≤ -1.5 dBTP", "<=", -1.5, 0.0, "dBTP"),
    ("expect duration 2:00 ±0.5s", "=", 120.0, 0.5, "s"),
    ("expect duration 1:05.5 +-500ms", "=", 65.5, 0.5, "s"),
    ("expect cost <= 30 USD", "<=", 30.0, 0.0, "USD"),
    ("expect no black > 0.5s", "<=", 0.5, 0.0, "s"),       # the longest run may be at most the limit
    ("expect no silence >= 2s within narration", "<", 2.0, 0.0, "s"),
])
def test_each_form_becomes_one_comparison(line: str, compare: str, value: float, tolerance: float,
                                          unit: str) -> None:
    e = judged(line)
    assert (e.compare, e.value, e.tolerance, e.unit) == (compare, value, tolerance, unit)
    assert e.text == line.removeprefix("expect ") and e.span.line == 3 and e.span.column == 3


def test_claims_and_scope() -> None:
    assert judged("expect every line subtitled").measure == "every-line-subtitled"
    assert judged("expect narration inside its scene").measure == "narration-inside-its-scene"
    assert judged("expect no silence > 2s within narration").within == "narration"
    assert judged("expect no silence > 2s").within == "film"


def test_readings_pass_inclusively_at_the_tolerance_and_bound() -> None:
    loud = judged("expect loudness -16 LUFS ±1")
    assert loud.admits(-17.0) and loud.admits(-15.0) and loud.admits(-16.3)
    assert not loud.admits(-17.1) and not loud.admits(-14.9)
    peak = judged("expect true-peak <= -1 dBTP")
    assert peak.admits(-1.0) and not peak.admits(-0.9)
    black = judged("expect no black > 0.5s")
    assert black.admits(0.5) and black.admits(0.0) and not black.admits(0.51)
    assert not judged("expect no black >= 0.5s").admits(0.5)


def test_fmt_keeps_expect_lines_as_written() -> None:
    messy = FILM.format(expect="expect   loudness -16 LUFS +-1 // quiet").replace("  language en", "language en")
    pretty = format_text(messy, "x.film")
    assert "  expect loudness -16 LUFS +-1  // quiet\n" in pretty
    assert format_text(pretty, "x.film") == pretty
    assert parse(pretty, "x.film").expectations[0].tolerance is not None


def test_a_film_without_expectations_reads_as_before() -> None:
    film = parse(FILM.format(expect=""), "x.film")
    assert "expectations" not in film.model_dump()
    checked, _ = check(film, ROOT)
    assert "expectations" not in checked.model_dump()


def test_malformed_expectations_are_located_diagnostics() -> None:
    with pytest.raises(FilmError) as err:
        judged("expect loudness -16 dB ±1")
    (d,) = err.value.diagnostics
    assert d.code == codes.WRONG_UNIT.code and (d.span.line, d.span.column) == (3, 23) and d.hint and "LUFS" in d.hint
