"""`filmc render FILE --lang it,en` (or `--lang all`): the render command once per language, then one MP4 with every
language's sound and subtitles. The cache makes each language after the first cost only its voice."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import click

from filmc.errors import UsageError


def several(spec: str | None) -> bool:
    """Whether `--lang` asks for more than one language."""
    return spec is not None and ("," in spec or spec.strip().lower() == "all")


def render_languages(ctx: click.Context, source: Path, spec: str) -> None:
    """Each language rendered as `--lang LANG` alone would (same options, one report each), in the order given;
    `all` is the film's own language, then its `translate` languages."""
    from filmc.check import load
    from filmc.deliver.languages import track_of, write_language_tracks
    from filmc.deliver.outputs import slug
    from filmc.plan.profiles import load_profile

    if source.suffix == ".json":
        raise UsageError(f"{source} is a plan of one language; render the .film file with --lang {spec}")
    checked, _, _ = load(source)
    wanted = [checked.language, *checked.translations] if spec.strip().lower() == "all" else \
        [tag.strip() for tag in spec.split(",") if tag.strip()]
    languages = list(dict.fromkeys(wanted))
    if len(languages) < 2:
        alone = languages[0] if languages else "en"
        none = " (the film's `translate` line lists no language)" if spec.strip().lower() == "all" else ""
        raise UsageError(f"--lang {spec} names one language{none}; write it alone: --lang {alone}")
    # --max-cost is the whole command's: each language renders with what the ones before it left (their ledgers,
    # with what their compiles paid Claude), so a language the rest can't afford is refused (exit 4) unsent
    budget: Decimal | None = ctx.params.get("max_cost")
    for language in languages:
        used = ctx.invoke(ctx.command, **{**ctx.params, "language": language, "max_cost": budget})
        if budget is not None:
            budget = max(Decimal(0), budget - (used or Decimal(0)))
    project = Path(checked.project_dir)
    draft = ctx.params.get("draft")
    if draft is None:
        draft = load_profile(ctx.params["profile_name"], project).draft
    out_dir = ctx.params.get("out_dir") or project / "out" / slug(checked.title)
    tracks = [track_of(out_dir, language, "" if language.lower() == checked.language.lower() else f".{language}", draft)
              for language in languages]
    made = write_language_tracks(out_dir, slug(checked.title) + (".draft" if draft else ""), tracks)
    click.echo(f"languages: {made}", err=bool(ctx.params.get("as_json")))
