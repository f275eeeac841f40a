"""`fit narration` at render time: the voice is made first, measured, and the film fitted to what it measured.

A compile for a render (`compile_film(for_render=True)`) makes the voice jobs before anything else, then checks
the film again with the lines' measured lengths, so every video job is planned at its final length. A plan
compiled without them (its fit `provisional`: estimated from the text) is rendered only if the voice, once made,
fits it exactly as reviewed; else render refuses and says what moved, before any video job is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

from filmc.backend.registry import Backends
from filmc.check import load
from filmc.check.fit import line_starts, refit, short_by
from filmc.check.resolved import CheckedFilm
from filmc.diagnostics import Diagnostic
from filmc.errors import BudgetError, UsageError
from filmc.plan.model import Plan, VoiceSpec
from filmc.plan.planner import IsCached, PlanBackends
from filmc.plan.profiles import Profile
from filmc.plan.voicing import build_voice_plan
from filmc.render import run
from filmc.render.cache import Cache
from filmc.render.events import EventSink, RenderEvent
from filmc.render.jobs import suffix_of
from filmc.render.ledger import LedgerEntry, spent
from filmc.render.outcome import JobOutcome

# Voice jobs a compile for a render made first, by cache root and key, with their charges: that render reports
# them as made and lists their charges in its ledger (they were made, and paid, for it), and forgets them.
_MADE_FIRST: dict[tuple[str, str], tuple[JobOutcome, list[LedgerEntry]]] = {}


class Voiced(NamedTuple):
    """The voices a compile made first to fit its film: what they cost, and their keys."""

    usd: Decimal
    keys: tuple[str, ...]


# What a `--lang` compile paid for voices in the film's own language, made to fit it but not in the translated plan:
# by cache root and that plan's voice keys; its render lists the charges in its ledger and takes them from its budget.
_CHARGED_FIRST: dict[tuple[str, tuple[str, ...]], list[LedgerEntry]] = {}


def _voice_keys(plan: Plan) -> tuple[str, ...]:
    return tuple(sorted(j.key for j in plan.jobs if j.layer == "voice"))


def hand_over(voiced: Voiced, plan: Plan, cache: Cache) -> None:
    """The voices a compile made first in the film's own language, when its plan is a translation that doesn't use
    them: their charges go with `plan` (its render pays them from its budget and lists them), and they are no
    longer reported as made by a render of the original, which didn't pay for them."""
    root = str(cache.root)
    keys = set(_voice_keys(plan))
    charges = [e for key in voiced.keys if key not in keys
               for _, entries in filter(None, [_MADE_FIRST.pop((root, key), None)]) for e in entries]
    if charges:
        _CHARGED_FIRST.setdefault((root, _voice_keys(plan)), []).extend(charges)


class Silent:
    """Progress of the voice made inside a compile: nobody is watching a bar yet."""

    def emit(self, event: RenderEvent) -> None:
        return None

    def close(self) -> None:
        return None


class Unclosed:
    """The render's own sink lent to the voice-first run, which must not close it: the render goes on."""

    def __init__(self, sink: EventSink) -> None:
        self.sink = sink

    def emit(self, event: RenderEvent) -> None:
        self.sink.emit(event)

    def close(self) -> None:
        return None


def measured(plan: Plan, cache: Cache) -> dict[str, float]:
    """Each line's length as its voice measured it, by line id, for the lines whose voice is in the cache."""
    out = {}
    for job, spec in plan.specs(VoiceSpec):
        meta = cache.meta("voice", job.key, suffix_of(spec))
        if meta is not None:
            out[spec.beat_id] = meta.duration
    return out


async def make_voices(plan: Plan, backends: Backends, cache: Cache, events: EventSink, *, jobs: int = 4,
                      max_cost: Decimal | None = None) -> tuple[dict[str, JobOutcome], list[LedgerEntry]]:
    """The plan's voice jobs alone, through the render's own executor (budget, journal, cache): the outcomes and
    what they cost. A voice that fails stops here, before any video job is sent."""
    voices = plan.model_copy(update={"jobs": tuple(j for j in plan.jobs if j.layer == "voice")})
    executor = run.prepare(voices, backends, cache, events, jobs=jobs, max_cost=max_cost)
    outcomes = await executor.run()   # not run.run: that closes the sink, and the caller's render goes on
    for outcome in outcomes.values():
        if outcome.status == "made":
            charges = [e for e in executor.ledger.entries if e.job == outcome.job]
            _MADE_FIRST[(str(cache.root), outcome.key)] = (outcome, charges)
    failed = [o for o in outcomes.values() if not o.usable]
    if failed:
        raise UsageError(f"the film is fitted to its narration, so its voice is made first, and {failed[0].job} "
                         f"failed: {failed[0].error or failed[0].status}. Nothing else was made; fix it (or "
                         "retry) and render again: every finished line is kept")
    return outcomes, list(executor.ledger.entries)


async def fit_to_voice(path: Path, display: str | None, checked: CheckedFilm, warnings: tuple[Diagnostic, ...],
                       profile: Profile, infos: PlanBackends, backends: Backends, cache: Cache, is_cached: IsCached,
                       *, make: bool, max_cost: Decimal | None,
                       media_usd: Callable[[CheckedFilm], Decimal],
                       ) -> tuple[CheckedFilm, tuple[Diagnostic, ...], Voiced]:
    """The film checked again with its lines' measured lengths: those in the cache, and with `make` (a compile
    for a render) the others too, made now. Without them the fit stays provisional, as the plan then says.
    `media_usd`: what the film's uncached jobs would cost as fitted now, so no line is paid for when the budget
    can't make the film it would be measured for. Also the voices made now: what they cost (their ledger), which
    the rest of the compile (prompts, translation) must leave out of its budget, and their keys."""
    voices = build_voice_plan(checked, profile, infos, is_cached, source=display or str(path))
    lengths = measured(voices, cache)
    if make and len(lengths) < len(voices.jobs):
        whole = media_usd(checked)
        if max_cost is not None and whole > max_cost:
            raise BudgetError(f"the film is fitted to its narration, so its voice is made first; the film as "
                              f"estimated would cost ${whole:.2f}, over --max-cost ${max_cost:.2f}: nothing was "
                              "sent (`filmc compile` shows the breakdown)")
        made, charged = await make_voices(voices, backends, cache, Silent(), max_cost=max_cost)
        paid = Voiced(spent(charged), tuple(o.key for o in made.values() if o.status == "made"))
        lengths = measured(voices, cache)
    else:
        paid = Voiced(Decimal(0), ())
    if not lengths:
        return checked, warnings, paid
    again, warned, _ = load(path, display=display, voiced=lengths)
    return again, warned, paid


def paid_first(plan: Plan, cache: Cache) -> Decimal:
    """What this plan's own compile paid for the voices it made first, not forgotten (`made_first` still reports
    them): for a budget shared with what comes next (the next film's compile, the next language)."""
    earlier = [_MADE_FIRST.get((str(cache.root), j.key)) for j in plan.jobs if j.layer == "voice"]
    handed = _CHARGED_FIRST.get((str(cache.root), _voice_keys(plan)), [])
    return spent([*(e for _, charges in filter(None, earlier) for e in charges), *handed])


def made_first(plan: Plan, cache: Cache) -> tuple[dict[str, JobOutcome], list[LedgerEntry]]:
    """The voice jobs this render's own compile made to fit the film, and their charges: the render reports them
    as its own (made, and paid for, for it) and takes their cost out of its budget."""
    earlier = [_MADE_FIRST.pop((str(cache.root), j.key), None) for j in plan.jobs if j.layer == "voice"]
    handed = _CHARGED_FIRST.pop((str(cache.root), _voice_keys(plan)), [])   # a translation's: charges alone
    return {o.job: o for o, _ in filter(None, earlier)}, \
        [*(e for _, charges in filter(None, earlier) for e in charges), *handed]


async def voice_first(plan: Plan, backends: Backends, cache: Cache, events: EventSink, *, jobs: int = 4,
                      max_cost: Decimal | None = None) -> tuple[dict[str, JobOutcome], list[LedgerEntry]]:
    """A plan fitted to its narration as estimated (`provisional`): its voice is made before anything else, and the
    render goes on only if the voice fits the plan as reviewed (else a UsageError says what moved). The voice jobs
    made here and what they cost, for the render's outcomes and ledger; nothing for any other plan."""
    if not plan.film.provisional:
        return {}, []
    outcomes, charged = await make_voices(plan, backends, cache, Unclosed(events), jobs=jobs, max_cost=max_cost)
    for outcome in outcomes.values():
        _MADE_FIRST.pop((str(cache.root), outcome.key), None)   # reported by this render, from what is returned
    check_fit_holds(plan, measured(plan, cache))
    return {job: o for job, o in outcomes.items() if o.status == "made"}, charged


def check_fit_holds(plan: Plan, lengths: Mapping[str, float]) -> None:
    """A provisional plan renders only as it was reviewed: refused, naming what moved, if the voice as made fits
    any scene to other lengths (or not at all)."""
    tl = plan.film.timeline
    fps = Fraction(tl.fps_num, tl.fps_den)
    moved = []
    for fit in plan.film.fit:
        again = refit(fit, lengths, fps)
        short = short_by(again, fps)
        if short > 0:
            moved.append(f"scene \"{fit.title}\" needs {again.needed:.1f}s as voiced, {short:.1f}s more than it "
                         "allows")
            continue
        before, _ = line_starts(fit, [s.frames for s in fit.shots], fps)
        after, _ = line_starts(again, [s.frames for s in again.shots], fps)
        same_lines = all(round(a * fps) == round(b * fps) for a, b in zip(before, after, strict=True))
        if [s.frames for s in again.shots] != [s.frames for s in fit.shots] or not same_lines:
            moved.append(f"scene \"{fit.title}\" is {float(fit.frames / fps):.2f}s in the plan and "
                         f"{float(again.frames / fps):.2f}s fitted to its voice")
    if moved:
        raise UsageError(f"{plan.source}'s plan was fitted to its narration as estimated from the text (a "
                         f"provisional fit), and the voice as made doesn't fit it: {'; '.join(moved)}. Compile "
                         "it again (`filmc compile --json`): the voice is cached now, so the new plan is fitted to "
                         "it. Only the voice was made.")
