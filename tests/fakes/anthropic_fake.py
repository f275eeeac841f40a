"""A loopback fake of the Anthropic Messages API, so the real SDK is tested with no network.

It speaks the wire format (POST /v1/messages, the API's JSON replies and error bodies), follows a scripted
queue of behaviours (answers, errors with retry-after, dropped connections, stalls) and records every request.
Usage::

    with FakeAnthropic(api_key="sk-test") as fake:
        fake.script(rate_limited(), Answer())
        client = AsyncAnthropic(api_key="sk-test", base_url=fake.base_url)
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any

from tests.fakes.loopback import Faults, injected_fault

if TYPE_CHECKING:
    import pytest

Json = dict[str, Any]
Responder = Callable[[Json], Json]  # request body -> the tool input of a valid answer


@dataclass(frozen=True)
class Answer:
    """A tool_use reply; `input=None` asks the fake's responder for a valid one."""

    input: Json | None = None


@dataclass(frozen=True)
class TextOnly:
    """A reply with no tool_use block, as a truncated or refusing model might send."""

    text: str = "I would rather describe it in prose."
    stop_reason: str = "end_turn"


@dataclass(frozen=True)
class Fail:
    """An error reply shaped like the API's: {"type": "error", "error": {"type", "message"}}."""

    status: int
    type: str
    message: str
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Drop:
    """Close the socket without a response, as a dying proxy or a reset connection does."""


@dataclass(frozen=True)
class Stall:
    """Answer only after `seconds`: longer than the client's timeout, this is a read timeout."""

    seconds: float


Behaviour = Answer | TextOnly | Fail | Drop | Stall


def rate_limited(retry_after: str = "0.05") -> Fail:
    """A 429 as the API sends it; the SDK honours `retry-after` (seconds, floats accepted)."""
    return Fail(
        429,
        "rate_limit_error",
        "Number of request tokens has exceeded your rate limit.",
        (("retry-after", retry_after),),
    )


def overloaded(retry_after_ms: str = "20") -> Fail:
    """A 529 with the SDK's finer `retry-after-ms`; without any retry-after the SDK backs off >= 0.375 s."""
    return Fail(529, "overloaded_error", "Overloaded", (("retry-after-ms", retry_after_ms),))


def server_error() -> Fail:
    return Fail(500, "api_error", "Internal server error", (("retry-after-ms", "10"),))


def first_user_text(body: Json) -> str:
    """The shot's request as sent: the first user turn, plain or as text blocks."""
    content = body["messages"][0]["content"]
    if isinstance(content, str):
        return content
    return "".join(block.get("text", "") for block in content)


def echo_prompt(body: Json) -> Json:
    """The default valid answer for a `{"prompt": str}` schema, traceable to its request."""
    return {"prompt": f"PROMPT: {first_user_text(body)}"}


def credential(headers: Mapping[str, str]) -> str | None:
    """The key a request carried: SDKs before 2.x send `x-api-key`, anthropic 2.14 `Authorization: Bearer`."""
    if headers.get("x-api-key"):
        return headers["x-api-key"]
    scheme, _, token = (headers.get("authorization") or "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None


@dataclass
class RecordedRequest:
    """What arrived, so tests can assert on the SDK's real headers and body."""

    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: Any
    at: float  # time.monotonic() on arrival


@dataclass
class _State:
    queue: deque[Behaviour] = field(default_factory=deque)
    requests: list[RecordedRequest] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    cached_systems: set[str] = field(default_factory=set)


class FakeAnthropic:
    """A ThreadingHTTPServer on 127.0.0.1 (a free port) in a daemon thread; a context manager."""

    def __init__(self, responder: Responder = echo_prompt, *, api_key: str | None = None, latency: float = 0.0) -> None:
        self.responder = responder
        self.api_key = api_key  # when set, any other key (x-api-key or bearer) gets the API's 401
        self.latency = latency  # seconds added to every request, for concurrency benchmarks
        self._lock = threading.Lock()
        self._state = _State()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------
    def __enter__(self) -> FakeAnthropic:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="fake-anthropic",
            daemon=True,
        )
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def base_url(self) -> str:
        assert self._server is not None, "use FakeAnthropic as a context manager"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def server(self) -> _Server:
        """The HTTP server, for what every loopback fake takes (`fake.server.faults = Faults(rate)`)."""
        assert self._server is not None, "use FakeAnthropic as a context manager"
        return self._server

    # -- scripting and inspection ------------------------------------------------------------------------
    def script(self, *behaviours: Behaviour) -> None:
        """Queue behaviours for the next requests, in arrival order; when empty, every request is Answer()."""
        with self._lock:
            self._state.queue.extend(behaviours)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._state.requests)

    @property
    def max_in_flight(self) -> int:
        with self._lock:
            return self._state.max_in_flight

    def reset(self) -> None:
        """Forget requests and the in-flight peak (and the script), e.g. after a warm-up."""
        with self._lock:
            self._state = _State()

    # -- used by the handler thread ----------------------------------------------------------------------
    def _begin(self, request: RecordedRequest) -> Behaviour:
        with self._lock:
            state = self._state
            state.requests.append(request)
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
            return state.queue.popleft() if state.queue else Answer()

    def _end(self) -> None:
        with self._lock:
            self._state.in_flight -= 1

    def _usage(self, body: Json, answer: Json) -> Json:
        """Rough token counts; a system block with cache_control is written to the cache once, then read."""
        system = body.get("system")
        cacheable = "".join(b["text"] for b in system if b.get("cache_control")) if isinstance(system, list) else ""
        with self._lock:
            seen = cacheable in self._state.cached_systems
            self._state.cached_systems.add(cacheable)
        cached = len(cacheable) // 4 + 1 if cacheable else 0
        return {
            "input_tokens": len(json.dumps(body["messages"])) // 4 + 1,
            "output_tokens": len(json.dumps(answer)) // 4 + 1,
            "cache_creation_input_tokens": 0 if seen else cached,
            "cache_read_input_tokens": cached if seen else 0,
        }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # keep-alive connections must not hold up server_close()
    fake: FakeAnthropic
    faults: Faults | None = None   # transient faults at a rate, as every loopback fake takes them


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the API serves it
    timeout = 10  # an idle keep-alive connection frees its thread eventually
    disable_nagle_algorithm = True  # headers and body go out in two writes; Nagle would hold the second
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet: pytest shows failures, not access logs
        pass

    def do_POST(self) -> None:
        if injected_fault(self):
            return
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        try:
            body: Any = json.loads(raw or b"null")
        except ValueError:
            body = raw.decode("utf-8", "replace")
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = RecordedRequest("POST", self.path, headers, body, time.monotonic())
        fake = self.server.fake
        behaviour = fake._begin(request)
        try:
            if fake.latency:
                time.sleep(fake.latency)
            self._act(fake, behaviour, request)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (its timeout): nothing to send
            self.close_connection = True
        finally:
            fake._end()

    def _act(self, fake: FakeAnthropic, behaviour: Behaviour, request: RecordedRequest) -> None:
        body, problem = request.body, _refusal(fake, request)
        if isinstance(behaviour, Drop):
            self.close_connection = True  # finish() closes the socket; the client sees EOF, no status line
        elif isinstance(behaviour, Fail):
            self._error(behaviour)
        elif problem is not None:
            self._error(problem)
        elif isinstance(behaviour, Stall):
            time.sleep(behaviour.seconds)
            self._answer(fake, body, fake.responder(body))
        elif isinstance(behaviour, TextOnly):
            text = [{"type": "text", "text": behaviour.text}]
            self._send(200, _message(body, text, behaviour.stop_reason, fake._usage(body, {})))
        else:
            self._answer(fake, body, fake.responder(body) if behaviour.input is None else behaviour.input)

    def _answer(self, fake: FakeAnthropic, body: Json, tool_input: Json) -> None:
        choice = body.get("tool_choice") or {}
        name = choice.get("name") or (body.get("tools") or [{"name": "tool"}])[0]["name"]
        block = {
            "type": "tool_use",
            "id": f"toolu_{uuid.uuid4().hex[:24]}",
            "name": name,
            "input": tool_input,
        }
        self._send(200, _message(body, [block], "tool_use", fake._usage(body, tool_input)))

    def _error(self, fail: Fail) -> None:
        payload = {"type": "error", "error": {"type": fail.type, "message": fail.message}}
        self._send(fail.status, payload, fail.headers)

    def _send(self, status: int, payload: Json, headers: tuple[tuple[str, str], ...] = ()) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("request-id", f"req_{uuid.uuid4().hex[:24]}")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()


def _refusal(fake: FakeAnthropic, request: RecordedRequest) -> Fail | None:
    """The checks the real API makes before any model runs."""
    headers, body = request.headers, request.body
    if request.path.split("?")[0] != "/v1/messages":
        return Fail(404, "not_found_error", f"Not found: {request.path}")
    if fake.api_key is not None and credential(headers) != fake.api_key:
        said = "invalid x-api-key" if headers.get("x-api-key") else "invalid authentication credentials"
        return Fail(401, "authentication_error", said)
    if not headers.get("anthropic-version"):
        return Fail(400, "invalid_request_error", "anthropic-version: header is required")
    if not isinstance(body, dict) or not {"model", "max_tokens", "messages"} <= body.keys():
        return Fail(400, "invalid_request_error", "model, max_tokens and messages are required")
    return None


def _message(body: Json, content: list[Json], stop_reason: str, usage: Json) -> Json:
    return {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": body.get("model", "claude-fake"),
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage,
    }


@contextmanager
def serving(responder: Responder, key: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAnthropic]:
    """The fake on loopback, with the SDK pointed at it by the environment a user would set: a test's fixture."""
    with FakeAnthropic(responder, api_key=key) as server:
        monkeypatch.setenv("ANTHROPIC_API_KEY", key)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
        yield server


def translation_requests(fake: FakeAnthropic) -> list[Json]:
    """The requests that asked for a narration line's translation (their forced tool returns `text`)."""
    return [r.body for r in fake.requests if "text" in r.body["tools"][0]["input_schema"]["properties"]]
