"""The budget holds during the render: once what is spent, possibly billed and in flight reaches --max-cost,
no new job is sent, and the refusal says what was spent."""

from __future__ import annotations

import asyncio
from pathlib import Path

from filmc.cli.progress import PlainEvents
from filmc.pipeline import compile_film, render_film
from tests.fakes.gemini_fake import FailAfterCreating, FakeGemini
from tests.filmc_backends.final import hello_project
from tests.filmc_backends.test_gemini_omni import fake, profile  # noqa: F401


def test_a_cap_reached_mid_render_stops_new_submissions(fake: FakeGemini, tmp_path: Path) -> None:  # noqa: F811
    film = hello_project(tmp_path, profile("concurrency = 1"))   # the shots go one after another
    plan, _ = asyncio.run(compile_film(film, "final"))
    budget = plan.estimated_usd   # exactly the estimate: enough, unless something costs more than planned
    fake.create_script.append(FailAfterCreating())   # shot 1's first create is made, billed and not confirmed
    summary = asyncio.run(render_film(plan, out_dir=tmp_path / "out", events=PlainEvents(), max_cost=budget,
                                      backoff=0.01))
    status = {o.job: o for o in summary.outcomes}
    assert status["video:s01-sh01"].status == status["video:s02-sh01"].status == "made"
    refused = status["video:s03-sh01"]
    spent = 2 * plan.job("video:s01-sh01").estimated_usd + plan.job("video:s02-sh01").estimated_usd
    assert refused.status == "failed" and (refused.error or "").startswith(f"not submitted: ${spent:.2f} is spent")
    assert f"--max-cost ${budget:.2f}" in (refused.error or "")
    assert len(fake.creates) == 3   # shot 1 twice (the unconfirmed one counts), shot 2; never shot 3
