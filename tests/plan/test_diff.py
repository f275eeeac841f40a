"""Plan diffs: exactly the jobs whose keys changed, why, whether they would re-run, and what that costs."""

from __future__ import annotations

import asyncio
import itertools
from decimal import Decimal
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from filmc.pipeline import compile_film
from filmc.plan.diff import JobChange, PlanDiff, diff_plans, word_diff
from filmc.plan.model import Plan
from tests.conftest import FILMS

LINE = "Le AI decidono di *ricreare* la vita umana."
EDITED = "Le AI decidono di *ricreare* l’umanità intera."
# A hundred characters more: at the voice's price per character, a few cents more
LONGER = "Warm at last, and bright, and home again, where the light is kind and the long cold night is over for good."
FINAL_OFFLINE = '[profile.final.expand]\nbackend = "template"\n'   # real prices, no Claude call, no key needed


def film_in(folder: Path, name: str = "entropy.film", edit: tuple[str, str] | None = None,
            profile: str | None = None) -> Path:
    """A copy of an example film in a folder of its own, optionally with one text edit and a filmc.toml."""
    folder.mkdir(parents=True, exist_ok=True)
    text = (FILMS / name).read_text("utf-8")
    if edit:
        assert edit[0] in text
        text = text.replace(edit[0], edit[1])
    if profile:
        (folder / "filmc.toml").write_text(profile, "utf-8")
    path = folder / name
    path.write_text(text, "utf-8")
    return path


def compiled(film: Path, cache: Path, profile: str = "preview") -> Plan:
    plan, _ = asyncio.run(compile_film(film, profile, cache_dir=cache))
    return plan


def by_id(diff: PlanDiff) -> dict[str, JobChange]:
    return {j.id: j for j in diff.jobs}


def test_one_narration_edit_lists_its_voice_the_mix_and_the_mux(tmp_path: Path) -> None:
    old = compiled(film_in(tmp_path / "old"), tmp_path / "cache")
    new = compiled(film_in(tmp_path / "new", edit=(LINE, EDITED)), tmp_path / "cache")
    diff = diff_plans(old, new)
    jobs = by_id(diff)
    assert list(jobs) == ["voice:s04-l01", "mix", "mux"]   # not the picture, no clip, no other line
    assert {j.change for j in diff.jobs} == {"changed"} and diff.unchanged == len(new.jobs) - 3
    voice = jobs["voice:s04-l01"]
    text = next(f for f in voice.fields if f.path == "spec.request.text")
    assert text.old == "Le AI decidono di ricreare la vita umana."
    assert text.new == "Le AI decidono di ricreare l’umanità intera."
    assert [(w.op, w.text) for w in text.words] == [
        ("same", "Le AI decidono di ricreare"), ("removed", "la vita umana."), ("added", "l’umanità intera.")]
    assert voice.old_key == old.job("voice:s04-l01").key and voice.new_key == new.job("voice:s04-l01").key
    # the mix and the mux have the same fields: they change because an input's key did
    assert jobs["mix"].fields == () and jobs["mix"].inputs == ("voice:s04-l01",)
    assert jobs["mux"].fields == () and jobs["mux"].inputs == ("mix",)
    assert all(j.reruns for j in diff.jobs)            # nothing is in the fresh cache
    assert diff.rerun_usd == Decimal("0") and diff.delta_usd == Decimal("0")   # offline: free, and said so
    assert diff.pending == len(new.jobs) - 3


def test_the_same_plan_has_no_changes(tmp_path: Path) -> None:
    plan = compiled(film_in(tmp_path / "a", "hello.film"), tmp_path / "cache")
    diff = diff_plans(plan, plan)
    assert diff.jobs == () and not diff.changed and diff.unchanged == len(plan.jobs)


def test_priced_plans_show_what_a_rerun_costs_and_the_delta(tmp_path: Path) -> None:
    """The final profile's prices (voice per character) with the template expander: no key, no network."""
    edit = ('"Warm at last."', f'"{LONGER}"')
    old = compiled(film_in(tmp_path / "old", "hello.film", profile=FINAL_OFFLINE), tmp_path / "cache", "final")
    new = compiled(film_in(tmp_path / "new", "hello.film", edit, profile=FINAL_OFFLINE), tmp_path / "cache", "final")
    diff = diff_plans(old, new)
    voice = by_id(diff)["voice:s03-l01"]
    assert list(by_id(diff)) == ["voice:s03-l01", "mix", "mux"]
    assert voice.old_usd is not None and voice.new_usd is not None and voice.new_usd > voice.old_usd > 0
    assert diff.rerun_usd == voice.new_usd             # the mix and the mux are filmc's own work: free
    assert diff.delta_usd == new.total_usd - old.total_usd == voice.new_usd - voice.old_usd
    assert diff.pending_usd == sum(j.estimated_usd for j in new.jobs if j.id not in by_id(diff))


def test_a_job_already_in_the_cache_would_not_rerun(tmp_path: Path) -> None:
    old = compiled(film_in(tmp_path / "old"), tmp_path / "cache")
    new = compiled(film_in(tmp_path / "new", edit=(LINE, EDITED)), tmp_path / "cache")
    in_cache = {"voice:s04-l01", "video:s01-sh01"}   # a changed job and an unchanged one
    cached = new.model_copy(update={"jobs": tuple(j.model_copy(update={"cached": j.id in in_cache})
                                                  for j in new.jobs)})
    diff = diff_plans(old, cached)
    jobs = by_id(diff)
    assert not jobs["voice:s04-l01"].reruns and jobs["mix"].reruns and jobs["mux"].reruns
    assert [j.id for j in diff.reruns] == ["mix", "mux"]
    assert diff.pending == len(new.jobs) - 3 - 1


def test_added_and_removed_lines_are_listed_by_id(tmp_path: Path) -> None:
    line = '    say +200ms "Something [pause 0.3s] changes." tone "quiet"\n'
    full = compiled(film_in(tmp_path / "full", "hello.film"), tmp_path / "cache")
    less = compiled(film_in(tmp_path / "less", "hello.film", (line, "")), tmp_path / "cache")
    removed = diff_plans(full, less)
    assert [(j.id, j.change) for j in removed.jobs] == [("mix", "changed"), ("mux", "changed"),
                                                        ("voice:s02-l01", "removed")]
    mix = by_id(removed)["mix"]
    assert {f.path for f in mix.fields} >= {"deps[1]", "spec.lines[1][0]"}   # its placed lines changed
    added = diff_plans(less, full)
    assert (added.jobs[0].id, added.jobs[0].change) == ("voice:s02-l01", "added")
    assert by_id(added)["voice:s02-l01"].new_key == full.job("voice:s02-l01").key


def test_a_shot_edit_is_a_word_diff_of_its_prompt_and_the_picture_follows(tmp_path: Path) -> None:
    edit = ("The plinth begins to glow", "The plinth slowly begins to glow")
    old = compiled(film_in(tmp_path / "old"), tmp_path / "cache")
    new = compiled(film_in(tmp_path / "new", edit=edit), tmp_path / "cache")
    jobs = by_id(diff_plans(old, new))
    assert list(jobs) == ["video:s04-sh02", "picture", "mux"]
    prompt = next(f for f in jobs["video:s04-sh02"].fields if f.path == "spec.request.prompt")
    assert [w for w in prompt.words if w.op != "same"] == [type(prompt.words[0])(op="added", text="slowly")]
    assert jobs["picture"].inputs == ("video:s04-sh02",) and jobs["mux"].inputs == ("picture",)


def test_the_diff_round_trips_as_json(tmp_path: Path) -> None:
    old = compiled(film_in(tmp_path / "old"), tmp_path / "cache")
    new = compiled(film_in(tmp_path / "new", edit=(LINE, EDITED)), tmp_path / "cache")
    diff = diff_plans(old, new)
    assert PlanDiff.model_validate_json(diff.model_dump_json()) == diff


words = st.lists(st.sampled_from(["a", "b", "c", "la", "vita", "*x*", "l’umanità"]), max_size=12)


@given(words, words)
def test_a_word_diff_rebuilds_both_texts(old: list[str], new: list[str]) -> None:
    runs = word_diff(" ".join(old), " ".join(new))
    assert " ".join(r.text for r in runs if r.op != "added").split() == old
    assert " ".join(r.text for r in runs if r.op != "removed").split() == new
    assert all(a.op != b.op for a, b in itertools.pairwise(runs))   # runs are merged
