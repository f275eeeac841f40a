"""The render journal: an append-only, fsynced log of job starts, remote jobs and ends.

A remote job's id is written here *before* filmc waits for it, so a crashed or interrupted render
resumes by polling the same remote job instead of paying for a new one. An id is forgotten only when
its asset is stored (`done`) or the user asks for a new job (`recreate`): not on a timeout, not when
the attempts run out, not when the provider reports the job gone (that is recorded, `remote_gone`).
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Literal

from filmc.backend.protocol import RemoteState
from filmc.files import name_storage_error
from filmc.model import Model

Event = Literal["start", "remote", "done", "failed", "abandoned", "interrupted", "remote_gone", "recreate"]


class JournalEntry(Model):
    ts: float
    event: Event
    job: str
    key: str
    remote: RemoteState | None = None
    remote_id: str | None = None   # journals written before remote states were structured
    detail: str | None = None
    lost_create: bool | None = None   # a `failed` whose create may have been sent (a lost worker)


class RemoteRecord(Model):
    """What the journal knows of a key's paid job."""

    state: RemoteState | None = None   # the job to poll instead of creating one
    gone: bool = False                 # the provider failed or forgot it: only --recreate pays again
    unconfirmed: bool = False          # a create was started and no id came back: it may exist, unbilled or not
    lost_create: bool = False          # one such create is known to have been sent: only an id or the asset clears it


class Journal:
    """One JSON line per event; each line is flushed and fsynced before the call returns."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, event: Event, job: str, key: str, *, remote: RemoteState | None = None,
              detail: str | None = None, lost_create: bool = False) -> None:
        """Append one line in one write, and fsync it. If the journal ends in a torn line (a crash or a full
        disk mid-write), a newline ends it first: else this entry, a paid job's id say, would be glued to
        the torn one and lost with it."""
        entry = JournalEntry(ts=round(time.time(), 3), event=event, job=job, key=key, remote=remote, detail=detail,
                             lost_create=lost_create or None)
        line = (entry.model_dump_json(exclude_none=True) + "\n").encode("utf-8")
        with self._lock:
            try:
                with open(self.path, "a+b") as fh:
                    end = fh.seek(0, os.SEEK_END)
                    if end and fh.seek(end - 1) >= 0 and fh.read(1) != b"\n":
                        line = b"\n" + line
                    fh.write(line)   # appended, wherever the reading left the position
                    fh.flush()
                    os.fsync(fh.fileno())
            except OSError as err:
                name_storage_error(err, self.path)
                raise

    def entries(self) -> list[JournalEntry]:
        """Every readable entry; a torn line (a crash mid-write) or a damaged one is skipped, not fatal."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        out = []
        for line in data.splitlines():
            try:
                out.append(JournalEntry.model_validate(json.loads(line)))
            except (ValueError, TypeError):   # UnicodeDecodeError too: a byte torn out of a character
                continue
        return out

    def remote(self, key: str) -> RemoteRecord:
        """The paid job started for this key and not yet stored: resume it rather than start another."""
        return self.records().get(key, RemoteRecord())

    def records(self) -> dict[str, RemoteRecord]:
        """Every key's record, in one read of the journal."""
        records: dict[str, RemoteRecord] = {}
        for entry in self.entries():
            record = records.get(entry.key, RemoteRecord())
            if entry.event == "remote":
                state = entry.remote or (RemoteState(provider="", operation=entry.remote_id)
                                         if entry.remote_id else None)
                record = RemoteRecord(state=state)
            elif entry.event == "remote_gone":
                record = record.model_copy(update={"gone": True})
            elif entry.event in ("done", "recreate"):
                record = RemoteRecord()
            elif entry.event == "start":
                record = record.model_copy(update={"unconfirmed": record.state is None})
            elif entry.event in ("failed", "abandoned") and record.state is None and entry.lost_create:
                record = record.model_copy(update={"unconfirmed": True, "lost_create": True})
            elif entry.event in ("failed", "abandoned") and record.state is None and not record.lost_create:
                record = record.model_copy(update={"unconfirmed": False})  # it failed before creating
            records[entry.key] = record
        return records
