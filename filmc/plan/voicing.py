"""The voice alone, planned before the rest: what `fit narration` measures before the timeline is final.

A fitted film's voice jobs are keyed without their starts (`filmc.plan.model.keyed`), so the jobs planned here
from a provisional timeline are the very jobs of the final plan: a voice made to measure a line is the one the
render uses, never made (or paid for) twice.
"""

from __future__ import annotations

from decimal import Decimal

from filmc.check.resolved import CheckedFilm
from filmc.expand.context import Expansion, NarrationLine, Usage, film_context, plain_text, voice_markup
from filmc.plan.model import ExpansionSummary, Plan, money
from filmc.plan.planner import IsCached, PlanBackends, Planner
from filmc.plan.profiles import Profile


def build_voice_plan(checked: CheckedFilm, profile: Profile, backends: PlanBackends, is_cached: IsCached,
                     source: str) -> Plan:
    """A plan of the voice jobs alone (no prompt is written for it, nothing else is planned): to render first,
    or to find each line's measured length in the cache. Raises FilmError if the voice backend can't speak it."""
    dialect = backends.voice.capabilities.markup
    lines = tuple(NarrationLine(beat=b, text=plain_text(b.parts), markup=voice_markup(b.parts, dialect))
                  for b in checked.timeline.beats)
    expansion = Expansion(expander=backends.expand.name, model=backends.expand.model, film=film_context(checked),
                          shots=(), lines=lines, music_sections=(), music_prompt="", usage=Usage(), usd=Decimal(0))
    planner = Planner(checked, profile, backends, expansion, is_cached)
    planner.voice_jobs()
    planner.diags.raise_if_errors()
    jobs = tuple(planner.jobs.values())
    summary = ExpansionSummary(expander=expansion.expander, model=expansion.model, calls=0, input_tokens=0,
                               output_tokens=0, usd=money(Decimal(0)), shots=(), music_prompt="")
    return Plan(source=source, project_dir=checked.project_dir, profile=profile, film=checked, expansion=summary,
                jobs=jobs, estimated_usd=money(sum((j.estimated_usd for j in jobs if not j.cached), Decimal(0))),
                total_usd=money(sum((j.estimated_usd for j in jobs), Decimal(0))))
