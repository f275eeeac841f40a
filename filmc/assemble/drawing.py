"""A clip ffmpeg draws on the fly (previz): the shape a drawing backend hands the picture pass.

Kept apart from `video` so the backend protocol can name it without loading the assembler.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from filmc.model import Model


class Drawing(Model):
    """A still world and the motion over it, as two ffmpeg filter chains.

    The picture pass grades `world` once (one frame), then runs `motion` over it for every frame: a
    still world under a moving camera costs the grade of one frame, not of every frame.
    """

    world: str    # a source chain (no inputs) ending in one yuv420p frame: the scene the camera looks at
    motion: str   # holds that frame, moves the camera over it and draws the words, at the picture's size


# (width, height, textdir) -> one clip as ffmpeg draws it: a drawing backend's `drawing` bound to its request
Drawer = Callable[[int, int, Path], Drawing]
