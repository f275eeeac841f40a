"""The sound side of assembly: place the narration, duck the music under it, hit the loudness target.

Three short ffmpeg passes, all audio-only and cheap next to any video encode:

1. measure the voice bus (every line at its time) and the music bus with `ebur128`, to set their gains:
   the voice at the target loudness, the music bed `music_db` below it;
2. mix: music ducked by `sidechaincompress` keyed on the voice, written as 32-bit float WAV (no
   clipping); on the way, two copies go through the normalising gain and limiter of step 3 at two trial
   gains (`_TRIAL_GAINS`) and `ebur128` reads what comes out. The limiter's loudness cost cannot be known
   without running it (aimed at the mix's own loudness, step 3 took three tries on Entropy: 0.7, 1.6,
   1.9 dB); these two readings of the very output step 3 would make at those gains tell it, and the gain
   that lands on the target is read off the line through them;
3. normalise (EBU R128, two-pass): that one gain for the whole film, so ducking and dynamics survive,
   then a look-ahead limiter below the true-peak ceiling, padded or trimmed to the exact sample count,
   measured again on the way out (integrated loudness and true peak: the guarantee rests on this
   reading, not on the trials); only if it misses is the pass repeated, aimed by the readings so far
   (at most a few times; once on Entropy, Hello and the tests' speech and score, twice where clicks beat
   the limiter's margin for inter-sample peaks and the limit has to come down).

Why not `loudnorm`: its linear mode is exactly the gain of step 3, but it measures at 192 kHz (ten
times slower than `ebur128` here) and, when the gain would push peaks over the ceiling, silently
switches to its dynamic mode, which missed the target by 1-2 LU on peaky material in our tests.

Output is 48 kHz stereo: 24-bit PCM for `.wav` (lossless, what an editor wants), AAC 192k for `.m4a`.
"""

from __future__ import annotations

import math
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from filmc.assemble.media import MediaError, ffmpeg_log, filter_spec, probe, run_ffmpeg
from filmc.model import Model

SAMPLE_RATE = 48_000
_BUS_FORMAT = f"aresample={SAMPLE_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo"
_CODECS = {".wav": ["-c:a", "pcm_s24le"], ".m4a": ["-c:a", "aac", "-b:a", "192k"]}
_SILENT = -70.0          # ebur128's floor: nothing above the absolute gate
_DUCK_DEPTH = 0.03       # the compressor's own gain under speech (about -30 dB); `mix` sets the dip
_LIMITER_MARGIN_DB = 1.0  # sample-peak limit below the true-peak ceiling, for inter-sample overs
_TOLERANCE_LU = 0.2
_PEAK_ROUNDING = 0.1   # ebur128 prints tenths of a dB: -1.0 may be -0.95
_PASSES = 4
# Normalising gains (dB) tried on the mix while it is made. The voice bus is set to the target, so the mix
# lands within a dB or so of it and the gain needed is the limiter's cost plus that: 1.8-2.0 dB on Entropy
# and Hello. Two points a little either side let step 3 interpolate; outside them it extrapolates, and the
# reading of step 3's own output decides whether another pass is needed.
_TRIAL_GAINS = (0.5, 2.5)
_MIN_SLOPE = 0.2   # loudness gained per dB of gain, at least: a limiter taking 80 % of each dB is extreme
_MAX_STEP_DB = 6.0   # one aim moves the gain at most this far from the reading it starts from
_MUSIC_FADE_SECONDS = 2.0
_REACH_MARGIN = 0.25  # s past a line's known end (ffmpeg's header says centiseconds, truncated)


class NarrationPlacement(Model):
    """One narration line: its audio file and where it starts on the film's clock, in seconds."""

    wav: Path
    start: float
    duration: float | None = None   # when the caller already knows it (the cache's sidecar): no probe needed


class Loudness(Model):
    """An EBU R128 reading: integrated loudness (LUFS), true peak (dBTP), loudness range (LU)."""

    integrated: float
    true_peak: float
    lra: float


def _number(pattern: str, text: str) -> float:
    match = re.search(pattern + r"\s+(-?inf|-?[\d.]+)", text)
    if not match:
        raise MediaError(f"ffmpeg printed no `{pattern}` reading")
    return float(match.group(1))


def _block(log: str, instance: str = "") -> str:
    """The `Summary:` ebur128 prints at the end, from the named instance if given."""
    start = log.rfind(f"[ebur128@{instance} @" if instance else "Summary:")
    if start < 0:
        raise MediaError("ffmpeg's ebur128 printed no summary")
    return log[start:]


def _summary(block: str) -> Loudness:
    peak = _number(r"Peak:", block) if "True peak:" in block else float("-inf")
    return Loudness(integrated=_number(r"I:", block), true_peak=peak, lra=_number(r"LRA:", block))


def loudness_filter(instance: str = "") -> str:
    """What measuring a delivered film's loudness runs, on its file or in the run that encodes it (`muxer`)."""
    return f"ebur128{'@' + instance if instance else ''}=peak=true:framelog=quiet"


def measure_loudness(path: Path) -> Loudness:
    """Integrated loudness, true peak and range of a file's first audio stream, as EBU R128 defines them."""
    log = ffmpeg_log(["-i", str(path), "-map", "0:a:0", "-af", loudness_filter(), "-f", "null", "-"])
    return _summary(_block(log))


def loudness_in_log(log: str, instance: str) -> Loudness:
    """The reading an `ebur128@<instance>` printed in a caller's own ffmpeg run."""
    return _summary(_block(log, instance))


def measure_window_rms(path: Path, start: float, end: float) -> float:
    """RMS level in dBFS of `start`..`end` seconds, all channels together; for QA of levels and ducking."""
    window = filter_spec("atrim", start=f"{start:.6f}", end=f"{end:.6f}")
    log = ffmpeg_log(["-i", str(path), "-map", "0:a:0", "-af", f"{window},volumedetect", "-f", "null", "-"])
    return _number(r"mean_volume:", log)


Bus = tuple[list[str], list[str], str | None]   # input args, filter chains, the label of the result


class _Line(Model):
    """A line on the sample clock: where it starts, and the last sample it may still sound at (with a margin)."""

    wav: Path
    start: int
    reach: int


def _lines(narration: Sequence[NarrationPlacement], samples: int) -> list[_Line]:
    """The lines that start inside the film, by start (ties keep the caller's order, so the sum is stable)."""
    out = []
    for n in narration:
        start = round(max(n.start, 0.0) * SAMPLE_RATE)
        if start < samples:
            seconds = n.duration if n.duration is not None and n.duration > 0 else probe(n.wav).duration
            out.append(_Line(wav=n.wav, start=start, reach=start + math.ceil((seconds + _REACH_MARGIN) * SAMPLE_RATE)))
    return sorted(out, key=lambda line: line.start)


def _windows(lines: Sequence[_Line]) -> list[list[_Line]]:
    """Lines grouped so that no line sounds past the start of the next group: most groups are one line."""
    groups: list[list[_Line]] = []
    reach = -1
    for line in lines:
        if groups and line.start < reach:
            groups[-1].append(line)
        else:
            groups.append([line])
        reach = max(reach, line.reach)
    return groups


def _voice_bus(narration: Sequence[NarrationPlacement], samples: int) -> Bus:
    """Every line at its sample, summed (no scaling), as a concat of windows, or None if silent.

    Window k runs from its first line's start (0 for the first) to the next window's start, so the bus costs
    the film's length once plus each line's own length: a line is delayed only within its window, and lines
    are mixed (`amix`) only where they overlap. `adelay` of every line from 0 cost lines x film instead.
    """
    groups = _windows(_lines(narration, samples))
    if not groups:
        return [], [], None
    bounds = [0, *(group[0].start for group in groups[1:]), samples]
    inputs: list[str] = []
    parts: list[str] = []
    for k, group in enumerate(groups):
        chains = []
        for line in group:
            index = len(inputs) // 2
            inputs += ["-i", str(line.wav)]
            delay = line.start - bounds[k]
            chains.append(f"[{index}:a:0]{_BUS_FORMAT}" + (f",adelay=delays={delay}S:all=1" if delay else ""))
        width = bounds[k + 1] - bounds[k]
        if len(group) > 1:   # overlapping lines: summed over their window only, each padded to the window first:
            # ffmpeg 9's amix, fed inputs that end apart, now and then hands on an end with no timestamp and
            # `concat` fails the run ("Invalid data", 2-8 runs in 100); inputs that end together never did
            fit = f"apad=whole_len={width},atrim=end_sample={width}"
            parts += [f"{chain},{fit}[n{k}_{i}]" for i, chain in enumerate(chains)]
            chains = [f"{''.join(f'[n{k}_{i}]' for i in range(len(group)))}"
                      f"amix=inputs={len(group)}:duration=longest:normalize=0"]
        out = "[voice]" if len(groups) == 1 else f"[w{k}]"
        parts.append(f"{chains[0]},apad=whole_len={width},atrim=end_sample={width}{out}")
    if len(groups) > 1:
        parts.append(f"{''.join(f'[w{k}]' for k in range(len(groups)))}concat=n={len(groups)}:v=0:a=1[voice]")
    return inputs, parts, "[voice]"


def _music_bus(music: Path | None, index: int, samples: int) -> Bus:
    """The music from sample 0, silence-padded or trimmed to length, faded out only if it is cut short."""
    if music is None:
        return [], [], None
    chain = f"[{index}:a:0]{_BUS_FORMAT},apad=whole_len={samples},atrim=end_sample={samples}"
    duration = samples / SAMPLE_RATE
    if probe(music).duration > duration + 0.05:
        fade = min(_MUSIC_FADE_SECONDS, duration / 4)
        chain += f",afade=t=out:st={duration - fade:.6f}:d={fade:.6f}"
    return ["-i", str(music)], [chain + "[music]"], "[music]"


def _buses(
    narration: Sequence[NarrationPlacement], music: Path | None, samples: int
) -> tuple[list[str], list[str], str | None, str | None]:
    inputs, parts, voice = _voice_bus(narration, samples)
    more_inputs, more_parts, bed = _music_bus(music, len(inputs) // 2, samples)
    return inputs + more_inputs, parts + more_parts, voice, bed


_INLINE_GRAPH_CHARS = 64_000   # well inside any ARG_MAX


def _graph(parts: Sequence[str], tmp: Path, name: str) -> list[str]:
    """The graph on the command line, or from a file (`-/filter_complex`, ffmpeg 7+) when a film's many lines
    would make it too long for one: the bundled ffmpeg reads either, and an older system ffmpeg set through
    IMAGEIO_FFMPEG_EXE still mixes every film of a usual length."""
    joined = ";".join(parts)
    if len(joined) <= _INLINE_GRAPH_CHARS:
        return ["-filter_complex", joined]
    script = tmp / f"{name}.graph"
    script.write_text(";\n".join(parts) + "\n", "utf-8")
    return ["-/filter_complex", str(script)]


def _bus_levels(inputs: list[str], parts: list[str], labels: dict[str, str], tmp: Path) -> dict[str, float]:
    """Integrated loudness of each named bus, in one decode of every input."""
    graph = list(parts)
    outputs: list[str] = []
    for name, label in labels.items():
        graph.append(f"{label}ebur128@{name}=framelog=quiet[m{name}]")
        outputs += ["-map", f"[m{name}]", "-f", "null", "-"]
    log = ffmpeg_log([*inputs, *_graph(graph, tmp, "levels"), *outputs])
    return {name: _summary(_block(log, name)).integrated for name in labels}


def _gain(level: float, target: float) -> float:
    """dB to bring a bus to its target; a silent bus is left alone."""
    return 0.0 if level <= _SILENT + 0.5 else target - level


def _duck(bed: str, key: str, duck_db: float) -> str:
    """Music under speech: a hard compressor keyed by the voice, blended so the dip is about `duck_db`."""
    mix = min(1.0, (1 - 10 ** (-duck_db / 20)) / (1 - _DUCK_DEPTH))
    return (f"{bed}{key}sidechaincompress=threshold=0.0158:ratio=20:attack=20:release=400"
            f":level_sc=4:mix={mix:.5f}[ducked]")


def _mix_graph(voice: str | None, bed: str | None, gains: tuple[float, float], duck_db: float) -> list[str]:
    """Bus gains, ducking and the sum, ending in the `[mixed]` label."""
    parts: list[str] = []
    duck = voice is not None and bed is not None and duck_db > 0
    if voice is not None:
        parts.append(f"{voice}volume={gains[0]:.4f}dB" + (",asplit=2[vmix][vkey]" if duck else "[vmix]"))
    if bed is not None:
        parts.append(f"{bed}volume={gains[1]:.4f}dB[bed]")
    if duck:
        parts.append(_duck("[bed]", "[vkey]", duck_db))
    labels = [] if voice is None else ["[vmix]"]
    labels += [] if bed is None else ["[ducked]" if duck else "[bed]"]
    total = "amix=inputs=2:duration=first:normalize=0" if len(labels) == 2 else "anull"
    return [*parts, f"{''.join(labels)}{total}[mixed]"]


def _limited(gain: float, limit_db: float) -> str:
    """Gain then limiter, as one filter chain: the same text in the trials and in the pass they aim, so a
    trial's reading is exactly what that pass would read at that gain."""
    return f"volume={gain:.4f}dB,alimiter=limit={10 ** (limit_db / 20):.5f}:level=false:latency=true"


def _trials(mixed: str, tofile: str, limit_db: float) -> tuple[list[str], list[str]]:
    """Graph parts that split `mixed` into `tofile` and one limited copy per trial gain, each measured by its
    own `ebur128@try<k>` (integrated loudness only: these readings aim, step 3's reading checks), and the
    labels of those copies, to be sent to the null muxer."""
    labels = [f"[try{k}]" for k in range(len(_TRIAL_GAINS))]
    splits = "".join(f"[t{k}]" for k in range(len(_TRIAL_GAINS)))
    parts = [f"{mixed}asplit={len(_TRIAL_GAINS) + 1}{tofile}{splits}"]
    parts += [f"[t{k}]{_limited(gain, limit_db)},ebur128@try{k}=framelog=quiet{labels[k]}"
              for k, gain in enumerate(_TRIAL_GAINS)]
    return parts, labels


def _render(mixed: Path, gain: float, limit_db: float, samples: int, out: Path) -> Loudness:
    """One normalising pass: gain, limiter, exact length, written and measured in the same run."""
    chain = (f"{_limited(gain, limit_db)},apad=whole_len={samples},atrim=end_sample={samples},"
             "ebur128@out=peak=true:framelog=quiet")
    log = ffmpeg_log(["-i", str(mixed), "-af", chain, "-ar", str(SAMPLE_RATE), *_CODECS[out.suffix.lower()],
                       str(out)])
    return _summary(_block(log, "out"))


Reading = tuple[float, float]   # a normalising gain (dB) and the integrated loudness (LUFS) it gave


def _aim(readings: Sequence[Reading], target: float) -> float:
    """The gain at which the output should read `target`, on the line through two readings taken at the same
    limit: the one nearest the target and the nearest on its other side (else the next nearest).

    Loudness grows with the gain, by a dB per dB until the limiter works and by less the more it works, so
    the slope is kept within [`_MIN_SLOPE`, 1]. One reading alone, or two that do not rise, are taken at a
    slope of 1: the plain two-pass R128 correction. Readings a tenth of a dB apart (ebur128 prints tenths) on
    material the limiter flattens (clicks) can still make the slope small: the step is also held within
    `_MAX_STEP_DB` and a few times the miss, so no aim sends the gain off (it once asked for 18 dB).
    """
    ranked = sorted(readings, key=lambda r: (abs(r[1] - target), r[0]))
    gain, level = ranked[0]
    across = [r for r in ranked[1:] if (r[1] - target) * (level - target) < 0]
    others = [r for r in (across or ranked[1:]) if r[0] != gain]
    slope = (others[0][1] - level) / (others[0][0] - gain) if others else 1.0
    slope = min(1.0, max(_MIN_SLOPE, slope)) if slope > 0 else 1.0   # not rising: rounding noise, not a curve
    reach = min(_MAX_STEP_DB, 3 * abs(target - level) + 0.5)
    return gain + max(-reach, min(reach, (target - level) / slope))


def _normalise(mixed: Path, trials: Sequence[Reading], samples: int, out: Path, loudness: float,
               true_peak: float) -> None:
    """One gain to the target, read off the trials, and the limiter below the ceiling; the output is measured
    and the pass repeated only if it missed, aimed by every reading at the current limit (once the limit is
    lowered for a true-peak miss, by the missing reading alone until the new limit has been read). Material
    that cannot reach the target (the limiter flattens it) stops when an aim repeats a gain already read, and
    the file written is the best pass: under the ceiling first, then nearest the target."""
    gain, level = trials[0]
    if level - gain <= _SILENT + 0.5:   # nothing audible: keep it as mixed
        _render(mixed, 0.0, 0.0, samples, out)
        return
    limit, ceiling = true_peak - _LIMITER_MARGIN_DB, true_peak - _PEAK_ROUNDING
    readings = list(trials)
    passes: list[tuple[bool, float, float, float]] = []   # (over the ceiling, miss, gain, limit), one a pass
    for _ in range(_PASSES):
        gain = _aim(readings, loudness)
        if any(abs(gain - g) < 0.01 and abs(limit - lim) < 0.01 for _, _, g, lim in passes):
            break   # the same pass again would read the same
        result = _render(mixed, gain, limit, samples, out)
        passes.append((result.true_peak > ceiling, abs(result.integrated - loudness), gain, limit))
        if abs(result.integrated - loudness) <= _TOLERANCE_LU and result.true_peak <= ceiling:
            return
        if result.true_peak > ceiling:   # a lower limit is another curve: this reading only approximates it
            limit -= result.true_peak - ceiling
            readings = [(gain, result.integrated)]
        else:
            readings.append((gain, result.integrated))
    best = min(passes)
    if best != passes[-1]:   # the file holds the last pass: write the best again
        _render(mixed, best[2], best[3], samples, out)


def mix_audio(
    narration: Sequence[NarrationPlacement],
    music: Path | None,
    duration: float,
    out: Path,
    *,
    loudness: float = -16.0,
    true_peak: float = -1.0,
    duck_db: float = 10.0,
    music_db: float = -6.0,
) -> None:
    """The film's soundtrack, exactly `duration` long: narration on time, music ducked, R128-normalised."""
    samples = round(duration * SAMPLE_RATE)
    codec = _CODECS.get(out.suffix.lower())
    if codec is None or samples <= 0:
        raise ValueError(f"mix_audio writes {sorted(_CODECS)} of positive length: {out.name}, {duration}s")
    out.parent.mkdir(parents=True, exist_ok=True)
    inputs, parts, voice, bed = _buses(narration, music, samples)
    if voice is None and bed is None:
        run_ffmpeg(["-f", "lavfi", "-i", f"anullsrc=r={SAMPLE_RATE}:cl=stereo",
                    "-af", f"atrim=end_sample={samples}", *codec, str(out)])
        return
    labels = {name: label for name, label in (("voice", voice), ("music", bed)) if label is not None}
    with tempfile.TemporaryDirectory(prefix=".mix-", dir=out.parent) as work:
        tmp = Path(work)
        levels = _bus_levels(inputs, parts, labels, tmp)
        voice_target = loudness if voice is not None else loudness - music_db
        gains = (_gain(levels.get("voice", _SILENT), voice_target),
                 _gain(levels.get("music", _SILENT), voice_target + music_db))
        mixed = tmp / "mix.wav"
        trial_parts, trial_labels = _trials("[mixed]", "[tofile]", true_peak - _LIMITER_MARGIN_DB)
        graph = [*parts, *_mix_graph(voice, bed, gains, duck_db), *trial_parts]
        nulls = [arg for label in trial_labels for arg in ("-map", label, "-f", "null", "-")]
        log = ffmpeg_log([*inputs, *_graph(graph, tmp, "mix"), "-map", "[tofile]", "-c:a", "pcm_f32le", str(mixed),
                          *nulls])
        trials = [(gain, _summary(_block(log, f"try{k}")).integrated) for k, gain in enumerate(_TRIAL_GAINS)]
        _normalise(mixed, trials, samples, out, loudness, true_peak)
