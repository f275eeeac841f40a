"""A loopback fake of Runway's task API, so the real runwayml SDK is tested with no network.

It speaks the wire format the SDK sends and reads (POST /v1/text_to_video, GET /v1/tasks/{id}, the task
JSON with its status, estimated cost, final cost and output URLs), serves real H.264 clips of the
requested size and length made by ffmpeg, and injects faults: a create refused with 429 + Retry-After,
a 500 after which the task may exist, a dropped connection, a task that fails, a download cut short.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import TracebackType
from typing import Any

from filmc.assemble.media import ffmpeg_exe
from tests.fakes.loopback import DropAfterCreating, FailAfterCreating, Refuse, send_bytes, send_json, serve

Json = dict[str, Any]





@dataclass
class Task:
    id: str
    body: Json
    polls: int = 0
    fail: str | None = None
    created: float = field(default_factory=time.monotonic)


@dataclass
class FakeRunway:
    api_key: str
    polls_to_finish: int = 2
    seconds_to_finish: float | None = None   # if set, a task finishes this long after its create instead
    creates: list[Json] = field(default_factory=list)          # every create that made a task (billed)
    create_script: deque[Any] = field(default_factory=deque)   # behaviours for the next creates, in order
    fail_prompts: set[str] = field(default_factory=set)        # tasks whose prompt contains one of these fail
    cut_downloads: int = 0                                     # the next N downloads stop halfway
    hold: threading.Event = field(default_factory=threading.Event)  # while clear, tasks stay RUNNING
    tasks: dict[str, Task] = field(default_factory=dict)
    requests: Counter[str] = field(default_factory=Counter)
    seen_headers: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.hold.set()
        self._media = Path(tempfile.mkdtemp(prefix="runway-fake-"))
        self._lock = threading.Lock()
        self.server = serve(on_get=self.handle_get, on_post=self.handle_create)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeRunway:
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        self.hold.set()
        self.server.shutdown()
        self.server.server_close()

    def creates_for(self, words: str) -> int:
        return sum(words in c.get("promptText", "") for c in self.creates)

    # ---------------------------------------------------------------- wire

    def handle_create(self, h: BaseHTTPRequestHandler) -> None:
        body = json.loads(h.rfile.read(int(h.headers.get("Content-Length", 0))) or b"{}")
        self.seen_headers.append(dict(h.headers))
        self.requests["create"] += 1
        if h.path != "/v1/text_to_video" or h.headers.get("Authorization") != f"Bearer {self.api_key}":
            return send_json(h, 401 if h.path == "/v1/text_to_video" else 404, {"error": "Unauthorized"})
        with self._lock:
            behaviour = self.create_script.popleft() if self.create_script else None
        if isinstance(behaviour, Refuse):
            headers = {"Retry-After": behaviour.retry_after} if behaviour.retry_after is not None else {}
            return send_json(h, behaviour.status, {"error": "Too many requests"}, headers)
        task = self.new_task(body)
        if isinstance(behaviour, FailAfterCreating):
            return send_json(h, 500, {"error": "Internal server error"})
        if isinstance(behaviour, DropAfterCreating):
            h.close_connection = True
            h.wfile.flush()
            h.connection.shutdown(2)
            return None
        return send_json(h, 200, {"id": task.id, "estimatedCost": {"credits": 12 * int(body.get("duration", 5))}})

    def new_task(self, body: Json) -> Task:
        fail = next((p for p in self.fail_prompts if p in body.get("promptText", "")), None)
        task = Task(id=str(uuid.uuid4()), body=body, fail=fail and "The generation failed a content check.")
        with self._lock:
            self.tasks[task.id] = task
            self.creates.append(body)
        return task

    def handle_get(self, h: BaseHTTPRequestHandler) -> None:
        if h.path.startswith("/media/"):
            return self.serve_media(h, h.path.removeprefix("/media/").removesuffix(".mp4"))
        self.requests["poll"] += 1
        task = self.tasks.get(h.path.removeprefix("/v1/tasks/"))
        if task is None or h.headers.get("Authorization") != f"Bearer {self.api_key}":
            return send_json(h, 404, {"error": "Task not found"})
        task.polls += 1
        base = {"id": task.id, "createdAt": "2026-12-02T10:00:00.000Z"}
        seconds = int(task.body.get("duration", 5))
        if task.fail and task.polls >= self.polls_to_finish:
            return send_json(h, 200, {**base, "status": "FAILED", "failure": task.fail, "failureCode": "SAFETY",
                                  "cost": {"credits": 0}})
        running = (time.monotonic() - task.created < self.seconds_to_finish if self.seconds_to_finish is not None
                   else task.polls < self.polls_to_finish)
        if running or not self.hold.is_set():
            status = "PENDING" if task.polls == 1 else "RUNNING"
            extra = {"progress": 0.5} if status == "RUNNING" else {}
            return send_json(h, 200, {**base, "status": status, "estimatedCost": {"credits": 12 * seconds}, **extra})
        return send_json(h, 200, {**base, "status": "SUCCEEDED", "output": [f"{self.base_url}/media/{task.id}.mp4"],
                              "cost": {"credits": 12 * seconds - 1}})

    def serve_media(self, h: BaseHTTPRequestHandler, task_id: str) -> None:
        task = self.tasks.get(task_id)
        if task is None:
            return send_json(h, 404, {"error": "expired"})
        data = self.clip(str(task.body.get("ratio", "1280:720")), int(task.body.get("duration", 5))).read_bytes()
        with self._lock:
            cut = self.cut_downloads > 0
            self.cut_downloads -= int(cut)
        send_bytes(h, data, "video/mp4", cut=cut)

    def clip(self, ratio: str, seconds: int) -> Path:
        width, height = ratio.split(":")
        path = self._media / f"{width}x{height}-{seconds}.mp4"
        with self._lock:
            if not path.exists():
                subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
                                f"testsrc2=size={width}x{height}:rate=24:duration={seconds}", "-c:v", "libx264",
                                "-preset", "ultrafast", "-crf", "40", "-pix_fmt", "yuv420p", str(path)], check=True)
        return path
