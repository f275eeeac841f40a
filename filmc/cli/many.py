"""`filmc render A.film B.film …`: several films in one render, their jobs scheduled together (on Ray, across the
cluster), a job they share made once; each film written to out/<title>/ beside it, with its own report."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path

import click

from filmc.cli.common import ExitCode
from filmc.errors import UsageError
from filmc.perf import run_sync


def render_many(sources: tuple[Path, ...], *, profile_name: str, out_dir: Path | None, max_cost: Decimal | None,
                jobs: int, force: tuple[str, ...], recreate: tuple[str, ...], as_json: bool, keep_clips: bool | None,
                draft: bool | None, language: str | None, cache_dir: Path | None, output_format: str,
                executor: str | None) -> None:
    """Compile every film (what expansion spends comes out of the one budget, film after film), then render
    them together; refused as a whole before any job starts."""
    from filmc.cli.languages import several
    from filmc.cli.progress import make_sink
    from filmc.pipeline import compile_film, default_out_dir, remaining_budget, render_films
    from filmc.plan.verify import load_plan
    from filmc.render.cache import Cache
    from filmc.render.fitting import paid_first

    if out_dir is not None:
        raise UsageError("--out names one film's folder; with several films each is written to out/<title>/ "
                         "beside it")
    if several(language):
        raise UsageError("--lang with several languages renders one film at a time; name one film")
    plans = []
    voiced = Decimal(0)   # voices fitted films' compiles made first: `render_films` takes them out of its budget
    for source in sources:
        if source.suffix == ".json":
            plans.append(load_plan(source))
            continue
        plan, _ = run_sync(compile_film(source, profile_name, cache_dir=cache_dir, display=str(source),
                                        max_cost=remaining_budget(max_cost, voiced), for_render=True, draft=draft,
                                        keep_clips=keep_clips, language=language))
        max_cost = remaining_budget(max_cost, plan.expansion.usd)
        voiced += paid_first(plan, Cache.for_plan(plan, cache_dir))   # ... and each next film's compile here
        plans.append(plan)
    targets = [default_out_dir(plan) for plan in plans]
    if len(set(targets)) < len(targets):
        twice = next(str(t) for t in targets if targets.count(t) > 1)
        raise UsageError(f"two of these films would be written to {twice}: render them one at a time with --out")
    summaries = run_sync(render_films(plans, out_dirs=targets, events=make_sink(as_json), cache_dir=cache_dir,
                                      jobs=jobs, force=frozenset(force), recreate=frozenset(recreate),
                                      max_cost=max_cost, executor_name=executor))
    for summary, target in zip(summaries, targets, strict=True):
        if as_json:
            click.echo(json.dumps({"event": "finished", **summary.manifest.qa.model_dump(mode="json"),
                                   "outputs": {k: str(target / v) for k, v in summary.manifest.outputs.items()}}))
        else:
            from filmc.cli.qa import print_report
            from filmc.cli.ui import console

            print_report(summary, console())
    if any(summary.failed for summary in summaries):
        sys.exit(ExitCode.JOB_FAILED)
    for summary in summaries:
        if summary.unmet:
            from filmc.cli.qa import report_unmet

            report_unmet(summary, output_format)
