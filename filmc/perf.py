"""Small performance helpers shared by stages."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


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
