"""Offline temp score: numpy synthesis of score sections into a WAV a director can watch an animatic with.

Every sample is a pure function of its absolute index (oscillator phases, noise, chord, note and parameter
curves), so the score renders block by block in constant memory and the block size never changes a byte.
What is per chord or per sixteenth (chords, arpeggio notes, voicings) is decided once, before the first
block; the sustained voices run at half rate; the arpeggio's echo replays the arpeggio instead of remaking it.
Electronic colour (pulse arpeggio with echo, pulsing sub bass, glassy FM pads, air) and orchestral colour
(a detuned, vibrato string ensemble with timpani) play over one chord grid and are crossfaded by each
section's orchestral weight; intensity sets loudness, brightness and density.
"""

from __future__ import annotations

import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from filmc_backends.synth_cues import ScoreSection, Timeline, orchestral_weight, timeline
from filmc_backends.synth_cues import params as _params
from filmc_backends.synth_cues import smooth as _smooth

__all__ = ["ScoreSection", "orchestral_weight", "render_score"]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Stereo = tuple[F32, F32]

_BLOCK_SECONDS = 0.25  # per wave write; small enough that numpy temporaries stay in cache and off mmap
_SPS = 6  # sixteenth notes per second: 90 BPM
_SLOT_STEPS = 32  # sixteenths per chord: two bars, ~5.3 s
_SLOT_XFADE = 0.4  # seconds either side of a chord change over which old and new chord crossfade
_ECHO_STEPS = 3  # dotted-eighth echo of the arpeggio
_FADE_IN, _FADE_OUT = 0.05, 0.5  # seconds; the score never starts or stops on a click
_KNEE, _CEILING = 0.6, 10 ** (-1.05 / 20)  # soft limiter: transparent below the knee, never above -1 dBFS
_TAU = np.float32(2 * np.pi)

# (sub-bass MIDI note, four chord tones); each progression is played one chord per slot, cycling.
_Chord = tuple[int, tuple[int, int, int, int]]
_PROGRESSIONS: tuple[tuple[_Chord, ...], ...] = (
    # cold, A minor: i VI iv v
    ((33, (57, 60, 64, 71)), (29, (53, 57, 60, 64)), (38, (53, 57, 62, 65)), (28, (55, 59, 64, 67))),
    # between: i VI III VII
    ((33, (57, 60, 64, 69)), (29, (57, 60, 65, 69)), (36, (55, 60, 64, 67)), (31, (55, 59, 62, 67))),
    # warm: VI VII and a resolution to C major
    ((29, (57, 60, 65, 69)), (31, (55, 59, 62, 67)), (36, (55, 60, 64, 67)), (36, (60, 64, 67, 72))),
)
# Arpeggio orders over the chord tones; 4 and 5 are the first and second tone an octave up.
_ARP_PATTERNS = (
    (0, 1, 2, 3, 4, 3, 2, 1),
    (0, 2, 3, 1, 2, 4, 3, 2),
    (0, 3, 2, 4, 1, 3, 2, 5),
    (0, 1, 3, 2, 4, 2, 3, 1),
)


@dataclass(frozen=True, eq=False)
class _Score:
    """Everything a block needs, fixed before the first sample so every block agrees with every other."""

    sr: int
    frames: int
    seed: int
    timeline: Timeline
    detune: F64  # cents per string player
    vib_rate: F64  # Hz per string player
    vib_phase: F64  # cycles per string player
    pan: F64  # 0 = left, 1 = right, per string player


def _step_start(step: Any, sr: int) -> Any:
    """First sample of a sixteenth: ceil, so step_of(step_start(s)) == s at any sample rate."""
    return -(-step * sr // _SPS)


def _cycles(t: F64, freq: Any) -> F32:
    """Oscillator phase in cycles from absolute time: continuous across blocks by construction."""
    c = t * freq
    frac: F32 = (c - np.floor(c)).astype(np.float32)
    return frac


def _saw(cycles: F32, r: Any) -> F32:
    """Band-limited saw whose k-th harmonic falls as r**k / k: a low-pass filtered saw for one atan2."""
    th = cycles * _TAU
    saw: F32 = np.arctan2(r * np.sin(th), 1.0 - r * np.cos(th)).astype(np.float32)
    return saw


def _pluck(tau: F32, length: float, attack: float, decay: Any) -> F32:
    """Note envelope that is exactly zero at both ends of the note, so notes never click."""
    env: F32 = (1.0 - np.exp(-tau / attack)) * np.exp(-tau / decay) * np.clip((length - tau) / 0.01, 0.0, 1.0)
    return env.astype(np.float32)


def _hz(midi: Any) -> Any:
    return 440.0 * 2.0 ** ((np.asarray(midi, dtype=np.float64) - 69.0) / 12.0)


def _chord(score: _Score, slot: int) -> _Chord:
    """The chord of a slot, chosen by the orchestral weight where it starts: warmer as the score turns."""
    start = float(_step_start(slot * _SLOT_STEPS, score.sr)) / score.sr
    weight = float(_params(score.timeline, np.array([start]))[2][0])
    tier = 0 if weight < 0.35 else 1 if weight < 0.7 else 2
    return _PROGRESSIONS[tier][slot % len(_PROGRESSIONS[tier])]


@dataclass(frozen=True, eq=False)
class _Slot:
    """One chord slot with every per-note number its voices need, computed once instead of once per block."""

    start: int  # first sample of the slot
    end: int  # first sample of the next slot
    chord: _Chord
    pattern: tuple[int, ...]  # arpeggio order
    sub_hz: float
    pad_hz: F64  # 8 FM pad partials: the four tones detuned down (left), then up (right)
    string_hz: F64  # (note, player): eight string notes by three detuned players
    string_hz32: F32
    string_neg_hz32: F32  # minus each note's pitch, for its brightness
    drum: float  # timpani strength on this chord change, 0 for none
    drum_hz: float


@dataclass(frozen=True, eq=False)
class _Sheet:
    """Chord slots and arpeggio steps decided up front, so a block only looks them up (bit for bit as before)."""

    slots: tuple[_Slot, ...]
    base: int  # the step at index 0 of the step tables: the echo reaches a little before the start
    step_start: I64
    step_hz: F64
    step_neg_hz32: F32
    step_cutoff32: F32  # the arpeggio's filter cutoff before its pluck sweep
    step_decay32: F32
    step_gain32: F32
    pan_left: F32  # per string player
    pan_right: F32
    vib_phase32: F32  # per string player, in radians
    vib_depth32: F32  # per string player: the divisor that turns a vibrato sine into phase


def _slot(score: _Score, slot: int) -> _Slot:
    """The chord, arpeggio order and voicings of one slot, with the same scalar arithmetic a block once did."""
    start, end = _slot_edges(score, slot)
    chord = _chord(score, slot)
    bass, tones = chord
    rng = np.random.default_rng((score.seed % 2**63, slot))
    notes = [bass + 12, *tones, *(m + 12 for m in tones[2:]), bass]
    hz = [float(_hz(m)) for m in notes]
    string_hz = np.array([[f * 2.0 ** (float(score.detune[p]) / 1200.0) for p in range(3)] for f in hz])
    _p, inten, weight = _params(score.timeline, np.array([start / score.sr]))
    return _Slot(
        start=start,
        end=end,
        chord=chord,
        pattern=_ARP_PATTERNS[int(rng.integers(len(_ARP_PATTERNS)))],
        sub_hz=float(_hz(bass)),
        pad_hz=np.array([float(_hz(m + 12)) * 2.0 ** (cents / 1200.0) for cents in (-7.0, 7.0) for m in tones]),
        string_hz=string_hz,
        string_hz32=string_hz.astype(np.float32),
        string_neg_hz32=np.array([-f for f in hz], dtype=np.float32),
        drum=float(_smooth((inten[0] - 0.6) / 0.25)) * float(weight[0]),
        drum_hz=float(_hz(bass if bass >= 33 else bass + 12)),
    )


def _sheet(score: _Score) -> _Sheet:
    """Every slot and sixteenth the score can reach, so a block only looks them up."""
    sr = score.sr
    count = _slot_of(score.frames + round(_SLOT_XFADE * sr), sr) + 2
    slots = tuple(_slot(score, k) for k in range(count))
    base = -_ECHO_STEPS - 1
    steps = np.arange(base, max(base, (score.frames - 1) * _SPS // sr + 1) + 1)
    starts = _step_start(steps, sr)
    inten = _params(score.timeline, starts.astype(np.float64) / sr)[1]
    slot, pos = np.divmod(np.maximum(steps, 0), _SLOT_STEPS)
    patterns = np.array([s.pattern for s in slots])
    tones = np.array([s.chord[1] for s in slots])
    note = patterns[slot, pos % patterns.shape[1]]
    midi = np.where(steps >= 0, tones[slot, note % 4] + 12 * (note // 4), 0).astype(np.float64)
    fill = 0.6 * _smooth((inten - 0.3) / 0.4)  # odd sixteenths fade in with intensity
    gain = np.where(steps >= 0, np.where(pos % 4 == 0, 1.0, np.where(pos % 2 == 0, 0.75, fill)), 0.0)
    hz, inten32 = _hz(midi), inten.astype(np.float32)
    return _Sheet(
        slots=slots,
        base=base,
        step_start=starts,
        step_hz=hz,
        step_neg_hz32=-hz.astype(np.float32),
        step_cutoff32=400.0 + 3600.0 * inten32,
        step_decay32=0.05 + 0.1 * inten32,
        step_gain32=gain.astype(np.float32),
        pan_left=(0.075 * (1.0 - 0.6 * score.pan)).astype(np.float32),
        pan_right=(0.075 * (0.4 + 0.6 * score.pan)).astype(np.float32),
        vib_phase32=np.array([float(ph) * _TAU for ph in score.vib_phase], dtype=np.float32),
        vib_depth32=np.array([2 * np.pi * float(rate) for rate in score.vib_rate], dtype=np.float32),
    )


def _arp(score: _Score, sheet: _Sheet, n: I64) -> F32:
    """Sixteenth-note pulse arpeggio over the chord; quiet cues play eighths, intense ones every sixteenth."""
    sr = score.sr
    k = n * _SPS // sr - sheet.base
    tau = ((n - sheet.step_start[k]) / sr).astype(np.float32)
    cutoff = sheet.step_cutoff32[k] * (1.0 + 5.0 * np.exp(-tau / 0.05))
    r = np.exp(sheet.step_neg_hz32[k] / cutoff)
    cyc = _cycles(n / sr, sheet.step_hz[k])
    tone = _saw(cyc, r) - _saw(cyc + np.float32(0.3), r)  # pulse wave, 30 % duty
    out: F32 = tone * _pluck(tau, 1.0 / _SPS, 0.002, sheet.step_decay32[k]) * sheet.step_gain32[k]
    return out


def _ping_pong(score: _Score, n: I64, mono: F32) -> Stereo:
    """Odd sixteenths lean right, even ones left."""
    right = n * _SPS // score.sr % 2 == 1
    pan_l, pan_r = (
        np.where(right, 0.45, 1.0).astype(np.float32),
        np.where(right, 1.0, 0.45).astype(np.float32),
    )
    return pan_l * mono, pan_r * mono


class _Tape:
    """The arpeggio's latest samples: its echo replays them 0.5 s later, looked up instead of made twice.

    Only a cache: a value is the same pure function of its sample index whether made now or earlier, so
    the bytes do not depend on the block size or on what the tape happens to hold.
    """

    def __init__(self) -> None:
        self.start = 0
        self.values: F32 = np.zeros(0, np.float32)

    def span(self, score: _Score, sheet: _Sheet, a: int, b: int) -> F32:
        """The arpeggio for samples [a, b), making only what the tape lacks; keeps exactly that span."""
        end = self.start + len(self.values)
        if self.start <= a <= end:
            fresh = np.arange(max(a, end), b, dtype=np.int64)
            kept = self.values[a - self.start : b - self.start]
            self.values = np.concatenate([kept, _arp(score, sheet, fresh)]) if len(fresh) else kept
        else:
            self.values = _arp(score, sheet, np.arange(a, b, dtype=np.int64))
        self.start = a
        return self.values


def _noise(seed: int, n: I64) -> F32:
    """Counter-based white noise (splitmix64 of seed and sample index): any sample, any block, same value."""
    z = n.astype(np.uint64) + np.uint64((seed * 0x9E3779B97F4A7C15) % 2**64)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return ((z >> np.uint64(40)).astype(np.float32) / np.float32(2**23) - np.float32(1.0)).astype(np.float32)


def _electronic(score: _Score, slot: _Slot, n: I64, t: F64, inten: F32) -> Stereo:
    """Pulsing sub bass and glassy detuned FM pads for one chord."""
    tau8 = ((n - _step_start(n * _SPS // score.sr // 2 * 2, score.sr)) / score.sr).astype(np.float32)
    pump = 0.45 + 0.55 * _pluck(tau8, 2.0 / _SPS, 0.01, 0.18)
    c = _cycles(t, slot.sub_hz) * _TAU
    sub = (np.sin(c) + 0.25 * np.sin(2.0 * c)) * pump * np.float32(0.24)
    left, right = sub.astype(np.float32), sub.astype(np.float32)
    shimmer = 0.5 + 0.7 * inten
    for i, hz in enumerate(slot.pad_hz.tolist()):  # one voice at a time: its arrays stay in cache
        th = _cycles(t, hz) * _TAU
        (left if i < 4 else right)[:] += np.float32(0.035) * np.sin(th + shimmer * np.sin(2.0 * th))
    return left, right


def _strings(score: _Score, sheet: _Sheet, slot: _Slot, t: F64, inten: F32) -> Stereo:
    """Three detuned players per note with their own vibrato, through a brightness that follows intensity.

    Voice by voice on purpose: the (note, player, sample) array of all 24 voices is larger than the cache
    and measured three times slower. The octave doublings are skipped while their gain is exactly 0.
    """
    extra = 0.5 * _smooth((inten - 0.45) / 0.3)  # violins an octave up and contrabasses at high intensity
    cutoff = 500.0 + 3500.0 * inten
    vib = np.sin(_cycles(t, score.vib_rate[:, None]) * _TAU + sheet.vib_phase32[:, None]) * 0.0035
    vib /= sheet.vib_depth32[:, None]
    left, right = np.zeros(len(t), np.float32), np.zeros(len(t), np.float32)
    doubled = bool(np.any(extra))
    for i, neg_hz in enumerate(slot.string_neg_hz32.tolist()):
        if i >= 5 and not doubled:
            continue
        r = np.minimum(np.exp(np.float32(neg_hz) / cutoff), np.float32(0.94))  # low notes stay bowed
        for p in range(3):
            s = _saw(_cycles(t, float(slot.string_hz[i, p])) + slot.string_hz32[i, p] * vib[p], r)
            s *= 1.0 if i == 0 else 0.8 if i < 5 else extra
            left += s * sheet.pan_left[p]
            right += s * sheet.pan_right[p]
    return left, right


def _timpani(score: _Score, slot: _Slot, n: I64) -> F32:
    """A low drum hit on the chord change, only when the cue is orchestral and loud."""
    if slot.drum <= 0.0:
        return np.zeros(len(n), np.float32)
    f = slot.drum_hz
    tau = ((n - slot.start) / score.sr).astype(np.float32)
    glide = f * 0.04 * 0.08 * (1.0 - np.exp(-tau / 0.08))  # pitch falls a little after the strike
    out = np.zeros(len(n), np.float32)
    for ratio, amp, decay in ((1.0, 1.0, 0.9), (1.5, 0.5, 0.5), (1.99, 0.3, 0.35), (2.44, 0.15, 0.25)):
        out += amp * np.sin(_TAU * ratio * (f * tau + glide)) * _pluck(tau, 2.5, 0.003, decay)
    return (np.float32(0.2 * slot.drum) * out).astype(np.float32)


def _slot_edges(score: _Score, slot: int) -> tuple[int, int]:
    """First sample of a chord slot and of the next one."""
    start, end = _step_start(np.array([slot, slot + 1]) * _SLOT_STEPS, score.sr)
    return int(start), int(end)


def _slot_of(sample: int, sr: int) -> int:
    return sample * _SPS // sr // _SLOT_STEPS


def _upsample(voice: Stereo, skip: int, count: int) -> Stereo:
    """Even samples to every sample by linear interpolation: its images sit above 20 kHz for a voice under 4 kHz."""
    out = []
    for v in voice:
        full = np.empty(2 * len(v) - 1, np.float32)
        full[0::2] = v
        full[1::2] = (v[:-1] + v[1:]) * np.float32(0.5)
        out.append(full[skip : skip + count])
    return out[0], out[1]


def _add_slots(score: _Score, sheet: _Sheet, n: I64, gains: Stereo, out: Stereo) -> None:
    """Sustained voices chord by chord; neighbouring chords overlap by a complementary crossfade.

    Pads, sub and strings hold almost nothing above 10 kHz, so they are computed on the even absolute
    samples only (half the work) and interpolated; every value still comes from absolute indices alone.
    """
    sr, x = score.sr, round(_SLOT_XFADE * score.sr)
    n0, n1 = int(n[0]), int(n[-1]) + 1
    g_e, g_o = gains
    for k in range(_slot_of(max(0, n0 - x), sr), _slot_of(n1 - 1 + x, sr) + 1):
        slot = sheet.slots[k]
        s0, s1 = slot.start, slot.end
        a, b = max(n0, s0 - x), min(n1, s1 + x)
        if a >= b:
            continue
        m, sl = n[a - n0 : b - n0], slice(a - n0, b - n0)
        lo = a - a % 2
        e = np.arange(lo, b + (b - 1) % 2, 2, dtype=np.int64)  # evens from a (or just before) to b - 1 (or after)
        te = e / sr
        inten = _params(score.timeline, te)[1].astype(np.float32)
        # the crossfade window is exactly 1 away from the chord changes: multiplied only where it is not
        win = (_smooth((m - (s0 - x)) / (2 * x)) * _smooth((s1 + x - m) / (2 * x))).astype(np.float32) \
            if a < s0 + x or b > s1 - x else np.float32(1.0)
        if np.any(g_e[sl]):
            left, right = _upsample(_electronic(score, slot, e, te, inten), a - lo, b - a)
            gain = win * g_e[sl]
            out[0][sl] += left * gain
            out[1][sl] += right * gain
        if np.any(g_o[sl]):
            along = np.clip(((m - s0) / (s1 - s0)).astype(np.float32), 0.0, 1.0)
            gain = win * (0.7 + 0.3 * np.sin(np.float32(np.pi) * along)) * g_o[sl]  # a swell over each chord
            left, right = _upsample(_strings(score, sheet, slot, te, inten), a - lo, b - a)
            out[0][sl] += left * gain
            out[1][sl] += right * gain


def _add_timpani(score: _Score, sheet: _Sheet, n: I64, out: Stereo) -> None:
    """Each hit rings for 2.5 s after its chord change, so it may spill into the next block."""
    sr, ring = score.sr, round(2.5 * score.sr)
    n0, n1 = int(n[0]), int(n[-1]) + 1
    for k in range(_slot_of(max(0, n0 - ring), sr), _slot_of(n1 - 1, sr) + 1):
        slot = sheet.slots[k]
        a, b = max(n0, slot.start), min(n1, slot.start + ring)
        if a < b and slot.drum > 0.0:
            hit = _timpani(score, slot, n[a - n0 : b - n0])
            out[0][a - n0 : b - n0] += hit
            out[1][a - n0 : b - n0] += hit


def _hiss(seed: int, n: I64) -> F32:
    """Differenced noise (white noise tilted bright), each noise sample drawn once rather than twice."""
    z = _noise(seed, np.arange(int(n[0]) - 1, int(n[-1]) + 1, dtype=np.int64))
    hiss: F32 = z[1:] - z[:-1]
    return hiss


def _add_pulses(score: _Score, sheet: _Sheet, tape: _Tape, n: I64, inten: F32, g_e: F32, out: Stereo) -> None:
    """The arpeggio, its echo thrown to the other side, and a breath of digital air."""
    if not np.any(g_e):
        return
    delay = _ECHO_STEPS * score.sr // _SPS
    mono = tape.span(score, sheet, int(n[0]) - delay, int(n[-1]) + 1)
    left, right = _ping_pong(score, n, mono[delay:])
    echo_l, echo_r = _ping_pong(score, n - delay, mono[: len(n)])
    air = (0.3 + 0.7 * inten) * np.float32(0.008)
    out[0][:] += g_e * (0.18 * (left + 0.35 * echo_r) + air * _hiss(score.seed, n))
    out[1][:] += g_e * (0.18 * (right + 0.35 * echo_l) + air * _hiss(~score.seed, n))


def _master(score: _Score, n: I64, out: Stereo) -> bytes:
    """Fades at the very start and end, a soft limiter under -1 dBFS, then interleaved 16-bit PCM."""
    fade_in = max(1, round(min(_FADE_IN, score.frames / score.sr / 4) * score.sr))
    fade_out = max(1, round(min(_FADE_OUT, score.frames / score.sr / 4) * score.sr))
    fade = (_smooth(n / fade_in) * _smooth((score.frames - 1 - n) / fade_out)).astype(np.float32)
    pcm = np.empty((len(n), 2), dtype="<i2")
    for ch, x in enumerate(out):
        y = x * fade
        over = np.abs(y) > _KNEE
        soft = np.sign(y) * (_KNEE + (_CEILING - _KNEE) * np.tanh((np.abs(y) - _KNEE) / (_CEILING - _KNEE)))
        pcm[:, ch] = np.rint(np.where(over, soft, y) * 32767.0)
    return pcm.tobytes()


def _block(score: _Score, sheet: _Sheet, tape: _Tape, n0: int, n1: int) -> bytes:
    """Samples [n0, n1) of the score, computed from absolute indices only."""
    n = np.arange(n0, n1, dtype=np.int64)
    presence, inten64, weight = _params(score.timeline, n / score.sr)
    inten = inten64.astype(np.float32)
    loud = presence * (0.12 + 0.88 * inten64 * np.sqrt(inten64))  # intensity ** 1.5, without a pow per sample
    g_e, g_o = (loud * np.sqrt(1.0 - weight)).astype(np.float32), (loud * np.sqrt(weight)).astype(np.float32)
    out = (np.zeros(len(n), np.float32), np.zeros(len(n), np.float32))
    _add_slots(score, sheet, n, (g_e, g_o), out)
    _add_pulses(score, sheet, tape, n, inten, g_e, out)
    _add_timpani(score, sheet, n, out)
    return _master(score, n, out)


def render_score(
    sections: Sequence[ScoreSection],
    duration: float,
    out_wav: Path,
    *,
    sample_rate: int = 48000,
    seed: int = 0,
) -> None:
    """Write the temp score as 16-bit stereo PCM, block by block, so a long film costs no more memory."""
    if duration < 0 or sample_rate <= 0:
        raise ValueError(f"render_score needs duration >= 0 and sample_rate > 0: {duration}, {sample_rate}")
    rng = np.random.default_rng(seed % 2**63)
    score = _Score(
        sr=sample_rate,
        frames=round(duration * sample_rate),
        seed=seed,
        timeline=timeline(sections),
        detune=np.array([-9.0, 0.0, 8.0]) + rng.uniform(-2.0, 2.0, 3),
        vib_rate=rng.uniform(4.8, 6.2, 3),
        vib_phase=rng.uniform(0.0, 1.0, 3),
        pan=np.array([0.15, 0.5, 0.85]) + rng.uniform(-0.1, 0.1, 3),
    )
    sheet, tape = _sheet(score), _Tape()
    block = max(1, round(_BLOCK_SECONDS * sample_rate))
    with wave.open(str(out_wav), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.setnframes(score.frames)
        for n0 in range(0, score.frames, block):
            w.writeframes(_block(score, sheet, tape, n0, min(score.frames, n0 + block)))
