"""What runs on a Ray worker: one job made from the shared cache into it, and the mailbox back to the driver.

A worker makes an asset exactly as the local executor does (`making.make_asset`), but it owns no journal,
ledger or budget: the driver does. Everything a paid job must tell or ask the render goes through the
`Courier` actor to the driver and, for a remote id, is acknowledged only once the driver has fsynced it into
the journal, so a worker that dies after a create leaves the id behind; the driver's retry (Ray never re-runs a
paid task itself) asks it for the journalled id before doing anything, and polls it instead of paying again.

Nothing here imports Ray: the driver wraps these with `ray.remote`, so `filmc` runs without the extra.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from filmc.assemble.drawing import Drawer
from filmc.assemble.media import MediaError
from filmc.backend.protocol import BackendError, Cooldown, CostBasis, RemoteState, RenderContext, Setup
from filmc.backend.registry import Backends, Registry
from filmc.backend.remote import RemoteGone
from filmc.files import owned_name
from filmc.model import Model
from filmc.plan.model import Job, Plan
from filmc.plan.profiles import LAYERS
from filmc.render import jobs
from filmc.render.cache import Cache
from filmc.render.making import describe, make_asset
from filmc.render.outcome import AssetMeta, JobOutcome

# Set (by the driver, from its own environment) to a file path: the worker making a paid job dies right after
# its id is journalled, once (the file marks it done). The tests' way to kill a worker at the worst moment.
CRASH_AFTER_JOURNAL = "FILMC_RAY_CRASH_AFTER_JOURNAL"
ANSWER_SECONDS = 300.0   # a driver that doesn't answer (an fsync, a budget sum) in this long is gone or stuck
CHUNK_RETRIES = 3   # a chunk's worker lost: encode it again (it writes only its own part file)


# The requests a worker sends the driver, and what each is answered with.
class Known(Model):
    """The journalled remote job for this key, if any: asked at the start of every attempt (Ray's retries too)."""

    what: Literal["known"] = "known"
    key: str


class Remember(Model):
    """Journal this remote id; answered once it is fsynced, and only then does the worker wait on it."""

    what: Literal["remember"] = "remember"
    job: str
    key: str
    state: RemoteState


class Spend(Model):
    what: Literal["spend"] = "spend"
    job: str
    usd: Decimal
    basis: CostBasis
    note: str


class MaySpend(Model):
    """Before a create is sent again: the driver's budget says why not, or None."""

    what: Literal["may_spend"] = "may_spend"
    job: str
    usd: Decimal


class Report(Model):
    what: Literal["report"] = "report"
    job: str
    layer: str
    state: str
    progress: float | None = None


class Cool(Model):
    """A provider's 429 pause, held (seconds > 0) or read (None): shared by every job sent there, on any worker."""

    what: Literal["cool"] = "cool"
    backend: str
    seconds: float | None = None


Request = Known | Remember | Spend | MaySpend | Report | Cool


class Refused(Model):
    """The driver could not do what was asked (the journal's disk is full, say): the job fails, and says why."""

    error: str


class Placement(Model):
    """Where a worker's cache lives: the driver's own folder when there is no shared store (one machine, or a
    shared filesystem mounted at the same path), else a local mirror of the shared store on the worker."""

    root: str
    shared: str | None = None


class TaskResult(Model):
    """A job's result as a value, so the driver's retry rules see the error the local executor would."""

    meta: AssetMeta | None = None
    warning: str = ""   # made, but not shared: the store would not take it (the worker's own copy keeps it)
    reused: bool = False   # not made now: this worker's copy from an earlier render, whose upload had failed
    error: str = ""
    kind: Literal["", "gone", "backend", "media", "timeout", "os"] = ""
    transient: bool = False


class Courier:
    """The mailbox between workers and the driver (a Ray actor): workers `ask` and wait for the answer or `tell`;
    the driver `take`s what is waiting and `answer`s it. The driver holds the journal; this only carries."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[tuple[int, Request | None]] = asyncio.Queue()
        self.waiting: dict[int, asyncio.Future[object]] = {}
        self.sent = 0

    async def ask(self, request: Request) -> object:
        self.sent += 1
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self.waiting[self.sent] = future
        await self.inbox.put((self.sent, request))
        return await future

    async def tell(self, request: Request) -> None:
        await self.inbox.put((0, request))

    async def take(self) -> list[tuple[int, Request | None]]:
        batch = [await self.inbox.get()]
        while not self.inbox.empty():
            batch.append(self.inbox.get_nowait())
        return batch

    async def wake(self) -> None:
        """At the end: a `take` in flight returns (with what it holds; the driver skips the None)."""
        await self.inbox.put((0, None))

    async def drain(self) -> list[tuple[int, Request | None]]:
        """What is still waiting, without waiting for more."""
        batch = []
        while not self.inbox.empty():
            batch.append(self.inbox.get_nowait())
        return batch

    async def answer(self, number: int, reply: object) -> None:
        future = self.waiting.pop(number, None)
        if future is not None and not future.done():
            future.set_result(reply)


class Relay:
    """The worker's side of the courier: blocking calls, made from inside the job's own event loop (the job waits
    for the driver's answer, which is the point: nothing is polled before its id is on the driver's disk)."""

    def __init__(self, courier: Any) -> None:
        self.courier = courier

    def ask(self, request: Request) -> Any:
        import ray

        try:
            reply = ray.get(self.courier.ask.remote(request), timeout=ANSWER_SECONDS)
        except ray.exceptions.GetTimeoutError:
            raise OSError(f"the driver did not answer in {ANSWER_SECONDS:.0f}s ({request.what})") from None
        if isinstance(reply, Refused):
            raise OSError(reply.error)
        return reply

    def tell(self, request: Request) -> None:
        self.courier.tell.remote(request)


class RelayedCooldown(Cooldown):
    """The driver's cooldown for a provider, read and held through the courier."""

    def __init__(self, relay: Relay, backend: str) -> None:
        super().__init__()
        self.relay, self.backend = relay, backend

    def hold(self, seconds: float) -> None:
        self.relay.ask(Cool(backend=self.backend, seconds=seconds))

    def remaining(self) -> float:
        left: float = self.relay.ask(Cool(backend=self.backend))
        return left


def run_job(plan: Plan, job: Job, deps: dict[str, JobOutcome], place: Placement, courier: Any,
            env: dict[str, str], timeout: float | None, crash_marker: str | None,
            drawers: Mapping[str, Drawer], reuse: bool = True) -> TaskResult:
    """The Ray task: make one job's asset in this worker's cache (and so in the shared store), or say why not.
    `drawers`: for the picture, how the driver's backends draw the clips that have no file (pure functions).
    `reuse` (not `--force`d): an asset this worker made earlier and could not share is shared now, not made again."""
    warnings: list[str] = []
    with _environment(env):
        try:
            cache = worker_cache(place, env)
            kept = cache.local_meta(job.spec.kind, job.key, jobs.suffix_of(job.spec)) \
                if reuse and cache.store is not None else None
            if kept is not None:   # made here, its upload failed: put it now (a failure is the render's to say)
                cache.publish(job.spec.kind, job.key, jobs.suffix_of(job.spec))
                return TaskResult(meta=kept, reused=True)
            meta = asyncio.run(_make(plan, job, deps, place, Relay(courier), env, timeout, crash_marker, drawers,
                                     warnings.append))
            return TaskResult(meta=meta, warning="; ".join(warnings))
        except Exception as err:  # as the local executor: a plugin's bug fails its job, not the render
            return failure(err)


async def _make(plan: Plan, job: Job, deps: dict[str, JobOutcome], place: Placement, relay: Relay,
                env: Mapping[str, str], timeout: float | None, crash_marker: str | None,
                drawers: Mapping[str, Drawer], warn: Callable[[str], None]) -> AssetMeta:
    cache = worker_cache(place, env)
    deps = {name: _local(cache, plan, outcome) for name, outcome in deps.items()}
    path = cache.path(job.spec.kind, job.key, jobs.suffix_of(job.spec))
    workdir = cache.root / "work" / owned_name()
    workdir.mkdir(parents=True, exist_ok=True)
    journalled = False

    def remember(state: RemoteState) -> None:
        nonlocal journalled
        relay.ask(Remember(job=job.id, key=job.key, state=state))
        journalled = True
        if crash_marker and not os.path.exists(crash_marker):
            Path(crash_marker).touch()
            os._exit(17)   # the worker dies, as a node lost mid-job does

    try:
        if jobs.kind_of(job.spec).assembly:
            work: jobs.Work[Any] = jobs.Work(job=job, spec=job.spec, deps=deps, backend=None,
                                             ctx=RenderContext(workdir=workdir), drawers=drawers,
                                             map_chunks=chunks_on_ray)
        else:
            known: RemoteState | None = relay.ask(Known(key=job.key)) if job.remote else None
            journalled = known is not None
            config = plan.profile.layer(job.layer)  # type: ignore[arg-type]  # a media job's layer
            ctx = RenderContext(
                workdir=workdir, scratch=cache.root / "scratch" / job.key[:2] / job.key, key=job.key,
                deadline=time.monotonic() + config.timeout, known_remote=known, journal_remote=remember,
                record_cost=_spender(relay, job.id), create_retries=config.create_retries, pacing=config.pacing,
                report=lambda state, progress: relay.tell(Report(job=job.id, layer=job.layer, state=state,
                                                                 progress=progress)),
                may_spend=lambda usd: relay.ask(MaySpend(job=job.id, usd=usd)),
                files=dict(f.rsplit(" ", 1) for f in job.files), cooldown=RelayedCooldown(relay, job.backend))
            work = jobs.Work(job=job, spec=job.spec, deps=deps, backend=backends_for(plan, cache, env).media(
                job.backend), ctx=ctx)
        return await make_asset(plan, cache, work, path, timeout=timeout, journalled=lambda: journalled, warn=warn)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def chunks_on_ray(one_pass: Callable[[range, Path], None], parts: Sequence[tuple[range, Path]]) -> None:
    """The picture's chunks as parallel tasks, a CPU each, on this node: the clips they read and the parts they
    write are in this worker's cache. Even a single chunk is a task: the picture's own task holds no CPU
    (`ray_executor.task_options`), so the encode must not run in it."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    here = NodeAffinitySchedulingStrategy(node_id=ray.get_runtime_context().get_node_id(), soft=False)
    encode = ray.remote(_encode_chunk).options(num_cpus=1, scheduling_strategy=here, max_retries=CHUNK_RETRIES)
    ray.get([encode.remote(one_pass, chunk, part) for chunk, part in parts])


def _encode_chunk(one_pass: Callable[[range, Path], None], chunk: range, part: Path) -> None:
    one_pass(chunk, part)


def _spender(relay: Relay, job: str) -> Callable[[Decimal, CostBasis, str], None]:
    def record(usd: Decimal, basis: CostBasis, note: str) -> None:
        relay.ask(Spend(job=job, usd=usd, basis=basis, note=note))

    return record


def failure(err: BaseException) -> TaskResult:
    """The error as the driver's retry rules read it: gone, transient or not, and its one-line message."""
    if isinstance(err, RemoteGone):
        return TaskResult(error=describe(err), kind="gone")
    if isinstance(err, TimeoutError):
        return TaskResult(error=describe(err), kind="timeout", transient=True)
    if isinstance(err, BackendError):
        return TaskResult(error=describe(err), kind="backend", transient=err.transient)
    if isinstance(err, MediaError):
        return TaskResult(error=describe(err), kind="media")
    if isinstance(err, OSError):
        return TaskResult(error=describe(err), kind="os")
    return TaskResult(error=f"{type(err).__name__}: {describe(err)}", transient=bool(getattr(err, "transient", 0)))


def reraise(result: TaskResult) -> AssetMeta:
    """On the driver: the asset's metadata, or the worker's error raised as the local executor would see it."""
    if result.meta is not None:
        return result.meta
    if result.kind == "gone":
        raise RemoteGone(result.error)
    if result.kind == "timeout":
        raise TimeoutError(result.error)
    if result.kind == "media":
        raise MediaError(result.error)
    if result.kind == "os":
        raise OSError(result.error)
    raise BackendError(result.error, transient=result.transient)


# One per worker process, reused by its tasks: building backends loads their SDKs.
_CACHES: dict[tuple[Placement, tuple[tuple[str, str], ...]], Cache] = {}
_BACKENDS: dict[tuple[str, str, str, tuple[tuple[str, str], ...]], Backends] = {}


def worker_cache(place: Placement, env: Mapping[str, str]) -> Cache:
    """The worker's cache for a placement, under the driver's environment (the store's endpoint, its keys)."""
    mark = (place, tuple(sorted(env.items())))
    if mark not in _CACHES:
        if place.shared is None:
            _CACHES[mark] = Cache(Path(place.root))
        else:
            mirror = hashlib.sha256(place.shared.encode()).hexdigest()[:16]
            _CACHES[mark] = Cache.with_store(Path(tempfile.gettempdir()) / "filmc-worker" / mirror, place.shared)
    return _CACHES[mark]


def backends_for(plan: Plan, cache: Cache, env: Mapping[str, str]) -> Backends:
    """The plan's profile's backends, built as the driver built them (same entry points, same settings)."""
    mark = (plan.profile.model_dump_json(), plan.project_dir, str(cache.root), tuple(sorted(env.items())))
    if mark not in _BACKENDS:
        layers = {layer: plan.profile.layer(layer) for layer in LAYERS}
        _BACKENDS[mark] = Registry.installed().backends(layers, Setup(project_dir=Path(plan.project_dir),
                                                                      cache_dir=cache.root))
    return _BACKENDS[mark]


def _local(cache: Cache, plan: Plan, outcome: JobOutcome) -> JobOutcome:
    """An input's outcome with its path in this worker's cache: fetched from the shared store if need be."""
    if cache.store is None or not outcome.usable or outcome.path is None:   # drawn: no file to fetch
        return outcome
    job = next(j for j in plan.jobs if j.key == outcome.key)
    suffix = jobs.suffix_of(job.spec)
    if cache.meta(job.spec.kind, job.key, suffix) is None:
        raise OSError(f"the input {outcome.job} ({outcome.key[:12]}…) is not in the shared cache {cache.store.url}")
    return outcome.model_copy(update={"path": str(cache.path(job.spec.kind, job.key, suffix))})


@contextlib.contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    """The driver's keys and endpoints for the length of one task (a worker runs one task at a time)."""
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
