"""The `claude` expander: Claude turns each shot's rendered request into the final generation prompt."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError

from filmc.expand.context import Usage
from filmc.files import write_text_atomic
from filmc.keys import content_key
from filmc.locks import key_lock
from filmc.model import Model

if TYPE_CHECKING:  # the SDK takes ~1 s to import; the CLI must start without it
    from anthropic import AsyncAnthropic
    from anthropic.types import (
        Message,
        MessageParam,
        ToolParam,
        ToolResultBlockParam,
        ToolUseBlock,
        ToolUseBlockParam,
    )

M = TypeVar("M", bound=Model)

TOOL_NAME = "write_answer"
TOOL_DESCRIPTION = "Give your answer: the tool's input is the answer itself, exactly in the tool's schema."
MISSING_KEY = (
    "ANTHROPIC_API_KEY is not set: export ANTHROPIC_API_KEY=<your key from console.anthropic.com>, "
    "or compile with --profile preview to expand prompts offline from the templates."
)


class ExpansionRequest(Model):
    """One shot's question to Claude; `system` is the same for every shot, so the API caches it."""

    system: str  # the film's style bible and standing instructions
    user: str  # this shot's request, rendered from templates (data, never template code)


# The expansion stage's own usage model: one definition, shared by every expander.
ExpansionUsage = Usage


class ExpansionKey(Model):
    """Everything filmc sends that shapes the answer; the schema as canonical JSON, so order can't matter."""

    model: str
    expander_version: str
    system: str
    user: str
    output_schema: str


class ClaudeError(Exception):
    """A failed expansion, worded for the filmmaker in one paragraph; it never contains the API key.

    `usage` is what the batch spent before failing, so the CLI can still report it.
    """

    def __init__(self, message: str, usage: ExpansionUsage | None = None) -> None:
        super().__init__(message)
        self.usage = usage


class ClaudeExpander:
    """Expands a batch of requests concurrently, caching each validated answer under its content key."""

    name = "claude"
    version = "1"

    def __init__(
        self,
        *,
        model: str,
        cache_dir: Path,
        concurrency: int = 4,
        timeout: float = 120.0,
        max_retries: int = 4,
        max_invalid: int = 2,
        max_tokens: int = 2048,
        api_key: str | None = None,
        base_url: str | None = None,
    ) -> None:
        self.model = model
        self.cache_dir = cache_dir
        self.concurrency = concurrency
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_invalid = max_invalid
        self.max_tokens = max_tokens
        self.base_url = base_url  # None: the SDK reads ANTHROPIC_BASE_URL itself
        # Read now, checked only when a call is needed: a fully cached film compiles without a key.
        self._api_key = api_key if api_key is not None else os.environ.get("ANTHROPIC_API_KEY")

    def __repr__(self) -> str:  # spelled out so the key can never leak through a repr
        return f"ClaudeExpander(model={self.model!r}, cache_dir={str(self.cache_dir)!r})"

    def cache_key(self, request: ExpansionRequest, output: type[Model]) -> str:
        """A new schema, model or expander version asks again; reformatting the schema does not."""
        schema = json.dumps(output.model_json_schema(), sort_keys=True, separators=(",", ":"))
        key = ExpansionKey(
            model=self.model,
            expander_version=self.version,
            system=request.system,
            user=request.user,
            output_schema=schema,
        )
        return content_key(key)

    def is_cached(self, request: ExpansionRequest, output: type[Model]) -> bool:
        """True only for an entry that still validates, so the plan never counts a corrupt one as free."""
        return self._load(self.cache_key(request, output), output) is not None

    async def expand_all(self, requests: Sequence[ExpansionRequest], output: type[M]) -> tuple[list[M], ExpansionUsage]:
        """Answers in request order; cached and duplicate requests cost no call.

        Every request runs to its end even when another fails, so each answer paid for is cached before
        the batch reports its first failure.
        """
        keys = [self.cache_key(request, output) for request in requests]
        answers: dict[str, M] = {}
        todo: dict[str, ExpansionRequest] = {}
        for key, request in zip(keys, requests, strict=True):
            if key in answers or key in todo:
                continue
            cached = self._load(key, output)
            if cached is None:
                todo[key] = request
            else:
                answers[key] = cached
        spent: list[ExpansionUsage] = []
        if todo:
            failures = await self._expand_missing(todo, output, answers, spent)
            if failures:
                raise _first_failure(failures, len(todo), sum(spent, ExpansionUsage()))
        return [answers[key] for key in keys], sum(spent, ExpansionUsage())

    async def _expand_missing(
        self,
        todo: dict[str, ExpansionRequest],
        output: type[M],
        answers: dict[str, M],
        spent: list[ExpansionUsage],
    ) -> list[BaseException]:
        """One client per batch: its connection pool belongs to the event loop running the batch."""
        gate = asyncio.Semaphore(self.concurrency)
        schema = output.model_json_schema()
        async with self._client() as client:
            asks = [self._expand_one(client, gate, key, req, output, schema, spent) for key, req in todo.items()]
            results = await asyncio.gather(*asks, return_exceptions=True)
        failures: list[BaseException] = []
        for key, result in zip(todo, results, strict=True):
            if isinstance(result, BaseException):
                failures.append(result)
            else:
                answers[key] = result
        return failures

    async def _expand_one(
        self,
        client: AsyncAnthropic,
        gate: asyncio.Semaphore,
        key: str,
        request: ExpansionRequest,
        output: type[M],
        schema: dict[str, Any],
        spent: list[ExpansionUsage],
    ) -> M:
        """Ask, validate, and re-ask with the validation error at most `max_invalid` more times.

        The answer is cached as soon as it validates, so an interrupted batch keeps what it paid for; a lock
        per answer makes two renders of one project ask once.
        """
        from anthropic.types import ToolUseBlock

        messages: list[MessageParam] = [{"role": "user", "content": request.user}]
        mine, problem = ExpansionUsage(), ""
        async with gate, key_lock(self.cache_dir.parent, key, lambda: None):   # beside the render's own locks
            already = self._load(key, output)   # another render may have paid for it while this one waited
            if already is not None:
                return already
            for _attempt in range(1 + self.max_invalid):
                message = await self._call(client, request, messages, schema)
                spent.append(_usage_of(message))
                mine += spent[-1]
                calls = [b for b in message.content if isinstance(b, ToolUseBlock) and b.name == TOOL_NAME]
                if not calls:
                    problem = f"it called no tool (stop reason: {message.stop_reason})"
                    messages.append({"role": "user", "content": f"Answer only by calling `{TOOL_NAME}`."})
                    continue
                block = calls[0]
                try:
                    answer = output.model_validate(block.input)
                except ValidationError as err:
                    problem = _summarise(err)
                    messages.extend(_reask(block, problem))
                    continue
                self._store(key, answer, mine)
                return answer
        raise ClaudeError(
            f"Claude gave no valid answer for {_describe(request)} in {1 + self.max_invalid} attempts; "
            f"the last one was wrong: {problem}. Run the compile again, or simplify that shot's request."
        )

    async def _call(
        self,
        client: AsyncAnthropic,
        request: ExpansionRequest,
        messages: list[MessageParam],
        schema: dict[str, Any],
    ) -> Message:
        """One Messages call; the SDK retries 429, 5xx, 529 and dropped connections, honouring retry-after."""
        import anthropic

        tool: ToolParam = {"name": TOOL_NAME, "description": TOOL_DESCRIPTION, "input_schema": schema}
        try:
            return await client.messages.create(
                model=self.model,
                max_tokens=self.max_tokens,
                system=[{"type": "text", "text": request.system, "cache_control": {"type": "ephemeral"}}],
                messages=messages,
                tools=[tool],
                tool_choice={"type": "tool", "name": TOOL_NAME},
            )
        # `from None`: the SDK's exception holds the request, and so the key in its auth header.
        except anthropic.APIError as err:
            problem = self._api_problem(err)
            raise ClaudeError(self._scrub(f"Expanding {_describe(request)} failed: {problem}.")) from None

    def _api_problem(self, err: Exception) -> str:
        """What failed, in the API's own words, and what to try next; retryable failures arrive exhausted."""
        import anthropic

        tries = f"{self.max_retries + 1} tries"
        if isinstance(err, anthropic.APITimeoutError):
            return f"the Claude API did not answer within {self.timeout:g} s, in {tries}. Try again later"
        if isinstance(err, anthropic.APIConnectionError):
            where = "Check the network, or ANTHROPIC_BASE_URL if you set it"
            return f"could not reach the Claude API ({err.message}), in {tries}. {where}"
        if not isinstance(err, anthropic.APIStatusError):
            return f"the Claude API call failed: {err}"
        status = err.status_code
        hints = {
            401: "Check ANTHROPIC_API_KEY, or use --profile preview to expand offline",
            403: f"This key may not use the model `{self.model}`",
            404: f"Check the model name `{self.model}`",
            413: "The style bible plus this shot's request is too long",
            429: f"Still rate-limited after {tries}: lower the expander's concurrency, or try again later",
        }
        default = f"Still failing after {tries}: try again later" if status >= 500 else "This may be a filmc bug"
        said = " ".join(str(err.api_message or err.message).split()).rstrip(".")
        return f"the Claude API answered {status} {err.type or 'error'}: {said}. {hints.get(status, default)}"

    def _scrub(self, text: str) -> str:
        """Defence in depth: a proxy or a future SDK might echo the key in an error body."""
        return text.replace(self._api_key, "[redacted]") if self._api_key else text

    def _client(self) -> AsyncAnthropic:
        if not self._api_key:
            raise ClaudeError(MISSING_KEY)
        from anthropic import AsyncAnthropic

        return AsyncAnthropic(
            api_key=self._api_key, base_url=self.base_url, timeout=self.timeout, max_retries=self.max_retries
        )

    def _path(self, key: str) -> Path:
        return self.cache_dir / f"{key}.json"

    def _load(self, key: str, output: type[M]) -> M | None:
        """A missing, unreadable or no longer valid entry is a miss: it is asked again and overwritten."""
        try:
            entry = json.loads(self._path(key).read_text("utf-8"))
            return output.model_validate(entry["output"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _store(self, key: str, answer: Model, usage: ExpansionUsage) -> None:
        """Paid for once: written whole and flushed, so a crash never leaves half an entry under a key."""
        entry = {"output": answer.model_dump(mode="json"), "usage": usage.model_dump(mode="json")}
        write_text_atomic(self._path(key), json.dumps(entry, ensure_ascii=False, indent=2) + "\n")


def _usage_of(message: Message) -> ExpansionUsage:
    u = message.usage
    return ExpansionUsage(
        input_tokens=u.input_tokens,
        output_tokens=u.output_tokens,
        cache_read_tokens=u.cache_read_input_tokens or 0,
        cache_write_tokens=u.cache_creation_input_tokens or 0,
        calls=1,
    )


def _reask(block: ToolUseBlock, problem: str) -> list[MessageParam]:
    """The API requires a tool_use to be answered by its tool_result; the error tells Claude what to fix."""
    said: ToolUseBlockParam = {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
    result: ToolResultBlockParam = {
        "type": "tool_result",
        "tool_use_id": block.id,
        "is_error": True,
        "content": f"That input does not match the schema: {problem}. Call `{TOOL_NAME}` again, corrected.",
    }
    return [{"role": "assistant", "content": [said]}, {"role": "user", "content": [result]}]


def _summarise(err: ValidationError) -> str:
    """Locations and reasons only: pydantic's own text spans lines and quotes the input back."""
    parts = [f"{'.'.join(str(p) for p in e['loc']) or 'the answer'}: {e['msg']}" for e in err.errors()[:5]]
    return "; ".join(parts)


def _describe(request: ExpansionRequest, width: int = 60) -> str:
    """The request's first line, so the filmmaker can tell which shot it was."""
    first = next((line.strip() for line in request.user.splitlines() if line.strip()), "")
    return f'the request "{first if len(first) <= width else first[: width - 1] + "…"}"'


def _first_failure(failures: list[BaseException], asked: int, usage: ExpansionUsage) -> BaseException:
    """A filmc bug surfaces as itself; otherwise the first ClaudeError, counting the others."""
    bug = next((f for f in failures if not isinstance(f, ClaudeError)), None)
    if bug is not None:
        return bug
    more = len(failures) - 1
    tail = f" ({more} more of {asked} requests failed too.)" if more else ""
    return ClaudeError(f"{failures[0]}{tail}", usage=usage)
