"""`filmc compile` as a director reads it: one row per segment, times as written, prompts whole in --full."""

from __future__ import annotations

import asyncio
import re
from io import StringIO
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console
from rich.text import Text

from filmc.cli import main
from filmc.cli.plan_view import Frames, print_plan
from filmc.pipeline import compile_film
from filmc.plan.model import Plan, VideoSpec, VoiceSpec
from tests.conftest import FILMS

# A shot of 800ms (19 frames at 24 fps, 0.792s), a 300ms crossfade (7 frames), a title in m:ss
ROUNDED = """film "Tiny" {
  language en
  frame 320x180 @ 24
  title 0:01 { "TINY" }
  scene "One" {
    shot 800ms "A blue orb in the dark, slowly turning" {
      transition crossfade 300ms
    }
    shot 2s "The orb glows amber in warm light"
  }
}
"""


def plan_of(film: Path, tmp: Path) -> Plan:
    plan, _ = asyncio.run(compile_film(film, cache_dir=tmp / "cache"))
    return plan


def shown(plan: Plan, *, full: bool = False, width: int = 80) -> str:
    buffer = StringIO()
    print_plan(plan, Console(file=buffer, width=width), full=full)
    return buffer.getvalue()


def widest(text: str) -> int:
    return max(Text(line).cell_len for line in text.splitlines())


@pytest.fixture(scope="module")
def entropy(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    return plan_of(FILMS / "entropy.film", tmp_path_factory.mktemp("entropy"))


def row(text: str, first: str) -> list[str]:
    """The cells of the timeline row whose first cell is `first`, split on the table's column gaps."""
    line = next(ln for ln in text.splitlines() if ln.split() and ln.split()[0] == first)
    return [cell for cell in re.split(r"\s{2,}", line.strip()) if cell]


def test_one_row_per_segment_with_cards_and_transitions(entropy: Plan) -> None:
    text = shown(entropy, width=160)
    assert "✓" not in text and "✗" not in text
    assert re.search(r"segment\s+start–end\s+length\s+made by\s+est\.\s+cached\s+what", text)
    assert row(text, "title-01")[:4] == ["title-01", "0:00–0:04", "4s", "title card"]
    assert row(text, "s01-sh01")[:6] == ["s01-sh01", "0:04–0:11", "7s", "animatic 8s", "$0.00", "drawn"]
    assert row(text, "s01")[:3] == ["s01", "0:04–0:16", "12s"] and "Anno 2847" in row(text, "s01")
    assert row(text, "credits-01")[:4] == ["credits-01", "1:54–2:00", "6s", "credits card"]
    transitions = [ln.split() for ln in text.splitlines() if "crossfade" in ln or "dip-to-white" in ln]
    assert ["0:11–0:12", "1s", "crossfade", "s01-sh01", "→", "s01-sh02"] in transitions
    assert ["0:38–0:38.5", "500ms", "dip-to-white", "s03-sh02", "→", "s04-sh01"] in transitions
    segments = entropy.film.timeline.segments
    assert sum(1 for s in segments if any(ln.split()[:1] == [s.id] for ln in text.splitlines())) == len(segments)


def test_no_float_noise_and_intensity_as_written(entropy: Plan) -> None:
    text = shown(entropy, width=160)
    assert not re.search(r"\d\.\d{3,}", text)          # no 6.79167s anywhere
    assert "intensity 0.45" in text and "intensity 0.25" in text and "of 1" not in text


def test_a_length_rounded_to_frames_says_so(tmp_path: Path) -> None:
    film = tmp_path / "tiny.film"
    film.write_text(ROUNDED, "utf-8")
    text = shown(plan_of(film, tmp_path), width=160)
    assert row(text, "title-01")[:3] == ["title-01", "0s–1s", "0:01"]      # the length as written
    assert row(text, "s01-sh01")[:3] == ["s01-sh01", "1s–1.79s", "0.79s*"]
    assert "* s01-sh01: 800ms → 19 frames (0.792s), the nearest whole frame at 24 fps" in text
    assert "7 frames (0.292s): its length was rounded to whole frames at 24 fps" in text   # the 300ms crossfade


def test_frames_spell_times_for_people() -> None:
    from fractions import Fraction

    clock, seconds = Frames(Fraction(24), clock=True), Frames(Fraction(24), clock=False)
    assert [clock.at(f) for f in (0, 96, 1572, 1573)] == ["0:00", "0:04", "1:05.5", "1:05.54"]
    assert [seconds.at(f) for f in (0, 12, 19)] == ["0s", "0.5s", "0.79s"]
    assert [clock.length(f) for f in (168, 12, 163, 1572)] == ["7s", "500ms", "6.79s", "1:05.5"]
    assert clock.as_written(168, "0:07") == ("0:07", None) and clock.as_written(168, "7s") == ("7s", None)
    ntsc = Frames(Fraction(24000, 1001), clock=False)
    cell, note = ntsc.as_written(ntsc_frames := 144, "6s")
    assert cell == "6.006s*" and note == f"6s → {ntsc_frames} frames (6.006s), the nearest whole frame at 23.976 fps"


def test_every_line_fits_80_columns(entropy: Plan) -> None:
    assert widest(shown(entropy)) <= 80
    assert widest(shown(entropy, full=True)) <= 80


def test_full_prints_each_shot_as_a_block_with_its_whole_prompt(entropy: Plan) -> None:
    text = shown(entropy, full=True)
    blocks = text.split("\nShots\n", 1)[1]
    flat = " ".join(blocks.split())
    for _, video in entropy.specs(VideoSpec):
        assert " ".join(video.request.prompt.split()) in flat     # whole, only wrapped
        assert " ".join(video.request.negative.split()) in flat
    first = next(ln for ln in blocks.splitlines() if ln.startswith("s01-sh01"))
    assert first == "s01-sh01 · Anno 2847 · 0:04–0:11 (7s) · animatic 8s · $0.00 · drawn"
    prompt_lines = [ln for ln in blocks.splitlines() if ln.startswith("  prompt     ")]   # not the music's
    assert len(prompt_lines) == len(entropy.specs(VideoSpec)) and all(len(ln) > 60 for ln in prompt_lines)
    for _, voice in entropy.specs(VoiceSpec):
        assert " ".join(voice.request.text.split()) in flat


def test_compile_full_piped_is_plain_and_wrapped(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["compile", "--full", str(FILMS / "hello.film")],
                                env={"COLUMNS": "80", "NO_COLOR": "1", "FORCE_COLOR": "",
                                     "FILMC_CACHE": str(tmp_path / "cache")})
    assert result.exit_code == 0, result.output
    assert "\x1b[" not in result.output and widest(result.output) <= 80
    assert "s01-sh01 · Cold · 1s–3s (2s) · animatic 2.5s · $0.00 · drawn" in result.output
    assert re.search(r"^  prompt     An orb floats in a dark blue void", result.output, re.MULTILINE)
    assert "7 of 10 jobs to run, est. $0.00; 3 previz clip(s) drawn in the picture pass" in result.output


def test_user_text_is_not_markup(tmp_path: Path) -> None:
    film = tmp_path / "f.film"
    film.write_text('film "[bold]x[/bold]" {\n  language en\n  scene "[red]a" {\n    shot 4s "hi [b]there[/b]"\n'
                    "  }\n}\n", "utf-8")
    plan = plan_of(film, tmp_path)
    for full in (False, True):
        text = shown(plan, full=full, width=120)
        assert "[bold]x[/bold]" in text and "[red]a" in text and "hi [b]there[/b]" in text
