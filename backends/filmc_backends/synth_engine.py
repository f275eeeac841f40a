"""Offline temp score: numpy synthesis of score sections into a WAV a director can watch an animatic with.

Every sample is a pure function of its absolute index (oscillator phases, noise, chord, note and parameter
curves), so the score renders block by block in constant memory and the block size never changes a byte.
Electronic colour (pulse arpeggio with echo, pulsing sub bass, glassy FM pads, air) and orchestral colour
(a detuned, vibrato string ensemble with timpani) play over one chord grid and are crossfaded by each
section's orchestral weight; intensity sets loudness, brightness and density.
"""

from __future__ import annotations

import re
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from filmc.model import Model

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Stereo = tuple[F32, F32]

_BLOCK_SECONDS = 0.25  # per wave write; small enough that numpy temporaries stay in cache and off mmap
_GLIDE = 1.5  # seconds, centred on each section boundary, over which presence, intensity and weight glide
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


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Keywords that pull a cue towards one palette; a trailing plural "s" is ignored when matching.
_ORCHESTRAL_WORDS = _words(
    "string orchestra orchestral orchestrated orchestration symphony symphonic philharmonic piano choir "
    "choral chorus cello celli violin viola contrabass brass horn trumpet trombone tuba timpani woodwind "
    "flute oboe clarinet bassoon harp acoustic bowed pizzicato legato ensemble chamber"
)
_ELECTRONIC_WORDS = _words(
    "synth synthesizer synthesiser synthetic synthwave electronic electronica electro pulse pulsing glitch "
    "glitches glitchy drone droning analog analogue digital sequencer sequenced arpeggiator arp modular sub "
    "pad techno industrial bitcrushed vocoder 808 edm dubstep chiptune lofi"
)


class ScoreSection(Model):
    """One time-anchored music cue as the synthesiser sees it: a span, words, and how hard it plays."""

    start: float
    end: float
    description: str
    instruments: str = ""
    intensity: float


def orchestral_weight(description: str, instruments: str) -> float:
    """Where a cue sits between electronic (0) and orchestral (1) palettes, by its words; neutral is 0.5."""
    words = re.findall(r"[a-z0-9]+", f"{description} {instruments}".lower())
    orchestral = sum(w in _ORCHESTRAL_WORDS or w.removesuffix("s") in _ORCHESTRAL_WORDS for w in words)
    electronic = sum(w in _ELECTRONIC_WORDS or w.removesuffix("s") in _ELECTRONIC_WORDS for w in words)
    return 0.5 if orchestral + electronic == 0 else orchestral / (orchestral + electronic)


@dataclass(frozen=True, eq=False)
class _Timeline:
    """Presence, intensity and weight as smoothed steps: value(t) = first + sum(jump * glide(t - edge))."""

    edges: tuple[float, ...]
    jumps: tuple[tuple[float, float, float], ...]
    first: tuple[float, float, float]


@dataclass(frozen=True, eq=False)
class _Score:
    """Everything a block needs, fixed before the first sample so every block agrees with every other."""

    sr: int
    frames: int
    seed: int
    timeline: _Timeline
    detune: F64  # cents per string player
    vib_rate: F64  # Hz per string player
    vib_phase: F64  # cycles per string player
    pan: F64  # 0 = left, 1 = right, per string player


_Level = tuple[float, float, float]  # presence, intensity, orchestral weight


def _level(s: ScoreSection) -> _Level:
    """Intensity is clamped rather than refused: a temp score should play whatever the cue says."""
    return 1.0, min(max(s.intensity, 0.0), 1.0), orchestral_weight(s.description, s.instruments)


def _timeline(sections: Sequence[ScoreSection]) -> _Timeline:
    """Gaps between sections are silent but keep the last intensity and weight, so timbre never jumps."""
    spans = sorted((s for s in sections if s.end > s.start), key=lambda s: s.start)
    if not spans:
        return _Timeline(edges=(), jumps=(), first=(0.0, 0.0, 0.5))
    edges = sorted({e for s in spans for e in (s.start, s.end)})
    first: _Level = (0.0, *_level(spans[0])[1:])
    levels, prev = [first], first
    for a, b in zip(edges, [*edges[1:], edges[-1] + 1.0], strict=True):
        active = [s for s in spans if s.start <= (a + b) / 2 < s.end]
        prev = _level(active[-1]) if active else (0.0, prev[1], prev[2])  # the latest-starting cue wins
        levels.append(prev)
    jumps = tuple((q[0] - p[0], q[1] - p[1], q[2] - p[2]) for p, q in pairwise(levels))
    return _Timeline(edges=tuple(edges), jumps=jumps, first=first)


def _smooth(x: Any) -> Any:
    """C1 smoothstep on [0, 1], clipped: the shape of every glide, fade and crossfade."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _params(tl: _Timeline, t: F64) -> tuple[F64, F64, F64]:
    """Same bits for a time in any block: a glide is skipped or added whole only where exactly 0 or 1."""
    acc: list[Any] = list(tl.first)
    lo, hi, margin = float(t[0]), float(t[-1]), _GLIDE / 2 + 1e-6
    for edge, jump in zip(tl.edges, tl.jumps, strict=True):
        if edge - margin > hi:
            break
        if edge + margin < lo:
            acc = [a + j for a, j in zip(acc, jump, strict=True)]
        else:
            g = _smooth((t - edge) / _GLIDE + 0.5)
            acc = [a + j * g for a, j in zip(acc, jump, strict=True)]
    p, i, w = (np.broadcast_to(np.asarray(a, dtype=np.float64), t.shape) for a in acc)
    return p, i, w


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


def _arp(score: _Score, n: I64) -> Stereo:
    """Sixteenth-note pulse arpeggio over the chord; quiet cues play eighths, intense ones every sixteenth."""
    sr = score.sr
    step = n * _SPS // sr
    s0 = int(step[0])
    steps = np.arange(s0, int(step[-1]) + 1)
    starts = _step_start(steps, sr)
    idx = step - s0
    inten = _params(score.timeline, starts.astype(np.float64) / sr)[1]
    chords = {int(k): _chord(score, int(k)) for k in np.unique(steps // _SLOT_STEPS) if k >= 0}
    rngs = {k: np.random.default_rng((score.seed % 2**63, k)) for k in chords}
    patterns = {k: _ARP_PATTERNS[int(rng.integers(len(_ARP_PATTERNS)))] for k, rng in rngs.items()}
    midi, gain = np.zeros(len(steps)), np.zeros(len(steps))
    for i, s in enumerate(steps.tolist()):
        if s < 0:
            continue
        slot, pos = divmod(s, _SLOT_STEPS)
        note = patterns[slot][pos % len(_ARP_PATTERNS[0])]
        midi[i] = chords[slot][1][note % 4] + 12 * (note // 4)
        fill = 0.6 * float(_smooth((inten[i] - 0.3) / 0.4))  # odd sixteenths fade in with intensity
        gain[i] = 1.0 if pos % 4 == 0 else 0.75 if pos % 2 == 0 else fill
    tau = ((n - starts[idx]) / sr).astype(np.float32)
    f = _hz(midi)[idx]
    i32 = inten[idx].astype(np.float32)
    cutoff = (400.0 + 3600.0 * i32) * (1.0 + 5.0 * np.exp(-tau / 0.05))
    r = np.exp(-f.astype(np.float32) / cutoff)
    cyc = _cycles(n / sr, f)
    tone = _saw(cyc, r) - _saw(cyc + np.float32(0.3), r)  # pulse wave, 30 % duty
    out = tone * _pluck(tau, 1.0 / _SPS, 0.002, 0.05 + 0.1 * i32) * gain[idx].astype(np.float32)
    right = step % 2 == 1  # ping-pong
    pan_l, pan_r = (
        np.where(right, 0.45, 1.0).astype(np.float32),
        np.where(right, 1.0, 0.45).astype(np.float32),
    )
    return pan_l * out, pan_r * out


def _noise(seed: int, n: I64) -> F32:
    """Counter-based white noise (splitmix64 of seed and sample index): any sample, any block, same value."""
    z = n.astype(np.uint64) + np.uint64((seed * 0x9E3779B97F4A7C15) % 2**64)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return ((z >> np.uint64(40)).astype(np.float32) / np.float32(2**23) - np.float32(1.0)).astype(np.float32)


def _electronic(score: _Score, n: I64, t: F64, chord: _Chord, inten: F32) -> Stereo:
    """Pulsing sub bass and glassy detuned FM pads for one chord."""
    bass, tones = chord
    tau8 = ((n - _step_start(n * _SPS // score.sr // 2 * 2, score.sr)) / score.sr).astype(np.float32)
    pump = 0.45 + 0.55 * _pluck(tau8, 2.0 / _SPS, 0.01, 0.18)
    c = _cycles(t, float(_hz(bass))) * _TAU
    sub = (np.sin(c) + 0.25 * np.sin(2.0 * c)) * pump * np.float32(0.24)
    left, right = sub.astype(np.float32), sub.astype(np.float32)
    shimmer = 0.5 + 0.7 * inten
    for m in tones:
        for cents, side in ((-7.0, left), (7.0, right)):
            th = _cycles(t, float(_hz(m + 12)) * 2.0 ** (cents / 1200.0)) * _TAU
            side += np.float32(0.035) * np.sin(th + shimmer * np.sin(2.0 * th)).astype(np.float32)
    return left, right


def _strings(score: _Score, t: F64, chord: _Chord, inten: F32) -> Stereo:
    """Three detuned players per note with their own vibrato, through a brightness that follows intensity."""
    bass, tones = chord
    extra = 0.5 * _smooth((inten - 0.45) / 0.3)  # violins an octave up and contrabasses at high intensity
    notes = [(bass + 12, 1.0), *((m, 0.8) for m in tones), *((m + 12, extra) for m in tones[2:])]
    notes.append((bass, extra))
    cutoff = 500.0 + 3500.0 * inten
    vib = [
        (
            np.sin(_cycles(t, float(score.vib_rate[p])) * _TAU + float(score.vib_phase[p]) * _TAU)
            * 0.0035
            / (2 * np.pi * float(score.vib_rate[p]))
        ).astype(np.float32)
        for p in range(3)
    ]
    left, right = np.zeros(len(t), np.float32), np.zeros(len(t), np.float32)
    for m, g in notes:
        f = float(_hz(m))
        r = np.minimum(np.exp(-f / cutoff), np.float32(0.94))  # low notes stay bowed, not buzzy
        for p in range(3):
            fp = f * 2.0 ** (float(score.detune[p]) / 1200.0)
            s = _saw(_cycles(t, fp) + np.float32(fp) * vib[p], r) * g
            left += s * np.float32(0.075 * (1.0 - 0.6 * score.pan[p]))
            right += s * np.float32(0.075 * (0.4 + 0.6 * score.pan[p]))
    return left, right


def _timpani(score: _Score, n: I64, slot: int) -> F32:
    """A low drum hit on the chord change, only when the cue is orchestral and loud."""
    start = int(_step_start(slot * _SLOT_STEPS, score.sr))
    _p, inten, weight = _params(score.timeline, np.array([start / score.sr]))
    hit = float(_smooth((inten[0] - 0.6) / 0.25)) * float(weight[0])
    if hit <= 0.0:
        return np.zeros(len(n), np.float32)
    bass = _chord(score, slot)[0]
    f = float(_hz(bass if bass >= 33 else bass + 12))
    tau = ((n - start) / score.sr).astype(np.float32)
    glide = f * 0.04 * 0.08 * (1.0 - np.exp(-tau / 0.08))  # pitch falls a little after the strike
    out = np.zeros(len(n), np.float32)
    for ratio, amp, decay in ((1.0, 1.0, 0.9), (1.5, 0.5, 0.5), (1.99, 0.3, 0.35), (2.44, 0.15, 0.25)):
        out += amp * np.sin(_TAU * ratio * (f * tau + glide)) * _pluck(tau, 2.5, 0.003, decay)
    return (np.float32(0.2 * hit) * out).astype(np.float32)


def _slot_edges(score: _Score, slot: int) -> tuple[int, int]:
    """First sample of a chord slot and of the next one."""
    start, end = _step_start(np.array([slot, slot + 1]) * _SLOT_STEPS, score.sr)
    return int(start), int(end)


def _slot_of(sample: int, sr: int) -> int:
    return sample * _SPS // sr // _SLOT_STEPS


def _add_slots(score: _Score, n: I64, inten: F32, gains: Stereo, out: Stereo) -> None:
    """Sustained voices chord by chord; neighbouring chords overlap by a complementary crossfade."""
    sr, x = score.sr, round(_SLOT_XFADE * score.sr)
    n0, n1 = int(n[0]), int(n[-1]) + 1
    g_e, g_o = gains
    for slot in range(_slot_of(max(0, n0 - x), sr), _slot_of(n1 - 1 + x, sr) + 1):
        s0, s1 = _slot_edges(score, slot)
        a, b = max(n0, s0 - x), min(n1, s1 + x)
        if a >= b:
            continue
        m, sl = n[a - n0 : b - n0], slice(a - n0, b - n0)
        t = m / sr
        win = (_smooth((m - (s0 - x)) / (2 * x)) * _smooth((s1 + x - m) / (2 * x))).astype(np.float32)
        chord = _chord(score, slot)
        if np.any(g_e[sl]):
            left, right = _electronic(score, m, t, chord, inten[sl])
            out[0][sl] += left * win * g_e[sl]
            out[1][sl] += right * win * g_e[sl]
        if np.any(g_o[sl]):
            swell = (0.7 + 0.3 * np.sin(np.pi * np.clip((m - s0) / (s1 - s0), 0.0, 1.0))).astype(np.float32)
            left, right = _strings(score, t, chord, inten[sl])
            out[0][sl] += left * win * swell * g_o[sl]
            out[1][sl] += right * win * swell * g_o[sl]


def _add_timpani(score: _Score, n: I64, out: Stereo) -> None:
    """Each hit rings for 2.5 s after its chord change, so it may spill into the next block."""
    sr, ring = score.sr, round(2.5 * score.sr)
    n0, n1 = int(n[0]), int(n[-1]) + 1
    for slot in range(_slot_of(max(0, n0 - ring), sr), _slot_of(n1 - 1, sr) + 1):
        s0 = _slot_edges(score, slot)[0]
        a, b = max(n0, s0), min(n1, s0 + ring)
        if a < b:
            hit = _timpani(score, n[a - n0 : b - n0], slot)
            out[0][a - n0 : b - n0] += hit
            out[1][a - n0 : b - n0] += hit


def _add_pulses(score: _Score, n: I64, inten: F32, g_e: F32, out: Stereo) -> None:
    """The arpeggio, its echo thrown to the other side, and a breath of digital air."""
    if not np.any(g_e):
        return
    left, right = _arp(score, n)
    echo_l, echo_r = _arp(score, n - _ECHO_STEPS * score.sr // _SPS)
    air = (0.3 + 0.7 * inten) * np.float32(0.008)
    hiss_l = _noise(score.seed, n) - _noise(score.seed, n - 1)  # differenced: white noise tilted bright
    hiss_r = _noise(~score.seed, n) - _noise(~score.seed, n - 1)
    out[0][:] += g_e * (0.18 * (left + 0.35 * echo_r) + air * hiss_l)
    out[1][:] += g_e * (0.18 * (right + 0.35 * echo_l) + air * hiss_r)


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


def _block(score: _Score, n0: int, n1: int) -> bytes:
    """Samples [n0, n1) of the score, computed from absolute indices only."""
    n = np.arange(n0, n1, dtype=np.int64)
    presence, inten64, weight = _params(score.timeline, n / score.sr)
    inten = inten64.astype(np.float32)
    loud = (presence * (0.12 + 0.88 * inten64**1.5)).astype(np.float32)
    g_e, g_o = (loud * np.sqrt(1.0 - weight)).astype(np.float32), (loud * np.sqrt(weight)).astype(np.float32)
    out = (np.zeros(len(n), np.float32), np.zeros(len(n), np.float32))
    _add_slots(score, n, inten, (g_e, g_o), out)
    _add_pulses(score, n, inten, g_e, out)
    _add_timpani(score, n, out)
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
        timeline=_timeline(sections),
        detune=np.array([-9.0, 0.0, 8.0]) + rng.uniform(-2.0, 2.0, 3),
        vib_rate=rng.uniform(4.8, 6.2, 3),
        vib_phase=rng.uniform(0.0, 1.0, 3),
        pan=np.array([0.15, 0.5, 0.85]) + rng.uniform(-0.1, 0.1, 3),
    )
    block = max(1, round(_BLOCK_SECONDS * sample_rate))
    with wave.open(str(out_wav), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.setnframes(score.frames)
        for n0 in range(0, score.frames, block):
            w.writeframes(_block(score, n0, min(score.frames, n0 + block)))
