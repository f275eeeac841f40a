"""Two cold renders of one film, in separate projects and caches, give the same bytes: the film, its
subtitles and its timeline. A change that makes output depend on time, order or place fails here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FILMS

pytestmark = pytest.mark.slow
OUTPUTS = ("hello.mp4", "hello.srt", "hello.vtt", "hello.otio")


def cold_render(root: Path) -> dict[str, bytes]:
    root.mkdir(parents=True)
    (root / "hello.film").write_text((FILMS / "hello.film").read_text("utf-8"), "utf-8")
    done = subprocess.run([sys.executable, "-m", "filmc.cli", "render", "hello.film"], cwd=root, capture_output=True,
                          text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stderr
    out = root / "out" / "hello"
    # where the project lives is the one difference allowed (an absolute path, if any remains)
    return {name: (out / name).read_bytes().replace(str(root).encode(), b"<project>") for name in OUTPUTS}


def test_two_cold_renders_give_identical_bytes(tmp_path: Path) -> None:
    first, second = cold_render(tmp_path / "one"), cold_render(tmp_path / "another-place")
    assert all(first[name] for name in OUTPUTS)
    assert [name for name in OUTPUTS if first[name] != second[name]] == []
