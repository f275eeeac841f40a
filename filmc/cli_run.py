"""`filmc compile` and `filmc render`: kept apart from cli.py so `filmc --help` imports nothing heavy."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("compile")
@click.argument("film", type=click.Path(dir_okay=False, path_type=Path))
def compile_command(film: Path) -> None:
    """Show the prompt plan: every prompt, its timing, backend, cost and cache status."""
    raise click.UsageError("`filmc compile` arrives with the plan stage (issue 4); use `filmc check` for now")


@click.command("render")
@click.argument("film", type=click.Path(dir_okay=False, path_type=Path))
def render_command(film: Path) -> None:
    """Render the film: clips, voice-over, music, grade, mix, subtitles."""
    raise click.UsageError("`filmc render` arrives with the render stage (issue 5)")
