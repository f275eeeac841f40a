"""`filmc test`: render each film (cached, as `filmc render` does) and judge its `expect` lines, for people
(a table), machines (`--json`) and CI (`--junit`)."""

from __future__ import annotations

import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import click

from filmc.cli.common import MONEY, ExitCode, format_option, guarded
from filmc.cli.run import cache_option, draft_option, profile_option
from filmc.perf import run_sync

if TYPE_CHECKING:
    from filmc.cli.verdicts import FilmVerdict
    from filmc.deliver.outputs import RenderSummary


@click.command("test")
@click.argument("films", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@profile_option
@click.option("--max-cost", type=MONEY, default=None, metavar="USD",
              help="Refuse to start (exit 4) if a film's jobs to run would cost more. Required to spend anything.")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Jobs working at once while a film renders.")
@click.option("--junit", "junit", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="PATH",
              help="Also write a JUnit XML report: a test suite per film, a test case per `expect` line.")
@click.option("--json", "as_json", is_flag=True, help="Print the verdicts as one JSON document on stdout.")
@draft_option
@cache_option
@format_option
@guarded
def test_command(films: tuple[Path, ...], profile_name: str, max_cost: Decimal | None, jobs: int,
                 junit: Path | None, as_json: bool, draft: bool | None, cache_dir: Path | None,
                 output_format: str) -> None:
    """Render each film (cached: only what changed is made) and check its `expect` lines.

    Exit 0 when every expectation passes, 5 when one fails (each is reported at its line), 1 when a
    film has a spec error, 3 when a render job failed. The films and their assets are kept either way.

    \b
    Examples:
      filmc test films/*.film
      filmc test --junit report.xml films/entropy.film
      filmc test --json films/hello.film
    """
    from filmc.cli.qa import report_unmet
    from filmc.cli.ui import console
    from filmc.cli.verdicts import Verdicts, exit_code, junit_xml, print_table

    verdicts: list[FilmVerdict] = []
    codes: list[ExitCode] = []
    for film in films:
        verdict, code, summary = _test_one(film, profile_name, max_cost, jobs, draft, cache_dir, output_format)
        verdicts.append(verdict)
        if code is not None:
            codes.append(code)
        if summary is not None and summary.unmet:
            report_unmet(summary, "text" if as_json else output_format)
    report = Verdicts(films=tuple(verdicts), expectations=sum(len(v.expectations) for v in verdicts),
                        failed=sum(not r.passed for v in verdicts for r in v.expectations),
                        errors=sum(v.status == "error" for v in verdicts))
    if junit is not None:
        from filmc.files import write_text_atomic

        write_text_atomic(junit, junit_xml(report))
    if as_json:
        click.echo(report.model_dump_json(indent=1))
    else:
        print_table(report, console())
    sys.exit(exit_code(verdicts, codes))


def _test_one(film: Path, profile_name: str, max_cost: Decimal | None, jobs: int, draft: bool | None,
              cache_dir: Path | None, output_format: str) -> tuple[FilmVerdict, ExitCode | None, RenderSummary | None]:
    """The render path `filmc render` takes; a spec error or a failed job is this film's verdict, not the run's
    end, so one broken film doesn't hide the others' results."""
    from filmc.cli.common import report
    from filmc.cli.progress import make_sink
    from filmc.cli.verdicts import FilmVerdict
    from filmc.diagnostics import FilmError
    from filmc.pipeline import compile_film, default_out_dir, remaining_budget, render_film

    started = time.monotonic()
    try:
        plan, _ = run_sync(compile_film(film, profile_name, cache_dir=cache_dir, display=str(film),
                                        max_cost=max_cost, for_render=True, draft=draft))
    except FilmError as err:
        report(err, output_format)
        return (FilmVerdict(film=str(film), status="error", error=err.diagnostics[0].message
                            if err.diagnostics else str(err)), ExitCode.SPEC, None)
    target = default_out_dir(plan)
    summary = run_sync(render_film(plan, out_dir=target, events=make_sink(False), cache_dir=cache_dir, jobs=jobs,
                                   max_cost=remaining_budget(max_cost, plan.expansion.usd)))
    seconds = round(time.monotonic() - started, 3)
    results = summary.manifest.qa.expectations
    common = {"film": str(film), "title": plan.film.title, "seconds": seconds, "out_dir": str(target),
              "expectations": results}
    if summary.failed:
        error = "; ".join(f"{o.job} failed: {o.error or 'no message'}" for o in summary.failed)
        return FilmVerdict(status="error", error=error, **common), ExitCode.JOB_FAILED, summary
    return FilmVerdict(status="failed" if summary.unmet else "passed", **common), None, summary
