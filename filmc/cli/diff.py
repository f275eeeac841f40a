"""`filmc diff OLD NEW`: what would change, and cost, between two plans or films, before anything is paid for."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from filmc.cli.common import ExitCode, format_option, guarded
from filmc.cli.run import cache_option, lang_option, profile_option
from filmc.perf import run_sync

if TYPE_CHECKING:
    from filmc.plan.model import Plan

# 1 already means a spec error, so "the plans differ" needs a number of its own (`git diff --exit-code` uses 1).
DIFFERS = ExitCode.DIFFERS


@click.command("diff")
@click.argument("old", metavar="OLD", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("new", metavar="NEW", type=click.Path(dir_okay=False, path_type=Path))
@profile_option
@click.option("--json", "as_json", is_flag=True, help="Print the differences as JSON (the PlanDiff model).")
@click.option("--exit-code", "exit_code", is_flag=True,
              help=f"Exit {DIFFERS.value} when the plans differ, 0 when they don't (without it: 0 either way).")
@lang_option
@cache_option
@format_option
@guarded
def diff_command(old: Path, new: Path, profile_name: str, as_json: bool, exit_code: bool, language: str | None,
                 cache_dir: Path | None, output_format: str) -> None:
    """Show what changed between two plans, like `terraform plan` before `apply`.

    OLD and NEW are each a plan (`filmc compile --json` output, a .json file) or a .film file,
    compiled with --profile. Jobs are matched by id: + added, ~ changed (a new content key),
    - removed. For each changed job: its prompt or narration as a word diff, its timings,
    backend and model, its key, and the upstream jobs whose keys changed. Then which jobs
    would re-run (their new key is not in the cache) and what that costs, and the whole
    film's cost before and after. Nothing is generated.

    \b
    Examples:
      filmc compile --json films/entropy.film > before.json
      (edit a narration line in films/entropy.film)
      filmc diff before.json films/entropy.film
      filmc diff -p final before.json after.json
      filmc diff --json old.film new.film | jq '.jobs[].id'
      filmc diff --exit-code before.json films/entropy.film || echo "the film changed"
    \b
    Exit codes: 0 (also when the plans differ, unless --exit-code), 6 the plans differ
    (with --exit-code), 1 a film has errors, 2 a plan file can't be used.
    """
    from filmc.cli.ui import console
    from filmc.plan.diff import diff_plans

    before = _plan_of(old, profile_name, cache_dir, language)
    after = _plan_of(new, profile_name, cache_dir, language)
    diff = diff_plans(before, after, names=(str(old), str(new)))
    if as_json:
        click.echo(diff.model_dump_json(indent=1))
    else:
        from filmc.cli.diff_view import print_diff

        print_diff(diff, console())
    if exit_code and diff.changed:
        sys.exit(DIFFERS)
    sys.exit(ExitCode.OK)


def _plan_of(path: Path, profile_name: str, cache_dir: Path | None, language: str | None = None) -> Plan:
    """A plan file as it was reviewed, its cache status brought up to date; a film compiled as `compile` would."""
    if path.suffix == ".json":
        from filmc.plan.verify import load_plan

        return _cache_now(load_plan(path), cache_dir)
    from filmc.pipeline import compile_film

    plan, _ = run_sync(compile_film(path, profile_name, cache_dir=cache_dir, display=str(path), language=language))
    return plan


def _cache_now(plan: Plan, cache_dir: Path | None) -> Plan:
    """A plan file's `cached` flags are as of its compile; what would re-run depends on the cache today."""
    from filmc.render.cache import Cache
    from filmc.render.jobs import suffix_of

    cache = Cache.for_plan(plan, cache_dir)
    jobs = tuple(j.model_copy(update={"cached": cache.has(j.spec.kind, j.key, suffix_of(j.spec))}) for j in plan.jobs)
    return plan.model_copy(update={"jobs": jobs})
