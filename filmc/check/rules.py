"""IR -> CheckedFilm: every semantic rule, timeline resolution and palette interpolation.

All problems are collected in one run; the stage fails once at the end with all of them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

from filmc.check.resolved import (
    CheckedFilm,
    ResolvedBeat,
    ResolvedCard,
    ResolvedCue,
    ResolvedEntity,
    ResolvedShot,
    Segment,
    Timeline,
    TransitionSpec,
)
from filmc.color import interpolate_palette, is_hex
from filmc.diagnostics import Diagnostic, Diagnostics, FilmError, Related
from filmc.model import Span
from filmc.perf import gc_paused
from filmc.syntax import ir
from filmc.timecode import format_time, to_frames
from filmc.vocabulary import CAMERA_MOVES, PACES, TRANSITIONS

DEFAULT_FRAME = (1280, 720, Fraction(24))
DEFAULT_PALETTE = ("#1A1A1A", "#5A5A5A")
DEFAULT_TRANSITION = Fraction(1)
ENDING_TRANSITIONS = ("cut", "fade-to-black", "dip-to-white")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_SYLLABLE = re.compile(r"[aeiouyàèéìíîòóùúäëïöüâêôû]+", re.IGNORECASE)
# Narration syllables per second at pace 1.0: unhurried voice-over, not conversation.
SYLLABLES_PER_SECOND = {"it": 5.6, "es": 5.6, "fr": 5.4, "pt": 5.4, "en": 4.6, "de": 4.4}
BREATH_SECONDS = 0.35


def hint_near(word: str, choices: Iterable[str], fallback: str) -> str:
    near = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean `{near[0]}`?" if near else fallback


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
            total += BREATH_SECONDS
    return round(total, 3)


class Checker:
    """One film's check: small methods per rule, sharing the collector and the frame rate."""

    def __init__(self, film: ir.Film, project_dir: Path) -> None:
        self.film = film
        self.project_dir = project_dir.resolve()
        self.diags = Diagnostics()
        width, height, fps = DEFAULT_FRAME
        if film.frame:
            width, height = film.frame.width, film.frame.height
            # an unusable rate is reported by check_header; timing goes on at the default so nothing divides by 0
            fps = film.frame.fps if 1 <= film.frame.fps <= 120 else fps
        self.width, self.height, self.fps = width, height, fps

    def frames(self, t: Fraction) -> int:
        return to_frames(t, self.fps)

    def seconds(self, frames: int) -> float:
        return float(Fraction(frames) / self.fps)

    # ------------------------------------------------------------------ header and declarations
    def check_header(self) -> str:
        f = self.film
        self.require_text(f.title, "the film's title")
        if f.language is None:
            self.diags.error("F0101", "the film has no `language`", f.title.span,
                             hint="add a BCP 47 tag inside the film block, e.g. `language it`")
            return "en"
        if not _LANGUAGE.match(f.language.name):
            self.diags.error("F0102", f"`{f.language.name}` is not a BCP 47 language tag", f.language.span,
                             hint="write a tag like `it`, `en`, `en-GB`, `pt-BR`")
        if f.frame:
            w, h = f.frame.width, f.frame.height
            if not (16 <= w <= 8192 and 16 <= h <= 8192) or w % 2 or h % 2:
                self.diags.error("F0103", f"frame size {w}x{h} is not usable", f.frame.span,
                                 hint="use even sizes from 16 to 8192, such as 1280x720 or 1920x1080")
            if not 1 <= f.frame.fps <= 120:
                self.diags.error("F0104", f"frame rate {float(f.frame.fps):g} is out of range", f.frame.span,
                                 hint="use a rate between 1 and 120, e.g. 24, 25 or 23.976")
        return f.language.name

    def require_text(self, text: ir.Text | None, what: str) -> None:
        if text is not None and not text.value.strip():
            self.diags.error("F0601", f"{what} is empty", text.span, hint="write something, or remove it")

    def check_file(self, text: ir.Text, what: str) -> str | None:
        """Files are confined to the project, so a spec can't read or embed anything else on disk."""
        try:
            candidate = (self.project_dir / text.value).resolve()
        except (ValueError, OSError):  # a NUL byte, a loop of links
            self.diags.error("F0501", f"{what} `{text.value!r}` is not a usable path", text.span,
                             hint="write a plain relative path such as clips/shot1.mp4")
            return None
        if not candidate.is_relative_to(self.project_dir):
            self.diags.error("F0502", f"{what} `{text.value}` is outside the project folder", text.span,
                             hint=f"move it under {self.project_dir.name}/ and use a relative path")
            return None
        if "\0" in text.value or not candidate.is_file():
            self.diags.error("F0501", f"{what} `{text.value}` does not exist", text.span,
                             hint=f"paths are relative to the film's folder ({self.project_dir.name}/)")
            return None
        return str(candidate)

    def check_style(self) -> str:
        style = self.film.style
        if style is None:
            return ""
        if style.text is not None:
            self.require_text(style.text, "the style bible")
            return style.text.value
        assert style.include is not None
        found = self.check_file(style.include, "style file")
        if found is None:
            return ""
        try:
            return Path(found).read_text("utf-8").strip()
        except UnicodeDecodeError:
            self.diags.error("F0503", f"style file `{style.include.value}` is not UTF-8 text", style.include.span,
                             hint="save it as UTF-8")
            return ""

    def first_of_each(self, names: list[ir.Name], code: str, kind: str, hint: str) -> set[int]:
        """Indexes of the first declaration of each name; every later one is an error pointing back."""
        seen: dict[str, Span] = {}
        keep = set()
        for i, name in enumerate(names):
            if name.name in seen:
                self.diags.error(code, f"{kind} `{name.name}` is declared twice", name.span,
                                 related=[Related(span=seen[name.name], message="first declared here")], hint=hint)
            else:
                seen[name.name] = name.span
                keep.add(i)
        return keep

    def check_declarations(self) -> tuple[dict[str, ResolvedEntity], dict[str, str]]:
        film = self.film
        for e in film.entities:
            self.require_text(e.description, f"entity `{e.name.name}`'s description")
        keep = self.first_of_each([e.name for e in film.entities], "F0201", "entity",
                                  "give each entity one canonical description")
        entities = {e.name.name: ResolvedEntity(
            name=e.name.name, description=e.description.value,
            images=tuple(p for p in (self.check_file(i, "reference image") for i in e.images) if p))
            for i, e in enumerate(film.entities) if i in keep}
        keep = self.first_of_each([v.name for v in film.voices], "F0207", "voice", "rename one of them")
        voices = {v.name.name: v.description.value for i, v in enumerate(film.voices) if i in keep}
        return entities, voices

    # ------------------------------------------------------------------ palette and music
    def check_palette(self, total: Fraction) -> list[tuple[float, tuple[str, ...]]]:
        stops: list[tuple[float, tuple[str, ...]]] = []
        previous: ir.PaletteStop | None = None
        for stop in self.film.palette:
            for c in stop.colors:
                if not is_hex(c.value):
                    self.diags.error("F0401", f"`{c.value}` is not a colour", c.span,
                                     hint="write six hex digits, e.g. #3A7BD5")
            if previous is not None and stop.at.seconds <= previous.at.seconds:
                self.diags.error("F0402", f"palette stop `{stop.name.name}` at {stop.at.text} is not after "
                                 f"`{previous.name.name}` at {previous.at.text}", stop.at.span,
                                 related=[Related(span=previous.at.span, message="previous stop")],
                                 hint="list palette stops in time order")
            if stop.at.seconds > total:
                self.diags.error("F0403", f"palette stop at {stop.at.text} is past the end of the film "
                                 f"({format_time(total)})", stop.at.span,
                                 hint="move it inside the film, or lengthen the scenes")
            previous = stop
            colors = tuple(c.value.upper() for c in stop.colors if is_hex(c.value))
            if colors:
                stops.append((float(stop.at.seconds), colors))
        return sorted(stops, key=lambda s: s[0])

    def check_music(self, total: Fraction) -> tuple[tuple[ResolvedCue, ...], str | None]:
        music = self.film.music
        if music is None:
            return (), None
        if music.file is not None:
            return (), self.check_file(music.file, "music file")
        cues = music.cues
        for i, cue in enumerate(cues):
            self.require_text(cue.description, "a music cue's description")
            if cue.intensity and not 0 <= cue.intensity.value <= 1:
                self.diags.error("F0602", f"intensity {cue.intensity.text} is outside 0–1", cue.intensity.span,
                                 hint="0 is near silence, 1 is the loudest moment of the score")
            if i and cue.at.seconds <= cues[i - 1].at.seconds:
                self.diags.error("F0308", f"music cue at {cue.at.text} is not after the cue before it",
                                 cue.at.span, related=[Related(span=cues[i - 1].at.span, message="previous cue")],
                                 hint="list music cues in time order")
            if cue.at.seconds >= total:
                self.diags.error("F0309", f"music cue at {cue.at.text} starts after the film ends "
                                 f"({format_time(total)})", cue.at.span, hint="move it inside the film")
        resolved = []
        for i, cue in enumerate(cues):
            end = float(cues[i + 1].at.seconds) if i + 1 < len(cues) else self.seconds(self.frames(total))
            resolved.append(ResolvedCue(
                index=i + 1, start=float(cue.at.seconds), end=end, description=cue.description.value,
                instruments=cue.instruments.value if cue.instruments else "",
                intensity=min(max(cue.intensity.value, 0.0), 1.0) if cue.intensity else 0.5))
        return tuple(resolved), None

    # ------------------------------------------------------------------ scenes, shots, transitions
    def transition(self, t: ir.Transition | None) -> TransitionSpec | None:
        if t is None:
            return None
        if t.kind.name not in TRANSITIONS:
            self.diags.error("F0204", f"unknown transition `{t.kind.name}`", t.kind.span,
                             hint=hint_near(t.kind.name, TRANSITIONS, "one of: " + ", ".join(TRANSITIONS)))
            return None
        if t.kind.name == "cut":
            return None
        seconds = t.duration.seconds if t.duration else DEFAULT_TRANSITION
        frames = self.frames(seconds)
        if frames <= 0:
            self.diags.error("F0307", f"transition `{t.kind.name}` lasts no time at all", t.span,
                             hint="give it a length such as 1s, or use `transition cut`")
            return None
        return TransitionSpec(kind=t.kind.name, frames=frames, seconds=self.seconds(frames))

    def check_shot(self, shot: ir.Shot, entities: dict[str, ResolvedEntity]) -> None:
        self.require_text(shot.description, "a shot's description")
        if shot.camera and shot.camera.name not in CAMERA_MOVES:
            self.diags.error("F0203", f"unknown camera move `{shot.camera.name}`", shot.camera.span,
                             hint=hint_near(shot.camera.name, CAMERA_MOVES, "one of: " + ", ".join(CAMERA_MOVES)))
        for ref in shot.entities:
            if ref.name not in entities:
                self.diags.error("F0202", f"unknown entity `{ref.name}`", ref.span,
                                 hint=hint_near(ref.name, entities,
                                                f'declare it: entity {ref.name} "one canonical description"'))
        if self.frames(shot.duration.seconds) <= 0:
            self.diags.error("F0307", f"shot lasts {shot.duration.text}", shot.duration.span,
                             hint="a shot needs at least one frame")

    def build_segments(self, entities: dict[str, ResolvedEntity]) -> list[tuple[Segment, ir.Scene | ir.Card]]:
        """Lay scenes, shots and cards end to end; palettes come later, once the length is known."""
        out: list[tuple[Segment, ir.Scene | ir.Card]] = []
        frame = 0
        scene_no = 0
        cards: dict[str, int] = {}
        seen_titles: dict[str, Span] = {}
        for item in self.film.sequence:
            if isinstance(item, ir.Card):
                frames = self.frames(item.duration.seconds)
                if frames <= 0:
                    self.diags.error("F0307", f"{item.kind} card lasts {item.duration.text}", item.duration.span,
                                     hint="give it a length such as 4s")
                cards[item.kind] = cards.get(item.kind, 0) + 1
                card = ResolvedCard(id=f"{item.kind}-{cards[item.kind]:02d}", style=item.kind,
                                    lines=tuple(t.value for t in item.lines), start_frame=frame, frames=frames,
                                    start=self.seconds(frame), end=self.seconds(frame + frames),
                                    palette=(), span=item.span)
                out.append((card, item))
                frame += frames
                continue
            scene_no += 1
            self.check_scene_header(item, seen_titles)
            scene_id = f"s{scene_no:02d}"
            for n, shot in enumerate(item.shots, start=1):
                self.check_shot(shot, entities)
                frames = self.frames(shot.duration.seconds)
                out.append((ResolvedShot(
                    id=f"{scene_id}-sh{n:02d}", scene_id=scene_id, scene_title=item.title.value, number=n,
                    start_frame=frame, frames=frames, start=self.seconds(frame), end=self.seconds(frame + frames),
                    description=shot.description.value, camera=shot.camera.name if shot.camera else "static",
                    light=shot.light.value if shot.light else None, mood=shot.mood.value if shot.mood else None,
                    entities=tuple(entities[r.name] for r in shot.entities if r.name in entities),
                    transition_out=self.transition(shot.transition),
                    clip=self.check_file(shot.clip, "clip") if shot.clip else None,
                    palette=(), span=shot.span), item))
                frame += frames
        return out

    def check_scene_header(self, scene: ir.Scene, seen_titles: dict[str, Span]) -> None:
        self.require_text(scene.title, "a scene's title")
        if scene.title.value in seen_titles:
            self.diags.error("F0205", f"two scenes are titled `{scene.title.value}`", scene.title.span,
                             related=[Related(span=seen_titles[scene.title.value], message="first used here")],
                             hint="scene titles name scenes in plans and timelines; make them unique")
        seen_titles.setdefault(scene.title.value, scene.title.span)
        if not scene.shots:
            self.diags.error("F0601", f"scene `{scene.title.value}` has no shots", scene.span,
                             hint='add one: shot 6s "what we see"')
            return
        total = sum((s.duration.seconds for s in scene.shots), Fraction(0))
        if scene.duration and self.frames(scene.duration.seconds) != self.frames(total):
            self.diags.error("F0301", f"scene `{scene.title.value}` is declared {scene.duration.text} but its "
                             f"shots add up to {format_time(total)}", scene.duration.span,
                             hint="change a shot's length, or the scene's")

    def link_transitions(self, segs: list[tuple[Segment, ir.Scene | ir.Card]]) -> list[Segment]:
        """Each transition eats the head of the next slot and a handle from the previous clip."""
        out: list[Segment] = [s for s, _ in segs]
        for i, seg in enumerate(out):
            t = seg.transition_out
            if t is None:
                continue
            if i + 1 == len(out):
                if t.kind not in ENDING_TRANSITIONS:
                    self.diags.error("F0306", f"`{t.kind}` needs something after it, but this is the last shot",
                                     seg.span, hint="end the film with fade-to-black, dip-to-white or cut")
                elif t.frames > seg.frames:
                    self.transition_too_long(t, seg)
                continue
            nxt = out[i + 1]
            if t.frames > seg.frames or t.frames > nxt.frames:
                self.transition_too_long(t, seg if t.frames > seg.frames else nxt)
            out[i + 1] = nxt.model_copy(update={"transition_in": t})
        return out

    def transition_too_long(self, t: TransitionSpec, seg: Segment) -> None:
        self.diags.error("F0302", f"{t.kind} lasts {t.seconds:g}s, longer than the {self.seconds(seg.frames):g}s "
                         "shot it overlaps", seg.span, hint="shorten the transition or lengthen the shot")

    # ------------------------------------------------------------------ narration
    def pace(self, beat: ir.NarrationBeat) -> float:
        p = beat.pace
        if p is None:
            return 1.0
        if isinstance(p, ir.Name):
            if p.name not in PACES:
                self.diags.error("F0108", f"unknown pace `{p.name}`", p.span,
                                 hint=hint_near(p.name, PACES, "use one of " + ", ".join(PACES) + " or a number"))
                return 1.0
            return PACES[p.name]
        if not 0.5 <= p.value <= 2.0:
            self.diags.error("F0603", f"pace {p.text} is outside 0.5–2.0", p.span,
                             hint="1.0 is a normal narration rate; 0.85 is slower, 1.15 faster")
            return 1.0
        return p.value

    def voice_of(self, beat: ir.NarrationBeat, voices: dict[str, str]) -> tuple[str, str]:
        if beat.voice is None:
            name = next(iter(voices), "narrator")
            return name, voices.get(name, "")
        if beat.voice.name not in voices:
            self.diags.error("F0206", f"unknown voice `{beat.voice.name}`", beat.voice.span,
                             hint=hint_near(beat.voice.name, voices,
                                            f'declare it: voice {beat.voice.name} "who speaks, and how"'))
        return beat.voice.name, voices.get(beat.voice.name, "")

    def place_beats(self, segs: list[Segment], language: str, voices: dict[str, str]) -> list[ResolvedBeat]:
        """Relative starts count from their scene or shot; a line with no start follows the previous one."""
        shot_by_id = {s.id: s for s in segs if isinstance(s, ResolvedShot)}
        by_scene: dict[str, list[ResolvedShot]] = {}
        for s in shot_by_id.values():
            by_scene.setdefault(s.scene_id, []).append(s)
        placed: list[ResolvedBeat] = []
        scene_no = 0
        for item in self.film.sequence:
            if not isinstance(item, ir.Scene):
                continue
            scene_no += 1
            sid = f"s{scene_no:02d}"
            shots = by_scene.get(sid, [])
            if not shots:
                continue
            scene_start, scene_end = shots[0].start, shots[-1].end
            cursor = scene_start
            owned = [(b, scene_start) for b in item.beats] + [
                (b, shot_by_id[f"{sid}-sh{n:02d}"].start)
                for n, shot in enumerate(item.shots, start=1) for b in shot.beats]
            owned.sort(key=lambda pair: (pair[0].span.line, pair[0].span.column))
            for n, (beat, origin) in enumerate(owned, start=1):
                start = self.beat_start(beat, origin, cursor)
                pace = self.pace(beat)
                voice, description = self.voice_of(beat, voices)
                self.require_text(beat.text, "a narration line")
                estimated = estimate_seconds(beat.parts, language, pace)
                if not scene_start <= start < scene_end:
                    self.diags.error("F0303", f"this line starts at {start:.2f}s, outside its scene "
                                     f"({scene_start:.2f}s–{scene_end:.2f}s)", beat.span,
                                     hint="start it inside the scene, or move it to the scene it belongs to")
                pause_after = float(beat.pause_after.seconds) if beat.pause_after else 0.0
                cursor = start + estimated + pause_after
                placed.append(ResolvedBeat(
                    id=f"{sid}-l{n:02d}", scene_id=sid, text=beat.text.value, parts=beat.parts, voice=voice,
                    voice_description=description, tone=beat.tone.value if beat.tone else None, pace=pace,
                    start=round(start, 6), slot_end=0.0, estimated=estimated, span=beat.span))
        return placed

    def beat_start(self, beat: ir.NarrationBeat, origin: float, cursor: float) -> float:
        if beat.start is None:
            return cursor
        if beat.start_mode == "absolute":
            return float(beat.start.seconds)
        return origin + float(beat.start.seconds)

    def check_overlaps(self, beats: list[ResolvedBeat], film_end: float) -> list[ResolvedBeat]:
        """Half a line talked over is an error; a tail running into the next line is a warning."""
        ordered = sorted(beats, key=lambda b: b.start)
        out = []
        for i, b in enumerate(ordered):
            slot_end = ordered[i + 1].start if i + 1 < len(ordered) else film_end
            nxt = ordered[i + 1] if i + 1 < len(ordered) else None
            if nxt is not None and nxt.start < b.start + b.estimated / 2:
                self.diags.error("F0304", f"this line starts at {nxt.start:.2f}s, while the line before it is "
                                 f"still being spoken (until about {b.start + b.estimated:.2f}s)", nxt.span,
                                 related=[Related(span=b.span, message="the line it talks over")],
                                 hint="start it later, or shorten the line before")
            elif b.start + b.estimated > slot_end + 1e-6:
                overrun = b.start + b.estimated - slot_end
                self.diags.warning("F0305", f"this line needs about {b.estimated:.1f}s but has "
                                   f"{slot_end - b.start:.1f}s; it overruns by ~{overrun:.1f}s", b.span,
                                   hint="shorten it, raise its pace, or give it more room")
            out.append(b.model_copy(update={"slot_end": round(slot_end, 6)}))
        return out

    # ------------------------------------------------------------------ the whole film
    def run(self, path: str) -> CheckedFilm:
        language = self.check_header()
        style = self.check_style()
        entities, voices = self.check_declarations()
        segs = self.build_segments(entities)
        linked = self.link_transitions(segs)
        total_frames = sum(s.frames for s in linked)
        total = Fraction(total_frames) / self.fps
        if not linked:
            self.diags.error("F0601", "the film has no scenes", self.film.title.span,
                             hint='add one: scene "Title" { shot 6s "what we see" }')
        self.check_target(total)
        stops = self.check_palette(total)
        colored = [s.model_copy(update={"palette": interpolate_palette(stops, (s.start + s.end) / 2)
                                        or DEFAULT_PALETTE}) for s in linked]
        cues, music_file = self.check_music(total)
        beats = self.check_overlaps(self.place_beats(colored, language, voices), float(total))
        timeline = Timeline(width=self.width, height=self.height, fps_num=self.fps.numerator,
                            fps_den=self.fps.denominator, frames=total_frames, duration=float(total),
                            segments=tuple(colored), beats=tuple(beats), cues=cues, music_file=music_file)
        return CheckedFilm(path=path, project_dir=str(self.project_dir), title=self.film.title.value,
                           language=language, by=self.film.by.value if self.film.by else None, style=style,
                           entities=tuple(entities.values()), timeline=timeline)

    def check_target(self, total: Fraction) -> None:
        target = self.film.target
        if target is None:
            return
        if abs(self.frames(target.seconds) - self.frames(total)) > 1:
            self.diags.warning("F0310", f"the film runs {format_time(total)} but declares duration "
                               f"{target.text}", target.span,
                               hint="adjust shot lengths, or the declared duration")


def check(film: ir.Film, project_dir: Path,
          prior: tuple[Diagnostic, ...] = ()) -> tuple[CheckedFilm, tuple[Diagnostic, ...]]:
    """The check stage: raises FilmError on any error (its own or `prior` ones); returns warnings otherwise."""
    checker = Checker(film, project_dir)
    checker.diags.extend(prior)
    with gc_paused():
        checked = checker.run(film.span.path)
    checker.diags.raise_if_errors()
    return checked, checker.diags.sorted()


def load(path: Path, *, display: str | None = None) -> tuple[CheckedFilm, tuple[Diagnostic, ...], str]:
    """Read, parse and check one file: the front end every command shares."""
    from filmc.syntax.lower import parse_collecting

    shown = display or str(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise FilmError([_file_diagnostic(shown, f"cannot read {shown}: {err.strerror}")]) from None
    try:
        text = raw.decode("utf-8-sig")  # an editor's byte-order mark is not part of the film
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise FilmError([_file_diagnostic(shown, "the file is not UTF-8 text", line)]) from None
    film, lowering = parse_collecting(text, shown)
    checked, warnings = check(film, path.resolve().parent, lowering)
    return checked, warnings, text


def _file_diagnostic(path: str, message: str, line: int = 1) -> Diagnostic:
    return Diagnostic(severity="error", code="F0010", message=message,
                      span=Span(path=path, line=line, column=1, end_line=line, end_column=2),
                      hint="save the film as UTF-8 text" if "UTF-8" in message else "check the path")
