"""Normalising the mix: the limiter's loudness cost is measured while mixing, so one pass usually lands.

The guarantees are checked on the written file, measured after the fact: integrated loudness within
tolerance of the target, true peak under the ceiling, the exact length, and the same bytes twice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pytest

import filmc.assemble.audio as audio
import filmc.assemble.media as media
from filmc.assemble import NarrationPlacement, measure_loudness, mix_audio
from filmc.assemble.audio import _TOLERANCE_LU, _TRIAL_GAINS, SAMPLE_RATE, _aim
from filmc.assemble.media import decode, run_ffmpeg

TARGET, CEILING = -16.0, -1.0


def _voice(path: Path, seconds: float) -> Path:
    """Speech-like, at TTS's 22.05 kHz: a voiced buzz in syllables four times a second, and between them a short
    burst, as a consonant: peaks some 20 dB over the loudness, as speech has."""
    voiced = "(0.25*sin(2*PI*140*t)+0.12*sin(2*PI*280*t)+0.06*sin(2*PI*420*t))*pow(sin(2*PI*2*t),2)"
    burst = "0.9*exp(-300*mod(t+0.125,0.25))*sin(2*PI*900*t)"
    run_ffmpeg(["-f", "lavfi", "-i", f"aevalsrc='{voiced}+{burst}':s=22050:d={seconds}", str(path)])
    return path


def _score(path: Path, seconds: float) -> Path:
    """A chord under a kick drum twice a second: quiet on average, with peaks near full scale, as a score has."""
    expr = "0.05*sin(2*PI*110*t)+0.04*sin(2*PI*165*t)+0.95*exp(-25*mod(t,0.5))*sin(2*PI*55*t)"
    run_ffmpeg(["-f", "lavfi", "-i", f"aevalsrc='{expr}|{expr}':s=44100:d={seconds}", str(path)])
    return path


@pytest.fixture(scope="module")
def film(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[NarrationPlacement], Path]:
    """Eight seconds: two lines over the score, the score cut short under the end."""
    root = tmp_path_factory.mktemp("film")
    lines = [NarrationPlacement(wav=_voice(root / "a.wav", 2.5), start=1.0),
             NarrationPlacement(wav=_voice(root / "b.wav", 2.0), start=4.6)]
    return lines, _score(root / "score.wav", 9.0)


class _Runs:
    """Every ffmpeg run of the mix, by the `ebur128` instances it reads: the passes, and what the trials read."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.logs: list[tuple[Sequence[str], str]] = []
        real = media.ffmpeg_log   # what `audio` imported

        def logged(args: Sequence[str], doing: str = "") -> str:
            log = real(args, doing)
            self.logs.append((args, log))
            return log

        monkeypatch.setattr(audio, "ffmpeg_log", logged)

    def passes(self, instance: str) -> int:
        return sum(f"ebur128@{instance}" in " ".join(args) for args, _ in self.logs)

    def trial_readings(self) -> list[float]:
        mixing = [log for args, log in self.logs if "ebur128@try0" in " ".join(args)]
        return [audio._summary(audio._block(mixing[-1], f"try{k}")).integrated for k in range(len(_TRIAL_GAINS))]


@pytest.mark.slow
def test_a_typical_mix_is_normalised_in_one_pass_on_target_and_under_the_ceiling(
    film: tuple[list[NarrationPlacement], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines, score = film
    runs = _Runs(monkeypatch)
    out = tmp_path / "mix.wav"
    mix_audio(lines, score, 8.0, out, loudness=TARGET, true_peak=CEILING)
    low, high = runs.trial_readings()
    slope = (high - low) / (_TRIAL_GAINS[1] - _TRIAL_GAINS[0])
    assert slope < 0.9, "the score's peaks should make the limiter cost loudness, or this test proves nothing"
    assert len(runs.logs) == 3     # bus levels, the mix with its trials, one normalising pass
    assert runs.passes("out") == 1
    loud = measure_loudness(out)   # the written file, read again
    assert abs(loud.integrated - TARGET) <= _TOLERANCE_LU
    assert loud.true_peak <= CEILING
    assert abs(decode(out).duration - 8.0) <= 1 / SAMPLE_RATE + 1e-6


@pytest.mark.slow
def test_the_same_inputs_make_the_same_bytes(film: tuple[list[NarrationPlacement], Path], tmp_path: Path) -> None:
    lines, score = film
    made = []
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        mix_audio(lines, score, 8.0, tmp_path / name / "mix.wav")
        made.append((tmp_path / name / "mix.wav").read_bytes())
    assert made[0] == made[1]


@pytest.mark.slow
def test_peaky_material_needs_at_most_one_more_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Half-millisecond clicks over a quiet tone: inter-sample overs beat the limiter's margin, so the limit is
    lowered once and the gain re-aimed; still on target and under the ceiling."""
    clicky = tmp_path / "clicky.wav"
    run_ffmpeg(["-f", "lavfi", "-i", "aevalsrc='0.05*sin(2*PI*300*t)+if(lt(mod(t,0.25),0.0005),0.99,0)':s=48000:d=3",
                str(clicky)])
    runs = _Runs(monkeypatch)
    mix_audio([NarrationPlacement(wav=clicky, start=0.0)], None, 3.0, tmp_path / "mix.wav")
    assert runs.passes("out") <= 2
    loud = measure_loudness(tmp_path / "mix.wav")
    assert abs(loud.integrated - TARGET) <= _TOLERANCE_LU and loud.true_peak <= CEILING


def test_aim_interpolates_between_readings_either_side_of_the_target() -> None:
    # Entropy's trials: +0.5 dB read -17.1 LUFS and +2.5 dB read -15.7 (the limiter takes 0.3 of each dB)
    assert _aim([(0.5, -17.1), (2.5, -15.7)], -16.0) == pytest.approx(0.5 + 1.1 / 0.7)


def test_aim_extrapolates_from_the_nearest_two_and_keeps_the_slope_sane() -> None:
    assert _aim([(0.5, -19.5), (2.5, -17.5)], -16.0) == pytest.approx(4.0)        # no limiting: slope 1
    assert _aim([(0.5, -16.1), (2.5, -16.05)], -16.0) == pytest.approx(2.5 + 0.05 / 0.2)  # nearly flat: clamped
    assert _aim([(0.5, -15.0), (2.5, -16.9)], -16.0) == pytest.approx(2.5 + 0.9)  # falling: noise, slope 1
    assert _aim([(1.0, -16.4)], -16.0) == pytest.approx(1.4)                      # one reading: plain R128


def test_aim_prefers_a_reading_across_the_target_to_a_nearer_one_on_the_same_side() -> None:
    readings = [(0.5, -17.0), (2.0, -16.15), (2.1, -16.1), (3.0, -15.5)]
    gain = _aim(readings, -16.0)
    assert 2.1 < gain < 3.0 and gain == pytest.approx(2.1 + 0.1 / ((-15.5 + 16.1) / 0.9))


def test_the_mix_pass_measures_two_trial_gains_through_the_normalising_chain() -> None:
    parts, labels = audio._trials("[mixed]", "[tofile]", CEILING - audio._LIMITER_MARGIN_DB)
    assert labels == ["[try0]", "[try1]"] and parts[0] == "[mixed]asplit=3[tofile][t0][t1]"
    for k, gain in enumerate(_TRIAL_GAINS):   # the very chain the normalising pass runs, at that gain
        assert audio._limited(gain, CEILING - audio._LIMITER_MARGIN_DB) in parts[k + 1]
        assert re.search(rf"ebur128@try{k}=framelog=quiet\[try{k}\]$", parts[k + 1])


def test_aim_never_steps_further_than_six_db_or_a_few_times_the_miss() -> None:
    # clicks the limiter flattens: readings a tenth apart made a slope of 0.03, clamped to 0.2, and an 18 dB aim
    gain = _aim([(0.5, -19.0), (2.5, -19.0), (3.5, -18.9)], -16.0)
    assert gain == pytest.approx(3.5 + audio._MAX_STEP_DB)
    assert _aim([(0.5, -16.3), (2.5, -16.29)], -16.0) == pytest.approx(2.5 + 3 * 0.29 + 0.5)


@pytest.mark.slow
def test_material_the_limiter_flattens_ends_on_its_best_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """4 ms clicks over a faint tone: no gain reaches the target under the ceiling. The passes stop (none repeats
    a gain already read) and the file written is the pass nearest the target under the ceiling."""
    clicks = tmp_path / "clicks.wav"
    run_ffmpeg(["-f", "lavfi", "-i", "aevalsrc='0.004*sin(2*PI*440*t)+if(lt(mod(t,0.5),0.004),0.9,0)':s=48000:d=20",
                str(clicks)])
    runs = _Runs(monkeypatch)
    mix_audio([], clicks, 20.0, tmp_path / "mix.wav")
    passes = [" ".join(args) for args, _ in runs.logs if "ebur128@out" in " ".join(args)]
    readings = [audio._summary(audio._block(log, "out")) for args, log in runs.logs if "ebur128@out" in " ".join(args)]
    chains = [re.search(r"volume=\S+?dB,alimiter=limit=[\d.]+", one).group(0) for one in passes]  # type: ignore[union-attr]
    assert 1 <= len(readings) <= audio._PASSES + 1 and len(set(chains)) == len(chains)   # no pass run twice
    under = [r for r in readings if r.true_peak <= CEILING - audio._PEAK_ROUNDING]
    best = min(abs(r.integrated - TARGET) for r in under)
    written = measure_loudness(tmp_path / "mix.wav")
    assert written.true_peak <= CEILING and abs(written.integrated - TARGET) <= best + 0.15
