"""Offline temp score: numpy synthesis of score sections into a WAV a director can watch an animatic with.

Every sample is a pure function of its absolute index (oscillator phases, noise, chord, note and parameter
curves), so the score renders block by block in constant memory and the block size never changes a byte.
What is per chord or per sixteenth (chords, arpeggio notes, voicings) is decided once, before the first
block; the sustained voices run at half rate; the arpeggio's echo replays the arpeggio instead of remaking it.
Whatever depends only on the position inside a sixteenth, an eighth or a chord (note envelopes, the sub's
pump, the strings' swell, the chord crossfade) is a table made once and sliced, and levels that hold still
over a block are numbers rather than arrays: the same floating-point operations on the same values, fewer
of them, so the bytes are those the per-sample formulas gave.
Electronic colour (pulse arpeggio with echo, pulsing sub bass, glassy FM pads, air) and orchestral colour
(a detuned, vibrato string ensemble with timpani) play over one chord grid and are crossfaded by each
section's orchestral weight; intensity sets loudness, brightness and density.
"""

from __future__ import annotations

import wave
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from filmc_backends.synth_cues import ScoreSection, Timeline, orchestral_weight, timeline
from filmc_backends.synth_cues import params as _params
from filmc_backends.synth_cues import smooth as _smooth
from filmc_backends.synth_cues import steady as _steady

__all__ = ["ScoreSection", "orchestral_weight", "render_score"]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Stereo = tuple[F32, F32]
Level32 = F32 | np.float32  # a level per sample, or one number where it holds still over the span

_BLOCK_SECONDS = 0.5  # per wave write; Entropy's score measured slower at 0.25 s (numpy's per-call cost) and 2 s
_HEAP_WARMUP = 8 << 20  # bytes freed before the first block: > a block's largest array, 2x it > all of them at once
_SPS = 6  # sixteenth notes per second: 90 BPM
_SLOT_STEPS = 32  # sixteenths per chord: two bars, ~5.3 s
_SLOT_XFADE = 0.4  # seconds either side of a chord change over which old and new chord crossfade
_ECHO_STEPS = 3  # dotted-eighth echo of the arpeggio
_FADE_IN, _FADE_OUT = 0.05, 0.5  # seconds; the score never starts or stops on a click
_KNEE, _CEILING = 0.6, 10 ** (-1.05 / 20)  # soft limiter: transparent below the knee, never above -1 dBFS
_TAU = np.float32(2 * np.pi)
_TABLE_CHUNK = 1 << 15  # samples of a table made at once

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


def _steps(sr: int, a: int, b: int, per: int = 1) -> Iterator[tuple[int, int, int]]:
    """(index, first, end) of every run of `per` sixteenths (1: sixteenths, 2: eighths) meeting samples [a, b).

    The runs split the samples exactly where `n * _SPS // sr // per` changes, so a caller works on a few
    slices with one number each instead of dividing and indexing per sample.
    """
    k = a * _SPS // sr // per
    while True:
        first, end = max(a, _step_start(k * per, sr)), min(b, _step_start((k + 1) * per, sr))
        if first >= b:
            return
        yield k, first, end
        k += 1


def _cycles(t: F64, freq: Any) -> F32:
    """Oscillator phase in cycles from absolute time: continuous across blocks by construction."""
    c = t * freq
    c -= np.floor(c)  # in place: one float64 array fewer than c - floor(c), the same numbers
    frac: F32 = c.astype(np.float32)
    return frac


def _saw(cycles: F32, r: Level32) -> F32:
    """Band-limited saw whose k-th harmonic falls as r**k / k: a low-pass filtered saw for one atan2.

    atan2(r sin th, 1 - r cos th), worked in place: the same operations as the formula, fewer arrays.
    """
    th = cycles * _TAU
    y = np.sin(th)
    y *= r
    x = np.cos(th, out=th)
    x *= r
    np.subtract(np.float32(1.0), x, out=x)
    saw: F32 = np.arctan2(y, x, out=y)
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
    """Chord slots, arpeggio steps and shapes decided up front, so a block only looks them up.

    The shapes are tables by sample offset from the start of a sixteenth, an eighth or a chord, made with
    the very expressions that once ran per sample on those offsets, so a slice of a table is bit for bit
    what the formula gave.
    """

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
    arp_open32: F32  # by offset into a sixteenth: the arpeggio's filter sweep, a factor on the step's cutoff
    arp_attack32: F32  # by offset into a sixteenth: the rise of the arpeggio's pluck
    arp_gate32: F32  # by offset into a sixteenth: the closing ramp of the arpeggio's pluck
    arp_neg_tau32: F32  # by offset into a sixteenth: minus the seconds since its start
    pump32: F32  # by offset into an eighth: the sub bass's pump
    xfade: int  # samples either side of a chord change over which old and new chord crossfade
    fades: dict[int, tuple[F32, F32]]  # by slot length, from xfade before the slot: window, window x swell


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


def _fades(length: int, x: int) -> tuple[F32, F32]:
    """For a slot of `length` samples, by offset d from x samples before it: the crossfade and the swell.

    The window is the product of two smoothsteps that is exactly 1 from x after the slot starts to x before
    it ends; the swell is the strings' rise and fall over the chord, inside that window. Both as the
    per-sample formulas had them, with d - x in place of m - start; made a chunk at a time so the float64
    intermediates stay small.
    """
    win, swell = np.empty(length + 2 * x, np.float32), np.empty(length + 2 * x, np.float32)
    for lo in range(0, length + 2 * x, _TABLE_CHUNK):
        d = np.arange(lo, min(lo + _TABLE_CHUNK, length + 2 * x), dtype=np.int64)
        if x > 0:
            w = (_smooth(d / (2 * x)) * _smooth((length + 2 * x - d) / (2 * x))).astype(np.float32)
        else:  # no crossfade: never read, as no block reaches outside its slot
            w = np.ones(len(d), np.float32)
        along = np.clip(((d - x) / length).astype(np.float32), 0.0, 1.0)
        win[d[0] : d[-1] + 1] = w
        swell[d[0] : d[-1] + 1] = w * (0.7 + 0.3 * np.sin(np.float32(np.pi) * along))
    return win, swell


def _sheet(score: _Score) -> _Sheet:
    """Every slot and sixteenth the score can reach, and every shape, so a block only looks them up."""
    sr = score.sr
    x = round(_SLOT_XFADE * sr)
    count = _slot_of(score.frames + x, sr) + 2
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
    tau = (np.arange(2 * sr // _SPS + 2) / sr).astype(np.float32)  # seconds into an eighth (or a sixteenth)
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
        arp_open32=1.0 + 5.0 * np.exp(-tau / 0.05),
        arp_attack32=1.0 - np.exp(-tau / 0.002),
        arp_gate32=np.clip((1.0 / _SPS - tau) / 0.01, 0.0, 1.0),
        arp_neg_tau32=-tau,
        pump32=0.45 + 0.55 * _pluck(tau, 2.0 / _SPS, 0.01, 0.18),
        xfade=x,
        fades={length: _fades(length, x) for length in sorted({s.end - s.start for s in slots})},
    )


def _arp(score: _Score, sheet: _Sheet, a: int, out: F32) -> None:
    """Sixteenth-note pulse arpeggio over the chord, samples [a, a + len(out)), sixteenth by sixteenth.

    Quiet cues play eighths, intense ones every sixteenth. A sixteenth whose gain is 0 (a rest, or before
    the score starts) is left at 0 rather than computed and multiplied by 0: the PCM cannot tell -0 from 0.
    """
    sr = score.sr
    for k, first, end in _steps(sr, a, a + len(out)):
        i = k - sheet.base
        gain = sheet.step_gain32[i]
        if gain == 0.0:
            out[first - a : end - a] = 0.0
            continue
        start = int(sheet.step_start[i])
        j = slice(first - start, end - start)
        r = np.exp(sheet.step_neg_hz32[i] / (sheet.step_cutoff32[i] * sheet.arp_open32[j]))
        cyc = _cycles(np.arange(first, end, dtype=np.int64) / sr, sheet.step_hz[i])
        tone = _saw(cyc, r)
        cyc += np.float32(0.3)
        tone -= _saw(cyc, r)  # pulse wave, 30 % duty
        env = sheet.arp_attack32[j] * np.exp(sheet.arp_neg_tau32[j] / sheet.step_decay32[i])
        env *= sheet.arp_gate32[j]
        tone *= env
        np.multiply(tone, gain, out=out[first - a : end - a])


def _ping_pong(sr: int, a: int, mono: F32) -> Stereo:
    """Odd sixteenths lean right, even ones left: samples [a, a + len(mono)), the far side at 0.45."""
    left, right = mono.copy(), mono.copy()
    for k, first, end in _steps(sr, a, a + len(mono)):
        (left if k % 2 else right)[first - a : end - a] *= np.float32(0.45)
    return left, right


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
        kept = min(b, end) - a if self.start <= a <= end else 0
        values = np.empty(b - a, np.float32)
        values[:kept] = self.values[a - self.start : a - self.start + kept]
        if a + kept < b:
            _arp(score, sheet, a + kept, values[kept:])
        self.start, self.values = a, values
        return values


def _noise(seed: int, a: int, b: int) -> F32:
    """Counter-based white noise for samples [a, b) (splitmix64 of seed and index): any block, same value."""
    z = np.arange(a, b, dtype=np.int64).view(np.uint64)  # negative indices wrap, as a cast to uint64 does
    z += np.uint64((seed * 0x9E3779B97F4A7C15) % 2**64)
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    z >>= np.uint64(40)
    noise = z.astype(np.float32)
    noise /= np.float32(2**23)
    noise -= np.float32(1.0)
    return noise


def _electronic(score: _Score, sheet: _Sheet, slot: _Slot, n: I64, t: F64, inten: Level32) -> Stereo:
    """Pulsing sub bass and glassy detuned FM pads for one chord, on the even samples n (times t).

    The pump is sliced, eighth by eighth, from its table; the four pad voices of a side are one array.
    """
    first = int(n[0])
    pump = np.empty(len(n), np.float32)
    for q, a, b in _steps(score.sr, first, int(n[-1]) + 1, per=2):  # eighth by eighth, from the pump table
        i0, i1 = (a - first + 1) // 2, (b - first + 1) // 2  # the even samples in [a, b)
        j = first + 2 * i0 - _step_start(2 * q, score.sr)
        pump[i0:i1] = sheet.pump32[j : j + 2 * (i1 - i0) : 2]
    c = _cycles(t, slot.sub_hz)
    c *= _TAU
    octave = c * np.float32(2.0)
    np.sin(octave, out=octave)
    octave *= np.float32(0.25)
    sub = np.sin(c, out=c)
    sub += octave
    sub *= pump
    sub *= np.float32(0.24)
    left, right = sub, sub.copy()
    shimmer = 0.5 + 0.7 * inten
    for side, hz in ((left, slot.pad_hz[:4, None]), (right, slot.pad_hz[4:, None])):  # four voices a side
        th = _cycles(t, hz)
        th *= _TAU
        fm = th * np.float32(2.0)
        np.sin(fm, out=fm)
        fm *= shimmer
        fm += th
        np.sin(fm, out=fm)
        fm *= np.float32(0.035)
        for voice in fm:  # one after another, as they were always summed
            side += voice
    return left, right


def _strings(score: _Score, sheet: _Sheet, slot: _Slot, t: F64, inten: Level32) -> Stereo:
    """Three detuned players per note with their own vibrato, through a brightness that follows intensity.

    Note by note, its three players as one (player, sample) array: the (note, player, sample) array of all
    24 voices is larger than the cache and measured three times slower. The players are still summed into
    each side one after another, in the order they always were. The octave doublings are skipped while
    their gain is exactly 0; the root's gain of 1 is not multiplied at all. Where the intensity holds
    still, the brightness is a number per note rather than an array.
    """
    extra = 0.5 * _smooth((inten - 0.45) / 0.3)  # violins an octave up and contrabasses at high intensity
    cutoff = 500.0 + 3500.0 * inten
    vib = np.sin(_cycles(t, score.vib_rate[:, None]) * _TAU + sheet.vib_phase32[:, None]) * 0.0035
    vib /= sheet.vib_depth32[:, None]
    left, right = np.zeros(len(t), np.float32), np.zeros(len(t), np.float32)
    panned = np.empty((3, len(t)), np.float32)
    doubled = bool(np.any(extra))
    for i, neg_hz in enumerate(slot.string_neg_hz32.tolist()):
        if i >= 5 and not doubled:
            continue
        r = np.minimum(np.exp(np.float32(neg_hz) / cutoff), np.float32(0.94))  # low notes stay bowed
        s = _cycles(t, slot.string_hz[i][:, None])
        s += slot.string_hz32[i][:, None] * vib
        s = _saw(s, r)
        if i:
            s *= np.float32(0.8) if i < 5 else extra
        for side, pan in ((left, sheet.pan_left), (right, sheet.pan_right)):
            np.multiply(s, pan[:, None], out=panned)
            for p in range(3):
                side += panned[p]
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
    out *= np.float32(0.2 * slot.drum)
    return out


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
        np.add(v[:-1], v[1:], out=full[1::2])
        full[1::2] *= np.float32(0.5)
        out.append(full[skip : skip + count])
    return out[0], out[1]


def _part(level: Level32, span: slice) -> Level32:
    """The samples of a level in a span; a level that holds still is the same number everywhere."""
    return level[span] if isinstance(level, np.ndarray) else level


def _intensity(score: _Score, t: F64) -> Level32:
    """The intensity at times t: one number if no glide reaches into them, else one per sample."""
    level = _steady(score.timeline, float(t[0]), float(t[-1]))
    return _params(score.timeline, t)[1].astype(np.float32) if level is None else np.float32(level[1])


def _add_slots(score: _Score, sheet: _Sheet, n0: int, n1: int, gains: tuple[Level32, Level32], out: Stereo) -> None:
    """Sustained voices chord by chord; neighbouring chords overlap by a complementary crossfade.

    Pads, sub and strings hold almost nothing above 10 kHz, so they are computed on the even absolute
    samples only (half the work) and interpolated; every value still comes from absolute indices alone.
    """
    sr, x = score.sr, sheet.xfade
    g_e, g_o = gains
    for k in range(_slot_of(max(0, n0 - x), sr), _slot_of(n1 - 1 + x, sr) + 1):
        slot = sheet.slots[k]
        s0, s1 = slot.start, slot.end
        a, b = max(n0, s0 - x), min(n1, s1 + x)
        if a >= b:
            continue
        sl = slice(a - n0, b - n0)
        ge, go = _part(g_e, sl), _part(g_o, sl)
        electronic, orchestral = bool(np.any(ge)), bool(np.any(go))
        if not (electronic or orchestral):
            continue
        lo = a - a % 2
        e = np.arange(lo, b + (b - 1) % 2, 2, dtype=np.int64)  # evens from a (or just before) to b - 1 (or after)
        te = e / sr
        inten = _intensity(score, te)
        win, swell = sheet.fades[s1 - s0]
        d = slice(a - (s0 - x), b - (s0 - x))
        if electronic:
            left, right = _upsample(_electronic(score, sheet, slot, e, te, inten), a - lo, b - a)
            # the crossfade window is exactly 1 away from the chord changes: multiplied only where it is not
            gain = win[d] * ge if a < s0 + x or b > s1 - x else ge
            out[0][sl] += left * gain
            out[1][sl] += right * gain
        if orchestral:
            gain = swell[d] * go  # a swell over each chord, inside the crossfade window
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


def _hiss(seed: int, n0: int, n1: int) -> F32:
    """Differenced noise (white noise tilted bright), each noise sample drawn once rather than twice."""
    z = _noise(seed, n0 - 1, n1)
    hiss: F32 = z[1:] - z[:-1]
    return hiss


def _add_pulses(
    score: _Score, sheet: _Sheet, tape: _Tape, n0: int, n1: int, inten: Level32, g_e: Level32, out: Stereo
) -> None:
    """The arpeggio, its echo thrown to the other side, and a breath of digital air."""
    if not np.any(g_e):
        return
    delay = _ECHO_STEPS * score.sr // _SPS
    mono = tape.span(score, sheet, n0 - delay, n1)
    left, right = _ping_pong(score.sr, n0, mono[delay:])
    echo_l, echo_r = _ping_pong(score.sr, n0 - delay, mono[: n1 - n0])
    air = (0.3 + 0.7 * inten) * np.float32(0.008)
    for mix, near, echo, seed in ((out[0], left, echo_r, score.seed), (out[1], right, echo_l, ~score.seed)):
        # g_e * (0.18 * (near + 0.35 * echo) + air * hiss), in place
        echo *= np.float32(0.35)
        echo += near
        echo *= np.float32(0.18)
        hiss = _hiss(seed, n0, n1)
        hiss *= air
        echo += hiss
        echo *= g_e
        mix += echo


def _master(score: _Score, n: I64, out: Stereo) -> bytes:
    """Fades at the very start and end, a soft limiter under -1 dBFS, then interleaved 16-bit PCM.

    Between the fades the fade is exactly 1 and is not multiplied; the limiter's curve is worked out only
    for the samples over its knee.
    """
    fade_in = max(1, round(min(_FADE_IN, score.frames / score.sr / 4) * score.sr))
    fade_out = max(1, round(min(_FADE_OUT, score.frames / score.sr / 4) * score.sr))
    fade = None
    if int(n[0]) < fade_in or score.frames - int(n[-1]) - 1 < fade_out:
        fade = (_smooth(n / fade_in) * _smooth((score.frames - 1 - n) / fade_out)).astype(np.float32)
    pcm = np.empty((len(n), 2), dtype="<i2")
    for ch, x in enumerate(out):
        y = x * fade if fade is not None else x.copy()
        over = np.abs(y) > _KNEE
        if over.any():
            hot = y[over]
            y[over] = np.sign(hot) * (
                _KNEE + (_CEILING - _KNEE) * np.tanh((np.abs(hot) - _KNEE) / (_CEILING - _KNEE))
            )
        y *= np.float32(32767.0)
        pcm[:, ch] = np.rint(y, out=y)
    return pcm.tobytes()


def _block(score: _Score, sheet: _Sheet, tape: _Tape, n0: int, n1: int) -> bytes:
    """Samples [n0, n1) of the score, computed from absolute indices only."""
    n = np.arange(n0, n1, dtype=np.int64)
    inten: Level32
    g_e: Level32
    g_o: Level32
    level = _steady(score.timeline, n0 / score.sr, (n1 - 1) / score.sr)
    if level is None:
        presence, inten64, weight = _params(score.timeline, n / score.sr)
        inten = inten64.astype(np.float32)
        loud = presence * (0.12 + 0.88 * inten64 * np.sqrt(inten64))  # intensity ** 1.5, without a pow per sample
        g_e, g_o = (loud * np.sqrt(1.0 - weight)).astype(np.float32), (loud * np.sqrt(weight)).astype(np.float32)
    else:  # the same arithmetic on numbers: the levels hold still over the block
        p, i, w = (np.float64(v) for v in level)
        loud1 = p * (0.12 + 0.88 * i * np.sqrt(i))
        inten, g_e, g_o = np.float32(i), np.float32(loud1 * np.sqrt(1.0 - w)), np.float32(loud1 * np.sqrt(w))
    out = (np.zeros(len(n), np.float32), np.zeros(len(n), np.float32))
    _add_slots(score, sheet, n0, n1, (g_e, g_o), out)
    _add_pulses(score, sheet, tape, n0, n1, inten, g_e, out)
    _add_timpani(score, sheet, n, out)
    return _master(score, n, out)


def _settle_heap() -> None:
    """Allocate and free one array larger than a block's temporaries, once, before the first block.

    glibc's malloc hands freed memory back to the kernel above two thresholds that it raises only when a
    large block is freed; until then every block's temporaries are unmapped or trimmed and faulted in
    again (measured on Entropy's score in a fresh process: ~130k minor faults, 40 % of its CPU). One
    freed array of _HEAP_WARMUP bytes, never touched, raises both for good. Other allocators see an
    allocation and a free. No sample depends on it.
    """
    np.empty(_HEAP_WARMUP, np.uint8)  # freed as soon as made: that is the point


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
    _settle_heap()
    sheet, tape = _sheet(score), _Tape()
    block = max(1, round(_BLOCK_SECONDS * sample_rate))
    with wave.open(str(out_wav), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.setnframes(score.frames)
        for n0 in range(0, score.frames, block):
            w.writeframes(_block(score, sheet, tape, n0, min(score.frames, n0 + block)))
