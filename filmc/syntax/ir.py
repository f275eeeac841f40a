"""The film as written: frozen nodes lowered from the parse tree, each knowing its source span."""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

from pydantic import Field

from filmc.model import Model, Span


class Text(Model):
    """A string from the spec, unescaped, with where it was written."""

    value: str
    span: Span


class Name(Model):
    """A bare word: a reference to an entity or voice, or a vocabulary word like a camera move."""

    name: str
    span: Span


class Time(Model):
    """A duration or timecode as written, kept exact: `1:05.5` is 131/2 seconds, never a float."""

    seconds: Fraction
    text: str
    span: Span


class Range(Model):
    """`4s..8s`: a length `fit narration` chooses inside, both bounds included, each kept exact as written."""

    low: Time
    high: Time
    text: str
    span: Span


class Number(Model):
    value: float
    text: str
    span: Span


class FrameSpec(Model):
    width: int
    height: int
    fps: Fraction
    span: Span


class Style(Model):
    """The style bible: inline text, or `include "file"` resolved by the checker inside the project."""

    text: Text | None = None
    include: Text | None = None
    span: Span


class Entity(Model):
    """A recurring character or object: one canonical description, reused verbatim in every prompt."""

    name: Name
    description: Text
    images: tuple[Text, ...] = ()
    span: Span


class Voice(Model):
    """A narrator as the director describes them; profiles map the name to a service's voice."""

    name: Name
    description: Text
    span: Span


class PaletteStop(Model):
    at: Time
    name: Name
    colors: tuple[Text, ...]
    span: Span


class MusicCue(Model):
    at: Time
    description: Text
    instruments: Text | None = None
    intensity: Number | None = None
    span: Span


class Music(Model):
    """One continuous track: described by cues for a generator, or a file the user made elsewhere."""

    cues: tuple[MusicCue, ...] = ()
    file: Text | None = None
    span: Span


class Spoken(Model):
    kind: Literal["spoken"] = "spoken"
    text: str
    emphasis: bool = False


class Pause(Model):
    kind: Literal["pause"] = "pause"
    seconds: Fraction


# How long a `[breath]` lasts wherever it is timed or voiced: the reading estimate, SSML, inserted silence.
BREATH_SECONDS = 0.35


class Breath(Model):
    kind: Literal["breath"] = "breath"  # lasts BREATH_SECONDS; no docstring: it would change the plan schema


NarrationPart = Spoken | Pause | Breath


class NarrationBeat(Model):
    """A voice-over line: `say +1s "text [pause 0.8s] *parola*" tone "..." pace slow`."""

    text: Text
    parts: tuple[NarrationPart, ...]
    start: Time | None = None
    start_mode: Literal["after", "relative", "absolute"] = "after"
    voice: Name | None = None
    tone: Text | None = None
    pace: Name | Number | None = None
    pause_after: Time | None = None
    span: Span


class Transition(Model):
    """A change at a cut: `in` at the segment's first cut, `out` at its last; None when written without one."""

    kind: Name
    duration: Time | None = None
    direction: Literal["in", "out"] | None = None
    span: Span


class Shot(Model):
    """One generated clip (or a user clip): the unit a video backend renders."""

    duration: Time
    description: Text
    camera: Name | None = None
    light: Text | None = None
    mood: Text | None = None
    entities: tuple[Name, ...] = ()
    transition_in: Transition | None = None
    transition_out: Transition | None = None    # written `out`, or with no direction
    clip: Text | None = None
    beats: tuple[NarrationBeat, ...] = ()
    span: Span
    # `shot 4s..8s`: the bounds the fit keeps it in; `duration` is then the range's middle, its planned length.
    # Absent from the IR's JSON when the length is a single time, so films without ranges read the same.
    range: Range | None = Field(default=None, exclude_if=lambda r: r is None)


class Scene(Model):
    """A story unit; its length is its shots' and, if declared, must agree with them (or, fitted, hold them)."""

    kind: Literal["scene"] = "scene"
    title: Text
    duration: Time | None = None
    shots: tuple[Shot, ...]
    beats: tuple[NarrationBeat, ...] = ()
    span: Span
    # `scene "x" 10s..20s`: the bounds its fitted length stays in; absent from the JSON when not written
    range: Range | None = Field(default=None, exclude_if=lambda r: r is None)
    # where `fit narration` was written in it; absent from the JSON when it wasn't
    fit: Span | None = Field(default=None, exclude_if=lambda s: s is None)


class Card(Model):
    """A title card or the end credits: drawn by the assembler, never generated."""

    kind: Literal["title", "credits"]
    duration: Time
    lines: tuple[Text, ...]
    transition_in: Transition | None = None
    transition_out: Transition | None = None
    span: Span


class Expectation(Model):
    """`expect …`: what the rendered film must be, as written; the checker judges the words, not the parser."""

    form: Literal["measure", "none", "claim"]   # `loudness -16 LUFS ±1`; `no black > 0.5s`; `every line subtitled`
    measure: Name                       # `loudness`, `black`, `every-line-subtitled`: claims are joined by `-`
    compare: Name | None = None         # `<=`, `>`, as written
    value: Number | Time | None = None  # a time as written (`2:00`, `0.5s`), else a number, signed (`-16`)
    unit: Name | None = None
    tolerance: Number | Time | None = None   # `±1`, `+-0.5s`: text keeps the sign as written
    within: Name | None = None
    text: str                           # the words after `expect`, for reports
    span: Span


class Film(Model):
    title: Text
    language: Name | None = None
    # `translate en, fr`: absent from the IR's JSON when not written, so films without it read the same
    translate: tuple[Name, ...] = Field(default=(), exclude_if=lambda names: not names)
    frame: FrameSpec | None = None
    target: Time | None = None
    by: Text | None = None
    style: Style | None = None
    entities: tuple[Entity, ...] = ()
    voices: tuple[Voice, ...] = ()
    palette: tuple[PaletteStop, ...] = ()
    palette_span: Span | None = None
    music: Music | None = None
    sequence: tuple[Scene | Card, ...] = ()
    # `expect …` lines: absent from the IR's JSON when none is written, like `translate`
    expectations: tuple[Expectation, ...] = Field(default=(), exclude_if=lambda items: not items)
    span: Span
    # `fit narration` in the film block: every scene is fitted; absent from the JSON when not written
    fit: Span | None = Field(default=None, exclude_if=lambda s: s is None)
