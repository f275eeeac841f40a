"""The two expanders behind the `Expander` protocol: `template` (offline) and `claude` (the API).

Both read the same templates: the template expander renders the final prompt directly; the claude
expander renders the *request* (a cached system block plus one message per shot) and lets Claude write.
"""

from __future__ import annotations

import json
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
from filmc.expand.translation import LineContext, LineTranslation, TranslationResult
from filmc_backends.claude import TOOL_DESCRIPTION, TOOL_NAME, ClaudeError, ClaudeExpander, ExpansionRequest

MAX_PROMPT_CHARS = 2000
# What Anthropic adds to every call that forces a tool (`tool_choice` of one tool): its tool-use system prompt,
# 346 tokens on current models by its pricing page, counted in full as the worst case.
TOOL_USE_TOKENS = 346
# Translations asked again because their markup didn't read (up to `max_invalid` times, each resending the
# conversation): priced as if one line in two were asked once more, tokens in and out.
REASK_MARGIN = Decimal("1.5")


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

    def is_translated(self, film: FilmContext, line: LineContext, templates: Templates) -> bool:
        return True  # the identity stand-in costs nothing

    def estimate_translation_tokens(self, film: FilmContext, lines: Sequence[LineContext],
                                    templates: Templates) -> tuple[int, int]:
        return 0, 0

    async def translate_lines(self, film: FilmContext, lines: Sequence[LineContext],
                              templates: Templates) -> TranslationResult:
        """Offline there is no translator: each line keeps its words, and the plan marks it `untranslated`,
        so the whole multi-language path runs (and is tested) without keys; an override file gives real text."""
        return TranslationResult(lines=tuple(LineTranslation(text=c.beat.text) for c in lines), translated=False)


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

    def translation_request(self, film: FilmContext, line: LineContext, templates: Templates) -> ExpansionRequest:
        """The same path as a shot's: a system block cached per film and language, one message per line."""
        system = templates.render("translate.system.j2", film=film, source_language=line.source_language,
                                  language=line.language)
        return ExpansionRequest(system=system, user=templates.render("translate.line.j2", line=line))

    def is_translated(self, film: FilmContext, line: LineContext, templates: Templates) -> bool:
        return self.client.is_cached(self.translation_request(film, line, templates), LineTranslation)

    def estimate_translation_tokens(self, film: FilmContext, lines: Sequence[LineContext],
                                    templates: Templates) -> tuple[int, int]:
        """Before any call: about 3.5 characters a token in; out, the line again with the tool call around it.
        Conservative where the text alone says too little: each call also carries the tool (its name,
        description and schema) and the API's own forced-tool prompt (`TOOL_USE_TOKENS`), and an answer whose
        markup doesn't read is asked again with the conversation so far (`REASK_MARGIN`)."""
        requests = [self.translation_request(film, line, templates) for line in lines]
        chars = sum(len(r.system) + len(r.user) for r in requests)
        tool = len(TOOL_NAME) + len(TOOL_DESCRIPTION) + len(json.dumps(LineTranslation.model_json_schema()))
        tokens_in = math.ceil(chars / 3.5) + len(requests) * (TOOL_USE_TOKENS + math.ceil(tool / 3.5))
        tokens_out = sum(60 + len(line.beat.text) // 2 for line in lines)
        return math.ceil(tokens_in * REASK_MARGIN), math.ceil(tokens_out * REASK_MARGIN)

    async def translate_lines(self, film: FilmContext, lines: Sequence[LineContext],
                              templates: Templates) -> TranslationResult:
        requests = [self.translation_request(film, line, templates) for line in lines]
        try:
            answers, used = await self.client.expand_all(requests, LineTranslation)
        except ClaudeError as err:
            raise ConfigError(str(err)) from None
        return TranslationResult(lines=tuple(answers), usage=used)
