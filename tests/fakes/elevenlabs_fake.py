"""A loopback fake of ElevenLabs' text-to-speech-with-timestamps, so the real elevenlabs SDK is tested offline.

POST /v1/text-to-speech/{voice_id}/with-timestamps?output_format=pcm_44100 answers base64 PCM (a tone,
60 ms a character, 300 ms for each SSML break) and a per-character alignment, as the API does. Faults:
a 429 with Retry-After, a 500 after the line was made (and billed), any other 4xx refused before billing,
an unknown voice (404); by request order (`script`) or for the first request whose text holds a phrase
(`text_faults`, as lines are spoken concurrently), and audio cut short of its alignment (`short_audio`).

What it makes (and bills) goes into the account's history, as ElevenLabs keeps it: GET /v1/history lists
items (voice, model, text, settings, date, alignment), newest first, filtered by `voice_id` and
`date_after_unix`; GET /v1/history/{id}/audio serves the audio (as WAV here; the service sends MP3 unless
asked otherwise, and filmc decodes either). `history_enabled = False` is an account with history off.
"""

from __future__ import annotations

import base64
import json
import math
import re
import struct
import threading
import time
import wave
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from io import BytesIO
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlparse

import pytest

from tests.fakes.loopback import send_bytes, send_json, serve

RATE = 44100
PER_CHAR = 0.06
T = TypeVar("T", int, float)


@dataclass
class FakeElevenLabs:
    api_key: str
    voices: set[str] = field(default_factory=lambda: {"voice-it-1"})
    script: deque[int] = field(default_factory=deque)   # statuses for the next requests: 429, or 500 (after billing)
    billed: list[dict[str, Any]] = field(default_factory=list)
    scores: list[dict[str, Any]] = field(default_factory=list)   # every composed (billed) track's request
    score_offset: float = 0.0   # seconds the composed track misses its plan by
    score_channels: int = 1     # 2: the track streams as interleaved stereo
    requests: int = 0
    spoken: list[dict[str, Any]] = field(default_factory=list)   # every speech request's body, billed or not
    text_faults: list[tuple[str, int]] = field(default_factory=list)   # (phrase, status): once, first match
    short_audio: list[tuple[str, float]] = field(default_factory=list)   # (phrase, seconds cut): once
    history: list[dict[str, Any]] = field(default_factory=list)   # what was made, newest last
    history_enabled: bool = True
    history_reads: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.server = serve(on_get=self.read_history, on_post=self.handle)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeElevenLabs:
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        url = urlparse(h.path)
        body = json.loads(h.rfile.read(int(h.headers.get("Content-Length", 0))) or b"{}")
        with self._lock:
            self.requests += 1
            fault = self.script.popleft() if self.script else None
        match = re.fullmatch(r"/v1/text-to-speech/([^/]+)/with-timestamps", url.path)
        if h.headers.get("xi-api-key") != self.api_key:
            return send_json(h, 401, {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}})
        if url.path == "/v1/music":
            return self.compose(h, url.query, body, fault)
        if match is None or match.group(1) not in self.voices:
            return send_json(h, 404, {"detail": {"status": "voice_not_found", "message": "No voice with that id."}})
        text = str(body["text"])
        with self._lock:
            self.spoken.append(body)
            fault = _take(self.text_faults, text) or fault
            cut = _take(self.short_audio, text) or 0.0
        if fault == 429:
            return send_json(h, 429, {"detail": {"status": "too_many_concurrent_requests"}}, {"Retry-After": "0"})
        if fault is not None and 400 <= fault < 500:
            return send_json(h, fault, {"detail": {"status": "invalid_request", "message": "Refused."}})
        assert parse_qs(url.query).get("output_format") == ["pcm_44100"]
        answer = speak(text)
        if cut:
            audio = base64.b64decode(answer["audio_base64"])
            answer["audio_base64"] = base64.b64encode(audio[: max(0, len(audio) - 2 * int(cut * RATE))]).decode()
        with self._lock:
            self.billed.append(body)
            if self.history_enabled:
                self.history.append({
                    "history_item_id": f"hist-{len(self.history) + 1}", "request_id": f"req-{len(self.history) + 1}",
                    "voice_id": match.group(1), "model_id": body.get("model_id"), "text": text,
                    "date_unix": int(time.time()), "character_count_change_from": 0,
                    "character_count_change_to": len(text), "content_type": "audio/wav", "state": "created",
                    "settings": body.get("voice_settings") or {}, "source": "TTS",
                    "alignments": {"alignment": answer["alignment"],
                                   "normalized_alignment": answer["normalized_alignment"]},
                    "_audio": base64.b64decode(answer["audio_base64"])})
        if fault == 500:
            return send_json(h, 500, {"detail": {"status": "internal_error"}})
        return send_json(h, 200, answer)

    def read_history(self, h: BaseHTTPRequestHandler) -> None:
        url = urlparse(h.path)
        if h.headers.get("xi-api-key") != self.api_key:
            return send_json(h, 401, {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}})
        with self._lock:
            self.history_reads += 1
            items = list(self.history)
        audio = re.fullmatch(r"/v1/history/([^/]+)/audio", url.path)
        if audio is not None:
            item = next((i for i in items if i["history_item_id"] == audio.group(1)), None)
            if item is None:
                return send_json(h, 404, {"detail": {"status": "not_found"}})
            return send_bytes(h, _wav(item["_audio"]), "audio/wav")
        if url.path != "/v1/history":
            return send_json(h, 404, {"detail": {"status": "not_found"}})
        query = parse_qs(url.query)
        voice, since = query.get("voice_id", [None])[0], int(query.get("date_after_unix", ["0"])[0])
        chosen = [{k: v for k, v in i.items() if not k.startswith("_")} for i in reversed(items)
                  if (voice is None or i["voice_id"] == voice) and i["date_unix"] >= since]
        page = int(query.get("page_size", ["100"])[0])
        return send_json(h, 200, {"history": chosen[:page], "has_more": len(chosen) > page,
                                  "last_history_item_id": chosen[:page][-1]["history_item_id"] if chosen else None})


    def compose(self, h: BaseHTTPRequestHandler, query: str, body: dict[str, Any], fault: int | None) -> None:
        """Streams 16-bit PCM (mono unless `score_channels`) as long as the plan's sections: a slow sine sweep,
        no silence to hide in."""
        if fault == 429:
            return send_json(h, 429, {"detail": {"status": "too_many_concurrent_requests"}}, {"Retry-After": "0"})
        assert parse_qs(query).get("output_format") == ["pcm_48000"] and body.get("respect_sections_durations")
        ms = sum(int(s["duration_ms"]) for s in body["composition_plan"]["sections"])
        frames = int((ms / 1000 + self.score_offset) * 48000)
        pcm = b"".join(struct.pack("<h", int(6000 * math.sin(2 * math.pi * (110 + i / 4800) * i / 48000)))
                       * self.score_channels for i in range(frames))
        with self._lock:
            self.scores.append(body)
        if fault == 500:
            return send_json(h, 500, {"detail": {"status": "internal_error"}})
        return send_bytes(h, pcm, "application/octet-stream")


def _wav(pcm: bytes) -> bytes:
    out = BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm)
    return out.getvalue()


def _take(faults: list[tuple[str, T]], text: str) -> T | None:
    """The first fault whose phrase the text holds, used up."""
    for i, (phrase, value) in enumerate(faults):
        if phrase in text:
            del faults[i]
            return value
    return None


def speak(text: str) -> dict[str, Any]:
    """A tone per spoken character and silence per break, with the alignment the API would give."""
    chars, starts, ends, samples = [], [], [], bytearray()
    t = 0.0
    for piece in re.split(r'(<break time="[\d.]+s"\s*/>)', text):
        brk = re.fullmatch(r'<break time="([\d.]+)s"\s*/>', piece)
        length = [float(brk.group(1))] if brk else [PER_CHAR] * len(piece)
        for char, seconds in zip([piece] if brk else list(piece), length, strict=True):
            for c in (char if brk else [char]):
                chars.append(c)
                starts.append(round(t, 4))
                ends.append(round(t + (seconds if not brk else 0.0), 4))
            n = int(seconds * RATE)
            tone = 0.0 if brk or char.isspace() else 0.3
            samples += b"".join(struct.pack("<h", int(32767 * tone * math.sin(2 * math.pi * 220 * i / RATE)))
                                for i in range(n))
            t += seconds
    alignment = {"characters": chars, "character_start_times_seconds": starts, "character_end_times_seconds": ends}
    return {"audio_base64": base64.b64encode(bytes(samples)).decode(), "alignment": alignment,
            "normalized_alignment": alignment}


@contextmanager
def serving(key: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeElevenLabs]:
    """The fake on loopback, with the SDK pointed at it by the environment a user would set: a test's fixture."""
    with FakeElevenLabs(api_key=key) as server:
        monkeypatch.setenv("ELEVENLABS_API_KEY", key)
        monkeypatch.setenv("ELEVENLABS_BASE_URL", server.base_url)
        yield server
