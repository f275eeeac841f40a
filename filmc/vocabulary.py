"""Closed vocabularies of the language: the words a director may use for camera and transitions.

They live apart from the grammar so the checker can offer did-you-mean hints and the backends
can map every word to a motion or a filter without re-parsing anything.
"""

from __future__ import annotations

CAMERA_MOVES: tuple[str, ...] = (
    "static",
    "slow-push-in",
    "push-in",
    "pull-out",
    "slow-pull-out",
    "pan-left",
    "pan-right",
    "tilt-up",
    "tilt-down",
    "orbit",
    "aerial-drift",
    "crane-up",
    "crane-down",
    "tracking",
    "handheld",
    "zoom-in",
    "zoom-out",
)

TRANSITIONS: tuple[str, ...] = (
    "cut",
    "crossfade",
    "fade-to-black",
    "fade-from-black",
    "dip-to-white",
    "wipe-left",
    "wipe-right",
)

PACES: dict[str, float] = {
    "very-slow": 0.75,
    "slow": 0.85,
    "measured": 0.92,
    "normal": 1.0,
    "brisk": 1.1,
    "fast": 1.2,
}
