"""What every loopback fake shares: a threaded HTTP server on 127.0.0.1, JSON replies as the APIs send them,
and faults injected at a rate (`server.faults = Faults(rate=0.2)`), before the fake does any work."""

from __future__ import annotations

import hashlib
import io
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Route = Callable[[BaseHTTPRequestHandler], None]
FAULT_KINDS = ("429", "503", "drop", "slow")


@dataclass(frozen=True)
class Refuse:
    """A create answered with an error status and nothing made (e.g. 429 with Retry-After)."""

    status: int = 429
    retry_after: str | None = "0"


@dataclass(frozen=True)
class FailAfterCreating:
    """The job is made (and billed), then the answer is a 500: the client cannot know."""


@dataclass(frozen=True)
class DropAfterCreating:
    """The job is made, then the connection closes with no answer."""


@dataclass
class Faults:
    """Transient faults on a share of requests, chosen by the request's content, not by arrival order: which
    request fails is the same in every run however the client's requests interleave. A request is never
    failed twice in a row, so every fault clears on the client's next try: what is tested is that the
    client retries safely (nothing made or paid twice), not how it gives up.

    Each fault happens before the fake does any work: 429 with Retry-After (nothing made), 503 and a
    dropped connection (nothing made, but the client can't know it), a slow answer (made, late)."""

    rate: float
    seed: int = 0
    injected: Counter[str] = field(default_factory=Counter)
    log: list[tuple[str, str]] = field(default_factory=list)   # (request shape, fault) for each one injected
    _attempts: Counter[str] = field(default_factory=Counter)
    _last_failed: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def pick(self, method: str, path: str, body: bytes) -> str | None:
        # ids in paths differ from run to run; the request's shape and content do not
        shape = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}|[0-9a-f]{16,}|\d{6,}", "{id}", path)
        key = f"{method} {shape} {hashlib.sha256(body).hexdigest()}"
        with self._lock:
            self._attempts[key] += 1
            if key in self._last_failed:
                self._last_failed.discard(key)
                return None
            draw = hashlib.sha256(f"{self.seed} {key} {self._attempts[key]}".encode()).digest()
            if int.from_bytes(draw[:8], "big") / 2**64 >= self.rate:
                return None
            kind = FAULT_KINDS[draw[8] % len(FAULT_KINDS)]
            self._last_failed.add(key)
            self.injected[kind] += 1
            self.log.append((f"{method} {shape}", kind))
            return kind


def injected_fault(h: BaseHTTPRequestHandler) -> bool:
    """Answer with the server's fault for this request, if it draws one; True if the request is answered.
    The body is read here and put back, so the fake's own route reads it as usual."""
    faults: Faults | None = getattr(h.server, "faults", None)
    if faults is None:
        return False
    length = h.headers.get("content-length")
    if h.command == "POST" and length is None:
        return False   # a streamed body: leave it alone
    body = h.rfile.read(int(length or 0))
    h.rfile = io.BytesIO(body)
    kind = faults.pick(h.command, h.path, body)
    if kind == "429":
        send_json(h, 429, {"error": {"message": "injected: rate limited", "status": "RESOURCE_EXHAUSTED"}},
                  {"Retry-After": "0"})
    elif kind == "503":
        send_json(h, 503, {"error": {"message": "injected: unavailable", "status": "UNAVAILABLE"}})
    elif kind == "drop":
        h.close_connection = True   # no answer at all: the client sees the connection end
    elif kind == "slow":
        time.sleep(0.3)
        return False
    return kind is not None


def serve(on_get: Route | None = None, on_post: Route | None = None) -> ThreadingHTTPServer:
    """A server on a free loopback port, answering in a thread of its own until `shutdown()`."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return None

        def do_GET(self) -> None:  # the stdlib's naming
            if not injected_fault(self):
                (on_get or _not_found)(self)

        def do_POST(self) -> None:
            if not injected_fault(self):
                (on_post or _not_found)(self)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.faults = None   # type: ignore[attr-defined]  # a test sets Faults(rate) to inject them
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def send_json(h: BaseHTTPRequestHandler, status: int, body: dict[str, Any],
              headers: dict[str, str] | None = None) -> None:
    data = json.dumps(body).encode()
    h.send_response(status)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(data)))
    for name, value in (headers or {}).items():
        h.send_header(name, value)
    h.end_headers()
    h.wfile.write(data)


def _not_found(h: BaseHTTPRequestHandler) -> None:
    send_json(h, 404, {"error": "not found"})


def send_bytes(h: BaseHTTPRequestHandler, data: bytes, content_type: str, *, cut: bool = False) -> None:
    """A 200 with a body, its full length declared; `cut` sends half and drops the connection, as a download
    cut off mid-way does."""
    h.send_response(200)
    h.send_header("Content-Type", content_type)
    h.send_header("Content-Length", str(len(data)))
    h.end_headers()
    h.wfile.write(data[: len(data) // 2] if cut else data)
    if cut:
        h.close_connection = True
