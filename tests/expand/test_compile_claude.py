"""`filmc compile --profile final` with the real anthropic SDK against our loopback fake of the API."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from filmc.expand.context import ShotPrompt
from filmc.pipeline import compile_film
from filmc.plan.model import VideoSpec
from tests.conftest import FILMS
from tests.fakes.anthropic_fake import FakeAnthropic, first_user_text, serving

KEY = "sk-ant-test-compile-7d2e4f-secret"


def answer(body: dict[str, Any]) -> dict[str, Any]:
    shot = first_user_text(body).splitlines()[0]
    return {"prompt": f"Cinematic prompt for {shot}, volumetric light, shallow depth of field.",
            "negative": "text, logos"}


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAnthropic]:
    with serving(answer, KEY, monkeypatch) as server:
        yield server


def project(tmp_path: Path) -> Path:
    film = tmp_path / "hello.film"
    film.write_text((FILMS / "hello.film").read_text("utf-8"), "utf-8")
    return film


def all_text_under(root: Path) -> str:
    return "".join(p.read_bytes().decode("utf-8", "replace") for p in root.rglob("*") if p.is_file())


def test_claude_writes_every_prompt_once(fake: FakeAnthropic, tmp_path: Path) -> None:
    film = project(tmp_path)
    plan, _ = asyncio.run(compile_film(film, "final", cache_dir=tmp_path / "cache", max_cost=Decimal(1)))
    assert len(fake.requests) == 3  # three shots
    body = fake.requests[0].body
    assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert "Soft studio light" in body["system"][0]["text"]  # the style bible is the cached system block
    assert body["tools"][0]["input_schema"] == ShotPrompt.model_json_schema()
    assert body["tool_choice"]["type"] == "tool"
    assert body["model"] == "claude-sonnet-5-5"
    video = plan.job("video:s02-sh01")
    assert isinstance(video.spec, VideoSpec) and video.spec.request.prompt.startswith("Cinematic prompt for Shot s02")
    assert plan.expansion.calls == 3 and plan.expansion.usd > 0

    again, _ = asyncio.run(compile_film(film, "final", cache_dir=tmp_path / "cache", max_cost=Decimal(1)))
    assert len(fake.requests) == 3  # a second compile sends nothing
    assert [j.key for j in again.jobs] == [j.key for j in plan.jobs]

    assert KEY not in all_text_under(tmp_path / "cache")
    assert KEY not in plan.model_dump_json()


def test_cli_compile_final_shows_claude_and_leaks_no_key(fake: FakeAnthropic, tmp_path: Path) -> None:
    film = project(tmp_path)
    env = {**os.environ, "FILMC_CACHE": str(tmp_path / "cache"), "COLUMNS": "160"}
    shown = subprocess.run([sys.executable, "-m", "filmc.cli", "compile", "--profile", "final", "--max-cost", "2",
                            str(film)],
                           capture_output=True, text=True, env=env, check=False)
    assert shown.returncode == 0, shown.stderr
    assert "Expansion: claude claude-sonnet-5-5, 3 call(s)" in shown.stdout
    as_json = subprocess.run([sys.executable, "-m", "filmc.cli", "compile", "--profile", "final", "--json",
                              str(film)], capture_output=True, text=True, env=env, check=False)
    plan = json.loads(as_json.stdout)
    assert plan["expansion"]["calls"] == 0  # all cached now
    for text in (shown.stdout, shown.stderr, as_json.stdout, as_json.stderr, all_text_under(tmp_path)):
        assert KEY not in text


def test_missing_keys_are_one_line_naming_every_variable(tmp_path: Path) -> None:
    keys = ("ANTHROPIC_API_KEY", "GEMINI_API_KEY", "ELEVENLABS_API_KEY")
    env = {k: v for k, v in os.environ.items() if k not in keys}
    env["FILMC_CACHE"] = str(tmp_path / "cache")
    result = subprocess.run([sys.executable, "-m", "filmc.cli", "compile", "--profile", "final",
                             str(project(tmp_path))], capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 1
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "ANTHROPIC_API_KEY, ELEVENLABS_API_KEY, GEMINI_API_KEY are not set" in lines[0]
    assert "the video layer (`gemini-omni`) needs GEMINI_API_KEY" in lines[0]


def test_max_cost_refuses_with_exit_four(fake: FakeAnthropic, tmp_path: Path) -> None:
    env = {**os.environ, "FILMC_CACHE": str(tmp_path / "cache")}
    result = subprocess.run([sys.executable, "-m", "filmc.cli", "compile", "--profile", "final", "--max-cost",
                             "0.2", str(project(tmp_path))], capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 4  # the prompts fit in $0.20; the video, voice and music jobs don't
    assert "over --max-cost $0.20" in result.stderr and "the clips, voice and music it leads to" in result.stderr
    assert fake.requests == []   # refused before the first prompt: no prompt is bought for a film not made


def test_claude_is_not_called_without_a_budget(fake: FakeAnthropic, tmp_path: Path) -> None:
    from filmc.errors import BudgetError

    with pytest.raises(BudgetError, match="--max-cost"):
        asyncio.run(compile_film(project(tmp_path), "final", cache_dir=tmp_path / "cache"))
    with pytest.raises(BudgetError, match="over --max-cost"):
        asyncio.run(compile_film(project(tmp_path), "final", cache_dir=tmp_path / "cache", max_cost=Decimal("0.001")))
    assert fake.requests == []  # refused before a single call


def test_pricing_before_claude_is_asked_never_fails_on_a_long_shot(fake: FakeAnthropic, tmp_path: Path) -> None:
    """The draft plan priced before the first call stands in for prompts not yet written; a description longer
    than the video backend's prompt limit must not fail compile there (Claude writes within the limit)."""
    film = project(tmp_path)
    long = "An orb floats in a dark blue void, " + "slowly drifting through layers of glassy haze, " * 25
    film.write_text(film.read_text("utf-8").replace("An orb floats in a dark blue void", long.strip(", ")), "utf-8")
    (tmp_path / "filmc.toml").write_text('[profile.final.video]\nbackend = "runway"\n', "utf-8")   # 1,000 at most
    plan, _ = asyncio.run(compile_film(film, "final", cache_dir=tmp_path / "cache", max_cost=Decimal(5)))
    assert len(fake.requests) == 3 and plan.job("video:s01-sh01").spec.kind == "video"
