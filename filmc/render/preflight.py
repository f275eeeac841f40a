"""Before the first job: money is explicit and bounded, and every backend that must work can."""

from __future__ import annotations

from decimal import Decimal
from pathlib import PurePath

from filmc.backend.registry import Backends, require_env
from filmc.errors import BudgetError, ConfigError, UsageError
from filmc.plan.model import Job, Plan
from filmc.render.jobs import kind_of


def check_patterns(plan: Plan, patterns: frozenset[str], flag: str) -> None:
    """A `--force` or `--recreate` pattern that matches nothing is a typo, not a no-op: say so before rendering."""
    unmatched = [p for p in sorted(patterns) if not any(j.id == p or PurePath(j.id).match(p) for j in plan.jobs)]
    if unmatched:
        raise UsageError(f"{flag} {unmatched[0]} matches no job; job ids look like video:s01-sh01, voice:s01-l01, "
                         "music:score, picture, mix, mux (see `filmc compile --json`)")


def check_backends(plan: Plan, backends: Backends) -> None:
    """Every media job names a backend of this profile: a plan can't smuggle in another."""
    unknown = sorted({j.backend for j in plan.jobs
                      if not kind_of(j.spec).assembly and backends.media(j.backend) is None})
    if unknown:
        raise UsageError(f"the plan names backend(s) {', '.join(unknown)} that its profile doesn't use; re-run "
                         "`filmc compile --json`")


def preflight(plan: Plan, todo: list[Job], backends: Backends, max_cost: Decimal | None, *,
              resumed: frozenset[str] = frozenset()) -> None:
    """Refuse, before anything starts: spending without a budget or over it, a backend that can only
    plan, a missing API key. A `resumed` job was created (and paid for) by an earlier render: it is only
    polled now, so it costs nothing more."""
    cost = sum((j.estimated_usd for j in todo if j.id not in resumed), Decimal(0))
    if cost > 0 and max_cost is None:
        raise BudgetError(f"this render would spend an estimated ${cost:.2f} on {len(todo)} job(s); nothing is spent "
                          "without a budget: pass --max-cost USD (see `filmc compile` for the breakdown)")
    if max_cost is not None and cost > max_cost:
        raise BudgetError(f"the {len(todo)} job(s) to run are estimated at ${cost:.2f}, over --max-cost "
                          f"${max_cost:.2f}; nothing was started")
    made_by = {j.backend: backends.media(j.backend) for j in todo if not kind_of(j.spec).assembly}
    unable = sorted(name for name, backend in made_by.items()
                    if backend is not None and not backend.capabilities.renders)
    if unable:
        raise ConfigError(f"backend(s) {', '.join(unable)} can plan and price but not render in this version; "
                          "render with --profile preview, or supply those layers as files")
    paid = sorted({j.backend: j for j in todo if j.remote}.values(), key=lambda j: j.backend)
    require_env([(backend, job.layer) for job in paid if (backend := made_by[job.backend]) is not None],
                plan.profile.name)
