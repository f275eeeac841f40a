"""The assembly jobs of a plan (picture, mix, mux), each mapping its inputs' cache paths onto `assemble`."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path

from filmc.assemble import (
    Card,
    Encoding,
    Format,
    Loudness,
    NarrationPlacement,
    PictureSegment,
    Transition,
    mix_audio,
    render_picture,
)
from filmc.assemble import mux as mux_streams
from filmc.assemble.drawing import Drawer
from filmc.assemble.video import MapChunks
from filmc.plan.model import MixSpec, PictureSpec
from filmc.render.outcome import JobOutcome


def segments_of(spec: PictureSpec, deps: Mapping[str, JobOutcome], drawers: Mapping[str, Drawer] | None = None,
                textdir: Path | None = None) -> list[PictureSegment]:
    """The plan's segments with the made clips' paths: what the assembler and the OTIO export read.

    A clip with a drawer is drawn in place at the picture's size (its text files in `textdir`), whether or
    not its file was kept, so the picture is the same either way; without drawers, a drawn clip has neither
    file nor drawing (the OTIO export takes it from the picture).
    """
    out = []
    for index, seg in enumerate(spec.segments):
        draw = (drawers or {}).get(seg.video_job or "")
        drawn = draw(spec.width, spec.height, (textdir or Path()) / f"s{index}") if draw else None
        outcome = deps[seg.video_job] if seg.video_job else None
        source = Path(outcome.path) if outcome is not None and outcome.path and drawn is None else None
        card = Card(lines=seg.card_lines, style=seg.card_style) if seg.card_style else None
        into, ending = (Transition(kind=t.kind, frames=t.frames) if t else None
                        for t in (seg.transition_in, seg.transition_out))
        grade = () if spec.grade == "none" else seg.grade
        method = "tint" if spec.grade == "tint" else "lut"
        out.append(PictureSegment(source=source, card=card, drawn=drawn, frames=seg.frames, transition_in=into,
                                  transition_out=ending, grade=grade, grade_method=method))
    return out


def format_of(spec: PictureSpec) -> Format:
    return Format(width=spec.width, height=spec.height, fps_num=spec.fps_num, fps_den=spec.fps_den)


def encoding_of(spec: PictureSpec) -> Encoding:
    """The plan says draft or not; the assembler owns what x264 settings that means."""
    return Encoding.draft() if spec.draft else Encoding()


async def picture(spec: PictureSpec, deps: Mapping[str, JobOutcome], out: Path, work: Path,
                  drawers: Mapping[str, Drawer] | None = None, map_chunks: MapChunks | None = None) -> None:
    segments = segments_of(spec, deps, drawers, work / "drawn")
    await asyncio.to_thread(render_picture, segments, format_of(spec), out, workdir=work, encoding=encoding_of(spec),
                            map_chunks=map_chunks)


def placements(spec: MixSpec, deps: Mapping[str, JobOutcome]) -> list[NarrationPlacement]:
    """Each line with the duration its job recorded, so the mix windows its lines without probing them again."""
    return [NarrationPlacement(wav=Path(deps[job].path or ""), start=start, duration=deps[job].duration or None)
            for job, start in spec.lines]


async def mix(spec: MixSpec, deps: Mapping[str, JobOutcome], out: Path) -> None:
    music = Path(deps[spec.music].path or "") if spec.music else None
    await asyncio.to_thread(mix_audio, placements(spec, deps), music, spec.duration, out, loudness=spec.loudness,
                            true_peak=spec.true_peak)


async def mux(picture: JobOutcome, mix: JobOutcome, out: Path) -> Loudness | None:
    """The film; and the loudness of its sound when the mux could read it as it encoded (see `assemble.mux`)."""
    return await asyncio.to_thread(mux_streams, Path(picture.path or ""), Path(mix.path or ""), out)
