"""A loopback fake of the Gemini API's Interactions and Files endpoints, so the real google-genai SDK is tested
with no network.

It speaks the wire format google-genai 3.6 sends and reads: POST /{version}/interactions (snake_case JSON:
model, input, response_modalities, response_format, background), GET /{version}/interactions/{id}, GET
/{version}/files/{id} (camelCase File JSON) and GET /{version}/files/{id}:download?alt=media, each
authenticated by the `x-goog-api-key` header. A finished interaction carries its clip as a `video` content
block in a `model_output` step: base64 `data` or a Files API `uri`, as the request's `delivery` asked. Clips
are real H.264 (with an AAC soundtrack, as Omni makes) of the requested length and resolution, made by
ffmpeg. Faults: a create refused with 429 + Retry-After, a 500 or a dropped connection after the
interaction was made (billed), an interaction that fails, base64 where a uri was asked for, a file that
stays PROCESSING for a few polls, a file that has expired (404), a download cut short.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import tempfile
import threading
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
MODELS = ("gemini-omni-1.2-flash", "gemini-omni-1.1-flash", "gemini-omni-flash-preview")
SIZES = {"360p": (640, 360), "720p": (1280, 720), "1080p": (1920, 1080)}
STAMP = "2026-12-02T10:00:00Z"





@dataclass
class Interaction:
    id: str
    body: Json
    polls: int = 0
    fail: str | None = None
    file_id: str | None = None


@dataclass
class FakeGemini:
    api_key: str
    polls_to_finish: int = 2
    creates: list[Json] = field(default_factory=list)          # every create that made an interaction (billed)
    create_script: deque[Any] = field(default_factory=deque)   # behaviours for the next creates, in order
    fail_prompts: set[str] = field(default_factory=set)        # interactions whose prompt has one of these fail
    inline_anyway: bool = False        # answer base64 even where a uri was asked for (Google says it may)
    processing_polls: int = 0          # each file answers PROCESSING this many times before ACTIVE
    expired_files: bool = False        # every file is gone (404) by the time it is asked for
    cut_downloads: int = 0             # the next N file downloads stop halfway
    hold: threading.Event = field(default_factory=threading.Event)   # while clear, interactions stay in_progress
    interactions: dict[str, Interaction] = field(default_factory=dict)
    file_gets: Counter[str] = field(default_factory=Counter)
    requests: Counter[str] = field(default_factory=Counter)
    paths: list[str] = field(default_factory=list)
    seen_headers: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.hold.set()
        self._media = Path(tempfile.mkdtemp(prefix="gemini-fake-"))
        self._lock = threading.Lock()
        self.server = serve(on_get=self.handle_get, on_post=self.handle_post)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeGemini:
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        self.hold.set()
        self.server.shutdown()
        self.server.server_close()

    def creates_for(self, words: str) -> int:
        return sum(words in prompt_of(c) for c in self.creates)

    # ---------------------------------------------------------------- wire

    def authorised(self, h: BaseHTTPRequestHandler) -> bool:
        """As Google answers: no key is 401 UNAUTHENTICATED, a wrong one 403 PERMISSION_DENIED (key invalid)."""
        self.seen_headers.append(dict(h.headers))
        key = h.headers.get("x-goog-api-key")
        if key == self.api_key:
            return True
        if key is None:
            error(h, 401, "Method doesn't allow unregistered callers. Please use API Key.", "UNAUTHENTICATED")
        else:
            error(h, 403, "API key not valid. Please pass a valid API key.", "PERMISSION_DENIED")
        return False

    def handle_post(self, h: BaseHTTPRequestHandler) -> None:
        raw = h.rfile.read(int(h.headers.get("Content-Length", 0) or 0))
        self.paths.append(f"POST {h.path}")
        if not re.fullmatch(r"/v1(beta)?/interactions", h.path):
            return error(h, 404, f"no route for POST {h.path}", "NOT_FOUND")
        self.requests["create"] += 1
        if not self.authorised(h):
            return None
        body = json.loads(raw or b"{}")
        problem = invalid(body)
        if problem:
            return error(h, 400, problem, "INVALID_ARGUMENT")
        with self._lock:
            behaviour = self.create_script.popleft() if self.create_script else None
        if isinstance(behaviour, Refuse):
            headers = {"Retry-After": behaviour.retry_after} if behaviour.retry_after is not None else {}
            return error(h, behaviour.status, "Resource has been exhausted (e.g. check quota).", "RESOURCE_EXHAUSTED",
                         headers)
        item = self.new_interaction(body)
        if isinstance(behaviour, FailAfterCreating):
            return error(h, 500, "An internal error has occurred.", "INTERNAL")
        if isinstance(behaviour, DropAfterCreating):
            h.close_connection = True
            h.wfile.flush()
            h.connection.shutdown(2)
            return None
        return send_json(h, 200, self.public(item, "in_progress"))

    def new_interaction(self, body: Json) -> Interaction:
        prompt = prompt_of(body)
        fail = next((p for p in self.fail_prompts if p in prompt), None)
        item = Interaction(id=f"v1_{uuid.uuid4().hex}", body=body,
                           fail=fail and "The request was blocked by a safety filter.")
        with self._lock:
            self.interactions[item.id] = item
            self.creates.append(body)
        return item

    def public(self, item: Interaction, status: str, steps: list[Json] | None = None,
               errors: list[Json] | None = None) -> Json:
        answer: Json = {"id": item.id, "object": "interaction", "status": status, "model": item.body.get("model"),
                        "created": STAMP, "updated": STAMP, "response_modalities": ["video"],
                        "response_format": item.body.get("response_format")}
        if steps is not None:
            answer["steps"] = steps
        if errors is not None:
            answer["errors"] = errors
        return answer

    def handle_get(self, h: BaseHTTPRequestHandler) -> None:
        self.paths.append(f"GET {h.path}")
        path = h.path.split("?")[0]
        if match := re.fullmatch(r"/v1(?:beta)?/interactions/([^/]+)", path):
            return self.get_interaction(h, match.group(1))
        if match := re.fullmatch(r"/v1(?:beta)?/files/([a-z0-9-]+):download", path):
            return self.download(h, match.group(1))
        if match := re.fullmatch(r"/v1(?:beta)?/files/([a-z0-9-]+)", path):
            return self.get_file(h, match.group(1))
        return error(h, 404, f"no route for GET {h.path}", "NOT_FOUND")

    def get_interaction(self, h: BaseHTTPRequestHandler, interaction_id: str) -> None:
        self.requests["poll"] += 1
        if not self.authorised(h):
            return None
        item = self.interactions.get(interaction_id)
        if item is None:
            return error(h, 404, f"Interaction {interaction_id} not found.", "NOT_FOUND")
        item.polls += 1
        if item.fail and item.polls >= self.polls_to_finish:
            return send_json(h, 200, self.public(item, "failed", errors=[{"code": "SAFETY", "message": item.fail}]))
        if item.polls < self.polls_to_finish or not self.hold.is_set():
            return send_json(h, 200, self.public(item, "queued" if item.polls == 1 else "in_progress"))
        fmt = item.body["response_format"]
        clip = self.clip(fmt["resolution"], fmt["aspect_ratio"], int(fmt["duration"].removesuffix("s")))
        if fmt.get("delivery") == "uri" and not self.inline_anyway:
            if item.file_id is None:
                item.file_id = uuid.uuid4().hex[:12]
            video = {"type": "video", "mime_type": "video/mp4",
                     "uri": f"{self.base_url}/v1beta/files/{item.file_id}:download?alt=media"}
        else:
            video = {"type": "video", "mime_type": "video/mp4", "data": base64.b64encode(clip.read_bytes()).decode()}
        steps = [{"type": "user_input", "content": content_of(item.body)},
                 {"type": "model_output", "content": [video]}]
        return send_json(h, 200, self.public(item, "completed", steps=steps))

    def file_of(self, file_id: str) -> Interaction | None:
        return next((i for i in self.interactions.values() if i.file_id == file_id), None)

    def get_file(self, h: BaseHTTPRequestHandler, file_id: str) -> None:
        self.requests["file"] += 1
        if not self.authorised(h):
            return None
        item = self.file_of(file_id)
        if item is None or self.expired_files:
            return error(h, 403 if item is None else 404, f"File {file_id} is not found or has expired.",
                         "NOT_FOUND")
        self.file_gets[file_id] += 1
        fmt = item.body["response_format"]
        size = self.clip(fmt["resolution"], fmt["aspect_ratio"], int(fmt["duration"].removesuffix("s"))).stat().st_size
        active = self.file_gets[file_id] > self.processing_polls
        return send_json(h, 200, {
            "name": f"files/{file_id}", "mimeType": "video/mp4", "sizeBytes": str(size),
            "createTime": STAMP, "updateTime": STAMP, "expirationTime": "2026-12-04T10:00:00Z",
            "sha256Hash": "", "uri": f"{self.base_url}/v1beta/files/{file_id}",
            "downloadUri": f"{self.base_url}/v1beta/files/{file_id}:download?alt=media",
            "state": "ACTIVE" if active else "PROCESSING", "source": "GENERATED"})

    def download(self, h: BaseHTTPRequestHandler, file_id: str) -> None:
        self.requests["download"] += 1
        if not self.authorised(h):
            return None
        item = self.file_of(file_id)
        if item is None or self.expired_files or "alt=media" not in h.path:
            return error(h, 404, f"File {file_id} is not found or has expired.", "NOT_FOUND")
        fmt = item.body["response_format"]
        data = self.clip(fmt["resolution"], fmt["aspect_ratio"], int(fmt["duration"].removesuffix("s"))).read_bytes()
        with self._lock:
            cut = self.cut_downloads > 0
            self.cut_downloads -= int(cut)
        send_bytes(h, data, "video/mp4", cut=cut)

    def clip(self, resolution: str, ratio: str, seconds: int) -> Path:
        width, height = SIZES[resolution]
        if ratio == "9:16":
            width, height = height, width
        path = self._media / f"{width}x{height}-{seconds}.mp4"
        with self._lock:
            if not path.exists():
                subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
                                f"testsrc2=size={width}x{height}:rate=24:duration={seconds}", "-f", "lavfi", "-i",
                                f"sine=frequency=440:sample_rate=48000:duration={seconds}", "-c:v", "libx264",
                                "-preset", "ultrafast", "-crf", "40", "-pix_fmt", "yuv420p", "-c:a", "aac",
                                "-shortest", str(path)], check=True)
        return path


def invalid(body: Json) -> str | None:
    """What the service would refuse with a 400: the checks a video interaction's fields must pass."""
    fmt = body.get("response_format")
    if body.get("model") not in MODELS:
        return f"model {body.get('model')!r} is not found for API version v1, or is not supported"
    if not isinstance(fmt, dict) or fmt.get("type") != "video":
        return "response_format must be a video format"
    duration = re.fullmatch(r"(\d+)s", str(fmt.get("duration", "")))
    if duration is None or not 3 <= int(duration.group(1)) <= 15:
        return f"duration {fmt.get('duration')!r} must be whole seconds from 3s to 15s"
    if fmt.get("aspect_ratio") not in ("16:9", "9:16") or fmt.get("resolution") not in SIZES:
        return "aspect_ratio must be 16:9 or 9:16 and resolution 360p, 720p or 1080p"
    if fmt.get("delivery") not in (None, "inline", "uri"):
        return "delivery must be inline or uri"
    if body.get("response_modalities") != ["video"] or body.get("background") is not True:
        return "video needs response_modalities [video] and background true"
    if not prompt_of(body):
        return "input must hold a text prompt"
    return None


def content_of(body: Json) -> list[Json]:
    """The input's content blocks. The SDK sends a prompt as a string, and a list of blocks wrapped in one
    `user_input` step: `[{"type": "user_input", "content": [...]}]`."""
    raw = body.get("input")
    if isinstance(raw, str):
        return [{"type": "text", "text": raw}]
    items = [raw] if isinstance(raw, dict) else list(raw or [])
    blocks: list[Json] = []
    for item in items:
        blocks += item.get("content") or [] if item.get("type") == "user_input" else [item]
    return blocks


def prompt_of(body: Json) -> str:
    return " ".join(str(part.get("text", "")) for part in content_of(body) if part.get("type") == "text")


def images_of(body: Json) -> list[Json]:
    return [part for part in content_of(body) if part.get("type") == "image"]


def error(h: BaseHTTPRequestHandler, status: int, message: str, reason: str,
          headers: dict[str, str] | None = None) -> None:
    """Google's error body: {"error": {"code", "message", "status"}}."""
    send_json(h, status, {"error": {"code": status, "message": message, "status": reason}}, headers)
