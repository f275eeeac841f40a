"""The checked film: absolute times, frames, interpolated palettes and resolved references.

Everything downstream (expansion, the plan, the assembler) reads these and never the raw IR,
so timing is computed in exactly one place.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from filmc.model import Model, Span
from filmc.syntax.ir import NarrationPart


class ResolvedEntity(Model):
    name: str
    description: str
    images: tuple[str, ...] = ()


class TransitionSpec(Model):
    kind: str
    frames: int
    seconds: float


class ResolvedShot(Model):
    """A shot at its place on the timeline; `frames` is its slot from cut point to cut point."""

    kind: Literal["shot"] = "shot"
    id: str
    scene_id: str
    scene_title: str
    number: int
    start_frame: int
    frames: int
    start: float
    end: float
    description: str
    camera: str
    light: str | None = None
    mood: str | None = None
    entities: tuple[ResolvedEntity, ...] = ()
    transition_in: TransitionSpec | None = None
    transition_out: TransitionSpec | None = None
    clip: str | None = None
    palette: tuple[str, ...]
    palette_names: tuple[str, ...] = ()
    span: Span
    written: str | None = None   # its length as typed (`800ms`, `0:07`): frames alone can't say what was rounded


class ResolvedCard(Model):
    kind: Literal["card"] = "card"
    id: str
    style: Literal["title", "credits"]
    lines: tuple[str, ...]
    start_frame: int
    frames: int
    start: float
    end: float
    transition_in: TransitionSpec | None = None
    transition_out: TransitionSpec | None = None
    palette: tuple[str, ...]
    span: Span
    written: str | None = None   # its length as typed, for display only (see ResolvedShot.written)


Segment = ResolvedShot | ResolvedCard


class ResolvedBeat(Model):
    """A narration line placed in time, with the estimate the checker used for its warnings."""

    id: str
    scene_id: str
    text: str
    parts: tuple[NarrationPart, ...]
    voice: str
    voice_description: str
    tone: str | None = None
    pace: float
    start: float
    slot_end: float
    estimated: float
    span: Span


class ResolvedCue(Model):
    index: int
    start: float
    end: float
    description: str
    instruments: str = ""
    intensity: float


class Timeline(Model):
    width: int
    height: int
    fps_num: int
    fps_den: int
    frames: int
    duration: float
    segments: tuple[Segment, ...]
    beats: tuple[ResolvedBeat, ...]
    cues: tuple[ResolvedCue, ...]
    music_file: str | None = None


# What an `expect` line can measure; the claims are named by their words.
Measure = Literal["loudness", "true-peak", "duration", "cost", "black", "silence", "every-line-subtitled",
                  "narration-inside-its-scene"]


class ResolvedExpectation(Model):
    """An `expect` line judged: what to measure and which readings pass. `no black > 0.5s` becomes "the longest
    black run is <= 0.5s", and a claim "the lines that break it are <= 0", so every verdict is one comparison."""

    measure: Measure
    text: str                  # as written after `expect`, for reports
    compare: Literal["=", "<=", "<", ">=", ">"] = "<="
    value: float = 0.0         # in `unit`; seconds for times
    tolerance: float = 0.0     # with `=` only
    unit: str = ""
    within: Literal["film", "narration"] = "film"
    span: Span                 # the whole line: where a failure is reported

    def admits(self, reading: float) -> bool:
        """Whether a measured reading passes; a tolerance is inclusive, as a director reads `±1`."""
        slack = 1e-9   # a reading printed in tenths must not fail on float noise at the very bound
        if self.compare == "=":
            return abs(reading - self.value) <= self.tolerance + slack
        return {"<=": reading <= self.value + slack, "<": reading < self.value,
                ">=": reading >= self.value - slack, ">": reading > self.value}[self.compare]


class FitShot(Model):
    """A shot of a fitted scene: its bounds and planned length (the weight it grows or shrinks by), in frames."""

    shot_id: str
    low: int
    high: int
    planned: int   # as written; a range counts as its middle
    frames: int    # as fitted


class FitLine(Model):
    """A line of a fitted scene as the fit places it: what its start counts from, and how long it lasts."""

    beat_id: str
    anchor: Literal["follow", "scene", "shot"]   # after the line before; `+T` from the scene; `+T` from a shot
    shot: int = 0            # with `shot`: which one, counted from 0 in its scene
    offset: float = 0.0      # seconds from its anchor
    pause_after: float = 0.0
    seconds: float           # how long it is spoken: measured from its voice, or estimated from its text
    measured: bool


class SceneFit(Model):
    """`fit narration` resolved for one scene: everything the fit read, so it can be re-run on measured lengths
    from the plan alone (filmc.check.fit.refit), and what it chose."""

    scene_id: str
    title: str
    low: int          # frames: the scene's own bounds and its shots', intersected
    high: int
    planned: int      # frames as written, before the fit
    needed: float     # seconds the narration needs from the scene's start, pause-after included
    frames: int       # frames as fitted
    shots: tuple[FitShot, ...]
    lines: tuple[FitLine, ...]
    span: Span

    @property
    def provisional(self) -> bool:
        """Some line's length is an estimate from its text: the voice, once made, may fit it otherwise."""
        return not all(line.measured for line in self.lines)


class CheckedFilm(Model):
    """Render's view of the film: what to make and when, with nothing left to look up."""

    path: str
    project_dir: str
    title: str
    language: str
    by: str | None = None
    style: str
    entities: tuple[ResolvedEntity, ...]
    timeline: Timeline
    # `translate en, fr`: absent from the plan's JSON when the film declares none, so its plan reads the same
    translations: tuple[str, ...] = Field(default=(), exclude_if=lambda tags: not tags)
    # `expect …` lines, judged after every render (filmc.verify); absent from the plan's JSON when there are none
    expectations: tuple[ResolvedExpectation, ...] = Field(default=(), exclude_if=lambda items: not items)
    # `fit narration`: each fitted scene's fit; absent from the plan's JSON when no scene is fitted
    fit: tuple[SceneFit, ...] = Field(default=(), exclude_if=lambda fits: not fits)

    @property
    def provisional(self) -> bool:
        """The fit rests on estimated line lengths: render makes the voice first and checks it still holds."""
        return any(f.provisional for f in self.fit)
