"""Small performance helpers shared by stages."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar


@contextmanager
def gc_paused() -> Iterator[None]:
    """Building a big acyclic tree makes CPython's cycle collector rescan it over and over (a 1,000-scene
    film parsed 40 % slower, and non-linearly); pause it for the build and restore the previous state."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, with the result handed back through a box rather than as the main task's result.

    On the way out CPython 3.11 formats the repr of the finished main task, result included (a
    signal-handler check builds a ValueError message from it); for a 1,000-scene Plan that repr
    cost two seconds, more than the compile itself.
    """
    box: list[T] = []

    async def main() -> None:
        box.append(await coro)

    asyncio.run(main())
    return box[0]
