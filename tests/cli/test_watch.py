"""`filmc render --draft` and `filmc watch`: real drafts on the hello film, the watch loop driven by edits.

The loop takes its changes from a function, so most tests hand it edits of their own and stop it when they run
out; one test runs it on watchfiles in a thread, and one as a real process stopped by Ctrl-C.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from filmc.assemble.media import count_frames, probe
from filmc.cli import main
from filmc.cli.watch import FileEvents, Targets, WatchRun, WatchSettings, print_run, targets_of, watch
from filmc.pipeline import compile_film
from filmc.plan.model import PictureSpec
from filmc.plan.planner import draft_size
from tests.conftest import FILMS

pytestmark = pytest.mark.slow

LINE = '"Warm at last."'          # the hello film's last narration line, beat s03-l01
EDITED = '"Warm, at long last."'


def new_project(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    film = root / "hello.film"
    film.write_text((FILMS / "hello.film").read_text("utf-8"), "utf-8")
    return film


def edit(film: Path, old: str, new: str) -> None:
    text = film.read_text("utf-8")
    assert old in text
    film.write_text(text.replace(old, new, 1), "utf-8")


def scripted(*edits: Callable[[], None]) -> Callable[[Targets], set[Path] | None]:
    """A `NextChange` that makes the next edit and says the film changed; None once the edits run out."""
    queue = list(edits)

    def next_change(targets: Targets) -> set[Path] | None:
        if not queue:
            return None
        queue.pop(0)()
        return set(targets.files)

    return next_change


def test_draft_size_halves_to_even_sides_of_at_least_16() -> None:
    assert draft_size(1280, 720) == (640, 360)
    assert draft_size(320, 180) == (160, 90)
    assert draft_size(1998, 1080) == (1000, 540)   # 999 would not be even
    assert draft_size(20, 20) == (16, 16)


def test_draft_is_in_the_plan_and_the_keys_of_picture_and_mux_only(tmp_path: Path) -> None:
    film = new_project(tmp_path)
    full, _ = asyncio.run(compile_film(film))
    draft, _ = asyncio.run(compile_film(film, draft=True))
    changed = {j.id for j in draft.jobs if j.key != full.job(j.id).key}
    assert changed == {"picture", "mux"}
    (_, picture), = draft.specs(PictureSpec)
    assert (picture.width, picture.height, picture.draft) == (160, 90, True)
    assert json.loads(draft.model_dump_json())["profile"]["draft"] is True
    # off, it is absent: plans (and their keys) from before drafts read the same
    assert "draft" not in json.loads(full.model_dump_json())["profile"]
    (_, whole), = full.specs(PictureSpec)
    assert "draft" not in whole.model_dump() and (whole.width, whole.height) == (320, 180)


def test_draft_set_in_filmc_toml_and_overridden_by_full(tmp_path: Path) -> None:
    film = new_project(tmp_path)
    (tmp_path / "filmc.toml").write_text("[profile.preview]\ndraft = true\n", "utf-8")
    plan, _ = asyncio.run(compile_film(film))
    assert plan.profile.draft
    plan, _ = asyncio.run(compile_film(film, draft=False))
    assert not plan.profile.draft


def test_render_draft_halves_the_picture_keeps_the_film_and_never_replaces_it(tmp_path: Path) -> None:
    film = new_project(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["render", "--draft", str(film), "--out", str(out)])
    assert result.exit_code == 0, result.output
    drafted = probe(out / "hello.draft.mp4")
    assert drafted.video is not None and (drafted.video.width, drafted.video.height) == (160, 90)
    assert drafted.audio is not None
    assert {p.name for p in out.iterdir()} >= {"hello.draft.srt", "hello.draft.vtt", "hello.draft.otio",
                                               "manifest.draft.json"}
    assert not (out / "hello.mp4").exists()
    manifest = json.loads((out / "manifest.draft.json").read_text("utf-8"))
    assert manifest["outputs"]["film"] == "hello.draft.mp4"

    result = CliRunner().invoke(main, ["render", str(film), "--out", str(out)])
    assert result.exit_code == 0, result.output
    whole = probe(out / "hello.mp4")
    assert whole.video is not None and (whole.video.width, whole.video.height) == (320, 180)
    assert abs(whole.duration - drafted.duration) < 0.05 and abs(drafted.duration - 8.0) < 0.05
    assert count_frames(out / "hello.draft.mp4") == count_frames(out / "hello.mp4") == 192
    # the draft shared every clip, line and the score: the full render made only the picture and the mux
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert {a["job"] for a in manifest["assets"] if a["status"] == "made"} == {"picture", "mux"}
    assert (out / "hello.draft.mp4").exists()
    # x264 writes its settings into the stream: the draft's are ultrafast's (no subpixel search) at CRF 26
    drafted_with, full_with = _x264_options(out / "hello.draft.mp4"), _x264_options(out / "hello.mp4")
    assert b" subme=0 " in drafted_with and b" crf=26.0 " in drafted_with
    assert b" subme=2 " in full_with and b" crf=19.0 " in full_with


def _x264_options(path: Path) -> bytes:
    data = path.read_bytes()
    start = data.find(b"x264 - core")
    assert start >= 0
    return data[start: data.find(b"\x00", start)] + b" "


def test_a_plan_compiled_without_draft_is_not_rendered_as_one(tmp_path: Path) -> None:
    film = new_project(tmp_path)
    compiled = CliRunner().invoke(main, ["compile", "--json", str(film)])
    assert compiled.exit_code == 0, compiled.output
    plan = tmp_path / "plan.json"
    plan.write_text(compiled.stdout, "utf-8")
    refused = CliRunner().invoke(main, ["render", "--draft", str(plan)])
    assert refused.exit_code == 2
    assert "compile it again with --draft" in refused.output


def test_one_narration_edit_remakes_its_voice_the_mix_and_the_mux_only(tmp_path: Path) -> None:
    film = new_project(tmp_path)
    runs: list[WatchRun] = []
    count = watch(WatchSettings(film=film), scripted(lambda: edit(film, LINE, EDITED)), runs.append)
    assert count == 2
    first, second = runs
    # 10 jobs: 7 made, and the 3 animatic shots drawn inside the picture pass
    assert first.diagnostics == () and len(first.made) == 7 and first.output is not None
    assert first.output.name == "hello.draft.mp4"
    assert set(second.made) == {"voice:s03-l01", "mix", "mux"} and second.cached == 4
    assert second.output == first.output and second.failed == ()


def test_a_broken_save_prints_a_located_diagnostic_and_the_watch_goes_on(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from filmc.cli.ui import console

    film = new_project(tmp_path)
    runs: list[WatchRun] = []

    def report(run: WatchRun) -> None:
        runs.append(run)
        print_run(run, console())

    broken = '"Warm at last. tone'   # the closing quote lost
    count = watch(WatchSettings(film=film),
                  scripted(lambda: edit(film, '"Warm at last." tone', broken),
                           lambda: edit(film, broken, '"Warm at last!" tone')), report)
    assert count == 3
    assert runs[1].diagnostics and runs[1].output is None
    located = runs[1].diagnostics[0].span
    assert located.path == str(film) and located.line == 47
    assert set(runs[2].made) == {"voice:s03-l01", "mix", "mux"}
    printed = capsys.readouterr()
    assert "not rendered" in printed.out and "still watching" in printed.out
    assert f"{film}:47:" in printed.err and "error[F" in printed.err
    assert printed.out.count("hello.draft.mp4") == 2


def test_a_save_during_a_render_is_rendered_even_if_its_event_is_gone(tmp_path: Path) -> None:
    film = new_project(tmp_path)
    runs: list[WatchRun] = []

    def report(run: WatchRun) -> None:   # runs between the render and the next wait: as if saved during it
        runs.append(run)
        if len(runs) == 1:
            edit(film, LINE, EDITED)

    assert watch(WatchSettings(film=film), lambda targets: None, report) == 2
    assert set(runs[1].made) == {"voice:s03-l01", "mix", "mux"}


def test_targets_are_the_film_its_profile_templates_and_the_files_it_names(tmp_path: Path) -> None:
    film = tmp_path / "named.film"
    (tmp_path / "bible.txt").write_text("Soft light.", "utf-8")
    text = (FILMS / "hello.film").read_text("utf-8").replace(
        'style "Soft studio light, clean minimal shapes, calm."', 'style include "bible.txt"')
    text = text.replace('entity orb "a small glowing orb of blue glass"',
                        'entity orb "a small glowing orb of blue glass" image "refs/orb.png"')
    film.write_text(text, "utf-8")
    targets = targets_of(film)
    root = Path(os.path.abspath(tmp_path))
    assert {root / "named.film", root / "filmc.toml", root / "bible.txt", root / "refs" / "orb.png"} <= targets.files
    assert targets.covers(root / "templates" / "shot.prompt.j2")
    assert not targets.covers(root / "out" / "named" / "named.draft.mp4")
    assert not targets.covers(root / ".filmc" / "cache" / "mux" / "ab" / "x.mp4")
    assert root in targets.directories() and root / "out" not in targets.directories()
    # a save that no longer parses keeps the files the watch knew
    film.write_text(text.replace("film ", "flim ", 1), "utf-8")
    assert targets_of(film, targets).files == targets.files


def test_final_needs_a_budget_and_help_has_examples(tmp_path: Path) -> None:
    film = new_project(tmp_path)
    refused = CliRunner().invoke(main, ["watch", "--profile", "final", str(film)])
    assert refused.exit_code == 2 and "--max-cost" in refused.output
    helped = CliRunner().invoke(main, ["watch", "--help"])
    assert helped.exit_code == 0 and "Examples:" in helped.output and "filmc watch films/entropy.film" in helped.output


def _wait(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_watchfiles_sees_a_saved_narration_line_and_renders_a_newer_draft(tmp_path: Path) -> None:
    film = new_project(tmp_path)
    draft = tmp_path / "out" / "hello" / "hello.draft.mp4"
    stop = threading.Event()
    runs: list[WatchRun] = []
    events = FileEvents(stop=stop, debounce_ms=400, step_ms=50)
    thread = threading.Thread(target=watch, args=(WatchSettings(film=film), events, runs.append), daemon=True)
    thread.start()
    try:
        _wait(lambda: len(runs) == 1, 120, "the first draft")
        assert draft.exists() and runs[0].output == draft
        before = draft.stat().st_mtime_ns
        time.sleep(0.5)   # let the watcher start on the folders
        edit(film, LINE, EDITED)
        _wait(lambda: len(runs) == 2, 60, "the draft after the edit")
        assert set(runs[1].made) == {"voice:s03-l01", "mix", "mux"}
        assert draft.stat().st_mtime_ns > before
        (tmp_path / "notes.txt").write_text("not a target", "utf-8")   # beside the film, read by nothing
        (tmp_path / "out" / "hello" / "scratch.txt").write_text("an output folder file", "utf-8")
        time.sleep(1.5)
        assert len(runs) == 2
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_ctrl_c_stops_the_watch_with_130(tmp_path: Path) -> None:
    film = new_project(tmp_path)
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "filmc.cli", "watch", str(film)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    lines = []
    try:
        for line in proc.stdout:   # the banner, then the first render's line
            lines.append(line)
            if "hello.draft.mp4" in line:
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert any("7 made" in line for line in lines), lines
    assert proc.returncode == 130, err
    assert "stopped watching" in out and "Traceback" not in err
