"""Plan -> assets: an asyncio executor over the job graph, with a content-addressed cache and a journal.

Rules that make it trustworthy: a cached asset is reused, never re-made; an asset appears whole or
not at all (temp file, verify, `os.replace`); a remote job's id is journalled before waiting; a
failed job fails its dependents, not its siblings; a transient failure is retried with backoff.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import time
import uuid
from decimal import Decimal
from pathlib import Path

from filmc.assemble.media import MediaError, terminate_running
from filmc.backend.protocol import BackendError, Layer, RenderContext, VoiceResult
from filmc.backend.registry import Backends
from filmc.files import atomic_path_async
from filmc.plan.model import Job, Plan, Spec
from filmc.render import jobs
from filmc.render.cache import Cache
from filmc.render.events import EventSink, RenderEvent
from filmc.render.journal import Journal
from filmc.render.outcome import AssetMeta, JobOutcome


class Executor:
    """Runs one Plan: each job once per key, as many at once as the limits allow, dependents after their inputs."""

    def __init__(self, plan: Plan, backends: Backends, cache: Cache, journal: Journal, events: EventSink,
                 *, jobs: int = 4, force: frozenset[str] = frozenset(), retries: int = 3,
                 backoff: float = 1.0) -> None:
        self.plan, self.backends, self.cache, self.journal = plan, backends, cache, journal
        self.events, self.force, self.retries, self.backoff = events, force, retries, backoff
        self.gate = asyncio.Semaphore(max(1, jobs))
        self.layer_gates: dict[str, asyncio.Semaphore] = {}
        self.tasks: dict[str, asyncio.Task[JobOutcome]] = {}
        self.by_key: dict[str, asyncio.Task[JobOutcome]] = {}
        self.workdir = cache.root / "work"

    def layer_gate(self, job: Job) -> asyncio.Semaphore:
        """Per-backend concurrency from the profile; the picture and the sound are assembled side by side."""
        kind = jobs.kind_of(job.spec)
        name = f"assemble:{job.spec.kind}" if kind.assembly else job.layer  # each assembly kind on its own
        if name not in self.layer_gates:
            limit = 1 if kind.assembly else self.plan.profile.layer(_media_layer(job)).concurrency
            self.layer_gates[name] = asyncio.Semaphore(max(1, limit))
        return self.layer_gates[name]

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
        if job.key in self.by_key:  # two jobs, one asset: make it once
            shared = await asyncio.shield(self.by_key[job.key])
            return shared.model_copy(update={"job": job.id, "status": "cached" if shared.status == "made"
                                             else shared.status, "usd": Decimal(0)})
        task = asyncio.ensure_future(self.make(job, {d.job: d for d in deps}))
        self.by_key[job.key] = task
        return await task

    def hit(self, job: Job) -> AssetMeta | None:
        """A cached asset counts only if its size is the one verified when it was stored."""
        if job.id in self.force or any(Path(job.id).match(pattern) for pattern in self.force):
            return None
        return self.cache.meta(job.spec.kind, job.key, jobs.suffix_of(job.spec))

    async def make(self, job: Job, deps: dict[str, JobOutcome]) -> JobOutcome:
        path = self.cache.path(job.spec.kind, job.key, jobs.suffix_of(job.spec))
        meta = self.hit(job)
        if meta is not None:
            self.events.emit(RenderEvent(kind="cached", job=job.id, layer=job.layer))
            return JobOutcome(job=job.id, key=job.key, status="cached", path=str(path), duration=meta.duration)
        started = time.monotonic()
        error = ""
        for attempt in range(1, self.retries + 1):
            try:
                async with self.gate, self.layer_gate(job):
                    started = time.monotonic()  # time at work, not in the queue
                    self.journal.write("start", job.id, job.key)
                    meta = await self.attempt(job, deps, path)
                self.journal.write("done", job.id, job.key)
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
                transient = isinstance(err, TimeoutError) or getattr(err, "transient", False)
                self.journal.write("failed", job.id, job.key, detail=error)
                if not transient or attempt == self.retries:
                    break
                delay = self.backoff * 2 ** (attempt - 1)
                delay += random.uniform(0, delay)  # jitter: retries of many jobs don't arrive together
                self.events.emit(RenderEvent(kind="retry", job=job.id, layer=job.layer,
                                             message=f"{error}; retrying in {delay:.1f}s"))
                await asyncio.sleep(delay)
        self.journal.write("abandoned", job.id, job.key, detail=error)
        outcome = JobOutcome(job=job.id, key=job.key, status="failed", error=error,
                             seconds=round(time.monotonic() - started, 3))
        self.events.emit(RenderEvent(kind="failed", job=job.id, layer=job.layer, message=error))
        return outcome

    async def attempt(self, job: Job, deps: dict[str, JobOutcome], path: Path) -> AssetMeta:
        """Produce into a temp file beside the asset, verify it, record its metadata, then move it in place."""
        work = self.workdir / uuid.uuid4().hex
        work.mkdir(parents=True, exist_ok=True)
        try:
            async with atomic_path_async(path) as tmp:
                making = jobs.produce(self.work(job, deps, work), tmp)
                result = await asyncio.wait_for(making, timeout=self.timeout(job))
                verified = await jobs.verify(job.spec, self.plan, tmp)
                meta = AssetMeta(job=job.id, key=job.key, size=tmp.stat().st_size, duration=verified.duration,
                                 words=result.words if isinstance(result, VoiceResult) else (), lufs=verified.lufs,
                                 true_peak=verified.true_peak)
                self.cache.record(job.spec.kind, meta)
            return meta
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def timeout(self, job: Job) -> float | None:
        return None if jobs.kind_of(job.spec).assembly else self.plan.profile.layer(_media_layer(job)).timeout

    def work(self, job: Job, deps: dict[str, JobOutcome], workdir: Path) -> jobs.Work[Spec]:
        """What the job's kind may use; a remote job learns its journalled id, to resume instead of paying again."""
        if jobs.kind_of(job.spec).assembly:
            return jobs.Work(job=job, spec=job.spec, deps=deps, backend=None, ctx=RenderContext(workdir=workdir))
        pending = self.journal.pending_remote_id(job.key) if job.remote else None

        def remember(remote_id: str) -> None:
            self.journal.write("remote", job.id, job.key, remote_id=remote_id)

        ctx = RenderContext(workdir=workdir, journal_remote_id=remember, known_remote_id=pending)
        return jobs.Work(job=job, spec=job.spec, deps=deps, backend=self.backends.media(job.backend), ctx=ctx)


def _media_layer(job: Job) -> Layer:
    """The profile layer a backend-made job belongs to (the assembly kinds have none)."""
    assert not jobs.kind_of(job.spec).assembly and job.layer != "assemble", job.id
    return job.layer


def _describe(err: BaseException) -> str:
    if isinstance(err, TimeoutError):
        return "timed out"
    return " ".join(str(err).split()) or type(err).__name__
