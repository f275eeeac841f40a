"""`filmc render`'s work: refuse what would overspend or can't be made, run the plan, write the outputs."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from filmc.backend.protocol import Setup
from filmc.deliver.outputs import Manifest, write_outputs
from filmc.errors import UserError
from filmc.model import Model
from filmc.pipeline import ASSEMBLER, instantiate, require_env
from filmc.plan.planner import PLAN_VERSION, Job, Plan, plan_problems
from filmc.render.cache import Cache
from filmc.render.events import EventSink
from filmc.render.executor import Executor, JobOutcome, clean_stale_parts
from filmc.render.journal import Journal

EXIT_USAGE, EXIT_JOB, EXIT_BUDGET = 2, 3, 4


class RenderSummary(Model):
    outcomes: tuple[JobOutcome, ...]
    manifest: Manifest
    out_dir: str

    @property
    def failed(self) -> list[JobOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]


def load_plan(path: Path) -> Plan:
    """A plan file renders exactly as frozen; another version or a hand-broken file is a usage error."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UserError(f"cannot read the plan {path}: {err}", EXIT_USAGE) from None
    if not isinstance(data, dict) or data.get("version") != PLAN_VERSION:
        found = data.get("version") if isinstance(data, dict) else None
        raise UserError(f"{path} is a plan of version {found!r}; this filmc renders version {PLAN_VERSION}. "
                        "Re-run `filmc compile --json` to make a new one.", EXIT_USAGE)
    try:
        plan = Plan.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UserError(f"{path} is not a valid plan ({where}: {first['msg']}); re-run `filmc compile --json`",
                        EXIT_USAGE) from None
    problems = plan_problems(plan)
    if problems:
        raise UserError(f"{path} can't be rendered as it is: {problems[0]}"
                        + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
                        + ". Re-run `filmc compile --json` to make a new plan.", EXIT_USAGE)
    if not Path(plan.project_dir).is_dir():
        raise UserError(f"{path} was made for the project at {plan.project_dir}, which isn't here; compile the "
                        "film again on this machine", EXIT_USAGE)
    return plan


def backends_for(plan: Plan, cache: Cache) -> dict[str, Any]:
    """Backend objects by the name the plan's jobs carry; `ffmpeg` is the assembler, run in-process."""
    by_layer = instantiate(plan.profile, Setup(project_dir=Path(plan.project_dir), cache_dir=cache.root))
    backends = {b.name: b for b in by_layer.values()} | {ASSEMBLER.name: None}
    unknown = sorted({j.backend for j in plan.jobs} - set(backends))
    if unknown:
        raise UserError(f"the plan names backend(s) {', '.join(unknown)} that its profile doesn't use; re-run "
                        "`filmc compile --json`", EXIT_USAGE)
    return backends


def preflight(plan: Plan, todo: list[Job], backends: dict[str, Any], max_cost: Decimal | None) -> None:
    """Before the first job: money is explicit and bounded, and every backend that must work can."""
    cost = sum((j.estimated_usd for j in todo), Decimal(0))
    if cost > 0 and max_cost is None:
        raise UserError(f"this render would spend an estimated ${cost:.2f} on {len(todo)} job(s); nothing is spent "
                        "without a budget: pass --max-cost USD (see `filmc compile` for the breakdown)", EXIT_BUDGET)
    if max_cost is not None and cost > max_cost:
        raise UserError(f"the {len(todo)} job(s) to run are estimated at ${cost:.2f}, over --max-cost "
                        f"${max_cost:.2f}; nothing was started", EXIT_BUDGET)
    unable = sorted({j.backend for j in todo if backends.get(j.backend) is not None
                     and not backends[j.backend].capabilities.renders})
    if unable:
        raise UserError(f"backend(s) {', '.join(unable)} can plan and price but not render in this version; "
                        "render with --profile preview, or supply those layers as files", 1)
    for name in sorted({j.backend for j in todo if j.remote}):
        layer = next(j.layer for j in todo if j.backend == name)
        require_env(backends[name], layer, plan.profile)


async def render(plan: Plan, *, out_dir: Path, events: EventSink, cache_dir: Path | None = None, jobs: int = 4,
                 force: frozenset[str] = frozenset(), max_cost: Decimal | None = None,
                 backoff: float = 1.0) -> RenderSummary:
    try:
        return await _render(plan, out_dir=out_dir, events=events, cache_dir=cache_dir, jobs=jobs, force=force,
                             max_cost=max_cost, backoff=backoff)
    except (PermissionError, NotADirectoryError, FileNotFoundError, IsADirectoryError, OSError) as err:
        where = f" {err.filename}" if getattr(err, "filename", None) else ""
        raise UserError(f"cannot write{where}: {err.strerror or err}. Check --out, --cache and the profile's "
                        "cache_dir.", EXIT_USAGE) from None


async def _render(plan: Plan, *, out_dir: Path, events: EventSink, cache_dir: Path | None, jobs: int,
                  force: frozenset[str], max_cost: Decimal | None, backoff: float) -> RenderSummary:
    from filmc.pipeline import cache_root

    project = Path(plan.project_dir)
    cache = Cache(cache_root(project, plan.profile, cache_dir))
    backends = backends_for(plan, cache)
    journal = Journal(cache.root / "journal.jsonl")
    executor = Executor(plan, backends, cache, journal, events, jobs=jobs, force=force, backoff=backoff)
    unmatched = [p for p in force if not any(j.id == p or Path(j.id).match(p) for j in plan.jobs)]
    if unmatched:
        raise UserError(f"--force {unmatched[0]} matches no job; job ids look like video:s01-sh01, voice:s01-l01, "
                        "music:score, picture, mix, mux (see `filmc compile --json`)", EXIT_USAGE)
    todo = [j for j in plan.jobs if executor.hit(j) is None]
    preflight(plan, todo, backends, max_cost)
    out_dir.mkdir(parents=True, exist_ok=True)  # an unwritable --out fails now, not after the work
    clean_stale_parts(cache)
    try:
        outcomes = await executor.run()
    finally:
        events.close()
    manifest = write_outputs(plan, outcomes, cache, out_dir)
    return RenderSummary(outcomes=tuple(outcomes.values()), manifest=manifest, out_dir=str(out_dir))

