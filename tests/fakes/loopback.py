"""What every loopback fake shares: a threaded HTTP server on 127.0.0.1 and JSON replies as the APIs send them."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Route = Callable[[BaseHTTPRequestHandler], None]


def serve(on_get: Route | None = None, on_post: Route | None = None) -> ThreadingHTTPServer:
    """A server on a free loopback port, answering in a thread of its own until `shutdown()`."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return None

        def do_GET(self) -> None:  # the stdlib's naming
            (on_get or _not_found)(self)

        def do_POST(self) -> None:
            (on_post or _not_found)(self)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
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
