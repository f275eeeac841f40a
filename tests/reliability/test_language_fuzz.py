"""Bad input never crashes filmc: a CI-sized share of the language fuzzer (`stress/fuzz_language.py` runs
100,000 cases). Every case ends in a checked film or in diagnostics located inside the file."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reliability.fuzzing import Tally, corpus, generate, mutate, run_case

DONORS = corpus()


@settings(max_examples=1500, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.randoms(use_true_random=False))
def test_generated_films_end_in_a_film_or_located_diagnostics(rng: random.Random) -> None:
    tally = Tally()
    run_case(generate(rng), tally, Path.cwd())
    assert tally.findings == [], tally.findings[0].detail


def test_mutated_films_end_in_a_film_or_located_diagnostics(tmp_path: Path) -> None:
    rng, tally = random.Random(20261206), Tally()
    for _ in range(1500):
        run_case(mutate(rng.choice(DONORS), rng, DONORS), tally, tmp_path)
    assert tally.findings == [], (tally.findings[0].kind, tally.findings[0].detail, tally.findings[0].source[:300])
    assert tally.checked > 0 and tally.diagnostics > 0   # both outcomes really happened


def test_the_fuzzer_reports_what_is_not_a_diagnostic(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """So a green run means something: a crash in the checker is a finding, not a pass."""
    import tests.reliability.fuzzing as fuzzing

    def broken(*args: object) -> None:
        raise KeyError("scene")

    monkeypatch.setattr(fuzzing, "check", broken)
    tally = Tally()
    run_case(DONORS[0].encode(), tally, tmp_path)
    assert [f.kind for f in tally.findings] == ["exception"] and "KeyError" in tally.findings[0].detail
