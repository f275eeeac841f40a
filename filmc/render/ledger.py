"""Money is a ledger, not an estimate: every billed or possibly billed attempt of a render, failed ones too."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal

from filmc.backend.protocol import CostBasis
from filmc.model import Model


class LedgerEntry(Model):
    job: str
    usd: Decimal
    basis: CostBasis
    what: str


class Ledger:
    """Collected while the render runs, from each remote job's context; written into the manifest."""

    def __init__(self) -> None:
        self.entries: list[LedgerEntry] = []

    def recorder(self, job: str) -> Callable[[Decimal, CostBasis, str], None]:
        def record(usd: Decimal, basis: CostBasis, what: str) -> None:
            self.entries.append(LedgerEntry(job=job, usd=usd, basis=basis, what=what))

        return record

    def has(self, job: str) -> bool:
        return any(e.job == job for e in self.entries)


def spent(entries: Iterable[LedgerEntry]) -> Decimal:
    """What the render cost as best known: a job's actual charges replace its estimate; attempts that may
    have been billed always count (the provider may have charged for them)."""
    by_job: dict[str, list[LedgerEntry]] = {}
    for entry in entries:
        by_job.setdefault(entry.job, []).append(entry)
    total = Decimal(0)
    for job_entries in by_job.values():
        actual = [e.usd for e in job_entries if e.basis == "actual"]
        counted = actual or [e.usd for e in job_entries if e.basis == "estimated"]
        total += sum(counted, Decimal(0)) + sum((e.usd for e in job_entries if e.basis == "possibly-billed"),
                                                Decimal(0))
    return total
