"""The pipeline end to end: a .film file -> checked film -> prompts -> Plan, and a Plan -> assets -> outputs.

`filmc compile` and `filmc render` run the stages through these functions; each stage can also be called
alone. Render and delivery are imported by `render_film` itself, so compiling never loads the picture
assembler or OpenTimelineIO.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from filmc.backend.protocol import AnyBackend, BackendConfig, Expander, Setup, Translator
from filmc.backend.registry import Backends, Registry, require_env
from filmc.check import load
from filmc.check.overrides import overrides_path, read_overrides
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
from filmc.expand.translation import (
    LineContext,
    LineTranslation,
    TranslatedLine,
    Translation,
    TranslationResult,
    TranslationStatus,
    line_contexts,
    translated_film,
)
from filmc.files import STORAGE_ERRNOS
from filmc.perf import gc_paused
from filmc.plan.model import BackendInfo, Plan, Spec, money
from filmc.plan.planner import PlanBackends, build_plan
from filmc.plan.profiles import LAYERS, Profile, load_profile
from filmc.render.cache import Cache
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


def claude_usd(info: BackendInfo, tokens_in: int, tokens_out: int) -> Decimal:
    """What an expander's estimated tokens cost at its price: prompts and translations are priced alike."""
    return money((info.price.per_mtok_in * tokens_in + info.price.per_mtok_out * tokens_out) / Decimal(10**6))


def check_expansion_budget(expander: Expander, film: FilmContext, todo: list[ShotContext], templates: Templates,
                           info: BackendInfo, max_cost: Decimal | None, media: Decimal = Decimal(0)) -> None:
    """Claude costs money too: estimated before the first call, and refused without a budget that covers it
    and, with it, everything the render would then buy (`media`): no prompt is paid for a film the budget
    can't make."""
    tokens_in, tokens_out = expander.estimate_tokens(film, todo, templates)
    usd = claude_usd(info, tokens_in, tokens_out)
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


# A translated line is priced, before it is written, at its source's length times this: translations run longer
# than their source (English into French, Italian or German, about a fifth to a third), and voice is priced by
# the character, so the voice a translation leads to is never under-estimated by much.
TRANSLATED_VOICE_MARGIN = Decimal("1.3")

# The plan a translated film would lead to (its lines stand-ins): priced before any line is paid for.
TranslatedDraft = Callable[[CheckedFilm, Expansion], Plan]


async def translate(checked: CheckedFilm, language: str, overrides: Path, shown: str, expansion: Expansion,
                    backends: Backends, templates: Templates, infos: PlanBackends, profile: Profile,
                    max_cost: Decimal | None, draft_plan: TranslatedDraft | None = None,
                    for_render: bool = False) -> tuple[CheckedFilm, Expansion, Translation]:
    """The narration in `language`: each line from the override file if it has one, else from the expander
    (Claude, cached per line; the template expander's identity leaves it `untranslated`). The shots' prompts
    and the music stay the original's, so only the voice lines (and the mix and mux over them) change keys.
    Before the first paid line, as `expand` does: the translated film is priced (`draft_plan`, its lines the
    source's words) and, `for_render`, every key its render will need is checked."""
    film = film_context(checked)
    contexts = line_contexts(checked, language)
    given = read_overrides(overrides, shown, [b.id for b in checked.timeline.beats]) if overrides.is_file() else {}
    todo = [c for c in contexts if c.beat.id not in given]
    expander = backends.expand
    if isinstance(expander, Translator):
        uncached = [c for c in todo if not expander.is_translated(film, c, templates)]
        if uncached:
            others = [(backends.for_layer(layer), layer) for layer in LAYERS[1:]]
            require_env([(expander, "expand")], profile.name, also=others)
            media = Decimal(0)
            if draft_plan is not None:
                stand_in = translated_film(checked, language, {**{c.beat.id: c.beat.text for c in todo}, **given})
                markup = backends.voice.capabilities.markup
                said = tuple(NarrationLine(beat=b, text=plain_text(b.parts), markup=voice_markup(b.parts, markup))
                             for b in stand_in.timeline.beats)
                draft = draft_plan(stand_in, expansion.model_copy(update={"lines": said}))
                voice = sum((j.estimated_usd for j in draft.jobs if j.layer == "voice"), Decimal(0))
                media = draft.estimated_usd + voice * (TRANSLATED_VOICE_MARGIN - 1)
                if for_render:
                    layers = {j.layer for j in draft.jobs if j.remote and not j.cached}
                    require_env([(backend, layer) for backend, layer in others if layer in layers], profile.name)
            check_translation_budget(expander, film, uncached, templates, infos.expand, max_cost, expansion.usd,
                                     media)
        result = await expander.translate_lines(film, todo, templates)
    else:   # a third-party expander that writes prompts only: the lines keep their words, marked so
        result = TranslationResult(lines=tuple(LineTranslation(text=c.beat.text) for c in todo), translated=False)
    answers = {c.beat.id: a.text for c, a in zip(todo, result.lines, strict=True)}
    texts = {**answers, **given}
    status: dict[str, TranslationStatus] = {i: "translated" if result.translated else "untranslated" for i in answers}
    status.update(dict.fromkeys(given, "override"))
    translated = translated_film(checked, language, texts)
    lines = tuple(TranslatedLine(beat_id=c.beat.id, source=c.beat.text, text=texts[c.beat.id],
                                 status=status[c.beat.id], budget=c.budget, estimated=b.estimated)
                  for c, b in zip(contexts, translated.timeline.beats, strict=True))
    dialect = backends.voice.capabilities.markup
    voiced = tuple(NarrationLine(beat=b, text=plain_text(b.parts), markup=voice_markup(b.parts, dialect))
                   for b in translated.timeline.beats)
    price = infos.expand.price
    usd = (price.per_mtok_in * result.usage.input_tokens + price.per_mtok_out * result.usage.output_tokens) / \
        Decimal(10**6)
    expansion = expansion.model_copy(update={"lines": voiced, "usage": expansion.usage + result.usage,
                                             "usd": money(expansion.usd + usd)})
    record = Translation(source_language=checked.language, language=language,
                         translator=f"{expander.name} {infos.expand.model}".strip() if result.translated
                         else expander.name, overrides=shown if given else None, lines=lines)
    return translated, expansion, record


def check_translation_budget(translator: Translator, film: FilmContext, todo: list[LineContext],
                             templates: Templates, info: BackendInfo, max_cost: Decimal | None,
                             spent: Decimal, media: Decimal = Decimal(0)) -> None:
    """Translating costs Claude calls as prompts do: estimated before the first, and refused without a budget
    that covers it on top of what the prompts spent and, with it, what the translated film then buys (`media`:
    its new voice, the mix and mux over it), so no line is paid for in a film the budget can't make."""
    tokens_in, tokens_out = translator.estimate_translation_tokens(film, todo, templates)
    usd = claude_usd(info, tokens_in, tokens_out)
    if usd <= 0:
        return
    what = f"translating {len(todo)} narration line(s) would spend an estimated ${usd:.2f}"
    if max_cost is None:
        raise BudgetError(f"{what}; nothing is spent without a budget: pass --max-cost USD")
    if usd + spent > max_cost:
        raise BudgetError(f"{what}, with the prompts' ${money(spent):.2f} over --max-cost ${max_cost:.2f}; "
                          "nothing was sent")
    if usd + spent + media > max_cost:
        raise BudgetError(f"{what}, with the prompts' ${money(spent):.2f} and the voice, mix and mux it leads to "
                          f"${money(media):.2f} more: ${money(usd + spent + media):.2f} in all, over --max-cost "
                          f"${max_cost:.2f}; nothing was sent (`filmc compile --lang` shows the breakdown)")


def check_language(language: str, checked: CheckedFilm) -> None:
    """`--lang` is a BCP 47 tag; one the film doesn't list in `translate` is allowed (the command line is as
    deliberate as the spec), so a one-off festival cut needs no edit to the film."""
    if not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*", language):
        listed = ", ".join(checked.translations) or "none"
        raise UsageError(f"--lang {language!r} is not a BCP 47 language tag: write one like en, fr or en-GB "
                         f"(the film is in {checked.language}; its `translate` line lists {listed})")


async def compile_film(path: Path, profile_name: str = "preview", *, cache_dir: Path | None = None,
                       display: str | None = None, max_cost: Decimal | None = None,
                       for_render: bool = False, draft: bool | None = None,
                       keep_clips: bool | None = None,
                       language: str | None = None) -> tuple[Plan, tuple[Diagnostic, ...]]:
    """The compile command's work; raises FilmError (spec, profile, fitting) or another FilmcError.
    `for_render`: the render's own compile, which refuses before any prompt is paid for when a key the
    render needs is missing (a plain compile needs only the expander's). `draft`: `--draft` or `--full` over
    the profile's own setting (None: the profile's); `keep_clips`: `--keep-clips` over the profile's.
    `language`: `--lang`, the plan of the film in that language (None, or the film's own: the original)."""
    checked, warnings, _ = load(path, display=display)
    project = Path(checked.project_dir)
    profile = load_profile(profile_name, project)
    if draft is not None:
        profile = profile.model_copy(update={"draft": draft})
    if keep_clips is not None:
        profile = profile.model_copy(update={"keep_clips": keep_clips})
    cache = Cache.for_profile(project, profile, cache_dir)
    backends = build_backends(profile, project, cache)
    infos = plan_backends(backends, profile)
    templates = Templates(project)

    def is_cached(spec: Spec, key: str) -> bool:
        return cache.has(spec.kind, key, suffix_of(spec))

    if checked.fit:   # `fit narration`: the voice first (made now for a render), then the film fitted to it
        from filmc.render.fitting import fit_to_voice

        def media_usd(film: CheckedFilm) -> Decimal:   # the whole film as fitted so far, its prompts stand-ins
            limit = backends.video.capabilities.max_prompt_chars or 6000
            contexts = shot_contexts(film)
            prompts = [ShotPrompt(prompt=_placeholder(c, limit)) for c in contexts]
            draft = _expansion(film, backends, templates, infos, film_context(film), contexts, prompts, Usage())
            return build_plan(film, profile, infos, draft, is_cached, source=display or str(path)).estimated_usd

        checked, warnings, voiced = await fit_to_voice(path, display, checked, warnings, profile, infos,
                                                       backends, cache, is_cached, make=for_render,
                                                       max_cost=max_cost, media_usd=media_usd)
        max_cost = remaining_budget(max_cost, voiced.usd)   # the prompts and translation come after that voice
    with gc_paused():  # thousands of frozen models, no cycles: the collector would only rescan them
        def draft_plan(draft: Expansion) -> Plan:
            return build_plan(checked, profile, infos, draft, is_cached, source=display or str(path))

        expansion = await expand(checked, profile, backends, templates, infos, max_cost, draft_plan, for_render)
        if language is None or language.lower() == checked.language.lower():
            return build_plan(checked, profile, infos, expansion, is_cached, source=display or str(path)), warnings
        check_language(language, checked)
        shown = overrides_path(Path(display or str(path)), language)
        def translated_plan(film: CheckedFilm, draft: Expansion) -> Plan:
            return build_plan(film, profile, infos, draft, is_cached, source=display or str(path))

        translated, expansion, translation = await translate(checked, language, overrides_path(path, language),
                                                             str(shown), expansion, backends, templates, infos,
                                                             profile, max_cost, translated_plan, for_render)
        plan = build_plan(translated, profile, infos, expansion, is_cached, source=display or str(path))
        if checked.fit and voiced.keys:   # the original's voice, made to fit the film, is paid for by this render
            from filmc.render.fitting import hand_over

            hand_over(voiced, plan, cache)
    return plan.model_copy(update={"translation": translation}), warnings


def default_out_dir(plan: Plan) -> Path:
    """`out/<title>/` beside the film: two films in one folder never share media or a manifest."""
    from filmc.deliver.outputs import slug

    return Path(plan.project_dir) / "out" / slug(plan.film.title)


async def render_film(plan: Plan, *, out_dir: Path, events: EventSink, cache_dir: Path | None = None,
                      jobs: int = 4, force: frozenset[str] = frozenset(), recreate: frozenset[str] = frozenset(),
                      max_cost: Decimal | None = None, backoff: float = 1.0,
                      executor_name: str | None = None) -> RenderSummary:
    """The render command's work: refuse before any job what can't be afforded or made, run, deliver.
    `executor_name`: `local`, `ray` or `ray://HOST:PORT`; None: the profile's (`local` unless it says otherwise)."""
    from filmc.deliver.outputs import RenderSummary, write_outputs
    from filmc.render import run
    from filmc.render.fitting import made_first, voice_first
    from filmc.render.ledger import spent

    try:
        cache = Cache.for_plan(plan, cache_dir)
        backends = build_backends(plan.profile, Path(plan.project_dir), cache)
        first, paid = made_first(plan, cache)   # `fit narration`: the voice this render's compile made first
        max_cost = remaining_budget(max_cost, spent(paid))
        executor = run.prepare(plan, backends, cache, events, jobs=jobs, force=force, recreate=recreate,
                               max_cost=max_cost, backoff=backoff, executor=executor_name or plan.profile.executor)
        out_dir.mkdir(parents=True, exist_ok=True)  # an unwritable --out fails now, not after the work
        more, charged = await voice_first(plan, backends, cache, events, jobs=jobs, max_cost=max_cost)
        outcomes = {**await run.run(executor), **first, **more}
        manifest = write_outputs(plan, outcomes, cache, out_dir, [*paid, *charged, *executor.ledger.entries])
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



async def render_films(plans: Sequence[Plan], *, out_dirs: Sequence[Path], events: EventSink,
                       cache_dir: Path | None = None, jobs: int = 4, force: frozenset[str] = frozenset(),
                       recreate: frozenset[str] = frozenset(), max_cost: Decimal | None = None, backoff: float = 1.0,
                       executor_name: str | None = None) -> list[RenderSummary]:
    """Several films in one render: every film is refused or accepted before any job of any film starts, then
    their jobs run together (on Ray, across the cluster), and a job two films share on one cache is made once.
    `max_cost` covers them all: it is split between the films in proportion to their estimates, and each film's
    executor holds its own share, so the whole render stays within it."""
    import asyncio

    from filmc.deliver.outputs import RenderSummary, write_outputs
    from filmc.render import run
    from filmc.render.events import Prefixed
    from filmc.render.fitting import made_first
    from filmc.render.ledger import spent
    from filmc.render.outcome import JobOutcome
    from filmc.render.ray_executor import session

    executor_name = executor_name or plans[0].profile.executor
    # the voices each fitted film's compile made first (`paid`) come out of the one budget before it is shared
    earlier = [made_first(plan, Cache.for_plan(plan, cache_dir)) for plan in plans]
    max_cost = remaining_budget(max_cost, spent([e for _, paid in earlier for e in paid]))
    budgets = run.budget_shares(max_cost, [plan.estimated_usd for plan in plans])
    # per cache: a key is a key in one cache, and films in different folders sharing a store share its keys
    in_flight: dict[Path | str, dict[str, asyncio.Task[JobOutcome]]] = {}
    try:
        with session(executor_name):
            prepared = []
            for plan, out_dir, budget in zip(plans, out_dirs, budgets, strict=True):
                cache = Cache.for_plan(plan, cache_dir)
                if plan.film.provisional:   # `fit narration` on estimates: its voice must be made and checked first
                    raise UsageError(f"{plan.source} is fitted to its narration as estimated from the text (a "
                                     "provisional fit): render it on its own, which makes its voice first and "
                                     "checks the fit, or compile it again once its voice is cached")
                backends = build_backends(plan.profile, Path(plan.project_dir), cache)
                prepared.append(run.prepare(plan, backends, cache, Prefixed(events, out_dir.name), jobs=jobs,
                                            force=force, recreate=recreate, max_cost=budget, backoff=backoff,
                                            executor=executor_name,
                                            shared=in_flight.setdefault(cache.store.url if cache.store else cache.root,
                                                                        {})))
                out_dir.mkdir(parents=True, exist_ok=True)
            results = await asyncio.gather(*(run.run(executor) for executor in prepared))
        summaries = []
        for plan, out_dir, executor, found, (first, paid) in zip(plans, out_dirs, prepared, results, earlier,
                                                                  strict=True):
            outcomes = {**found, **first}
            manifest = write_outputs(plan, outcomes, executor.cache, out_dir, [*paid, *executor.ledger.entries])
            summaries.append(RenderSummary(outcomes=tuple(outcomes.values()), manifest=manifest, out_dir=str(out_dir)))
    except OSError as err:
        raise _storage_error(err) from None
    finally:
        events.close()
    return summaries


def _storage_error(err: OSError) -> StorageError | UsageError:
    """An OSError from rendering, in the user's words (as `render_film` says it)."""
    where = f" {err.filename}" if getattr(err, "filename", None) else ""
    if err.errno in STORAGE_ERRNOS:
        return StorageError(f"cannot write{where}: {err.strerror or err}. Free some space on that disk (or point "
                            "--cache or --out at another one) and run the same command again: every finished "
                            "job is kept and nothing paid for is bought twice.")
    return UsageError(f"cannot write{where}: {err.strerror or err}. Check --out, --cache and the profile's "
                      "cache_dir.")
