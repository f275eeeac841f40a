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

# Where a transition may stand at the film's edges: nothing comes before the first segment or after the last,
# so only a fade (from or to black or white) or a cut makes sense there.
OPENING_TRANSITIONS: tuple[str, ...] = ("cut", "fade-from-black", "dip-to-white")
ENDING_TRANSITIONS: tuple[str, ...] = ("cut", "fade-to-black", "dip-to-white")

# A card's text fades in and out by itself over this long (a quarter of a short card at most): the assembler
# draws it, the checker counts it when it judges how much of a card a transition leaves readable.
CARD_TEXT_FADE_SECONDS = 0.6

PACES: dict[str, float] = {
    "very-slow": 0.75,
    "slow": 0.85,
    "measured": 0.92,
    "normal": 1.0,
    "brisk": 1.1,
    "fast": 1.2,
}

# How each camera word reads in a prompt.
CAMERA_PHRASES: dict[str, str] = {
    "static": "locked-off static camera",
    "slow-push-in": "slow, steady push-in towards the subject",
    "push-in": "push-in towards the subject",
    "pull-out": "pull-out revealing the surroundings",
    "slow-pull-out": "slow pull-out revealing the surroundings",
    "pan-left": "smooth pan to the left",
    "pan-right": "smooth pan to the right",
    "tilt-up": "tilt up",
    "tilt-down": "tilt down",
    "orbit": "slow orbit around the subject",
    "aerial-drift": "high aerial drift, gliding over the scene",
    "crane-up": "crane up, rising above the subject",
    "crane-down": "crane down, descending to the subject",
    "tracking": "lateral tracking shot following the movement",
    "handheld": "subtle handheld camera, intimate and alive",
    "zoom-in": "slow optical zoom in",
    "zoom-out": "slow optical zoom out",
}
