"""How a Plan reads on a terminal: the timeline, the narration, the music, then what it will cost."""

from __future__ import annotations

from typing import TYPE_CHECKING

from filmc.check.resolved import ResolvedShot
from filmc.plan.model import MusicSpec, Plan, VideoSpec, VoiceSpec
from filmc.timecode import format_clock

if TYPE_CHECKING:
    from rich.console import Console


def _excerpt(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _tick(cached: bool) -> str:
    return "[green]✓[/]" if cached else "[red]✗[/]"


def print_plan(plan: Plan, out: Console, *, full: bool = False) -> None:
    from rich.markup import escape
    from rich.table import Table

    tl = plan.film.timeline
    out.print(f"[bold]{escape(plan.film.title)}[/] — {format_clock(tl.duration)}, {tl.width}x{tl.height} @ "
              f"{tl.fps_num / tl.fps_den:g} fps, {tl.frames} frames, profile [bold]{plan.profile.name}[/]")
    shots = {s.id: s for s in tl.segments if isinstance(s, ResolvedShot)}
    table = Table(title="Shots", show_lines=full, expand=True)
    wrap = {} if full else {"no_wrap": True, "overflow": "ellipsis"}
    for col, kw in (("scene", {"max_width": 16, **wrap}), ("shot", {"no_wrap": True}), ("time", {"no_wrap": True}),
                    ("backend", {"no_wrap": True}), ("prompt", {"ratio": 1, "min_width": 20, **wrap}),
                    ("est.", {"justify": "right", "no_wrap": True}), ("✓", {"justify": "center"})):
        table.add_column(col, **kw)
    for job, video in plan.specs(VideoSpec):
        shot = shots[video.shot_id]
        prompt = video.request.prompt if full else _excerpt(video.request.prompt, 70)
        table.add_row(escape(shot.scene_title), shot.id, format_clock(shot.start),
                      f"{job.backend} {video.request.seconds:g}s", escape(prompt), f"${job.estimated_usd:.2f}",
                      _tick(job.cached))
    out.print(table)
    lines = Table(title="Narration", expand=True)
    for col in ("line", "at", "text", "direction", "est.", "✓"):
        lines.add_column(col, ratio=1 if col in ("text", "direction") else None,
                         justify="center" if col == "✓" else "left", no_wrap=col not in ("text", "direction"))
    for job, voice in plan.specs(VoiceSpec):
        req = voice.request
        direction = ", ".join(x for x in (req.tone, f"pace {req.pace:g}" if req.pace != 1 else "") if x)
        text = req.markup if full else _excerpt(req.text, 60)
        lines.add_row(voice.beat_id, format_clock(voice.start), escape(text), escape(direction),
                      f"{job.seconds:.1f}s", _tick(job.cached))
    out.print(lines)
    print_music(plan, out)
    print_totals(plan, out)


def print_music(plan: Plan, out: Console) -> None:
    from rich.markup import escape

    scores = plan.specs(MusicSpec)
    if not scores:
        out.print("Music: none")
        return
    music, spec = scores[0]
    req = spec.request
    if req.source_file:
        out.print(f"Music: file {escape(req.source_file)} {_tick(music.cached)}")
        return
    out.print(f"Music ({music.backend}, {format_clock(req.duration)}) {_tick(music.cached)}")
    for s in req.sections:
        out.print(f"  {format_clock(s.start)}–{format_clock(s.end)}  {escape(s.prompt)}")


def print_totals(plan: Plan, out: Console) -> None:
    exp = plan.expansion
    if exp.calls or exp.usd:
        out.print(f"Expansion: {exp.expander} {exp.model}, {exp.calls} call(s), {exp.input_tokens} tokens in, "
                  f"{exp.output_tokens} out, ${exp.usd:.2f}")
    todo = [j for j in plan.jobs if not j.cached]
    out.print(f"[bold]{len(todo)} of {len(plan.jobs)} jobs to run, est. ${plan.estimated_usd:.2f}[/]"
              + (f" (${plan.total_usd:.2f} with nothing cached)" if plan.total_usd != plan.estimated_usd else ""))
