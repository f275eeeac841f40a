"""`--lang`: a film's narration in another language, offline (identity, marked untranslated), from an override
file (`<film>.<lang>.lines`), and by Claude over the wire (the real SDK against the loopback fake)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from filmc import codes
from filmc.check import load
from filmc.cli import main
from filmc.diagnostics import FilmError
from filmc.errors import BudgetError
from filmc.expand.translation import LineTranslation
from filmc.pipeline import compile_film
from filmc.plan.model import Plan, VoiceSpec
from tests.conftest import FILMS
from tests.fakes.anthropic_fake import Answer, FakeAnthropic, first_user_text, serving, translation_requests

KEY = "sk-ant-test-translate-5c1a9e-secret"


def project(tmp_path: Path, lines: str | None = None, edit: tuple[str, str] | None = None) -> Path:
    """hello.film (in English) in its own folder, with an optional hello.fr.lines beside it."""
    text = (FILMS / "hello.film").read_text("utf-8")
    if edit:
        assert edit[0] in text
        text = text.replace(*edit)
    film = tmp_path / "hello.film"
    film.write_text(text, "utf-8")
    if lines is not None:
        (tmp_path / "hello.fr.lines").write_text(lines, "utf-8")
    return film


def compile_in(film: Path, tmp_path: Path, language: str | None = None, profile: str = "preview",
               max_cost: Decimal | None = None) -> Plan:
    plan, _ = asyncio.run(compile_film(film, profile, cache_dir=tmp_path / "cache", language=language,
                                       max_cost=max_cost))
    return plan


def keys(plan: Plan) -> dict[str, str]:
    return {j.id: j.key for j in plan.jobs}


def voice(plan: Plan, job: str) -> VoiceSpec:
    spec = plan.job(job).spec
    assert isinstance(spec, VoiceSpec)
    return spec


# ------------------------------------------------------------------ offline

def test_offline_translation_keeps_the_words_marks_them_and_shares_every_picture_key(tmp_path: Path) -> None:
    film = project(tmp_path)
    original, french = compile_in(film, tmp_path), compile_in(film, tmp_path, "fr")
    assert original.translation is None and '"translation"' not in original.model_dump_json()
    assert french.translation is not None and french.film.language == "fr"
    assert [(line.beat_id, line.status) for line in french.translation.lines] == [
        ("s01-l01", "untranslated"), ("s02-l01", "untranslated"), ("s03-l01", "untranslated")]
    assert french.translation.lines[1].text == "Something [pause 0.3s] changes."
    before, after = keys(original), keys(french)
    assert {j for j in before if before[j] != after[j]} == {"voice:s01-l01", "voice:s02-l01", "voice:s03-l01",
                                                            "mix", "mux"}
    spec = voice(french, "voice:s02-l01")
    assert spec.request.language == "fr" and spec.request.text == "Something changes."
    assert spec.start == voice(original, "voice:s02-l01").start   # the timeline never moves


def test_the_films_own_language_is_the_original_plan(tmp_path: Path) -> None:
    film = project(tmp_path)
    assert keys(compile_in(film, tmp_path, "en")) == keys(compile_in(film, tmp_path))


def test_override_file_wins_and_changes_only_its_lines_keys(tmp_path: Path) -> None:
    film = project(tmp_path)
    untranslated = compile_in(film, tmp_path, "fr")
    (tmp_path / "hello.fr.lines").write_text("# French\n\ns02-l01:  Quelque chose [pause 0.3s] *change*.\n", "utf-8")
    french = compile_in(film, tmp_path, "fr")
    assert french.translation is not None and french.translation.overrides == str(tmp_path / "hello.fr.lines")
    assert [line.status for line in french.translation.lines] == ["untranslated", "override", "untranslated"]
    spec = voice(french, "voice:s02-l01")
    assert spec.request.text == "Quelque chose change."
    assert [type(p).__name__ for p in spec.request.parts][:2] == ["Spoken", "Pause"]
    assert any(getattr(p, "emphasis", False) and p.text == "change" for p in spec.request.parts)
    before, after = keys(untranslated), keys(french)
    assert {j for j in before if before[j] != after[j]} == {"voice:s02-l01", "mix", "mux"}


def test_override_file_problems_are_located_diagnostics_all_at_once(tmp_path: Path) -> None:
    film = project(tmp_path, lines="s01-l01: Bonjour, *monde*.\n"
                                   "just some words\n"
                                   "s02-l1: Quelque chose change.\n"
                                   "s01-l01: Encore.\n"
                                   "s03-l01: Chaud [pause soon] enfin.\n"
                                   "s02-l01:\n")
    with pytest.raises(FilmError) as err:
        compile_in(film, tmp_path, "fr")
    found = [(d.code, d.span.line, d.span.column, d.span.end_column) for d in err.value.diagnostics]
    assert found == [(codes.BAD_LINES_ENTRY.code, 2, 1, 16), (codes.UNKNOWN_LINE_ID.code, 3, 1, 7),
                     (codes.DUPLICATE_LINE_ID.code, 4, 1, 8), (codes.UNKNOWN_DIRECTION.code, 5, 16, 28),
                     (codes.BAD_LINES_ENTRY.code, 6, 1, 8)]
    by_code = {d.code: d for d in err.value.diagnostics}
    assert by_code[codes.UNKNOWN_LINE_ID.code].hint == "did you mean `s02-l01`?"
    assert by_code[codes.DUPLICATE_LINE_ID.code].related[0].span.line == 1
    assert all(d.span.path == str(tmp_path / "hello.fr.lines") for d in err.value.diagnostics)


def test_translate_line_is_checked(tmp_path: Path) -> None:
    film = project(tmp_path, edit=("  language en\n", "  language en\n  translate fr, en, fr, english\n"))
    with pytest.raises(FilmError) as err:
        load(film)
    found = [(d.code, d.span.column) for d in err.value.diagnostics]
    assert found == [(codes.BAD_TRANSLATE.code, 17), (codes.BAD_TRANSLATE.code, 21), (codes.BAD_LANGUAGE_TAG.code, 25)]
    ok = project(tmp_path, edit=("  language en\n", "  language en\n  translate fr, de\n"))
    checked, _, _ = load(ok)
    assert checked.translations == ("fr", "de")


def test_cli_compile_lang_shows_each_line_and_refuses_a_bad_tag(tmp_path: Path) -> None:
    film = project(tmp_path, lines="s01-l01: Bonjour, *monde*.\n")
    env = {"FILMC_CACHE": str(tmp_path / "cache"), "COLUMNS": "200", "NO_COLOR": "1"}
    shown = CliRunner().invoke(main, ["compile", str(film), "--lang", "fr"], env=env)
    assert shown.exit_code == 0, shown.output
    assert "Translation en → fr (template): 2 untranslated, 1 override" in shown.output
    assert "Bonjour, *monde*." in shown.output and "hello.fr.lines" in shown.output
    bad = CliRunner().invoke(main, ["compile", str(film), "--lang", "french!"], env=env)
    assert bad.exit_code == 2 and "is not a BCP 47 language tag" in bad.output


# ------------------------------------------------------------------ Claude, over the wire

def answer(body: dict[str, Any]) -> dict[str, Any]:
    """A shot's prompt or a line's translation, by the schema the tool was given."""
    request = first_user_text(body)
    if "text" in body["tools"][0]["input_schema"]["properties"]:
        line = request.split()[1]
        return {"text": f"FR {line}: Bonjour [pause 0.2s] *monde*."}
    return {"prompt": f"Cinematic prompt for {request.splitlines()[0]}, soft light.", "negative": "text"}


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAnthropic]:
    with serving(answer, KEY, monkeypatch) as server:
        yield server


def test_claude_translates_each_line_once_through_the_forced_schema(fake: FakeAnthropic, tmp_path: Path) -> None:
    film = project(tmp_path)
    plan = compile_in(film, tmp_path, "fr", "final", Decimal(2))
    asked = translation_requests(fake)
    assert len(asked) == 3
    body = asked[0]
    assert body["tools"][0]["input_schema"] == LineTranslation.model_json_schema()
    assert body["tool_choice"] == {"type": "tool", "name": body["tools"][0]["name"]}
    assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert "from `en`" in body["system"][0]["text"] and "into\n`fr`" in body["system"][0]["text"]
    lines = {first_user_text(b).split()[1]: first_user_text(b) for b in asked}
    assert 'Original (en): Warm at last.' in lines["s03-l01"] and "Direction: tender; pace 0.85" in lines["s03-l01"]
    assert "Time budget:" in lines["s03-l01"] and "The orb glows amber" in lines["s03-l01"]
    assert plan.translation is not None and plan.translation.translator == "claude claude-sonnet-5-5"
    assert {line.status for line in plan.translation.lines} == {"translated"}
    spec = voice(plan, "voice:s02-l01")
    assert spec.request.text == "FR s02-l01: Bonjour monde." and spec.request.language == "fr"
    assert plan.expansion.calls == 6 and plan.expansion.usd > 0   # three prompts, three lines

    again = compile_in(film, tmp_path, "fr", "final")   # all cached: no budget needed, nothing sent
    assert len(fake.requests) == 6 and keys(again) == keys(plan)
    (tmp_path / "hello.fr.lines").write_text("s01-l01: Salut.\n", "utf-8")
    edited = compile_in(film, tmp_path, "fr", "final")
    assert len(fake.requests) == 6
    assert edited.translation is not None and edited.translation.lines[0].status == "override"
    assert {j for j in keys(plan) if keys(plan)[j] != keys(edited)[j]} == {"voice:s01-l01", "mix", "mux"}
    cached = "".join(p.read_text("utf-8", "replace") for p in (tmp_path / "cache").rglob("*.json"))
    assert "Bonjour [pause 0.2s] *monde*." in cached and KEY not in cached and KEY not in plan.model_dump_json()


def test_an_answer_whose_markup_does_not_read_is_asked_again(fake: FakeAnthropic, tmp_path: Path) -> None:
    compile_in(project(tmp_path), tmp_path, None, "final", Decimal(2))   # the prompts, cached first
    fake.reset()
    fake.script(Answer({"text": "Bonjour [pause"}))
    plan = compile_in(project(tmp_path), tmp_path, "fr", "final", Decimal(2))
    asked = translation_requests(fake)
    assert len(asked) == 4   # three lines, one of them twice
    reask = next(b for b in asked if len(b["messages"]) == 3)
    result = reask["messages"][2]["content"][0]
    assert result["is_error"] and "has no partner" in result["content"]
    assert plan.translation is not None and all("[pause" not in line.text or "0.2s]" in line.text
                                                 for line in plan.translation.lines)


def test_translating_needs_a_budget_before_any_call(fake: FakeAnthropic, tmp_path: Path) -> None:
    compile_in(project(tmp_path), tmp_path, None, "final", Decimal(2))
    fake.reset()
    with pytest.raises(BudgetError, match=r"translating 3 narration line\(s\).*--max-cost"):
        compile_in(project(tmp_path), tmp_path, "fr", "final")
    assert fake.requests == []


def test_check_vets_the_override_file_of_each_translate_language(tmp_path: Path) -> None:
    film = project(tmp_path, lines="s01-l01: Bonjour.\nbad line\n",
                   edit=("  language en\n", "  language en\n  translate fr\n"))
    result = CliRunner().invoke(main, ["check", str(film)], env={"NO_COLOR": "1"})
    assert result.exit_code == 1
    assert "error[F0902]: this is not `id: text`" in result.output and "hello.fr.lines:2:1" in result.output


def test_render_refuses_a_plan_of_another_language_and_a_list_of_one(tmp_path: Path) -> None:
    film = project(tmp_path)
    env = {"FILMC_CACHE": str(tmp_path / "cache"), "NO_COLOR": "1"}
    plan = tmp_path / "plan.json"
    plan.write_text(compile_in(film, tmp_path).model_dump_json(), "utf-8")
    other = CliRunner().invoke(main, ["render", str(plan), "--lang", "fr"], env=env)
    assert other.exit_code == 2 and "compile it with --lang fr --json" in other.output
    alone = CliRunner().invoke(main, ["render", str(film), "--lang", "all"], env=env)
    assert alone.exit_code == 2 and "`translate` line lists no language" in alone.output
    assert not (tmp_path / "out").exists()   # refused before anything was rendered


def test_fmt_writes_translate_on_one_line_as_written() -> None:
    from filmc.syntax.fmt import format_text

    text = (FILMS / "hello.film").read_text("utf-8").replace("  language en\n", "  language en\n  translate fr ,de\n")
    formatted = format_text(text, "hello.film")
    assert "\n  language en\n  translate fr, de\n" in formatted
    assert format_text(formatted, "hello.film") == formatted
