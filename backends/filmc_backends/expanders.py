"""The two expanders behind the `Expander` protocol: `template` (offline) and `claude` (the API).

Both read the same templates: the template expander renders the final prompt directly; the claude
expander renders the *request* (a cached system block plus one message per shot) and lets Claude write.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

from pydantic import ValidationError

from filmc import codes
from filmc.backend.protocol import BackendConfig, Capabilities, Price, Setup
from filmc.diagnostics import Diagnostic, FilmError
from filmc.errors import ConfigError
from filmc.expand.context import (
    NEGATIVE_MAX_CHARS,
    PROMPT_MAX_CHARS,
    FilmContext,
    ShotContext,
    ShotPrompt,
    Usage,
)
from filmc.expand.templating import Templates
from filmc_backends.claude import ClaudeError, ClaudeExpander, ExpansionRequest

MAX_PROMPT_CHARS = 2000


class TemplateExpander:
    """Deterministic, offline and free: the templates produce the prompts."""

    name = "template"
    version = "1"
    capabilities = Capabilities(layer="expand", max_prompt_chars=MAX_PROMPT_CHARS)

    def __init__(self, config: BackendConfig, setup: Setup) -> None:
        self.config = config

    def is_cached(self, film: FilmContext, shot: ShotContext, templates: Templates) -> bool:
        return True  # nothing to fetch: rendering a template costs nothing

    def estimate_tokens(self, film: FilmContext, shots: Sequence[ShotContext],
                        templates: Templates) -> tuple[int, int]:
        return 0, 0

    async def expand_shots(self, film: FilmContext, shots: Sequence[ShotContext],
                           templates: Templates) -> tuple[list[ShotPrompt], Usage]:
        out = []
        for ctx in shots:
            values = {"film": film, "shot": ctx.shot, "entities": ctx.entities, "palette": ctx.palette,
                      "camera": ctx.camera, "previous": ctx.previous, "next": ctx.next}
            prompt = templates.render("shot.prompt.j2", **values)
            negative = templates.render("shot.negative.j2", **values)
            too_long = _too_long(ctx, prompt, negative)
            if too_long is not None:
                raise FilmError([too_long])
            try:
                out.append(ShotPrompt(prompt=prompt, negative=negative))
            except ValidationError as err:
                problem = err.errors()[0]
                raise ConfigError(f"shot {ctx.shot.id}: the prompt templates made an unusable prompt "
                                f"({'.'.join(str(p) for p in problem['loc'])}: {problem['msg']}); check "
                                "templates/shot.prompt.j2 and shot.negative.j2") from None
        return out, Usage()


def _too_long(ctx: ShotContext, prompt: str, negative: str) -> Diagnostic | None:
    """A prompt past what any prompt may hold is the shot's text (or the style bible) being too long: said at the
    shot, where it can be shortened, rather than as an unlocated template failure."""
    for what, text, limit in (("prompt", prompt, PROMPT_MAX_CHARS), ("negative prompt", negative, NEGATIVE_MAX_CHARS)):
        if len(text) > limit:
            return Diagnostic(
                severity="error", code=codes.PROMPT_TOO_LONG.code, span=ctx.shot.span,
                message=f"shot {ctx.shot.id}'s {what} is {len(text):,} characters; filmc's prompts hold at most "
                        f"{limit:,}", hint="shorten the shot's text, its light and mood, or the style bible")
    return None


class ClaudeShotExpander:
    """Claude writes each shot's prompt from a templated request; answers are cached by content key."""

    name = "claude"
    version = ClaudeExpander.version
    capabilities = Capabilities(
        layer="expand", max_prompt_chars=MAX_PROMPT_CHARS, env=("ANTHROPIC_API_KEY",), remote=True,
        price=Price(per_mtok_in=Decimal("3"), per_mtok_out=Decimal("15")),
        default_model="claude-sonnet-5-5")

    def __init__(self, config: BackendConfig, setup: Setup) -> None:
        options = config.options
        self.model = config.model or self.capabilities.default_model
        self.client = ClaudeExpander(
            model=self.model, cache_dir=setup.cache_dir / "expand", concurrency=config.concurrency,
            timeout=config.timeout, max_retries=int(options.get("max_retries", 4)),
            max_invalid=int(options.get("max_invalid", 2)), base_url=config.base_url)

    def request(self, film: FilmContext, shot: ShotContext, templates: Templates) -> ExpansionRequest:
        system = templates.render("claude.system.j2", film=film, max_prompt_chars=MAX_PROMPT_CHARS)
        user = templates.render("claude.shot.j2", shot=shot.shot, entities=shot.entities, palette=shot.palette,
                                camera=shot.camera, previous=shot.previous, next=shot.next)
        return ExpansionRequest(system=system, user=user)

    def is_cached(self, film: FilmContext, shot: ShotContext, templates: Templates) -> bool:
        return self.client.is_cached(self.request(film, shot, templates), ShotPrompt)

    def estimate_tokens(self, film: FilmContext, shots: Sequence[ShotContext],
                        templates: Templates) -> tuple[int, int]:
        """Before any call: about 3.5 characters a token in, a paragraph out."""
        chars = sum(len(r.system) + len(r.user) for r in (self.request(film, s, templates) for s in shots))
        return math.ceil(chars / 3.5), 450 * len(shots)

    async def expand_shots(self, film: FilmContext, shots: Sequence[ShotContext],
                           templates: Templates) -> tuple[list[ShotPrompt], Usage]:
        requests = [self.request(film, s, templates) for s in shots]
        try:
            answers, used = await self.client.expand_all(requests, ShotPrompt)
        except ClaudeError as err:
            raise ConfigError(str(err)) from None
        return answers, used
