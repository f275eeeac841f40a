"""`fit narration` and length ranges, checked: the syntax, the fit's rule, and each located diagnostic."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from filmc import codes
from filmc.check import check
from filmc.check.fit import refit, share
from filmc.check.resolved import CheckedFilm, FitShot, ResolvedShot
from filmc.diagnostics import Diagnostic, FilmError
from filmc.syntax import parse
from filmc.syntax.fmt import format_text
from filmc.syntax.ir import Scene

FILM = """film "T" {
  language en
  frame 160x90 @ 12
  palette { 0:00 cold #0B1E3F #3A7BD5  5s warm #C46A1B #FFB347 }
  music { 0:00 "a pad" 2s "a pulse" 3s "strings" }
  scene "A" {
    shot 2s "a"
  }
  scene "B" {
    fit narration
    shot 1s..6s "b1" { transition out crossfade 250ms }
    shot 3s "b2"
    say +500ms "A short line." pause-after 500ms
  }
  scene "C" {
    shot 2s "c"
    say +200ms "The end."
  }
}
"""


def checked_of(text: str, voiced: dict[str, float] | None = None) -> tuple[CheckedFilm, tuple[Diagnostic, ...]]:
    return check(parse(text, "t.film"), Path("."), voiced=voiced)


def errors_of(text: str, voiced: dict[str, float] | None = None) -> list[Diagnostic]:
    with pytest.raises(FilmError) as err:
        checked_of(text, voiced)
    return list(err.value.diagnostics)


def frames(checked: CheckedFilm) -> dict[str, int]:
    return {s.id: s.frames for s in checked.timeline.segments}


def test_ranges_and_fit_parse_and_format_as_written() -> None:
    scene = parse(FILM, "t.film").sequence[1]
    assert isinstance(scene, Scene) and scene.fit is not None
    bounds = scene.shots[0].range
    assert bounds is not None and bounds.text == "1s..6s" and (bounds.high.span.column, bounds.high.text) == (14, "6s")
    assert scene.shots[0].duration.seconds == Fraction(7, 2)   # planned: the range's middle
    whole = FILM.replace('film "T" {\n', 'film "T" {\n  fit narration\n').replace('scene "A" {', 'scene "A" 1s..3s {')
    once = format_text(whole, "t.film")
    assert format_text(once, "t.film") == once
    assert "  fit narration\n" in once and 'scene "A" 1s..3s {' in once and 'shot 1s..6s "b1" {' in once
    assert "    fit narration\n" in once


def test_a_film_without_fit_keeps_its_ir_json() -> None:
    plain = parse('film "T" { language en scene "A" { shot 2s "a" } }', "t.film")
    dumped = plain.model_dump_json()
    assert '"fit"' not in dumped and '"range"' not in dumped


def test_the_scene_takes_the_length_its_voice_needs_and_only_it_changes() -> None:
    short, _ = checked_of(FILM, {"s02-l01": 1.0, "s03-l01": 0.6})
    long, _ = checked_of(FILM, {"s02-l01": 4.0, "s03-l01": 0.6})
    (fit,) = long.fit
    # needed: +0.5s start, 4s spoken, 0.5s pause after = 5s; the fixed 3s shot keeps it, the ranged one takes 2s
    assert fit.needed == pytest.approx(5.0) and fit.frames == 60 and not fit.provisional
    assert frames(long)["s02-sh01"] == 24 and frames(long)["s02-sh02"] == 36
    assert frames(short)["s02-sh01"] == 12   # 2s needed: the range's minimum, 1s, with the fixed 3s shot
    changed = {k for k in frames(long) if frames(long)[k] != frames(short)[k]}
    assert changed == {"s02-sh01"}
    assert long.timeline.frames - short.timeline.frames == 12
    # the line after the fitted scene moves with it, and keeps its offset from its scene
    assert [b.start for b in long.timeline.beats if b.id == "s03-l01"] == [pytest.approx(2 + 5 + 0.2)]


def test_cues_keep_their_place_at_cuts_and_colours_do_not_move() -> None:
    short, _ = checked_of(FILM, {"s02-l01": 1.0})
    long, _ = checked_of(FILM, {"s02-l01": 4.0})
    # the cue at 2s is scene B's start and stays at it; the one at 3s, inside its first shot, scales with it
    assert [c.start for c in long.timeline.cues] == [0.0, 2.0, pytest.approx(2 + 2 * (1 / 3.5))]
    assert long.timeline.cues[-1].end == long.timeline.duration
    assert [s.palette for s in long.timeline.segments] == [s.palette for s in short.timeline.segments]


def test_without_a_measured_voice_the_fit_is_provisional_and_estimated() -> None:
    checked, _ = checked_of(FILM)
    assert checked.provisional and checked.fit[0].lines[0].measured is False
    assert "provisional" not in checked.model_dump_json()   # a property, not a field


def test_shots_share_the_change_in_proportion_within_their_bounds() -> None:
    shots = [FitShot(shot_id="a", low=10, high=40, planned=20, frames=20),
             FitShot(shot_id="b", low=10, high=100, planned=40, frames=40),
             FitShot(shot_id="c", low=30, high=30, planned=30, frames=30)]
    assert share(shots, 90) == (20, 40, 30)
    assert share(shots, 150) == (40, 80, 30)          # a reaches its bound; b takes the rest
    assert share(shots, 50) == (10, 10, 30)
    assert sum(share(shots, 77)) == 77


def test_refit_from_the_plan_alone_matches_a_fresh_check() -> None:
    estimated, _ = checked_of(FILM)
    measured, _ = checked_of(FILM, {"s02-l01": 4.0})
    again = refit(estimated.fit[0], {"s02-l01": 4.0}, Fraction(12))
    assert [s.frames for s in again.shots] == [s.frames for s in measured.fit[0].shots]


def test_a_voice_longer_than_the_bounds_is_an_error_saying_by_how_much() -> None:
    d, *_ = errors_of(FILM, {"s02-l01": 9.2})   # and F0305: the line overruns its slot
    assert d.code == codes.NARRATION_DOES_NOT_FIT.code and d.severity == "error"
    assert d.message == 'the narration of scene "B" needs 10.2s as voiced; the shots allow at most 9s: 1.2s short'
    assert (d.span.line, d.span.column) == (9, 9)   # the scene's title


def test_an_estimate_longer_than_the_bounds_is_only_a_warning() -> None:
    text = FILM.replace("A short line.", "A line " + "that goes on and on " * 6 + "until it ends.")
    checked, warnings = checked_of(text)
    (w,) = [w for w in warnings if w.code == codes.NARRATION_MAY_NOT_FIT.code]
    assert w.severity == "warning" and "about" in w.message and "short" in w.message
    assert checked.fit[0].frames == checked.fit[0].high


def test_the_scene_bounds_clamp_the_fit() -> None:
    text = FILM.replace('scene "B" {', 'scene "B" 4s..9s {')
    checked, _ = checked_of(text, {"s02-l01": 0.5})
    assert checked.fit[0].frames == 48 and frames(checked)["s02-sh01"] == 12
    d, *_ = errors_of(text.replace("4s..9s", "4s..6s"), {"s02-l01": 6.0})
    assert d.code == codes.NARRATION_DOES_NOT_FIT.code and "the scene allows at most 6s: 1.0s short" in d.message
    assert d.related and d.related[0].message == "the scene's bounds"


@pytest.mark.parametrize(("edit", "code", "where", "hint"), [
    (("1s..6s", "6s..1s"), codes.BAD_RANGE, (11, 10), "write the shorter length first: 1s..6s"),
    (("1s..6s", "0s..6s"), codes.BAD_RANGE, (11, 10), "a length is at least one frame"),
    (("fit narration\n", ""), codes.RANGE_WITHOUT_FIT, (10, 14), "add `fit narration`"),
    (('scene "B" {', 'scene "B" 12s..20s {'), codes.SCENE_BOUNDS_UNMET, (9, 13), "widen a shot's range"),
    (("say +500ms", "say at 2.5s"), codes.ABSOLUTE_LINE_IN_FIT, (13, 12), "start it from its scene or shot"),
])
def test_malformed_fits_are_located_with_a_hint(edit: tuple[str, str], code: codes.Code, where: tuple[int, int],
                                                 hint: str) -> None:
    text = FILM.replace(*edit)
    found = [d for d in errors_of(text, {"s02-l01": 1.0}) if d.code == code.code]
    assert found, f"no {code.code}"
    d = found[0]
    assert (d.span.line, d.span.column) == where and d.hint and hint in d.hint


def test_unfitted_films_are_timed_as_before() -> None:
    checked, _ = checked_of(FILM.replace("    fit narration\n", "").replace("1s..6s", "3.5s"))
    assert not checked.fit and '"fit"' not in checked.model_dump_json()
    assert all(isinstance(s, ResolvedShot) and s.written for s in checked.timeline.segments)
