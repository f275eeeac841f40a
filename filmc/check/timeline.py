"""Timeline resolution: segments end to end, transitions between them, narration lines placed and timed.

Free functions over the checker's resolved segments, reporting into its collector; the rules that judge a
single scene, shot or line stay in filmc.check.rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple

from filmc import codes
from filmc.check.resolved import ResolvedBeat, ResolvedCard, ResolvedShot, Segment, TransitionSpec
from filmc.diagnostics import Diagnostics, Related
from filmc.model import Span
from filmc.syntax import ir
from filmc.timecode import to_frames
from filmc.vocabulary import CARD_TEXT_FADE_SECONDS, ENDING_TRANSITIONS, OPENING_TRANSITIONS

_SYLLABLE = re.compile(r"[aeiouyàèéìíîòóùúäëïöüâêôû]+", re.IGNORECASE)
# Narration syllables per second at pace 1.0: unhurried voice-over, not conversation.
SYLLABLES_PER_SECOND = {"it": 5.6, "es": 5.6, "fr": 5.4, "pt": 5.4, "en": 4.6, "de": 4.4}


@dataclass(frozen=True)
class Clock:
    """Whole frames at the film's rate: every cut point is a frame, so every stage agrees on it."""

    fps: Fraction

    def frames(self, t: Fraction) -> int:
        return to_frames(t, self.fps)

    def seconds(self, frames: int) -> float:
        return float(Fraction(frames) / self.fps)


class Delivery(NamedTuple):
    """What the checker resolved about how a line is spoken; the timeline only needs it to time the line."""

    voice: str
    voice_description: str
    pace: float


def estimate_seconds(parts: Iterable[ir.NarrationPart], language: str, pace: float) -> float:
    """A plausible reading time: syllables at the language's narration rate, plus written pauses."""
    rate = SYLLABLES_PER_SECOND.get(language.split("-")[0].lower(), 5.0) * pace
    total = 0.0
    for part in parts:
        if isinstance(part, ir.Spoken):
            total += len(_SYLLABLE.findall(part.text)) / rate
            total += 0.12 * len(re.findall(r"[,;:]", part.text)) + 0.25 * len(re.findall(r"[.!?…]", part.text))
        elif isinstance(part, ir.Pause):
            total += float(part.seconds)
        else:
            total += ir.BREATH_SECONDS
    return round(total, 3)


def lay_end_to_end(segments: Iterable[Segment], clock: Clock) -> list[Segment]:
    """Each segment starts on the frame where the one before it ends; seconds are derived from frames."""
    out: list[Segment] = []
    frame = 0
    for seg in segments:
        out.append(seg.model_copy(update={"start_frame": frame, "start": clock.seconds(frame),
                                          "end": clock.seconds(frame + seg.frames)}))
        frame += seg.frames
    return out


class Declared(NamedTuple):
    """A transition as written on a segment, judged: `spec` is None for a cut; `span` says where to fix it."""

    spec: TransitionSpec | None
    span: Span


def link_transitions(segments: Sequence[Segment], declared: Sequence[tuple[Declared | None, Declared | None]],
                     clock: Clock, diags: Diagnostics) -> list[Segment]:
    """Each cut gets at most one transition: the `out` of the segment before it or the `in` of the one after.

    Between two segments it eats the head of the next slot and a handle from the previous clip; before the
    first segment it fades the film in, after the last it fades the film out, inside their slots.
    `declared[i]` is segment i's (`in`, `out`) as written.
    """
    out = [seg.model_copy(update={"transition_in": None, "transition_out": None}) for seg in segments]
    count = len(out)
    for cut in range(count + 1 if count else 0):   # cut i comes before segment i: 0 opens the film, count ends it
        before = declared[cut - 1][1] if cut > 0 else None
        after = declared[cut][0] if cut < count else None
        if before is not None and after is not None:
            diags.error(codes.TWO_TRANSITIONS_AT_CUT, "this cut already has a transition: the segment before it "
                        "ends with one", after.span, related=[Related(span=before.span, message="the other one")],
                        hint="keep one: `transition out` on the segment before, or `transition in` on this one")
        chosen = before or after
        if chosen is None or chosen.spec is None:
            continue
        t = chosen.spec
        if cut == 0:
            if t.kind not in OPENING_TRANSITIONS:
                diags.error(codes.TRANSITION_AT_START, f"`{t.kind}` needs something before it, but this is the "
                            "start of the film", chosen.span,
                            hint="open the film with fade-from-black, dip-to-white or a cut")
            elif t.frames > out[0].frames:
                _transition_too_long(t, out[0], clock, diags)
            else:
                out[0] = out[0].model_copy(update={"transition_in": t})
        elif cut == count:
            last = out[-1]
            if t.kind not in ENDING_TRANSITIONS:
                diags.error(codes.TRANSITION_AT_END, f"`{t.kind}` needs something after it, but this is the end "
                            "of the film", chosen.span, hint="end the film with fade-to-black, dip-to-white or cut")
            elif t.frames > last.frames:
                _transition_too_long(t, last, clock, diags)
            else:
                out[-1] = last.model_copy(update={"transition_out": t})
        else:
            prev, nxt = out[cut - 1], out[cut]
            if t.frames > prev.frames or t.frames > nxt.frames:
                _transition_too_long(t, prev if t.frames > prev.frames else nxt, clock, diags)
            out[cut - 1] = prev.model_copy(update={"transition_out": t})
            out[cut] = nxt.model_copy(update={"transition_in": t})
    _warn_eaten(out, declared, clock, diags)
    return out


def _warn_eaten(segments: Sequence[Segment], declared: Sequence[tuple[Declared | None, Declared | None]],
                clock: Clock, diags: Diagnostics) -> None:
    """A transition that leaves less than half of a slot clear hides the shot, or the card's text (F0311)."""
    for i, seg in enumerate(segments):
        last = i + 1 == len(segments)
        head = seg.transition_in.frames if seg.transition_in else 0
        tail = seg.transition_out.frames if seg.transition_out and last else 0   # else it eats the next slot
        if not (head or tail) or head > seg.frames or tail > seg.frames:   # none, or too long: F0302 says so
            continue
        what, text_fades = "shot", ""
        if isinstance(seg, ResolvedCard):   # its text fades by itself, at the head and (before a cut) the tail
            what = f"{seg.style} card"
            fade = clock.frames(min(Fraction(str(CARD_TEXT_FADE_SECONDS)),
                                    Fraction(seg.frames, 4) / clock.fps))
            head = max(head, fade)
            fades_out = last or seg.transition_out is None   # else its text fades during the next transition
            tail = max(tail, fade) if fades_out else tail
            text_fades = "its text fading in and out" if fades_out else "its text fading in"
        clear = seg.frames - head - tail
        if 2 * clear >= seg.frames:
            continue
        span = _eater_span(i, segments, declared, head_first=bool(seg.transition_in))
        eaters = [f"the {t.seconds:g}s {t.kind} {where}" for t, where in
                  ((seg.transition_in, "into it"), (seg.transition_out if last else None, "out of it")) if t]
        if text_fades:
            eaters.append(text_fades)
        said = eaters[0] if len(eaters) == 1 else ", ".join(eaters[:-1]) + " and " + eaters[-1]
        diags.warning(codes.TRANSITION_EATS_SEGMENT,
                      f"{said} leave{'s' if len(eaters) == 1 else ''} only {max(clock.seconds(clear), 0):.1f}s "
                      f"of this {clock.seconds(seg.frames):g}s {what} clear", span,
                      related=[Related(span=seg.span, message=f"the {what}")] if span != seg.span else [],
                      hint=f"shorten the transition, lengthen the {what}, or use a cut")


def _eater_span(i: int, segments: Sequence[Segment], declared: Sequence[tuple[Declared | None, Declared | None]],
                *, head_first: bool) -> Span:
    """Where the transition eating segment i was written: on it (`in`, or its ending `out`) or on the one before."""
    own_in, own_out = declared[i]
    before = declared[i - 1][1] if i > 0 else None
    for candidate in ((before, own_in) if head_first else (own_out,)):
        if candidate is not None:
            return candidate.span
    return segments[i].span


def _transition_too_long(t: TransitionSpec, seg: Segment, clock: Clock, diags: Diagnostics) -> None:
    what = "shot" if isinstance(seg, ResolvedShot) else f"{seg.style} card"
    diags.error(codes.TRANSITION_TOO_LONG, f"{t.kind} lasts {t.seconds:g}s, longer than the "
                f"{clock.seconds(seg.frames):g}s {what} it overlaps", seg.span,
                hint=f"shorten the transition or lengthen the {what}")


class WrittenStart(NamedTuple):
    """A line's relative start as written (`+3s`) and what it counts from, so a report can speak in those terms."""

    text: str
    origin: float
    of: str   # "its scene" or "its shot"


def scene_lines(scene: ir.Scene) -> list[tuple[ir.NarrationBeat, int | None]]:
    """A scene's lines in the order they are written, each with the shot it belongs to (from 1), None for the
    scene's own: the order that numbers them (`s01-l02`)."""
    owned: list[tuple[ir.NarrationBeat, int | None]] = [(b, None) for b in scene.beats] + [
        (b, n) for n, shot in enumerate(scene.shots, start=1) for b in shot.beats]
    owned.sort(key=lambda pair: (pair[0].span.line, pair[0].span.column))
    return owned


def place_beats(film: ir.Film, segments: Sequence[Segment], language: str,
                deliver: Callable[[ir.NarrationBeat], Delivery], diags: Diagnostics,
                written: dict[str, WrittenStart] | None = None,
                voiced: Mapping[str, float] | None = None) -> list[ResolvedBeat]:
    """Relative starts count from their scene or shot; a line with no start follows the previous one.
    `written`, when given, receives each relative start as written, by line id; `voiced`, lines' lengths as
    their voice measured them (by line id), which stand in for the estimate from the text."""
    shot_by_id = {s.id: s for s in segments if isinstance(s, ResolvedShot)}
    by_scene: dict[str, list[ResolvedShot]] = {}
    for s in shot_by_id.values():
        by_scene.setdefault(s.scene_id, []).append(s)
    placed: list[ResolvedBeat] = []
    scenes = [item for item in film.sequence if isinstance(item, ir.Scene)]
    for scene_no, scene in enumerate(scenes, start=1):
        sid = f"s{scene_no:02d}"
        shots = by_scene.get(sid, [])
        if not shots:
            continue
        scene_start, scene_end = shots[0].start, shots[-1].end
        cursor = scene_start
        owned = [(b, scene_start, "its scene") if shot_no is None else
                 (b, shot_by_id[f"{sid}-sh{shot_no:02d}"].start, "its shot") for b, shot_no in scene_lines(scene)]
        for n, (beat, origin, of) in enumerate(owned, start=1):
            start = _beat_start(beat, origin, cursor)
            if written is not None and beat.start is not None and beat.start_mode == "relative":
                written[f"{sid}-l{n:02d}"] = WrittenStart(f"+{beat.start.text}", origin, of)
            how = deliver(beat)
            estimated = (voiced or {}).get(f"{sid}-l{n:02d}") or estimate_seconds(beat.parts, language, how.pace)
            if not scene_start <= start < scene_end:
                diags.error(codes.LINE_OUTSIDE_SCENE, f"this line starts at {start:.2f}s, outside its scene "
                            f"({scene_start:.2f}s–{scene_end:.2f}s)", beat.span,
                            hint="start it inside the scene, or move it to the scene it belongs to")
            pause_after = float(beat.pause_after.seconds) if beat.pause_after else 0.0
            cursor = start + estimated + pause_after
            placed.append(ResolvedBeat(
                id=f"{sid}-l{n:02d}", scene_id=sid, text=beat.text.value, parts=beat.parts, voice=how.voice,
                voice_description=how.voice_description, tone=beat.tone.value if beat.tone else None,
                pace=how.pace, start=round(start, 6), slot_end=0.0, estimated=estimated, span=beat.span))
    return placed


def _beat_start(beat: ir.NarrationBeat, origin: float, cursor: float) -> float:
    if beat.start is None:
        return cursor
    if beat.start_mode == "absolute":
        return float(beat.start.seconds)
    return origin + float(beat.start.seconds)


def check_overlaps(beats: Sequence[ResolvedBeat], film_end: float, diags: Diagnostics,
                   written: Mapping[str, WrittenStart] | None = None) -> list[ResolvedBeat]:
    """Half a line talked over is an error; a tail running into the next line is a warning. A start written
    relative (`+3s`) is reported as written, with the other time counted from the same origin."""
    ordered = sorted(beats, key=lambda b: b.start)
    out = []
    for i, b in enumerate(ordered):
        slot_end = ordered[i + 1].start if i + 1 < len(ordered) else film_end
        nxt = ordered[i + 1] if i + 1 < len(ordered) else None
        if nxt is not None and nxt.start < b.start + b.estimated / 2:
            as_written = (written or {}).get(nxt.id)
            until = b.start + b.estimated
            when = (f"{as_written.text}, while the line before it is still being spoken (until about "
                    f"+{until - as_written.origin:.2f}s from the start of {as_written.of})") if as_written else (
                    f"{nxt.start:.2f}s, while the line before it is still being spoken (until about {until:.2f}s)")
            diags.error(codes.LINE_TALKS_OVER, f"this line starts at {when}", nxt.span,
                        related=[Related(span=b.span, message="the line it talks over")],
                        hint="start it later, or shorten the line before")
        elif b.start + b.estimated > slot_end + 1e-6:
            overrun = b.start + b.estimated - slot_end
            diags.warning(codes.LINE_OVERRUNS, f"this line needs about {b.estimated:.1f}s but has "
                          f"{slot_end - b.start:.1f}s; it overruns by ~{overrun:.1f}s", b.span,
                          hint="shorten it, raise its pace, or give it more room")
        out.append(b.model_copy(update={"slot_end": round(slot_end, 6)}))
    return out
