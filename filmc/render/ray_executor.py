"""The same Plan on a Ray cluster: every job a Ray task, the driver keeping the journal, the ledger and the budget.

The driver walks the Plan's DAG exactly as the local executor does (it *is* the local executor, with one
method changed): the cache check, the key lock, the budget check before each paid submission, the journal's
start and end, retries with backoff, a failed job failing its dependents. Only making the asset moves: it
becomes a Ray task, scheduled by Ray's resources — ffmpeg and local generators by one CPU each, paid remote
jobs as zero-CPU I/O tasks (their provider's limit is the driver's gate, as locally) — on whichever node has
room, reading its inputs from and writing its output to the cache (the shared store, on a cluster).

Money stays on the driver: a worker asks it for a key's journalled remote id before it creates anything and
waits until the driver has fsynced a new id before it polls (`ray_worker.Courier`, an actor pinned to the driver's
node). Ray re-runs a lost worker's task only for free work: a paid job runs once a task (`max_retries=0`), and a
lost one is the driver's own transient retry, which checks the budget again and resumes a journalled id; lost
before its id was journalled, its estimate goes into the ledger as possibly billed first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any, cast

from filmc.backend.protocol import BackendError
from filmc.backend.registry import Backends
from filmc.errors import UsageError
from filmc.plan.model import Job, Plan
from filmc.render import jobs
from filmc.render.cache import Cache
from filmc.render.events import EventSink, RenderEvent
from filmc.render.executor import Executor, _matches
from filmc.render.gates import Share
from filmc.render.journal import Journal
from filmc.render.ledger import spent
from filmc.render.outcome import AssetMeta, JobOutcome
from filmc.render.ray_worker import (
    CRASH_AFTER_JOURNAL,
    Cool,
    Courier,
    Known,
    MaySpend,
    Placement,
    Refused,
    Remember,
    Report,
    Request,
    Spend,
    TaskResult,
    reraise,
    run_job,
)
from filmc.render.store import store_env

WORKER_RETRIES = 3         # Ray re-runs a free task whose worker died this often; a paid one is never re-run by Ray
DRAIN_SECONDS = 10.0       # at the end, how long the courier's last requests (remote ids) are waited for
UNBOUNDED = 1 << 20        # a gate Ray's resources make redundant


def require_ray() -> ModuleType:
    """Ray, or a usage error that says how to install it (it is an optional extra)."""
    try:
        import ray
    except ImportError:
        raise UsageError("--executor ray needs Ray, an optional extra: pip install 'filmc[ray]'") from None
    return ray


def parse_executor(text: str) -> str | None:
    """None for the local executor; for Ray, the cluster's address ('' for RAY_ADDRESS's, else a new local one)."""
    if text == "local":
        return None
    if text == "ray":
        return ""
    if text.startswith("ray://") and len(text) > len("ray://"):
        return text
    raise UsageError(f"unknown executor `{text}`: use local, ray or ray://HOST:PORT")


def connect(ray: ModuleType, address: str) -> bool:
    """Join (or start) the cluster unless this process already has; True if it did (and so must shut it down)."""
    if ray.is_initialized():
        return False
    try:
        ray.init(address=address or None, include_dashboard=False, log_to_driver=False,
                 logging_level=logging.WARNING)   # filmc's own progress is the output
    except Exception as err:   # a ConnectionError is an OSError: not the disk's, so said here
        where = address or os.environ.get("RAY_ADDRESS") or "a new local cluster"
        raise UsageError(f"cannot start or reach Ray ({where}): {' '.join(str(err).split())}; see "
                         "docs/scale.md") from None
    return True


@contextlib.contextmanager
def session(executor: str) -> Iterator[None]:
    """One cluster for a render of several films (each film's executor then finds it connected)."""
    address = parse_executor(executor)
    if address is None:
        yield
        return
    ray = require_ray()
    started = connect(ray, address)
    try:
        yield
    finally:
        if started:
            ray.shutdown()


class RayExecutor(Executor):
    """The local executor's rules, with each job's making sent to Ray (see the module's docstring)."""

    def __init__(self, plan: Plan, backends: Backends, cache: Cache, journal: Journal, events: EventSink, *,
                 address: str, jobs: int = 4, **options: Any) -> None:
        self.ray = require_ray()
        super().__init__(plan, backends, cache, journal, events, jobs=jobs, **options)
        self.address = address
        self.place = Placement(root=str(cache.root), shared=cache.store.url if cache.store else None)
        self.courier: Any = None
        self.plan_ref: Any = None
        self.task: Any = None
        self.taking: Any = None   # the courier's `take` the pump waits on: its batch is read even at the end
        self.unbounded = asyncio.Semaphore(UNBOUNDED)
        self.gpus_said = False   # a cluster without the GPUs a job needs (yet): said once
        self.refuse_unshared()
        if self.ray.is_initialized():   # `filmc render` joins the cluster first: refused before any folder is made
            self.refuse_without_gpus()

    def env_for(self, job: Job) -> dict[str, str]:
        return forwarded_env(self.backends, job, self.place.shared)

    def gpus(self, job: Job) -> float:
        backend = None if jobs.kind_of(job.spec).assembly else self.backends.media(job.backend)
        return backend.capabilities.gpus if backend is not None else 0.0

    def fan_out_placement(self) -> dict[str, Any]:
        """A picture holds no CPU, so Ray would place it beside the driver, on a head node that may have none;
        its chunks run on its node (where its clips are) and would then never be scheduled. It goes to a node
        with CPUs (`fan_out_node`), softly: if that node is gone, anywhere."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        with contextlib.suppress(Exception):   # a cluster that can't list its nodes: Ray's own placement
            node = fan_out_node(self.ray.nodes(), self.ray.get_runtime_context().get_node_id())
            if node is not None:
                return {"scheduling_strategy": NodeAffinitySchedulingStrategy(node_id=node, soft=True)}
        return {}

    def refuse_without_gpus(self) -> None:
        """A job that needs more GPUs than any node has would wait until such a node joins. The local cluster
        this render starts never grows: refused before any job starts. A cluster of your own may add GPU nodes
        on demand (Ray lists only the nodes that have joined): said once, and the jobs wait for them."""
        wanted = max((self.gpus(job) for job in self.plan.jobs if not job.cached), default=0.0)
        if not wanted or self.gpus_said:
            return
        most = max((node.get("Resources", {}).get("GPU", 0.0) for node in self.ray.nodes() if node.get("Alive")),
                   default=0.0)
        if wanted <= most:
            return
        needs = sorted({job.backend for job in self.plan.jobs if not job.cached and self.gpus(job)})
        short = (f"{', '.join(needs)} needs {wanted:g} GPU a job, and no node of the cluster has "
                 f"{'any' if not most else f'more than {most:g}'}")
        if not self.address and not os.environ.get("RAY_ADDRESS"):
            raise UsageError(f"{short}: this local cluster can't grow; start Ray on a node with GPUs and give its "
                             "address (--executor ray://HOST:PORT or RAY_ADDRESS; docs/scale.md)")
        self.gpus_said = True
        self.events.emit(RenderEvent(kind="note", message=f"{short} yet: its jobs wait until one joins"))

    def refuse_unshared(self) -> None:
        """Without a shared store, an asset made on another node never reaches the driver, and a paid one would be
        paid for again: a `ray://` or multi-node cluster needs one, refused before any job starts."""
        if self.cache.store is not None:
            return
        address = self.address or os.environ.get("RAY_ADDRESS", "")
        where = address if address.startswith("ray://") else None
        if where is None and self.ray.is_initialized():
            with contextlib.suppress(Exception):   # a client connection can't list nodes: its address said so
                alive = [node for node in self.ray.nodes() if node.get("Alive")]
                where = f"a cluster of {len(alive)} nodes" if len(alive) > 1 else None
        if where is not None:
            raise UsageError(f"{where} needs a shared cache: an asset made on another node can't reach this machine "
                             "(and a paid one would be paid for again). Set FILMC_CACHE=s3://bucket/prefix or the "
                             "profile's shared_cache (docs/scale.md)")

    def courier_options(self) -> dict[str, Any]:
        """On the driver's own node, never moved: it holds the remote ids on their way to the journal."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        here = NodeAffinitySchedulingStrategy(node_id=self.ray.get_runtime_context().get_node_id(), soft=False)
        return {"num_cpus": 0, "max_restarts": 0, "scheduling_strategy": here}

    async def run(self) -> dict[str, JobOutcome]:
        ray = self.ray
        started = connect(ray, self.address)
        try:
            self.refuse_unshared()   # now that the cluster's nodes can be counted
            self.refuse_without_gpus()
            # Ray schedules by CPUs across the cluster: --jobs would only hold back what it may already run
            self.gate = asyncio.Semaphore(UNBOUNDED)
            self.courier = ray.remote(Courier).options(**self.courier_options()).remote()
            self.plan_ref = ray.put(self.plan)
            self.task = ray.remote(run_job)
            return await self.watched()
        finally:
            if started:
                ray.shutdown()

    async def watched(self) -> dict[str, JobOutcome]:
        """The jobs, while the pump answers their workers; a pump that stops (the courier lost) fails the render
        rather than leave workers waiting. At the end, however it comes (Ctrl-C too), what the courier still holds
        is answered (a remote id journalled) before the courier goes."""
        pump = asyncio.ensure_future(self.pump())
        work = asyncio.ensure_future(super().run())
        try:
            await asyncio.wait({pump, work}, return_when=asyncio.FIRST_COMPLETED)
            if not work.done():
                work.cancel()   # each job in flight journals `interrupted`; journalled ids stay
                await asyncio.gather(work, return_exceptions=True)
                why = "stopped" if pump.cancelled() or pump.exception() is None else \
                    f"failed: {type(pump.exception()).__name__}: {pump.exception()}"
                raise UsageError(f"the Ray courier that carries the workers' remote ids to this machine {why}; the "
                                 "render stopped. Run the same command again: journalled jobs resume, not paid "
                                 "again") from None
            return work.result()
        finally:
            if not work.done():
                work.cancel()
                await asyncio.gather(work, return_exceptions=True)
            pump.cancel()
            await asyncio.gather(pump, return_exceptions=True)
            await asyncio.to_thread(self.drain)
            with contextlib.suppress(Exception):
                self.ray.kill(self.courier)

    def drain(self) -> None:
        """Answer what the courier still holds: the batch of a `take` in flight, then what is left in its inbox."""
        ray = self.ray
        batches = []
        with contextlib.suppress(Exception):
            ray.get(self.courier.wake.remote(), timeout=DRAIN_SECONDS)
            if self.taking is not None:
                batches.append(ray.get(self.taking, timeout=DRAIN_SECONDS))
            batches.append(ray.get(self.courier.drain.remote(), timeout=DRAIN_SECONDS))
        for batch in batches:
            self.answer_all(batch)

    def layer_gate(self, job: Job) -> asyncio.Semaphore:
        """Local work is bounded by the cluster's CPUs, not by the profile's per-layer count for one machine;
        paid layers and assembly keep theirs."""
        if not job.remote and not jobs.kind_of(job.spec).assembly:
            return self.unbounded
        return super().layer_gate(job)

    async def attempt(self, job: Job, deps: dict[str, JobOutcome], path: Path, share: Share) -> AssetMeta:
        """Made on a worker; the driver waits (cancelling the task if it is interrupted) and, with a shared store,
        copies the result into its own folder for delivery."""
        options = task_options(job, self.gpus(job))
        if jobs.kind_of(job.spec).fans_out:
            options.update(self.fan_out_placement())
        task = self.task.options(**options)
        ref = task.remote(self.plan_ref, job, deps, self.place, self.courier, self.env_for(job), self.timeout(job),
                          os.environ.get(CRASH_AFTER_JOURNAL) or None,
                          self.drawers(job) if jobs.kind_of(job.spec).assembly else {}, not _matches(job, self.force))
        try:
            result = cast(TaskResult, await cast(Awaitable[object], ref))
        except asyncio.CancelledError:
            self.ray.cancel(ref)
            raise
        except self.ray.exceptions.RayError as err:
            raise self.lost(job, err) from None
        if result.warning:
            self.note(job, result.warning)
        if result.reused and job.remote:   # paid for by the render that made it: nothing spent now
            self.ledger.recorder(job.id)(Decimal(0), "actual", f"{job.backend}: made earlier on a worker, shared now")
        meta = reraise(result)
        store = self.cache.store
        if store is not None and await asyncio.to_thread(   # a download: off the loop the pump answers in
                self.cache.meta, job.spec.kind, job.key, jobs.suffix_of(job.spec)) is None:
            raise OSError(f"{job.id} was made, but is not in the shared cache {store.url}")
        if store is None and not path.is_file():
            raise OSError(f"{job.id} was made on a node that doesn't share {self.cache.root}: give the cluster a "
                          "shared cache, FILMC_CACHE=s3://bucket/prefix (docs/scale.md)")
        return meta

    def lost(self, job: Job, err: Exception) -> BackendError:
        """A worker lost mid-task (its node, its process): the driver's own retry makes the job again, checking the
        budget first. A paid job lost before its remote id was journalled may have sent its create: its estimate
        goes into the ledger as possibly billed (less what it entered already), and the journal keeps it so."""
        lost = WorkerLost(f"the Ray worker was lost: {type(err).__name__}")
        if job.remote and self.journal.remote(job.key).state is None:
            entered = spent(e for e in self.ledger.entries if e.job == job.id)
            self.ledger.recorder(job.id)(max(Decimal(0), job.estimated_usd - entered), "possibly-billed",
                                         f"{job.backend}: worker lost mid-create, id never received")
            lost.lost_create = True
        return lost

    async def pump(self) -> None:
        """Answer the workers, one batch of requests at a time, in the driver's own loop (its journal's lock)."""
        while True:
            self.taking = self.courier.take.remote()
            batch = await cast(Awaitable[list[tuple[int, Request | None]]], self.taking)
            self.taking = None
            self.answer_all(batch)

    def answer_all(self, batch: list[tuple[int, Request | None]]) -> None:
        for number, request in batch:
            if request is None:   # the courier's wake-up at the end
                continue
            try:
                reply = self.answer(request)
            except Exception as err:   # the journal's disk full, say: the job fails and says so
                reply = Refused(error=f"{type(err).__name__}: {err}")
            if number:
                self.courier.answer.remote(number, reply)

    def answer(self, request: Request) -> object:
        if isinstance(request, Known):
            return self.journal.remote(request.key).state
        if isinstance(request, Remember):
            self.journal.write("remote", request.job, request.key, remote=request.state)
            return None
        if isinstance(request, Spend):
            self.ledger.recorder(request.job)(request.usd, request.basis, request.note)
            return None
        if isinstance(request, MaySpend):
            return self.budget_refusal(request.usd, "sending it again for")
        if isinstance(request, Report):
            self.events.emit(RenderEvent(kind="remote", job=request.job, layer=request.layer, message=request.state,
                                         progress=request.progress))
            return None
        assert isinstance(request, Cool), request
        cooldown = self.providers.cooldown(request.backend)
        if request.seconds is not None:
            cooldown.hold(request.seconds)
        return cooldown.remaining()


def task_options(job: Job, gpus: float = 0.0) -> dict[str, Any]:
    """A job's Ray resources. A paid job waits on its provider (no CPU) and is never re-run by Ray: a re-run would
    create again unseen (no budget check, no ledger). The picture holds no CPU either: it only hands its chunks to
    tasks of a CPU each and joins their parts by stream copy. A CPU held by a task waiting in `ray.get` on another
    thread is not lent back (measured: the chunks of a 1-CPU picture ran one at a time on two CPUs). `gpus`: what
    the job's backend declares (`Capabilities.gpus`, a local model), so Ray places it on a node that has them."""
    options: dict[str, Any] = {"num_cpus": 0 if job.remote or jobs.kind_of(job.spec).fans_out else 1,
                               "max_retries": 0 if job.remote else WORKER_RETRIES, "retry_exceptions": False}
    if gpus:
        options["num_gpus"] = gpus
    return options


def fan_out_node(nodes: list[dict[str, Any]], here: str) -> str | None:
    """The live node with the most CPUs (this driver's own on a tie, for its cache's sake); None if none has one."""
    able = [n for n in nodes if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) >= 1]
    best = max(able, key=lambda n: (n["Resources"]["CPU"], n.get("NodeID") == here), default=None)
    return str(best["NodeID"]) if best is not None else None


class WorkerLost(BackendError):
    """A Ray worker lost mid-task: transient (the driver's retry), and possibly billed if it was creating."""

    def __init__(self, message: str) -> None:
        super().__init__(message, transient=True)
        self.lost_create = False


def forwarded_env(backends: Backends, job: Job, store: str | None,
                  environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """What one task needs from the driver's environment, and no more: for a job a backend makes, the variables
    that backend declares (its key) and the service endpoints (`*_BASE_URL`); with a shared store, which every task
    reads its inputs from and writes its output to, the store's credentials and endpoint. An ffmpeg task gets no
    provider's key. Workers need no keys of their own; over `ray://` these cross Ray's connection (docs/scale.md)."""
    env: dict[str, str] = {}
    if not jobs.kind_of(job.spec).assembly:
        backend = backends.media(job.backend)
        names = set(backend.capabilities.env) if backend is not None else set()
        env.update({name: value for name, value in environ.items() if name in names or name.endswith("_BASE_URL")})
    if store is not None:
        env.update(store_env(store, environ))
    return env

