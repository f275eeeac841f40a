"""The temp-score synthesiser, judged by listening with numpy: real WAVs, a few seconds each."""

from __future__ import annotations

import tracemalloc
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from filmc_backends import synth_engine
from filmc_backends.synth_engine import ScoreSection, orchestral_weight, render_score

SR = 48000
ELECTRONIC = ("dystopian electronic soundscape", "analog synth pulses, sub bass, glassy pads")
ORCHESTRAL = ("emotional orchestral crescendo", "strings, swell, warm harmony")
MINUS_1_DBFS = 10 ** (-1 / 20)

Audio = npt.NDArray[np.float64]


def cue(start: float, end: float, words: tuple[str, str], intensity: float) -> ScoreSection:
    return ScoreSection(start=start, end=end, description=words[0], instruments=words[1], intensity=intensity)


def render(tmp_path: Path, sections: list[ScoreSection], duration: float, *, seed: int = 0) -> Path:
    out = tmp_path / f"score-{len(list(tmp_path.iterdir()))}.wav"
    render_score(sections, duration, out, sample_rate=SR, seed=seed)
    return out


def samples(path: Path) -> Audio:
    """Frames x channels, full scale = 1.0."""
    with wave.open(str(path), "rb") as w:
        raw = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return raw.reshape(-1, w.getnchannels()).astype(np.float64) / 32768.0


def rms(x: Audio) -> float:
    return float(np.sqrt(np.mean(x**2)))


def highpass(x: Audio, cutoff: float) -> Audio:
    """Brick-wall FFT high-pass: a click is broadband, while this synth puts almost nothing up there."""
    spectrum = np.fft.rfft(x, axis=0)
    spectrum[np.fft.rfftfreq(len(x), 1 / SR) < cutoff] = 0
    return np.fft.irfft(spectrum, len(x), axis=0)


def pulse_depth(x: Audio) -> float:
    """How hard the sound pulses: the 2-12 Hz part of its amplitude envelope, relative to the envelope's mean.

    The envelope is the 10-ms RMS of the mono mix above 200 Hz, so the sub bass does not dominate it; 2-12 Hz
    holds the 90-BPM eighths (3 Hz) and sixteenths (6 Hz). Sequenced pulses modulate it deeply; bowed strings
    only shimmer there (vibrato, detuned players beating).
    """
    env = np.sqrt(np.mean(highpass(x.mean(axis=1, keepdims=True), 200.0)[:, 0].reshape(-1, 480) ** 2, axis=1))
    spectrum = np.fft.rfft(env - env.mean())
    freqs = np.fft.rfftfreq(len(env), 480 / SR)
    spectrum[(freqs < 2) | (freqs > 12)] = 0
    return float(np.sqrt(np.mean(np.fft.irfft(spectrum, len(env)) ** 2)) / env.mean())


def centroid(x: Audio) -> float:
    """Spectral centroid in Hz of the mono mix: low for sub bass under thin pulses, higher for strings."""
    power = np.abs(np.fft.rfft(x.mean(axis=1))) ** 2
    return float((power * np.fft.rfftfreq(len(x), 1 / SR)).sum() / power.sum())


# ---- keyword palette ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("description", "instruments", "expected"),
    [
        (*ELECTRONIC, 0.0),
        (*ORCHESTRAL, 1.0),
        ("tense and quiet", "", 0.5),
        ("", "", 0.5),
        ("strings over a synth", "", 0.5),
        ("Cello and VIOLINS", "French horns, timpani", 1.0),
        ("glitchy", "sub-bass drones, digital noise", 0.0),
        ("piano with a soft analog drone", "choir", 0.5),
    ],
)
def test_orchestral_weight_from_keywords(description: str, instruments: str, expected: float) -> None:
    assert orchestral_weight(description, instruments) == pytest.approx(expected)


def test_orchestral_weight_leans_with_the_balance_of_words() -> None:
    mostly_strings = orchestral_weight("strings, cellos and a distant synth", "violins")
    mostly_synth = orchestral_weight("synth pulses and a digital drone", "strings")
    assert 0.5 < mostly_strings < 1.0
    assert 0.0 < mostly_synth < 0.5


# ---- the WAV itself ----------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("duration", [4.0, 4.3217, 0.01])
def test_writes_exact_frames_of_16_bit_stereo_at_48k(tmp_path: Path, duration: float) -> None:
    out = render(tmp_path, [cue(0, duration, ELECTRONIC, 0.5)], duration)
    with wave.open(str(out), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, SR)
        assert w.getnframes() == round(duration * SR)
        assert len(w.readframes(w.getnframes() + 10)) == round(duration * SR) * 4


@pytest.mark.slow
def test_is_music_not_silence(tmp_path: Path) -> None:
    x = samples(render(tmp_path, [cue(0, 4, ELECTRONIC, 0.3)], 4))
    assert rms(x) > 10 ** (-40 / 20)
    assert np.std(x[:, 0] - x[:, 1]) > 1e-3  # stereo, not two copies of mono


@pytest.mark.slow
def test_never_clips_and_keeps_1_db_of_headroom(tmp_path: Path) -> None:
    loud = [cue(0, 3, ELECTRONIC, 1.0), cue(3, 6, ("strings and synth", ""), 1.0), cue(6, 9, ORCHESTRAL, 1.0)]
    x = samples(render(tmp_path, loud, 9))
    assert np.abs(x).max() <= MINUS_1_DBFS
    assert rms(x) > 10 ** (-24 / 20)  # the headroom is not bought by playing quietly


def test_limiter_holds_any_mix_under_minus_1_dbfs() -> None:
    n = np.arange(SR, dtype=np.int64)
    score = synth_engine._Score(
        sr=SR,
        frames=10 * SR,
        seed=0,
        timeline=synth_engine.timeline([]),
        detune=np.zeros(3),
        vib_rate=np.ones(3),
        vib_phase=np.zeros(3),
        pan=np.zeros(3),
    )
    hot = (4.0 * np.sin(2 * np.pi * 50 * n / SR)).astype(np.float32)
    pcm = np.frombuffer(synth_engine._master(score, n, (hot, -hot)), dtype="<i2")
    assert np.abs(pcm).max() <= MINUS_1_DBFS * 32767
    assert np.abs(pcm).max() > 0.95 * MINUS_1_DBFS * 32767


@pytest.mark.slow
def test_same_inputs_give_the_same_bytes(tmp_path: Path) -> None:
    sections = [cue(0, 3, ELECTRONIC, 0.4), cue(3, 6, ORCHESTRAL, 0.9)]
    first, second = render(tmp_path, sections, 6, seed=7), render(tmp_path, sections, 6, seed=7)
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.slow
def test_another_seed_gives_another_take(tmp_path: Path) -> None:
    sections = [cue(0, 3, ELECTRONIC, 0.4), cue(3, 6, ORCHESTRAL, 0.9)]
    a, b = samples(render(tmp_path, sections, 6, seed=1)), samples(render(tmp_path, sections, 6, seed=2))
    assert rms(a - b) > 0.1 * rms(a)


@pytest.mark.slow
@pytest.mark.parametrize("block_seconds", [0.37, 1.0, 2.9113, 100.0, 12345 / SR])  # the last: blocks of odd length
@pytest.mark.parametrize("gap", [False, True], ids=["cues", "gap"])  # a silent gap empties the echo's tape
def test_block_size_changes_not_a_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block_seconds: float, gap: bool
) -> None:
    """Half-rate voices and the echo's tape are where blocks could leak into bytes: odd starts, a restart."""
    sections = [cue(0, 2.5, ELECTRONIC, 0.3), cue(2.5, 7, ORCHESTRAL, 0.95)]
    if gap:
        sections = [cue(0, 2.5, ELECTRONIC, 0.9), cue(5.5, 7, ELECTRONIC, 0.6)]
    reference = render(tmp_path, sections, 7, seed=3).read_bytes()
    monkeypatch.setattr(synth_engine, "_BLOCK_SECONDS", block_seconds)
    assert render(tmp_path, sections, 7, seed=3).read_bytes() == reference


@pytest.mark.slow
def test_memory_does_not_grow_with_duration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(synth_engine, "_HEAP_WARMUP", 0)  # an 8 MiB array never touched would hide the rest
    render(tmp_path, [cue(0, 1, ELECTRONIC, 0.5)], 1)  # first-call allocations are not the score's
    peaks = []
    for duration in (6.0, 30.0):
        tracemalloc.start()
        render(tmp_path, [cue(0, duration, ("strings and synth pulses", ""), 0.8)], duration)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    # 24 more seconds of stereo float32 would be +9 MB; the whole 30-s float signal alone is 11.5 MB.
    assert peaks[1] < peaks[0] * 1.15


# ---- how it sounds -------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("before", "after"),
    [
        (cue(0, 4, ORCHESTRAL, 0.2), cue(4, 8, ORCHESTRAL, 1.0)),  # smooth strings: a click would stand out
        (cue(0, 4, ORCHESTRAL, 1.0), cue(4, 8, ORCHESTRAL, 0.2)),
        (cue(0, 4, ELECTRONIC, 0.9), cue(4, 8, ORCHESTRAL, 0.9)),
    ],
    ids=["crescendo", "drop", "palette-change"],
)
def test_section_boundary_has_no_click(tmp_path: Path, before: ScoreSection, after: ScoreSection) -> None:
    x = samples(render(tmp_path, [before, after], 8))
    at, near = 4 * SR, SR // 100  # +-10 ms around the boundary
    inner = slice(SR // 20, -SR // 20)  # leave out the fades at both ends
    for signal in (x, highpass(x, 8000.0)):
        jump = np.abs(np.diff(signal, axis=0)).max(axis=1)
        elsewhere = np.concatenate([jump[: at - near], jump[at + near :]])[inner].max()
        assert jump[at - near : at + near].max() <= elsewhere
    assert np.abs(np.diff(x, axis=0)).max() < 0.5 * np.abs(x).max()


@pytest.mark.slow
def test_starts_and_ends_without_a_click(tmp_path: Path) -> None:
    x = samples(render(tmp_path, [cue(0, 5, ORCHESTRAL, 1.0), cue(5, 8, ELECTRONIC, 1.0)], 6.5))
    five_ms = SR // 200
    assert np.abs(x[0]).max() <= 1 / 32768 and np.abs(x[-1]).max() <= 1 / 32768
    assert np.abs(x[:five_ms]).max() < 0.01
    assert np.abs(x[-five_ms:]).max() < 0.01
    assert rms(x[SR : 2 * SR]) > 0.05  # quiet edges, loud middle


@pytest.mark.slow
@pytest.mark.parametrize("words", [ELECTRONIC, ORCHESTRAL, ("strings and synth", "")], ids=["elec", "orch", "mix"])
def test_intensity_makes_it_louder(tmp_path: Path, words: tuple[str, str]) -> None:
    x = samples(render(tmp_path, [cue(0, 4, words, 0.2), cue(4, 8, words, 0.9)], 8))
    quiet, loud = rms(x[SR // 2 : 3 * SR]), rms(x[5 * SR : int(7.5 * SR)])
    assert loud > 2.0 * quiet  # more than 6 dB


@pytest.mark.slow
@pytest.mark.parametrize("intensity", [0.2, 0.9])
def test_electronic_pulses_where_orchestral_swells(tmp_path: Path, intensity: float) -> None:
    electronic = samples(render(tmp_path, [cue(0, 8, ELECTRONIC, intensity)], 8))[SR : 7 * SR]
    orchestral = samples(render(tmp_path, [cue(0, 8, ORCHESTRAL, intensity)], 8))[SR : 7 * SR]
    assert pulse_depth(electronic) > 0.2 > pulse_depth(orchestral)
    assert pulse_depth(electronic) > 2 * pulse_depth(orchestral)
    assert centroid(orchestral) > 1.5 * centroid(electronic)


@pytest.mark.slow
def test_a_gap_between_cues_is_silent(tmp_path: Path) -> None:
    x = samples(render(tmp_path, [cue(0, 2, ELECTRONIC, 0.8), cue(5, 8, ORCHESTRAL, 0.8)], 8))
    assert rms(x[3 * SR : 4 * SR]) < 1e-4
    assert rms(x[int(0.5 * SR) : SR]) > 0.01 and rms(x[6 * SR : 7 * SR]) > 0.01


@pytest.mark.slow
def test_no_cues_is_silence_of_the_right_length(tmp_path: Path) -> None:
    x = samples(render(tmp_path, [], 2.0))
    assert x.shape == (2 * SR, 2)
    assert not x.any()


def test_rejects_a_negative_duration(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="duration"):
        render_score([], -1.0, tmp_path / "x.wav")
