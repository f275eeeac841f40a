"""IR -> CheckedFilm: the semantic rules, for the header, the declarations and each scene, shot and line.

All problems are collected in one run; the stage fails once at the end with all of them. Placing things in
time is filmc.check.timeline's; this module judges each piece and hands the timeline what it resolved.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from fractions import Fraction
from pathlib import Path

from filmc import codes
from filmc.check.expectations import check_expectations
from filmc.check.fit import fit_scenes, retimer
from filmc.check.paths import allowed_folders, is_file, outside_hint, place
from filmc.check.resolved import (
    CheckedFilm,
    ResolvedCard,
    ResolvedCue,
    ResolvedEntity,
    ResolvedShot,
    SceneFit,
    Segment,
    Timeline,
    TransitionSpec,
)
from filmc.check.timeline import (
    Clock,
    Declared,
    Delivery,
    WrittenStart,
    check_overlaps,
    lay_end_to_end,
    link_transitions,
    place_beats,
)
from filmc.color import interpolate_palette, is_hex
from filmc.diagnostics import Diagnostic, Diagnostics, Related
from filmc.model import Span
from filmc.perf import gc_paused
from filmc.syntax import ir
from filmc.syntax.quoting import quoted
from filmc.timecode import format_time
from filmc.vocabulary import CAMERA_MOVES, PACES, TRANSITIONS

DEFAULT_FRAME = (1280, 720, Fraction(24))
DEFAULT_PALETTE = ("#1A1A1A", "#5A5A5A")
DEFAULT_TRANSITION = Fraction(1)
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def hint_near(word: str, choices: Iterable[str], fallback: str) -> str:
    near = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean `{near[0]}`?" if near else fallback


class Checker:
    """One film's check: small methods per rule, sharing the collector and the frame rate."""

    def __init__(self, film: ir.Film, project_dir: Path, allow: Iterable[Path | str] = (),
                 voiced: Mapping[str, float] | None = None) -> None:
        self.film = film
        self.voiced = {line: round(seconds, 3) for line, seconds in (voiced or {}).items()}   # measured line lengths
        self.project_dir = project_dir.resolve()
        self.allowed = allowed_folders(allow)
        self.diags = Diagnostics()
        width, height, fps = DEFAULT_FRAME
        if film.frame:
            width, height = film.frame.width, film.frame.height
            # an unusable rate is reported by check_header; timing goes on at the default so nothing divides by 0
            fps = film.frame.fps if 1 <= film.frame.fps <= 120 else fps
        self.width, self.height, self.clock = width, height, Clock(fps)
        self.declared: list[tuple[Declared | None, Declared | None]] = []   # per segment, in timeline order
        self.fitted = False   # a scene was fitted: times written against the planned timeline are moved (`moved`)
        self.fits: tuple[SceneFit, ...] = ()
        # with a fit, each segment's middle as planned: its colours come from there, so a fit changes no colour
        self.planned_middle: dict[str, float] = {}
        self.move: Callable[[float], float] = float

    # ------------------------------------------------------------------ header and declarations
    def check_header(self) -> str:
        f = self.film
        self.require_text(f.title, "the film's title")
        if f.language is None:
            self.diags.error(codes.MISSING_LANGUAGE, "the film has no `language`", f.title.span,
                             hint="add a BCP 47 tag inside the film block, e.g. `language it`")
            return "en"
        if not _LANGUAGE.match(f.language.name):
            self.diags.error(codes.BAD_LANGUAGE_TAG,
                             f"`{f.language.name}` is not a BCP 47 language tag", f.language.span,
                             hint="write a tag like `it`, `en`, `en-GB`, `pt-BR`")
        if f.frame:
            w, h = f.frame.width, f.frame.height
            if not (16 <= w <= 8192 and 16 <= h <= 8192) or w % 2 or h % 2:
                self.diags.error(codes.BAD_FRAME_SIZE, f"frame size {w}x{h} is not usable", f.frame.span,
                                 hint="use even sizes from 16 to 8192, such as 1280x720 or 1920x1080")
            if not 1 <= f.frame.fps <= 120:
                self.diags.error(codes.BAD_FRAME_RATE,
                                 f"frame rate {float(f.frame.fps):g} is out of range", f.frame.span,
                                 hint="use a rate between 1 and 120, e.g. 24, 25 or 23.976")
        return f.language.name

    def check_translate(self, language: str) -> tuple[str, ...]:
        """`translate en, fr`: each a tag, none the film's own language, none twice."""
        seen: dict[str, Span] = {}
        out: list[str] = []
        for name in self.film.translate:
            tag = name.name
            if not _LANGUAGE.match(tag):
                self.diags.error(codes.BAD_LANGUAGE_TAG, f"`{tag}` is not a BCP 47 language tag", name.span,
                                 hint="write a tag like `en`, `fr`, `en-GB`, `pt-BR`")
            elif tag.lower() == language.lower():
                self.diags.error(codes.BAD_TRANSLATE, f"the film is already in `{tag}`", name.span,
                                 hint="list only the other languages it is delivered in")
            elif tag.lower() in seen:
                self.diags.error(codes.BAD_TRANSLATE, f"`{tag}` is listed twice", name.span,
                                 related=[Related(span=seen[tag.lower()], message="first listed here")],
                                 hint="keep one")
            else:
                seen[tag.lower()] = name.span
                out.append(tag)
        return tuple(out)

    def require_text(self, text: ir.Text | None, what: str) -> None:
        if text is not None and not text.value.strip():
            self.diags.error(codes.EMPTY_VALUE, f"{what} is empty", text.span, hint="write something, or remove it")

    def check_file(self, text: ir.Text, what: str) -> str | None:
        """Files are confined to the project (and folders the user allowed), so a spec can't read or embed
        anything else on disk: filmc.check.paths has the rule."""
        placed = place(self.project_dir, text.value, self.allowed)
        shown = quoted(text.value, 120)
        if placed.problem == "unusable":
            self.diags.error(codes.MISSING_FILE, f"{what} {shown} is not a usable path", text.span,
                             hint="write a plain relative path such as clips/shot1.mp4")
            return None
        if placed.problem == "outside":
            where = f"links to {placed.target}, which is" if placed.through_link else "is"
            self.diags.error(codes.FILE_OUTSIDE_PROJECT, f"{what} {shown} {where} outside the project folder",
                             text.span, hint=outside_hint(self.project_dir))
            return None
        assert placed.path is not None
        if not is_file(placed.path):
            self.diags.error(codes.MISSING_FILE, f"{what} {shown} does not exist", text.span,
                             hint=f"paths are relative to the film's folder ({self.project_dir.name}/)")
            return None
        return str(placed.path)

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
            self.diags.error(codes.STYLE_NOT_UTF8,
                             f"style file {quoted(style.include.value)} is not UTF-8 text", style.include.span,
                             hint="save it as UTF-8")
        except OSError as err:   # no permission, or gone since it was found
            self.diags.error(codes.MISSING_FILE, f"style file {quoted(style.include.value)} can't be read: "
                             f"{err.strerror or err}", style.include.span, hint="check the file's permissions")
        return ""

    def first_of_each(self, names: list[ir.Name], code: codes.Code, kind: str, hint: str) -> set[int]:
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
        keep = self.first_of_each([e.name for e in film.entities], codes.DUPLICATE_ENTITY, "entity",
                                  "give each entity one canonical description")
        entities = {e.name.name: ResolvedEntity(
            name=e.name.name, description=e.description.value,
            images=tuple(p for p in (self.check_file(i, "reference image") for i in e.images) if p))
            for i, e in enumerate(film.entities) if i in keep}
        keep = self.first_of_each([v.name for v in film.voices], codes.DUPLICATE_VOICE, "voice", "rename one of them")
        voices = {v.name.name: v.description.value for i, v in enumerate(film.voices) if i in keep}
        return entities, voices

    # ------------------------------------------------------------------ palette and music
    def check_palette(self, total: Fraction) -> list[tuple[float, tuple[str, ...]]]:
        stops: list[tuple[float, tuple[str, ...]]] = []
        previous: ir.PaletteStop | None = None
        for stop in self.film.palette:
            for c in stop.colors:
                if not is_hex(c.value):
                    self.diags.error(codes.BAD_COLOUR, f"{quoted(c.value, 24)} is not a colour", c.span,
                                     hint="write six hex digits, e.g. #3A7BD5")
            if previous is not None and stop.at.seconds <= previous.at.seconds:
                self.diags.error(codes.STOPS_OUT_OF_ORDER,
                                 f"palette stop `{stop.name.name}` at {stop.at.text} is not after "
                                 f"`{previous.name.name}` at {previous.at.text}", stop.at.span,
                                 related=[Related(span=previous.at.span, message="previous stop")],
                                 hint="list palette stops in time order")
            if self.moved(stop.at.seconds) > total:
                self.diags.error(codes.STOP_AFTER_END, f"palette stop at {stop.at.text} is past the end of the film "
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
                self.diags.error(codes.INTENSITY_OUT_OF_RANGE,
                                 f"intensity {quoted(cue.intensity.text, 24)[1:-1]} is outside 0–1", cue.intensity.span,
                                 hint="0 is near silence, 1 is the loudest moment of the score")
            if i and cue.at.seconds <= cues[i - 1].at.seconds:
                self.diags.error(codes.CUES_OUT_OF_ORDER, f"music cue at {cue.at.text} is not after the cue before it",
                                 cue.at.span, related=[Related(span=cues[i - 1].at.span, message="previous cue")],
                                 hint="list music cues in time order")
            if self.moved(cue.at.seconds) >= total:
                self.diags.error(codes.CUE_AFTER_END, f"music cue at {cue.at.text} starts after the film ends "
                                 f"({format_time(total)})", cue.at.span, hint="move it inside the film")
        resolved = []
        for i, cue in enumerate(cues):
            end = float(self.moved(cues[i + 1].at.seconds)) if i + 1 < len(cues) else \
                self.clock.seconds(self.clock.frames(total))
            resolved.append(ResolvedCue(
                index=i + 1, start=float(self.moved(cue.at.seconds)), end=end, description=cue.description.value,
                instruments=cue.instruments.value if cue.instruments else "",
                intensity=min(max(cue.intensity.value, 0.0), 1.0) if cue.intensity else 0.5))
        return tuple(resolved), None

    # ------------------------------------------------------------------ scenes, shots, transitions
    def transition(self, t: ir.Transition | None) -> TransitionSpec | None:
        if t is None:
            return None
        if t.kind.name not in TRANSITIONS:
            self.diags.error(codes.UNKNOWN_TRANSITION, f"unknown transition `{t.kind.name}`", t.kind.span,
                             hint=hint_near(t.kind.name, TRANSITIONS, "one of: " + ", ".join(TRANSITIONS)))
            return None
        if t.kind.name == "fade-from-black" and t.direction is None:
            length = f" {t.duration.text}" if t.duration else ""
            self.diags.error(codes.TRANSITION_NEEDS_DIRECTION, "say where this fade from black plays: at the "
                             "start of this segment, or at its end", t.span,
                             hint=f"write `transition in fade-from-black{length}` to fade it in from black, or "
                             f"`transition out fade-to-black{length}` to dip to black before the next one")
            return None
        if t.kind.name == "cut":
            return None
        seconds = t.duration.seconds if t.duration else DEFAULT_TRANSITION
        frames = self.clock.frames(seconds)
        if frames <= 0:
            self.diags.error(codes.ZERO_LENGTH, f"transition `{t.kind.name}` lasts no time at all", t.span,
                             hint="give it a length such as 1s, or use `transition cut`")
            return None
        return TransitionSpec(kind=t.kind.name, frames=frames, seconds=self.clock.seconds(frames))

    def declare(self, into: ir.Transition | None, out: ir.Transition | None) -> None:
        """A segment's transitions, judged and kept with their spans until the timeline gives each its cut."""
        into_, out_ = (None if t is None else Declared(spec=self.transition(t), span=t.span) for t in (into, out))
        self.declared.append((into_, out_))

    def check_shot(self, shot: ir.Shot, entities: dict[str, ResolvedEntity]) -> None:
        self.require_text(shot.description, "a shot's description")
        if shot.camera and shot.camera.name not in CAMERA_MOVES:
            self.diags.error(codes.UNKNOWN_CAMERA_MOVE, f"unknown camera move `{shot.camera.name}`", shot.camera.span,
                             hint=hint_near(shot.camera.name, CAMERA_MOVES, "one of: " + ", ".join(CAMERA_MOVES)))
        for ref in shot.entities:
            if ref.name not in entities:
                self.diags.error(codes.UNKNOWN_ENTITY, f"unknown entity `{ref.name}`", ref.span,
                                 hint=hint_near(ref.name, entities,
                                                f'declare it: entity {ref.name} "one canonical description"'))
        if shot.range is None and self.clock.frames(shot.duration.seconds) <= 0:   # a range's own check: F1001
            self.diags.error(codes.ZERO_LENGTH, f"shot lasts {shot.duration.text}", shot.duration.span,
                             hint="a shot needs at least one frame")

    def resolve_sequence(self, entities: dict[str, ResolvedEntity]) -> list[Segment]:
        """Scenes, shots and cards in story order, judged and resolved; the timeline then places them."""
        out: list[Segment] = []
        scene_no = 0
        cards: dict[str, int] = {}
        seen_titles: dict[str, Span] = {}
        for item in self.film.sequence:
            if isinstance(item, ir.Card):
                cards[item.kind] = cards.get(item.kind, 0) + 1
                out.append(self.resolve_card(item, cards[item.kind]))
                continue
            scene_no += 1
            self.check_scene_header(item, seen_titles)
            out.extend(self.resolve_shot(item, f"s{scene_no:02d}", n, shot, entities)
                       for n, shot in enumerate(item.shots, start=1))
        return out

    def resolve_card(self, card: ir.Card, number: int) -> ResolvedCard:
        """A title or credits card, at frame 0 until the timeline lays it in its place."""
        frames = self.clock.frames(card.duration.seconds)
        if frames <= 0:
            self.diags.error(codes.ZERO_LENGTH, f"{card.kind} card lasts {card.duration.text}", card.duration.span,
                             hint="give it a length such as 4s")
        self.declare(card.transition_in, card.transition_out)
        return ResolvedCard(id=f"{card.kind}-{number:02d}", style=card.kind, lines=tuple(t.value for t in card.lines),
                            start_frame=0, frames=frames, start=0.0, end=0.0, palette=(), span=card.span,
                            written=card.duration.text)

    def resolve_shot(self, scene: ir.Scene, scene_id: str, n: int, shot: ir.Shot,
                     entities: dict[str, ResolvedEntity]) -> ResolvedShot:
        """A shot with its references resolved, at frame 0 until the timeline lays it in its place."""
        self.check_shot(shot, entities)
        self.declare(shot.transition_in, shot.transition_out)
        return ResolvedShot(
            id=f"{scene_id}-sh{n:02d}", scene_id=scene_id, scene_title=scene.title.value, number=n,
            start_frame=0, frames=self.clock.frames(shot.duration.seconds), start=0.0, end=0.0,
            description=shot.description.value, camera=shot.camera.name if shot.camera else "static",
            light=shot.light.value if shot.light else None, mood=shot.mood.value if shot.mood else None,
            entities=tuple(entities[r.name] for r in shot.entities if r.name in entities),
            clip=self.check_file(shot.clip, "clip") if shot.clip else None,
            palette=(), span=shot.span, written=shot.duration.text)

    def check_scene_header(self, scene: ir.Scene, seen_titles: dict[str, Span]) -> None:
        self.require_text(scene.title, "a scene's title")
        if scene.title.value in seen_titles:
            self.diags.error(codes.DUPLICATE_SCENE_TITLE,
                             f"two scenes are titled {quoted(scene.title.value)}", scene.title.span,
                             related=[Related(span=seen_titles[scene.title.value], message="first used here")],
                             hint="scene titles name scenes in plans and timelines; make them unique")
        seen_titles.setdefault(scene.title.value, scene.title.span)
        if not scene.shots:
            self.diags.error(codes.EMPTY_VALUE, f"scene {quoted(scene.title.value)} has no shots", scene.span,
                             hint='add one: shot 6s "what we see"')
            return
        total = sum((s.duration.seconds for s in scene.shots), Fraction(0))
        fitted = scene.fit is not None or self.film.fit is not None   # a fitted scene's length is its bounds: F1003
        if scene.duration and not fitted and self.clock.frames(scene.duration.seconds) != self.clock.frames(total):
            self.diags.error(codes.SCENE_LENGTH_MISMATCH,
                             f"scene {quoted(scene.title.value)} is declared {scene.duration.text} but its "
                             f"shots add up to {format_time(total)}", scene.duration.span,
                             hint="change a shot's length, or the scene's")

    # ------------------------------------------------------------------ narration
    def pace(self, beat: ir.NarrationBeat) -> float:
        p = beat.pace
        if p is None:
            return 1.0
        if isinstance(p, ir.Name):
            if p.name not in PACES:
                self.diags.error(codes.UNKNOWN_PACE, f"unknown pace `{p.name}`", p.span,
                                 hint=hint_near(p.name, PACES, "use one of " + ", ".join(PACES) + " or a number"))
                return 1.0
            return PACES[p.name]
        if not 0.5 <= p.value <= 2.0:
            self.diags.error(codes.PACE_OUT_OF_RANGE, f"pace {quoted(p.text, 24)[1:-1]} is outside 0.5–2.0", p.span,
                             hint="1.0 is a normal narration rate; 0.85 is slower, 1.15 faster")
            return 1.0
        return p.value

    def voice_of(self, beat: ir.NarrationBeat, voices: dict[str, str]) -> tuple[str, str]:
        if beat.voice is None:
            name = next(iter(voices), "narrator")
            return name, voices.get(name, "")
        if beat.voice.name not in voices:
            self.diags.error(codes.UNKNOWN_VOICE, f"unknown voice `{beat.voice.name}`", beat.voice.span,
                             hint=hint_near(beat.voice.name, voices,
                                            f'declare it: voice {beat.voice.name} "who speaks, and how"'))
        return beat.voice.name, voices.get(beat.voice.name, "")

    def delivery(self, beat: ir.NarrationBeat, voices: dict[str, str]) -> Delivery:
        """Who speaks a line and how fast, judged here; the timeline asks for it as it places the line."""
        pace = self.pace(beat)
        voice, description = self.voice_of(beat, voices)
        self.require_text(beat.text, "a narration line")
        return Delivery(voice=voice, voice_description=description, pace=pace)

    # ------------------------------------------------------------------ the whole film
    def run(self, path: str) -> CheckedFilm:
        language = self.check_header()
        style = self.check_style()
        entities, voices = self.check_declarations()
        segments = self.fit(lay_end_to_end(self.resolve_sequence(entities), self.clock), language)
        linked = link_transitions(segments, self.declared, self.clock, self.diags)
        total_frames = sum(s.frames for s in linked)
        total = Fraction(total_frames) / self.clock.fps
        if not linked:
            self.diags.error(codes.EMPTY_VALUE, "the film has no scenes", self.film.title.span,
                             hint='add one: scene "Title" { shot 6s "what we see" }')
        self.check_target(total)
        stops = self.check_palette(total)
        colored = [s.model_copy(update={"palette": interpolate_palette(stops, self.planned_middle.get(
            s.id, (s.start + s.end) / 2)) or DEFAULT_PALETTE}) for s in linked]
        cues, music_file = self.check_music(total)
        written: dict[str, WrittenStart] = {}
        placed = place_beats(self.film, colored, language, lambda beat: self.delivery(beat, voices), self.diags,
                             written, self.voiced)
        beats = check_overlaps(placed, float(total), self.diags, written)
        fps = self.clock.fps
        timeline = Timeline(width=self.width, height=self.height, fps_num=fps.numerator, fps_den=fps.denominator,
                            frames=total_frames, duration=float(total), segments=tuple(colored), beats=tuple(beats),
                            cues=cues, music_file=music_file)
        return CheckedFilm(path=path, project_dir=str(self.project_dir), title=self.film.title.value,
                           language=language, by=self.film.by.value if self.film.by else None, style=style,
                           entities=tuple(entities.values()), timeline=timeline,
                           translations=self.check_translate(language),
                           expectations=check_expectations(self.film.expectations, self.diags, bool(beats)),
                           fit=self.fits)

    def fit(self, planned: list[Segment], language: str) -> list[Segment]:
        """`fit narration`: fitted scenes at the lengths their narration needs (measured where `voiced` has the
        line, else estimated), laid end to end. Music cues move with the cuts (`moved`); colours are taken where
        each segment was planned, so the palette stays with the shots it was written against."""
        fitted, self.fits = fit_scenes(self.film, planned, self.clock, language, self.voiced, self.diags)
        # measured lengths time the fitted scenes' lines only: a scene that isn't fitted is timed as it always is
        scenes = {fit.scene_id for fit in self.fits}
        self.voiced = {line: s for line, s in self.voiced.items() if line.split("-")[0] in scenes}
        if not self.fits:
            return planned
        laid = lay_end_to_end(fitted, self.clock)
        self.fitted = True
        self.planned_middle = {s.id: (s.start + s.end) / 2 for s in planned}
        self.move = retimer([(s.start, s.end) for s in planned], [(s.start, s.end) for s in laid])
        return laid

    def moved(self, t: Fraction) -> Fraction:
        """A time written against the film as planned, on the fitted timeline; unchanged when nothing is fitted."""
        if not self.fitted:
            return t
        return Fraction(self.move(float(t))).limit_denominator(10**6)

    def check_target(self, total: Fraction) -> None:
        target = self.film.target
        if target is None:
            return
        if abs(self.clock.frames(target.seconds) - self.clock.frames(total)) > 1:
            self.diags.warning(codes.LENGTH_DIFFERS_FROM_DURATION,
                               f"the film runs {format_time(total)} but declares duration "
                               f"{target.text}", target.span, hint=self.target_hint(target, total))

    def target_hint(self, target: ir.Time, total: Fraction) -> str:
        """When the lengths as written add up to the target and only rounding to whole frames (23.976 fps) made
        the film longer, no shot length will fix it: say so, and what to declare."""
        written = sum((item.duration.seconds for item in self.film.sequence if isinstance(item, ir.Card)),
                      Fraction(0)) + sum((shot.duration.seconds for item in self.film.sequence
                                          if isinstance(item, ir.Scene) for shot in item.shots), Fraction(0))
        if abs(self.clock.frames(written) - self.clock.frames(target.seconds)) > 1:
            return "adjust shot lengths, or the declared duration"
        rate = f"{float(self.clock.fps):.3f}".rstrip("0").rstrip(".")
        return (f"the lengths as written add up to {format_time(written)}, but each shot and card is a whole number of "
                f"frames at {rate} fps, which makes {format_time(total)}: declare `duration {format_time(total)}`")


def check(film: ir.Film, project_dir: Path, prior: tuple[Diagnostic, ...] = (), *,
          allow: Iterable[Path | str] = (),
          voiced: Mapping[str, float] | None = None) -> tuple[CheckedFilm, tuple[Diagnostic, ...]]:
    """The check stage: raises FilmError on any error (its own or `prior` ones); returns warnings otherwise.
    `allow`: folders outside the project its files may come from, besides FILMC_ALLOW_PATHS's. `voiced`: lines'
    lengths as their voice measured them, by line id, which `fit narration` fits to instead of estimates."""
    checker = Checker(film, project_dir, allow, voiced)
    checker.diags.extend(prior)
    with gc_paused():
        checked = checker.run(film.span.path)
    checker.diags.raise_if_errors()
    return checked, checker.diags.sorted()

