"""What rendering a job leaves: the outcome the executor reports, and the metadata stored beside each asset."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from filmc.backend.protocol import WordTiming
from filmc.model import Model

# drawn: a previz clip the picture pass draws in place (`Job.drawn`): there is no file, and none is needed
Status = Literal["made", "cached", "drawn", "failed", "skipped"]


class AssetMeta(Model):
    """Beside every cached asset: what verification saw, so a later hit is checked without decoding."""

    job: str
    key: str
    size: int
    duration: float
    words: tuple[WordTiming, ...] = ()
    lufs: float | None = None        # the final mux's integrated loudness and true peak, for QA;
    true_peak: float | None = None   # None for silence (-inf is not JSON)


class JobOutcome(Model):
    job: str
    key: str
    status: Status
    path: str | None = None
    seconds: float = 0.0
    attempts: int = 0
    usd: Decimal = Decimal(0)
    error: str | None = None
    duration: float = 0.0

    @property
    def usable(self) -> bool:
        """What depends on it can go ahead: its asset was made now or found in the cache, or it needs none."""
        return self.status in ("made", "cached", "drawn")
