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


def test_fade_from_black_on_the_first_shot_opens_the_film_not_the_cut_after_it() -> None:
    checked, warnings = resolve('scene "A" { shot 2s "x" { transition in fade-from-black 1s } shot 2s "y" }')
    a, b = checked.timeline.segments
    assert a.transition_in is not None and (a.transition_in.kind, a.transition_in.frames) == ("fade-from-black", 24)
    assert a.transition_out is None and b.transition_in is None   # the cut into shot 2 stays a cut
    assert not warnings


def test_a_title_card_can_fade_into_the_first_shot_from_either_side() -> None:
    for body in ('title 2s { "T" transition out crossfade 500ms }\nscene "A" { shot 2s "x" }',
                 'title 2s { "T" }\nscene "A" { shot 2s "x" { transition in crossfade 500ms } }'):
        checked, _ = resolve(body)
        title, shot = checked.timeline.segments
        assert title.transition_out == shot.transition_in and shot.transition_in is not None
        assert (shot.transition_in.kind, shot.transition_in.frames) == ("crossfade", 12)


def test_the_last_segment_fades_out_inside_its_slot() -> None:
    checked, _ = resolve('scene "A" { shot 2s "x" }\ncredits 4s { "c" transition out fade-to-black 1s }')
    shot, credits = checked.timeline.segments
    assert shot.transition_out is None and credits.transition_in is None
    assert credits.transition_out is not None and credits.transition_out.frames == 24
    assert checked.timeline.frames == 48 + 96   # a fade inside the slot adds no time


def test_undirected_transitions_still_mean_out() -> None:
    old, _ = resolve('scene "A" { shot 2s "x" { transition crossfade 500ms } shot 2s "y" }')
    new, _ = resolve('scene "A" { shot 2s "x" { transition out crossfade 500ms } shot 2s "y" }')
    assert old.timeline.segments[1].transition_in == new.timeline.segments[1].transition_in is not None


def test_a_transition_eating_most_of_a_card_is_a_warning_only_past_half() -> None:
    _, warnings = resolve('scene "A" { shot 4s "x" { transition out fade-to-black 2s } }\ncredits 4s { "c" }')
    assert [w.code for w in warnings] == ["F0311"] and "1.4s of this 4s credits card" in warnings[0].message
    _, fine = resolve('scene "A" { shot 4s "x" { transition out fade-to-black 1s } }\ncredits 4s { "c" }')
    assert not fine   # 1s of the transition and 0.6s of text fade leave 2.4s of 4s
