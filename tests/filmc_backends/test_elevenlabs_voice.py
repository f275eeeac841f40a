"""ElevenLabs narration through the real elevenlabs SDK against the loopback fake: each line (each chunk of a
long one) paid for once."""

from __future__ import annotations

import asyncio
import base64
import re
import wave
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from filmc.backend.protocol import BackendConfig, RemoteState, RenderContext, Setup, VoiceRequest
from filmc.cli.progress import PlainEvents
from filmc.deliver.outputs import RenderSummary
from filmc.pipeline import compile_film, render_film
from filmc_backends.elevenlabs_voice import (
    DEFAULT_MAX_CHARS,
    USD_PER_1K_CHARS,
    ElevenLabsVoice,
    length_problem,
    split_markup,
    words_of,
)
from tests.fakes.elevenlabs_fake import FakeElevenLabs, serving, speak
from tests.filmc_backends.final import ELEVENLABS_VOICE_ONLY, hello_project, render_final

KEY = "el-test-93c2d7aa-secret-value"
PROFILE = ELEVENLABS_VOICE_ONLY


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeElevenLabs]:
    with serving(KEY, monkeypatch) as server:
        yield server


def project(root: Path, edit: tuple[str, str] | None = None, voices: str = 'narrator = "voice-it-1"') -> Path:
    return hello_project(root, PROFILE.replace('narrator = "voice-it-1"', voices), edit)


def render(film: Path) -> RenderSummary:
    return render_final(film)


def test_each_line_is_spoken_once_with_its_pauses_and_word_timings(fake: FakeElevenLabs, tmp_path: Path) -> None:
    film = project(tmp_path)
    summary = render(film)
    assert {o.status for o in summary.outcomes} == {"made", "drawn"}   # the animatic shots are drawn in the picture
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


def test_a_lost_answer_is_taken_from_the_history_not_paid_for_again(fake: FakeElevenLabs, tmp_path: Path) -> None:
    fake.script.extend([429, 500])   # the 2nd request is made and billed, and its answer lost
    summary = render(project(tmp_path, voices='narrator = "voice-it-1"'))
    assert {o.status for o in summary.outcomes} == {"made", "drawn"}   # the animatic shots are drawn in the picture
    assert len(fake.billed) == 3 and fake.history_reads == 2   # three lines, each once: the list, then the audio
    possible = [e for e in summary.manifest.ledger if e.basis == "possibly-billed"]
    assert len(possible) == 1   # it was billed: the ledger says so once
    # the recovered line is the audio ElevenLabs made for it: each line as long as its text was spoken
    made = sorted(o.duration for o in summary.outcomes if o.job.startswith("voice:"))
    assert made == pytest.approx(sorted(spoken_seconds(b["text"]) for b in fake.billed), abs=0.05)


def test_a_lost_answer_is_paid_for_at_most_twice_when_history_is_off(fake: FakeElevenLabs, tmp_path: Path) -> None:
    fake.history_enabled = False
    fake.script.extend([429, 500])
    summary = render(project(tmp_path, voices='narrator = "voice-it-1"'))
    assert {o.status for o in summary.outcomes} == {"made", "drawn"}   # the animatic shots are drawn in the picture
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


# Long lines: split on sentence ends, one paid request a chunk, each kept the moment it arrives, stitched.

LONG = ("Warm at last. The orb glows [pause 0.5s] like a small sun! Does it remember the dark? "
        "Perhaps… it does. «Vieni qui.» Disse lei, piano.")
LONG_MARKUP = ('Warm at last. The orb glows <break time="0.5s"/> like a small sun! Does it remember the dark? '
               "Perhaps… it does. «Vieni qui.» Disse lei, piano.")
CHUNKS = ["Warm at last.", 'The orb glows <break time="0.5s"/> like a small sun!',
          "Does it remember the dark? Perhaps… it does. «Vieni qui.»", "Disse lei, piano."]
SHORT_CHUNKS = PROFILE + '[profile.final.voice]\noptions = { max_chars = 60 }\n'
LONG_JOB = "voice:s03-l01"


def long_project(root: Path) -> Path:
    return hello_project(root, SHORT_CHUNKS, ("Warm at last.", LONG))


def spoken_seconds(text: str) -> float:
    return len(base64.b64decode(speak(text)["audio_base64"])) / 2 / 44100


def long_line_texts(fake: FakeElevenLabs) -> list[str]:
    return [b["text"] for b in fake.billed if b["text"] in CHUNKS]


def test_a_long_line_is_spoken_in_sentence_chunks_and_stitched(fake: FakeElevenLabs, tmp_path: Path) -> None:
    summary = render(long_project(tmp_path))
    assert {o.status for o in summary.outcomes} == {"made", "drawn"}   # the animatic shots are drawn in the picture
    assert long_line_texts(fake) == CHUNKS   # in order, one request each
    assert " ".join(CHUNKS) == LONG_MARKUP
    for text in CHUNKS:
        assert len(text) <= 60 and text.rstrip("»")[-1] in ".!?…"   # each ends a sentence
        assert text.count("<") == text.count(">") and text.count("[") == text.count("]")   # no tag cut
    bodies = [b for b in fake.billed if b["text"] in CHUNKS]
    assert "previous_text" not in bodies[0] and bodies[0]["next_text"] == CHUNKS[1]
    assert bodies[2]["previous_text"] == CHUNKS[1] and bodies[2]["next_text"] == CHUNKS[3]
    assert "next_text" not in bodies[3]
    shorts = [b for b in fake.billed if b["text"] not in CHUNKS]   # the short lines: one request each, as before
    assert len(shorts) == 2 and not any("previous_text" in b or "next_text" in b for b in shorts)
    line = next(o for o in summary.outcomes if o.job == LONG_JOB)
    total = sum(spoken_seconds(text) for text in CHUNKS)
    with wave.open(line.path or "") as wav:
        assert abs(wav.getnframes() / 44100 - total) < 1e-3 and abs((line.duration or 0) - total) < 1e-3
    estimated = [e for e in summary.manifest.ledger if e.job == LONG_JOB]
    assert [e.basis for e in estimated] == ["estimated"] * 5   # each chunk as it was spoken, then the line ($0)
    billed = USD_PER_1K_CHARS * sum(len(c) for c in CHUNKS) / 1000      # the chunks' characters, none twice
    assert abs(sum(e.usd for e in estimated) - billed) < Decimal("0.001") and estimated[-1].usd == 0


def test_stitched_words_are_continuous_and_end_with_the_audio(fake: FakeElevenLabs, tmp_path: Path) -> None:
    backend = ElevenLabsVoice(BackendConfig(backend="elevenlabs", options={"max_chars": 60}),
                              Setup(project_dir=tmp_path, cache_dir=tmp_path))
    journal: list[RemoteState] = []
    ctx = RenderContext(workdir=tmp_path, scratch=tmp_path / "scratch", journal_remote=journal.append)
    request = VoiceRequest(text=LONG, markup=LONG_MARKUP, language="it", voice="voice-it-1")
    result = asyncio.run(backend.render(request, tmp_path / "line.wav", ctx))
    assert [b["text"] for b in fake.billed] == CHUNKS and len(journal) == 1
    assert journal[0].operation.startswith("chunks-")
    total = sum(spoken_seconds(text) for text in CHUNKS)
    assert abs(result.duration - total) < 1e-3
    plain = re.sub(r"<[^>]*>", " ", LONG_MARKUP).split()
    assert [w.word for w in result.words] == plain
    times = [t for w in result.words for t in (w.start, w.end)]
    assert times == sorted(times)   # monotonic across chunks
    assert abs(result.words[-1].end - result.duration) < 0.1
    second = next(w for w in result.words if w.word == "The")
    assert second.start >= spoken_seconds(CHUNKS[0]) - 1e-3   # the 2nd chunk is timed after the 1st's audio
    # Spoken again from what is kept: nothing is paid for twice.
    resumed = RenderContext(workdir=tmp_path, scratch=tmp_path / "scratch", known_remote=journal[0])
    again = asyncio.run(backend.render(request, tmp_path / "again.wav", resumed))
    assert again == result and len(fake.billed) == len(CHUNKS)


def test_a_lost_chunk_answer_comes_from_the_history_and_the_rest_are_spoken(fake: FakeElevenLabs,
                                                                              tmp_path: Path) -> None:
    fake.text_faults.append(("like a small sun", 500))   # the 2nd chunk is made, billed, and its answer lost
    summary = render(long_project(tmp_path))
    assert {o.status for o in summary.outcomes} == {"made", "drawn"}   # the animatic shots are drawn in the picture
    assert Counter(long_line_texts(fake)) == {CHUNKS[0]: 1, CHUNKS[1]: 1, CHUNKS[2]: 1, CHUNKS[3]: 1}
    lost = [e for e in summary.manifest.ledger if e.job == LONG_JOB and e.basis == "possibly-billed"]
    assert [e.usd for e in lost] == [USD_PER_1K_CHARS * len(CHUNKS[1]) / 1000]


def test_a_lost_chunk_answer_is_paid_for_again_alone(fake: FakeElevenLabs, tmp_path: Path) -> None:
    fake.history_enabled = False
    fake.text_faults.append(("like a small sun", 500))   # the 2nd chunk is made, billed, and its answer lost
    summary = render(long_project(tmp_path))
    assert {o.status for o in summary.outcomes} == {"made", "drawn"}   # the animatic shots are drawn in the picture
    assert Counter(long_line_texts(fake)) == {CHUNKS[0]: 1, CHUNKS[1]: 2, CHUNKS[2]: 1, CHUNKS[3]: 1}
    lost = [e for e in summary.manifest.ledger if e.job == LONG_JOB and e.basis == "possibly-billed"]
    assert [e.usd for e in lost] == [USD_PER_1K_CHARS * len(CHUNKS[1]) / 1000]   # that chunk, not the line


def test_a_failed_chunk_then_a_rerender_pays_only_for_the_chunks_not_kept(fake: FakeElevenLabs,
                                                                          tmp_path: Path) -> None:
    film = long_project(tmp_path)
    fake.text_faults.append(("like a small sun", 422))   # the 2nd chunk refused: the job fails half-way
    first = render(film)
    failed = next(o for o in first.outcomes if o.job == LONG_JOB)
    assert failed.status == "failed" and "chunk 2 of 4" in (failed.error or "")
    assert long_line_texts(fake) == CHUNKS[:1]
    paid = [e.what for e in first.manifest.ledger if e.job == LONG_JOB]
    assert paid == ["elevenlabs: chunk 1 of 4 spoken"]   # the failed render's ledger holds what it paid for
    summary = render(film)
    assert next(o for o in summary.outcomes if o.job == LONG_JOB).status == "made"
    assert Counter(long_line_texts(fake)) == Counter(CHUNKS)   # the 1st chunk, kept, was not asked again
    assert [b["text"] for b in fake.spoken if b["text"] in CHUNKS] == [CHUNKS[0], CHUNKS[1], *CHUNKS[1:]]


def test_a_chunk_whose_audio_disagrees_with_its_words_is_named_and_recreated_alone(fake: FakeElevenLabs,
                                                                                   tmp_path: Path) -> None:
    film = long_project(tmp_path)
    fake.short_audio.append(("Perhaps", 1.5))   # the 3rd chunk's audio stops 1.5 s before its last word
    first = render(film)
    failed = next(o for o in first.outcomes if o.job == LONG_JOB)
    assert failed.status == "failed" and "chunk 3 of 4" in (failed.error or "") and "--recreate" in (failed.error or "")
    assert render(film).outcomes and len(long_line_texts(fake)) == 4   # not paid again unasked
    plan, _ = asyncio.run(compile_film(film, "final"))
    summary = asyncio.run(render_film(plan, out_dir=tmp_path / "out", events=PlainEvents(), max_cost=Decimal(5),
                                      backoff=0.01, recreate=frozenset({LONG_JOB})))
    line = next(o for o in summary.outcomes if o.job == LONG_JOB)
    assert line.status == "made" and abs((line.duration or 0) - sum(spoken_seconds(t) for t in CHUNKS)) < 1e-3
    assert Counter(long_line_texts(fake)) == {CHUNKS[0]: 1, CHUNKS[1]: 1, CHUNKS[2]: 2, CHUNKS[3]: 1}


def test_max_chars_is_refused_beyond_the_models_limit_per_request(tmp_path: Path) -> None:
    setup = Setup(project_dir=tmp_path, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="max_chars"):
        ElevenLabsVoice(BackendConfig(backend="elevenlabs", options={"max_chars": 20000}), setup)
    assert ElevenLabsVoice(BackendConfig(backend="elevenlabs"), setup).max_chars == DEFAULT_MAX_CHARS


@pytest.mark.parametrize(("markup", "limit", "chunks"), [
    ("Short, within the limit. Kept as written.", 800, ["Short, within the limit. Kept as written."]),
    ('One. Two <break time="1.5s"/> three. Four.', 32, ["One.", 'Two <break time="1.5s"/> three.', "Four."]),
    ("Ciao. [long pause] Come stai? Bene.", 24, ["Ciao.", "[long pause] Come stai?", "Bene."]),
    ("«Vieni qui.» Disse lei. E poi? Niente…", 20, ["«Vieni qui.»", "Disse lei. E poi?", "Niente…"]),
    ("See e.g. this one. Perhaps… it does.", 20, ["See e.g. this one.", "Perhaps… it does."]),
    ("你好。我很好！你呢？好的。", 6, ["你好。", "我很好！", "你呢？好的。"]),
    ('A <prosody rate="slow">b. C.</prosody> d. E.', 12, ["A", '<prosody rate="slow">b. C.</prosody>', "d. E."]),
    ("a long sentence, with a comma late enough, runs on and on", 45,
     ["a long sentence, with a comma late enough,", "runs on and on"]),
    ("no commas here at all just words running on", 20, ["no commas here at", "all just words", "running on"]),
    ("so [sighs] tired of it all", 14, ["so", "[sighs] tired", "of it all"]),
    ("abcdefghij klm", 6, ["abcdef", "ghij", "klm"]),   # a word longer than the limit: cut
    ('One two. Three. <break time="1.5s"/>', 10, ["One two.", 'Three. <break time="1.5s"/>']),   # no lone pause
    ("[sighs] Well. Yes.", 6, ["[sighs] Well.", "Yes."]),
])
def test_lines_are_split_on_sentence_ends_and_never_inside_markup(markup: str, limit: int,
                                                                  chunks: list[str]) -> None:
    assert split_markup(markup, limit) == chunks


def test_a_chunks_length_is_checked_against_its_words_allowing_its_trailing_silence() -> None:
    assert length_problem("Hello.", 1.2, 1.0) == ""
    assert "3.50 s of audio" in length_problem("Hello.", 3.5, 1.0)   # on 2.5 s past the last word
    assert length_problem('Hello. <break time="1.5s"/>', 4.4, 1.0) == ""   # the break's 1.5 s are silence
    assert length_problem("Hello.", 0.3, 1.0) != ""
    assert length_problem("Hello.", 5.0, None) == ""   # no alignment: nothing to check against
