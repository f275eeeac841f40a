"""How a translated plan's lines read on a terminal: each line's original, what will be spoken, and where it came
from, so a director reviews (and overrides, in `<film>.<lang>.lines`) before any voice is paid for."""

from __future__ import annotations

from typing import TYPE_CHECKING

from filmc.plan.model import Plan

if TYPE_CHECKING:
    from rich.console import Console

_STATUS = {"translated": "[green]translated[/]", "untranslated": "[yellow]untranslated[/]",
           "override": "[cyan]override[/]"}


def print_translation(plan: Plan, out: Console, *, full: bool = False) -> None:
    """One row per line: its id (what an override names), budget, original, the spoken text and its status."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    t = plan.translation
    if t is None:
        return
    counts = {s: sum(1 for line in t.lines if line.status == s) for s in _STATUS}
    said = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    table = Table(title=f"Translation {t.source_language} → {t.language} ({escape(t.translator)}): {said}",
                  caption=f"override any line in {escape(t.overrides or _overrides_hint(plan))}, as `id: text`",
                  box=box.SIMPLE_HEAD, expand=True, pad_edge=False, padding=(0, 0, 0, 1))
    for col in ("line", "budget", t.source_language, t.language, "from"):
        wide = col in (t.source_language, t.language)
        table.add_column(col, no_wrap=not (full and wide), ratio=2 if wide else None, overflow="ellipsis")
    long = 0
    for line in t.lines:
        over = line.estimated > line.budget + 0.05
        long += over
        budget = f"[red]≈{line.estimated:.1f}/{line.budget:.1f}s[/]" if over else f"{line.budget:.1f}s"
        table.add_row(line.beat_id, budget, escape(line.source), escape(line.text), _STATUS[line.status])
    out.print(table)
    if long:
        out.print(f"  [red]{long} line(s) may not fit their budget[/] (≈ needed / budget): shorten them in the "
                  "override file, or the voice will run into the next line", highlight=False)
    if counts["untranslated"]:
        out.print(f"  [yellow]{counts['untranslated']} line(s) keep the {t.source_language} words[/]: translate "
                  f"with --profile final (Claude), or write them in the override file", highlight=False)


def _overrides_hint(plan: Plan) -> str:
    """Where the override file goes: beside the film, named `<film>.<lang>.lines`."""
    from pathlib import PurePath

    source = PurePath(plan.source)
    assert plan.translation is not None
    return str(source.with_name(f"{source.stem}.{plan.translation.language}.lines"))
