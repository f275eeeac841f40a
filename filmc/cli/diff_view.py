"""How a PlanDiff reads on a terminal: `terraform plan`'s shape (+ added, ~ changed, - removed), word diffs.

On a colour terminal removed words are red and struck through and added words green; piped or with
NO_COLOR they are marked `[-old-]{+new+}` like `git diff --word-diff=plain`, so the diff survives a log.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from filmc.plan.diff import FieldChange, JobChange, PlanDiff, Words

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

SIGN = {"added": ("+", "green"), "removed": ("-", "red"), "changed": ("~", "yellow")}
CONTEXT = 6   # words kept each side of a change in a long unchanged run, so a prompt edit fits on screen
# Derived from `spec.request.text` (the voice markup, the parsed parts): shown only when the text itself is not.
FOLLOWS_TEXT = ("spec.request.markup", "spec.request.parts")
# An added job shows what it makes and when, not every field it has (--json has them all).
ADDED_SHOWN = ("model", "seconds", "spec.start", "spec.request.prompt", "spec.request.text",
               "spec.request.source_file")


def print_diff(diff: PlanDiff, out: Console) -> None:
    """Every job that differs with what differs in it, then the counts and the money."""
    from rich.text import Text

    colour = out.color_system is not None and not out.no_color
    profile = diff.new_profile if diff.old_profile == diff.new_profile else f"{diff.old_profile} → {diff.new_profile}"
    head = Text.assemble((diff.old_source, "bold"), " → ", (diff.new_source, "bold"), f" (profile {profile})")
    out.print(head, highlight=False, soft_wrap=False, overflow="fold")   # long paths fold at the terminal's width
    for job in diff.jobs:
        out.print()
        print_job(job, out, colour=colour)
    if diff.jobs:
        out.print()
    print_fits(diff, out)
    print_summary(diff, out)


def print_fits(diff: PlanDiff, out: Console) -> None:
    """`fit narration`: each fitted scene whose length moved, and the film's length, before the counts."""
    if diff.frames is None or not diff.fits:
        return

    def seconds(frames: int | None, fps: float) -> str:
        return "—" if frames is None else f"{frames / fps:.2f}s"

    for fit in diff.fits:
        note = " (provisional: estimated from the text)" if fit.provisional else ""
        out.print(f"fitted {fit.scene_id} {fit.title}: {seconds(fit.old_frames, fit.fps)} → "
                  f"{seconds(fit.new_frames, fit.fps)}{note}", highlight=False)
    old, new = diff.frames
    out.print(f"film: {old} → {new} frames ({(new - old) / diff.fits[0].fps:+.2f}s)", highlight=False)


def print_job(job: JobChange, out: Console, *, colour: bool) -> None:
    from rich.table import Table
    from rich.text import Text

    sign, style = SIGN[job.change]
    state = "no longer made" if job.change == "removed" else "would re-run" if job.reruns else \
        "cached, would not re-run"
    head = Text(f"{sign} {job.id}", style=f"bold {style}")
    head.append(f"  {job.change} · {job.layer} · {job.backend} · {state} · {cost(job)}", style="")
    out.print(head, highlight=False)
    grid = Table.grid(padding=(0, 1), pad_edge=False)
    grid.add_column(no_wrap=True)
    grid.add_column(ratio=1, overflow="fold")
    if job.change == "changed":
        grid.add_row("    key", Text(f"{short(job.old_key)} → {short(job.new_key)}"))
    elif job.change == "added":
        grid.add_row("    key", Text(short(job.new_key)))
    for change in shown_fields(job):
        grid.add_row(f"    {label(change.path)}", value_text(change, colour))
    if job.inputs:
        grid.add_row("    inputs", Text(f"new keys upstream: {', '.join(job.inputs)}"))
    if grid.row_count:
        out.print(grid, highlight=False)


def cost(job: JobChange) -> str:
    if job.change == "added":
        return f"${job.new_usd or 0:.2f}"
    if job.change == "removed":
        return f"was ${job.old_usd or 0:.2f}"
    if job.old_usd == job.new_usd:
        return f"${job.new_usd or 0:.2f}"
    return f"${job.old_usd or 0:.2f} → ${job.new_usd or 0:.2f}"


def short(key: str | None) -> str:
    """Twelve hex digits tell keys apart on screen; --json has them whole."""
    return key[:12] if key else "none"


def label(path: str) -> str:
    return path.removeprefix("spec.")


def shown_fields(job: JobChange) -> list[FieldChange]:
    """All but the cost (in the header) and what merely follows a changed narration text; of an added job,
    what it makes and when."""
    if job.change == "added":
        return [f for f in job.fields if f.path in ADDED_SHOWN and f.new]
    text_changed = any(f.path == "spec.request.text" for f in job.fields)
    return [f for f in job.fields if f.path != "estimated_usd"
            and not (text_changed and f.path.startswith(FOLLOWS_TEXT))]


def value_text(change: FieldChange, colour: bool) -> Text:
    """A word diff for text, `old → new` for anything else; `none` for a side that lacks the field."""
    from rich.text import Text

    if change.words:
        return words_text(change.words, colour)
    if change.old is None and change.new is not None:
        return Text(change.new)
    return Text(f"{change.old if change.old is not None else 'none'} → "
                f"{change.new if change.new is not None else 'none'}")


def words_text(words: Sequence[Words], colour: bool) -> Text:
    from rich.text import Text

    out = Text()
    for i, run in enumerate(words):
        if out.plain:
            out.append(" ")
        if run.op == "same":
            out.append(trimmed(run.text, first=i == 0, last=i == len(words) - 1))
        elif colour:
            out.append(run.text, style="red strike" if run.op == "removed" else "green")
        else:
            out.append(f"[-{run.text}-]" if run.op == "removed" else f"{{+{run.text}+}}")
    return out


def trimmed(text: str, *, first: bool, last: bool) -> str:
    """An unchanged run cut to CONTEXT words beside each change: the style bible needn't be read twice."""
    words = text.split(" ")
    keep_head = 0 if first else CONTEXT
    keep_tail = 0 if last else CONTEXT
    if len(words) <= keep_head + keep_tail + 1:
        return text
    return " ".join([*words[:keep_head], "…", *words[len(words) - keep_tail:]])


def print_summary(diff: PlanDiff, out: Console) -> None:
    if not diff.jobs:
        out.print(f"No changes: the {diff.unchanged} jobs are the same in both plans.")
    else:
        out.print(f"[bold]Plan: {len(diff.of('added'))} to add, {len(diff.of('changed'))} to change, "
                  f"{len(diff.of('removed'))} to remove[/]; {diff.unchanged} unchanged.")
        runs = diff.reruns
        out.print(f"Would re-run {len(runs)} job(s) not in the cache: est. ${diff.rerun_usd:.2f}"
                  + (f" ({', '.join(j.id for j in runs)})" if 0 < len(runs) <= 6 else "") + ".")
    if diff.pending:
        out.print(f"Also not in the cache, though unchanged: {diff.pending} job(s), est. ${diff.pending_usd:.2f}.")
    sign = "+" if diff.delta_usd >= 0 else "-"
    out.print(f"Whole film, nothing cached: ${diff.old_total_usd:.2f} → ${diff.new_total_usd:.2f} "
              f"({sign}${abs(diff.delta_usd):.2f}).")
