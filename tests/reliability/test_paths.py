"""Files a film names are confined to its folder: a spec can't read or embed anything else on disk, by an
absolute path, by `..`, or through a symlink pointing out. Each refusal is located at the path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from filmc.check import load
from filmc.diagnostics import FilmError
from tests.conftest import FILMS

HELLO = (FILMS / "hello.film").read_text("utf-8")


def project(root: Path, how: str) -> tuple[Path, str]:
    """hello.film whose orb has a reference image and whose second shot uses a clip, named as `how` says."""
    inside, outside = root / "film", root / "elsewhere"
    (inside / "media").mkdir(parents=True)
    outside.mkdir()
    for folder in (inside / "media", outside):
        (folder / "orb.png").write_bytes(b"\x89PNG\r\n\x1a\n")
        (folder / "clip.mp4").write_bytes(b"\0" * 64)
    (inside / "media" / "out.png").symlink_to(outside / "orb.png")
    (inside / "media" / "in.png").symlink_to(inside / "media" / "orb.png")
    name = {"absolute": str(outside / "orb.png"), "dotdot": "../elsewhere/orb.png", "symlink out": "media/out.png",
            "inside": "media/orb.png", "symlink in": "media/in.png"}[how]
    text = HELLO.replace('of blue glass"', f'of blue glass" image "{name}"')
    (inside / "hello.film").write_text(text, "utf-8")
    return inside / "hello.film", name


@pytest.mark.parametrize("how", ["absolute", "dotdot", "symlink out"])
def test_a_path_leading_out_of_the_project_is_refused_where_it_is_written(tmp_path: Path, how: str) -> None:
    film, name = project(tmp_path, how)
    with pytest.raises(FilmError) as err:
        load(film)
    (d,) = [d for d in err.value.diagnostics if d.code == "F0502"]
    line = next(n for n, text in enumerate(film.read_text("utf-8").splitlines(), 1) if name in text)
    assert d.span.line == line and d.hint and "move it under" in d.hint


@pytest.mark.parametrize("how", ["inside", "symlink in"])
def test_a_path_inside_the_project_is_taken(tmp_path: Path, how: str) -> None:
    film, _ = project(tmp_path, how)
    checked, _, _ = load(film)
    assert checked.timeline.segments   # loaded: the image is the orb's


def test_a_clip_outside_the_project_is_refused_too(tmp_path: Path) -> None:
    film, _ = project(tmp_path, "inside")
    clip = os.path.join("..", "elsewhere", "clip.mp4")
    text = film.read_text("utf-8").replace('shot 2s "The orb glows amber" {',
                                           f'shot 2s "The orb glows amber" {{\n      clip "{clip}"')
    film.write_text(text, "utf-8")
    with pytest.raises(FilmError) as err:
        load(film)
    assert [d.code for d in err.value.diagnostics] == ["F0502"]
