"""What verification reads and what it says: frozen values, so the manifest can carry them as they are."""

from __future__ import annotations

from decimal import Decimal

from filmc.check.resolved import ResolvedExpectation
from filmc.model import Model


class SpokenLine(Model):
    """A narration line as the render voiced it: its place on the film's clock and its measured length."""

    beat_id: str
    scene_id: str
    text: str          # as voiced and subtitled, without markup
    start: float
    duration: float


class Rendered(Model):
    """What a render delivered, as the expectations read it: files and money, not intentions."""

    film: str | None   # the film file; None when the render couldn't make it
    subtitles: str     # the SRT file as written
    lines: tuple[SpokenLine, ...] = ()
    usd: Decimal = Decimal(0)   # what this render spent, from its ledger (billed or possibly billed)
    store: str | None = None    # a folder keeping the measurements of unchanged files (the cache's `measured/`)
    # (integrated LUFS, true peak dBTP) the render already measured of this very file, the film's own sidecar:
    # ebur128 isn't run over it a second time; None for either reading means silence
    loudness: tuple[float | None, float | None] | None = None


class Run(Model):
    """A stretch of black picture or silence that ffmpeg found, in seconds on the film's clock."""

    start: float
    end: float

    @property
    def length(self) -> float:
        return self.end - self.start


class Measurements(Model):
    """What one ffmpeg pass (and a header read) found in the film file; None where nothing was asked or heard."""

    duration: float
    integrated_lufs: float | None = None
    true_peak_dbtp: float | None = None
    black: tuple[Run, ...] = ()
    silence: tuple[Run, ...] = ()


class ExpectationResult(Model):
    """One `expect` line after a render: the reading, whether it passes, and both in words for people."""

    expectation: ResolvedExpectation
    passed: bool
    reading: float | None = None   # None: it couldn't be measured (no film, no sound)
    measured: str                  # e.g. "-23.4 LUFS", "black for 1.50s from 0:02.00"
    hint: str | None = None        # what to change, for a failure
