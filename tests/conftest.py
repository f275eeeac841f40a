"""Shared fixtures: the golden-file switch, paths to the example films, the bad films and the test plugins."""

from __future__ import annotations

from pathlib import Path

import hypothesis  # noqa: F401  # imported up front: see the note below
import pytest

# CPython 3.11.7 can corrupt ast.parse's recursion bookkeeping in a long test process (gh-106905,
# "AST constructor recursion depth mismatch"). The hypothesis plugin imports hypothesis lazily at
# the terminal summary, through pytest's rewriting ast.parse, and crashed there on partial runs;
# importing it at collection, as a full run does anyway, keeps partial runs working.

ROOT = Path(__file__).resolve().parent.parent
FILMS = ROOT / "films"
TESTS = Path(__file__).resolve().parent
BAD_FILMS = TESTS / "check" / "golden"   # each a .film with the diagnostics it must give beside it
PLUGINS = TESTS / "plugins"   # test backends, registered by a dist-info folder


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-goldens", action="store_true", default=False,
                     help="rewrite golden files from the current output (review the diff like code)")


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    """Only the flag rewrites goldens: an environment variable left set would make every golden test pass."""
    return bool(request.config.getoption("--update-goldens"))


def compare_golden(path: Path, actual: str, update: bool) -> None:
    """A golden mismatch shows as a normal assertion diff; --update-goldens rewrites instead."""
    if update or not path.exists():
        if not update:
            pytest.fail(f"missing golden {path.name}; run pytest --update-goldens and review it")
        path.write_text(actual, "utf-8")
    assert actual == path.read_text("utf-8")
