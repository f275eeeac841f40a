"""Narration in another language: what a translator is asked for each line, what it answers, and the plan's record.

Translation is expansion's second half: the shots' prompts and the music are the original film's, untouched,
so a translated plan shares every picture and music key with the original and differs only in its voice
lines (and the mix and mux over them). A line's markup (`[pause 0.6s]`, `[breath]`, `*word*`) travels with
its translation and is read by the film's own rules, so a translated line is timed and voiced like one
written in the film.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import Field, field_validator

from filmc.check.resolved import CheckedFilm, ResolvedBeat, ResolvedShot
from filmc.check.timeline import estimate_seconds
from filmc.expand.context import Usage
from filmc.model import Model, Span
from filmc.syntax import ir

LINE_MAX_CHARS = 2000   # far past any narration line: an answer this long is a mistake, not a line
_CHARS_PER_SECOND = 15.0   # a calm narration pace, for a line's budget in characters

TranslationStatus = Literal["translated", "untranslated", "override"]


class LineContext(Model):
    """One narration line as a translator sees it: the line with its markup, its direction, its scene's
    shots and neighbours, and its budget (the seconds from its start to the next line or its scene's end)."""

    beat: ResolvedBeat
    source_language: str
    language: str
    scene_title: str
    shots: tuple[str, ...]
    previous: str | None = None
    next: str | None = None
    budget: float
    target_chars: int


def _markup_problem(text: str) -> str | None:
    """What the film's own reader says about a line's markup, in one sentence; None when it reads."""
    from filmc.syntax.lower import narration_parts  # Lark, only when a line is read

    span = Span(path="<translation>", line=1, column=0, end_line=1, end_column=len(text) + 1)
    _, diags = narration_parts(ir.Text(value=text, span=span))
    errors = [d for d in diags if d.severity == "error"]
    return f"{errors[0].message} ({errors[0].hint})" if errors else None


class LineTranslation(Model):
    """The answer a translator gives for one line; Claude is forced into exactly this schema."""

    text: str = Field(min_length=1, max_length=LINE_MAX_CHARS,
                      description="The narration line in the target language, ready to be spoken: keep every "
                      "[pause …] and [breath] direction and mark the emphasised word with *asterisks*, as in "
                      "the original.")

    @field_validator("text")
    @classmethod
    def _reads(cls, text: str) -> str:
        """An answer whose markup the film couldn't read is invalid, so the translator is asked again."""
        if not text.strip():
            raise ValueError("the line is empty")
        problem = _markup_problem(text)
        if problem:
            raise ValueError(problem)
        return text


class TranslationResult(Model):
    """A translator's answers in line order; `translated` False: the identity stand-in, marked untranslated."""

    lines: tuple[LineTranslation, ...]
    usage: Usage = Usage()
    translated: bool = True


class TranslatedLine(Model):
    """One line of a translated plan: reviewable in `filmc compile`, replaceable from the override file."""

    beat_id: str
    source: str                   # as written in the film, markup and all
    text: str                     # what the voice speaks, markup and all
    status: TranslationStatus
    budget: float                 # seconds it has: to the next line or its scene's end
    estimated: float              # seconds it takes to say, estimated at its language's pace


class Translation(Model):
    """The plan's record of its language: where its lines came from, line by line."""

    source_language: str
    language: str
    translator: str                     # the expander (and model) that wrote them, or `template` (identity)
    overrides: str | None = None        # the override file read, relative to the project
    lines: tuple[TranslatedLine, ...]


def line_contexts(checked: CheckedFilm, language: str) -> list[LineContext]:
    """Every narration line with what its translator needs. The budget ends at the next line or the scene's end,
    whichever comes first; the length to aim at is the original's, cut in proportion when the original overruns
    its budget, and never more than the budget holds at a brisk pace (1.5 times a calm one)."""
    shots = [s for s in checked.timeline.segments if isinstance(s, ResolvedShot)]
    by_scene: dict[str, list[ResolvedShot]] = {}
    for shot in shots:
        by_scene.setdefault(shot.scene_id, []).append(shot)
    beats = checked.timeline.beats
    out = []
    for i, beat in enumerate(beats):
        scene = by_scene.get(beat.scene_id, [])
        scene_end = scene[-1].end if scene else beat.slot_end
        budget = max(0.0, min(beat.slot_end, scene_end) - beat.start)
        source_chars = len(_plain(beat.parts))
        fits = budget >= beat.estimated or beat.estimated <= 0
        target = source_chars if fits else round(source_chars * budget / beat.estimated)
        out.append(LineContext(
            beat=beat, source_language=checked.language, language=language,
            scene_title=scene[0].scene_title if scene else "", shots=tuple(s.description for s in scene),
            previous=beats[i - 1].text if i else None, next=beats[i + 1].text if i + 1 < len(beats) else None,
            budget=round(budget, 3), target_chars=max(1, min(target, round(budget * _CHARS_PER_SECOND * 1.5)))))
    return out


def _plain(parts: Sequence[ir.NarrationPart]) -> str:
    return " ".join("".join(p.text for p in parts if isinstance(p, ir.Spoken)).split())


def translated_film(checked: CheckedFilm, language: str, texts: Mapping[str, str]) -> CheckedFilm:
    """The film as it is rendered in `language`: the same timeline, each line's words replaced by its
    translation (`texts`, by line id; a line not in it keeps its words), re-estimated at the new language's
    pace. Starts never move: the picture, and so every video job, is the original's."""
    from filmc.syntax.lower import narration_parts

    beats = []
    for beat in checked.timeline.beats:
        text = texts.get(beat.id, beat.text)
        parts = beat.parts
        if text != beat.text:
            parts, _ = narration_parts(ir.Text(value=text, span=beat.span))   # validated before it got here
        beats.append(beat.model_copy(update={"text": text, "parts": parts,
                                             "estimated": estimate_seconds(parts, language, beat.pace)}))
    timeline = checked.timeline.model_copy(update={"beats": tuple(beats)})
    return checked.model_copy(update={"language": language, "timeline": timeline})
