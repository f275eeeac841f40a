"""`filmc diff` as a user meets it: films or plan files in, the changed jobs with word diffs and costs out."""

from __future__ import annotations

import json
import re
from io import StringIO
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from rich.console import Console

from filmc.cli import main
from filmc.cli.diff import DIFFERS
from filmc.cli.diff_view import print_diff
from filmc.plan.diff import PlanDiff, diff_plans
from tests.conftest import FILMS, ROOT
from tests.plan.test_diff import EDITED, FINAL_OFFLINE, LINE, LONGER, compiled, film_in

PLAIN = {"COLUMNS": "80", "NO_COLOR": "1", "FORCE_COLOR": ""}


def filmc(*args: str | Path, cache: Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], env={**PLAIN, "FILMC_CACHE": str(cache)})


def headers(output: str) -> list[str]:
    """The job header lines: `~ voice:s04-l01  changed · …` -> `~ voice:s04-l01`."""
    return [" ".join(line.split()[:2]) for line in output.splitlines() if re.match(r"^[~+-] \S", line)]


def test_a_narration_edit_between_two_films(tmp_path: Path) -> None:
    old, new = film_in(tmp_path / "old"), film_in(tmp_path / "new", edit=(LINE, EDITED))
    result = filmc("diff", old, new, cache=tmp_path / "cache")
    assert result.exit_code == 0, result.output
    assert headers(result.output) == ["~ voice:s04-l01", "~ mix", "~ mux"]
    assert "video:" not in result.output and "picture" not in result.output   # the picture is untouched
    text = re.sub(r"\s+", " ", result.output)
    assert "Le AI decidono di ricreare [-la vita umana.-] {+l’umanità intera.+}" in text   # piped: markers
    assert "new keys upstream: voice:s04-l01" in text and "new keys upstream: mix" in text
    assert "Plan: 0 to add, 3 to change, 0 to remove; 36 unchanged." in result.output
    assert "Would re-run 3 job(s) not in the cache: est. $0.00" in result.output   # free offline, and said so
    assert "$0.00 → $0.00 (+$0.00)" in result.output
    assert all(len(line) <= 80 for line in result.output.splitlines())
    assert "\x1b[" not in result.output


def test_exit_code_says_whether_the_plans_differ(tmp_path: Path) -> None:
    old, new = film_in(tmp_path / "old"), film_in(tmp_path / "new", edit=(LINE, EDITED))
    assert filmc("diff", "--exit-code", old, new, cache=tmp_path / "c").exit_code == DIFFERS
    same = filmc("diff", "--exit-code", old, old, cache=tmp_path / "c")
    assert same.exit_code == 0 and "No changes: the 39 jobs are the same in both plans." in same.output
    assert filmc("diff", old, new, cache=tmp_path / "c").exit_code == 0   # without the flag, a diff is no failure


def test_a_plan_file_against_an_edited_film_as_json(tmp_path: Path) -> None:
    film = film_in(tmp_path / "project")
    plan = filmc("compile", "--json", film, cache=tmp_path / "cache")
    assert plan.exit_code == 0, plan.output
    (tmp_path / "before.json").write_text(plan.output, "utf-8")
    film.write_text(film.read_text("utf-8").replace(LINE, EDITED), "utf-8")
    result = filmc("diff", "--json", tmp_path / "before.json", film, cache=tmp_path / "cache")
    assert result.exit_code == 0, result.output
    diff = PlanDiff.model_validate_json(result.output)
    assert [(j.id, j.change) for j in diff.jobs] == [("voice:s04-l01", "changed"), ("mix", "changed"),
                                                     ("mux", "changed")]
    assert json.loads(result.output)["rerun_usd"] == "0.0000"


def test_a_plan_files_cache_status_is_read_again(tmp_path: Path) -> None:
    """The plan file says nothing is cached; the cache now holds the new voice line, so it wouldn't re-run."""
    from filmc.render.cache import Cache
    from filmc.render.outcome import AssetMeta

    old, new = film_in(tmp_path / "old"), film_in(tmp_path / "new", edit=(LINE, EDITED))
    for film, name in ((old, "old.json"), (new, "new.json")):
        (tmp_path / name).write_text(filmc("compile", "--json", film, cache=tmp_path / "cache").output, "utf-8")
    job = compiled(new, tmp_path / "cache").job("voice:s04-l01")
    cache = Cache(tmp_path / "cache")
    asset = cache.path("voice", job.key, ".wav")
    asset.parent.mkdir(parents=True)
    asset.write_bytes(b"RIFF....")
    cache.sidecar("voice", job.key).write_text(AssetMeta(job=job.id, key=job.key, size=8, duration=1.0)
                                               .model_dump_json(), "utf-8")
    result = filmc("diff", tmp_path / "old.json", tmp_path / "new.json", cache=tmp_path / "cache")
    assert result.exit_code == 0, result.output
    assert "voice:s04-l01  changed · voice · espeak · cached, would not re-run" in result.output
    assert "Would re-run 2 job(s) not in the cache: est. $0.00 (mix, mux)." in result.output


def test_priced_plans_show_the_cost_of_the_rerun_and_the_delta(tmp_path: Path) -> None:
    edit = ('"Warm at last."', f'"{LONGER}"')
    old = film_in(tmp_path / "old", "hello.film", profile=FINAL_OFFLINE)
    new = film_in(tmp_path / "new", "hello.film", edit, profile=FINAL_OFFLINE)
    result = filmc("diff", "-p", "final", old, new, cache=tmp_path / "cache")
    assert result.exit_code == 0, result.output
    before = compiled(old, tmp_path / "cache", "final").job("voice:s03-l01").estimated_usd
    after = compiled(new, tmp_path / "cache", "final").job("voice:s03-l01").estimated_usd
    assert after > before > 0
    assert f"voice:s03-l01  changed · voice · elevenlabs · would re-run · ${before:.2f} → ${after:.2f}" in result.output
    assert f"Would re-run 3 job(s) not in the cache: est. ${after:.2f}" in result.output
    assert re.search(r"Whole film, nothing cached: \$\d+\.\d\d → \$\d+\.\d\d \(\+\$\d+\.\d\d\)\.", result.output)
    exact = PlanDiff.model_validate_json(filmc("diff", "--json", "-p", "final", old, new,
                                               cache=tmp_path / "cache").output)
    assert exact.delta_usd == after - before and exact.rerun_usd == after


def test_colour_marks_words_instead_of_brackets(tmp_path: Path) -> None:
    old = compiled(film_in(tmp_path / "old"), tmp_path / "cache")
    new = compiled(film_in(tmp_path / "new", edit=(LINE, EDITED)), tmp_path / "cache")
    buffer = StringIO()
    print_diff(diff_plans(old, new), Console(file=buffer, width=80, force_terminal=True, color_system="truecolor"))
    shown = buffer.getvalue()
    assert "[-" not in shown and "{+" not in shown
    struck = re.search(r"\x1b\[(?:\d+;)*9(?:;\d+)*m([^\x1b]*)", shown)   # SGR 9: struck through
    assert struck and struck.group(1) == "la vita umana."


def test_added_and_removed_jobs_read_briefly(tmp_path: Path) -> None:
    line = '    say +200ms "Something [pause 0.3s] changes." tone "quiet"\n'
    full, less = film_in(tmp_path / "full", "hello.film"), film_in(tmp_path / "less", "hello.film", (line, ""))
    added = filmc("diff", less, full, cache=tmp_path / "c").output
    assert headers(added) == ["+ voice:s02-l01", "~ mix", "~ mux"]
    block = added.split("+ voice:s02-l01", 1)[1].split("\n\n", 1)[0]
    assert [ln.split()[0] for ln in block.splitlines()[1:]] == ["key", "start", "request.text", "seconds"]
    assert "request.text Something changes." in block and "none →" not in block
    removed = filmc("diff", full, less, cache=tmp_path / "c").output
    assert "- voice:s02-l01  removed · voice · espeak · no longer made · was $0.00" in removed
    assert "Plan: 0 to add, 2 to change, 1 to remove; 7 unchanged." in removed


def test_missing_or_broken_inputs_are_usage_and_spec_errors(tmp_path: Path) -> None:
    film = film_in(tmp_path / "project", "hello.film")
    missing = filmc("diff", tmp_path / "nope.json", film, cache=tmp_path / "c")
    assert missing.exit_code == 2 and "cannot read the plan" in missing.output
    broken = film_in(tmp_path / "broken", "hello.film", ("with orb\n", "with orbb\n"))
    spec = filmc("diff", film, broken, cache=tmp_path / "c")
    assert spec.exit_code == 1 and "F0202" in spec.output


def test_help_has_examples_and_exit_codes() -> None:
    helped = CliRunner().invoke(main, ["diff", "--help"], env=PLAIN)
    assert helped.exit_code == 0
    assert "filmc diff before.json films/entropy.film" in helped.output
    assert f"{DIFFERS.value} the plans differ" in " ".join(helped.output.split())


def test_the_example_in_the_docs_is_what_filmc_prints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/plan.md's `filmc diff` session, run again: the same lines, keys aside (they follow backend versions)."""
    docs = (ROOT / "docs" / "plan.md").read_text("utf-8")
    session = docs.split("$ filmc diff before.json /tmp/hello.film\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    before = filmc("compile", "--json", FILMS / "hello.film", cache=tmp_path / "cache")
    (tmp_path / "before.json").write_text(before.output, "utf-8")
    edited = film_in(tmp_path / "tmp", "hello.film", ("Warm at last.", "Warm, at last."))
    result = filmc("diff", "before.json", edited.relative_to(tmp_path), cache=tmp_path / "cache")
    assert result.exit_code == 0, result.output

    def masked(text: str) -> list[str]:
        return [re.sub(r"\b[0-9a-f]{12}\b", "KEY", line.rstrip()) for line in text.splitlines()[1:]]

    assert result.output.splitlines()[0] == "before.json → tmp/hello.film (profile preview)"
    assert masked(result.output) == masked(session)
