"""ElevenLabs narration through the real elevenlabs SDK against the loopback fake: each line paid for once."""

from __future__ import annotations

import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from filmc.deliver.outputs import RenderSummary
from filmc_backends.elevenlabs_voice import words_of
from tests.fakes.elevenlabs_fake import FakeElevenLabs
from tests.filmc_backends.final import hello_project, render_final

KEY = "el-test-93c2d7aa-secret-value"
PROFILE = """
[profile.final]
voices = { narrator = "voice-it-1" }
[profile.final.expand]
backend = "template"
[profile.final.video]
backend = "animatic"
[profile.final.music]
backend = "synth"
"""


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeElevenLabs]:
    with FakeElevenLabs(api_key=KEY) as server:
        monkeypatch.setenv("ELEVENLABS_API_KEY", KEY)
        monkeypatch.setenv("ELEVENLABS_BASE_URL", server.base_url)
        yield server


def project(root: Path, edit: tuple[str, str] | None = None, voices: str = 'narrator = "voice-it-1"') -> Path:
    return hello_project(root, PROFILE.replace('narrator = "voice-it-1"', voices), edit)


def render(film: Path) -> RenderSummary:
    return render_final(film)


def test_each_line_is_spoken_once_with_its_pauses_and_word_timings(fake: FakeElevenLabs, tmp_path: Path) -> None:
    film = project(tmp_path)
    summary = render(film)
    assert {o.status for o in summary.outcomes} == {"made"}
    assert len(fake.billed) == 3 and {b["model_id"] for b in fake.billed} == {"eleven_multilingual_v2"}
    assert 'Something <break time="0.3s"/> changes.' in [b["text"] for b in fake.billed]  # v2 takes SSML breaks
    line = next(o for o in summary.outcomes if o.job == "voice:s02-l01")
    with wave.open(line.path or "") as wav:
        assert wav.getframerate() == 44100 and abs(wav.getnframes() / 44100 - line.duration) < 0.01
    srt = (tmp_path / "out" / "hello.srt").read_text("utf-8")
    assert "Something changes." in srt and "Hello, world." in srt
    assert len([e for e in summary.manifest.ledger if e.basis == "estimated"]) == 3


def test_an_unchanged_film_asks_nothing_and_an_edited_line_asks_once(fake: FakeElevenLabs, tmp_path: Path) -> None:
    render(project(tmp_path))
    render(project(tmp_path))
    assert len(fake.billed) == 3 and fake.requests == 3
    render(project(tmp_path, edit=("Warm at last.", "Warm, at last.")))
    assert len(fake.billed) == 4 and fake.billed[-1]["text"] == "Warm, at last."


def test_a_lost_answer_is_paid_for_at_most_twice_and_both_are_in_the_ledger(fake: FakeElevenLabs,
                                                                             tmp_path: Path) -> None:
    fake.script.extend([429, 500])
    summary = render(project(tmp_path, voices='narrator = "voice-it-1"'))
    assert {o.status for o in summary.outcomes} == {"made"}
    assert len(fake.billed) == 4  # three lines, and the one whose answer was lost
    assert [e.basis for e in summary.manifest.ledger].count("possibly-billed") == 1


def test_an_unmapped_voice_says_how_to_map_it_and_nothing_leaks(fake: FakeElevenLabs, tmp_path: Path,
                                                               capfd: pytest.CaptureFixture[str]) -> None:
    summary = render(project(tmp_path, voices='someone = "voice-it-1"'))
    failed = [o for o in summary.outcomes if o.status == "failed"]
    assert len(failed) == 3 and "voices = { name = \"<voice id>\" }" in (failed[0].error or "")
    assert fake.billed == []
    captured = capfd.readouterr()
    assert KEY not in captured.out + captured.err
    assert [p for p in tmp_path.rglob("*") if p.is_file() and KEY.encode() in p.read_bytes()] == []


def test_words_are_timed_from_their_characters_and_markup_is_not_a_word() -> None:
    text = 'Ciao <break time="0.3s"/> mondo'
    starts = [i * 0.1 for i in range(len(text))]
    words = words_of(list(text), starts, [s + 0.1 for s in starts])
    assert [(w.word, w.start, round(w.end, 4)) for w in words] == [("Ciao", 0.0, 0.4), ("mondo", 2.6, 3.1)]
