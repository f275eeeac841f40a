"""What each entry point imports when it starts: the CLI, the pipeline and filmc.toml's reader stay light."""

from __future__ import annotations

import subprocess
import sys

import pytest


def imported_by(module: str) -> set[str]:
    code = f"import sys, {module}; print(' '.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    return set(done.stdout.split())


@pytest.mark.parametrize(("module", "heavy"), [
    ("filmc.pipeline", {"numpy", "opentimelineio", "anthropic", "openai", "elevenlabs", "rich"}),
    ("filmc.cli", {"numpy", "opentimelineio", "pydantic", "lark", "jinja2", "anthropic"}),
    ("filmc.plan.profiles", {"numpy", "jinja2", "lark"}),   # `filmc check` reads filmc.toml through it
])
def test_entry_points_stay_light(module: str, heavy: set[str]) -> None:
    assert imported_by(module) & heavy == set()
