"""The render stage's one way in: refuse what would overspend or can't be made, then run the plan."""

from __future__ import annotations

import asyncio
from decimal import ROUND_DOWN, Decimal
from typing import Protocol

from filmc.backend.registry import Backends
from filmc.errors import BudgetError
from filmc.plan.model import Job, Plan
from filmc.render.cache import Cache
from filmc.render.events import EventSink
from filmc.render.executor import Executor
from filmc.render.journal import Journal
from filmc.render.ledger import Ledger
from filmc.render.outcome import AssetMeta, JobOutcome
from filmc.render.preflight import check_backends, check_patterns, preflight


class RenderExecutor(Protocol):
    """What runs a Plan's jobs: in this process (`Executor`, the default) or on a Ray cluster (`RayExecutor`).
    Either keeps the journal, the ledger and the budget here; only where the assets are made differs."""

    cache: Cache
    events: EventSink
    ledger: Ledger
    resumed: frozenset[str]   # paid jobs an earlier render created, only polled now

    def hit(self, job: Job) -> AssetMeta | None: ...

    async def run(self) -> dict[str, JobOutcome]: ...


def prepare(plan: Plan, backends: Backends, cache: Cache, events: EventSink, *, jobs: int = 4,
            force: frozenset[str] = frozenset(), recreate: frozenset[str] = frozenset(),
            max_cost: Decimal | None = None, backoff: float = 1.0, executor: str = "local",
            shared: dict[str, asyncio.Task[JobOutcome]] | None = None) -> RenderExecutor:
    """Everything that can refuse, before any job starts (raises UsageError, BudgetError or ConfigError).
    `executor`: `local`, `ray` or `ray://HOST:PORT` (Ray is connected to when the run starts, not here).
    `shared`: jobs in flight by key, one dict for every film of a render of several on one cache."""
    check_patterns(plan, force, "--force")
    check_patterns(plan, recreate, "--recreate")
    check_backends(plan, backends)
    journal = Journal(cache.root / "journal.jsonl")
    chosen: RenderExecutor
    if executor == "local":
        chosen = Executor(plan, backends, cache, journal, events, jobs=jobs, force=force, recreate=recreate,
                          max_cost=max_cost, backoff=backoff, shared=shared)
    else:
        from filmc.render.ray_executor import RayExecutor, parse_executor

        chosen = RayExecutor(plan, backends, cache, journal, events, address=parse_executor(executor) or "",
                             jobs=jobs, force=force, recreate=recreate, max_cost=max_cost, backoff=backoff,
                             shared=shared)
    preflight(plan, [j for j in plan.jobs if chosen.hit(j) is None], backends, max_cost, resumed=chosen.resumed)
    return chosen


async def run(executor: RenderExecutor) -> dict[str, JobOutcome]:
    """Every job's outcome; a failed job fails its dependents, not the render."""
    executor.cache.clean_stale_parts()
    try:
        return await executor.run()
    finally:
        executor.events.close()


def budget_shares(max_cost: Decimal | None, estimates: list[Decimal]) -> list[Decimal | None]:
    """`--max-cost` for several films at once: refused if their estimates together pass it, else split in
    proportion to them (rounded down to the cent), so that no film's overrun can spend another's money."""
    if max_cost is None:
        return [None] * len(estimates)
    total = sum(estimates, Decimal(0))
    if total > max_cost:
        raise BudgetError(f"the {len(estimates)} films' jobs to run are estimated at ${total:.2f} together, over "
                          f"--max-cost ${max_cost:.2f}; nothing was started")
    if total == 0:
        return [Decimal(0)] * len(estimates)
    return [(max_cost * e / total).quantize(Decimal("0.01"), rounding=ROUND_DOWN) for e in estimates]
