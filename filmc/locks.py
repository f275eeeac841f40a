"""One writer per job across processes: two renders of one project never make, or pay for, one key twice."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from filelock import FileLock, Timeout


@contextlib.asynccontextmanager
async def key_lock(root: Path, key: str, on_wait: Callable[[], None], *, poll: float = 0.2) -> AsyncIterator[None]:
    """Hold `<root>/locks/<key>.lock` while a job is made. If another process holds it, say so once and
    wait without blocking the event loop (Ctrl-C still interrupts); the caller then re-checks the cache."""
    path = root / "locks" / f"{key}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    # One lock object per path in this process (re-entrant): a render interrupted inside a task can leave
    # its hold behind without blocking a later render in the same process; other processes still wait.
    lock = FileLock(path, thread_local=False, is_singleton=True)
    waited = False
    while True:
        try:
            lock.acquire(blocking=False)
            break
        except Timeout:
            if not waited:
                on_wait()
                waited = True
            await asyncio.sleep(poll)
    try:
        yield
    finally:
        lock.release()
