"""What `filmc test` reports: each film's verdict as a frozen model, shown as a table, JSON or JUnit XML.
Kept apart from the command so `filmc --help` never loads pydantic."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Literal

from filmc import codes
from filmc.cli.common import ExitCode
from filmc.model import Model
from filmc.verify import ExpectationResult

if TYPE_CHECKING:
    from rich.console import Console


class FilmVerdict(Model):
    """One film of a `filmc test` run: rendered and judged, or why it couldn't be."""

    film: str
    title: str = ""
    status: Literal["passed", "failed", "error"]
    error: str | None = None          # a spec error or failed jobs: the film wasn't (wholly) made
    seconds: float = 0.0
    out_dir: str | None = None
    expectations: tuple[ExpectationResult, ...] = ()


class Verdicts(Model):
    """What `filmc test --json` prints: every film's verdict, and the totals CI reads."""

    films: tuple[FilmVerdict, ...]
    expectations: int
    failed: int
    errors: int


def exit_code(verdicts: list[FilmVerdict], errors: list[ExitCode]) -> ExitCode:
    """A film that couldn't be made outranks an unmet expectation: its own code (1 spec, 3 a job failed)."""
    if errors:
        return min(errors)   # SPEC (1) before JOB_FAILED (3)
    if any(v.status == "failed" for v in verdicts):
        return ExitCode.EXPECTATIONS
    return ExitCode.OK


def print_table(report: Verdicts, out: Console) -> None:
    """One row per expectation, grouped by film; a film that couldn't be made says why."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="filmc test", expand=False)
    for column in ("film", "expectation", "result", "measured"):
        table.add_column(column)
    for v in report.films:
        if v.status == "error":
            table.add_row(escape(v.film), "(render)", "[red]ERROR[/]", escape(v.error or ""))
        if not v.expectations and v.status != "error":
            table.add_row(escape(v.film), "(no expectations)", "", "")
        for r in v.expectations:
            verdict = "[green]pass[/]" if r.passed else "[red]FAIL[/]"
            table.add_row(escape(v.film), escape(f"expect {r.expectation.text}"), verdict, escape(r.measured))
    out.print(table)
    passed = report.expectations - report.failed
    out.print(f"{passed} of {report.expectations} expectation(s) met in {len(report.films)} film(s)"
              + (f", {report.errors} film(s) not made" if report.errors else ""))


def junit_xml(report: Verdicts) -> str:
    """JUnit XML as CI servers read it: a suite per film, a case per `expect` line (classname: the film's file,
    name: the line as written), a <failure> for an unmet one and an <error> case for a film that wasn't made."""
    root = ET.Element("testsuites", name="filmc test", tests=str(report.expectations + report.errors),
                      failures=str(report.failed), errors=str(report.errors))
    for v in report.films:
        suite = ET.SubElement(root, "testsuite", name=v.title or v.film, tests="0", failures="0",
                              errors="1" if v.status == "error" else "0", time=f"{v.seconds:.3f}")
        cases = 0
        for r in v.expectations:
            e = r.expectation
            case = ET.SubElement(suite, "testcase", classname=v.film, name=f"expect {e.text}",
                                 file=e.span.path, line=str(e.span.line), time="0")
            cases += 1
            if not r.passed:
                failure = ET.SubElement(case, "failure", message=f"expected {e.text}, measured {r.measured}",
                                        type=codes.EXPECTATION_FAILED.code)
                failure.text = f"{e.span.path}:{e.span.line}:{e.span.column}: {r.hint or ''}".rstrip(": ")
        if v.status == "error":
            case = ET.SubElement(suite, "testcase", classname=v.film, name="render", time=f"{v.seconds:.3f}")
            ET.SubElement(case, "error", message=v.error or "the film could not be made")
            cases += 1
        suite.set("tests", str(cases))
        suite.set("failures", str(sum(not r.passed for r in v.expectations)))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
