"""`filmc compile` and `filmc render`: kept apart from cli.py so `filmc --help` imports nothing heavy."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import click

from filmc.cli.common import MONEY, ExitCode, format_option, guarded
from filmc.perf import run_sync

if TYPE_CHECKING:
    from filmc.plan.model import Plan

profile_option = click.option("--profile", "-p", "profile_name", default="preview", show_default=True,
                              help="Which backends make each layer: `preview` (offline, free), `final` (real "
                              "services), or one defined in filmc.toml.")
draft_option = click.option("--draft/--full", "draft", default=None,
                            help="--draft: a quick look, the picture at half size with the fastest encode "
                            "(sound and timing unchanged), written as <title>.draft.mp4 beside the full film; "
                            "--full: full quality even where the profile sets `draft = true`.")
lang_option = click.option("--lang", "language", default=None, metavar="LANG",
                           help="The film in another language (a BCP 47 tag, e.g. en): its narration translated "
                           "(Claude with --profile final; offline the lines stay as written, marked "
                           "untranslated) or taken from <film>.<LANG>.lines beside it; every clip and the music "
                           "are the original's. Need not be in the film's `translate` line. `render` also takes "
                           "several, `--lang it,en` or `--lang all` (the film's language and its `translate` "
                           "ones): each rendered in turn, then <title>.it+en.mp4 with a sound and subtitle track "
                           "per language.")
cache_option = click.option("--cache", "cache_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                            help="Cache folder (default: .filmc/cache beside the film, or $FILMC_CACHE).")


@click.command("compile")
@click.argument("film", type=click.Path(dir_okay=False, path_type=Path))
@profile_option
@click.option("--json", "as_json", is_flag=True,
              help="Print the Plan as JSON (render it later: filmc render plan.json).")
@click.option("--full", is_flag=True, help="Print whole prompts and voice markup, not excerpts.")
@click.option("--max-cost", type=MONEY, default=None, metavar="USD",
              help="Exit 4 if the uncached jobs would cost more than this.")
@click.option("--storyboard", is_flag=False, flag_value="", default=None, metavar="[PATH]",
              type=click.Path(dir_okay=False, path_type=str),
              help="Also write the HTML storyboard: to PATH (write --storyboard=PATH before FILM), or "
              "beside where render puts the film, out/<title>/<title>.storyboard.html.")
@click.option("--draft/--no-draft", "draft", default=None,   # not render's --draft/--full: --full is compile's own
              help="Plan the --draft picture, as `filmc render --draft` makes it; --no-draft: full quality even "
              "where the profile sets `draft = true`.")
@lang_option
@cache_option
@format_option
@guarded
def compile_command(film: Path, profile_name: str, as_json: bool, full: bool, max_cost: Decimal | None,
                    storyboard: str | None, draft: bool | None, language: str | None, cache_dir: Path | None,
                    output_format: str) -> None:
    """Show the prompt plan: every prompt, its timing, backend, cost and cache status.

    Nothing is generated; with the `final` profile, prompts are written by Claude (cached, so an
    unchanged film recompiles for free).

    \b
    Examples:
      filmc compile films/entropy.film
      filmc compile --full films/entropy.film | less -R
      filmc compile --profile final --json films/entropy.film > plan.json
      filmc compile films/entropy.film --storyboard
      filmc compile films/entropy.film --lang en       # the English lines, each marked where it came from
    """
    from filmc.cli.ui import console, print_diagnostics
    from filmc.errors import BudgetError
    from filmc.pipeline import compile_film

    plan, warnings = run_sync(compile_film(film, profile_name, cache_dir=cache_dir, display=str(film),
                                              max_cost=max_cost, draft=draft, language=language))
    if warnings and output_format == "text" and not as_json:
        from filmc.cli.common import sources_for

        print_diagnostics(warnings, sources_for(warnings))
    if as_json:
        click.echo(plan.model_dump_json(indent=1))
        if plan.film.provisional:   # stdout is the plan alone; the reviewer still hears it
            click.echo("note: this plan is fitted to its narration as estimated from the text (provisional): "
                       "`filmc render` makes the voice first and refuses it if the voice fits otherwise; render "
                       "the film once (or compile again after) for a plan fitted to the voice as made", err=True)
    else:
        from filmc.cli.plan_view import print_plan

        print_plan(plan, console(), full=full)
    if storyboard is not None:  # before the budget check: an over-budget plan is worth reading too
        _write_storyboard(plan, Path(storyboard) if storyboard else None, cache_dir, quiet=as_json)
    if max_cost is not None and plan.estimated_usd > max_cost:
        raise BudgetError(f"the uncached jobs are estimated at ${plan.estimated_usd:.2f}, over --max-cost "
                          f"${max_cost:.2f}")


def _write_storyboard(plan: Plan, path: Path | None, cache_dir: Path | None, *, quiet: bool) -> None:
    """Thumbnails come from clips already in the cache; `quiet` keeps stdout the plan's JSON alone."""
    from filmc.deliver.outputs import output_name
    from filmc.deliver.storyboard import write_storyboard
    from filmc.errors import UsageError
    from filmc.pipeline import default_out_dir
    from filmc.render.cache import Cache

    target = path or default_out_dir(plan) / f"{output_name(plan)}.storyboard.html"   # a draft's: .draft.storyboard
    try:
        write_storyboard(plan, target, cache=Cache.for_plan(plan, cache_dir))
    except OSError as err:
        raise UsageError(f"cannot write the storyboard {target}: {err.strerror or err}") from None
    click.echo(f"storyboard: {target}", err=quiet)


@click.command("schema")
@click.argument("what", type=click.Choice(["plan"]), default="plan")
def schema_command(what: str) -> None:
    """Print the JSON Schema of the Plan (also in docs/plan.schema.json)."""
    from filmc.plan.model import Plan

    click.echo(json.dumps(Plan.model_json_schema(), indent=1, sort_keys=True))


@click.command("render")
@click.argument("source", metavar="FILM|PLAN", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("more", metavar="[FILM|PLAN]...", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@profile_option
@click.option("--out", "-o", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (default: out/<title>/ beside the film).")
@click.option("--max-cost", type=MONEY, default=None, metavar="USD",
              help="Refuse to start (exit 4) if the jobs to run would cost more. Required to spend anything.")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Jobs working at once, across layers; a paid job waiting on its provider doesn't count "
              "(each layer and provider also has its profile's limit).")
@click.option("--force", multiple=True, metavar="JOB",
              help="Re-make these jobs even if cached (ids or globs: video:s01-*, voice:*). Repeatable.")
@click.option("--recreate", multiple=True, metavar="JOB",
              help="Pay for a new remote job where the provider failed or lost the last one (ids or globs). "
              "Without it such a job fails rather than spend twice. Repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Progress and the result as JSON lines on stdout.")
@click.option("--executor", default=None, metavar="local|ray|ray://HOST:PORT",
              help="Where jobs run: this process (local, the default), or Ray: `ray` joins RAY_ADDRESS's cluster "
              "or starts one here, `ray://HOST:PORT` a remote one (pip install 'filmc[ray]'; docs/scale.md). "
              "Default: the profile's `executor`.")
@click.option("--keep-clips", is_flag=True, default=None,
              help="Also make each previz shot's clip file (cached, and in the timeline's media/ for an editor); "
              "without it the animatic is drawn inside the picture pass and the timeline cuts the picture.")
@draft_option
@lang_option
@cache_option
@format_option
@guarded
def render_command(source: Path, profile_name: str, out_dir: Path | None, max_cost: Decimal | None, jobs: int,
                   force: tuple[str, ...], recreate: tuple[str, ...], as_json: bool, keep_clips: bool | None,
                   draft: bool | None, language: str | None, cache_dir: Path | None, output_format: str,
                   executor: str | None = None, more: tuple[Path, ...] = ()) -> Decimal | None:
    """Render the film: clips, voice-over, music, graded, mixed, subtitled; plus a timeline and manifest.

    FILM is a .film file (compiled first, like `filmc compile`) or a plan.json from
    `filmc compile --json`, rendered exactly as it was reviewed. Finished assets are cached:
    a re-run makes only what changed, and Ctrl-C loses nothing that was finished.

    \b
    Writes OUT/<title>.mp4, .srt, .vtt, .otio (with media/), .storyboard.html, manifest.json;
    with --draft OUT/<title>.draft.mp4, .draft.srt, … and manifest.draft.json.
    \b
    Examples:
      filmc render films/entropy.film
      filmc render --draft films/entropy.film
      filmc render films/entropy.film --force 'voice:*'
      filmc render films/entropy.film --lang en    # entropy.en.mp4, .en.srt…: only its voice is new
      filmc compile --profile final --json films/entropy.film > plan.json
      filmc render plan.json --max-cost 25
      filmc render films/*.film --executor ray     # several films at once, shared jobs made once
    """
    if more:   # several films: rendered together, each to out/<title>/ beside it (filmc/cli/many.py)
        from filmc.cli.many import render_many

        render_many((source, *more), profile_name=profile_name, out_dir=out_dir, max_cost=max_cost, jobs=jobs,
                    force=force, recreate=recreate, as_json=as_json, keep_clips=keep_clips, draft=draft,
                    language=language, cache_dir=cache_dir, output_format=output_format, executor=executor)
        return None
    from filmc.cli.languages import render_languages, several

    if several(language):   # --lang it,en or all: this command once per language, then one MP4 with them all
        assert language is not None
        render_languages(click.get_current_context(), source, language)
        return None
    from filmc.cli.progress import make_sink
    from filmc.pipeline import compile_film, default_out_dir, remaining_budget, render_film
    from filmc.plan.verify import load_plan
    from filmc.render.ledger import spent

    expanded = Decimal(0)   # what this command's own compile paid Claude (a plan.json's was paid before)
    if source.suffix == ".json":
        plan = load_plan(source)
        if draft is not None and draft != plan.profile.draft:
            from filmc.errors import UsageError

            raise UsageError(f"{source} was compiled {'without' if draft else 'with'} --draft, and a plan is rendered "
                             f"as it was reviewed: compile it again with {'--draft' if draft else '--no-draft'}")
        if language is not None and language.lower() != plan.film.language.lower():
            from filmc.errors import UsageError

            raise UsageError(f"{source} is the film in `{plan.film.language}`, and a plan is rendered as it was "
                             f"reviewed: compile it with --lang {language} --json for a plan in that language")
    else:
        plan, _ = run_sync(compile_film(source, profile_name, cache_dir=cache_dir, display=str(source),
                                        max_cost=max_cost, for_render=True, draft=draft, keep_clips=keep_clips,
                                        language=language))
        expanded = plan.expansion.usd
        max_cost = remaining_budget(max_cost, expanded)
    target = out_dir or default_out_dir(plan)
    summary = run_sync(render_film(plan, out_dir=target, events=make_sink(as_json), cache_dir=cache_dir, jobs=jobs,
                                   force=frozenset(force), recreate=frozenset(recreate), max_cost=max_cost,
                                   executor_name=executor))
    if as_json:
        click.echo(json.dumps({"event": "finished", **summary.manifest.qa.model_dump(mode="json"),
                               "outputs": {k: str(target / v) for k, v in summary.manifest.outputs.items()}}))
    else:
        from filmc.cli.qa import print_report
        from filmc.cli.ui import console

        print_report(summary, console())
    if summary.failed:
        sys.exit(ExitCode.JOB_FAILED)
    if summary.unmet:   # the film and its assets are kept: only the verdict differs
        from filmc.cli.qa import report_unmet

        report_unmet(summary, output_format)
        sys.exit(ExitCode.EXPECTATIONS)
    # what this command spent, for `--lang it,en` (cli/languages.py): the next language gets only what is left
    return expanded + spent(summary.manifest.ledger)
