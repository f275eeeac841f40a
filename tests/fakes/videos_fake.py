"""A loopback fake of a `/v1/videos`-compatible provider, so the real openai SDK is tested offline.

POST /v1/videos (multipart, as the SDK sends it), GET /v1/videos/{id}, GET /v1/videos/{id}/content and
GET /v1/videos (the list an ambiguous create is reconciled through). Clips are real H.264 made by ffmpeg.
Faults: a 500 after the video was made (billed), a video that fails.
"""

from __future__ import annotations

import email.parser
import email.policy
import subprocess
import tempfile
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import TracebackType
from typing import Any

from filmc.assemble.media import ffmpeg_exe
from tests.fakes.loopback import send_bytes, send_json, serve


@dataclass
class FakeVideos:
    api_key: str
    polls_to_finish: int = 2
    script: deque[int] = field(default_factory=deque)      # statuses for the next creates: 500 after making it
    fail_prompts: set[str] = field(default_factory=set)
    videos: dict[str, dict[str, Any]] = field(default_factory=dict)
    creates: list[dict[str, str]] = field(default_factory=list)   # every video made (billed)
    listed: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._media = Path(tempfile.mkdtemp(prefix="videos-fake-"))
        self.server = serve(on_get=self.get, on_post=self.create)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> FakeVideos:
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        self.server.shutdown()
        self.server.server_close()

    def create(self, h: BaseHTTPRequestHandler) -> None:
        raw = h.rfile.read(int(h.headers.get("Content-Length", 0)))
        if h.headers.get("Authorization") != f"Bearer {self.api_key}":
            return send_json(h, 401, {"error": {"message": "bad key", "type": "invalid_request_error"}})
        message = email.parser.BytesParser(policy=email.policy.default).parsebytes(
            f"Content-Type: {h.headers['Content-Type']}\r\n\r\n".encode() + raw)
        form = {str(part.get_param("name", header="content-disposition")): str(part.get_content()).strip()
                for part in message.iter_parts()}
        video = {"id": f"video_{uuid.uuid4().hex[:12]}", "object": "video", "created_at": int(time.time()),
                 "model": form.get("model", ""), "prompt": form["prompt"], "seconds": form.get("seconds", "4"),
                 "size": form.get("size", "1280x720"), "status": "queued", "progress": 0, "polls": 0}
        with self._lock:
            self.videos[video["id"]] = video
            self.creates.append(form)
            fault = self.script.popleft() if self.script else None
        if fault == 500:
            return send_json(h, 500, {"error": {"message": "upstream error", "type": "server_error"}})
        return send_json(h, 200, public(video))

    def get(self, h: BaseHTTPRequestHandler) -> None:
        if h.headers.get("Authorization") != f"Bearer {self.api_key}":
            return send_json(h, 401, {"error": {"message": "bad key", "type": "invalid_request_error"}})
        path = h.path.split("?")[0]
        if path == "/v1/videos":
            self.listed += 1
            newest = sorted(self.videos.values(), key=lambda v: -v["created_at"])
            return send_json(h, 200, {"object": "list", "data": [public(v) for v in newest], "has_more": False})
        parts = path.removeprefix("/v1/videos/").split("/")
        video = self.videos.get(parts[0])
        if video is None:
            return send_json(h, 404, {"error": {"message": "no such video", "type": "invalid_request_error"}})
        if len(parts) == 2 and parts[1] == "content":
            return send_bytes(h, self.clip(video["size"], int(video["seconds"])).read_bytes(), "video/mp4")
        video["polls"] += 1
        if video["polls"] >= self.polls_to_finish:
            failed = any(p in video["prompt"] for p in self.fail_prompts)
            video.update(status="failed" if failed else "completed", progress=100,
                         error={"code": "moderation", "message": "blocked by moderation"} if failed else None)
        else:
            video.update(status="in_progress", progress=50)
        return send_json(h, 200, public(video))

    def clip(self, size: str, seconds: int) -> Path:
        path = self._media / f"{size}-{seconds}.mp4"
        with self._lock:
            if not path.exists():
                subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
                                f"testsrc2=size={size}:rate=24:duration={seconds}", "-c:v", "libx264", "-preset",
                                "ultrafast", "-crf", "40", "-pix_fmt", "yuv420p", str(path)], check=True)
        return path


def public(video: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in video.items() if k != "polls"}
