"""The fault suite's CI cases (the full run is `python stress/fault_suite.py`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.faults import all_services, run_case

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("seed", "fail_shot", "cut_downloads"), [(1, None, 2), (2, 7, 1)])
def test_ten_shots_at_a_20_percent_fault_rate(tmp_path: Path, seed: int, fail_shot: int | None,
                                              cut_downloads: int) -> None:
    with all_services() as services:
        case = run_case(tmp_path, services, rate=0.2, seed=seed, fail_shot=fail_shot, cut_downloads=cut_downloads,
                        processing_polls=1)
    assert sum(case.injected.values()) >= 5, case.injected   # the faults really happened
    assert sorted(case.failed) == sorted(case.provider_failed)   # completes, or names only what the provider failed
    assert len(case.creates) == 10 and max(case.creates.values()) == 1, case.creates   # each shot bought once
    assert case.possibly_billed == case.ambiguous_creates and case.leaks == []
