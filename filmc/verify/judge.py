"""Each expectation against what was measured: a verdict with the reading in words, and for a failure, a
diagnostic at the `expect` line that says what was found and what to change."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from filmc import codes
from filmc.check.resolved import CheckedFilm, ResolvedExpectation
from filmc.diagnostics import Diagnostic, Diagnostics
from filmc.timecode import format_clock
from filmc.verify.measure import measure
from filmc.verify.model import ExpectationResult, Measurements, Rendered, Run, SpokenLine
from filmc.verify.subtitles import Cue, read_srt

_EDGE = 0.05   # a line may start or end this close outside its scene: a voice's own lead-in and tail of silence
_HINTS = {
    "loudness": "the mix is normalised to the profile's `loudness`: set it there (docs/profiles.md), or change "
                "the expectation",
    "true-peak": "the mix limits peaks to the profile's `true_peak`: lower it there, or change the expectation",
    "duration": "the film runs as long as its shots and cards add up to: change a length, or the expectation",
    "cost": "manifest.json's ledger lists what each job spent; a cached render spends nothing",
}


def _clock(seconds: float) -> str:
    text = format_clock(seconds)
    return text.removesuffix(".0")


def _level(e: ResolvedExpectation, reading: float | None, absent: str = "") -> ExpectationResult:
    """A level against its target or bound, shown in the unit it was written in; money to the cent."""
    if reading is None:
        return ExpectationResult(expectation=e, passed=False, measured=absent, hint=_HINTS[e.measure])
    shown = {"cost": f"{reading:.2f} USD", "duration": f"{reading:.2f}s"}.get(e.measure, f"{reading:.1f} {e.unit}")
    passed = e.admits(round(reading, 2) if e.measure == "cost" else reading)
    return ExpectationResult(expectation=e, passed=passed, reading=reading, measured=shown,
                             hint=None if passed else _HINTS[e.measure])


def _window(lines: Iterable[SpokenLine]) -> Run | None:
    """From the first line's start to the last one's end: the stretch `within narration` looks at."""
    spans = [(line.start, line.start + line.duration) for line in lines]
    return Run(start=min(s for s, _ in spans), end=max(e for _, e in spans)) if spans else None


def _longest(e: ResolvedExpectation, runs: tuple[Run, ...], window: Run | None, what: str) -> ExpectationResult:
    """`no black > 0.5s`: the longest run (inside the window, if the expectation has one) against the limit."""
    if e.within == "narration" and window is not None:
        runs = tuple(Run(start=max(r.start, window.start), end=min(r.end, window.end)) for r in runs
                     if r.end > window.start and r.start < window.end)
    worst = max(runs, key=lambda r: r.length, default=None)
    longest = worst.length if worst else 0.0
    passed = e.admits(longest)
    where = " within the narration" if e.within == "narration" else ""
    measured = f"{what} for {longest:.2f}s from {_clock(worst.start)}{where}" if worst else f"no {what} found{where}"
    hint = None if passed else (
        f"{what} from {_clock(worst.start if worst else 0)} to {_clock(worst.end if worst else 0)}: "
        + ("a dark shot, a black card or a long fade is there" if what == "black" else
           "no voice and no music there: move a line, or give the score something to play"))
    return ExpectationResult(expectation=e, passed=passed, reading=round(longest, 3), measured=measured, hint=hint)


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _subtitled(e: ResolvedExpectation, lines: tuple[SpokenLine, ...], cues: list[Cue]) -> ExpectationResult:
    """Each line's words all appear in the cues shown while it is spoken."""
    missing = []
    for line in lines:
        shown = {w for c in cues if c.start < line.start + line.duration and c.end > line.start
                 for w in _words(c.text)}
        if not set(_words(line.text)) <= shown:
            missing.append(line.beat_id)
    return _count(e, missing, len(lines), "without their subtitles",
                  "the subtitles are written from each line's word timings: re-render, or check the voice backend's "
                  "timings")


def _inside(e: ResolvedExpectation, film: CheckedFilm, lines: tuple[SpokenLine, ...]) -> ExpectationResult:
    """Each line, at its measured length, starts and ends inside its own scene's shots."""
    bounds: dict[str, tuple[float, float]] = {}
    for seg in film.timeline.segments:
        if seg.kind == "shot":
            lo, hi = bounds.get(seg.scene_id, (seg.start, seg.end))
            bounds[seg.scene_id] = (min(lo, seg.start), max(hi, seg.end))
    outside = [f"{line.beat_id} (+{line.start + line.duration - bounds[line.scene_id][1]:.2f}s)"
               for line in lines if line.scene_id in bounds
               and (line.start < bounds[line.scene_id][0] - _EDGE
                    or line.start + line.duration > bounds[line.scene_id][1] + _EDGE)]
    return _count(e, outside, len(lines), "outside their scene",
                  "shorten the line or slow it less, lengthen its scene, or start it earlier")


def _count(e: ResolvedExpectation, bad: list[str], total: int, what: str, hint: str) -> ExpectationResult:
    passed = e.admits(len(bad))
    measured = (f"all {total} line(s) pass" if not bad else
                f"{len(bad)} of {total} line(s) {what}: " + ", ".join(bad[:6]) + (" …" if len(bad) > 6 else ""))
    return ExpectationResult(expectation=e, passed=passed, reading=float(len(bad)), measured=measured,
                             hint=None if passed else hint)


def _unmeasured(e: ResolvedExpectation) -> ExpectationResult:
    return ExpectationResult(expectation=e, passed=False, measured="not measured: the render made no film",
                             hint="a render job failed; fix it and render again")


def verify(film: CheckedFilm, rendered: Rendered) -> tuple[ExpectationResult, ...]:
    """Every expectation of the film judged against the delivered files, in the order they were written."""
    expectations = film.expectations
    if not expectations:
        return ()
    files = {"loudness", "true-peak", "duration", "black", "silence"}
    if rendered.film is None:
        return tuple(_unmeasured(e) if e.measure in files else _judge(e, film, rendered, None)
                     for e in expectations)
    measured = measure(Path(rendered.film), expectations, Path(rendered.store) if rendered.store else None,
                       rendered.loudness) if files & {e.measure for e in expectations} else None
    return tuple(_judge(e, film, rendered, measured) for e in expectations)


def _judge(e: ResolvedExpectation, film: CheckedFilm, rendered: Rendered,
           m: Measurements | None) -> ExpectationResult:
    if e.measure == "cost":
        return _level(e, float(rendered.usd))
    if e.measure == "every-line-subtitled":
        return _subtitled(e, rendered.lines, read_srt(rendered.subtitles))
    if e.measure == "narration-inside-its-scene":
        return _inside(e, film, rendered.lines)
    if m is None:
        return _unmeasured(e)
    if e.measure == "loudness":
        return _level(e, m.integrated_lufs, "not measured: the film is silent")
    if e.measure == "true-peak":
        return _level(e, m.true_peak_dbtp, "not measured: the film is silent")
    if e.measure == "duration":
        return _level(e, m.duration)
    runs = m.black if e.measure == "black" else m.silence
    return _longest(e, runs, _window(rendered.lines), "black" if e.measure == "black" else "silence")


def failures(results: Iterable[ExpectationResult]) -> tuple[Diagnostic, ...]:
    """An F0810 at each `expect` line the film doesn't meet, saying what was measured."""
    diags = Diagnostics()
    for r in results:
        if not r.passed:
            diags.error(codes.EXPECTATION_FAILED, f"expected {r.expectation.text}, measured {r.measured}",
                        r.expectation.span, hint=r.hint)
    return diags.sorted()
