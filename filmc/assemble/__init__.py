"""The assemble stage: conformed, graded picture plus a mixed, normalised soundtrack make the film.

The picture and the sound are built apart and married last by `mux`, which copies the picture
stream, so a narration or music edit re-runs `mix_audio` and `mux` and never re-encodes a frame.
The picture side lives in `video` (with `grade` and `cards`), the sound side in `audio`; this
package is the stage's one import. Its names load on first use: `filmc.assemble.media` alone (what
verifying an asset needs) stays cheap, and numpy comes only with the picture or the grade.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from filmc.assemble.audio import (
        SAMPLE_RATE,
        Loudness,
        NarrationPlacement,
        measure_loudness,
        measure_window_rms,
        mix_audio,
    )
    from filmc.assemble.grade import write_lut
    from filmc.assemble.muxer import mux
    from filmc.assemble.video import (
        Card,
        Encoding,
        Format,
        PictureSegment,
        Transition,
        check_timeline,
        conform_segment,
        handles,
        render_picture,
        x264_args,
    )

_HOME = {
    "SAMPLE_RATE": "audio", "Loudness": "audio", "NarrationPlacement": "audio", "measure_loudness": "audio",
    "measure_window_rms": "audio", "mix_audio": "audio", "write_lut": "grade", "mux": "muxer", "Card": "video",
    "Encoding": "video", "Format": "video", "PictureSegment": "video", "Transition": "video", "check_timeline": "video",
    "conform_segment": "video", "handles": "video", "render_picture": "video", "x264_args": "video",
}
__all__ = [  # the same names as _HOME, spelled out for the type checker
    "SAMPLE_RATE", "Card", "Encoding", "Format", "Loudness", "NarrationPlacement", "PictureSegment", "Transition",
    "check_timeline", "conform_segment", "handles", "measure_loudness", "measure_window_rms", "mix_audio", "mux",
    "render_picture", "write_lut", "x264_args",
]


def __getattr__(name: str) -> Any:
    """PEP 562: each name is imported from its module the first time it is asked for."""
    if name in _HOME:
        return getattr(importlib.import_module(f"filmc.assemble.{_HOME[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
