"""Plan -> assets: an asyncio executor over the job graph, with a content-addressed cache and a journal.

Rules that make it trustworthy: a cached asset is reused, never re-made; an asset appears whole or
not at all (temp file, verify, `os.replace`); a remote job's id is journalled before waiting; a
failed job fails its dependents, not its siblings; a transient failure is retried with backoff.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from filmc.assemble import measure_loudness
from filmc.assemble.media import MediaError, count_frames, probe, terminate_running, verify_media
from filmc.backend.protocol import BackendError, RenderContext, VoiceResult
from filmc.model import Model
from filmc.plan.planner import Job, MixSpec, MusicSpec, PictureSpec, Plan, VideoSpec, VoiceSpec
from filmc.render.cache import Cache, write_text_atomic
from filmc.render.events import EventSink, RenderEvent
from filmc.render.journal import Journal

Status = Literal["made", "cached", "failed", "skipped"]


class AssetMeta(Model):
    """Beside every cached asset: what verification saw, so a later hit is checked without decoding."""

    job: str
    key: str
    size: int
    duration: float
    words: tuple[dict[str, Any], ...] = ()
    lufs: float | None = None        # the final mux's integrated loudness and true peak, for QA;
    true_peak: float | None = None   # None for silence (-inf is not JSON)


class JobOutcome(Model):
    job: str
    key: str
    status: Status
    path: str | None = None
    seconds: float = 0.0
    attempts: int = 0
    usd: Decimal = Decimal(0)
    error: str | None = None
    duration: float = 0.0


class JobFailed(Exception):
    """A job that could not be made; its dependents are skipped, its siblings go on."""


class Executor:
    """Runs one Plan; backends come keyed by name, `ffmpeg` being the assembler."""

    def __init__(self, plan: Plan, backends: dict[str, Any], cache: Cache, journal: Journal, events: EventSink,
                 *, jobs: int = 4, force: frozenset[str] = frozenset(), retries: int = 3,
                 backoff: float = 1.0) -> None:
        self.plan, self.backends, self.cache, self.journal = plan, backends, cache, journal
        self.events, self.force, self.retries, self.backoff = events, force, retries, backoff
        self.gate = asyncio.Semaphore(max(1, jobs))
        self.layer_gates: dict[str, asyncio.Semaphore] = {}
        self.tasks: dict[str, asyncio.Task[JobOutcome]] = {}
        self.by_key: dict[str, asyncio.Task[JobOutcome]] = {}
        self.workdir = cache.root / "work"
        self.project = Path(plan.project_dir)

    def layer_gate(self, job: Job) -> asyncio.Semaphore:
        """Per-backend concurrency from the profile; the picture and the sound are assembled side by side."""
        name = f"assemble:{job.spec.kind}" if job.layer == "assemble" else job.layer
        if name not in self.layer_gates:
            limit = 1 if job.layer == "assemble" else self.plan.profile.layer(job.layer).concurrency
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
        blocked = [d.job for d in deps if d.status in ("failed", "skipped")]
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
        if not self.cache.has(job.spec.kind, job.key):
            return None
        try:
            return load_meta(self.cache, job)
        except (OSError, ValueError):
            return None

    async def make(self, job: Job, deps: dict[str, JobOutcome]) -> JobOutcome:
        path = self.cache.path(job.spec.kind, job.key)
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
        """Produce into a temp file beside the asset, verify it, write its metadata, then move it in place."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{uuid.uuid4().hex}.part{path.suffix}")
        work = self.workdir / uuid.uuid4().hex
        work.mkdir(parents=True, exist_ok=True)
        try:
            produce = self.producer(job, deps, work)
            timeout = self.timeout(job)
            result = await asyncio.wait_for(produce(tmp), timeout=timeout)
            duration = await asyncio.to_thread(self.verify, job, tmp)
            words = tuple(w.model_dump() for w in result.words) if isinstance(result, VoiceResult) else ()
            levels: dict[str, float | None] = {}
            if job.spec.kind == "mux":  # measured once, when made; a cached film's QA reads it back
                measured = await asyncio.to_thread(measure_loudness, tmp)
                levels = {"lufs": _finite(measured.integrated), "true_peak": _finite(measured.true_peak)}
            meta = AssetMeta(job=job.id, key=job.key, size=tmp.stat().st_size, duration=duration, words=words,
                             **levels)
            write_text_atomic(self.cache.sidecar(job.spec.kind, job.key), meta.model_dump_json())
            os.replace(tmp, path)
            return meta
        finally:
            tmp.unlink(missing_ok=True)
            _remove_tree(work)

    def timeout(self, job: Job) -> float | None:
        return None if job.layer == "assemble" else self.plan.profile.layer(job.layer).timeout

    def producer(self, job: Job, deps: dict[str, JobOutcome], work: Path) -> Callable[[Path], Awaitable[Any]]:
        spec = job.spec
        if isinstance(spec, VideoSpec | VoiceSpec | MusicSpec):
            backend = self.backends[job.backend]
            pending = self.journal.pending_remote_id(job.key) if job.remote else None

            def remember(remote_id: str) -> None:
                self.journal.write("remote", job.id, job.key, remote_id=remote_id)

            ctx = RenderContext(workdir=work, journal_remote_id=remember, known_remote_id=pending)
            request = spec.request
            return lambda out: backend.render(request, out, ctx)
        from filmc.render import assembly

        if isinstance(spec, PictureSpec):
            return lambda out: assembly.picture(spec, deps, self.plan, out, work)
        if isinstance(spec, MixSpec):
            return lambda out: assembly.mix(spec, deps, out)
        return lambda out: assembly.mux(deps, out)

    def verify(self, job: Job, path: Path) -> float:
        """It decodes, has the streams it should, and lasts as long as the plan says; returns its duration."""
        spec = job.spec
        fps = self.plan.film.timeline.fps_num / self.plan.film.timeline.fps_den
        if isinstance(spec, VideoSpec):
            if spec.request.source_file:  # a user's clip: any length, conformed later
                verify_media(path, expect_video=True, expect_audio=False, duration=None, tolerance=0)
            else:
                verify_media(path, expect_video=True, expect_audio=False, duration=spec.request.seconds,
                             tolerance=1.5 / fps + 0.05)
        elif isinstance(spec, VoiceSpec | MusicSpec):
            expected = None if isinstance(spec, VoiceSpec) or spec.request.source_file else spec.request.duration
            verify_media(path, expect_video=False, expect_audio=True, duration=expected, tolerance=0.05)
        elif isinstance(spec, PictureSpec):
            self.verify_frames(path, spec.frames, audio=False)
        elif isinstance(spec, MixSpec):
            verify_media(path, expect_video=False, expect_audio=True, duration=self.plan.film.timeline.duration,
                         tolerance=1.01 / fps + 0.03)
        else:  # the mux copies an already verified picture: count its packets rather than decode 2,880 frames
            self.verify_frames(path, self.plan.film.timeline.frames, audio=True)
        return probe(path).duration

    @staticmethod
    def verify_frames(path: Path, frames: int, *, audio: bool) -> None:
        """Our own encodes: every frame is there (counted by stream copy, no decode) and the streams are right."""
        info = probe(path)
        if info.video is None or (audio and info.audio is None):
            raise MediaError(f"{path} lacks a {'video' if info.video is None else 'audio'} stream")
        counted = count_frames(path)
        if counted != frames:
            raise MediaError(f"{path} has {counted} frames, the plan has {frames}")


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _describe(err: BaseException) -> str:
    if isinstance(err, TimeoutError):
        return "timed out"
    return " ".join(str(err).split()) or type(err).__name__


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


STALE_PART_SECONDS = 6 * 3600


def clean_stale_parts(cache: Cache, now: float | None = None) -> int:
    """Temp files a killed render left behind, once they are old: a young one may be another render's."""
    removed = 0
    cutoff = (now or time.time()) - STALE_PART_SECONDS
    if cache.root.is_dir():
        for stale in cache.root.rglob(".*.part*"):
            try:
                if stale.stat().st_mtime < cutoff:
                    stale.unlink(missing_ok=True)
                    removed += 1
            except OSError:
                continue
    return removed


def load_meta(cache: Cache, job: Job) -> AssetMeta:
    return AssetMeta.model_validate(json.loads(cache.sidecar(job.spec.kind, job.key).read_text("utf-8")))
