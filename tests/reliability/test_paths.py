"""Files a film names are confined to its folder: a spec can't read or embed anything else on disk, by an
absolute path, by `..`, or through a symlink pointing out. Each refusal is located at the path, and its hint
says how to allow a folder outside (FILMC_ALLOW_PATHS). A project's template overrides are confined the same
way, since what they hold is sent to services in prompts.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from filmc.check import load
from filmc.check.paths import ALLOW_PATHS, allowed_folders
from filmc.cli import main
from filmc.diagnostics import FilmError, render_all
from filmc.errors import ConfigError
from filmc.expand.templating import Templates
from tests.conftest import FILMS

HELLO = (FILMS / "hello.film").read_text("utf-8")
OUT = ["absolute", "dotdot", "symlink out", "dotdot through a folder"]


@pytest.fixture(autouse=True)
def nothing_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own FILMC_ALLOW_PATHS must not make a refusal pass."""
    monkeypatch.delenv(ALLOW_PATHS, raising=False)


def project(root: Path, how: str) -> tuple[Path, str]:
    """hello.film whose orb has a reference image, named as `how` says."""
    inside, outside = root / "film", root / "elsewhere"
    (inside / "media").mkdir(parents=True)
    outside.mkdir()
    for folder in (inside / "media", outside):
        (folder / "orb.png").write_bytes(b"\x89PNG\r\n\x1a\n")
        (folder / "clip.mp4").write_bytes(b"\0" * 64)
        (folder / "bible.txt").write_text("Soft light.", "utf-8")
    (inside / "media" / "out.png").symlink_to(outside / "orb.png")
    (inside / "media" / "in.png").symlink_to(inside / "media" / "orb.png")
    (inside / "linked").symlink_to(outside, target_is_directory=True)
    name = {"absolute": str(outside / "orb.png"), "dotdot": "../elsewhere/orb.png", "symlink out": "media/out.png",
            "dotdot through a folder": "media/../../elsewhere/orb.png", "inside": "media/orb.png",
            "symlink in": "media/in.png", "folder linked out": "linked/orb.png"}[how]
    write(inside / "hello.film", HELLO.replace('of blue glass"', f'of blue glass" image "{name}"'))
    return inside / "hello.film", name


def write(path: Path, text: str) -> None:
    path.write_text(text, "utf-8")


def located(film: Path, written: str) -> tuple[int, int]:
    """Where `"written"` is in the film: the line and the column of its opening quote."""
    for n, row in enumerate(film.read_text("utf-8").splitlines(), 1):
        if f'"{written}"' in row:
            return n, row.index(f'"{written}"') + 1
    raise AssertionError(f"{written} is not in {film}")


def refused(film: Path) -> list[tuple[str, int, int, str, str]]:
    with pytest.raises(FilmError) as err:
        load(film)
    return [(d.code, d.span.line, d.span.column, d.message, d.hint or "") for d in err.value.diagnostics]


@pytest.mark.parametrize("how", [*OUT, "folder linked out"])
def test_a_path_leading_out_of_the_project_is_refused_where_it_is_written(tmp_path: Path, how: str) -> None:
    film, name = project(tmp_path, how)
    [(code, line, column, message, hint)] = refused(film)
    assert (code, line, column) == ("F0502", *located(film, name))
    assert "outside the project folder" in message
    assert "move it under film/" in hint and ALLOW_PATHS in hint


def test_a_symlink_out_names_where_it_leads(tmp_path: Path) -> None:
    film, _ = project(tmp_path, "symlink out")
    [(_, _, _, message, _)] = refused(film)
    assert f"links to {(tmp_path / 'elsewhere' / 'orb.png').resolve()}" in message


def test_the_refusal_is_shown_with_its_file_line_column_and_a_caret(tmp_path: Path) -> None:
    film, name = project(tmp_path, "dotdot")
    with pytest.raises(FilmError) as err:
        load(film)
    text = render_all(err.value.diagnostics, {str(film): film.read_text("utf-8")})
    line, column = located(film, name)
    assert f"--> {film}:{line}:{column}" in text
    assert " " * (column - 1) + "^" * (len(name) + 2) in text and "= help: move it under film/" in text


@pytest.mark.parametrize("how", ["inside", "symlink in"])
def test_a_path_inside_the_project_is_taken(tmp_path: Path, how: str) -> None:
    film, _ = project(tmp_path, how)
    checked, _, _ = load(film)
    (orb,) = checked.entities
    assert orb.images == (str((film.parent / "media" / "orb.png").resolve()),)


@pytest.mark.parametrize("how", OUT)
def test_a_folder_in_FILMC_ALLOW_PATHS_is_allowed(tmp_path: Path, how: str, monkeypatch: pytest.MonkeyPatch) -> None:
    film, _ = project(tmp_path, how)
    monkeypatch.setenv(ALLOW_PATHS, os.pathsep.join(["/nowhere", str(tmp_path / "elsewhere")]))
    checked, _, _ = load(film)
    (orb,) = checked.entities
    assert orb.images == (str((tmp_path / "elsewhere" / "orb.png").resolve()),)


def test_a_caller_can_allow_a_folder_too(tmp_path: Path) -> None:
    """For a filmc.toml setting or a CLI flag: `load(..., allow=[...])`, added to FILMC_ALLOW_PATHS's."""
    film, _ = project(tmp_path, "absolute")
    checked, _, _ = load(film, allow=[tmp_path / "elsewhere"])
    assert checked.entities[0].images


def test_allowing_a_folder_allows_that_folder_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    film, name = project(tmp_path, "dotdot")
    (tmp_path / "elsewhere" / "sub").mkdir()
    (tmp_path / "elsewhere-too").mkdir()
    monkeypatch.setenv(ALLOW_PATHS, f"{tmp_path / 'elsewhere' / 'sub'}{os.pathsep}{tmp_path / 'elsewhere-too'}")
    assert [(c, line) for c, line, *_ in refused(film)] == [("F0502", located(film, name)[0])]


def test_allowed_folders_are_read_like_PATH(tmp_path: Path) -> None:
    environ = {ALLOW_PATHS: os.pathsep.join(["", str(tmp_path), "  ", "a\0b"])}
    assert allowed_folders(environ=environ) == (tmp_path.resolve(),)
    assert allowed_folders(environ={}) == ()


@pytest.mark.parametrize("statement", ['clip "{p}"', 'music file "{p}"', 'style include "{p}"'])
def test_clips_music_and_style_files_are_confined_too(tmp_path: Path, statement: str) -> None:
    film, _ = project(tmp_path, "inside")
    written = os.path.join("..", "elsewhere", "bible.txt" if "style" in statement else "clip.mp4")
    text = film.read_text("utf-8")
    if statement.startswith("clip"):
        text = text.replace('shot 2s "The orb glows amber" {', 'shot 2s "The orb glows amber" {\n      '
                            + statement.format(p=written))
    elif statement.startswith("music"):
        start, end = text.index("  music {"), text.index("  title 1s")
        text = text[:start] + "  " + statement.format(p=written) + "\n\n" + text[end:]
    else:
        style = '  style "Soft studio light, clean minimal shapes, calm."'
        text = text.replace(style, "  " + statement.format(p=written))
    write(film, text)
    assert [(c, line, col) for c, line, col, *_ in refused(film)] == [("F0502", *located(film, written))]


def test_filmc_check_shows_the_refusal_and_how_to_allow(tmp_path: Path) -> None:
    film, name = project(tmp_path, "symlink out")
    result = CliRunner().invoke(main, ["check", str(film)], env={"NO_COLOR": "1"})
    line, column = located(film, name)
    assert result.exit_code == 1, result.output
    assert f"{film}:{line}:{column}" in result.output and ALLOW_PATHS in result.output


# ------------------------------------------------------------------------------------------- templates

SHOT = "shot.prompt.j2"


def templates_project(root: Path) -> tuple[Path, Path]:
    project, outside = root / "film", root / "elsewhere"
    project.mkdir()
    outside.mkdir()
    (outside / SHOT).write_text("SECRET {{ shot }}", "utf-8")
    return project, outside


def test_a_template_override_linked_out_of_the_project_is_refused(tmp_path: Path) -> None:
    project, outside = templates_project(tmp_path)
    (project / "templates").mkdir()
    (project / "templates" / SHOT).symlink_to(outside / SHOT)
    templates = Templates(project)
    with pytest.raises(ConfigError) as err:
        templates.render(SHOT, shot="x")
    assert f"templates/{SHOT}" in str(err.value) and str(outside / SHOT) in str(err.value)
    assert ALLOW_PATHS in str(err.value) and "SECRET" not in str(err.value)


def test_a_templates_folder_linked_out_of_the_project_is_refused(tmp_path: Path) -> None:
    project, outside = templates_project(tmp_path)
    (project / "templates").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ConfigError) as err:
        Templates(project)
    assert "templates/" in str(err.value) and ALLOW_PATHS in str(err.value)


def test_a_template_override_inside_the_project_is_used(tmp_path: Path) -> None:
    project, _ = templates_project(tmp_path)
    (project / "templates").mkdir()
    (project / "shared.j2").write_text("OURS {{ shot }}", "utf-8")
    (project / "templates" / SHOT).symlink_to(project / "shared.j2")   # a link that stays inside
    assert Templates(project).render(SHOT, shot="x") == "OURS x"


def test_a_template_override_from_an_allowed_folder_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project, outside = templates_project(tmp_path)
    (project / "templates").symlink_to(outside, target_is_directory=True)
    monkeypatch.setenv(ALLOW_PATHS, str(outside))
    assert Templates(project).render(SHOT, shot="x") == "SECRET x"
    monkeypatch.delenv(ALLOW_PATHS)
    assert Templates(project, allow=[outside]).render(SHOT, shot="x") == "SECRET x"   # or by the caller


def test_a_film_with_files_from_an_allowed_folder_compiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from filmc.pipeline import compile_film

    film, _ = project(tmp_path, "absolute")
    monkeypatch.setenv(ALLOW_PATHS, str(tmp_path / "elsewhere"))
    plan, _ = asyncio.run(compile_film(film, cache_dir=tmp_path / "cache"))
    named = {i for job in plan.jobs for i in getattr(getattr(job.spec, "request", None), "reference_images", ())}
    assert named == {str(tmp_path / "elsewhere" / "orb.png")}   # absolute: it is not under the project
