"""Making one asset, wherever it runs: produce into a temp file beside it, verify, record, move it in place, and
only then put it in the shared store (a store that fails costs a warning, never the verified, perhaps paid, asset).

The local executor calls this in its own process and a Ray worker calls it in its own; both go through one
function so an asset made on a cluster is checked, and stored, exactly as one made here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from filmc.assemble.media import MediaError
from filmc.backend.protocol import VoiceResult
from filmc.backend.remote import RemoteGone
from filmc.errors import StorageError
from filmc.files import atomic_path_async
from filmc.plan.model import Plan, Spec
from filmc.render import jobs
from filmc.render.cache import Cache
from filmc.render.outcome import AssetMeta


async def make_asset(plan: Plan, cache: Cache, work: jobs.Work[Spec], path: Path, *, timeout: float | None,
                     journalled: Callable[[], bool], warn: Callable[[str], None] | None = None) -> AssetMeta:
    """`path` appears whole and verified, with its sidecar (size and sha256), or not at all. `journalled`: whether
    a paid job's id is in the journal, so a result that fails verification is the provider's (resuming can't mend
    it: RemoteGone), not a transient fault worth paying again for. `warn`: told when the shared store would not take
    the asset (it stays here, made: the job is not made again for it)."""
    job = work.job
    async with atomic_path_async(path) as tmp:
        result = await asyncio.wait_for(jobs.produce(work, tmp), timeout=timeout)
        try:
            verified = await jobs.verify(job.spec, plan, tmp, result)
        except MediaError as err:
            if job.remote and journalled():
                raise RemoteGone(f"what the provider made failed verification: {describe(err)}") from None
            raise
        meta = AssetMeta(job=job.id, key=job.key, size=tmp.stat().st_size, duration=verified.duration,
                         words=result.words if isinstance(result, VoiceResult) else (), lufs=verified.lufs,
                         true_peak=verified.true_peak)
        cache.record(job.spec.kind, meta, tmp)   # with its sha256: a same-size corruption is no hit
    # in place here first, then the store: its failure must not throw away what was verified (and paid for)
    try:
        await asyncio.to_thread(cache.publish, job.spec.kind, job.key, jobs.suffix_of(job.spec))
    except StorageError as err:
        if warn is None:
            raise
        warn(f"kept in the local cache, not shared: {err}")
    return meta


def describe(err: BaseException) -> str:
    """An error in one line, for the journal and the user."""
    if isinstance(err, TimeoutError):
        return "timed out"
    return " ".join(str(err).split()) or type(err).__name__
