"""The journal's memory of paid jobs: an id is kept until its asset is stored or the user asks for a new job."""

from __future__ import annotations

from pathlib import Path

from filmc.backend.protocol import RemoteState
from filmc.render.journal import Journal

OP = RemoteState(provider="runway", operation="task-1")


def journal_of(tmp_path: Path, *events: str) -> Journal:
    journal = Journal(tmp_path / "journal.jsonl")
    for event in events:
        journal.write(event, "video:s01-sh01", "k1", remote=OP if event == "remote" else None)  # type: ignore[arg-type]
    return journal


def test_an_id_survives_failures_timeouts_and_abandonment(tmp_path: Path) -> None:
    record = journal_of(tmp_path, "start", "remote", "failed", "abandoned", "start", "interrupted").remote("k1")
    assert record.state == OP and not record.gone and not record.unconfirmed


def test_a_stored_asset_or_a_recreate_forgets_it(tmp_path: Path) -> None:
    assert journal_of(tmp_path, "start", "remote", "done").remote("k1").state is None
    gone = journal_of(tmp_path / "g", "start", "remote", "failed", "remote_gone").remote("k1")
    assert gone.gone and gone.state == OP
    assert journal_of(tmp_path / "r", "start", "remote", "remote_gone", "recreate").remote("k1").state is None


def test_a_start_with_no_id_after_it_is_a_possible_orphan(tmp_path: Path) -> None:
    assert journal_of(tmp_path, "start").remote("k1").unconfirmed           # killed during the create
    assert journal_of(tmp_path / "i", "start", "interrupted").remote("k1").unconfirmed
    assert not journal_of(tmp_path / "f", "start", "failed").remote("k1").unconfirmed   # it failed, knowingly
    assert not journal_of(tmp_path / "d", "start", "remote").remote("k1").unconfirmed


def test_a_torn_last_line_is_skipped_and_older_journals_still_read(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_text('{"ts": 1.0, "event": "remote", "job": "v", "key": "k1", "remote_id": "legacy-7"}\n'
                    '{"ts": 2.0, "event": "do', "utf-8")
    record = Journal(path).remote("k1")
    assert record.state is not None and record.state.operation == "legacy-7"
