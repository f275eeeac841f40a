"""Films that test themselves: `expect` lines measured on really rendered tiny films, `filmc render` exiting 5
with a diagnostic at the unmet line, and `filmc test` with its table, JSON and JUnit report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from filmc import codes
from filmc.check import load
from filmc.verify import Rendered, SpokenLine, failures, verify

pytestmark = pytest.mark.slow

# Every expectation, each one the film meets (the music keeps it from falling silent between lines).
MEETS = """film "Meets" {
  language en
  frame 160x90 @ 12
  expect loudness -16 LUFS ±1
  expect true-peak <= -1 dBTP
  expect duration 3s +-0.1s
  expect no black > 0.5s
  expect no silence > 1s within narration
  expect every line subtitled
  expect narration inside its scene
  expect cost <= 0 USD

  music { 0:00 "a soft pad" intensity 0.5 }
  scene "One" {
    shot 3s "A blue orb in a void"
    say +200ms "Hello there."
    say +1.6s "Again."
  }
}
"""

# Every expectation, each one the film misses: line 4 is the acceptance case. The black title card
# (black palette, one dot of text) is 1.5s of black; scene "Two" has no voice and no music; the one line is
# longer than its one-second scene.
MISSES = """film "Misses" {
  language en
  frame 160x90 @ 12
  expect loudness -30 LUFS ±1
  expect true-peak <= -6 dBTP
  expect duration 9s ±0.1s
  expect no black > 0.5s
  expect no silence > 1s
  expect narration inside its scene
  expect cost >= 1 USD

  palette { 0:00 night #000000 #000000 }
  title 1.5s { "." }
  scene "One" {
    shot 1s "A blue orb in a void"
    say "This line is much too long for a scene of one second."
  }
  scene "Two" {
    shot 3s "The void, empty"
  }
}
"""


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "filmc.cli", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "NO_COLOR": "1"}, check=False)


def project(root: Path, name: str, text: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{name}.film").write_text(text, "utf-8")
    return root


@pytest.fixture(scope="module")
def meets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    root = project(tmp_path_factory.mktemp("meets"), "meets", MEETS)
    return root, cli("render", "meets.film", cwd=root)


@pytest.fixture(scope="module")
def misses(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    root = project(tmp_path_factory.mktemp("misses"), "misses", MISSES)
    return root, cli("render", "misses.film", cwd=root)


def verdicts(root: Path, slug: str) -> dict[str, dict[str, Any]]:
    manifest = json.loads((root / "out" / slug / "manifest.json").read_text("utf-8"))
    return {r["expectation"]["text"]: r for r in manifest["qa"]["expectations"]}


def test_a_film_that_meets_every_expectation_renders_with_exit_zero(meets: tuple[Path, object]) -> None:
    root, done = meets
    assert isinstance(done, subprocess.CompletedProcess)
    assert done.returncode == 0, done.stdout + done.stderr
    found = verdicts(root, "meets")
    assert len(found) == 8 and all(r["passed"] for r in found.values()), found
    assert -17 <= float(found["loudness -16 LUFS ±1"]["reading"]) <= -15
    assert float(found["duration 3s +-0.1s"]["reading"]) == pytest.approx(3.0, abs=0.1)
    assert "expect every line subtitled" in done.stdout and "pass" in done.stdout


def test_acceptance_loudness_minus_30_exits_5_with_a_diagnostic_at_its_line(misses: tuple[Path, object]) -> None:
    root, done = misses
    assert isinstance(done, subprocess.CompletedProcess)
    assert done.returncode == 5, done.stdout + done.stderr
    assert "error[F0810]: expected loudness -30 LUFS ±1, measured -16." in done.stderr
    assert " --> misses.film:4:3\n" in done.stderr
    assert "4 |   expect loudness -30 LUFS ±1\n  |   ^^^^^^^^^^^^^^^^^^^^^^^^^^^\n  = help: " in done.stderr
    assert (root / "out" / "misses" / "misses.mp4").is_file()   # the film and its assets are kept
    assert "FAIL" in done.stdout                                 # the QA table shows each verdict


def test_each_measure_fails_on_the_film_that_misses_it(misses: tuple[Path, object]) -> None:
    root, done = misses
    assert isinstance(done, subprocess.CompletedProcess)
    found = verdicts(root, "misses")
    assert not any(r["passed"] for r in found.values()), {t: r["measured"] for t, r in found.items()}
    black = found["no black > 0.5s"]
    assert float(black["reading"]) == pytest.approx(1.5, abs=0.15) and "from 0:00" in str(black["measured"])
    assert float(found["no silence > 1s"]["reading"]) > 1.2   # the card, or after the line
    assert float(found["duration 9s ±0.1s"]["reading"]) == pytest.approx(5.5, abs=0.1)
    assert found["narration inside its scene"]["reading"] == 1.0
    assert found["cost >= 1 USD"]["reading"] == 0.0
    lines = {line.split(":")[1] for line in done.stderr.splitlines() if line.lstrip().startswith("--> misses.film:")}
    assert lines == {"4", "5", "6", "7", "8", "9", "10"}   # every failure at its own line


def test_a_line_missing_from_the_subtitles_fails_every_line_subtitled(meets: tuple[Path, object]) -> None:
    """The written SRT, not the plan, is what is read: drop a cue and the expectation fails."""
    root, _ = meets
    checked, _, _ = load(root / "meets.film")
    out = root / "out" / "meets"
    srt = (out / "meets.srt").read_text("utf-8")
    assert "Hello there." in srt and "Again." in srt
    lines = (SpokenLine(beat_id="s01-l01", scene_id="s01", text="Hello there.", start=0.2, duration=0.8),
             SpokenLine(beat_id="s01-l02", scene_id="s01", text="Again.", start=1.8, duration=0.5))
    subtitled = [e for e in checked.expectations if e.measure == "every-line-subtitled"]
    whole = verify(checked.model_copy(update={"expectations": tuple(subtitled)}),
                   Rendered(film=str(out / "meets.mp4"), subtitles=str(out / "meets.srt"), lines=lines))
    assert whole[0].passed, whole[0].measured
    cut = root / "cut.srt"
    cut.write_text("\n\n".join(block for block in srt.strip().split("\n\n") if "Again" not in block) + "\n", "utf-8")
    broken = verify(checked.model_copy(update={"expectations": tuple(subtitled)}),
                    Rendered(film=str(out / "meets.mp4"), subtitles=str(cut), lines=lines, usd=Decimal(0)))
    assert not broken[0].passed and "s01-l02" in broken[0].measured
    (diagnostic,) = failures(broken)
    assert diagnostic.code == codes.EXPECTATION_FAILED.code and diagnostic.span.line == 9


def test_filmc_test_junit_and_json(meets: tuple[Path, object], misses: tuple[Path, object], tmp_path: Path) -> None:
    meets_root, _ = meets
    misses_root, _ = misses
    films = [str(meets_root / "meets.film"), str(misses_root / "misses.film")]
    report = tmp_path / "report.xml"
    done = cli("test", "--junit", str(report), *films, cwd=tmp_path)
    assert done.returncode == 5, done.stdout + done.stderr
    assert "8 of 15 expectation(s) met in 2 film(s)" in done.stdout
    root = ET.parse(report).getroot()
    assert root.tag == "testsuites" and root.get("tests") == "15" and root.get("failures") == "7"
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"Meets", "Misses"}
    assert [c.find("failure") is None for c in suites["Meets"].iter("testcase")] == [True] * 8
    case = next(c for c in suites["Misses"].iter("testcase") if c.get("name") == "expect loudness -30 LUFS ±1")
    failure = case.find("failure")
    assert failure is not None and "measured -16." in (failure.get("message") or "")
    assert case.get("line") == "4"
    as_json = json.loads(cli("test", "--json", films[0], cwd=tmp_path).stdout)
    assert as_json["expectations"] == 8 and as_json["failed"] == 0
    assert as_json["films"][0]["status"] == "passed"


def test_filmc_test_exit_codes(meets: tuple[Path, object], tmp_path: Path) -> None:
    meets_root, _ = meets
    assert cli("test", str(meets_root / "meets.film"), cwd=tmp_path).returncode == 0
    broken = project(tmp_path / "broken", "broken", MEETS.replace("-16 LUFS ±1", "-16 dB ±1"))
    done = cli("test", "broken.film", cwd=broken)
    assert done.returncode == 1 and "error[F0802]" in done.stderr
    assert cli("test", cwd=tmp_path).returncode == 2
