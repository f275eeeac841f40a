"""`filmc compile` and `filmc render`: kept apart from cli.py so `filmc --help` imports nothing heavy."""

from __future__ import annotations

import asyncio
import json
import sys
from decimal import Decimal
from pathlib import Path

import click

from filmc.cli_common import EXIT_BUDGET, guarded

profile_option = click.option("--profile", "-p", "profile_name", default="preview", show_default=True,
                              help="Which backends make each layer: `preview` (offline, free), `final` (real "
                              "services), or one defined in filmc.toml.")
cache_option = click.option("--cache", "cache_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                            help="Cache folder (default: .filmc/cache beside the film, or $FILMC_CACHE).")
from filmc.cli_common import format_option  # noqa: E402


@click.command("compile")
@click.argument("film", type=click.Path(dir_okay=False, path_type=Path))
@profile_option
@click.option("--json", "as_json", is_flag=True,
              help="Print the Plan as JSON (render it later: filmc render plan.json).")
@click.option("--full", is_flag=True, help="Print whole prompts and voice markup, not excerpts.")
@click.option("--max-cost", type=Decimal, default=None, metavar="USD",
              help="Exit 4 if the uncached jobs would cost more than this.")
@cache_option
@format_option
@guarded
def compile_command(film: Path, profile_name: str, as_json: bool, full: bool, max_cost: Decimal | None,
                    cache_dir: Path | None, output_format: str) -> None:
    """Show the prompt plan: every prompt, its timing, backend, cost and cache status.

    Nothing is generated; with the `final` profile, prompts are written by Claude (cached, so an
    unchanged film recompiles for free).

    \b
    Examples:
      filmc compile films/entropy.film
      filmc compile --full films/entropy.film | less -R
      filmc compile --profile final --json films/entropy.film > plan.json
    """
    from filmc.compile import compile_film
    from filmc.errors import UserError
    from filmc.ui import console, print_diagnostics

    plan, warnings = asyncio.run(compile_film(film, profile_name, cache_dir=cache_dir, display=str(film)))
    if warnings and output_format == "text" and not as_json:
        from filmc.cli_common import sources_for

        print_diagnostics(warnings, sources_for(warnings))
    if as_json:
        click.echo(plan.model_dump_json(indent=1))
    else:
        from filmc.report import print_plan

        print_plan(plan, console(), full=full)
    if max_cost is not None and plan.estimated_usd > max_cost:
        raise UserError(f"the uncached jobs are estimated at ${plan.estimated_usd:.2f}, over --max-cost "
                        f"${max_cost:.2f}", EXIT_BUDGET)


@click.command("schema")
@click.argument("what", type=click.Choice(["plan"]), default="plan")
def schema_command(what: str) -> None:
    """Print the JSON Schema of the Plan (also in docs/plan.schema.json)."""
    from filmc.plan import Plan

    click.echo(json.dumps(Plan.model_json_schema(), indent=1, sort_keys=True))


@click.command("render")
@click.argument("film", type=click.Path(dir_okay=False, path_type=Path))
def render_command(film: Path) -> None:
    """Render the film: clips, voice-over, music, grade, mix, subtitles."""
    click.echo("`filmc render` arrives with the render stage", err=True)
    sys.exit(2)
