"""The one-screen QA report a render ends with."""

from __future__ import annotations

from typing import TYPE_CHECKING

from filmc.timecode import format_clock

if TYPE_CHECKING:
    from rich.console import Console

    from filmc.deliver.outputs import RenderSummary


def print_report(summary: RenderSummary, out: Console) -> None:
    from rich.markup import escape
    from rich.table import Table

    qa = summary.manifest.qa
    table = Table(title=f"{escape(summary.manifest.title)} — QA", show_header=False, expand=False)
    table.add_column("", style="bold")
    table.add_column("")
    off = abs(qa.duration - qa.planned_duration)
    table.add_row("duration", f"{format_clock(qa.duration)} (planned {format_clock(qa.planned_duration)})"
                  + ("" if off < 0.05 else f" [red]off by {off:.2f}s[/]"))
    if qa.integrated_lufs is not None:
        ok = abs(qa.integrated_lufs - qa.loudness_target) <= 1
        table.add_row("loudness", f"{qa.integrated_lufs:.1f} LUFS (target {qa.loudness_target:g})"
                      + ("" if ok else " [red]off target[/]"))
    if qa.true_peak_dbtp is not None:
        table.add_row("true peak", f"{qa.true_peak_dbtp:.1f} dBTP")
    overruns = ", ".join(f"{o.line} +{o.needed - o.slot:.1f}s" for o in qa.overruns) or "none"
    table.add_row("narration overruns", overruns)
    drawn = f", {qa.drawn} drawn in the picture" if qa.drawn else ""
    table.add_row("jobs", f"{qa.made} made, {qa.cached} cached{drawn}, {qa.failed} failed of {qa.jobs}")
    table.add_row("cost", f"${qa.usd:.2f} estimated" + (f", ${qa.ledger_usd:.2f} in the ledger (billed or possibly "
                                                        "billed; see manifest.json)" if qa.ledger_usd else ""))
    for result in qa.expectations:   # each `expect` line of the film, as measured on the delivered file
        verdict = "[green]pass[/]" if result.passed else "[red]FAIL[/]"
        table.add_row(f"expect {escape(result.expectation.text)}", f"{verdict} {escape(result.measured)}")
    for name, file in summary.manifest.outputs.items():
        table.add_row(name, escape(f"{summary.out_dir}/{file}"))
    out.print(table)
    for outcome in summary.failed:
        out.print(f"[red]failed[/] {outcome.job}: {escape(outcome.error or '')}")


def report_unmet(summary: RenderSummary, output_format: str) -> None:
    """Each `expect` line the delivered film doesn't meet, as a diagnostic at that line (F0810)."""
    from filmc.cli.common import report
    from filmc.diagnostics import FilmError
    from filmc.verify import failures

    report(FilmError(failures(summary.unmet)), output_format)
