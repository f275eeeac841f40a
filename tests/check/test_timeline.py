"""Timeline resolution: frames, transitions, narration placement."""

from __future__ import annotations

from pathlib import Path

import pytest

from filmc.check import check
from filmc.check.resolved import ResolvedShot
from filmc.check.timeline import estimate_seconds
from filmc.syntax import parse
from filmc.syntax.ir import Pause, Spoken


def resolve(body: str, fps: str = "24") -> tuple:  # type: ignore[type-arg]
    text = f'film "T" {{\n language it\n frame 320x180 @ {fps}\n{body}\n}}\n'
    return check(parse(text, "t.film"), Path("."))


def test_segments_are_end_to_end_in_frames() -> None:
    checked, _ = resolve('title 1s { "T" }\nscene "A" { shot 1.5s "x" shot 500ms "y" }\ncredits 2s { "c" }')
    segs = checked.timeline.segments
    assert [(s.start_frame, s.frames) for s in segs] == [(0, 24), (24, 36), (60, 12), (72, 48)]
    assert checked.timeline.frames == 120 and checked.timeline.duration == 5.0


def test_ntsc_rate_keeps_whole_frames() -> None:
    checked, _ = resolve('scene "A" { shot 10s "x" }', fps="23.976")
    tl = checked.timeline
    assert (tl.fps_num, tl.fps_den, tl.frames) == (24000, 1001, 240)
    assert tl.duration == pytest.approx(240 * 1001 / 24000)


def test_transition_moves_to_the_next_segment() -> None:
    checked, _ = resolve('scene "A" { shot 2s "x" { transition crossfade 500ms } shot 2s "y" }')
    a, b = checked.timeline.segments
    assert isinstance(a, ResolvedShot) and a.transition_out and a.transition_out.frames == 12
    assert b.transition_in == a.transition_out


def test_beats_relative_absolute_and_following() -> None:
    checked, _ = resolve('scene "A" { shot 4s "x" say +1s "uno" pause-after 1s say "due" }\n'
                         'scene "B" { shot 4s "y" { say +0.5s "tre" } say at 0:07 "quattro" }')
    beats = {b.text: b for b in checked.timeline.beats}
    assert beats["uno"].start == 1.0
    assert beats["due"].start == pytest.approx(1.0 + beats["uno"].estimated + 1.0)
    assert beats["tre"].start == 4.5
    assert beats["quattro"].start == 7.0
    assert beats["tre"].slot_end == 7.0


def test_estimate_grows_with_text_pauses_and_slower_pace() -> None:
    short = estimate_seconds([Spoken(text="ciao")], "it", 1.0)
    long = estimate_seconds([Spoken(text="ciao a tutti quanti voi")], "it", 1.0)
    paused = estimate_seconds([Spoken(text="ciao"), Pause(seconds=1), Spoken(text="ciao")], "it", 1.0)
    slow = estimate_seconds([Spoken(text="ciao a tutti quanti voi")], "it", 0.75)
    assert short < long < slow
    assert paused == pytest.approx(2 * short + 1.0, abs=0.002)


def test_palette_is_interpolated_at_each_shot_midpoint() -> None:
    checked, _ = resolve('palette { 0:00 a #000000 4s b #FFFFFF }\nscene "A" { shot 2s "x" shot 2s "y" }')
    first, second = checked.timeline.segments
    assert first.palette[0] < second.palette[0]  # darker hex sorts first
    assert first.palette != ("#000000",) and second.palette != ("#FFFFFF",)
