"""The check stage: IR -> the resolved film (semantic rules, timeline, palette), with diagnostics.

`check` and `load` load on first use, so the later stages importing `filmc.check.resolved` pay for the
models only, as before the stage had a front door.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from filmc.check.loader import load
    from filmc.check.rules import check

__all__ = ["check", "load"]


def __getattr__(name: str) -> Any:
    """PEP 562: the stage's entry points, imported when first asked for."""
    if name == "check":
        from filmc.check.rules import check

        return check
    if name == "load":
        from filmc.check.loader import load

        return load
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
