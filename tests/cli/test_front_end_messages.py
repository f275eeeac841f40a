"""Mistakes around the film, not in it, are one clean paragraph with a usage exit code, never a bogus location."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import FILMS


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "filmc.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, check=False)


def test_fmt_of_a_missing_file_says_so_in_one_paragraph(tmp_path: Path) -> None:
    result = run("fmt", "nosuch.film", cwd=tmp_path)
    assert result.returncode == 2
    assert "[Errno" not in result.stderr and "-->" not in result.stderr and "Traceback" not in result.stderr
    assert "cannot format nosuch.film: no such file or directory" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_unknown_profile_without_filmc_toml_lists_the_built_in_ones(tmp_path: Path) -> None:
    (tmp_path / "hello.film").write_text((FILMS / "hello.film").read_text("utf-8"), "utf-8")
    result = run("check", "-p", "nope", "hello.film", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "filmc.toml:1:1" not in result.stderr and "-->" not in result.stderr
    assert "no profile named `nope`" in result.stderr and "final, preview" in result.stderr
