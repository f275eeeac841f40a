"""Timeline resolution: segments end to end, transitions between them, narration lines placed and timed.

Free functions over the checker's resolved segments, reporting into its collector; the rules that judge a
single scene, shot or line stay in filmc.check.rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple

from filmc import codes
from filmc.check.resolved import ResolvedBeat, ResolvedShot, Segment, TransitionSpec
from filmc.diagnostics import Diagnostics, Related
from filmc.syntax import ir
from filmc.timecode import to_frames

ENDING_TRANSITIONS = ("cut", "fade-to-black", "dip-to-white")
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


def link_transitions(segments: Sequence[Segment], clock: Clock, diags: Diagnostics) -> list[Segment]:
    """Each transition eats the head of the next slot and a handle from the previous clip."""
    out = list(segments)
    for i, seg in enumerate(out):
        t = seg.transition_out
        if t is None:
            continue
        if i + 1 == len(out):
            if t.kind not in ENDING_TRANSITIONS:
                diags.error(codes.TRANSITION_AT_END, f"`{t.kind}` needs something after it, but this is the last "
                            "shot", seg.span, hint="end the film with fade-to-black, dip-to-white or cut")
            elif t.frames > seg.frames:
                _transition_too_long(t, seg, clock, diags)
            continue
        nxt = out[i + 1]
        if t.frames > seg.frames or t.frames > nxt.frames:
            _transition_too_long(t, seg if t.frames > seg.frames else nxt, clock, diags)
        out[i + 1] = nxt.model_copy(update={"transition_in": t})
    return out


def _transition_too_long(t: TransitionSpec, seg: Segment, clock: Clock, diags: Diagnostics) -> None:
    diags.error(codes.TRANSITION_TOO_LONG, f"{t.kind} lasts {t.seconds:g}s, longer than the "
                f"{clock.seconds(seg.frames):g}s shot it overlaps", seg.span,
                hint="shorten the transition or lengthen the shot")


def place_beats(film: ir.Film, segments: Sequence[Segment], language: str,
                deliver: Callable[[ir.NarrationBeat], Delivery], diags: Diagnostics) -> list[ResolvedBeat]:
    """Relative starts count from their scene or shot; a line with no start follows the previous one."""
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
        owned = [(b, scene_start) for b in scene.beats] + [
            (b, shot_by_id[f"{sid}-sh{n:02d}"].start)
            for n, shot in enumerate(scene.shots, start=1) for b in shot.beats]
        owned.sort(key=lambda pair: (pair[0].span.line, pair[0].span.column))
        for n, (beat, origin) in enumerate(owned, start=1):
            start = _beat_start(beat, origin, cursor)
            how = deliver(beat)
            estimated = estimate_seconds(beat.parts, language, how.pace)
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


def check_overlaps(beats: Sequence[ResolvedBeat], film_end: float, diags: Diagnostics) -> list[ResolvedBeat]:
    """Half a line talked over is an error; a tail running into the next line is a warning."""
    ordered = sorted(beats, key=lambda b: b.start)
    out = []
    for i, b in enumerate(ordered):
        slot_end = ordered[i + 1].start if i + 1 < len(ordered) else film_end
        nxt = ordered[i + 1] if i + 1 < len(ordered) else None
        if nxt is not None and nxt.start < b.start + b.estimated / 2:
            diags.error(codes.LINE_TALKS_OVER, f"this line starts at {nxt.start:.2f}s, while the line before it "
                        f"is still being spoken (until about {b.start + b.estimated:.2f}s)", nxt.span,
                        related=[Related(span=b.span, message="the line it talks over")],
                        hint="start it later, or shorten the line before")
        elif b.start + b.estimated > slot_end + 1e-6:
            overrun = b.start + b.estimated - slot_end
            diags.warning(codes.LINE_OVERRUNS, f"this line needs about {b.estimated:.1f}s but has "
                          f"{slot_end - b.start:.1f}s; it overruns by ~{overrun:.1f}s", b.span,
                          hint="shorten it, raise its pace, or give it more room")
        out.append(b.model_copy(update={"slot_end": round(slot_end, 6)}))
    return out
