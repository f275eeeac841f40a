"""The backend registry: built-ins and plugins load through entry points, and a wrong one is refused by name."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from filmc.backend.protocol import BackendConfig, Layer, Setup
from filmc.backend.registry import PluginError, Registry, conformance_problem
from tests.conftest import FILMS, PLUGINS

BUILT_IN: dict[str, Layer] = {"template": "expand", "claude": "expand", "animatic": "video", "espeak": "voice",
                              "synth": "music", "runway": "video", "elevenlabs": "voice", "elevenlabs-music": "music"}


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Registry:
    monkeypatch.syspath_prepend(str(PLUGINS))
    return Registry.installed()


def build(registry: Registry, name: str, layer: Layer, tmp_path: Path) -> object:
    return registry.build(name, layer, BackendConfig(backend=name), Setup(project_dir=tmp_path, cache_dir=tmp_path))


@pytest.mark.parametrize(("name", "layer"), sorted(BUILT_IN.items()))
def test_every_built_in_backend_conforms_to_its_layer(registry: Registry, name: str, layer: Layer,
                                                      tmp_path: Path) -> None:
    backend = build(registry, name, layer, tmp_path)
    assert conformance_problem(backend, layer) is None
    assert getattr(backend, "name") == name  # noqa: B009  # the entry point's name is the backend's name


def test_the_file_source_serves_every_media_layer(registry: Registry, tmp_path: Path) -> None:
    source = build(registry, "file", "video", tmp_path)
    assert all(conformance_problem(source, layer) is None for layer in ("video", "voice", "music"))
    assert conformance_problem(source, "expand") is not None


def test_a_backend_used_for_the_wrong_layer_is_refused(registry: Registry, tmp_path: Path) -> None:
    with pytest.raises(PluginError, match=r"`espeak`.*can't serve the video layer: its capabilities declare the "
                       r"voice layer"):
        build(registry, "espeak", "video", tmp_path)


@pytest.mark.parametrize(("name", "problem"), [
    ("norender", "it has no `render` method"),
    ("syncrender", "its `render` must be `async def`"),
    ("voiceasvideo", "its capabilities declare the voice layer"),
])
def test_a_plugin_of_the_wrong_shape_is_refused_naming_its_entry_point(registry: Registry, name: str, problem: str,
                                                                       tmp_path: Path) -> None:
    with pytest.raises(PluginError) as refused:
        build(registry, name, "video", tmp_path)
    message = str(refused.value)
    assert f"entry point `{name} = brokenbackends:" in message and problem in message


def test_a_plugin_that_declares_impossible_capabilities_fails_to_load_by_name(registry: Registry,
                                                                            tmp_path: Path) -> None:
    assert "failed to load" in (registry.problem("badcaps", "video") or "")
    with pytest.raises(PluginError, match=r"`badcaps = badcaps:BadCaps`.*failed to load.*clip_seconds"):
        build(registry, "badcaps", "video", tmp_path)


def test_a_plugin_that_crashes_while_starting_is_named(registry: Registry, tmp_path: Path) -> None:
    with pytest.raises(PluginError, match=r"`explodes`.*failed to start: RuntimeError: the plugin's own bug"):
        build(registry, "explodes", "video", tmp_path)


def test_a_backend_that_is_not_installed_names_the_near_miss(registry: Registry, tmp_path: Path) -> None:
    assert registry.problem("animatic", "video") is None
    with pytest.raises(PluginError, match=r"video backend `animatik` is not installed.*did you mean `animatic`\?"):
        build(registry, "animatik", "video", tmp_path)
    assert "did you mean" not in (registry.problem("soraclip", "video") or "")  # no far-fetched guesses


def test_a_class_of_the_wrong_shape_is_found_without_building_it(registry: Registry) -> None:
    assert "declare the voice layer" in (registry.problem("espeak", "video") or "")
    assert "must be `async def`" in (registry.problem("syncrender", "video") or "")
    assert registry.problem("fitvideo", "video") is None  # capabilities set in __init__: only building tells


@pytest.mark.parametrize("name", ["decorated", "latebound"])
def test_unusual_but_right_plugins_load(registry: Registry, name: str, tmp_path: Path) -> None:
    assert registry.problem(name, "video") is None
    backend = build(registry, name, "video", tmp_path)
    assert conformance_problem(backend, "video") is None


def test_a_plugin_whose_capabilities_raise_is_refused_not_a_crash(registry: Registry, tmp_path: Path) -> None:
    with pytest.raises(PluginError, match=r"`raisingcaps`.*reading it raised RuntimeError: no capabilities today"):
        build(registry, "raisingcaps", "video", tmp_path)


def cli(*args: str, cwd: Path, plugins: bool) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if plugins:
        env["PYTHONPATH"] = os.pathsep.join([str(PLUGINS), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "filmc.cli", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, check=False)


def project(tmp_path: Path, video: str) -> Path:
    (tmp_path / "hello.film").write_text((FILMS / "hello.film").read_text("utf-8"), "utf-8")
    (tmp_path / "filmc.toml").write_text(f'[profile.preview.video]\nbackend = "{video}"\n', "utf-8")
    return tmp_path / "hello.film"


def test_a_plan_naming_a_backend_that_is_not_installed_is_a_clear_error(tmp_path: Path) -> None:
    project(tmp_path, "failvideo")
    compiled = cli("compile", "--json", "hello.film", cwd=tmp_path, plugins=True)
    assert compiled.returncode == 0, compiled.stderr
    (tmp_path / "plan.json").write_text(compiled.stdout, "utf-8")
    rendered = cli("render", "plan.json", cwd=tmp_path, plugins=False)  # the plugin is gone from this machine
    assert rendered.returncode in (1, 2), rendered.stderr
    assert "`failvideo` is not installed" in rendered.stderr
    assert "internal error" not in rendered.stderr and "Traceback" not in rendered.stderr


def test_check_reports_a_backend_named_for_the_wrong_layer_in_filmc_toml(tmp_path: Path) -> None:
    project(tmp_path, "espeak")
    checked = cli("check", "hello.film", cwd=tmp_path, plugins=False)
    assert checked.returncode == 1
    assert "error[F0702]: profile `preview`: video backend `espeak` is installed but can't be used for it" \
        in checked.stderr
    assert "filmc.toml:2:1" in checked.stderr and "declare the voice layer" in checked.stderr


def test_a_profile_naming_a_plugin_without_render_stops_compile_by_name(tmp_path: Path) -> None:
    project(tmp_path, "norender")
    compiled = cli("compile", "hello.film", cwd=tmp_path, plugins=True)
    assert compiled.returncode == 1
    assert "entry point `norender = brokenbackends:NoRender`" in compiled.stderr
    assert "no `render` method" in compiled.stderr and "Traceback" not in compiled.stderr
