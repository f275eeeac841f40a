"""Paid remote jobs through the executor: the ledger, a job the provider loses, two renders at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from filmc.render.ledger import LedgerEntry, spent
from tests.conftest import PLUGINS
from tests.render.test_render import new_project, run, statuses

REMOTE = '[profile.preview.video]\nbackend = "remotevideo"\n'


def calls(root: Path) -> dict[str, int]:
    ledger = root / ".filmc" / "cache" / "remotevideo.calls.json"
    return dict(json.loads(ledger.read_text())) if ledger.exists() else {}


@pytest.fixture
def plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(PLUGINS))


@pytest.mark.usefixtures("plugins")
def test_the_ledger_holds_each_paid_attempt_and_the_providers_charges(tmp_path: Path) -> None:
    film = new_project(tmp_path, edit=("The orb turns", "The orb refused, spins"), toml=REMOTE)
    summary = run(film, max_cost=5)
    ledger = summary.manifest.ledger
    assert {e.job for e in ledger} == {"video:s01-sh01", "video:s02-sh01", "video:s03-sh01"}
    assert [e.basis for e in ledger if e.job == "video:s02-sh01"] == ["estimated", "actual"]  # the 429 cost nothing
    assert calls(tmp_path)["paid"] == 3 and calls(tmp_path)["refused"] == 2  # s02: the 429, then its create
    actual = sum((e.usd for e in ledger if e.basis == "actual"), Decimal(0))
    assert summary.manifest.qa.ledger_usd == actual == spent(ledger)  # actual charges replace the estimates
    again = run(film, max_cost=5)
    assert again.manifest.ledger == () and calls(tmp_path)["paid"] == 3  # cached: nothing paid again


@pytest.mark.usefixtures("plugins")
def test_a_job_the_provider_loses_is_paid_for_again_only_when_asked(tmp_path: Path) -> None:
    film = new_project(tmp_path, edit=("The orb turns", "The orb vanishes"), toml=REMOTE)
    first = statuses(run(film, max_cost=5))
    assert first["video:s02-sh01"] == "failed" and first["mux"] == "skipped"
    paid = calls(tmp_path)["paid"]
    refused = run(film, max_cost=5)
    failed = next(o for o in refused.outcomes if o.job == "video:s02-sh01")
    assert failed.status == "failed" and "--recreate video:s02-sh01" in (failed.error or "")
    assert calls(tmp_path)["paid"] == paid  # not one new create without the user's word
    recreated = statuses(run(film, max_cost=5, recreate=frozenset({"video:s02-*"})))
    assert recreated["video:s02-sh01"] == "made" and recreated["mux"] == "made"
    assert calls(tmp_path)["paid"] == paid + 1


def test_the_ledger_counts_possible_charges_beside_actual_ones() -> None:
    entries = [LedgerEntry(job="a", usd=Decimal("1"), basis="possibly-billed", what="reset"),
               LedgerEntry(job="a", usd=Decimal("1"), basis="estimated", what="created"),
               LedgerEntry(job="a", usd=Decimal("0.8"), basis="actual", what="charged"),
               LedgerEntry(job="b", usd=Decimal("2"), basis="estimated", what="created")]
    assert spent(entries) == Decimal("3.8")


def test_two_renders_of_one_project_make_each_paid_job_once(tmp_path: Path) -> None:
    new_project(tmp_path, edit=("The orb turns", "The orb slowly spins"), toml=REMOTE)  # both renders reach it
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PLUGINS), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "filmc.cli", "render", "hello.film", "--max-cost", "5"]
    first = subprocess.Popen([*command, "--out", "a"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    second = subprocess.Popen([*command, "--out", "b"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    results = [p.communicate(timeout=240) for p in (first, second)]
    assert first.returncode == second.returncode == 0, results
    assert calls(tmp_path)["paid"] == 3  # one create per shot across both processes: the other one waited
    assert any("another render is making this; waiting for it" in err for _, err in results)
    assert (tmp_path / "a" / "hello.mp4").read_bytes() == (tmp_path / "b" / "hello.mp4").read_bytes()


def test_a_key_echoed_by_a_failing_backend_is_redacted_everywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capfd: pytest.CaptureFixture[str]) -> None:
    monkeypatch.syspath_prepend(str(PLUGINS))
    secret = "lk-2c9e7f31-do-not-print"
    monkeypatch.setenv("LEAKY_API_KEY", secret)
    film = new_project(tmp_path, toml='[profile.preview.video]\nbackend = "leakyvideo"\n')
    summary = run(film)
    failed = [o for o in summary.outcomes if o.status == "failed"]
    assert failed and all("[redacted]" in (o.error or "") for o in failed)
    captured = capfd.readouterr()
    assert secret not in captured.out + captured.err
    assert [p for p in tmp_path.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()] == []


@pytest.mark.usefixtures("plugins")
def test_a_job_paid_for_before_a_crash_is_not_in_the_next_budget(tmp_path: Path) -> None:
    """Its id is journalled: the next render only polls it, so --max-cost needs to cover only the rest."""
    from filmc.render.cache import Cache
    from filmc.render.journal import Journal
    from tests.render.test_render import plan_of

    film = new_project(tmp_path, toml=REMOTE)
    with pytest.raises(KeyboardInterrupt):   # the provider has the job for "The orb turns"; filmc dies
        run(film, max_cost=5)
    plan = plan_of(film)
    cache = Cache(tmp_path / ".filmc" / "cache")
    records = Journal(cache.root / "journal.jsonl").records()
    resumed = [j for j in plan.jobs if j.remote and (r := records.get(j.key)) and r.state]
    assert "video:s02-sh01" in {j.id for j in resumed}   # and any sibling created before the crash
    rest = sum((j.estimated_usd for j in plan.jobs if j.remote and j not in resumed
                and cache.meta(j.spec.kind, j.key, ".mp4") is None), Decimal(0))
    summary = run(film, max_cost=rest)   # without the resumed job's estimate: enough
    assert set(statuses(summary).values()) <= {"made", "cached"}
    assert calls(tmp_path)["paid"] == 3   # each shot paid for once


@pytest.mark.usefixtures("plugins")
def test_a_start_with_no_remote_id_is_reported_as_a_possible_orphan(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A crash between sending a create and journalling its id: the provider may hold a job filmc can't see."""
    from filmc.render.journal import Journal
    from tests.render.test_render import plan_of

    film = new_project(tmp_path, edit=("The orb turns", "The orb spins"), toml=REMOTE)   # no crash this time
    job = plan_of(film).job("video:s01-sh01")
    Journal(tmp_path / ".filmc" / "cache" / "journal.jsonl").write("start", job.id, job.key)
    summary = run(film, max_cost=5)
    assert statuses(summary)["video:s01-sh01"] == "made"
    err = capsys.readouterr().err
    assert "note video:s01-sh01" in err and "may have created this job" in err
    assert err.count("may have created") == 1   # for that job only
    possible = [e for e in summary.manifest.ledger if e.basis == "possibly-billed"]
    assert [(e.job, e.usd) for e in possible] == [("video:s01-sh01", job.estimated_usd)]


@pytest.mark.usefixtures("plugins")
def test_a_broken_result_is_not_resumed_forever_and_recreate_replaces_it(tmp_path: Path) -> None:
    """The provider's clip fails verification: polling it again would give the same clip, so the job is
    recorded gone, and only --recreate pays for another."""
    film = new_project(tmp_path, edit=("The orb turns", "The orb garbled"), toml=REMOTE)
    first = run(film, max_cost=5)
    failed = next(o for o in first.outcomes if o.job == "video:s02-sh01")
    assert failed.status == "failed" and "failed verification" in (failed.error or "")
    assert "--recreate video:s02-sh01" in (failed.error or "")
    paid = calls(tmp_path)["paid"]
    assert statuses(run(film, max_cost=5))["video:s02-sh01"] == "failed" and calls(tmp_path)["paid"] == paid
    again = run(film, max_cost=5, recreate=frozenset({"video:s02-sh01"}))
    assert statuses(again)["video:s02-sh01"] == "made" and calls(tmp_path)["paid"] == paid + 1


@pytest.mark.usefixtures("plugins")
def test_a_job_part_paid_still_counts_what_it_may_yet_spend(tmp_path: Path) -> None:
    """A long line whose first chunk is in the ledger may still spend the rest of its estimate: the budget
    counts it, instead of forgetting the job once it has entered anything."""
    from filmc.cli.progress import PlainEvents
    from filmc.pipeline import build_backends
    from filmc.render.cache import Cache
    from filmc.render.run import prepare
    from tests.render.test_render import plan_of

    film = new_project(tmp_path, edit=("The orb turns", "The orb spins"), toml=REMOTE)
    plan = plan_of(film)
    cache = Cache.for_plan(plan, None)
    executor = prepare(plan, build_backends(plan.profile, tmp_path, cache), cache, PlainEvents(), max_cost=Decimal(1))
    executor.in_flight["video:s01-sh01"] = Decimal("0.45")
    executor.ledger.recorder("video:s01-sh01")(Decimal("0.15"), "estimated", "part 1 of 3")
    # $0.15 spent + $0.30 it may yet spend + $0.45 more = $0.90: allowed; $0.60 more is not
    assert executor.budget_refusal(Decimal("0.45"), "this job's") is None
    refusal = executor.budget_refusal(Decimal("0.60"), "this job's")
    assert refusal is not None and "$0.45 is spent or in flight" in refusal
