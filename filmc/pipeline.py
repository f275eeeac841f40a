"""The pipeline end to end: a .film file -> checked film -> prompts -> Plan, and a Plan -> assets -> outputs.

`filmc compile` and `filmc render` run the stages through these functions; each stage can also be called
alone. Render and delivery are imported by `render_film` itself, so compiling never loads the picture
assembler or OpenTimelineIO.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from filmc.backend.protocol import AnyBackend, BackendConfig, Expander, Setup
from filmc.backend.registry import Backends, Registry, require_env
from filmc.check import load
from filmc.check.resolved import CheckedFilm
from filmc.diagnostics import Diagnostic
from filmc.errors import BudgetError, StorageError, UsageError
from filmc.expand.context import (
    Expansion,
    FilmContext,
    NarrationLine,
    ShotContext,
    ShotPrompt,
    Usage,
    film_context,
    music_sections,
    plain_text,
    shot_contexts,
    voice_markup,
)
from filmc.expand.templating import Templates
from filmc.files import STORAGE_ERRNOS
from filmc.perf import gc_paused
from filmc.plan.model import BackendInfo, Plan, Spec, money
from filmc.plan.planner import PlanBackends, build_plan
from filmc.plan.profiles import LAYERS, Profile, load_profile
from filmc.render.cache import Cache, cache_root
from filmc.render.jobs import suffix_of

if TYPE_CHECKING:
    from filmc.deliver.outputs import RenderSummary
    from filmc.render.events import EventSink


def build_backends(profile: Profile, project: Path, cache: Cache) -> Backends:
    """The profile's backends, each checked against its layer as it loads (a plugin error names its entry point)."""
    layers = {layer: profile.layer(layer) for layer in LAYERS}
    return Registry.installed().backends(layers, Setup(project_dir=project, cache_dir=cache.root))


def info_of(backend: AnyBackend, config: BackendConfig) -> BackendInfo:
    """What the plan may know of a backend: its declared capabilities, with the profile's price overrides."""
    caps = backend.capabilities
    price = caps.price.model_copy(update=config.price.model_dump(exclude_unset=True)) if config.price else caps.price
    return BackendInfo(name=backend.name, version=backend.version, model=config.model or caps.default_model,
                       capabilities=caps, price=price)


def plan_backends(backends: Backends, profile: Profile) -> PlanBackends:
    return PlanBackends(file=info_of(backends.file, BackendConfig(backend=backends.file.name)),
                        **{layer: info_of(backends.for_layer(layer), profile.layer(layer)) for layer in LAYERS})


# The plan the prompts would lead to: priced, and asked which backends it needs, before any prompt is paid for.
DraftPlan = Callable[[Expansion], Plan]


def check_expansion_budget(expander: Expander, film: FilmContext, todo: list[ShotContext], templates: Templates,
                           info: BackendInfo, max_cost: Decimal | None, media: Decimal = Decimal(0)) -> None:
    """Claude costs money too: estimated before the first call, and refused without a budget that covers it
    and, with it, everything the render would then buy (`media`): no prompt is paid for a film the budget
    can't make."""
    tokens_in, tokens_out = expander.estimate_tokens(film, todo, templates)
    usd = money((info.price.per_mtok_in * tokens_in + info.price.per_mtok_out * tokens_out) / Decimal(10**6))
    if usd <= 0:
        return
    what = f"expanding {len(todo)} prompt(s) with `{expander.name}` would spend an estimated ${usd:.2f}"
    if max_cost is None:
        raise BudgetError(f"{what}; nothing is spent without a budget: pass --max-cost USD")
    if usd > max_cost:
        raise BudgetError(f"{what}, over --max-cost ${max_cost:.2f}; nothing was sent")
    if usd + media > max_cost:
        raise BudgetError(f"{what}, and the clips, voice and music it leads to ${money(media):.2f} more: "
                          f"${money(usd + media):.2f} in all, over --max-cost ${max_cost:.2f}; nothing was sent "
                          "(`filmc compile` shows the breakdown)")


async def expand(checked: CheckedFilm, profile: Profile, backends: Backends, templates: Templates,
                 infos: PlanBackends, max_cost: Decimal | None = None, draft_plan: DraftPlan | None = None,
                 for_render: bool = False) -> Expansion:
    """Prompts for every shot (cached answers cost nothing), narration markup, music sections. Before the
    first paid prompt: the whole film's estimate is checked against `max_cost`, and, `for_render`, every key
    the render will need is checked too, so nothing is spent on a film that can't be made."""
    expander = backends.expand
    film = film_context(checked)
    contexts = shot_contexts(checked)
    todo = [c for c in contexts if not c.shot.clip and not expander.is_cached(film, c, templates)]
    if todo:
        others = [(backends.for_layer(layer), layer) for layer in LAYERS[1:]]
        # the expander is about to spend; if its key is missing, name the render's missing keys with it
        require_env([(expander, "expand")], profile.name, also=others)
        media = Decimal(0)
        if draft_plan is not None:
            known, _ = await expander.expand_shots(film, [c for c in contexts if c not in todo], templates)  # cached
            answers = iter(known)
            limit = backends.video.capabilities.max_prompt_chars or 6000
            prompts = [ShotPrompt(prompt=_placeholder(c, limit)) if c in todo else next(answers) for c in contexts]
            draft = draft_plan(_expansion(checked, backends, templates, infos, film, contexts, prompts, Usage()))
            media = draft.estimated_usd
            if for_render:
                layers = {j.layer for j in draft.jobs if j.remote and not j.cached}
                require_env([(backend, layer) for backend, layer in others if layer in layers], profile.name)
        check_expansion_budget(expander, film, todo, templates, infos.expand, max_cost, media)
    prompts, usage = await expander.expand_shots(film, contexts, templates) if contexts else ([], Usage())
    return _expansion(checked, backends, templates, infos, film, contexts, prompts, usage)


def _placeholder(context: ShotContext, limit: int) -> str:
    """A stand-in prompt for pricing a shot before its prompt is written: prices never read prompts, and it
    stays within the video backend's limit, which the real prompt is written to."""
    return f"Shot {context.shot.id}: {context.shot.description}"[:min(limit, 6000)].ljust(20, ".")


def _expansion(checked: CheckedFilm, backends: Backends, templates: Templates, infos: PlanBackends,
               film: FilmContext, contexts: list[ShotContext], prompts: Sequence[ShotPrompt],
               usage: Usage) -> Expansion:
    price = infos.expand.price
    usd = (price.per_mtok_in * usage.input_tokens + price.per_mtok_out * usage.output_tokens) / Decimal(10**6)
    dialect = backends.voice.capabilities.markup
    lines = tuple(NarrationLine(beat=b, text=plain_text(b.parts), markup=voice_markup(b.parts, dialect))
                  for b in checked.timeline.beats)
    sections, music_prompt = music_sections(checked, templates)
    return Expansion(expander=backends.expand.name, model=infos.expand.model, film=film,
                     shots=tuple((c.shot.id, p) for c, p in zip(contexts, prompts, strict=True)), lines=lines,
                     music_sections=sections, music_prompt=music_prompt, usage=usage, usd=money(usd))


async def compile_film(path: Path, profile_name: str = "preview", *, cache_dir: Path | None = None,
                       display: str | None = None, max_cost: Decimal | None = None,
                       for_render: bool = False, draft: bool | None = None) -> tuple[Plan, tuple[Diagnostic, ...]]:
    """The compile command's work; raises FilmError (spec, profile, fitting) or another FilmcError.
    `for_render`: the render's own compile, which refuses before any prompt is paid for when a key the
    render needs is missing (a plain compile needs only the expander's). `draft`: `--draft` or `--full` over
    the profile's own setting (None: the profile's)."""
    checked, warnings, _ = load(path, display=display)
    project = Path(checked.project_dir)
    profile = load_profile(profile_name, project)
    if draft is not None:
        profile = profile.model_copy(update={"draft": draft})
    cache = Cache(cache_root(project, profile, cache_dir))
    backends = build_backends(profile, project, cache)
    infos = plan_backends(backends, profile)
    templates = Templates(project)

    def is_cached(spec: Spec, key: str) -> bool:
        return cache.has(spec.kind, key, suffix_of(spec))

    with gc_paused():  # thousands of frozen models, no cycles: the collector would only rescan them
        def draft_plan(draft: Expansion) -> Plan:
            return build_plan(checked, profile, infos, draft, is_cached, source=display or str(path))

        expansion = await expand(checked, profile, backends, templates, infos, max_cost, draft_plan, for_render)
        plan = build_plan(checked, profile, infos, expansion, is_cached, source=display or str(path))
    return plan, warnings


def default_out_dir(plan: Plan) -> Path:
    """`out/<title>/` beside the film: two films in one folder never share media or a manifest."""
    from filmc.deliver.outputs import slug

    return Path(plan.project_dir) / "out" / slug(plan.film.title)


async def render_film(plan: Plan, *, out_dir: Path, events: EventSink, cache_dir: Path | None = None,
                      jobs: int = 4, force: frozenset[str] = frozenset(), recreate: frozenset[str] = frozenset(),
                      max_cost: Decimal | None = None, backoff: float = 1.0) -> RenderSummary:
    """The render command's work: refuse before any job what can't be afforded or made, run, deliver."""
    from filmc.deliver.outputs import RenderSummary, write_outputs
    from filmc.render import run

    try:
        cache = Cache.for_plan(plan, cache_dir)
        backends = build_backends(plan.profile, Path(plan.project_dir), cache)
        executor = run.prepare(plan, backends, cache, events, jobs=jobs, force=force, recreate=recreate,
                               max_cost=max_cost, backoff=backoff)
        out_dir.mkdir(parents=True, exist_ok=True)  # an unwritable --out fails now, not after the work
        outcomes = await run.run(executor)
        manifest = write_outputs(plan, outcomes, cache, out_dir, executor.ledger.entries)
    except OSError as err:
        where = f" {err.filename}" if getattr(err, "filename", None) else ""
        if err.errno in STORAGE_ERRNOS:
            raise StorageError(f"cannot write{where}: {err.strerror or err}. Free some space on that disk (or point "
                               "--cache or --out at another one) and run the same command again: every finished "
                               "job is kept and nothing paid for is bought twice.") from None
        raise UsageError(f"cannot write{where}: {err.strerror or err}. Check --out, --cache and the profile's "
                         "cache_dir.") from None
    return RenderSummary(outcomes=tuple(outcomes.values()), manifest=manifest, out_dir=str(out_dir))


def remaining_budget(max_cost: Decimal | None, spent: Decimal) -> Decimal | None:
    """What expansion spent comes out of the same budget as the render."""
    return None if max_cost is None else max(Decimal(0), max_cost - spent)

