"""One registry of diagnostic codes: documented, used through the registry, none dead, and explainable."""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest
from click.testing import CliRunner

from filmc import codes
from filmc.cli import main
from tests.conftest import BAD_FILMS, ROOT

DOCS = ROOT / "docs" / "diagnostics.md"
SOURCES = sorted([*(ROOT / "filmc").rglob("*.py"), *(ROOT / "backends" / "filmc_backends").rglob("*.py")])
REGISTRY_FILE = ROOT / "filmc" / "codes.py"
CODE = re.compile(r"\bF\d{4}\b")
LITERAL = re.compile(r"[rRuU]?(['\"])F\d{4}\1")  # "F0202" as a value; prose in help texts may name codes
ROW = re.compile(r'^\| <a id="(f\d{4})"></a>`(F\d{4})` \| (error|warning) \|', re.MULTILINE)
# A call that reports with a registry entry: `diags.error(codes.UNKNOWN_ENTITY, ...`.
REPORT = re.compile(r"\.(error|warning)\(\s*codes\.([A-Z0-9_]+)\b")


def named_codes() -> dict[str, codes.Code]:
    """Registry entries by the constant name call sites use."""
    return {name: value for name, value in vars(codes).items() if isinstance(value, codes.Code)}


def source_text() -> dict[Path, str]:
    return {path: path.read_text("utf-8") for path in SOURCES if path != REGISTRY_FILE}


def test_every_constant_is_registered_under_its_own_number() -> None:
    entries = named_codes()
    assert sorted(e.code for e in entries.values()) == sorted(codes.ALL)
    for entry in codes.ALL.values():
        assert re.fullmatch(r"F\d{4}", entry.code)
        assert entry.title and "\n" not in entry.title
        assert len(entry.explanation) > len(entry.title)
        assert entry.anchor == entry.code.lower()


def test_registry_and_docs_agree() -> None:
    docs = DOCS.read_text("utf-8")
    rows = {code: (anchor, severity) for anchor, code, severity in ROW.findall(docs)}
    assert set(rows) == set(codes.ALL), "docs/diagnostics.md and filmc/codes.py list different codes"
    for code, (anchor, severity) in rows.items():
        entry = codes.ALL[code]
        assert anchor == entry.anchor, f"{code}'s anchor"
        assert severity == entry.severity, f"{code} is a {entry.severity} in the registry, a {severity} in the docs"


def test_every_code_mentioned_in_any_doc_exists() -> None:
    pages = [*(ROOT / "docs").glob("*.md"), ROOT / "README.md"]
    mentioned = {(page.name, c) for page in pages for c in CODE.findall(page.read_text("utf-8"))}
    unknown = sorted((page, c) for page, c in mentioned if c not in codes.ALL)
    assert not unknown, f"docs mention codes filmc doesn't have: {unknown}"


def test_no_code_is_spelled_as_a_string_outside_the_registry() -> None:
    found = []
    for path, text in source_text().items():
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.STRING and LITERAL.fullmatch(tok.string):
                found.append(f"{path.relative_to(ROOT)}:{tok.start[0]}: {tok.string[:60]}")
    assert not found, "report through filmc.codes (diags.error(codes.NAME, …)), not a literal:\n" + "\n".join(found)


def test_every_code_is_used_or_reserved() -> None:
    everything = "\n".join(source_text().values())
    dead = sorted(entry.code for name, entry in named_codes().items()
                  if not entry.reserved and not re.search(rf"\bcodes\.{name}\b", everything))
    assert not dead, f"codes nothing reports (use them, or mark them reserved=True): {dead}"


def test_errors_and_warnings_are_reported_with_their_registered_severity() -> None:
    entries = named_codes()
    calls = [(path, kind, name) for path, text in source_text().items() for kind, name in REPORT.findall(text)]
    assert len(calls) > 40
    wrong = [f"{path.relative_to(ROOT)}: {kind}(codes.{name})" for path, kind, name in calls
             if entries[name].severity != kind]
    assert not wrong, f"severity differs from the registry's: {wrong}"


@pytest.mark.parametrize("typed", ["F0202", "f0202", " F0202 "])
def test_explain_prints_title_and_explanation(typed: str) -> None:
    result = CliRunner().invoke(main, ["explain", typed])
    assert result.exit_code == 0, result.output
    entry = codes.UNKNOWN_ENTITY
    assert result.output.startswith(f"error[F0202]: {entry.title}\n")
    assert entry.explanation in result.output and "docs/diagnostics.md#f0202" in result.output


def test_explain_an_unknown_code_is_a_usage_error_with_a_suggestion() -> None:
    result = CliRunner().invoke(main, ["explain", "F0220"])
    assert result.exit_code == 2
    assert "did you mean `F0202`?" in result.output
    nonsense = CliRunner().invoke(main, ["explain", "hello"])
    assert nonsense.exit_code == 2 and "`filmc explain` lists every code" in nonsense.output


def test_explain_without_a_code_lists_them_all_and_help_teaches_it() -> None:
    listed = CliRunner().invoke(main, ["explain"])
    assert listed.exit_code == 0
    assert len(listed.output.splitlines()) == len(codes.ALL)
    assert "F0305  warning  " in listed.output
    assert "filmc explain F0202" in CliRunner().invoke(main, ["--help"]).output


def test_terminal_output_points_to_explain(capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from filmc.check import load
    from filmc.cli.ui import print_diagnostics
    from filmc.diagnostics import FilmError

    monkeypatch.setenv("NO_COLOR", "1")
    film = BAD_FILMS / "unknown_entity.film"
    with pytest.raises(FilmError) as err:
        load(film)
    print_diagnostics(err.value.diagnostics, {str(film): film.read_text("utf-8")})
    assert capsys.readouterr().err.rstrip().endswith("For more about a code, try `filmc explain F0202`.")
