"""The one loop every paid remote job goes through: create once, journal, poll, download.

A provider adapter says how to create, poll and download one job; this module decides when, how
often and what each failure means, so no provider can pay twice by accident:

- the remote id is journalled (fsynced, by the executor) *before* anything waits on it, and a job
  resumed with a known id is polled, never created again;
- a failed create is classified: not created (429, refused, a 4xx) is retried after the server's
  Retry-After; ambiguous (a 5xx, or a connection lost after the request went out) is reconciled
  where the provider can list its jobs, else retried at most `create_retries` times, each attempt
  recorded in the ledger as possibly billed; fatal fails the job with the provider's reason;
- waiting stops at the deadline, but the id stays in the journal: the next render resumes it;
- a job the provider reports failed or gone raises `RemoteGone`; filmc re-creates it only when the
  user says so (`filmc render --recreate JOB`).

Provider SDKs must be built with their own retries off for creates (they send no idempotency key).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import shutil
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Literal, Protocol

from filmc.backend.capabilities import Pacing
from filmc.backend.protocol import BackendError, CostBasis, RemoteState, RenderContext
from filmc.model import Model

CreateOutcome = Literal["not_created", "ambiguous", "fatal"]


class CreateError(Exception):
    """A create that failed, classified by whether the provider may have started (and billed) the job."""

    def __init__(self, message: str, *, outcome: CreateOutcome, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.retry_after = retry_after


class RemoteGone(BackendError):
    """The provider failed the job or no longer knows it; paying for a new one needs `--recreate`."""


class Progress(Model):
    """One poll's answer, in filmc's words: the provider's states mapped by the adapter."""

    status: Literal["queued", "running", "done", "failed", "gone"]
    progress: float | None = None
    detail: str = ""                    # the provider's reason, for failed jobs
    output_uri: str | None = None
    actual_usd: Decimal | None = None   # what the provider says it charged, where it says
    retry_after: float | None = None    # the provider asked to be polled no sooner


class RemoteJob(Protocol):
    """One job at one provider. `create` is the only call that costs money."""

    provider: str
    estimated_usd: Decimal

    async def create(self) -> RemoteState: ...

    async def poll(self, state: RemoteState) -> Progress: ...

    async def download(self, state: RemoteState, done: Progress, out: Path) -> None: ...

    async def find(self) -> RemoteState | None:
        """The job an ambiguous create may have started, where the provider can list jobs; else None."""
        ...


DEFAULT_PACING = Pacing()
Sleep = Callable[[float], Awaitable[None]]


async def run_remote(job: RemoteJob, out: Path, ctx: RenderContext, *, pacing: Pacing = DEFAULT_PACING,
                     sleep: Sleep = asyncio.sleep) -> RemoteState:
    """Make `out` through `job`: resume the known remote job, or create one; wait; download at once.
    The profile's pacing (`ctx.pacing`) wins over the backend's."""
    pacing = ctx.pacing or pacing
    state = ctx.known_remote or await _create(job, ctx, pacing, sleep)
    charged = False
    for tries in itertools.count(1):
        async with ctx.idle() if ctx.idle is not None else contextlib.nullcontext():
            done = await _wait(job, state, ctx, pacing, sleep)
        if done.actual_usd is not None and ctx.record_cost is not None and not charged:
            ctx.record_cost(done.actual_usd, "actual", f"{job.provider} {state.operation}: charged")
            charged = True
        _report(ctx, "downloading", 1.0)
        try:
            await job.download(state, done, out)
            return state
        except BackendError as err:
            # a cut transfer or an expired URL: ask again (a fresh URL) and fetch again, the job stays paid once
            if not err.transient or tries > pacing.max_transient:
                raise
            _report(ctx, "download failed; asking again", None)
            await _idle_sleep(ctx, sleep, _delay(None, pacing.first_poll))
    raise AssertionError("unreachable")


# Room a paid answer needs before it is bought: a 1080p clip of a few seconds is tens of MB, and the download,
# its checks and the cache's copy may briefly hold it twice.
MIN_FREE_BYTES = 256 * 1024 * 1024


def _room_refusal(ctx: RenderContext) -> str | None:
    """Why not to buy now: a full disk would throw the paid answer away after it is bought (the job id is
    journalled, so a re-run fetches it, but only while the provider keeps it)."""
    folder = ctx.scratch or ctx.workdir
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return None     # can't tell: the write itself will say
    if free >= MIN_FREE_BYTES:
        return None
    return (f"only {free // (1024 * 1024)} MB is free on the disk holding {folder}, less than the "
            f"{MIN_FREE_BYTES // (1024 * 1024)} MB a paid answer may need; nothing was sent or billed. Free some "
            "space and run the same command again")


async def _create(job: RemoteJob, ctx: RenderContext, pacing: Pacing, sleep: Sleep) -> RemoteState:
    if (no_room := _room_refusal(ctx)) is not None:
        raise BackendError(no_room)
    ambiguous = refused = 0
    while True:
        while ctx.cooldown is not None and (pause := ctx.cooldown.remaining()) > 0:
            _report(ctx, "provider asked to wait", None)   # another job's 429: don't earn one more
            await _idle_sleep(ctx, sleep, pause)
        _report(ctx, "submitting", None)
        try:
            state = await job.create()
        except CreateError as err:
            if err.outcome == "fatal":
                raise BackendError(f"{job.provider} refused the job: {err}") from None
            if err.outcome == "not_created":
                refused += 1
                if refused > pacing.max_not_created:
                    raise BackendError(f"{job.provider} kept refusing the job ({err}); nothing was billed",
                                       transient=True) from None
                delay = _delay(err.retry_after, pacing.create_backoff * 2 ** (refused - 1))
                if ctx.cooldown is not None:
                    ctx.cooldown.hold(delay)
                await _idle_sleep(ctx, sleep, delay)
                continue
            ambiguous += 1
            _cost(ctx, job.estimated_usd, "possibly-billed",
                  f"{job.provider}: create attempt {ambiguous} may have been billed ({err})")
            found = await job.find()
            if found is not None:
                _journal(ctx, found)
                return found
            if ambiguous > ctx.create_retries:
                raise BackendError(f"{job.provider} did not confirm the job after {ambiguous} attempt(s), each "
                                   f"possibly billed ({err}); check the provider's dashboard before re-running"
                                   ) from None
            refusal = ctx.may_spend(job.estimated_usd) if ctx.may_spend is not None else None
            if refusal:
                raise BackendError(f"{job.provider} did not confirm the job ({err}), and it is {refusal}") from None
            await _idle_sleep(ctx, sleep, _delay(err.retry_after, pacing.create_backoff))
            continue
        _journal(ctx, state)   # before anything waits on it: a crash from here on resumes, never re-pays
        _cost(ctx, job.estimated_usd, "estimated", f"{job.provider} {state.operation}: created")
        return state


async def _wait(job: RemoteJob, state: RemoteState, ctx: RenderContext, pacing: Pacing, sleep: Sleep) -> Progress:
    interval = pacing.first_poll
    waited = 0.0
    troubles = 0   # transient failures in a row: a network blip during a long wait is no reason to fail
    while True:
        try:
            answer = await job.poll(state)
            troubles = 0
        except BackendError as err:
            troubles += 1
            if not err.transient or troubles > pacing.max_transient:
                raise
            answer = Progress(status="running", detail=str(err))
        if answer.status == "done":
            return answer
        if answer.status in ("failed", "gone"):
            raise RemoteGone(f"{job.provider} job {state.operation} {answer.status}"
                             + (f": {answer.detail}" if answer.detail else ""))
        _report(ctx, answer.status, answer.progress)
        wait = _delay(answer.retry_after, interval, jitter=0.1)
        if ctx.deadline is not None and time.monotonic() + wait > ctx.deadline:
            raise BackendError(f"{job.provider} job {state.operation} is still {answer.status} at the deadline; "
                               "it is journalled: render again to pick it up without paying again")
        await sleep(wait)
        waited += wait
        if waited >= pacing.steady_for:
            interval = min(pacing.max_poll, interval * pacing.poll_factor)


async def _idle_sleep(ctx: RenderContext, sleep: Sleep, seconds: float) -> None:
    """Waiting on the provider, not working: outside the render's --jobs limit."""
    async with ctx.idle() if ctx.idle is not None else contextlib.nullcontext():
        await sleep(seconds)


def _delay(retry_after: float | None, fallback: float, jitter: float = 0.25) -> float:
    """The server's Retry-After wins; our own backoff gets jitter, so many jobs don't return at once."""
    if retry_after is not None:
        return max(0.0, retry_after)
    return fallback + random.uniform(0, fallback * jitter)


def _journal(ctx: RenderContext, state: RemoteState) -> None:
    if ctx.journal_remote is None:
        raise BackendError("a remote job needs the executor's journal; it was not given one")
    ctx.journal_remote(state)


def _cost(ctx: RenderContext, usd: Decimal, basis: CostBasis, what: str) -> None:
    if ctx.record_cost is not None:
        ctx.record_cost(usd, basis, what)


def _report(ctx: RenderContext, state: str, progress: float | None) -> None:
    if ctx.report is not None:
        ctx.report(state, progress)


def classify_create_failure(err: BaseException, *, secret: str | None = None) -> CreateError:
    """An SDK's exception from a create call, as what it means for money. Works for the HTTP SDKs filmc
    uses (anthropic, openai, runwayml, elevenlabs): a `status_code` on status errors, httpx underneath.

    429 and 408: the provider refused before starting, nothing billed, retry after its Retry-After. Any
    other 4xx: it will refuse again (a bad request, a key it rejects), fatal. 5xx: it may have started
    the job, ambiguous. No status: refused before the request was sent (a connect error) is harmless;
    anything after sending (a timeout, a reset) is ambiguous.
    """
    message = scrub(" ".join(str(err).split()) or type(err).__name__, secret)
    status = getattr(err, "status_code", None)
    if isinstance(status, int):
        retry_after = _retry_after(getattr(err, "response", None))
        if status in (408, 429):
            return CreateError(message, outcome="not_created", retry_after=retry_after)
        return CreateError(message, outcome="ambiguous" if status >= 500 else "fatal", retry_after=retry_after)
    if any(type(e).__name__ in ("ConnectError", "ConnectTimeout") for e in _chain(err)):
        return CreateError(message, outcome="not_created")
    return CreateError(message, outcome="ambiguous")


def scrub(text: str, secret: str | None) -> str:
    """SDK errors can echo request headers: no key ever reaches a message, a journal or a manifest."""
    return text.replace(secret, "[redacted]") if secret else text


def _retry_after(response: object) -> float | None:
    headers = getattr(response, "headers", None)
    value = headers.get("retry-after") if headers is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None   # an HTTP date: our own backoff will do


def _chain(err: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = err
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen
