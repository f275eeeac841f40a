"""Huge inputs, the fast part of stress/huge_inputs.py: a million-character string, line or comment, and a
million unclosed brackets, each checked in its own process in bounded time and memory, ending in a film or
in located diagnostics. (The 10 MB film and 10,000 scenes take seconds each: the full run has them.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from stress.huge_inputs import CASES, measure

FAST = ["1M-char shot", "1M-char say", "1M-char comment", "1M unclosed [", "10k nested [ ]"]
PEAK_MB = 150   # an interpreter with filmc loaded is ~45 MB; a regex stack per character was 218 MB


@pytest.mark.parametrize("case", FAST)
def test_a_huge_input_is_answered_in_bounded_time_and_memory(tmp_path: Path, case: str) -> None:
    film = tmp_path / "huge.film"
    film.write_text(CASES[case](), "utf-8")
    run = measure(case, film, "check", timeout=60)
    assert run.outcome in ("ok", "diagnostics"), run
    assert run.peak_mb < PEAK_MB, run
