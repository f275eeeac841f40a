"""Runway through the real runwayml SDK, pointed at the loopback fake: each shot paid for once, faults included."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from filmc.assemble.media import count_frames
from filmc.cli.progress import PlainEvents
from filmc.deliver.outputs import RenderSummary
from filmc.pipeline import compile_film, render_film
from filmc.plan.model import VideoSpec
from tests.fakes.runway_fake import DropAfterCreating, FailAfterCreating, FakeRunway, Refuse
from tests.filmc_backends.final import hello_project, render_final

KEY = "rw-test-6b1f0c1e-secret-value"
PROFILE = """
[profile.final.video.pacing]
first_poll = 0.05
create_backoff = 0.05
[profile.final.expand]
backend = "template"
[profile.final.voice]
backend = "espeak"
[profile.final.music]
backend = "synth"
"""


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeRunway]:
    with FakeRunway(api_key=KEY) as server:
        monkeypatch.setenv("RUNWAYML_API_SECRET", KEY)
        monkeypatch.setenv("RUNWAYML_BASE_URL", server.base_url)
        yield server


def project(root: Path, video: str = "") -> Path:
    """hello.film under `final` with Runway making the video; `video`: more settings for that layer."""
    return hello_project(root, f'[profile.final.video]\nbackend = "runway"\nmodel = "gen4.5"\n{video}' + PROFILE)


def render(film: Path) -> RenderSummary:
    return render_final(film)


def status(summary: RenderSummary) -> dict[str, str]:
    return {o.job: o.status for o in summary.outcomes}


def test_a_final_render_pays_for_each_shot_once(fake: FakeRunway, tmp_path: Path) -> None:
    film = project(tmp_path)
    summary = render(film)
    assert set(status(summary).values()) == {"made"}
    assert len(fake.creates) == 3 and {c["model"] for c in fake.creates} == {"gen4.5"}
    plan, _ = asyncio.run(compile_film(film, "final"))
    fitted = sorted(round(spec.request.seconds) for _, spec in plan.specs(VideoSpec))
    assert {c["ratio"] for c in fake.creates} == {"1280:720"} and sorted(c["duration"] for c in fake.creates) == fitted
    assert count_frames(tmp_path / "out" / "hello.mp4") == 192
    actual = [e for e in summary.manifest.ledger if e.basis == "actual"]
    assert len(actual) == 3 and summary.manifest.qa.ledger_usd == sum((e.usd for e in actual), Decimal(0))
    again = render(film)
    assert set(status(again).values()) == {"cached"} and len(fake.creates) == 3  # unchanged film: no request
    assert fake.requests["create"] == 3


def test_refusals_ambiguity_and_cut_downloads_cost_no_extra_job(fake: FakeRunway, tmp_path: Path) -> None:
    fake.create_script.extend([Refuse(429, "0"), FailAfterCreating()])
    fake.cut_downloads = 1
    summary = render(project(tmp_path))
    assert set(status(summary).values()) == {"made"}
    # the 429 made nothing; the 500 made a task we could not see, so one shot was created twice and both
    # attempts are in the ledger; the cut download was fetched again, not re-created
    assert len(fake.creates) == 4 and fake.requests["create"] == 5
    assert [e.basis for e in summary.manifest.ledger].count("possibly-billed") == 1


def test_a_dropped_connection_after_the_create_is_ambiguous(fake: FakeRunway, tmp_path: Path) -> None:
    fake.create_script.extend([DropAfterCreating(), DropAfterCreating()])
    summary = render(project(tmp_path, "concurrency = 1\n"))  # both drops hit shot 1
    failed = [o for o in summary.outcomes if o.status == "failed"]
    assert [o.job for o in failed] == ["video:s01-sh01"]
    assert "each possibly billed" in (failed[0].error or "")
    assert fake.creates_for("An orb floats") == 2  # create_retries = 1: never a third paid attempt


def test_create_retries_comes_from_the_profile(fake: FakeRunway, tmp_path: Path) -> None:
    fake.create_script.append(DropAfterCreating())
    summary = render(project(tmp_path, "concurrency = 1\ncreate_retries = 0\n"))
    failed = [o for o in summary.outcomes if o.status == "failed"]
    assert [o.job for o in failed] == ["video:s01-sh01"]
    assert fake.creates_for("An orb floats") == 1  # the user asked for no second paid attempt


def test_the_profile_s_base_url_beats_the_environment(fake: FakeRunway, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNWAYML_BASE_URL", "http://127.0.0.1:9")   # nothing listens there
    summary = render(project(tmp_path, f'base_url = "{fake.base_url}"\n'))
    assert set(status(summary).values()) == {"made"} and len(fake.creates) == 3


def test_a_shot_runway_fails_is_not_bought_again_unasked(fake: FakeRunway, tmp_path: Path) -> None:
    fake.fail_prompts.add("orb turns")
    film = project(tmp_path)
    first = render(film)
    failed = next(o for o in first.outcomes if o.job == "video:s02-sh01")
    assert failed.status == "failed" and "content check" in (failed.error or "")
    assert "--recreate video:s02-sh01" in (failed.error or "")
    render(film)
    assert fake.creates_for("orb turns") == 1


def test_no_key_reaches_any_file_or_output(fake: FakeRunway, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    fake.create_script.extend([Refuse(429, "0"), FailAfterCreating()])
    fake.fail_prompts.add("orb glows")
    render(project(tmp_path))
    assert all(h.get("Authorization") == f"Bearer {KEY}" for h in fake.seen_headers)  # it was really sent
    captured = capfd.readouterr()
    assert KEY not in captured.out + captured.err
    leaks = [p for p in tmp_path.rglob("*") if p.is_file() and KEY.encode() in p.read_bytes()]
    assert leaks == []


def test_a_render_killed_while_polling_resumes_without_a_new_create(fake: FakeRunway, tmp_path: Path) -> None:
    project(tmp_path)
    fake.hold.clear()   # every task stays RUNNING: the render can only poll
    env = {**os.environ, "RUNWAYML_API_SECRET": KEY, "RUNWAYML_BASE_URL": fake.base_url}
    command = [sys.executable, "-m", "filmc.cli", "render", "hello.film", "--profile", "final", "--max-cost", "5"]
    proc = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while fake.requests["poll"] < 6 and time.monotonic() < deadline:  # two shots created (the video limit), polling
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert len(fake.creates) == 2
    fake.hold.set()
    again = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240, check=False)
    assert again.returncode == 0, again.stderr
    # the two journalled shots were polled and downloaded, not bought again; the third was made now
    assert len(fake.creates) == 3 and all(fake.creates_for(shot) == 1 for shot in ("orb floats", "orb turns",
                                                                                   "orb glows"))
    assert count_frames(tmp_path / "out" / "hello" / "hello.mp4") == 192


def test_no_job_is_submitted_once_the_ledger_would_pass_the_budget(fake: FakeRunway, tmp_path: Path) -> None:
    fake.create_script.append(FailAfterCreating())   # shot 1 costs twice (one attempt possibly billed)
    film = project(tmp_path, "concurrency = 1\n")
    plan, _ = asyncio.run(compile_film(film, "final"))
    budget = plan.estimated_usd + Decimal("0.01")     # enough for the plan as estimated, not for the extra attempt
    summary = asyncio.run(render_film(plan, out_dir=tmp_path / "out", events=PlainEvents(), max_cost=budget,
                                      jobs=1, backoff=0.01))
    refused = [o for o in summary.outcomes if o.status == "failed"]
    assert len(refused) == 1 and "would pass --max-cost" in (refused[0].error or "")
    assert len(fake.creates) == 3  # two for shot 1, one for shot 2; the third shot was never submitted
    assert summary.manifest.qa.ledger_usd <= budget
