"""The command line as a user meets it: exit codes, colour rules, JSON, help and version."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from filmc import __version__
from filmc.cli import main
from tests.conftest import BAD_FILMS, FILMS


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """A real process, so exit codes, streams and the environment are what a user gets."""
    full = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "filmc.cli", *args], capture_output=True, text=True, env=full,
                          check=False)


def test_version_and_help_teach() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output
    helped = CliRunner().invoke(main, ["--help"])
    assert helped.exit_code == 0
    assert "Examples:" in helped.output and "filmc render films/entropy.film" in helped.output
    assert "Exit codes" in helped.output


def test_check_clean_film_exits_zero() -> None:
    result = run("check", str(FILMS / "entropy.film"), str(FILMS / "hello.film"))
    assert result.returncode == 0, result.stderr
    assert "2 film(s) checked" in result.stdout


def test_check_errors_exit_one_with_plain_text_when_piped() -> None:
    result = run("check", str(BAD_FILMS / "unknown_entity.film"))
    assert result.returncode == 1
    assert "error[F0202]: unknown entity `custodain`" in result.stderr
    assert "help: did you mean `custodian`?" in result.stderr
    assert "\x1b[" not in result.stderr  # piped: no colour


def test_colour_when_forced_and_none_with_no_color() -> None:
    bad = str(BAD_FILMS / "unknown_entity.film")
    coloured = run("check", bad, env={"FORCE_COLOR": "1"})
    assert "\x1b[" in coloured.stderr
    plain = run("check", bad, env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert "\x1b[" not in plain.stderr


def test_warnings_pass_unless_strict() -> None:
    warn = str(BAD_FILMS / "line_too_long.film")
    assert run("check", warn).returncode == 0
    assert run("check", "--strict", warn).returncode == 1


def test_json_format_for_machines() -> None:
    result = run("check", "--format", "json", str(BAD_FILMS / "several_errors.film"))
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert {d["code"] for d in data} >= {"F0202", "F0203", "F0204"}


def test_usage_errors_exit_two() -> None:
    assert run("check").returncode == 2
    assert run("frobnicate").returncode == 2


def test_missing_file_is_a_diagnostic_not_a_traceback(tmp_path: Path) -> None:
    result = run("check", str(tmp_path / "nope.film"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "F0010" in result.stderr


def test_binary_garbage_is_a_diagnostic(tmp_path: Path) -> None:
    bad = tmp_path / "bad.film"
    bad.write_bytes(b'film "x" {\n\xff\xfe\x00 }')
    result = run("check", str(bad))
    assert result.returncode == 1 and "not UTF-8" in result.stderr and "Traceback" not in result.stderr


def test_fmt_rewrites_then_check_passes(tmp_path: Path) -> None:
    messy = tmp_path / "m.film"
    messy.write_text('film "M" { language it // keep me\n scene "A" {   shot 2s "x" {camera orbit} } }\n', "utf-8")
    assert run("fmt", "--check", str(messy)).returncode == 1
    assert run("fmt", str(messy)).returncode == 0
    text = messy.read_text("utf-8")
    assert "// keep me" in text and "    shot 2s \"x\" {\n      camera orbit\n    }" in text
    assert run("fmt", "--check", str(messy)).returncode == 0


def test_fmt_reads_windows_line_endings_as_lines(tmp_path: Path) -> None:
    crlf = tmp_path / "hello.film"
    crlf.write_bytes((FILMS / "hello.film").read_bytes().replace(b"\n", b"\r\n"))
    assert run("fmt", "--check", str(crlf)).returncode == 0


@pytest.mark.parametrize("name", ["entropy.film", "hello.film"])
def test_fmt_check_on_examples(name: str) -> None:
    assert run("fmt", "--check", str(FILMS / name)).returncode == 0


def test_check_also_checks_filmc_toml(tmp_path: Path) -> None:
    (tmp_path / "hello.film").write_text((FILMS / "hello.film").read_text("utf-8"), "utf-8")
    (tmp_path / "filmc.toml").write_text('[profile.preview.video]\nbackend = "animatik"\n', "utf-8")
    result = run("check", str(tmp_path / "hello.film"))
    assert result.returncode == 1
    assert "error[F0702]: profile `preview`: video backend `animatik` is not installed" in result.stderr
    assert '2 | backend = "animatik"' in result.stderr and "did you mean `animatic`?" in result.stderr
    assert run("check", "--profile", "nope", str(FILMS / "hello.film")).returncode == 2   # no filmc.toml: usage
