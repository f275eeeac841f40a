"""The verify stage: the rendered film measured against the film's own `expect` lines.

It runs after delivery, on what was delivered (the film file, its subtitles, what the ledger spent), never
on the plan's intentions: `verify` reads, `failures` turns each unmet expectation into a diagnostic at its
line. Delivery calls it before writing the manifest, so the manifest carries every verdict.
"""

from __future__ import annotations

from filmc.verify.judge import failures, verify
from filmc.verify.model import ExpectationResult, Rendered, SpokenLine

__all__ = ["ExpectationResult", "Rendered", "SpokenLine", "failures", "verify"]
