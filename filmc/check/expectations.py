"""`expect …` lines judged before anything is rendered: a misspelt measure or a wrong unit is a diagnostic at
its word now, not a surprise after a render. What the rendered film measures is filmc.verify's."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Literal

from filmc import codes
from filmc.check.resolved import Measure, ResolvedExpectation
from filmc.diagnostics import Diagnostics
from filmc.syntax import ir
from filmc.syntax.quoting import quoted

# A measured quantity and the units it is written in; the first unit is the one to suggest.
_UNITS: dict[str, tuple[str, ...]] = {"loudness": ("LUFS", "LKFS"), "true-peak": ("dBTP",), "cost": ("USD",)}
_LEVELS: tuple[Measure, ...] = ("loudness", "true-peak", "duration", "cost")
_RUNS: tuple[Measure, ...] = ("black", "silence")
_LARGEST = 1e9   # past any loudness, length or budget, and still a finite float
_EXAMPLE = {"loudness": "expect loudness -16 LUFS ±1", "true-peak": "expect true-peak <= -1 dBTP",
            "duration": "expect duration 2:00 ±0.5s", "cost": "expect cost <= 30 USD"}
_COMPARE: dict[str, Literal["<=", "<", ">=", ">"]] = {"<=": "<=", "≤": "<=", "<": "<", ">=": ">=", "≥": ">=",
                                                      ">": ">"}


def _near(word: str, choices: Iterable[str], fallback: str) -> str:
    near = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean `{near[0]}`?" if near else fallback


class _Judge:
    """One film's `expect` lines against the measures filmc has; reports and goes on, like every check."""

    def __init__(self, diags: Diagnostics, narrated: bool) -> None:
        self.diags = diags
        self.narrated = narrated

    def level(self, e: ir.Expectation) -> ResolvedExpectation | None:
        """`loudness -16 LUFS ±1`, `true-peak <= -1 dBTP`, `duration 2:00 ±0.5s`, `cost <= 30 USD`."""
        name = e.measure.name
        if name not in _LEVELS:
            hint = (f"write `expect no {name} > 0.5s`" if name in _RUNS else
                    _near(name, _LEVELS, "measure one of: " + ", ".join(_LEVELS)))
            self.diags.error(codes.UNKNOWN_MEASURE, f"filmc can't measure `{name}`", e.measure.span, hint=hint)
            return None
        measure: Measure = name   # checked against _LEVELS just above
        ok = self.units(e, name)
        ok = self.tolerance(e, name) and ok
        if not ok or e.value is None:
            return None
        value = float(e.value.seconds) if isinstance(e.value, ir.Time) else e.value.value
        tolerance = 0.0
        if isinstance(e.tolerance, ir.Time):
            tolerance = float(e.tolerance.seconds)
        elif isinstance(e.tolerance, ir.Number):
            tolerance = e.tolerance.value
        if max(abs(value), tolerance) > _LARGEST:   # 1e999 reads as inf, which no reading or JSON can compare
            shown = quoted(e.value.text if abs(value) > _LARGEST else e.tolerance.text if e.tolerance else "", 24)
            self.diags.error(codes.BAD_EXPECTATION, f"{shown} is out of range for {name}", e.value.span,
                             hint=f"write a number a film can measure: {_EXAMPLE[name]}")
            return None
        compare = _COMPARE[e.compare.name] if e.compare else "="
        unit = "s" if name == "duration" else (e.unit.name if e.unit else "")
        return ResolvedExpectation(measure=measure, text=e.text, compare=compare, value=value, tolerance=tolerance,
                                   unit=unit, span=e.span)

    def units(self, e: ir.Expectation, name: str) -> bool:
        """A duration is a time and takes no unit word; every other level is a number in its own unit."""
        assert e.value is not None
        if name == "duration":
            if not isinstance(e.value, ir.Time):
                self.diags.error(codes.WRONG_UNIT, f"a duration is a time, not `{e.value.text}`", e.value.span,
                                 hint=f"write it like 2:00 or {e.value.text.lstrip('-')}s: {_EXAMPLE[name]}")
                return False
            if e.unit is not None:
                self.diags.error(codes.WRONG_UNIT, f"a duration takes no unit after its time (`{e.unit.name}`)",
                                 e.unit.span, hint=f"the time says it: {_EXAMPLE[name]}")
                return False
            return True
        units = _UNITS[name]
        if isinstance(e.value, ir.Time):
            self.diags.error(codes.WRONG_UNIT, f"{name} is not a time (`{e.value.text}`)", e.value.span,
                             hint=f"write a number in {units[0]}: {_EXAMPLE[name]}")
            return False
        if e.unit is None:
            self.diags.error(codes.WRONG_UNIT, f"`{e.text}` says no unit", e.value.span,
                             hint=f"{name} is measured in {units[0]}: {_EXAMPLE[name]}")
            return False
        if e.unit.name not in units:
            same = [u for u in units if u.lower() == e.unit.name.lower()]
            hint = (f"write `{same[0]}`" if same else
                    _near(e.unit.name, units, f"{name} is measured in {units[0]}: {_EXAMPLE[name]}"))
            self.diags.error(codes.WRONG_UNIT, f"{name} is not measured in `{e.unit.name}`", e.unit.span, hint=hint)
            return False
        return True

    def tolerance(self, e: ir.Expectation, name: str) -> bool:
        """A target needs a tolerance and a bound takes none; a time tolerance goes with a duration only."""
        assert e.value is not None
        if e.compare is None and e.tolerance is None:
            amount = " ".join(w for w in (e.value.text, e.unit.name if e.unit else "") if w)
            slack = "±0.5s" if name == "duration" else "±1"
            self.diags.error(codes.BAD_EXPECTATION, f"`{e.text}` has no tolerance: no reading is ever exactly "
                             f"{e.value.text}", e.value.span,
                             hint=f"give one, `expect {name} {amount} {slack}`, or a bound, "
                             f"`expect {name} <= {amount}`")
            return False
        if e.compare is not None and e.tolerance is not None:
            self.diags.error(codes.BAD_EXPECTATION, f"a bound (`{e.compare.name}`) takes no tolerance",
                             e.tolerance.span, hint=f"remove `{e.tolerance.text}`, or the `{e.compare.name}`")
            return False
        if name == "duration" and isinstance(e.tolerance, ir.Number):
            self.diags.error(codes.BAD_EXPECTATION, f"a duration's tolerance is a time, not `{e.tolerance.text}`",
                             e.tolerance.span, hint=f"write ±{e.tolerance.text.lstrip('±+-')}s")
            return False
        if name != "duration" and isinstance(e.tolerance, ir.Time):
            self.diags.error(codes.BAD_EXPECTATION, f"{name}'s tolerance is not a time (`{e.tolerance.text}`)",
                             e.tolerance.span, hint=f"write it in the measure's unit: {_EXAMPLE[name]}")
            return False
        return True

    def run(self, e: ir.Expectation) -> ResolvedExpectation | None:
        """`no black > 0.5s`: passes when the longest black run is at most 0.5s (`>=`: shorter than it)."""
        name = e.measure.name
        if name not in _RUNS:
            self.diags.error(codes.UNKNOWN_MEASURE, f"filmc can't look for `{name}`", e.measure.span,
                             hint=_near(name, _RUNS, "write `expect no black > 0.5s` or `expect no silence > 2s`"))
            return None
        assert e.compare is not None and isinstance(e.value, ir.Time)
        if _COMPARE.get(e.compare.name) not in (">", ">="):
            self.diags.error(codes.BAD_EXPECTATION, f"`no {name} {e.compare.name} …` would forbid short {name}",
                             e.compare.span, hint=f"say how long is too long: `expect no {name} > {e.value.text}`")
            return None
        within: Literal["film", "narration"] = "film"
        if e.within is not None:
            if e.within.name != "narration":
                self.diags.error(codes.UNKNOWN_SCOPE, f"`within {e.within.name}` names no part of the film",
                                 e.within.span, hint="write `within narration`, or leave `within` out for the "
                                 "whole film")
                return None
            if not self.narrated:
                self.diags.error(codes.UNKNOWN_SCOPE, "`within narration`, but the film has no narration",
                                 e.within.span, hint="leave `within` out to look at the whole film")
                return None
            within = "narration"
        measure: Measure = name   # checked against _RUNS just above
        return ResolvedExpectation(measure=measure, text=e.text, compare="<=" if e.compare.name == ">" else "<",
                                   value=float(e.value.seconds), unit="s", within=within, span=e.span)


def check_expectations(expectations: Iterable[ir.Expectation], diags: Diagnostics,
                       narrated: bool) -> tuple[ResolvedExpectation, ...]:
    """Each `expect` line as a measure and the readings that pass it; a malformed one is a diagnostic.
    `narrated`: the film has narration, so `within narration` has somewhere to look."""
    judge = _Judge(diags, narrated)
    out: list[ResolvedExpectation] = []
    for e in expectations:
        if e.form == "measure":
            resolved = judge.level(e)
        elif e.form == "none":
            resolved = judge.run(e)
        else:   # the grammar spells the claims out, so they need no judging
            measure: Measure = e.measure.name   # type: ignore[assignment]
            resolved = ResolvedExpectation(measure=measure, text=e.text, compare="<=", value=0, unit="lines",
                                           span=e.span)
        if resolved is not None:
            out.append(resolved)
    return tuple(out)
