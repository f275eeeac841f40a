"""The front half of the pipeline, end to end: file -> checked film -> prompts -> Plan."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Any

from filmc.backend.protocol import BackendConfig, Capabilities, Setup, discover
from filmc.check.resolved import CheckedFilm
from filmc.check.rules import load
from filmc.diagnostics import Diagnostic
from filmc.errors import UserError
from filmc.expand.context import (
    Expander,
    Expansion,
    NarrationLine,
    Usage,
    film_context,
    music_sections,
    plain_text,
    shot_contexts,
    voice_markup,
)
from filmc.expand.templating import Templates
from filmc.perf import gc_paused
from filmc.plan.planner import BackendInfo, Plan, build_plan, money
from filmc.plan.profiles import LAYERS, Profile, load_profile
from filmc.render.cache import Cache

ASSEMBLER = BackendInfo(name="ffmpeg", version="2", model="", capabilities=Capabilities(layer="video"),
                        price=Capabilities(layer="video").price)


def cache_root(project_dir: Path, profile: Profile, override: Path | None) -> Path:
    """`--cache DIR` wins, then FILMC_CACHE, then the profile's (relative to the film's folder)."""
    if override is not None:
        return override.resolve()
    if env := os.environ.get("FILMC_CACHE"):
        return Path(env).resolve()
    return (project_dir / profile.cache_dir).resolve()


def instantiate(profile: Profile, setup: Setup) -> dict[str, Any]:
    """One backend object per layer (plus `file`), built by the factory its entry point names."""
    found, _ = discover()
    out: dict[str, Any] = {}
    for layer in LAYERS:
        config = profile.layer(layer)
        try:
            out[layer] = found[config.backend](config, setup)
        except (ValueError, TypeError) as err:  # e.g. options = { threads = "many" }
            raise UserError(f"the `{profile.name}` profile's {layer} backend `{config.backend}` rejected its "
                            f"settings: {err}. Fix its options in filmc.toml (see docs/profiles.md).", 1) from None
    out["file"] = found["file"](BackendConfig(backend="file"), setup)
    return out


def info_of(backend: Any, config: BackendConfig) -> BackendInfo:
    caps: Capabilities = backend.capabilities
    price = caps.price.model_copy(update=config.price.model_dump(exclude_unset=True)) if config.price else caps.price
    return BackendInfo(name=backend.name, version=backend.version, model=config.model or caps.default_model,
                       capabilities=caps, price=price, options=config.options)


def require_env(backend: Any, layer: str, profile: Profile) -> None:
    """A missing key is one line naming the variable, before anything is sent or spent."""
    for var in backend.capabilities.env:
        if not os.environ.get(var):
            raise UserError(f"{var} is not set: the `{profile.name}` profile's {layer} layer uses "
                            f"`{backend.name}`. Export {var}, or use --profile preview to work offline.", 1)


def check_expansion_budget(expander: Any, film: Any, todo: list[Any], templates: Templates, info: BackendInfo,
                           max_cost: Decimal | None) -> None:
    """Claude costs money too: estimated before the first call, and refused without a budget that covers it."""
    estimate_tokens = getattr(expander, "estimate_tokens", None)
    if estimate_tokens is None:
        return
    tokens_in, tokens_out = estimate_tokens(film, todo, templates)
    usd = money((info.price.per_mtok_in * tokens_in + info.price.per_mtok_out * tokens_out) / Decimal(10**6))
    if usd <= 0:
        return
    what = f"expanding {len(todo)} prompt(s) with `{expander.name}` would spend an estimated ${usd:.2f}"
    if max_cost is None:
        raise UserError(f"{what}; nothing is spent without a budget: pass --max-cost USD", 4)
    if usd > max_cost:
        raise UserError(f"{what}, over --max-cost ${max_cost:.2f}; nothing was sent", 4)


async def expand(checked: CheckedFilm, profile: Profile, backends: dict[str, Any], templates: Templates,
                 infos: dict[str, BackendInfo], max_cost: Decimal | None = None) -> Expansion:
    """Prompts for every shot (cached answers cost nothing), narration markup, music sections."""
    expander: Expander = backends["expand"]
    film = film_context(checked)
    contexts = shot_contexts(checked)
    todo = [c for c in contexts if not c.shot.clip and not expander.is_cached(film, c, templates)]
    if todo:
        require_env(expander, "expand", profile)
        check_expansion_budget(expander, film, todo, templates, infos["expand"], max_cost)
    prompts, usage = await expander.expand_shots(film, contexts, templates) if contexts else ([], Usage())
    price = infos["expand"].price
    usd = (price.per_mtok_in * usage.input_tokens + price.per_mtok_out * usage.output_tokens) / Decimal(10**6)
    dialect = backends["voice"].capabilities.markup
    lines = tuple(NarrationLine(beat=b, text=plain_text(b.parts), markup=voice_markup(b.parts, dialect))
                  for b in checked.timeline.beats)
    sections, music_prompt = music_sections(checked, templates)
    return Expansion(expander=expander.name, model=infos["expand"].model, film=film,
                     shots=tuple((c.shot.id, p) for c, p in zip(contexts, prompts, strict=True)), lines=lines,
                     music_sections=sections, music_prompt=music_prompt, usage=usage, usd=money(usd),
                     pending_calls=len(todo))


async def compile_film(path: Path, profile_name: str = "preview", *, cache_dir: Path | None = None,
                       display: str | None = None,
                       max_cost: Decimal | None = None) -> tuple[Plan, tuple[Diagnostic, ...]]:
    """The compile command's work; raises FilmError (spec, profile, fitting) or UserError."""
    checked, warnings, _ = load(path, display=display)
    project = Path(checked.project_dir)
    profile = load_profile(profile_name, project)
    cache = Cache(cache_root(project, profile, cache_dir))
    backends = instantiate(profile, Setup(project_dir=project, cache_dir=cache.root))
    infos: dict[str, BackendInfo] = {layer: info_of(backends[layer], profile.layer(layer)) for layer in LAYERS}
    infos["file"] = info_of(backends["file"], BackendConfig(backend="file"))
    infos["assemble"] = ASSEMBLER
    templates = Templates(project)
    with gc_paused():  # thousands of frozen models, no cycles: the collector would only rescan them
        expansion = await expand(checked, profile, backends, templates, infos, max_cost)
        plan = build_plan(checked, profile, infos, expansion, cache, source=display or str(path))
    return plan, warnings
