from __future__ import annotations

from fractions import Fraction

import pytest

from filmc.timecode import format_time, parse_fps, parse_time, to_frames


@pytest.mark.parametrize(("text", "seconds"), [
    ("12s", Fraction(12)), ("1.5s", Fraction(3, 2)), ("500ms", Fraction(1, 2)), ("0:12", Fraction(12)),
    ("1:05.5", Fraction(131, 2)), ("2:00", Fraction(120)), ("0s", Fraction(0)), ("0.04s", Fraction(1, 25)),
    ("10:00", Fraction(600)), ("1ms", Fraction(1, 1000)),
])
def test_parse_time_is_exact(text: str, seconds: Fraction) -> None:
    assert parse_time(text) == seconds


@pytest.mark.parametrize("bad", ["12", "1:75", "s", "1.5", "1:5:3", "-1s", "1h"])
def test_parse_time_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_time(bad)


def test_frames_round_half_up_at_ntsc_rates() -> None:
    assert parse_fps("23.976") == Fraction(24000, 1001)
    assert to_frames(Fraction(1), Fraction(24)) == 24
    assert to_frames(Fraction(1, 48), Fraction(24)) == 1  # half a frame rounds up
    assert to_frames(Fraction(10), Fraction(24000, 1001)) == 240  # 239.76 -> 240


@pytest.mark.parametrize("text", ["12s", "1.5s", "500ms", "1:05.5", "2:00", "59.25s"])
def test_format_time_round_trips(text: str) -> None:
    assert parse_time(format_time(parse_time(text))) == parse_time(text)
