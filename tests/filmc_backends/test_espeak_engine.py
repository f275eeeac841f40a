"""The scratch voice makes real, decodable speech whose timings, pauses and emphasis can be relied on."""

from __future__ import annotations

import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from filmc_backends.espeak_engine import (
    Pause,
    SpeechResult,
    Spoken,
    _espeak,
    _voice_for,
    synthesize,
)

Audio = npt.NDArray[np.float64]
ITALIAN = "L'umanità si è spenta in una notte di settembre senza fare rumore"
QUIET = 64  # |sample| at or below this (-54 dBFS) is near-silence


def _read(path: Path, result: SpeechResult) -> Audio:
    """Decode with the stdlib alone, checking the format the assembler relies on."""
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, result.sample_rate)
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float64)
    assert len(samples) / result.sample_rate == pytest.approx(result.duration, abs=1e-9)
    return samples


def _rms(x: Audio) -> float:
    return float(np.sqrt(np.mean(x**2))) if len(x) else 0.0


def _longest_quiet(x: Audio, rate: int) -> tuple[float, float]:
    """(start, length) in seconds of the longest run of 10 ms windows that are all near-silent."""
    win = rate // 100
    loud = np.abs(x[: len(x) // win * win]).reshape(-1, win).max(axis=1) > QUIET
    best, best_at, run = 0, 0, 0
    for i, is_loud in enumerate(loud):
        run = 0 if is_loud else run + 1
        if run > best:
            best, best_at = run, i - run + 1
    return best_at * win / rate, best * win / rate


def _f0(x: Audio, rate: int) -> float:
    """Crude autocorrelation pitch of the loudest 4000 samples; enough to tell low from high."""
    centre = int(np.argmax(np.convolve(np.abs(x), np.ones(4000), "valid")))
    frame = x[centre : centre + 4000] - x[centre : centre + 4000].mean()
    corr = np.correlate(frame, frame, "full")[len(frame) - 1 :]
    lo, hi = rate // 400, rate // 60
    return rate / (lo + int(np.argmax(corr[lo:hi])))


def test_italian_sentence_is_plausible_audible_speech(tmp_path: Path) -> None:
    out = tmp_path / "it.wav"
    result = synthesize([Spoken(text=ITALIAN)], "it", out)
    samples = _read(out, result)
    n_words = len(ITALIAN.split())
    assert result.sample_rate == 22050
    assert 0.2 * n_words <= result.duration <= 1.0 * n_words
    assert _rms(samples) > 800  # speech sits near -25 dBFS; silence or a broken callback is ~0
    assert np.abs(samples).max() < 32767  # not clipped


def test_word_timings_are_ordered_complete_and_inside_the_audio(tmp_path: Path) -> None:
    result = synthesize([Spoken(text=ITALIAN)], "it-IT", tmp_path / "it.wav")
    assert [w.word for w in result.words] == ITALIAN.split()
    previous_end = 0.0
    for w in result.words:
        assert previous_end <= w.start < w.end <= result.duration
        previous_end = w.end
    assert result.words[-1].start > result.duration / 2  # timings spread over the audio, not bunched


def test_pause_is_exact_silence_in_the_right_place_and_shifts_later_words(tmp_path: Path) -> None:
    def parts(pause: float) -> list[Spoken | Pause]:
        return [Spoken(text="Il mondo tace."), Pause(seconds=pause), Spoken(text="Poi, niente.")]

    paused = synthesize(parts(0.8), "it", tmp_path / "paused.wav")
    # The baseline keeps the same two utterances with no silence between them. (Without the Pause the runs
    # would be one utterance, and espeak would put its own ~0.3 s sentence gap there instead.)
    joined = synthesize(parts(0.0), "it", tmp_path / "joined.wav")
    samples = _read(tmp_path / "paused.wav", paused)
    quiet_at, quiet_for = _longest_quiet(samples, paused.sample_rate)
    tace, poi = paused.words[2], paused.words[3]
    assert quiet_for >= 0.75
    assert tace.start < quiet_at <= tace.end + 0.02  # silence begins as "tace." stops...
    assert poi.start <= quiet_at + quiet_for <= poi.start + 0.1  # ...and lasts until "Poi" (its P is a stop)
    # espeak itself drifts by up to ~20 ms between identical calls, hence the tolerances.
    shift = [p.start - j.start for p, j in zip(paused.words, joined.words, strict=True)]
    assert shift[:3] == pytest.approx([0.0, 0.0, 0.0], abs=0.03)
    assert shift[3:] == pytest.approx([0.8, 0.8], abs=0.03)
    assert paused.duration - joined.duration == pytest.approx(0.8, abs=0.03)


def test_pause_alone_is_exactly_that_many_zero_samples(tmp_path: Path) -> None:
    out = tmp_path / "silence.wav"
    result = synthesize([Pause(seconds=0.5)], "it", out)
    samples = _read(out, result)
    assert result.duration == 0.5 and result.words == ()
    assert not samples.any()


def test_faster_pace_gives_shorter_audio(tmp_path: Path) -> None:
    fast = synthesize([Spoken(text=ITALIAN)], "it", tmp_path / "fast.wav", pace=1.3)
    slow = synthesize([Spoken(text=ITALIAN)], "it", tmp_path / "slow.wav", pace=0.8)
    assert fast.duration < 0.8 * slow.duration


def test_higher_pitch_setting_raises_the_voice(tmp_path: Path) -> None:
    low = synthesize([Spoken(text=ITALIAN)], "it", tmp_path / "low.wav", pitch=10)
    high = synthesize([Spoken(text=ITALIAN)], "it", tmp_path / "high.wav", pitch=90)
    f0_low = _f0(_read(tmp_path / "low.wav", low), low.sample_rate)
    f0_high = _f0(_read(tmp_path / "high.wav", high), high.sample_rate)
    assert f0_high > 1.3 * f0_low


def test_emphasised_word_is_louder_than_the_same_word_unstressed(tmp_path: Path) -> None:
    def word_rms(emphasis: bool, name: str) -> float:
        parts = [Spoken(text="Dico che è"), Spoken(text="estinta", emphasis=emphasis), Spoken(text="ormai.")]
        result = synthesize(parts, "it", tmp_path / name)
        word = next(w for w in result.words if w.word == "estinta")
        samples = _read(tmp_path / name, result)
        return _rms(samples[int(word.start * result.sample_rate) : int(word.end * result.sample_rate)])

    assert word_rms(True, "stressed.wav") > 1.3 * word_rms(False, "plain.wav")


def test_unknown_language_is_a_value_error_naming_alternatives(tmp_path: Path) -> None:
    out = tmp_path / "never.wav"
    with pytest.raises(ValueError, match=r"'xx-YY'.*available include .*\bit\b"):
        synthesize([Spoken(text="ciao")], "xx-YY", out)
    assert not out.exists()


def test_unknown_voice_variant_is_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="variant 'no-such-variant'"):
        synthesize([Spoken(text="ciao")], "it", tmp_path / "v.wav", voice_variant="no-such-variant")


def test_language_tags_pick_the_matching_espeak_voice() -> None:
    engine = _espeak()
    assert _voice_for(engine, "it", None) == "roa/it"
    assert _voice_for(engine, "it-IT", None) == "roa/it"
    assert _voice_for(engine, "en-US", "f3") == "gmw/en-US+f3"
    assert _voice_for(engine, "en_GB", None) == "gmw/en"


def test_accents_and_curly_quotes_survive(tmp_path: Path) -> None:
    text = "L\u2019umanità è estinta. «Perché?» chiese \u201clei\u201d."  # curly quotes as escapes: RUF001
    out = tmp_path / "quotes.wav"
    result = synthesize([Spoken(text=text)], "it", out)
    assert [w.word for w in result.words] == text.split()
    assert _rms(_read(out, result)) > 800


def test_markup_characters_are_spoken_text_not_ssml(tmp_path: Path) -> None:
    text = 'Tom & Jerry: 3 < 5 > 2 </speak> <break time="3s"/> fine'
    out = tmp_path / "markup.wav"
    result = synthesize([Spoken(text=text, emphasis=True)], "en", out)
    samples = _read(out, result)
    assert _longest_quiet(samples, result.sample_rate)[1] < 1.0  # an obeyed <break> would be 3 s of silence
    spoken = [w.word for w in result.words]
    assert spoken[:3] == ["Tom", "&", "Jerry:"] and spoken[-1] == "fine"


def test_concurrent_calls_match_serial_ones(tmp_path: Path) -> None:
    jobs = [("it", ITALIAN), ("en", "The last light goes out over the sleeping city")] * 4

    def run(i: int) -> tuple[float, tuple[str, ...]]:
        language, text = jobs[i]
        result = synthesize([Spoken(text=text)], language, tmp_path / f"{i}.wav", pace=1.0 + i / 10)
        return result.duration, tuple(w.word for w in result.words)

    serial = [run(i) for i in range(len(jobs))]
    with ThreadPoolExecutor(max_workers=8) as pool:
        threaded = list(pool.map(run, range(len(jobs))))
    for (d_serial, w_serial), (d_threaded, w_threaded) in zip(serial, threaded, strict=True):
        assert w_threaded == w_serial
        assert d_threaded == pytest.approx(d_serial, abs=0.04)  # espeak drifts ~20 ms run to run


@pytest.mark.parametrize("pace", [0.0, -1.0, float("nan"), float("inf")])
def test_nonsense_pace_is_rejected(tmp_path: Path, pace: float) -> None:
    with pytest.raises(ValueError, match="pace"):
        synthesize([Spoken(text="ciao")], "it", tmp_path / "p.wav", pace=pace)
