"""`filmc new`: the project a new user starts from checks clean, renders offline in seconds, and its filmc.toml
says the truth about the built-in profiles; an existing folder is never written over."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from filmc.assemble.media import count_frames, probe
from filmc.cli.new import project_files
from filmc.plan.profiles import LAYERS, load_profile

TEMPLATES = Path(__file__).resolve().parents[2] / "filmc" / "expand" / "templates"


def filmc(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """A real process, as a user runs it, with no cache or allowed paths leaking in from the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FILMC_")}
    return subprocess.run([sys.executable, "-m", "filmc.cli", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, check=False)


@pytest.mark.slow
def test_a_new_project_checks_clean_and_renders_offline(tmp_path: Path) -> None:
    made = filmc("new", "kite", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    project = tmp_path / "kite"
    assert sorted(p.name for p in project.iterdir()) == [".gitignore", "filmc.toml", "kite.film", "templates"]
    checked = filmc("check", "kite.film", cwd=project)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "no problems" in checked.stdout   # not even a warning: a starter teaches by being right
    assert filmc("fmt", "--check", "kite.film", cwd=project).returncode == 0   # already in fmt's layout
    before = set(project.iterdir())
    started = time.monotonic()
    rendered = filmc("render", "kite.film", cwd=project)
    seconds = time.monotonic() - started
    assert rendered.returncode == 0, rendered.stderr
    film = project / "out" / "kite" / "kite.mp4"
    assert film.is_file() and abs(probe(film).duration - 10.0) < 0.1
    assert count_frames(film) == 10 * 24
    assert seconds < 60, f"the starter took {seconds:.1f} s to render"   # ~3 s on two cores
    # what the render left in the project is exactly what .gitignore keeps out of git
    ignored = {line.strip().rstrip("/") for line in (project / ".gitignore").read_text("utf-8").splitlines()
               if line.strip() and not line.startswith("#")}
    assert {p.name for p in set(project.iterdir()) - before} == {".filmc", "out"} <= ignored


def test_the_film_uses_every_layer_once() -> None:
    film = project_files("kite")["kite.film"]
    assert film.count("\n    shot ") == 3 and "\n  title " in film and film.count("\n    say ") == 1
    assert "\n  palette {" in film and "\n  music {" in film and 'film "kite" {' in film


def test_filmc_toml_as_written_keeps_the_built_in_profiles(tmp_path: Path) -> None:
    (tmp_path / "filmc.toml").write_text(project_files("kite")["filmc.toml"], "utf-8")
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("preview", "final"):
        assert load_profile(name, tmp_path) == load_profile(name, bare)


def test_every_commented_setting_is_a_real_one(tmp_path: Path) -> None:
    """Uncomment every setting: the file still loads, and each shown backend and model is the built-in one."""
    text = project_files("kite")["filmc.toml"]
    settings = re.findall(r"^#(\w+) = ", text, flags=re.MULTILINE)
    assert {"backend", "model", "concurrency", "options", "price", "grade", "loudness"} <= set(settings)
    (tmp_path / "filmc.toml").write_text(re.sub(r"^#(?=\w+ = )", "", text, flags=re.MULTILINE), "utf-8")
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("preview", "final"):
        shown, built_in = load_profile(name, tmp_path), load_profile(name, bare)
        for layer in LAYERS:
            assert shown.layer(layer).backend == built_in.layer(layer).backend
            assert shown.layer(layer).model == built_in.layer(layer).model
            assert shown.layer(layer).concurrency == built_in.layer(layer).concurrency
        assert (shown.grade, shown.loudness, shown.cache_dir) == (built_in.grade, built_in.loudness,
                                                                  built_in.cache_dir)


def test_templates_are_filmcs_own_kept_aside_to_copy(tmp_path: Path) -> None:
    files = project_files("kite")
    originals = {p.name: p.read_text("utf-8") for p in TEMPLATES.glob("*.j2")}
    assert originals and {k.removeprefix("templates/originals/"): v for k, v in files.items()
                          if k.startswith("templates/originals/")} == originals
    assert not [k for k in files if re.fullmatch(r"templates/[^/]+\.j2", k)]   # nothing overridden yet
    readme = files["templates/README.md"]
    assert all(name in readme for name in originals)   # each template is explained


@pytest.mark.parametrize("setup", ["file", "folder with a file"])
def test_an_existing_path_is_never_written_over(tmp_path: Path, setup: str) -> None:
    target = tmp_path / "kite"
    if setup == "file":
        target.write_text("mine", "utf-8")
    else:
        target.mkdir()
        (target / "notes.txt").write_text("mine", "utf-8")
    refused = filmc("new", "kite", cwd=tmp_path)
    assert refused.returncode == 2
    assert "never overwrites" in " ".join(refused.stderr.split()) and "Traceback" not in refused.stderr
    kept = target if setup == "file" else target / "notes.txt"
    assert kept.read_text("utf-8") == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kite"]   # no half-made project beside it


def test_an_empty_folder_is_used(tmp_path: Path) -> None:
    (tmp_path / "kite").mkdir()
    assert filmc("new", "kite", cwd=tmp_path).returncode == 0
    assert (tmp_path / "kite" / "kite.film").is_file()


def test_a_name_with_quotes_makes_a_film_that_checks(tmp_path: Path) -> None:
    name = 'Say "hi" \\ now'
    assert filmc("new", name, cwd=tmp_path).returncode == 0
    checked = filmc("check", f"{name}.film", cwd=tmp_path / name)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert 'film "Say \\"hi\\" \\\\ now" {' in (tmp_path / name / f"{name}.film").read_text("utf-8")
