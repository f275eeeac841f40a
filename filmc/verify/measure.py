"""The film file measured by ffmpeg's own filters in one decoding pass: ebur128 (loudness, true peak),
silencedetect and blackdetect, each only when an expectation needs it. Frames never reach Python."""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterable
from pathlib import Path

from filmc.assemble.media import MediaError, MediaInfo, ffmpeg_log, filter_spec, probe
from filmc.check.resolved import ResolvedExpectation
from filmc.files import write_text_atomic
from filmc.verify.model import Measurements, Run

# Quieter than this is silence: far below speech and any score, above a decoder's dither.
SILENCE_DB = -50
# A pixel this dark (0-1 luma) is black, and a picture is black when this share of its pixels are:
# blackdetect's defaults, so a title card's few white letters keep it from counting as black.
BLACK_PIXEL = 0.10
BLACK_PICTURE = 0.98
_SHORTEST = 0.04   # the shortest run worth reporting (a frame at 25 fps); shorter ones pass every expectation

_NUMBER = r"(-?inf|-?[\d.]+)"


def _reading(pattern: str, text: str) -> float | None:
    """A dB reading from a log; -inf (digital silence) is None, as JSON has no infinity."""
    match = re.search(pattern + r"\s+" + _NUMBER, text)
    if not match or "inf" in match.group(1):
        return None
    return float(match.group(1))


def _shortest(expectations: Iterable[ResolvedExpectation], measure: str) -> float | None:
    """How short a run the detector must report: half the smallest limit asked for, so a run at the limit is
    found whole; None when no expectation asks for this detector."""
    limits = [e.value for e in expectations if e.measure == measure]
    return max(_SHORTEST, min(limits) / 2) if limits else None


def _runs(log: str, name: str, duration: float) -> tuple[Run, ...]:
    """`black_start:1 black_end:2.5` or `silence_start: 1` … `silence_end: 2.5` pairs; a run still open at the
    end of the file ends with it."""
    runs: list[Run] = []
    start: float | None = None
    for m in re.finditer(rf"{name}_(start|end):\s*(-?[\d.]+)", log):
        at = float(m.group(2))
        if m.group(1) == "start":
            start = max(0.0, at)
        elif start is not None:
            runs.append(Run(start=start, end=at))
            start = None
    if start is not None and duration > start:
        runs.append(Run(start=start, end=duration))
    return tuple(runs)


def measure(film: Path, expectations: tuple[ResolvedExpectation, ...], store: Path | None = None,
            loudness: tuple[float | None, float | None] | None = None) -> Measurements:
    """Everything the expectations need from the file, in one `-f null` pass (none when only its header, the
    subtitles or the ledger are asked about). Given a `store` folder, an unchanged file (same bytes, by its
    stamp) asked the same questions is answered from it: decoding the film again was most of a no-op render."""
    if store is None:
        return _measure(film, expectations, loudness)
    stamp = film.stat()
    asked = sorted((e.measure, e.value) for e in expectations if e.measure in ("loudness", "true-peak", "black",
                                                                               "silence"))
    name = hashlib.sha256(f"{film.resolve()}|{stamp.st_size}|{stamp.st_mtime_ns}|{stamp.st_ino}|{asked}|"
                          f"{SILENCE_DB}|{BLACK_PIXEL}|{BLACK_PICTURE}".encode()).hexdigest()
    kept = store / name[:2] / f"{name}.json"
    with contextlib.suppress(OSError, ValueError):
        return Measurements.model_validate_json(kept.read_text("utf-8"))
    found = _measure(film, expectations, loudness)
    with contextlib.suppress(OSError):   # a measurement not kept is only made again
        kept.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(kept, found.model_dump_json())
    return found


def _measure(film: Path, expectations: tuple[ResolvedExpectation, ...],
             loudness: tuple[float | None, float | None] | None) -> Measurements:
    """`loudness`: (LUFS, dBTP) the render measured of this very file already: ebur128 isn't run over it again."""
    info = probe(film)
    sound = info.audio is not None
    audio = []
    if sound and loudness is None and {e.measure for e in expectations} & {"loudness", "true-peak"}:
        audio.append(filter_spec("ebur128", peak="true", framelog="quiet"))
    silence = _shortest(expectations, "silence")
    if sound and silence is not None:
        audio.append(filter_spec("silencedetect", noise=f"{SILENCE_DB}dB", d=f"{silence:.3f}"))
    black = _shortest(expectations, "black")
    video = (filter_spec("blackdetect", d=f"{black:.3f}", pix_th=BLACK_PIXEL, pic_th=BLACK_PICTURE)
             if info.video is not None and black is not None else None)
    log = ""
    if audio or video:
        args = ["-i", str(film)]
        args += ["-map", "0:v:0", "-vf", video] if video else []
        args += ["-map", "0:a:0", "-af", ",".join(audio)] if audio else []
        log = ffmpeg_log([*args, "-f", "null", "-"], "measuring the film")
    found = _readings(log, info, loudness=bool(audio) and audio[0].startswith("ebur128"))
    if not sound and silence is not None:   # a film without a sound track is silent from end to end
        found = found.model_copy(update={"silence": (Run(start=0.0, end=info.duration),)})
    if sound and loudness is not None:
        found = found.model_copy(update={"integrated_lufs": loudness[0], "true_peak_dbtp": loudness[1]})
    return found


def _readings(log: str, info: MediaInfo, *, loudness: bool) -> Measurements:
    lufs = peak = None
    if loudness:
        summary = log[log.rfind("Summary:"):] if "Summary:" in log else ""
        if not summary:
            raise MediaError("ffmpeg's ebur128 printed no summary for the film")
        lufs = _reading(r"I:", summary)
        peak = _reading(r"Peak:", summary[summary.find("True peak:"):]) if "True peak:" in summary else None
    return Measurements(duration=info.duration, integrated_lufs=lufs, true_peak_dbtp=peak,
                        black=_runs(log, "black", info.duration), silence=_runs(log, "silence", info.duration))
