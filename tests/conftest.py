"""Shared fixtures: golden-file switch, paths to the example films."""

from __future__ import annotations

import os
from pathlib import Path

import hypothesis  # noqa: F401  # imported up front: see the note below
import pytest

# CPython 3.11.7 can corrupt ast.parse's recursion bookkeeping in a long test process (gh-106905,
# "AST constructor recursion depth mismatch"). The hypothesis plugin imports hypothesis lazily at
# the terminal summary, through pytest's rewriting ast.parse, and crashed there on partial runs;
# importing it at collection, as a full run does anyway, keeps partial runs working.

ROOT = Path(__file__).resolve().parent.parent
FILMS = ROOT / "films"
GOLDEN = Path(__file__).resolve().parent / "golden"
PLUGINS = Path(__file__).resolve().parent / "plugins"   # test backends, registered by a dist-info folder


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-goldens", action="store_true", default=False,
                     help="rewrite golden files from the current output (review the diff like code)")


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens") or os.environ.get("FILMC_UPDATE_GOLDENS"))


def compare_golden(path: Path, actual: str, update: bool) -> None:
    """A golden mismatch shows as a normal assertion diff; --update-goldens rewrites instead."""
    if update or not path.exists():
        if not update:
            pytest.fail(f"missing golden {path.name}; run pytest --update-goldens and review it")
        path.write_text(actual, "utf-8")
    assert actual == path.read_text("utf-8")
