"""Every ```film snippet in README.md and docs/*.md compiles: the docs can't teach a language filmc refuses.

A snippet that starts with `film "` is checked as it is. Any other is a fragment, wrapped into the smallest
film that can hold it, by its first statement's keyword:

- film level (`style`, `entity`, `voice`, `palette`, `music`, `title`, `credits`, `scene`, …): inside
  `film "Snippet" { language en … }`, followed by a 2-minute scene, so stops and cues up to 2:00 are inside it;
- scene level (`shot`, `say`): inside a scene, after a 2-minute shot and before a 4-second one, so a `say at
  1:05` and a shot's transition into a next shot both have somewhere to be.

Two more rules make a fragment whole without changing it: an entity it names (`with a, b`) or a voice a line
names (`say … voice NAME`) that it doesn't declare is declared; a file it names (`include`, `image`, `clip`,
`music file`) is created, empty, in the project folder. A clean snippet must check with no diagnostic at all.
A snippet fenced as ```film error shows a mistake: it must fail with located diagnostics.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from filmc.check import load
from filmc.diagnostics import FilmError
from tests.conftest import ROOT

SOURCES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(r"^```film( error)?[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_NAME = r"[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*"
_FILM_LEVEL = {"language", "frame", "duration", "by", "style", "entity", "voice", "palette", "music", "title",
               "credits", "scene"}
_SCENE_LEVEL = {"shot", "say"}


def snippets() -> list[tuple[str, bool, str]]:
    found = []
    for doc in SOURCES:
        text = doc.read_text("utf-8")
        for m in _FENCE.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            found.append((f"{doc.relative_to(ROOT)}:{line}", bool(m.group(1)), m.group(2)))
    return found


def first_keyword(snippet: str) -> str:
    code = [ln.strip() for ln in snippet.splitlines() if ln.strip() and not ln.strip().startswith("//")]
    return code[0].split()[0] if code else ""


def declarations(snippet: str) -> str:
    """Entities and voices the fragment uses but doesn't declare, declared with a placeholder description."""
    declared_entities = set(re.findall(rf"^\s*entity\s+({_NAME})", snippet, re.MULTILINE))
    declared_voices = set(re.findall(rf"^\s*voice\s+({_NAME})\s", snippet, re.MULTILINE))
    used_entities = {n for group in re.findall(r"\bwith\s+([^\n{}]+)", snippet)
                     for n in re.findall(_NAME, group.split("//")[0])}
    used_voices = set(re.findall(rf"\bsay\b[^\n]*\bvoice\s+({_NAME})", snippet))
    out = [f'  entity {n} "a placeholder for the docs test"' for n in sorted(used_entities - declared_entities)]
    out += [f'  voice {n} "a placeholder for the docs test"' for n in sorted(used_voices - declared_voices)]
    return "\n".join(out)


def wrap(snippet: str) -> str:
    keyword = first_keyword(snippet)
    if keyword == "film":
        return snippet
    head = f'film "Snippet" {{\n  language en\n{declarations(snippet)}\n'
    if keyword in _FILM_LEVEL:
        return f'{head}{snippet}\n  scene "Snippet padding" {{ shot 2:00 "padding" }}\n}}\n'
    if keyword in _SCENE_LEVEL:
        return (f'{head}  scene "Snippet" {{\n    shot 2:00 "padding"\n{snippet}\n    shot 4s "after"\n  }}\n'
                "}\n")
    raise AssertionError(f"no wrapping rule for a snippet starting with `{keyword}`: add one to this test")


def project(tmp_path: Path, snippet: str) -> Path:
    """The wrapped film in a folder holding every file the snippet names."""
    for name in re.findall(r'\b(?:include|image|clip|file)\s+"([^"]+)"', snippet):
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"")
    film = tmp_path / "snippet.film"
    film.write_text(wrap(snippet), "utf-8")
    return film


CASES = snippets()


def test_the_docs_have_snippets_and_some_show_mistakes() -> None:
    assert len(CASES) >= 10
    assert any(error for _, error, _ in CASES)


@pytest.mark.parametrize(("where", "error", "snippet"), CASES, ids=[c[0] for c in CASES])
def test_every_snippet_compiles(where: str, error: bool, snippet: str, tmp_path: Path) -> None:
    film = project(tmp_path, snippet)
    if error:
        with pytest.raises(FilmError) as raised:
            load(film)
        lines = film.read_text("utf-8").count("\n") + 1
        assert all(1 <= d.span.line <= lines and d.span.column >= 1 for d in raised.value.diagnostics)
        return
    try:
        _, warnings, _ = load(film)
    except FilmError as err:
        pytest.fail(f"{where}: " + "; ".join(f"{d.code} {d.message} (line {d.span.line})" for d in err.diagnostics)
                    + "\n" + film.read_text("utf-8"))
    assert not warnings, f"{where}: " + "; ".join(f"{d.code} {d.message}" for d in warnings)
