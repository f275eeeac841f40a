"""ElevenLabs music through the real elevenlabs SDK against the loopback fake: the cues as a plan, paid once."""

from __future__ import annotations

import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from filmc.backend.protocol import BackendError, MusicSection
from filmc.deliver.outputs import RenderSummary
from filmc_backends.elevenlabs_music import composition_sections
from tests.fakes.elevenlabs_fake import FakeElevenLabs, serving
from tests.filmc_backends.final import hello_project, render_final

KEY = "el-test-0f5a11c3-music-secret"
PROFILE = """
[profile.final.expand]
backend = "template"
[profile.final.video]
backend = "animatic"
[profile.final.voice]
backend = "espeak"
"""


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeElevenLabs]:
    with serving(KEY, monkeypatch) as server:
        yield server


def render(root: Path) -> RenderSummary:
    return render_final(hello_project(root, PROFILE))


def test_the_score_is_composed_once_from_the_cues_to_the_films_length(fake: FakeElevenLabs, tmp_path: Path) -> None:
    summary = render(tmp_path)
    assert {o.status for o in summary.outcomes} == {"made", "drawn"}   # the animatic shots are drawn in the picture
    [plan] = [s["composition_plan"] for s in fake.scores]
    assert sum(s["duration_ms"] for s in plan["sections"]) == 8000   # hello.film lasts 8 s
    assert all("vocals" in s for s in [plan["negative_global_styles"]])
    score = next(o for o in summary.outcomes if o.job == "music:score")
    with wave.open(score.path or "") as wav:
        assert wav.getframerate() == 48000 and wav.getnframes() == 8 * 48000
    render(tmp_path)
    assert len(fake.scores) == 1   # unchanged: not composed again


def test_a_track_that_misses_its_plan_is_refused_not_stretched(fake: FakeElevenLabs, tmp_path: Path) -> None:
    fake.score_offset = 3.0
    summary = render(tmp_path)
    score = next(o for o in summary.outcomes if o.job == "music:score")
    assert score.status == "failed" and "composed 11.0s for a 8.0s plan" in (score.error or "")
    assert "--recreate music:score" in (score.error or "")
    assert len(fake.scores) == 1


def test_a_small_miss_is_conformed_to_the_exact_length(fake: FakeElevenLabs, tmp_path: Path) -> None:
    fake.score_offset = -0.5
    score = next(o for o in render(tmp_path).outcomes if o.job == "music:score")
    with wave.open(score.path or "") as wav:
        assert wav.getnframes() == 8 * 48000   # the last half second is silence


def section(start: float, end: float) -> MusicSection:
    return MusicSection(start=start, end=end, description="pads", intensity=0.4)


def test_cue_sections_fit_the_apis_section_lengths() -> None:
    planned = composition_sections((section(0, 1.5), section(1.5, 200.0), section(200.0, 201.0)), 201.0)
    assert sum(s.duration_ms for s in planned) == 201000
    assert all(3000 <= s.duration_ms <= 120000 for s in planned)
    assert [s.name for s in planned] == ["cue 2 part 1", "cue 2 part 2"]   # the short cues joined their neighbour
    with pytest.raises(BackendError, match="3 to 120 s"):
        composition_sections((section(0, 2.0),), 2.0)


def test_a_stereo_track_is_read_as_stereo(fake: FakeElevenLabs, tmp_path: Path) -> None:
    fake.score_channels = 2
    score = next(o for o in render(tmp_path).outcomes if o.job == "music:score")
    assert score.status == "made"
    with wave.open(score.path or "") as wav:
        assert wav.getnchannels() == 2 and wav.getnframes() == 8 * 48000
