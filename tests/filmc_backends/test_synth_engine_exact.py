"""The temp score's fast paths against the per-sample formulas they replaced: the same bits, not just close.

Each reference below is the formula as it once ran on every sample (per-sample table lookups, per-sample
levels, one voice at a time); the engine now slices tables, works sixteenth by sixteenth and uses numbers
for levels that hold still. Both run here, on the same machine, so equality is exact wherever numpy is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from filmc_backends import synth_cues, synth_engine
from filmc_backends.synth_engine import ScoreSection, render_score

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
SPS, TAU = synth_engine._SPS, synth_engine._TAU
RATES = [48000, 44100, 22050, 7919]  # 7919: sixteenths and chords of uneven length


def cue(start: float, end: float, words: str, intensity: float) -> ScoreSection:
    return ScoreSection(start=start, end=end, description=words, instruments="", intensity=intensity)


SECTIONS = [
    cue(0, 3, "electronic synth pulses", 0.25),  # rests on the odd sixteenths
    cue(3, 7, "strings and synth", 0.6),  # both palettes, strings doubled
    cue(7, 12, "orchestral strings, timpani", 0.95),
]


def score_at(sr: int, seconds: float = 12.0, seed: int = 5) -> tuple[synth_engine._Score, synth_engine._Sheet]:
    rng = np.random.default_rng(seed)
    score = synth_engine._Score(
        sr=sr,
        frames=round(seconds * sr),
        seed=seed,
        timeline=synth_cues.timeline(SECTIONS),
        detune=np.array([-9.0, 0.0, 8.0]) + rng.uniform(-2.0, 2.0, 3),
        vib_rate=rng.uniform(4.8, 6.2, 3),
        vib_phase=rng.uniform(0.0, 1.0, 3),
        pan=np.array([0.15, 0.5, 0.85]) + rng.uniform(-0.1, 0.1, 3),
    )
    return score, synth_engine._sheet(score)


def same(a: npt.NDArray[np.floating], b: npt.NDArray[np.floating]) -> bool:
    """Bit for bit, except the sign of zero, which 16-bit PCM cannot hold."""
    return a.dtype == b.dtype and a.shape == b.shape and bool(np.array_equal(a, b))


# ---- the per-sample references ---------------------------------------------------------------------------


def ref_saw(cycles: F32, r: F32) -> F32:
    th = cycles * TAU
    saw: F32 = np.arctan2(r * np.sin(th), 1.0 - r * np.cos(th)).astype(np.float32)
    return saw


def ref_arp(score: synth_engine._Score, sheet: synth_engine._Sheet, n: I64) -> F32:
    sr = score.sr
    k = n * SPS // sr - sheet.base
    tau = ((n - sheet.step_start[k]) / sr).astype(np.float32)
    cutoff = sheet.step_cutoff32[k] * (1.0 + 5.0 * np.exp(-tau / 0.05))
    r = np.exp(sheet.step_neg_hz32[k] / cutoff)
    cyc = synth_engine._cycles(n / sr, sheet.step_hz[k])
    tone = ref_saw(cyc, r) - ref_saw(cyc + np.float32(0.3), r)
    out: F32 = tone * synth_engine._pluck(tau, 1.0 / SPS, 0.002, sheet.step_decay32[k]) * sheet.step_gain32[k]
    return out


def ref_ping_pong(sr: int, n: I64, mono: F32) -> tuple[F32, F32]:
    right = n * SPS // sr % 2 == 1
    return (np.where(right, 0.45, 1.0).astype(np.float32) * mono, np.where(right, 1.0, 0.45).astype(np.float32) * mono)


def ref_noise(seed: int, n: I64) -> F32:
    z = n.astype(np.uint64) + np.uint64((seed * 0x9E3779B97F4A7C15) % 2**64)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return ((z >> np.uint64(40)).astype(np.float32) / np.float32(2**23) - np.float32(1.0)).astype(np.float32)


def ref_electronic(score: synth_engine._Score, slot: synth_engine._Slot, n: I64, t: F64, inten: F32) -> tuple[F32, F32]:
    tau8 = ((n - synth_engine._step_start(n * SPS // score.sr // 2 * 2, score.sr)) / score.sr).astype(np.float32)
    pump = 0.45 + 0.55 * synth_engine._pluck(tau8, 2.0 / SPS, 0.01, 0.18)
    c = synth_engine._cycles(t, slot.sub_hz) * TAU
    sub = (np.sin(c) + 0.25 * np.sin(2.0 * c)) * pump * np.float32(0.24)
    left, right = sub.astype(np.float32), sub.astype(np.float32)
    shimmer = 0.5 + 0.7 * inten
    for i, hz in enumerate(slot.pad_hz.tolist()):
        th = synth_engine._cycles(t, hz) * TAU
        (left if i < 4 else right)[:] += np.float32(0.035) * np.sin(th + shimmer * np.sin(2.0 * th))
    return left, right


def ref_strings(
    score: synth_engine._Score, sheet: synth_engine._Sheet, slot: synth_engine._Slot, t: F64, inten: F32
) -> tuple[F32, F32]:
    extra = 0.5 * synth_cues.smooth((inten - 0.45) / 0.3)
    cutoff = 500.0 + 3500.0 * inten
    vib = np.sin(synth_engine._cycles(t, score.vib_rate[:, None]) * TAU + sheet.vib_phase32[:, None]) * 0.0035
    vib /= sheet.vib_depth32[:, None]
    left, right = np.zeros(len(t), np.float32), np.zeros(len(t), np.float32)
    doubled = bool(np.any(extra))
    for i, neg_hz in enumerate(slot.string_neg_hz32.tolist()):
        if i >= 5 and not doubled:
            continue
        r = np.minimum(np.exp(np.float32(neg_hz) / cutoff), np.float32(0.94))
        for p in range(3):
            s = ref_saw(synth_engine._cycles(t, float(slot.string_hz[i, p])) + slot.string_hz32[i, p] * vib[p], r)
            s *= 1.0 if i == 0 else 0.8 if i < 5 else extra
            left += s * sheet.pan_left[p]
            right += s * sheet.pan_right[p]
    return left, right


def ref_master(score: synth_engine._Score, n: I64, out: tuple[F32, F32]) -> bytes:
    fade_in = max(1, round(min(synth_engine._FADE_IN, score.frames / score.sr / 4) * score.sr))
    fade_out = max(1, round(min(synth_engine._FADE_OUT, score.frames / score.sr / 4) * score.sr))
    fade = (synth_cues.smooth(n / fade_in) * synth_cues.smooth((score.frames - 1 - n) / fade_out)).astype(np.float32)
    knee, ceiling = synth_engine._KNEE, synth_engine._CEILING
    pcm = np.empty((len(n), 2), dtype="<i2")
    for ch, x in enumerate(out):
        y = x * fade
        soft = np.sign(y) * (knee + (ceiling - knee) * np.tanh((np.abs(y) - knee) / (ceiling - knee)))
        pcm[:, ch] = np.rint(np.where(np.abs(y) > knee, soft, y) * 32767.0)
    return pcm.tobytes()


# ---- fast path == reference -------------------------------------------------------------------------------


@pytest.mark.parametrize("sr", RATES)
def test_arpeggio_by_sixteenths_is_the_per_sample_arpeggio(sr: int) -> None:
    score, sheet = score_at(sr)
    delay = synth_engine._ECHO_STEPS * sr // SPS
    spans = [(-delay, sr // 3), (-1, 7), (sr // 6 - 3, sr // 6 + 5), (2 * sr + 1, 5 * sr - 1), (3 * sr, 3 * sr + 1)]
    for a, b in spans:
        fast = np.full(b - a, np.nan, np.float32)
        synth_engine._arp(score, sheet, a, fast)
        assert same(fast, ref_arp(score, sheet, np.arange(a, b, dtype=np.int64))), (a, b)


def test_a_silent_sixteenth_is_skipped_and_exactly_zero() -> None:
    score, sheet = score_at(48000)
    rests = np.flatnonzero(sheet.step_gain32[-sheet.base :] == 0)  # odd sixteenths while the intensity is 0.25
    assert len(rests) > 4
    start = int(sheet.step_start[rests[1] - sheet.base])
    fast = np.full(8000, np.nan, np.float32)
    synth_engine._arp(score, sheet, start, fast)
    assert not fast.any()


@pytest.mark.parametrize("sr", RATES)
def test_ping_pong_by_sixteenths_is_the_per_sample_pan(sr: int) -> None:
    mono = np.random.default_rng(1).standard_normal(2 * sr).astype(np.float32)
    for a in (-sr // 2 - 1, 0, 12345 % sr):
        fast = synth_engine._ping_pong(sr, a, mono)
        ref = ref_ping_pong(sr, np.arange(a, a + len(mono), dtype=np.int64), mono)
        assert same(fast[0], ref[0]) and same(fast[1], ref[1])


@pytest.mark.parametrize("seed", [0, 3, ~3, 2**70 + 11])
def test_noise_in_place_is_the_splitmix_noise(seed: int) -> None:
    fast = synth_engine._noise(seed, -5, 40000)
    assert same(fast, ref_noise(seed, np.arange(-5, 40000, dtype=np.int64)))


def slot_span(score: synth_engine._Score, sheet: synth_engine._Sheet, k: int, near_edge: bool) -> tuple[I64, F64]:
    """Even samples of slot k from just before its end (into the crossfade) or from its middle."""
    slot = sheet.slots[k]
    a = slot.end - sheet.xfade + 1 if near_edge else (slot.start + slot.end) // 2 + 1
    e = np.arange(a - a % 2, a + score.sr // 3, 2, dtype=np.int64)
    return e, e / score.sr


@pytest.mark.parametrize("sr", RATES)
@pytest.mark.parametrize("k", [0, 1])  # electronic at 0.25, both palettes gliding to 0.6
def test_sub_and_pads_are_the_per_voice_formulas(sr: int, k: int) -> None:
    score, sheet = score_at(sr)
    slot = sheet.slots[k]
    for near_edge in (True, False):
        e, t = slot_span(score, sheet, k, near_edge)
        inten = synth_cues.params(score.timeline, t)[1].astype(np.float32)
        ref = ref_electronic(score, slot, e, t, inten)
        fast = synth_engine._electronic(score, sheet, slot, e, t, inten)
        assert same(fast[0], ref[0]) and same(fast[1], ref[1])
        if np.all(inten == inten[0]):  # a level that holds still may be given as one number
            fast = synth_engine._electronic(score, sheet, slot, e, t, inten[0])
            assert same(fast[0], ref[0]) and same(fast[1], ref[1])


@pytest.mark.parametrize("sr", RATES)
@pytest.mark.parametrize("k", [1, 2])  # both palettes at 0.6 (doubled), orchestral at 0.95
def test_strings_note_by_note_are_the_per_voice_formulas(sr: int, k: int) -> None:
    score, sheet = score_at(sr)
    slot = sheet.slots[k]
    for near_edge in (True, False):
        _e, t = slot_span(score, sheet, k, near_edge)
        inten = synth_cues.params(score.timeline, t)[1].astype(np.float32)
        ref = ref_strings(score, sheet, slot, t, inten)
        fast = synth_engine._strings(score, sheet, slot, t, inten)
        assert same(fast[0], ref[0]) and same(fast[1], ref[1])
        for level in (np.float32(0.3), np.float32(0.8)):  # undoubled and doubled, as numbers
            ref = ref_strings(score, sheet, slot, t, np.full(len(t), level))
            fast = synth_engine._strings(score, sheet, slot, t, level)
            assert same(fast[0], ref[0]) and same(fast[1], ref[1])


@pytest.mark.parametrize("sr", RATES)
def test_crossfade_and_swell_tables_are_the_per_sample_formulas(sr: int) -> None:
    _score, sheet = score_at(sr)
    x = sheet.xfade
    for slot in sheet.slots[:4]:
        s0, s1 = slot.start, slot.end
        m = np.arange(s0 - x, s1 + x, dtype=np.int64)
        smooth = synth_cues.smooth
        win = (smooth((m - (s0 - x)) / (2 * x)) * smooth((s1 + x - m) / (2 * x))).astype(np.float32)
        along = np.clip(((m - s0) / (s1 - s0)).astype(np.float32), 0.0, 1.0)
        swell = win * (0.7 + 0.3 * np.sin(np.float32(np.pi) * along))
        table_win, table_swell = sheet.fades[s1 - s0]
        assert same(table_win, win) and same(table_swell, swell)
        assert np.all(table_win[2 * x : s1 - s0] == 1.0)  # where the engine does not multiply by it at all


@pytest.mark.parametrize("frames", [48000 * 3, 1000])  # the last: fades longer than a quarter of the score
def test_master_skips_only_a_fade_of_exactly_one(frames: int) -> None:
    score, _sheet = score_at(48000, seconds=frames / 48000)
    rng = np.random.default_rng(2)
    for n0, n1 in [(0, min(frames, 3000)), (frames // 2 - 700, frames // 2 + 700), (frames - 2500, frames)]:
        n = np.arange(max(0, n0), n1, dtype=np.int64)
        hot = (rng.standard_normal((2, len(n))) * 0.7).astype(np.float32)  # many samples over the knee
        assert synth_engine._master(score, n, (hot[0], hot[1])) == ref_master(score, n, (hot[0], hot[1]))


def test_steady_levels_are_the_floats_params_broadcasts() -> None:
    tl = synth_cues.timeline(SECTIONS)
    margin = synth_cues.GLIDE / 2 + 1e-6
    seen = {True: 0, False: 0}
    for lo in np.arange(-1.0, 14.0, 0.05):
        t = np.linspace(lo, lo + 0.3, 7)
        level = synth_cues.steady(tl, float(t[0]), float(t[-1]))
        arrays = synth_cues.params(tl, t)
        seen[level is None] += 1
        if level is not None:
            assert all(np.array_equal(a, np.full(len(t), v)) for a, v in zip(arrays, level, strict=True))
        else:  # a glide reaches into the span
            assert any(e - margin <= t[-1] and e + margin >= t[0] for e in tl.edges)
    assert seen[True] > 100 and seen[False] > 20


# ---- the whole score --------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("block", [997, 4001, 24000, 48000 * 20])  # shorter than a sixteenth, odd, a whole slot
def test_every_instrument_same_bytes_for_any_block(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int) -> None:
    """Arpeggio with rests and fills, echo, air, sub, pads, strings doubled, timpani; steady and gliding blocks."""
    reference = tmp_path / "reference.wav"
    render_score(SECTIONS, 12.0, reference, sample_rate=48000, seed=9)
    monkeypatch.setattr(synth_engine, "_BLOCK_SECONDS", block / 48000)
    out = tmp_path / f"{block}.wav"
    render_score(SECTIONS, 12.0, out, sample_rate=48000, seed=9)
    assert out.read_bytes() == reference.read_bytes()
