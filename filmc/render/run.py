"""The render stage's one way in: refuse what would overspend or can't be made, then run the plan."""

from __future__ import annotations

from decimal import Decimal

from filmc.backend.registry import Backends
from filmc.plan.model import Plan
from filmc.render.cache import Cache
from filmc.render.events import EventSink
from filmc.render.executor import Executor
from filmc.render.journal import Journal
from filmc.render.outcome import JobOutcome
from filmc.render.preflight import check_backends, check_patterns, preflight


def prepare(plan: Plan, backends: Backends, cache: Cache, events: EventSink, *, jobs: int = 4,
            force: frozenset[str] = frozenset(), recreate: frozenset[str] = frozenset(),
            max_cost: Decimal | None = None, backoff: float = 1.0) -> Executor:
    """Everything that can refuse, before any job starts (raises UsageError, BudgetError or ConfigError)."""
    check_patterns(plan, force, "--force")
    check_patterns(plan, recreate, "--recreate")
    check_backends(plan, backends)
    executor = Executor(plan, backends, cache, Journal(cache.root / "journal.jsonl"), events, jobs=jobs,
                        force=force, recreate=recreate, max_cost=max_cost, backoff=backoff)
    preflight(plan, [j for j in plan.jobs if executor.hit(j) is None], backends, max_cost, resumed=executor.resumed)
    return executor


async def run(executor: Executor) -> dict[str, JobOutcome]:
    """Every job's outcome; a failed job fails its dependents, not the render."""
    executor.cache.clean_stale_parts()
    try:
        return await executor.run()
    finally:
        executor.events.close()
