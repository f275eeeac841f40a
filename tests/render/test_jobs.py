"""The job kinds table covers every kind a plan can hold, and nothing else decides how a kind is made."""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path

import pytest

from filmc.plan.model import JobSpec
from filmc.render.jobs import KINDS
from tests.conftest import ROOT


def spec_classes() -> dict[str, type]:
    union = typing.get_args(JobSpec)[0]   # Annotated[Union[...], discriminator]
    return {cls.model_fields["kind"].default: cls for cls in typing.get_args(union)}


def test_every_kind_of_job_has_exactly_one_entry() -> None:
    assert {kind: entry.spec for kind, entry in KINDS.items()} == spec_classes()


def test_suffixes_are_media_extensions() -> None:
    assert {entry.suffix for entry in KINDS.values()} <= {".mp4", ".wav"}


def test_no_kind_is_dispatched_outside_the_table() -> None:
    """A new kind must be one entry: no module but the table and the plan's own builder tests a spec's kind."""
    allowed = {Path("filmc/render/jobs.py"), Path("filmc/plan/model.py"), Path("filmc/plan/planner.py")}
    pattern = re.compile(r"isinstance\([^)]*(VideoSpec|VoiceSpec|MusicSpec|PictureSpec|MixSpec|MuxSpec)"
                         r"|spec\.kind\s*(==|!=|in\s)")
    offenders = [f"{path.relative_to(ROOT)}:{n}" for path in sorted((ROOT / "filmc").rglob("*.py"))
                 if path.relative_to(ROOT) not in allowed
                 for n, line in enumerate(path.read_text("utf-8").splitlines(), start=1) if pattern.search(line)]
    assert offenders == []


def test_the_mux_hands_its_own_loudness_reading_to_verification(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the mux read of the sound it encoded is the film's reading; only without one is the file measured."""
    from filmc.assemble.audio import Loudness
    from filmc.assemble.media import MediaInfo
    from filmc.render import jobs

    measured: list[Path] = []

    def measure(path: Path) -> Loudness:
        measured.append(path)
        return Loudness(integrated=-20.0, true_peak=-3.0, lra=1.0)

    monkeypatch.setattr(jobs, "_verify_frames", lambda path, frames, audio: MediaInfo(
        duration=4.0, video=None, audio=None, video_streams=1, audio_streams=1))
    monkeypatch.setattr(jobs, "measure_loudness", measure)
    plan = types.SimpleNamespace(film=types.SimpleNamespace(timeline=types.SimpleNamespace(frames=96)))
    heard = Loudness(integrated=-16.0, true_peak=-1.9, lra=4.0)
    verify = KINDS["mux"].verify
    got = verify(None, plan, Path("film.mp4"), heard)   # type: ignore[arg-type]
    assert (got.lufs, got.true_peak, measured) == (-16.0, -1.9, [])
    got = verify(None, plan, Path("film.mp4"), None)   # type: ignore[arg-type]
    assert (got.lufs, got.true_peak, measured) == (-20.0, -3.0, [Path("film.mp4")])
