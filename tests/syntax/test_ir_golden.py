"""Each example film lowers and resolves to the IR on file, so any change to timing shows as a diff."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from filmc.check import load
from tests.conftest import FILMS, ROOT, compare_golden

GOLDEN = Path(__file__).resolve().parent / "golden"


def ir_json(film: Path) -> str:
    checked, warnings, text = load(film, display=str(film.relative_to(ROOT)))
    from filmc.syntax import parse

    tree = parse(text, str(film.relative_to(ROOT)))
    doc = {"film": tree.model_dump(mode="json"), "timeline": checked.timeline.model_dump(mode="json"),
           "warnings": [w.model_dump(mode="json") for w in warnings]}
    return json.dumps(doc, indent=1, ensure_ascii=False, sort_keys=True).replace(str(ROOT), "<root>") + "\n"


@pytest.mark.parametrize("film", sorted(FILMS.glob("*.film")), ids=lambda p: p.stem)
def test_ir_matches_golden(film: Path, update_goldens: bool) -> None:
    compare_golden(GOLDEN / f"{film.stem}.json", ir_json(film), update_goldens)


def test_entropy_checks_clean_with_zero_warnings() -> None:
    checked, warnings, _ = load(FILMS / "entropy.film")
    assert warnings == ()
    tl = checked.timeline
    scenes = {s.scene_id for s in tl.segments if s.kind == "shot"}
    assert len(scenes) == 10
    assert 110 <= tl.duration <= 130
    assert checked.language == "it"
    first, last = tl.segments[1].palette, tl.segments[-2].palette
    # cold blue at the start, warm amber at the end
    assert int(first[1][5:7], 16) > int(first[1][1:3], 16)
    assert int(last[1][1:3], 16) > int(last[1][5:7], 16)
