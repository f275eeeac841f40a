"""Two `filmc render` processes on one project at once: nothing is made or paid twice, no entry is torn,
both finish with the same film, and the one that waits says why."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.filmc_backends.final import hello_project
from tests.filmc_backends.test_final_render import PROFILE, Services, assert_made_once, services  # noqa: F401

pytestmark = pytest.mark.slow


def render_twice(root: Path, *extra: str) -> list[tuple[str, str]]:
    command = [sys.executable, "-m", "filmc.cli", "render", "hello.film", "--json", *extra]
    procs = [subprocess.Popen([*command, "--out", out], cwd=root, env=dict(os.environ), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for out in ("a", "b")]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    assert (root / "a" / "hello.mp4").read_bytes() == (root / "b" / "hello.mp4").read_bytes()
    return results


def made(results: list[tuple[str, str]]) -> Counter[str]:
    """How often each job was made, across both processes."""
    return Counter(event["job"] for out, _ in results for line in out.splitlines() if line.startswith("{")
                   for event in [json.loads(line)] if event.get("kind") == "made")


def test_offline_each_job_is_made_once_across_two_renders(tmp_path: Path) -> None:
    film = hello_project(tmp_path, "")
    results = render_twice(film.parent)
    counts = made(results)
    assert counts and max(counts.values()) == 1, counts   # the other process found it made, or waited for it
    assert {p.name for p in (tmp_path / ".filmc" / "cache").rglob("*.part")} == set()


def test_final_each_paid_job_is_created_once_across_two_renders(services: Services, tmp_path: Path) -> None:  # noqa: F811
    film = hello_project(tmp_path, PROFILE)
    results = render_twice(film.parent, "--profile", "final", "--max-cost", "5")
    assert_made_once(services)   # each shot filmed, line spoken, score composed and prompt written once
    counts = made(results)
    assert max(counts.values()) == 1, counts
    said = [line for out, err in results for line in (out + err).splitlines() if "another render is making" in line]
    assert said   # the one that waited said why
