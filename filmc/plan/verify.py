"""A plan file in, a Plan that is safe to render out: every key recomputed, every dependency in order.

An edited plan would file a new asset under an old key, so render refuses any plan whose keys do
not match their jobs; another version or a hand-broken file is a usage error that says to recompile.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from filmc.errors import UsageError
from filmc.keys import content_key
from filmc.plan.model import PLAN_VERSION, Job, JobKey, Plan, key_options, keyed

RECOMPILE = "Re-run `filmc compile --json` to make a new plan"


def job_key(plan: Plan, job: Job, inputs: tuple[str, ...]) -> str:
    """The key a job must have, given its inputs' keys: the planner's own rule, recomputed."""
    return content_key(JobKey(backend=job.backend, backend_version=job.backend_version, model=job.model,
                              options=key_options(plan.profile, job.layer, job.backend), spec=keyed(job.spec),
                              inputs=inputs))


def plan_problems(plan: Plan) -> list[str]:
    """What makes a plan unsafe to render: a key that doesn't match its job, a dependency that is
    missing or comes later (or loops), or a missing final job."""
    problems: list[str] = []
    keys: dict[str, str] = {}
    for job in plan.jobs:
        missing = [d for d in job.deps if d not in keys]
        if missing:
            problems.append(f"job {job.id} depends on {', '.join(missing)}, which no earlier job makes")
            continue
        expected = job_key(plan, job, tuple(keys[d] for d in job.deps) + job.files)
        if job.key != expected:
            problems.append(f"job {job.id}'s key does not match its contents (was the plan edited?)")
        keys[job.id] = expected
    for needed in ("picture", "mix", "mux"):
        if needed not in keys:
            problems.append(f"the plan has no `{needed}` job")
    return problems


def load_plan(path: Path) -> Plan:
    """A plan file renders exactly as frozen; another version or a hand-broken file is a usage error."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UsageError(f"cannot read the plan {path}: {err}") from None
    if not isinstance(data, dict) or data.get("version") != PLAN_VERSION:
        found = data.get("version") if isinstance(data, dict) else None
        raise UsageError(f"{path} is a plan of version {found!r}; this filmc renders version {PLAN_VERSION}. "
                         f"{RECOMPILE}.")
    try:
        plan = Plan.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UsageError(f"{path} is not a valid plan ({where}: {first['msg']}). {RECOMPILE}.") from None
    problems = plan_problems(plan)
    if problems:
        raise UsageError(f"{path} can't be rendered as it is: {problems[0]}"
                         + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
                         + f". {RECOMPILE}.")
    if not Path(plan.project_dir).is_dir():
        raise UsageError(f"{path} was made for the project at {plan.project_dir}, which isn't here; compile the "
                         "film again on this machine")
    return plan
