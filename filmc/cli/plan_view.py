"""How a Plan reads on a terminal: the timeline row by row, the narration, the music, then what it costs.

A director decides what to pay for from this, so times read the way they were written: a length typed
`7s` shows `7s`, films of a minute or more show m:ss, and a length filmc had to round to whole frames
(`800ms` at 24 fps) says so in a note instead of showing float noise.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

from filmc.check.resolved import ResolvedCard, ResolvedShot, Segment, TransitionSpec
from filmc.plan.model import Job, MusicSpec, Plan, VideoSpec, VoiceSpec
from filmc.timecode import format_time, parse_time

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

LABEL = 11   # width of a block's field labels ("negative  "), so wrapped text lines up under itself


@dataclass(frozen=True)
class Frames:
    """Whole frames at the film's rate, spelled for people: exact values as written, others to 2 decimals."""

    fps: Fraction
    clock: bool   # m:ss (a film of a minute or more) rather than seconds

    @classmethod
    def of(cls, plan: Plan) -> Frames:
        tl = plan.film.timeline
        return cls(Fraction(tl.fps_num, tl.fps_den), tl.duration >= 60)

    def seconds(self, frames: int) -> Fraction:
        return Fraction(frames) / self.fps

    def at(self, frames: int) -> str:
        """A point on the timeline: `1:05.5` or `4.5s`."""
        value = self.seconds(frames)
        if not self.clock:
            return f"{_decimals(value)}s"
        minutes, rest = divmod(value, 60)
        whole = int(rest)
        text = f"{int(minutes)}:{whole:02d}"
        return text + _decimals(rest)[len(str(whole)):]

    def span(self, start: int, frames: int) -> str:
        return f"{self.at(start)}–{self.at(start + frames)}"

    def length(self, frames: int) -> str:
        """`7s`, `500ms`, `1:05.5` when exact; else rounded to 2 decimals (`6.79s`): never float noise."""
        value = self.seconds(frames)
        return format_time(value) if (value * 1000).denominator == 1 else f"{_decimals(value)}s"

    def as_written(self, frames: int, written: str | None) -> tuple[str, str | None]:
        """(cell, note): the length as typed when the frames are exactly it; else the frames' length, marked
        with `*`, and a note saying what was rounded to what."""
        try:
            typed = parse_time(written) if written else None
        except ValueError:
            typed = None
        if typed is None:   # a transition, or a plan from before lengths were kept as typed
            if (self.seconds(frames) * 1000).denominator == 1:
                return self.length(frames), None
            return f"{self.length(frames)}*", (f"{frames} frames ({float(self.seconds(frames)):.3f}s): its length "
                                               f"was rounded to whole frames at {float(self.fps):g} fps")
        if typed == self.seconds(frames):
            return written or "", None
        note = (f"{written} → {frames} frames ({float(self.seconds(frames)):.3f}s), the nearest whole frame at "
                f"{float(self.fps):g} fps")
        return f"{self.length(frames)}*", note


def _decimals(value: Fraction) -> str:
    """At most two decimals, no trailing zeros: 4, 4.5, 4.79."""
    return f"{float(value):.2f}".rstrip("0").rstrip(".")


def _excerpt(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def state_word(job: Job) -> str:
    """A previz clip the picture pass draws has no file to cache: say so rather than "no"."""
    return "[cyan]drawn[/]" if job.drawn else cached_word(job.cached)


def cached_word(cached: bool) -> str:
    """Words, not ✓/✗: the column is read by people and by screen readers, and survives any font."""
    return "[green]yes[/]" if cached else "[yellow]no[/]"


@dataclass
class TimelineRows:
    """The timeline table's rows being built, and the rounding notes printed under it."""

    table: Table
    frames: Frames
    notes: list[str] = field(default_factory=list)

    def length(self, frames: int, written: str | None, who: str) -> str:
        cell, note = self.frames.as_written(frames, written)
        if note:
            self.notes.append(f"* {who}: {note}")
        return cell


def print_plan(plan: Plan, out: Console, *, full: bool = False) -> None:
    """The whole plan: `full` adds every shot and line as a block with its prompt wrapped to the terminal."""
    from rich.markup import escape

    tl = plan.film.timeline
    frames = Frames.of(plan)
    out.print(f"[bold]{escape(plan.film.title)}[/] — {frames.length(tl.frames)}, {tl.width}x{tl.height} @ "
              f"{float(frames.fps):g} fps, {tl.frames} frames, profile [bold]{escape(plan.profile.name)}[/]")
    print_timeline(plan, out)
    print_fit(plan, out)
    if full:
        print_shot_blocks(plan, out)
        print_line_blocks(plan, out)
    else:
        print_narration(plan, out)
    if plan.translation is not None:
        from filmc.cli.translation_view import print_translation

        print_translation(plan, out, full=full)
    print_music(plan, out, full=full)
    print_totals(plan, out)


def print_timeline(plan: Plan, out: Console) -> None:
    """One row per segment in film order: scenes as headings, shots, cards and the transitions between them."""
    from rich import box
    from rich.table import Table

    frames = Frames.of(plan)
    unit = "m:ss" if frames.clock else "seconds"
    table = Table(title="Timeline", caption=f"start–end in {unit}; lengths as written", box=box.SIMPLE_HEAD,
                  expand=True, pad_edge=False, padding=(0, 0, 0, 1))
    table.add_column("segment", no_wrap=True)
    table.add_column("start–end", no_wrap=True)
    table.add_column("length", no_wrap=True)
    table.add_column("made by", no_wrap=True)
    table.add_column("est.", justify="right", no_wrap=True)
    table.add_column("cached", no_wrap=True)
    table.add_column("what", ratio=1, min_width=8, no_wrap=True, overflow="ellipsis")
    rows = TimelineRows(table, frames)
    videos = {spec.shot_id: (job, spec) for job, spec in plan.specs(VideoSpec)}
    segments = plan.film.timeline.segments
    scene = ""
    for i, seg in enumerate(segments):
        before = segments[i - 1] if i else None
        if seg.transition_in and not (before and before.transition_out == seg.transition_in):
            _transition_row(rows, seg.transition_in, seg.start_frame, f"into {seg.id}")
        elif seg.transition_in and before:
            _transition_row(rows, seg.transition_in, seg.start_frame, f"{before.id} → {seg.id}")
        if isinstance(seg, ResolvedShot) and seg.scene_id != scene:
            scene = seg.scene_id
            _scene_row(rows, plan, seg)
        _segment_row(rows, seg, videos.get(seg.id) if isinstance(seg, ResolvedShot) else None)
        if seg.transition_out and i + 1 == len(segments):
            _transition_row(rows, seg.transition_out, seg.start_frame + seg.frames - seg.transition_out.frames,
                            f"out of {seg.id}")
    out.print(table)
    for note in rows.notes:
        out.print(f"  {note}", highlight=False)


def print_fit(plan: Plan, out: Console) -> None:
    """`fit narration`: each fitted scene and shot, planned → fitted, and whether the voice was measured; a fit
    from estimates says it is provisional, since the render makes the voice first and may fit it otherwise."""
    from rich.markup import escape

    if not plan.film.fit:
        return
    frames = Frames.of(plan)
    how = ("provisional: lines estimated from their text at the voice's pace; render makes the voice first and "
           "fits to it" if plan.film.provisional else "to the voice as made")
    out.print(f"[bold]Fitted to the narration[/] ({how})", highlight=False)
    for fit in plan.film.fit:
        out.print(f"  {fit.scene_id} {escape(fit.title)}: {frames.length(fit.planned)} planned → "
                  f"{frames.length(fit.frames)} fitted (narration {fit.needed:.2f}s; allowed "
                  f"{frames.length(fit.low)}..{frames.length(fit.high)})", highlight=False)
        shots = [f"{s.shot_id} {frames.length(s.planned)} → {frames.length(s.frames)}" for s in fit.shots]
        out.print(f"    {', '.join(shots)}", highlight=False)


def _scene_row(rows: TimelineRows, plan: Plan, first: ResolvedShot) -> None:
    from rich.markup import escape

    shots = [s for s in plan.film.timeline.segments if isinstance(s, ResolvedShot) and s.scene_id == first.scene_id]
    frames = sum(s.frames for s in shots)
    rows.table.add_row(f"[bold]{first.scene_id}[/]", rows.frames.span(first.start_frame, frames),
                       rows.frames.length(frames), "", "", "", f"[bold]{escape(first.scene_title)}[/]")


def _segment_row(rows: TimelineRows, seg: Segment, video: tuple[Job, VideoSpec] | None) -> None:
    from rich.markup import escape

    length = rows.length(seg.frames, seg.written, seg.id)
    span = rows.frames.span(seg.start_frame, seg.frames)
    if isinstance(seg, ResolvedCard):
        rows.table.add_row(seg.id, span, length, f"{seg.style} card", "", "", escape(" / ".join(seg.lines)))
        return
    if video is None:   # a plan with errors can lack the clip; the row still shows the slot
        rows.table.add_row(f"  {seg.id}", span, length, "", "", "", escape(seg.description))
        return
    job, spec = video
    made = f"{job.backend} {rows.frames.length(spec.request.frames)}"
    what = spec.request.source_file or spec.request.prompt
    rows.table.add_row(f"  {seg.id}", span, length, escape(made), f"${job.estimated_usd:.2f}",
                       state_word(job), escape(_excerpt(what, 200)))


def _transition_row(rows: TimelineRows, t: TransitionSpec, start: int, what: str) -> None:
    """A transition's length isn't kept as typed (it is part of the picture's key): a rounded one gets a note."""
    length = rows.length(t.frames, None, f"{t.kind} {what}")
    rows.table.add_row("", rows.frames.span(start, t.frames), length, f"[dim]{t.kind}[/]", "", "",
                       f"[dim]{what}[/]")


def print_narration(plan: Plan, out: Console) -> None:
    """One row per narration line: when it starts, about how long it lasts, what is said and how."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    voices = plan.specs(VoiceSpec)
    if not voices:
        out.print("Narration: none")
        return
    frames = Frames.of(plan)
    table = Table(title="Narration", box=box.SIMPLE_HEAD, expand=True, pad_edge=False, padding=(0, 0, 0, 1))
    for col in ("line", "at", "length", "text", "direction", "est.", "cached"):
        table.add_column(col, no_wrap=True, ratio=2 if col == "text" else 1 if col == "direction" else None,
                         overflow="ellipsis", justify="right" if col == "est." else "left")
    for job, voice in voices:
        at = frames.at(round(voice.start * frames.fps))
        table.add_row(voice.beat_id, at, f"≈{_decimals(Fraction(job.seconds))}s", escape(_flat(voice.request.text)),
                      escape(_direction(voice)), f"${job.estimated_usd:.2f}", cached_word(job.cached))
    out.print(table)


def _flat(text: str) -> str:
    return " ".join(text.split())


def _direction(voice: VoiceSpec) -> str:
    req = voice.request
    return ", ".join(x for x in (req.tone, f"pace {req.pace:g}" if req.pace != 1 else "") if x)


def print_shot_blocks(plan: Plan, out: Console) -> None:
    """Each shot as a header line and its prompts wrapped to the terminal: no table cell squeezes a prompt."""
    frames = Frames.of(plan)
    shots = {s.id: s for s in plan.film.timeline.segments if isinstance(s, ResolvedShot)}
    out.print("\n[bold]Shots[/]")
    for job, video in plan.specs(VideoSpec):
        shot = shots[video.shot_id]
        length, _ = frames.as_written(shot.frames, shot.written)
        head = (f"{shot.id} · {shot.scene_title} · {frames.span(shot.start_frame, shot.frames)} ({length}) · "
                f"{job.backend} {frames.length(video.request.frames)} · ${job.estimated_usd:.2f} · "
                f"{'drawn' if job.drawn else 'cached' if job.cached else 'not cached'}")
        out.print()
        _print_wrapped(out, wrap_head(head, out.width), bold=True)
        req = video.request
        fields: list[tuple[str, str | None]] = [("clip", req.source_file)] if req.source_file else \
            [("prompt", req.prompt), ("negative", req.negative)]
        fields += [("camera", shot.camera), ("light", shot.light), ("mood", shot.mood),
                   ("with", ", ".join(e.name for e in shot.entities))]
        for label, text in fields:
            if text:
                _print_wrapped(out, wrap_field(label, text, out.width))


def print_line_blocks(plan: Plan, out: Console) -> None:
    """Each narration line as a header line, then its text, the markup its voice is sent, its direction."""
    frames = Frames.of(plan)
    voices = plan.specs(VoiceSpec)
    if not voices:
        return
    out.print("\n[bold]Narration[/]")
    for job, voice in voices:
        at = frames.at(round(voice.start * frames.fps))
        head = (f"{voice.beat_id} · at {at} · ≈{_decimals(Fraction(job.seconds))}s · {job.backend} · "
                f"${job.estimated_usd:.2f} · {'cached' if job.cached else 'not cached'}")
        out.print()
        _print_wrapped(out, wrap_head(head, out.width), bold=True)
        req = voice.request
        fields = [("text", req.text), ("markup", req.markup if _flat(req.markup) != _flat(req.text) else ""),
                  ("direction", _direction(voice))]
        for label, text in fields:
            if text:
                _print_wrapped(out, wrap_field(label, text, out.width))


def wrap_head(head: str, width: int) -> list[str]:
    """A block's header line, continued indented when the terminal is too narrow for it."""
    return textwrap.wrap(head, width=max(width, 40), subsequent_indent="    ", break_on_hyphens=False)


def wrap_field(label: str, text: str, width: int) -> list[str]:
    """`  label      text…` with the text wrapped to `width` under itself; words are never split at hyphens."""
    indent = " " * (2 + LABEL)
    lines = textwrap.wrap(_flat(text), width=max(width, 40), initial_indent=f"  {label:<{LABEL}}",
                          subsequent_indent=indent, break_on_hyphens=False)
    return lines or [f"  {label}"]


def _print_wrapped(out: Console, lines: Sequence[str], *, bold: bool = False) -> None:
    """Already wrapped: printed as is (escaped), so rich neither re-wraps nor reads brackets as markup."""
    from rich.text import Text

    for line in lines:
        out.print(Text(line, style="bold" if bold else ""), soft_wrap=True, highlight=False)


def print_music(plan: Plan, out: Console, *, full: bool = False) -> None:
    """The score's cues as written (intensity 0.45 stays 0.45); `full` adds the prompt its backend is sent."""
    from rich.markup import escape

    scores = plan.specs(MusicSpec)
    if not scores:
        out.print("Music: none")
        return
    music, spec = scores[0]
    req = spec.request
    state = f"cached: {cached_word(music.cached)}"
    if req.source_file:
        out.print(f"Music: file {escape(req.source_file)}, {state}")
        return
    frames = Frames.of(plan)
    out.print(f"\n[bold]Music[/] ({music.backend}, {frames.length(plan.film.timeline.frames)}, "
              f"est. ${music.estimated_usd:.2f}, {state})")
    for cue in plan.film.timeline.cues:
        start, end = round(cue.start * frames.fps), round(cue.end * frames.fps)
        what = "; ".join(x for x in (cue.description, cue.instruments, f"intensity {cue.intensity:g}") if x)
        _print_wrapped(out, textwrap.wrap(what, width=max(out.width, 40), break_on_hyphens=False,
                                          initial_indent=f"  {frames.span(start, end - start):<{LABEL + 4}}",
                                          subsequent_indent=" " * (LABEL + 6)))
    if full:
        for i, section in enumerate(req.sections, start=1):
            _print_wrapped(out, wrap_field(f"prompt {i}", section.prompt, out.width))


def print_totals(plan: Plan, out: Console) -> None:
    exp = plan.expansion
    if exp.calls or exp.usd:
        out.print(f"Expansion: {exp.expander} {exp.model}, {exp.calls} call(s), {exp.input_tokens} tokens in, "
                  f"{exp.output_tokens} out, ${exp.usd:.2f}")
    todo = [j for j in plan.jobs if not j.cached and not j.drawn]
    drawn = sum(j.drawn for j in plan.jobs)
    out.print(f"[bold]{len(todo)} of {len(plan.jobs)} jobs to run, est. ${plan.estimated_usd:.2f}[/]"
              + (f" (${plan.total_usd:.2f} with nothing cached)" if plan.total_usd != plan.estimated_usd else "")
              + (f"; {drawn} previz clip(s) drawn in the picture pass" if drawn else ""))
