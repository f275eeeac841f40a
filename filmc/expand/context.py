"""Resolved film -> prompts: shots through an expander, narration into each voice's markup, music into sections."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Literal

from pydantic import Field

from filmc.check.resolved import CheckedFilm, ResolvedBeat, ResolvedEntity, ResolvedShot
from filmc.color import describe
from filmc.expand.templating import Templates
from filmc.model import Model
from filmc.syntax.ir import BREATH_SECONDS, Breath, NarrationPart, Pause, Spoken
from filmc.vocabulary import CAMERA_PHRASES


class PaletteColour(Model):
    hex: str
    words: str


class FilmContext(Model):
    """What every prompt of a film shares: the part that becomes Claude's cached system block."""

    title: str
    language: str
    style: str
    entities: tuple[ResolvedEntity, ...]


class ShotContext(Model):
    """Everything a template may say about one shot."""

    shot: ResolvedShot
    entities: tuple[ResolvedEntity, ...]
    palette: tuple[PaletteColour, ...]
    camera: str
    previous: ResolvedShot | None = None
    next: ResolvedShot | None = None


PROMPT_MAX_CHARS = 6000     # past any video service's limit: a prompt this long is a mistake, not a prompt
NEGATIVE_MAX_CHARS = 1000


class ShotPrompt(Model):
    """The answer an expander gives for one shot; Claude is forced into exactly this schema."""

    prompt: str = Field(min_length=20, max_length=PROMPT_MAX_CHARS,
                        description="The complete text-to-video prompt for this shot: one English paragraph.")
    negative: str = Field(default="", max_length=NEGATIVE_MAX_CHARS,
                          description="What must not appear in the shot, comma-separated.")


class Usage(Model):
    """What expansion consumed (prompt-cache reads and writes included); the plan prices it."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    calls: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(**{name: getattr(self, name) + getattr(other, name) for name in type(self).model_fields})


class MusicSection(Model):
    """One cue's stretch of the score, from its start to the next cue's (the last one to the film's end)."""

    start: float
    end: float
    description: str
    instruments: str = ""
    intensity: float = 0.5
    prompt: str = ""


class NarrationLine(Model):
    """A line ready for a voice backend: plain text for subtitles, markup in the backend's dialect."""

    beat: ResolvedBeat
    text: str
    markup: str


class Expansion(Model):
    expander: str
    model: str
    film: FilmContext
    shots: tuple[tuple[str, ShotPrompt], ...]
    lines: tuple[NarrationLine, ...]
    music_sections: tuple[MusicSection, ...]
    music_prompt: str
    usage: Usage
    usd: Decimal


def film_context(checked: CheckedFilm) -> FilmContext:
    return FilmContext(title=checked.title, language=checked.language, style=checked.style,
                       entities=checked.entities)


def shot_contexts(checked: CheckedFilm) -> list[ShotContext]:
    shots = [s for s in checked.timeline.segments if isinstance(s, ResolvedShot)]
    out = []
    for i, shot in enumerate(shots):
        palette = tuple(PaletteColour(hex=c, words=describe(c)) for c in shot.palette)
        out.append(ShotContext(shot=shot, entities=shot.entities, palette=palette,
                               camera=CAMERA_PHRASES.get(shot.camera, shot.camera),
                               previous=shots[i - 1] if i else None,
                               next=shots[i + 1] if i + 1 < len(shots) else None))
    return out


def plain_text(parts: Sequence[NarrationPart]) -> str:
    """What a viewer reads: the words, with the director's markup gone."""
    text = "".join(p.text for p in parts if isinstance(p, Spoken))
    return " ".join(text.split())


def voice_markup(parts: Sequence[NarrationPart], dialect: Literal["none", "ssml-break", "audio-tags"]) -> str:
    """Pauses and emphasis in the voice backend's own markup; `none` leaves them to the backend's parts."""
    out: list[str] = []
    for p in parts:
        if isinstance(p, Spoken):
            word = p.text
            if p.emphasis and dialect == "audio-tags":
                word = f"[emphasized] {word}"
            out.append(word)
        elif isinstance(p, Pause):
            seconds = float(p.seconds)
            if dialect == "ssml-break":
                while seconds > 0:  # services cap one break at 3 s
                    step = min(seconds, 3.0)
                    out.append(f' <break time="{step:g}s"/> ')
                    seconds -= step
            elif dialect == "audio-tags":
                out.append(" [long pause] " if seconds >= 1 else " [pause] ")
            else:
                out.append(" … ")
        elif isinstance(p, Breath):
            out.append(f' <break time="{BREATH_SECONDS:g}s"/> ' if dialect == "ssml-break" else
                       " [breathes] " if dialect == "audio-tags" else " ")
    return " ".join("".join(out).split())


def music_sections(checked: CheckedFilm, templates: Templates) -> tuple[tuple[MusicSection, ...], str]:
    """Cue by cue, covering the film from 0 to its end, so a generator or the synth fills it exactly."""
    tl = checked.timeline
    sections: list[MusicSection] = []
    for i, cue in enumerate(tl.cues):
        start = 0.0 if i == 0 else cue.start
        end = tl.duration if i + 1 == len(tl.cues) else tl.cues[i + 1].start
        section = MusicSection(start=start, end=end, description=cue.description, instruments=cue.instruments,
                               intensity=cue.intensity)
        sections.append(section.model_copy(update={"prompt": templates.render("music.section.j2",
                                                                                   section=section)}))
    prompt = templates.render("music.prompt.j2", film=film_context(checked), sections=sections,
                              duration=tl.duration) if sections else ""
    return tuple(sections), prompt
