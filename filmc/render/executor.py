"""Plan -> assets: an asyncio executor over the job graph, with a content-addressed cache and a journal.

Rules that make it trustworthy: a cached asset is reused, never re-made; an asset appears whole or
not at all (temp file, verify, `os.replace`); one process at a time makes a key (a file lock); a
remote job's id is journalled before waiting and resumed, never re-created, unless the provider lost
it and the user says `--recreate`; every paid attempt goes into the ledger; a failed job fails its
dependents, not its siblings; a transient failure is retried with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import time
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

from filmc.assemble.drawing import Drawer
from filmc.assemble.media import MediaError, terminate_running
from filmc.backend.protocol import BackendError, Layer, RemoteState, RenderContext
from filmc.backend.registry import Backends
from filmc.backend.remote import RemoteGone
from filmc.files import owned_name
from filmc.locks import key_lock
from filmc.plan.model import Job, Plan, Spec
from filmc.render import jobs
from filmc.render.cache import Cache
from filmc.render.events import EventSink, RenderEvent
from filmc.render.gates import Providers, Share
from filmc.render.journal import Journal
from filmc.render.ledger import Ledger, spent
from filmc.render.making import make_asset
from filmc.render.outcome import AssetMeta, JobOutcome
from filmc.render.store import store_secrets
from filmc.secrets import redact

GRACE_SECONDS = 60.0   # past a remote job's deadline, for its own loop to stop and say so


class Executor:
    """Runs one Plan: each job once per key, as many at once as the limits allow, dependents after their inputs."""

    def __init__(self, plan: Plan, backends: Backends, cache: Cache, journal: Journal, events: EventSink,
                 *, jobs: int = 4, force: frozenset[str] = frozenset(), recreate: frozenset[str] = frozenset(),
                 max_cost: Decimal | None = None, retries: int = 3, backoff: float = 1.0,
                 shared: dict[str, asyncio.Task[JobOutcome]] | None = None) -> None:
        """`shared`: the jobs in flight by key of every executor of one render of several films on one cache,
        so a job two films share is made once (the same dict for each)."""
        self.plan, self.backends, self.cache, self.journal = plan, backends, cache, journal
        self.events, self.force, self.retries, self.backoff = events, force, retries, backoff
        self.recreate, self.max_cost = recreate, max_cost
        self.ledger = Ledger()
        self.in_flight: dict[str, Decimal] = {}   # paid jobs started and not yet in the ledger: their estimates
        self.secrets = secrets_of(backends) | store_secrets(cache.store.url if cache.store else None)
        self.gate = asyncio.Semaphore(max(1, jobs))   # --jobs: lent back by paid jobs while they only wait
        self.layer_gates: dict[str, asyncio.Semaphore] = {}
        self.providers = Providers(plan, backends)
        self.tasks: dict[str, asyncio.Task[JobOutcome]] = {}
        self.by_key: dict[str, asyncio.Task[JobOutcome]] = {} if shared is None else shared
        self.workdir = cache.root / "work"
        records = journal.records()
        # paid for by an earlier render, only polled now: their charges are in this ledger, not in this budget
        self.resumed = frozenset(j.id for j in plan.jobs if j.remote and (r := records.get(j.key)) is not None
                                 and r.state is not None and not r.gone)

    def layer_gate(self, job: Job) -> asyncio.Semaphore:
        """Per-backend concurrency from the profile; the picture and the sound are assembled side by side."""
        kind = jobs.kind_of(job.spec)
        name = f"assemble:{job.spec.kind}" if kind.assembly else job.layer  # each assembly kind on its own
        if name not in self.layer_gates:
            limit = 1 if kind.assembly else self.plan.profile.layer(_media_layer(job)).concurrency
            self.layer_gates[name] = asyncio.Semaphore(max(1, limit))
        return self.layer_gates[name]

    def provider_gate(self, job: Job) -> contextlib.AbstractAsyncContextManager[object]:
        """A paid job also holds its provider's slot: backends sharing an account share its limit."""
        return self.providers.gate(job.backend) if job.remote else contextlib.nullcontext()

    async def run(self) -> dict[str, JobOutcome]:
        for job in self.plan.jobs:
            self.events.emit(RenderEvent(kind="planned", job=job.id, layer=job.layer))
        for job in self.plan.jobs:  # the plan lists jobs after their dependencies
            self.tasks[job.id] = asyncio.ensure_future(self.run_job(job))
        try:
            await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        except asyncio.CancelledError:
            terminate_running()
            raise
        return {job_id: self.result(task) for job_id, task in self.tasks.items()}

    @staticmethod
    def result(task: asyncio.Task[JobOutcome]) -> JobOutcome:
        return task.result()

    async def run_job(self, job: Job) -> JobOutcome:
        deps = [await asyncio.shield(self.tasks[d]) for d in job.deps]
        blocked = [d.job for d in deps if not d.usable]
        if blocked:
            outcome = JobOutcome(job=job.id, key=job.key, status="skipped", error=f"needs {', '.join(blocked)}")
            self.events.emit(RenderEvent(kind="skipped", job=job.id, layer=job.layer, message=outcome.error or ""))
            return outcome
        if job.drawn:  # previz the picture pass draws in place: no file to make or find
            self.events.emit(RenderEvent(kind="drawn", job=job.id, layer=job.layer))
            return JobOutcome(job=job.id, key=job.key, status="drawn")
        if job.key in self.by_key:  # two jobs, one asset: make it once
            shared = await asyncio.shield(self.by_key[job.key])
            return shared.model_copy(update={"job": job.id, "status": "cached" if shared.status == "made"
                                             else shared.status, "usd": Decimal(0)})
        task = asyncio.ensure_future(self.make(job, {d.job: d for d in deps}))
        self.by_key[job.key] = task
        return await task

    def hit(self, job: Job) -> AssetMeta | None:
        """A cached asset counts only if its size is the one verified when it was stored."""
        if _matches(job, self.force):
            return None
        return self.cache.meta(job.spec.kind, job.key, jobs.suffix_of(job.spec))

    async def make(self, job: Job, deps: dict[str, JobOutcome]) -> JobOutcome:
        def waiting() -> None:
            self.events.emit(RenderEvent(kind="note", job=job.id, layer=job.layer,
                                         message="another render is making this; waiting for it"))

        async with key_lock(self.cache.root, job.key, waiting):
            return await self.make_locked(job, deps)

    async def make_locked(self, job: Job, deps: dict[str, JobOutcome]) -> JobOutcome:
        path = self.cache.path(job.spec.kind, job.key, jobs.suffix_of(job.spec))
        # with a shared store a hit may download: in a thread, so the loop (and a Ray driver's courier) runs on
        meta = await asyncio.to_thread(self.hit, job) if self.cache.store is not None else self.hit(job)
        if meta is not None:
            self.events.emit(RenderEvent(kind="cached", job=job.id, layer=job.layer))
            return JobOutcome(job=job.id, key=job.key, status="cached", path=str(path), duration=meta.duration)
        refusal = self.remote_refusal(job) if job.remote else None
        if refusal:
            return self.failed(job, refusal, time.monotonic())
        started = time.monotonic()
        error = ""
        for attempt in range(1, self.retries + 1):
            try:
                # the narrow gates first: a job waiting for its layer or provider holds no --jobs slot
                async with self.layer_gate(job), self.provider_gate(job), Share(self.gate) as share:
                    started = time.monotonic()  # time at work, not in the queue
                    over = self.over_budget(job)
                    if over:
                        return self.failed(job, over, started)
                    self.journal.write("start", job.id, job.key)
                    self.in_flight[job.id] = job.estimated_usd
                    try:
                        meta = await self.attempt(job, deps, path, share)
                    finally:
                        self.in_flight.pop(job.id, None)
                self.journal.write("done", job.id, job.key)
                shutil.rmtree(self.scratch(job), ignore_errors=True)  # stored: what was kept for it has served
                if job.remote and not any(e.job == job.id and e.basis != "possibly-billed"   # no costs reported:
                                          for e in self.ledger.entries):                        # the estimate
                    self.ledger.recorder(job.id)(job.estimated_usd, "estimated", f"{job.backend}: made")
                outcome = JobOutcome(job=job.id, key=job.key, status="made", path=str(path), attempts=attempt,
                                     seconds=round(time.monotonic() - started, 3), usd=job.estimated_usd,
                                     duration=meta.duration)
                self.events.emit(RenderEvent(kind="made", job=job.id, layer=job.layer, seconds=outcome.seconds,
                                             usd=outcome.usd))
                return outcome
            except asyncio.CancelledError:
                self.journal.write("interrupted", job.id, job.key)
                raise
            except Exception as err:  # a plugin's bug fails its job, not the render
                error = _describe(err) if isinstance(err, BackendError | MediaError | TimeoutError | OSError) \
                    else f"{type(err).__name__}: {_describe(err)}"
                error = redact(error, self.secrets)  # SDK errors echo headers: no key reaches a journal or a screen
                transient = isinstance(err, TimeoutError) or getattr(err, "transient", False)
                # a create that may have been sent with its id never received (a lost worker): the journal keeps it
                self.journal.write("failed", job.id, job.key, detail=error,
                                   lost_create=bool(getattr(err, "lost_create", False)))
                if isinstance(err, RemoteGone):
                    self.journal.write("remote_gone", job.id, job.key, detail=error)
                    error += f"; to pay for a new one: filmc render --recreate {job.id}"
                    break
                if not transient or attempt == self.retries:
                    break
                delay = self.backoff * 2 ** (attempt - 1)
                delay += random.uniform(0, delay)  # jitter: retries of many jobs don't arrive together
                self.events.emit(RenderEvent(kind="retry", job=job.id, layer=job.layer,
                                             message=f"{error}; retrying in {delay:.1f}s"))
                await asyncio.sleep(delay)
        self.journal.write("abandoned", job.id, job.key, detail=error)
        return self.failed(job, error, started)

    def failed(self, job: Job, error: str, started: float) -> JobOutcome:
        outcome = JobOutcome(job=job.id, key=job.key, status="failed", error=error,
                             seconds=round(time.monotonic() - started, 3))
        self.events.emit(RenderEvent(kind="failed", job=job.id, layer=job.layer, message=error))
        return outcome

    def over_budget(self, job: Job) -> str | None:
        """Checked before each paid submission: what the ledger holds, plus what is in flight, plus this job,
        must stay within --max-cost (a journalled job is only polled: it costs nothing more, and what it cost
        was spent under an earlier render's budget)."""
        if job.estimated_usd <= 0 or self.journal.remote(job.key).state is not None:
            return None
        return self.budget_refusal(job.estimated_usd, "this job's")

    def budget_refusal(self, usd: Decimal, what: str) -> str | None:
        """Why `usd` more may not be sent, or None: the ledger, plus what jobs in flight may still spend (their
        estimate, less what they have already entered), plus `usd`, must stay within --max-cost."""
        if self.max_cost is None:
            return None
        counted = [e for e in self.ledger.entries if e.job not in self.resumed]
        pending = Decimal(0)
        for job_id, estimate in self.in_flight.items():
            if job_id not in self.resumed:
                pending += max(Decimal(0), estimate - spent(e for e in counted if e.job == job_id))
        committed = spent(counted) + pending
        if committed + usd <= self.max_cost:
            return None
        return (f"not submitted: ${committed:.2f} is spent or in flight, and {what} ${usd:.2f} would pass "
                f"--max-cost ${self.max_cost:.2f} (failed or possibly billed attempts count too)")

    def remote_refusal(self, job: Job) -> str | None:
        """What the journal forbids before a paid job starts: re-creating one the provider lost, unasked."""
        record = self.journal.remote(job.key)
        if record.gone and not _matches(job, self.recreate):
            return (f"the provider reported {record.state.operation if record.state else 'its job'} failed or gone "
                    f"in an earlier render; to pay for a new one: filmc render --recreate {job.id}")
        if record.gone:
            # the scratch folder stays: paid work in it (a line's good chunks) is the backend's to reuse or not
            self.journal.write("recreate", job.id, job.key)
        elif record.unconfirmed:
            self.events.emit(RenderEvent(kind="note", job=job.id, layer=job.layer, message=(
                "an interrupted render may have created this job without recording its id; if the provider "
                "shows an unfinished job for it, it was paid for")))
            # in the ledger too, so the manifest's possible spend and the budget both count it
            self.ledger.recorder(job.id)(job.estimated_usd, "possibly-billed",
                                         f"{job.backend}: a create sent by an interrupted render, id never received")
        return None

    async def attempt(self, job: Job, deps: dict[str, JobOutcome], path: Path, share: Share) -> AssetMeta:
        """Produce into a temp file beside the asset, verify it, record its metadata, then move it in place."""
        work = self.workdir / owned_name()   # a killed render's is removed by the next one
        work.mkdir(parents=True, exist_ok=True)
        try:
            return await make_asset(self.plan, self.cache, self.work(job, deps, work, share), path,
                                    timeout=self.timeout(job),
                                    journalled=lambda: self.journal.remote(job.key).state is not None,
                                    warn=lambda text: self.note(job, text))
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def note(self, job: Job, text: str) -> None:
        self.events.emit(RenderEvent(kind="note", job=job.id, layer=job.layer, message=redact(text, self.secrets)))

    def scratch(self, job: Job) -> Path:
        return self.cache.root / "scratch" / job.key[:2] / job.key

    def timeout(self, job: Job) -> float | None:
        """A remote job stops itself at its deadline (keeping its id); the grace lets it say so first."""
        if jobs.kind_of(job.spec).assembly:
            return None
        limit = self.plan.profile.layer(_media_layer(job)).timeout
        return limit + GRACE_SECONDS if job.remote else limit

    def work(self, job: Job, deps: dict[str, JobOutcome], workdir: Path, share: Share) -> jobs.Work[Spec]:
        """What the job's kind may use; a remote job learns its journalled id, to resume instead of paying again."""
        if jobs.kind_of(job.spec).assembly:
            return jobs.Work(job=job, spec=job.spec, deps=deps, backend=None, ctx=RenderContext(workdir=workdir),
                             drawers=self.drawers(job))
        known = self.journal.remote(job.key).state if job.remote else None

        def remember(state: RemoteState) -> None:
            self.journal.write("remote", job.id, job.key, remote=state)

        def report(state: str, progress: float | None) -> None:
            self.events.emit(RenderEvent(kind="remote", job=job.id, layer=job.layer, message=state,
                                         progress=progress))

        config = self.plan.profile.layer(_media_layer(job))
        ctx = RenderContext(workdir=workdir, scratch=self.scratch(job), key=job.key,
                            deadline=time.monotonic() + config.timeout, known_remote=known, journal_remote=remember,
                            record_cost=self.ledger.recorder(job.id), report=report,
                            create_retries=config.create_retries, pacing=config.pacing, idle=share.lent,
                            may_spend=lambda usd: self.budget_refusal(usd, "sending it again for"),
                            files=dict(f.rsplit(" ", 1) for f in job.files),
                            cooldown=self.providers.cooldown(job.backend))
        return jobs.Work(job=job, spec=job.spec, deps=deps, backend=self.backends.media(job.backend), ctx=ctx)


    def drawers(self, job: Job) -> Mapping[str, Drawer]:
        return jobs.drawers(job, self.plan, self.backends.media)


def _media_layer(job: Job) -> Layer:
    """The profile layer a backend-made job belongs to (the assembly kinds have none)."""
    assert not jobs.kind_of(job.spec).assembly and job.layer != "assemble", job.id
    return job.layer


def secrets_of(backends: Backends) -> frozenset[str]:
    """The values of every key the profile's backends read from the environment."""
    every = (backends.expand, backends.video, backends.voice, backends.music, backends.file)
    return frozenset(value for backend in every for var in backend.capabilities.env
                     if len(value := os.environ.get(var, "")) >= 8)


def _matches(job: Job, patterns: frozenset[str]) -> bool:
    return job.id in patterns or any(Path(job.id).match(pattern) for pattern in patterns)


def _describe(err: BaseException) -> str:
    if isinstance(err, TimeoutError):
        return "timed out"
    return " ".join(str(err).split()) or type(err).__name__
