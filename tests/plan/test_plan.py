"""The Plan: golden JSON, content keys that change exactly when they should, templates, fitting, cost."""

from __future__ import annotations

import asyncio
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from filmc.diagnostics import FilmError
from filmc.errors import UsageError
from filmc.pipeline import compile_film
from filmc.plan.model import Plan, VideoSpec
from tests.conftest import FILMS, PLUGINS, ROOT, compare_golden

GOLDEN = Path(__file__).resolve().parent / "golden"


def compile_at(film: Path, tmp: Path, profile: str = "preview") -> Plan:
    plan, _ = asyncio.run(compile_film(film, profile, cache_dir=tmp / "cache"))
    return plan


def project_with(tmp_path: Path, name: str = "entropy.film", edit: tuple[str, str] | None = None) -> Path:
    """A copy of an example film in its own project folder, optionally with one text edit."""
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    text = (FILMS / name).read_text("utf-8")
    if edit:
        assert edit[0] in text
        text = text.replace(edit[0], edit[1])
    path = project / name
    path.write_text(text, "utf-8")
    return path


def keys(plan: Plan) -> dict[str, str]:
    return {j.id: j.key for j in plan.jobs}


def test_entropy_plan_matches_golden(tmp_path: Path, update_goldens: bool) -> None:
    plan, _ = asyncio.run(compile_film(FILMS / "entropy.film", cache_dir=tmp_path / "cache",
                                       display="films/entropy.film"))
    text = plan.model_dump_json(indent=1).replace(str(ROOT), "<root>").replace(str(tmp_path), "<tmp>")
    compare_golden(GOLDEN / "entropy.preview.json", text + "\n", update_goldens)


def test_plan_round_trips_as_json(tmp_path: Path) -> None:
    plan = compile_at(FILMS / "hello.film", tmp_path)
    again = Plan.model_validate_json(plan.model_dump_json())
    assert again == plan
    assert {j.spec.kind for j in plan.jobs} == {"video", "voice", "music", "picture", "mix", "mux"}


def test_recompiling_is_stable(tmp_path: Path) -> None:
    assert keys(compile_at(FILMS / "entropy.film", tmp_path)) == keys(compile_at(FILMS / "entropy.film", tmp_path))


def test_one_narration_line_changes_only_its_own_keys(tmp_path: Path) -> None:
    before = keys(compile_at(project_with(tmp_path), tmp_path))
    edited = project_with(tmp_path, edit=("Le AI decidono di *ricreare* la vita umana.",
                                          "Le AI decidono di *ricreare* l'umanità."))
    after = keys(compile_at(edited, tmp_path))
    changed = {job for job in before if before[job] != after[job]}
    assert changed == {"voice:s04-l01", "mix", "mux"}


def test_one_shot_description_changes_its_picture_chain(tmp_path: Path) -> None:
    before = keys(compile_at(project_with(tmp_path), tmp_path))
    edited = project_with(tmp_path, edit=("The plinth begins to glow", "The plinth slowly begins to glow"))
    after = keys(compile_at(edited, tmp_path))
    changed = {job for job in before if before[job] != after[job]}
    assert changed == {"video:s04-sh02", "picture", "mux"}


def test_user_text_is_data_never_template_code(tmp_path: Path) -> None:
    film = project_with(tmp_path, "hello.film",
                        edit=("An orb floats in a dark blue void", "An orb {{ 7*7 }} {% raw %} {# x #} floats"))
    plan = compile_at(film, tmp_path)
    video = plan.job("video:s01-sh01")
    assert isinstance(video.spec, VideoSpec)
    assert "An orb {{ 7*7 }} {% raw %} {# x #} floats" in video.spec.request.prompt
    assert "49" not in video.spec.request.prompt


def test_project_templates_override_file_by_file(tmp_path: Path) -> None:
    film = project_with(tmp_path, "hello.film")
    (film.parent / "templates").mkdir()
    (film.parent / "templates" / "shot.prompt.j2").write_text("CUSTOM {{ shot.description|upper }}", "utf-8")
    plan = compile_at(film, tmp_path)
    video = plan.job("video:s02-sh01")
    assert isinstance(video.spec, VideoSpec)
    assert video.spec.request.prompt == "CUSTOM THE ORB TURNS, CATCHING LIGHT"
    assert video.spec.request.negative.startswith("text, captions")  # still filmc's own negative template
    assert keys(plan)["video:s02-sh01"] != keys(compile_at(FILMS / "hello.film", tmp_path))["video:s02-sh01"]


def test_a_broken_override_template_is_one_clear_error(tmp_path: Path) -> None:
    from filmc.errors import ConfigError

    film = project_with(tmp_path, "hello.film")
    (film.parent / "templates").mkdir()
    (film.parent / "templates" / "shot.prompt.j2").write_text("{{ shot.nope }}", "utf-8")
    with pytest.raises(ConfigError, match=r"template shot.prompt.j2.*nope"):
        compile_at(film, tmp_path)


def write_profile(project: Path, text: str) -> None:
    (project / "filmc.toml").write_text(text, "utf-8")


def fit_film(tmp_path: Path, seconds: str, lengths: str, monkeypatch: pytest.MonkeyPatch) -> Plan:
    monkeypatch.syspath_prepend(str(PLUGINS))
    film = project_with(tmp_path, "hello.film", edit=('shot 2s "The orb turns', f'shot {seconds} "The orb turns'))
    film.write_text(film.read_text("utf-8").replace("duration 8s", f"duration {6 + float(seconds[:-1]):g}s"))
    write_profile(film.parent,
                  f'[profile.preview.video]\nbackend = "fitvideo"\noptions = {{ lengths = "{lengths}" }}\n')
    return compile_at(film, tmp_path)


def test_fitting_picks_the_smallest_allowed_length(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = fit_film(tmp_path, "7s", "4,8,12", monkeypatch)
    video = plan.job("video:s02-sh01")
    assert isinstance(video.spec, VideoSpec) and video.spec.request.seconds == 8.0
    picture = plan.job("picture").spec
    assert picture.kind == "picture"
    segment = next(s for s in picture.segments if s.segment_id == "s02-sh01")
    assert segment.frames == 7 * 24 and segment.video_job == "video:s02-sh01"  # trimmed back to the slot
    assert video.estimated_usd == Decimal("0.8000")  # 8 s at the plugin's $0.10/s


def test_a_shot_no_length_covers_is_a_diagnostic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(FilmError) as err:
        fit_film(tmp_path, "12s", "4,8", monkeypatch)
    (d,) = err.value.diagnostics
    assert d.code == "F0710" and "s02-sh01" in d.message and "4s, 8s" in d.message
    assert d.span.line == 34 and d.hint and "split the shot" in d.hint


@pytest.mark.parametrize(("toml", "code", "line"), [
    ('[profile.preview.video]\nbackend = "animatik"\n', "F0702", 2),
    ('[profile.preview.voice]\nbackend = "espeak"\nconcurrency = "many"\n', "F0701", 3),
    ('[profile.preview.video]\nbackend = "animatic"\noptions = { api_key = "sk-123" }\n', "F0703", 3),
    ('[profile.preview.video]\nbackend = "animatic"\noptions = { auth = "sk-proj-4f9a8b7c6d5e" }\n', "F0703", 3),
    ("[profile.preview\n", "F0700", 1),
    ('[profile.preview.video]\nbackend = "animatic"\nbase_url = "https://user:sk-123@proxy.example"\n', "F0701", 3),
    ('[profile.preview.video]\nbackend = "animatic"\nbase_url = "https://proxy.example/v1?key=sk-123"\n', "F0701", 3),
    ('[profile.preview.video]\nbackend = "animatic"\nbase_url = "proxy.example"\n', "F0701", 3),
    ('[profile.preview.video]\nbackend = "animatic"\ncreate_retries = 9\n', "F0701", 3),
])
def test_profile_mistakes_point_into_filmc_toml(tmp_path: Path, toml: str, code: str, line: int) -> None:
    film = project_with(tmp_path, "hello.film")
    write_profile(film.parent, toml)
    with pytest.raises(FilmError) as err:
        compile_at(film, tmp_path)
    d = err.value.diagnostics[0]
    assert (d.code, d.span.line) == (code, line)
    assert d.span.path.endswith("filmc.toml")
    assert "sk-123" not in d.message


def test_how_a_service_is_reached_changes_no_job_key(tmp_path: Path) -> None:
    """A proxy or a fake in place of the service makes the same things: nothing is re-made, nothing re-paid."""
    film = project_with(tmp_path, "hello.film")
    before = {j.id: j.key for j in compile_at(film, tmp_path).jobs}
    write_profile(film.parent, '[profile.preview.video]\nbackend = "animatic"\n'
                  'base_url = "http://127.0.0.1:9/v1"\ncreate_retries = 0\n')
    plan = compile_at(film, tmp_path)
    assert plan.profile.video.base_url == "http://127.0.0.1:9/v1" and plan.profile.video.create_retries == 0
    assert {j.id: j.key for j in plan.jobs} == before


def test_a_layer_given_another_backend_drops_the_built_in_model(tmp_path: Path) -> None:
    film = project_with(tmp_path, "hello.film")
    write_profile(film.parent, '[profile.final.expand]\nbackend = "template"\n[profile.final.voice]\n'
                  'backend = "espeak"\n[profile.final.video]\nbackend = "runway"\nmodel = "veo3.1"\n')
    plan = compile_at(film, tmp_path, profile="final")
    assert plan.profile.voice.model == ""            # not the replaced backend's eleven_multilingual_v2
    assert plan.profile.video.model == "veo3.1" and plan.profile.video.backend == "runway"   # the user's model


def test_unknown_profile_lists_the_known_ones(tmp_path: Path) -> None:
    film = project_with(tmp_path, "hello.film")
    with pytest.raises(UsageError, match=r"did you mean `final`\?.*final, preview") as usage:   # no filmc.toml
        compile_at(film, tmp_path, profile="fnal")
    assert "filmc.toml:1:1" not in str(usage.value)
    write_profile(film.parent, '[profile.preview.voice]\nbackend = "espeak"\n')
    with pytest.raises(FilmError) as err:   # a filmc.toml: the diagnostic points into it
        compile_at(film, tmp_path, profile="fnal")
    assert err.value.diagnostics[0].hint and "final, preview" in err.value.diagnostics[0].hint


def test_final_profile_prices_every_layer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    film = project_with(tmp_path, "hello.film")
    write_profile(film.parent, '[profile.final.expand]\nbackend = "template"\n'
                  '[profile.final.video.price]\nper_second = 0.5\n')
    plan = compile_at(film, tmp_path, profile="final")
    video = [j for j in plan.jobs if j.spec.kind == "video"]
    assert all(isinstance(j.spec, VideoSpec) and j.spec.request.seconds in {float(d) for d in range(3, 16)}
               for j in video)  # gemini-omni makes whole seconds from 3 to 15
    assert sum(j.estimated_usd for j in video) == Decimal("0.5") * sum(Decimal(str(j.seconds)) for j in video)
    voice = [j for j in plan.jobs if j.spec.kind == "voice"]
    assert all(j.estimated_usd > 0 for j in voice) and plan.job("music:score").estimated_usd > 0
    assert plan.estimated_usd == sum(j.estimated_usd for j in plan.jobs)
    markup = [j.spec.request.markup for j in voice if j.spec.kind == "voice"]
    assert 'Something <break time="0.3s"/> changes.' in markup  # ElevenLabs' own pause markup


def test_plan_schema_is_published() -> None:
    published = json.loads((ROOT / "docs" / "plan.schema.json").read_text("utf-8"))
    assert published == Plan.model_json_schema(), "regenerate: filmc schema plan > docs/plan.schema.json"


def test_cached_status_follows_the_cache(tmp_path: Path) -> None:
    plan = compile_at(FILMS / "hello.film", tmp_path)
    assert not any(j.cached for j in plan.jobs)
    from filmc.render.cache import Cache
    from filmc.render.outcome import AssetMeta

    job = plan.job("voice:s01-l01")
    cache = Cache(tmp_path / "cache")
    path = cache.path("voice", job.key, ".wav")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"RIFF....")
    meta = AssetMeta(job=job.id, key=job.key, size=8, duration=1.0)
    cache.sidecar("voice", job.key).write_text(meta.model_dump_json(), "utf-8")
    again = compile_at(FILMS / "hello.film", tmp_path)
    assert [j.id for j in again.jobs if j.cached] == ["voice:s01-l01"]
    path.write_bytes(b"RIFF")  # truncated since it was verified: not a usable cache entry
    assert not any(j.cached for j in compile_at(FILMS / "hello.film", tmp_path).jobs)
    shutil.rmtree(tmp_path / "cache")
