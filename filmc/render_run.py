"""`filmc render`'s work: refuse what would overspend or can't be made, run the plan, write the outputs."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from filmc.backend import Setup
from filmc.cache import Cache
from filmc.compile import ASSEMBLER, instantiate, require_env
from filmc.errors import UserError
from filmc.events import EventSink
from filmc.exports import Manifest, write_outputs
from filmc.journal import Journal
from filmc.model import Model
from filmc.plan import PLAN_VERSION, Job, Plan
from filmc.render import Executor, JobOutcome, clean_stale_parts

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
        return Plan.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UserError(f"{path} is not a valid plan ({where}: {first['msg']}); re-run `filmc compile --json`",
                        EXIT_USAGE) from None


def backends_for(plan: Plan, cache: Cache) -> dict[str, Any]:
    """Backend objects by the name the plan's jobs carry; `ffmpeg` is the assembler, run in-process."""
    by_layer = instantiate(plan.profile, Setup(project_dir=Path(plan.project_dir), cache_dir=cache.root))
    return {b.name: b for b in by_layer.values()} | {ASSEMBLER.name: None}


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
    from filmc.compile import cache_root

    project = Path(plan.project_dir)
    cache = Cache(cache_root(project, plan.profile, cache_dir))
    backends = backends_for(plan, cache)
    journal = Journal(cache.root / "journal.jsonl")
    executor = Executor(plan, backends, cache, journal, events, jobs=jobs, force=force, backoff=backoff)
    todo = [j for j in plan.jobs if executor.hit(j) is None]
    preflight(plan, todo, backends, max_cost)
    clean_stale_parts(cache)
    try:
        outcomes = await executor.run()
    finally:
        events.close()
    manifest = write_outputs(plan, outcomes, cache, out_dir)
    return RenderSummary(outcomes=tuple(outcomes.values()), manifest=manifest, out_dir=str(out_dir))

