"""`fit narration`: a scene's length chosen from its narration, its shots sharing the change within their bounds.

Pure functions over `SceneFit`, which records everything a fit reads, so the checker fits a scene from the
film and the render re-fits it from a plan alone (when the voice it measured was only estimated before)
with the same rule and the same result.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction

from filmc import codes
from filmc.check.resolved import FitLine, FitShot, ResolvedShot, SceneFit, Segment
from filmc.check.timeline import Clock, estimate_seconds, scene_lines
from filmc.diagnostics import Diagnostics, Related
from filmc.syntax import ir
from filmc.timecode import format_time
from filmc.vocabulary import PACES

# Rounds of place-then-fit at most: a line counted from a later shot moves when the shots before it grow, so
# the fit repeats until nothing moves; lengths only grow from the scene's minimum, so it settles in a few.
_ROUNDS = 32


def line_starts(fit: SceneFit, frames: Sequence[int], fps: Fraction) -> tuple[list[float], float]:
    """Each line's start from the scene's start, given its shots' lengths, and what the narration needs: the
    latest end of a line plus its pause-after. The placement rule is the timeline's (filmc.check.timeline)."""
    shot_starts, at = [], 0
    for n in frames:
        shot_starts.append(float(Fraction(at) / fps))
        at += n
    starts: list[float] = []
    cursor = needed = 0.0
    for line in fit.lines:
        if line.anchor == "follow":
            start = cursor
        elif line.anchor == "scene":
            start = line.offset
        else:
            start = shot_starts[min(line.shot, len(shot_starts) - 1)] + line.offset
        cursor = start + line.seconds + line.pause_after
        needed = max(needed, cursor)
        starts.append(start)
    return starts, needed


def share(shots: Sequence[FitShot], total: int) -> tuple[int, ...]:
    """`total` frames among the shots, each inside its bounds, in proportion to its planned length: every
    flexible shot scaled by one factor, clamped to its own bounds; a shot of one fixed length keeps it.
    `total` must lie between the sums of the low and the high bounds."""
    def lengths(k: float) -> list[float]:
        return [min(max(k * s.planned, s.low), s.high) for s in shots]

    lo, hi = 0.0, 1.0
    while sum(lengths(hi)) < total and hi < 1e12:
        hi *= 2
    for _ in range(100):   # bisection on the factor: the sum only grows with it
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if sum(lengths(mid)) < total else (lo, mid)
    exact = lengths(hi)
    whole = [min(max(math.floor(x + 1e-9), s.low), s.high) for x, s in zip(exact, shots, strict=True)]
    # whole frames: the ones left over go to the shots that lost the most to rounding down, never past a bound
    order = sorted(range(len(shots)), key=lambda i: (-(exact[i] - whole[i]), i))
    left = total - sum(whole)
    while left > 0 and any(whole[i] < shots[i].high for i in order):
        for i in order:
            if left and whole[i] < shots[i].high:
                whole[i] += 1
                left -= 1
    while left < 0 and any(whole[i] > shots[i].low for i in order):
        for i in reversed(order):
            if left and whole[i] > shots[i].low:
                whole[i] -= 1
                left += 1
    return tuple(whole)


def fit_scene(fit: SceneFit, fps: Fraction) -> SceneFit:
    """The scene at the length its narration needs, clamped to its bounds: `frames` and each shot's set, and
    `needed` (compare it with `high` to know by how much a scene falls short)."""
    frames = share(fit.shots, fit.low)
    needed = 0.0
    for _ in range(_ROUNDS):
        _, needed = line_starts(fit, frames, fps)
        want = min(max(math.ceil(needed * fps - Fraction(1, 10**6)), fit.low), fit.high)
        again = share(fit.shots, want)
        if again == frames:
            break
        frames = again
    shots = tuple(s.model_copy(update={"frames": n}) for s, n in zip(fit.shots, frames, strict=True))
    return fit.model_copy(update={"shots": shots, "frames": sum(frames), "needed": round(needed, 6)})


def short_by(fit: SceneFit, fps: Fraction) -> float:
    """Seconds the narration needs past the most the scene allows; 0 when it fits."""
    return max(0.0, fit.needed - float(Fraction(fit.high) / fps))


def refit(fit: SceneFit, measured: Mapping[str, float], fps: Fraction) -> SceneFit:
    """The fit again with the lines' measured lengths (by line id) in place of their estimates."""
    lines = tuple(line.model_copy(update={"seconds": measured[line.beat_id], "measured": True})
                  if line.beat_id in measured else line for line in fit.lines)
    return fit_scene(fit.model_copy(update={"lines": lines}), fps)


def retimer(planned: Sequence[tuple[float, float]], fitted: Sequence[tuple[float, float]]) -> Callable[[float], float]:
    """A time written against the planned timeline, moved onto the fitted one: it keeps its place relative to the
    segment (shot or card) it falls in, so a time at a cut stays at that cut and one inside a shot scales with
    the shot. `planned` and `fitted` are each segment's (start, end) in seconds, in the same order."""
    def move(t: float) -> float:
        for (p0, p1), (f0, f1) in zip(planned, fitted, strict=True):
            if p0 <= t < p1:
                return f0 + (t - p0) * (f1 - f0) / (p1 - p0)
        if planned and t >= planned[-1][1]:
            return t - planned[-1][1] + fitted[-1][1]
        return t

    return move


def _seconds(frames: int, clock: Clock) -> str:
    return format_time(Fraction(round(Fraction(frames) / clock.fps * 100), 100))


def check_range(bounds: ir.Range, clock: Clock, diags: Diagnostics) -> tuple[int, int] | None:
    """A range's bounds in frames, or None (reported) when they can't hold a length."""
    low, high = clock.frames(bounds.low.seconds), clock.frames(bounds.high.seconds)
    if low <= 0:
        diags.error(codes.BAD_RANGE, f"the range {bounds.text} starts at no length at all", bounds.low.span,
                    hint="a length is at least one frame: start the range at e.g. 1s")
        return None
    if low > high:
        diags.error(codes.BAD_RANGE, f"the range {bounds.text} ends before it starts", bounds.span,
                    hint=f"write the shorter length first: {bounds.high.text}..{bounds.low.text}")
        return None
    return low, high


def check_unfitted(scene: ir.Scene, diags: Diagnostics) -> None:
    """A range left in a scene nothing fits: the fit alone chooses a length inside one."""
    for bounds in [scene.range, *(shot.range for shot in scene.shots)]:
        if bounds is not None:
            diags.error(codes.RANGE_WITHOUT_FIT, f"the length {bounds.text} is a range, but scene "
                        f"\"{scene.title.value}\" isn't fitted to its narration", bounds.span,
                        hint="add `fit narration` to the scene (or the film block), or write one length")


def quiet_pace(beat: ir.NarrationBeat) -> float:
    """A line's pace for its estimate; a wrong one is reported where the line is placed, not twice."""
    p = beat.pace
    if isinstance(p, ir.Name):
        return PACES.get(p.name, 1.0)
    return p.value if p is not None and 0.5 <= p.value <= 2.0 else 1.0


def scene_fit(scene: ir.Scene, sid: str, shots: Sequence[ResolvedShot], clock: Clock, language: str,
              voiced: Mapping[str, float], diags: Diagnostics) -> SceneFit:
    """What the fit of one scene reads: its bounds, its shots' bounds and planned lengths, its lines."""
    fit_shots = []
    for shot, resolved in zip(scene.shots, shots, strict=True):
        bounds = check_range(shot.range, clock, diags) if shot.range else None
        low, high = bounds or (resolved.frames, resolved.frames)
        fit_shots.append(FitShot(shot_id=resolved.id, low=low, high=high, planned=resolved.frames,
                                 frames=resolved.frames))
    lines = []
    for n, (beat, shot_no) in enumerate(scene_lines(scene), start=1):
        line_id = f"{sid}-l{n:02d}"
        anchor, offset = "follow", 0.0
        if beat.start is not None and beat.start_mode == "absolute":
            diags.error(codes.ABSOLUTE_LINE_IN_FIT, f"this line starts at {beat.start.text} of the film, but "
                        f"scene \"{scene.title.value}\" is fitted to its narration and moves", beat.start.span,
                        hint="start it from its scene or shot (`say +2s …`), or leave the start out")
        elif beat.start is not None:
            anchor, offset = ("scene" if shot_no is None else "shot"), float(beat.start.seconds)
        measured = line_id in voiced
        seconds = voiced[line_id] if measured else estimate_seconds(beat.parts, language, quiet_pace(beat))
        lines.append(FitLine(beat_id=line_id, anchor=anchor, shot=(shot_no or 1) - 1, offset=offset,
                             pause_after=float(beat.pause_after.seconds) if beat.pause_after else 0.0,
                             seconds=seconds, measured=measured))
    low, high = sum(s.low for s in fit_shots), sum(s.high for s in fit_shots)
    own = scene.range or scene.duration
    if own is not None:
        mine = check_range(scene.range, clock, diags) if scene.range else \
            (clock.frames(scene.duration.seconds),) * 2 if scene.duration else None
        if mine is not None and (mine[0] > high or mine[1] < low):
            diags.error(codes.SCENE_BOUNDS_UNMET, f"scene \"{scene.title.value}\" is declared {own.text}, but its "
                        f"shots allow {_seconds(low, clock)}..{_seconds(high, clock)}", own.span,
                        hint="widen a shot's range, or the scene's")
        elif mine is not None:
            low, high = max(low, mine[0]), min(high, mine[1])
    return SceneFit(scene_id=sid, title=scene.title.value, low=low, high=high, planned=sum(s.frames for s in shots),
                    needed=0.0, frames=0, shots=tuple(fit_shots), lines=tuple(lines), span=scene.title.span)


def report_short(fit: SceneFit, scene: ir.Scene, clock: Clock, diags: Diagnostics) -> None:
    """The narration needs more than the scene allows: by how much, as voiced (an error) or as estimated."""
    short = short_by(fit, clock.fps)
    if short <= 0:
        return
    limit = "the scene allows" if scene.range is not None or scene.duration is not None else "the shots allow"
    most = _seconds(fit.high, clock)
    own = scene.range or scene.duration
    related = [Related(span=own.span, message="the scene's bounds")] if own is not None else []
    if fit.provisional:
        diags.warning(codes.NARRATION_MAY_NOT_FIT, f"by its text, the narration of scene \"{fit.title}\" needs about "
                      f"{fit.needed:.1f}s; {limit} at most {most}: about {short:.1f}s short", fit.span,
                      related=related, hint="the voice, once made, decides; to make room raise a shot's upper "
                      "bound (or the scene's), or shorten a line")
        return
    diags.error(codes.NARRATION_DOES_NOT_FIT, f"the narration of scene \"{fit.title}\" needs {fit.needed:.1f}s as "
                f"voiced; {limit} at most {most}: {short:.1f}s short", fit.span, related=related,
                hint="raise a shot's upper bound (or the scene's), make a fixed shot a range, or shorten a line "
                "or raise its pace")


def fit_scenes(film: ir.Film, segments: Sequence[Segment], clock: Clock, language: str,
               voiced: Mapping[str, float], diags: Diagnostics) -> tuple[list[Segment], tuple[SceneFit, ...]]:
    """Every fitted scene's shots at their fitted lengths (still to be laid end to end), and each scene's fit.
    A scene is fitted by its own `fit narration` or the film's; a range anywhere else is an error."""
    by_scene: dict[str, list[ResolvedShot]] = {}
    for seg in segments:
        if isinstance(seg, ResolvedShot):
            by_scene.setdefault(seg.scene_id, []).append(seg)
    frames: dict[str, int] = {}
    fits = []
    scenes = [item for item in film.sequence if isinstance(item, ir.Scene)]
    for scene_no, scene in enumerate(scenes, start=1):
        sid, shots = f"s{scene_no:02d}", by_scene.get(f"s{scene_no:02d}", [])
        if scene.fit is None and film.fit is None:
            check_unfitted(scene, diags)
            continue
        if len(shots) != len(scene.shots) or not shots:
            continue
        fit = fit_scene(scene_fit(scene, sid, shots, clock, language, voiced, diags), clock.fps)
        if fit.low > fit.high:   # reported as F1003: keep the shots' own lengths
            continue
        report_short(fit, scene, clock, diags)
        frames.update((s.shot_id, s.frames) for s in fit.shots)
        fits.append(fit)
    out: list[Segment] = [seg.model_copy(update={"frames": frames[seg.id], "written": None})
                          if seg.id in frames and (seg.frames != frames[seg.id] or ".." in (seg.written or ""))
                          else seg for seg in segments]
    return out, tuple(fits)
