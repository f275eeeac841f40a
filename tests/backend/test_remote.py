"""The remote-job loop: created once, journalled before any wait, failures classified, nothing paid twice."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from pathlib import Path

import pytest

from filmc.backend.protocol import BackendError, CostBasis, RemoteState, RenderContext
from filmc.backend.remote import CreateError, Pacing, Progress, RemoteGone, run_remote

FAST = Pacing(first_poll=1.0, steady_for=2.0, poll_factor=2.0, max_poll=4.0, create_backoff=1.0)


class FakeJob:
    """A provider scripted call by call; `calls` records what filmc asked, in order."""

    provider = "fakeprov"
    estimated_usd = Decimal("0.50")

    def __init__(self, creates: list[CreateError | None], polls: list[Progress], *, findable: bool = False) -> None:
        self.creates, self.polls, self.findable = creates, polls, findable
        self.calls: list[str] = []

    async def create(self) -> RemoteState:
        self.calls.append("create")
        outcome = self.creates.pop(0)
        if outcome is not None:
            raise outcome
        return RemoteState(provider=self.provider, operation=f"op-{self.calls.count('create')}")

    async def poll(self, state: RemoteState) -> Progress:
        self.calls.append(f"poll {state.operation}")
        return self.polls.pop(0)

    async def download(self, state: RemoteState, done: Progress, out: Path) -> None:
        self.calls.append(f"download {state.operation}")
        out.write_bytes(b"clip")

    async def find(self) -> RemoteState | None:
        self.calls.append("find")
        return RemoteState(provider=self.provider, operation="op-found") if self.findable else None


class Recorder:
    """The executor's side of the context: what was journalled, billed and slept."""

    def __init__(self, job: FakeJob) -> None:
        self.job = job
        self.ledger: list[tuple[Decimal, CostBasis]] = []
        self.sleeps: list[float] = []

    def context(self, tmp_path: Path, **extra: object) -> RenderContext:
        def journal(state: RemoteState) -> None:
            self.job.calls.append(f"journal {state.operation}")

        def cost(usd: Decimal, basis: CostBasis, what: str) -> None:
            self.ledger.append((usd, basis))

        return RenderContext(workdir=tmp_path, journal_remote=journal, record_cost=cost, **extra)  # type: ignore[arg-type]

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


RUNNING = Progress(status="running", progress=0.5)
DONE = Progress(status="done")


def make(job: FakeJob, tmp_path: Path, **extra: object) -> tuple[Recorder, RemoteState]:
    rec = Recorder(job)
    state = asyncio.run(run_remote(job, tmp_path / "out.mp4", rec.context(tmp_path, **extra), pacing=FAST,
                                   sleep=rec.sleep))
    return rec, state


def test_created_once_and_journalled_before_the_first_poll(tmp_path: Path) -> None:
    job = FakeJob([None], [RUNNING, RUNNING, DONE])
    rec, state = make(job, tmp_path)
    assert job.calls == ["create", "journal op-1", "poll op-1", "poll op-1", "poll op-1", "download op-1"]
    assert rec.ledger == [(Decimal("0.50"), "estimated")] and state.operation == "op-1"
    assert (tmp_path / "out.mp4").read_bytes() == b"clip"


def test_a_known_job_is_polled_never_created(tmp_path: Path) -> None:
    job = FakeJob([], [DONE])
    rec, _ = make(job, tmp_path, known_remote=RemoteState(provider="fakeprov", operation="op-old"))
    assert job.calls == ["poll op-old", "download op-old"] and rec.ledger == []


def test_polling_is_dense_then_backs_off_and_honours_retry_after(tmp_path: Path) -> None:
    job = FakeJob([None], [RUNNING, RUNNING, Progress(status="queued", retry_after=7.0), RUNNING, RUNNING, DONE])
    rec, _ = make(job, tmp_path)
    assert rec.sleeps[:2] == [pytest.approx(1.0, abs=0.11)] * 2   # steady while a short clip may be finishing
    assert rec.sleeps[2] == 7.0                                    # the server's wish
    assert 4.0 <= rec.sleeps[3] <= 4.4 and 4.0 <= rec.sleeps[4] <= 4.4   # then backed off, up to the ceiling


def test_a_refused_create_waits_as_asked_and_costs_nothing(tmp_path: Path) -> None:
    job = FakeJob([CreateError("429", outcome="not_created", retry_after=3.0), None], [DONE])
    rec, _ = make(job, tmp_path)
    assert job.calls.count("create") == 2 and rec.sleeps[0] == 3.0
    assert rec.ledger == [(Decimal("0.50"), "estimated")]


def test_an_ambiguous_create_is_reconciled_where_the_provider_lists_jobs(tmp_path: Path) -> None:
    job = FakeJob([CreateError("502 after send", outcome="ambiguous")], [DONE], findable=True)
    rec, state = make(job, tmp_path)
    assert job.calls == ["create", "find", "journal op-found", "poll op-found", "download op-found"]
    assert rec.ledger == [(Decimal("0.50"), "possibly-billed")] and state.operation == "op-found"


def test_an_ambiguous_create_is_retried_once_and_every_attempt_is_in_the_ledger(tmp_path: Path) -> None:
    job = FakeJob([CreateError("reset", outcome="ambiguous"), None], [DONE])
    rec, _ = make(job, tmp_path)
    assert job.calls.count("create") == 2
    assert [basis for _, basis in rec.ledger] == ["possibly-billed", "estimated"]
    again = FakeJob([CreateError("reset", outcome="ambiguous"), CreateError("reset", outcome="ambiguous")], [])
    with pytest.raises(BackendError, match="2 attempt\\(s\\), each possibly billed"):
        make(again, tmp_path)
    assert again.calls.count("create") == 2  # create_retries=1: never a third


def test_no_clip_is_bought_onto_a_full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A paid answer that can't be stored is money thrown away: with too little room nothing is sent."""
    import shutil
    from types import SimpleNamespace

    from filmc.backend import remote

    monkeypatch.setattr(shutil, "disk_usage", lambda path: SimpleNamespace(free=remote.MIN_FREE_BYTES - 1))
    job = FakeJob([None], [DONE])
    with pytest.raises(BackendError, match=r"MB is free on the disk holding .*nothing was sent or billed"):
        make(job, tmp_path)
    assert job.calls == []
    monkeypatch.undo()
    make(job, tmp_path)
    assert job.calls[0] == "create"


def test_a_fatal_create_fails_at_once(tmp_path: Path) -> None:
    job = FakeJob([CreateError("content policy", outcome="fatal")], [])
    with pytest.raises(BackendError, match="refused the job: content policy"):
        make(job, tmp_path)
    assert job.calls == ["create"]


def test_a_job_the_provider_fails_is_gone_not_retried(tmp_path: Path) -> None:
    job = FakeJob([None], [RUNNING, Progress(status="failed", detail="moderation")])
    with pytest.raises(RemoteGone, match="op-1 failed: moderation"):
        make(job, tmp_path)
    assert job.calls.count("create") == 1


def test_the_deadline_stops_waiting_but_keeps_the_job(tmp_path: Path) -> None:
    job = FakeJob([None], [RUNNING] * 5)
    with pytest.raises(BackendError, match="journalled: render again"):
        make(job, tmp_path, deadline=time.monotonic() + 0.5)
    assert job.calls[:2] == ["create", "journal op-1"]


def test_the_providers_own_charge_goes_in_the_ledger(tmp_path: Path) -> None:
    job = FakeJob([None], [Progress(status="done", actual_usd=Decimal("0.42"))])
    rec, _ = make(job, tmp_path)
    assert rec.ledger == [(Decimal("0.50"), "estimated"), (Decimal("0.42"), "actual")]


def test_a_job_lends_its_jobs_slot_only_while_it_waits(tmp_path: Path) -> None:
    """The create and the download are work; the polls are waiting, done outside the --jobs limit."""
    from collections.abc import AsyncIterator
    from contextlib import asynccontextmanager

    job = FakeJob([None], [RUNNING, DONE])

    @asynccontextmanager
    async def idle() -> AsyncIterator[None]:
        job.calls.append("lend")
        yield
        job.calls.append("take back")

    make(job, tmp_path, idle=idle)
    assert job.calls == ["create", "journal op-1", "lend", "poll op-1", "poll op-1", "take back", "download op-1"]


def test_one_429_holds_back_every_job_sent_to_that_provider(tmp_path: Path) -> None:
    from filmc.backend.protocol import Cooldown

    now = [100.0]
    cooldown = Cooldown(clock=lambda: now[0])

    def run(job: FakeJob) -> list[float]:
        rec = Recorder(job)

        async def sleep(seconds: float) -> None:   # the clock moves as the loop sleeps
            rec.sleeps.append(seconds)
            now[0] += seconds

        asyncio.run(run_remote(job, tmp_path / "out.mp4", rec.context(tmp_path, cooldown=cooldown), pacing=FAST,
                               sleep=sleep))
        return rec.sleeps

    refused = FakeJob([CreateError("429", outcome="not_created", retry_after=7.0), None], [DONE])
    assert run(refused)[0] == 7.0 and cooldown.until == 107.0   # its own Retry-After, now the provider's
    now[0] = 103.0                                               # a sibling, sent 3 s after that 429
    sibling = FakeJob([None], [DONE])
    assert run(sibling)[0] == 4.0 and sibling.calls[0] == "create"   # waited out the rest, then sent once
    assert sibling.calls.count("create") == 1


def test_an_ambiguous_create_is_not_sent_again_past_the_budget(tmp_path: Path) -> None:
    job = FakeJob([CreateError("503 after send", outcome="ambiguous"), None], [DONE])

    def may_spend(usd: Decimal) -> str | None:
        return f"over --max-cost by ${usd}"

    with pytest.raises(BackendError, match="over --max-cost"):
        make(job, tmp_path, create_retries=3, may_spend=may_spend)
    assert job.calls.count("create") == 1   # the possibly billed attempt is not paid for a second time


class FlakyReads(FakeJob):
    """Polls and downloads that fail now and then, as networks do; the create is never repeated for them."""

    def __init__(self, poll_faults: int, download_faults: int) -> None:
        super().__init__([None], [RUNNING, Progress(status="done", actual_usd=Decimal("0.40"))] * 4)
        self.poll_faults, self.download_faults = poll_faults, download_faults

    async def poll(self, state: RemoteState) -> Progress:
        if self.poll_faults:
            self.poll_faults -= 1
            self.calls.append("poll failed")
            raise BackendError("Server disconnected without sending a response", transient=True)
        return await super().poll(state)

    async def download(self, state: RemoteState, done: Progress, out: Path) -> None:
        if self.download_faults:
            self.download_faults -= 1
            self.calls.append("download cut")
            raise BackendError("download cut short", transient=True)
        await super().download(state, done, out)


def test_blips_while_waiting_and_fetching_are_ridden_out_without_a_new_create(tmp_path: Path) -> None:
    job = FlakyReads(poll_faults=3, download_faults=2)
    rec, _ = make(job, tmp_path)
    assert job.calls.count("create") == 1 and job.calls.count("download cut") == 2
    assert job.calls[-1] == "download op-1" and (tmp_path / "out.mp4").read_bytes() == b"clip"
    assert [basis for _, basis in rec.ledger].count("actual") == 1   # charged once, however often it was asked


def test_a_connection_that_stays_down_fails_the_attempt_not_the_job_s_money(tmp_path: Path) -> None:
    job = FlakyReads(poll_faults=100, download_faults=0)
    with pytest.raises(BackendError, match="disconnected") as err:
        make(job, tmp_path)
    assert err.value.transient and job.calls.count("poll failed") == FAST.max_transient + 1
    assert job.calls.count("create") == 1
