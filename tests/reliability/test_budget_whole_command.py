"""`--max-cost` is the whole command's: several languages, several films, a fitted film's voice made by its compile,
and what a translation then buys all come out of one budget, refused (exit 4) before the money that would pass it
is sent. ElevenLabs and Claude are the loopback fakes; the video and music are the offline ones (free)."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from filmc.cli import main
from filmc.errors import BudgetError, ConfigError
from filmc.pipeline import compile_film
from tests.fakes.anthropic_fake import FakeAnthropic, first_user_text, serving, translation_requests
from tests.fakes.elevenlabs_fake import FakeElevenLabs
from tests.fakes.elevenlabs_fake import serving as serving_elevenlabs
from tests.filmc_backends.final import hello_project

EL_KEY = "el-test-budget-0b7d-secret"
ANT_KEY = "sk-ant-test-budget-77e1-secret"
OFFLINE_PICTURE = """
[profile.final]
voices = { narrator = "voice-it-1" }
[profile.final.video]
backend = "animatic"
[profile.final.music]
backend = "synth"
"""
VOICE_ONLY = OFFLINE_PICTURE + '[profile.final.expand]\nbackend = "template"\n'
FITTED = ('''  scene "Turn" {
    shot 2s "The orb turns, catching light" {''', '''  scene "Turn" {
    fit narration
    shot 1s..6s "The orb turns, catching light" {''')
# hello.film's three lines at ElevenLabs' list price: $0.0116 a language (estimated and in the ledger alike)
BUDGET = "0.02"   # one language's (or one film's) voice fits; two don't


@pytest.fixture
def voice(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeElevenLabs]:
    with serving_elevenlabs(EL_KEY, monkeypatch) as server:
        yield server


def billed_usd(fake: FakeElevenLabs) -> Decimal:
    return sum((Decimal("0.18") * len(b["text"]) / 1000 for b in fake.billed), Decimal(0))


@pytest.mark.slow
def test_a_lang_list_shares_one_budget(voice: FakeElevenLabs, tmp_path: Path) -> None:
    film = hello_project(tmp_path, VOICE_ONLY)
    result = CliRunner().invoke(main, ["render", str(film), "--profile", "final", "--lang", "en,fr",
                                       "--max-cost", BUDGET], env={"NO_COLOR": "1"})
    assert result.exit_code == 4, result.output
    assert "over --max-cost $0.01" in result.output   # what the first language left
    assert len(voice.billed) == 3 and billed_usd(voice) <= Decimal(BUDGET)   # English made; French never sent
    assert (tmp_path / "out" / "hello" / "hello.mp4").is_file()


def test_several_films_count_the_voice_a_fitted_films_compile_made(voice: FakeElevenLabs, tmp_path: Path) -> None:
    fitted = hello_project(tmp_path / "a", VOICE_ONLY, FITTED)
    plain = hello_project(tmp_path / "b", VOICE_ONLY)
    result = CliRunner().invoke(main, ["render", str(fitted), str(plain), "--profile", "final",
                                       "--max-cost", BUDGET], env={"NO_COLOR": "1"})
    assert result.exit_code == 4, result.output
    assert "nothing was started" in result.output
    assert len(voice.billed) == 3 and billed_usd(voice) <= Decimal(BUDGET)   # the fitted film's voice, no more


def test_the_next_fitted_films_compile_gets_what_the_first_left(voice: FakeElevenLabs, tmp_path: Path) -> None:
    first = hello_project(tmp_path / "a", VOICE_ONLY, FITTED)
    second = hello_project(tmp_path / "b", VOICE_ONLY, FITTED)
    result = CliRunner().invoke(main, ["render", str(first), str(second), "--profile", "final",
                                       "--max-cost", BUDGET], env={"NO_COLOR": "1"})
    assert result.exit_code == 4, result.output
    assert "its voice is made first" in result.output
    assert len(voice.billed) == 3 and billed_usd(voice) <= Decimal(BUDGET)


def test_a_translations_render_pays_for_the_voice_its_compile_made_to_fit_the_film(voice: FakeElevenLabs,
                                                                                     tmp_path: Path) -> None:
    film = hello_project(tmp_path, VOICE_ONLY, FITTED)   # in English; its compile for `--lang fr` voices it first
    result = CliRunner().invoke(main, ["render", str(film), "--profile", "final", "--lang", "fr",
                                       "--max-cost", BUDGET], env={"NO_COLOR": "1"})
    assert result.exit_code == 4, result.output
    assert len(voice.billed) == 3 and billed_usd(voice) <= Decimal(BUDGET)   # the English voice; no French


@pytest.mark.slow
def test_a_translations_ledger_lists_the_voice_its_compile_made_to_fit_the_film(voice: FakeElevenLabs,
                                                                                tmp_path: Path) -> None:
    film = hello_project(tmp_path, VOICE_ONLY, FITTED)
    result = CliRunner().invoke(main, ["render", str(film), "--profile", "final", "--lang", "fr", "--max-cost", "1"],
                                env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    ledger = json.loads((tmp_path / "out" / "hello" / "manifest.fr.json").read_text("utf-8"))["ledger"]
    assert len(voice.billed) == len(ledger) == 6   # the English lines it was fitted to, and the French
    assert sum(Decimal(e["usd"]) for e in ledger) == billed_usd(voice)


# ------------------------------------------------------------------ translation by Claude

def answer(body: dict[str, Any]) -> dict[str, Any]:
    if "text" in body["tools"][0]["input_schema"]["properties"]:
        return {"text": f"FR {first_user_text(body).split()[1]}: Bonjour."}
    return {"prompt": f"Cinematic prompt for {first_user_text(body).splitlines()[0]}, soft light.", "negative": "x"}


@pytest.fixture
def claude(monkeypatch: pytest.MonkeyPatch, voice: FakeElevenLabs) -> Iterator[FakeAnthropic]:
    with serving(answer, ANT_KEY, monkeypatch) as server:
        yield server


def prompts_cached(film: Path, fake: FakeAnthropic) -> None:
    asyncio.run(compile_film(film, "final", max_cost=Decimal(10)))   # the shots' prompts, paid for and cached
    fake.reset()


def test_translation_is_refused_when_the_voice_it_leads_to_is_over_budget(claude: FakeAnthropic,
                                                                          tmp_path: Path) -> None:
    film = hello_project(tmp_path, OFFLINE_PICTURE + "[profile.final.voice]\nprice = { per_1k_chars = 100 }\n")
    prompts_cached(film, claude)
    with pytest.raises(BudgetError, match=r"translating 3 narration line\(s\).*the voice, mix and mux it leads to"):
        asyncio.run(compile_film(film, "final", language="fr", max_cost=Decimal(5)))   # Claude alone: cents
    assert translation_requests(claude) == []


def test_translation_for_a_render_needs_the_renders_keys_first(claude: FakeAnthropic, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    film = hello_project(tmp_path, OFFLINE_PICTURE)
    prompts_cached(film, claude)
    monkeypatch.delenv("ELEVENLABS_API_KEY")
    with pytest.raises(ConfigError, match="ELEVENLABS_API_KEY is not set"):
        asyncio.run(compile_film(film, "final", language="fr", max_cost=Decimal(2), for_render=True))
    assert translation_requests(claude) == []


def test_the_translation_estimate_covers_the_tool_it_is_sent_with(claude: FakeAnthropic, tmp_path: Path) -> None:
    from filmc.backend.protocol import BackendConfig, Setup
    from filmc.check import load
    from filmc.expand.context import film_context
    from filmc.expand.templating import Templates
    from filmc.expand.translation import line_contexts
    from filmc_backends.expanders import ClaudeShotExpander

    film = hello_project(tmp_path, OFFLINE_PICTURE)
    prompts_cached(film, claude)
    asyncio.run(compile_film(film, "final", language="fr", max_cost=Decimal(2)))
    sent = translation_requests(claude)
    assert len(sent) == 3
    # what each call really carries: the system block, the messages, the tool (name, description, schema), and the
    # API's own forced-tool prompt (346 tokens); at the estimate's own 3.5 characters a token
    carried = sum(math.ceil(len(json.dumps(b["system"]) + json.dumps(b["messages"]) + json.dumps(b["tools"])) / 3.5)
                  + 346 for b in sent)
    checked, _, _ = load(film)
    expander = ClaudeShotExpander(BackendConfig(backend="claude"), Setup(project_dir=tmp_path,
                                                                         cache_dir=tmp_path / "scratch"))
    tokens_in, _ = expander.estimate_translation_tokens(film_context(checked), line_contexts(checked, "fr"),
                                                        Templates(tmp_path))
    assert tokens_in >= carried
