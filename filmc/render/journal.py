"""The render journal: an append-only, fsynced log of job starts, remote ids and ends.

A remote job's id is written here *before* filmc waits for it, so a crashed or interrupted render
resumes by polling the same remote job instead of paying for a new one.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Literal

from filmc.model import Model

Event = Literal["start", "remote", "done", "failed", "abandoned", "interrupted"]


class JournalEntry(Model):
    ts: float
    event: Event
    job: str
    key: str
    remote_id: str | None = None
    detail: str | None = None


class Journal:
    """One JSON line per event; each line is flushed and fsynced before the call returns."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, event: Event, job: str, key: str, *, remote_id: str | None = None,
              detail: str | None = None) -> None:
        entry = JournalEntry(ts=round(time.time(), 3), event=event, job=job, key=key, remote_id=remote_id,
                             detail=detail)
        line = entry.model_dump_json(exclude_none=True) + "\n"
        with self._lock, open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())

    def entries(self) -> list[JournalEntry]:
        """Every readable entry; a torn last line (a crash mid-write) is skipped, not fatal."""
        if not self.path.is_file():
            return []
        out = []
        for line in self.path.read_text("utf-8").splitlines():
            try:
                out.append(JournalEntry.model_validate(json.loads(line)))
            except (ValueError, TypeError):
                continue
        return out

    def pending_remote_id(self, key: str) -> str | None:
        """The remote job started for this key and never finished: resume it rather than start another."""
        remote: str | None = None
        for entry in self.entries():
            if entry.key != key:
                continue
            if entry.event == "remote":
                remote = entry.remote_id
            elif entry.event in ("done", "abandoned"):  # finished, or failed for good: start afresh next time
                remote = None
        return remote
