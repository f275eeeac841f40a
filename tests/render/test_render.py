"""`filmc render` end to end on the tiny hello film: real media, really measured."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from filmc.assemble import measure_loudness, measure_window_rms
from filmc.assemble.media import count_frames, mean_rgb, probe
from filmc.cli.progress import PlainEvents
from filmc.deliver.outputs import RenderSummary
from filmc.pipeline import compile_film, render_film
from filmc.plan.model import Plan, VideoSpec
from tests.conftest import FILMS, PLUGINS

pytestmark = pytest.mark.slow


def new_project(root: Path, edit: tuple[str, str] | None = None, toml: str | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    text = (FILMS / "hello.film").read_text("utf-8")
    if edit:
        assert edit[0] in text
        text = text.replace(*edit)
    (root / "hello.film").write_text(text, "utf-8")
    if toml is not None:
        (root / "filmc.toml").write_text(toml, "utf-8")
    return root / "hello.film"


def plan_of(film: Path) -> Plan:
    plan, _ = asyncio.run(compile_film(film))
    return plan


def run(film: Path, **options: object) -> RenderSummary:
    plan = plan_of(film)
    return asyncio.run(render_film(plan, out_dir=film.parent / "out", events=PlainEvents(), backoff=0.01,
                                   **options))  # type: ignore[arg-type]


def statuses(summary: RenderSummary) -> dict[str, str]:
    return {o.job: o.status for o in summary.outcomes}


def made(summary: RenderSummary) -> set[str]:
    return {o.job for o in summary.outcomes if o.status == "made"}


def cache_files(root: Path) -> dict[str, int]:
    cache = root / ".filmc" / "cache"
    return {str(p.relative_to(cache)): p.stat().st_mtime_ns for p in cache.rglob("*")
            if p.is_file() and "journal" not in p.name}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, RenderSummary]]:
    film = new_project(tmp_path_factory.mktemp("hello"))
    yield film, run(film)


def test_film_has_exact_length_and_one_h264_one_aac(rendered: tuple[Path, RenderSummary]) -> None:
    film, summary = rendered
    mp4 = film.parent / "out" / "hello.mp4"
    info = probe(mp4)
    assert info.video is not None and info.video.codec == "h264" and info.video_streams == 1
    assert info.audio is not None and info.audio.codec == "aac" and info.audio_streams == 1
    assert count_frames(mp4) == 8 * 24  # the planned frames, exactly
    assert abs(info.duration - 8.0) <= 1 / 24 + 0.03
    drawn = {job for job, status in statuses(summary).items() if status == "drawn"}
    assert drawn == {"video:s01-sh01", "video:s02-sh01", "video:s03-sh01"}   # previz: drawn in the picture pass
    assert {status for job, status in statuses(summary).items() if job not in drawn} == {"made"}


def test_loudness_is_on_target(rendered: tuple[Path, RenderSummary]) -> None:
    film, summary = rendered
    loud = measure_loudness(film.parent / "out" / "hello.mp4")
    assert abs(loud.integrated - (-16.0)) <= 1.0
    assert loud.true_peak <= -0.9
    assert summary.manifest.qa.integrated_lufs == pytest.approx(loud.integrated, abs=0.2)


def test_subtitles_follow_the_narration(rendered: tuple[Path, RenderSummary]) -> None:
    film, _ = rendered
    srt = (film.parent / "out" / "hello.srt").read_text("utf-8")
    starts = [int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000
              for h, m, s, ms in re.findall(r"^(\d\d):(\d\d):(\d\d),(\d{3}) -->", srt, re.MULTILINE)]
    planned = [b.start for b in plan_of(film).film.timeline.beats]
    assert len(starts) == len(planned) == 3
    for cue, beat in zip(starts, planned, strict=True):
        assert abs(cue - beat) <= 0.05
    assert "Something changes." in srt and "WEBVTT" in (film.parent / "out" / "hello.vtt").read_text("utf-8")


def test_first_scene_bluer_last_scene_warmer(rendered: tuple[Path, RenderSummary]) -> None:
    film, _ = rendered
    mp4 = film.parent / "out" / "hello.mp4"
    r1, _, b1 = mean_rgb(mp4, 2.0)   # scene "Cold"
    r3, _, b3 = mean_rgb(mp4, 6.2)   # scene "Warm"
    assert b1 > r1 + 10
    assert r3 > b3 + 10


def test_voice_is_audible_over_the_ducked_music(rendered: tuple[Path, RenderSummary]) -> None:
    film, _ = rendered
    mp4 = film.parent / "out" / "hello.mp4"
    # both windows in the same music section (0-4 s, intensity 0.3), one with a line over it
    music_only = measure_window_rms(mp4, 0.3, 1.1)     # before the first line
    with_voice = measure_window_rms(mp4, 1.3, 2.2)     # "Hello, world."
    assert with_voice > music_only + 6.0


def test_outputs_timeline_and_manifest(rendered: tuple[Path, RenderSummary]) -> None:
    import json

    import opentimelineio as otio

    film, _ = rendered
    out = film.parent / "out"
    timeline = otio.adapters.read_from_file(str(out / "hello.otio"))
    assert timeline.duration().to_frames() == 8 * 24
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    kinds = {a["kind"] for a in manifest["assets"]}
    assert kinds == {"video", "voice", "music", "picture", "mix", "mux"}
    video = next(a for a in manifest["assets"] if a["job"] == "video:s01-sh01")
    assert video["prompt"].startswith("An orb floats") and video["backend"] == "animatic"


def test_second_render_makes_nothing_and_rewrites_nothing(tmp_path: Path) -> None:
    film = new_project(tmp_path)
    run(film)
    before = cache_files(tmp_path)
    again = run(film)
    assert set(statuses(again).values()) == {"cached", "drawn"}
    assert cache_files(tmp_path) == before


def test_editing_one_line_remakes_exactly_its_jobs(tmp_path: Path) -> None:
    film = new_project(tmp_path)
    run(film)
    new_project(tmp_path, edit=("Something [pause 0.3s] changes.", "Something [pause 0.3s] shifts."))
    assert made(run(film)) == {"voice:s02-l01", "mix", "mux"}


def test_a_truncated_asset_is_detected_and_remade(tmp_path: Path) -> None:
    film = new_project(tmp_path)
    first = run(film)
    picture = Path(next(o.path for o in first.outcomes if o.job == "picture") or "")
    picture.write_bytes(picture.read_bytes()[: picture.stat().st_size // 2])
    assert made(run(film)) == {"picture"}
    assert count_frames(picture) == 8 * 24


def test_kept_clips_are_made_and_the_picture_is_the_same(tmp_path: Path) -> None:
    """`--keep-clips` makes each previz clip as a file too; the picture draws them in place either way, so its bytes
    do not depend on whether the clips were kept."""
    drawn = run(new_project(tmp_path / "drawn"))
    film = new_project(tmp_path / "kept")
    plan, _ = asyncio.run(compile_film(film, keep_clips=True))
    kept = asyncio.run(render_film(plan, out_dir=film.parent / "out", events=PlainEvents(), backoff=0.01))
    assert {o.job for o in kept.outcomes if o.status == "made" and o.job.startswith("video:")} == \
        {"video:s01-sh01", "video:s02-sh01", "video:s03-sh01"}
    job = plan.job("video:s02-sh01")
    assert isinstance(job.spec, VideoSpec) and not job.drawn
    clip = Path(next(o.path for o in kept.outcomes if o.job == job.id) or "")
    assert count_frames(clip) == job.spec.request.frames
    video = probe(clip).video
    assert video is not None and (video.width, video.height) == (320, 180)   # a kept clip is drawn at full size

    def picture(summary: RenderSummary) -> bytes:
        return Path(next(o.path for o in summary.outcomes if o.job == "picture") or "").read_bytes()

    assert picture(kept) == picture(drawn)


def plugin_project(tmp_path: Path, backend: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(PLUGINS))
    return new_project(tmp_path, toml=f'[profile.preview.video]\nbackend = "{backend}"\n')


def test_a_failing_job_leaves_nothing_and_fails_only_its_dependents(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    film = plugin_project(tmp_path, "failvideo", monkeypatch)
    summary = run(film)
    status = statuses(summary)
    assert status["video:s02-sh01"] == "failed"
    assert status["picture"] == "skipped" and status["mux"] == "skipped"
    assert status["video:s01-sh01"] == status["video:s03-sh01"] == status["mix"] == "made"  # siblings go on
    failed = next(o for o in summary.outcomes if o.job == "video:s02-sh01")
    assert "refused this shot" in (failed.error or "")
    cache = tmp_path / ".filmc" / "cache"
    assert not (cache / "video" / failed.key[:2]).exists() or not any((cache / "video" / failed.key[:2]).iterdir())
    assert not list(cache.rglob("*.part*"))


def test_transient_failures_are_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    film = plugin_project(tmp_path, "flakyvideo", monkeypatch)
    summary = run(film)
    video = [o for o in summary.outcomes if o.job.startswith("video:")]
    assert all(o.status == "made" and o.attempts == 2 for o in video)


def test_a_remote_job_is_resumed_not_paid_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    film = plugin_project(tmp_path, "remotevideo", monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        run(film, max_cost=5)
    ledger = tmp_path / ".filmc" / "cache" / "remotevideo.calls.json"
    paid_before = json.loads(ledger.read_text())["paid"]
    summary = run(film, max_cost=5)
    calls = json.loads(ledger.read_text())
    assert set(statuses(summary).values()) <= {"made", "cached"}
    assert paid_before <= 3
    assert calls["paid"] == 3  # each shot paid for exactly once across both runs
    assert calls["resumed"] >= 1  # the interrupted one was polled, not bought again


def test_spending_needs_an_explicit_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from filmc.errors import BudgetError

    film = plugin_project(tmp_path, "remotevideo", monkeypatch)
    with pytest.raises(BudgetError, match="--max-cost"):
        run(film)
    with pytest.raises(BudgetError, match="over --max-cost"):
        run(film, max_cost=Decimal("0.1"))
    assert not (tmp_path / ".filmc" / "cache" / "remotevideo.calls.json").exists()  # nothing was started


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "filmc.cli", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, check=False)


def test_render_a_frozen_plan_and_refuse_a_foreign_one(tmp_path: Path) -> None:
    film = new_project(tmp_path)
    compiled = cli("compile", "--json", "hello.film", cwd=tmp_path)
    (tmp_path / "plan.json").write_text(compiled.stdout, "utf-8")
    result = cli("render", "plan.json", "--out", "from-plan", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert count_frames(tmp_path / "from-plan" / "hello.mp4") == 192
    (tmp_path / "old.json").write_text(compiled.stdout.replace('"version": 1', '"version": 9', 1), "utf-8")
    refused = cli("render", "old.json", cwd=tmp_path)
    assert refused.returncode == 2 and "Re-run `filmc compile --json`" in refused.stderr
    assert film.exists()


def test_failed_job_exits_three(tmp_path: Path) -> None:
    new_project(tmp_path, toml='[profile.preview.video]\nbackend = "failvideo"\n')
    env = {"PYTHONPATH": os.pathsep.join([str(PLUGINS), os.environ.get("PYTHONPATH", "")])}
    result = cli("render", "hello.film", cwd=tmp_path, env=env)
    assert result.returncode == 3
    assert "video:s02-sh01" in result.stdout + result.stderr and "Traceback" not in result.stderr


def test_ctrl_c_mid_render_then_rerun_completes(tmp_path: Path) -> None:
    """Ctrl-C lands while a job is in flight (the backend says so by creating a file), never by timing."""
    import signal
    import time

    new_project(tmp_path, toml='[profile.preview.video]\nbackend = "gatedvideo"\n')
    gate = tmp_path / "in-flight"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PLUGINS), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "filmc.cli", "render", "--jobs", "1", "hello.film"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**env, "FILMC_TEST_GATE": str(gate)})
    deadline = time.monotonic() + 120
    while not gate.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gate.exists(), "the gated job never started"
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted; finished assets are kept" in stderr and "Traceback" not in stderr
    finished = [ln.split()[1] for ln in stderr.splitlines() if ln.strip().startswith("made")]
    assert "video:s01-sh01" in finished and "video:s02-sh01" not in finished
    cache = tmp_path / ".filmc" / "cache"
    assert not list(cache.rglob("*.part*"))  # nothing half-written under the cache
    again = subprocess.run([sys.executable, "-m", "filmc.cli", "render", "hello.film"], cwd=tmp_path,
                           capture_output=True, text=True, env=env, check=False)
    assert again.returncode == 0, again.stderr
    remade = {ln.split()[1] for ln in again.stderr.splitlines() if ln.strip().startswith("made")}
    assert "video:s02-sh01" in remade and not remade & set(finished)  # what was finished stayed cached
    assert count_frames(tmp_path / "out" / "hello" / "hello.mp4") == 192


def test_an_edited_plan_is_refused(tmp_path: Path) -> None:
    new_project(tmp_path)
    import json

    plan = json.loads(cli("compile", "--json", "hello.film", cwd=tmp_path).stdout)
    plan["jobs"][0]["spec"]["request"]["prompt"] = "Something else entirely, filed under the old key"
    (tmp_path / "edited.json").write_text(json.dumps(plan), "utf-8")
    result = cli("render", "edited.json", cwd=tmp_path)
    assert result.returncode == 2 and "key does not match" in result.stderr
    assert not (tmp_path / ".filmc").exists()  # refused before anything was made


def test_a_user_clip_changed_after_the_plan_is_refused(tmp_path: Path) -> None:
    from filmc.assemble.media import run_ffmpeg

    clip = tmp_path / "c.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "color=c=red:s=160x90:r=24:d=1", "-c:v", "libx264", str(clip)])
    new_project(tmp_path, edit=('      camera orbit\n', '      camera orbit\n      clip "c.mp4"\n'))
    (tmp_path / "plan.json").write_text(cli("compile", "--json", "hello.film", cwd=tmp_path).stdout, "utf-8")
    run_ffmpeg(["-f", "lavfi", "-i", "color=c=blue:s=160x90:r=24:d=1", "-c:v", "libx264", str(clip)])
    result = cli("render", "plan.json", cwd=tmp_path)
    assert result.returncode == 3
    assert "c.mp4 changed since the plan was made" in result.stdout + result.stderr


def test_a_silent_film_renders_and_rerenders(tmp_path: Path) -> None:
    (tmp_path / "s.film").write_text('film "Silence" {\n  language en\n  frame 160x90 @ 24\n'
                                     '  scene "S" {\n    shot 1s "nothing to hear"\n  }\n}\n', "utf-8")
    for _ in range(2):
        result = cli("render", "s.film", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    assert count_frames(tmp_path / "out" / "silence" / "silence.mp4") == 24


def test_two_films_in_one_folder_keep_their_own_outputs(tmp_path: Path) -> None:
    new_project(tmp_path)
    (tmp_path / "other.film").write_text('film "Other" {\n  language en\n  frame 160x90 @ 25\n'
                                         '  scene "S" {\n    shot 1s "x"\n  }\n}\n', "utf-8")
    assert cli("render", "hello.film", cwd=tmp_path).returncode == 0
    assert cli("render", "other.film", cwd=tmp_path).returncode == 0
    assert count_frames(tmp_path / "out" / "hello" / "hello.mp4") == 192
    assert (tmp_path / "out" / "hello" / "manifest.json").is_file()
    assert (tmp_path / "out" / "other" / "manifest.json").is_file()


def test_force_that_matches_nothing_is_a_usage_error(tmp_path: Path) -> None:
    new_project(tmp_path)
    result = cli("render", "hello.film", "--force", "videos:*", cwd=tmp_path)
    assert result.returncode == 2 and "matches no job" in result.stderr
