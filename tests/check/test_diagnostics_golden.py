"""Every broken input has its exact rendered diagnostics on file: a new case is a new .film file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from filmc.check import load
from filmc.diagnostics import FilmError, render_all
from tests.conftest import BAD_FILMS, ROOT, compare_golden

CASES = sorted(BAD_FILMS.glob("*.film"))


def diagnose(film: Path) -> str:
    rel = os.path.relpath(film, ROOT)
    try:
        _, warnings, _text = load(film, display=rel)
        found = warnings
    except FilmError as err:
        found = err.diagnostics
    return render_all(found, {rel: film.read_text("utf-8")}) + "\n"


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize("film", CASES, ids=lambda p: p.stem)
def test_diagnostics_match_golden(film: Path, update_goldens: bool) -> None:
    actual = diagnose(film)
    assert "error[" in actual or "warning[" in actual, "every broken input must produce a diagnostic"
    compare_golden(film.with_suffix(".txt"), actual, update_goldens)


def test_codes_are_documented() -> None:
    docs = (ROOT / "docs" / "diagnostics.md").read_text("utf-8")
    headers = [line for f in CASES for line in f.with_suffix(".txt").read_text("utf-8").splitlines()
               if line.startswith(("error[", "warning["))]
    codes = {line.split("[", 1)[1].split("]", 1)[0] for line in headers}
    missing = sorted(c for c in codes if f"`{c}`" not in docs)
    assert not missing, f"undocumented codes: {missing}"


def test_several_errors_are_collected_in_one_run() -> None:
    with pytest.raises(FilmError) as err:
        load(BAD_FILMS / "several_errors.film")
    assert len({d.code for d in err.value.diagnostics}) >= 4


def test_json_diagnostics_are_one_based_like_the_text() -> None:
    from filmc.diagnostics import to_json

    with pytest.raises(FilmError) as err:
        load(BAD_FILMS / "unknown_camera.film")
    data = json.loads(to_json(err.value.diagnostics))
    assert data[0]["code"] == "F0203"
    assert (data[0]["span"]["line"], data[0]["span"]["column"]) == (6, 14)
    assert data[0]["hint"] == "did you mean `push-in`?"
