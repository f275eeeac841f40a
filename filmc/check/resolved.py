"""The checked film: absolute times, frames, interpolated palettes and resolved references.

Everything downstream (expansion, the plan, the assembler) reads these and never the raw IR,
so timing is computed in exactly one place.
"""

from __future__ import annotations

from typing import Literal

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
