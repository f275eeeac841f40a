"""Bad input never crashes filmc: a CI-sized share of the language fuzzer (`stress/fuzz_language.py` runs
100,000 cases), and the inputs that did crash it, each kept as a regression test.

Every case goes through `filmc check`'s path (read the bytes, parse, check, show the diagnostics as the CLI
does) and must end in a checked film or in diagnostics located inside the file, rendered without error.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from filmc.check import load
from filmc.diagnostics import FilmError, render_all
from stress.fuzz_language import (
    RandomSource,
    Tally,
    corpus,
    films,
    generate,
    make_project,
    mutants,
    mutate,
    run_case,
)

DONORS = corpus()
# Derandomized: CI runs the same cases every time; a finding is reproduced by running the test again.
FUZZ = {"derandomize": True, "deadline": None, "database": None,
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_project(tmp_path_factory.mktemp("fuzz"))


def clean(tally: Tally) -> str:
    """The first finding, in words, for an assertion message; empty when there is none."""
    if not tally.findings:
        return ""
    first = tally.findings[0]
    return f"{len(tally.findings)} finding(s); first: {first.kind}: {first.detail}\ninput: {first.source[:300]!r}"


@settings(max_examples=1500, **FUZZ)
@given(films())
def test_films_generated_from_the_grammar_end_in_a_film_or_located_diagnostics(project: Path, film: bytes) -> None:
    tally = Tally()
    run_case(film, tally, project)
    assert not tally.findings, clean(tally)


@settings(max_examples=500, **FUZZ)
@given(mutants(DONORS))
def test_mutated_films_end_in_a_film_or_located_diagnostics(project: Path, film: bytes) -> None:
    tally = Tally()
    run_case(film, tally, project)
    assert not tally.findings, clean(tally)


def test_a_seeded_share_of_the_full_run(project: Path) -> None:
    """Half generated, half mutated, as the full run mixes them; both outcomes really happen."""
    rng, tally = RandomSource(random.Random(20261206)), Tally()
    for n in range(2000):
        raw = generate(rng) if n % 2 else mutate(DONORS[rng.below(len(DONORS))], rng, DONORS)
        run_case(raw, tally, project, rich=n % 100 == 0)
    assert not tally.findings, clean(tally)
    assert tally.checked > 50 and tally.failed > 500 and len(tally.codes) > 25


def test_every_statement_of_the_grammar_is_generated() -> None:
    """The generator walks the grammar itself: a statement added to the language is fuzzed from day one."""
    from filmc.syntax.parser import parser

    rng = RandomSource(random.Random(7))
    text = " ".join(generate(rng).decode() for _ in range(300))
    keywords = {str(t.pattern.value) for t in parser().terminals if t.pattern.type == "str" and t.name != "COMMA"}
    assert {k for k in keywords if k.isalpha() or "-" in k} - set(text.replace("{", " ").split()) == set()


def test_the_fuzzer_reports_what_is_not_a_diagnostic(project: Path) -> None:
    """So a green run means something: a crash in the checker is a finding, not a pass."""
    def broken(path: Path) -> None:
        raise KeyError("scene")

    tally = Tally()
    run_case(DONORS[0].encode(), tally, project, check=broken)
    assert [f.kind for f in tally.findings] == ["exception"] and "KeyError" in tally.findings[0].detail


# ------------------------------------------------------------------------------- what the fuzzer found

BASE = 'film "T" {\n  language en\n%s\n  scene "A" {\n    shot %s "x"\n    say "Hello%s there."\n  }\n}\n'


def spec(head: str = "", shot: str = "2s", said: str = "", before: str = "", after: str = "") -> str:
    """A small film with `head` on line 3, a shot lasting `shot` on line 5, a line on line 6 (with `said` in
    its text, `before` its text and `after` it)."""
    return BASE % (head, shot, said) if not (before or after) else \
        (BASE % (head, shot, said)).replace('say "', f'say {before}"').replace('there."', f'there." {after}')
NINES = "9" * 400
# Each crashed `filmc check` (the exception it raised is in the id) or, marked "-was-", was mis-reported; each
# is now the diagnostic named, on the line named.
CRASHES = {
    "shot-400-digits-OverflowError": (BASE % ("", NINES + "s", ""), "F0006", 5),
    "shot-5000-digits-was-int-limit-message": (BASE % ("", "9" * 5000 + "ms", ""), "F0006", 5),
    "minutes-400-digits-OverflowError": (BASE % ("", NINES + ":00", ""), "F0006", 5),
    "pause-400-digits-OverflowError": (BASE % ("", "2s", f" [pause {NINES}s]"), "F0006", 6),
    "pause-over-a-day-was-accepted": (BASE % ("", "2s", " [pause 99999999999999999999s]"), "F0006", 6),
    "frame-rate-5000-digits-VisitError": (BASE % ("  frame 1280x720 @ " + "9" * 5000, "2s", ""), "F0104", 3),
    "frame-rate-400-digits-OverflowError": (BASE % ("  frame 1280x720 @ " + NINES, "2s", ""), "F0104", 3),
    "frame-size-5000-digits-VisitError": (BASE % ("  frame " + "9" * 5000 + "x720 @ 24", "2s", ""), "F0103", 3),
    "palette-stop-OverflowError": (BASE % (f"  palette {{ {NINES}s a #FFFFFF }}", "2s", ""), "F0006", 3),
    "music-cue-OverflowError": (BASE % (f'  music {{ {NINES}s "a" }}', "2s", ""), "F0006", 3),
    "say-at-OverflowError": (spec(before=f"at {NINES}s "), "F0006", 6),
    "say-plus-OverflowError": (spec(before=f"+{NINES}s "), "F0006", 6),
    "pause-after-OverflowError": (spec(after=f"pause-after {NINES}s"), "F0006", 6),
    "transition-OverflowError": (spec(shot=f'2s "x" {{ transition crossfade {NINES}s }} shot 1s'), "F0006", 5),
    "title-card-OverflowError": (BASE % (f'  title {NINES}s {{ "a" }}', "2s", ""), "F0006", 3),
    "image-name-too-long-OSError": (BASE % ('  entity a "b" image "' + "a" * 5000 + '"', "2s", ""), "F0501", 3),
    "image-in-a-loop-of-links-RuntimeError": (BASE % ('  entity a "b" image "media/loop"', "2s", ""), "F0501", 3),
    "image-folders-too-long": (BASE % ('  entity a "b" image "' + "/".join(["a" * 250] * 4) + '"', "2s", ""),
                               "F0501", 3),
}


@pytest.mark.parametrize("text,code,line", CRASHES.values(), ids=CRASHES.keys())
def test_inputs_that_crashed_filmc_are_located_diagnostics(project: Path, text: str, code: str, line: int) -> None:
    tally = Tally()
    run_case(text.encode(), tally, project)
    assert not tally.findings, clean(tally)
    (project / "f.film").write_text(text, "utf-8")
    with pytest.raises(FilmError) as err:
        load(project / "f.film")
    assert (code, line) in {(d.code, d.span.line) for d in err.value.diagnostics}
    assert all(len(d.message) < 200 for d in err.value.diagnostics if d.code == code)   # no 5,000-digit echo


def test_a_time_over_a_day_is_refused_where_it_is_written(tmp_path: Path) -> None:
    film = tmp_path / "f.film"
    film.write_text(BASE % ("", "86401s", ""), "utf-8")
    with pytest.raises(FilmError) as err:
        load(film)
    (d,) = [d for d in err.value.diagnostics if d.code == "F0006"]
    assert (d.span.line, d.span.column) == (5, 10) and "longer than a day" in d.message
    film.write_text(BASE % ("", "1440:00", ""), "utf-8")   # a day exactly is a time (a long film, but a film)
    checked, _, _ = load(film)
    assert checked.timeline.duration == 86400


def test_a_pause_that_is_a_wrong_time_says_so(tmp_path: Path) -> None:
    """`[pause 1:75]` was an "unknown direction"; it is a pause whose time is wrong."""
    film = tmp_path / "f.film"
    film.write_text(BASE % ("", "2s", " [pause 1:75]"), "utf-8")
    with pytest.raises(FilmError) as err:
        load(film)
    assert [(d.code, d.span.line, d.span.column) for d in err.value.diagnostics] == [("F0006", 6, 16)]


def test_old_mac_line_endings_are_lines(tmp_path: Path) -> None:
    """A file with CR line endings was one long line to the parser (line 1, column 71), while the CLI, reading
    it again to show the diagnostic, split it into lines: the caret pointed past the end of line 1."""
    film = tmp_path / "f.film"
    film.write_bytes((BASE % ("", "2s", "")).replace("\n", "\r").replace("Hello", 'He"llo').encode())
    with pytest.raises(FilmError) as err:
        load(film)
    (d,) = err.value.diagnostics
    assert (d.code, d.span.line, d.span.column) == ("F0001", 6, 13)


def test_the_end_of_the_file_is_counted_in_the_parsers_lines(tmp_path: Path) -> None:
    """A form feed or U+2028 inside a text is not a line break to the parser: "the file ends" pointed at line
    50 of a one-line file when the text held 49 of them."""
    film = tmp_path / "f.film"
    film.write_text('film "a' + "\u2028\x0c" * 25 + '" { language en', "utf-8")
    with pytest.raises(FilmError) as err:
        load(film)
    (d,) = err.value.diagnostics
    assert (d.code, d.span.line) == ("F0004", 1)
    render_all(err.value.diagnostics, {d.span.path: film.read_text("utf-8")})


def test_bytes_that_are_not_utf8_after_a_byte_order_mark_are_located(tmp_path: Path) -> None:
    """utf-8-sig reports positions after the mark: the line was counted 3 bytes short, the column not at all."""
    film = tmp_path / "f.film"
    film.write_bytes(b'\xef\xbb\xbffilm "T" {\n\n  by "\xff" }\n')
    with pytest.raises(FilmError) as err:
        load(film)
    (d,) = err.value.diagnostics
    assert (d.code, d.span.line, d.span.column) == ("F0010", 3, 7)


def test_a_style_file_that_cannot_be_read_is_a_diagnostic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bible.txt").write_text("Soft.", "utf-8")
    film = tmp_path / "f.film"
    film.write_text(BASE % ('  style include "bible.txt"', "2s", ""), "utf-8")

    def denied(self: Path, *args: object, **kwargs: object) -> str:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_text", denied)
    with pytest.raises(FilmError) as err:
        load(film)
    assert [(d.code, d.span.line) for d in err.value.diagnostics] == [("F0501", 3)]
