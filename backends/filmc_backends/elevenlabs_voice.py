"""ElevenLabs text-to-speech with timestamps: the narration in the film's language, its words timed for subtitles.

Facts this adapter rests on (elevenlabs 2.78, 2026-12): `text_to_speech.convert_with_timestamps(voice_id,
text, model_id, output_format, voice_settings)` answers base64 audio and a per-character alignment.
`eleven_multilingual_v2` takes SSML `<break>`, `eleven_v3` takes audio tags, so markup is per model. The
SDK reads no base-URL variable and reads its key only at import, so filmc reads `ELEVENLABS_API_KEY`
and `ELEVENLABS_BASE_URL` itself and passes both. Its retries are off for the paid call.

A line is one paid request with no job to poll: the answer is kept under the key's scratch folder the
moment it arrives, so a crash or a failed verification afterwards never pays for the line again.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
import wave
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from filmc.backend.protocol import (
    BackendConfig,
    BackendError,
    Capabilities,
    Price,
    RemoteState,
    RenderContext,
    Setup,
    VoiceRequest,
    VoiceResult,
    WordTiming,
)
from filmc.backend.remote import CreateError, Progress, classify_create_failure, run_remote
from filmc.files import write_text_atomic
from filmc_backends.elevenlabs_common import KEY_VARIABLE, kept_answer, make_client

if TYPE_CHECKING:
    from elevenlabs.client import AsyncElevenLabs

SAMPLE_RATE = 44100
MARKUP: dict[str, Literal["ssml-break", "audio-tags"]] = {"eleven_multilingual_v2": "ssml-break",
                                                          "eleven_v3": "audio-tags"}
DEFAULT_MODEL = "eleven_multilingual_v2"
USD_PER_1K_CHARS = Decimal("0.18")   # list price (2026-10), an estimate: ElevenLabs reports no charge per call


def capabilities_of(model: str) -> Capabilities:
    return Capabilities(layer="voice", markup=MARKUP[model], max_prompt_chars=10000, env=(KEY_VARIABLE,),
                        remote=True, price=Price(per_1k_chars=USD_PER_1K_CHARS), models=tuple(MARKUP),
                        default_model=DEFAULT_MODEL)


class ElevenLabsVoice:
    """`voice = { backend = "elevenlabs" }`, with `voices = { narratore = "<voice id>" }` in the profile."""

    name = "elevenlabs"
    version = "2"   # 2: speaks (1 could only plan)
    capabilities = capabilities_of(DEFAULT_MODEL)

    def __init__(self, config: BackendConfig, setup: Setup) -> None:
        self.model = config.model or DEFAULT_MODEL
        if self.model not in MARKUP:
            raise ValueError(f"elevenlabs model {self.model!r} is not one filmc knows ({', '.join(MARKUP)})")
        self.capabilities = capabilities_of(self.model)
        self.base_url = config.base_url
        self._client: AsyncElevenLabs | None = None   # built on first use: compile never needs the key

    def client(self) -> AsyncElevenLabs:
        if self._client is None:
            self._client = make_client(timeout=120.0, base_url=self.base_url)
        return self._client

    async def render(self, request: VoiceRequest, out: Path, ctx: RenderContext) -> VoiceResult:
        if ctx.scratch is None:
            raise BackendError("the elevenlabs backend needs the executor's scratch folder; it was not given one")
        line = SpokenLine(self, request, ctx.scratch)
        await run_remote(line, out, ctx)
        return line.result


class SpokenLine:
    """One line as a remote job whose answer arrives with the create: kept at once, 'polled' from disk."""

    provider = "elevenlabs"

    def __init__(self, backend: ElevenLabsVoice, request: VoiceRequest, scratch: Path) -> None:
        self.backend, self.request, self.scratch = backend, request, scratch
        self.estimated_usd = USD_PER_1K_CHARS * Decimal(len(request.markup)) / 1000
        self.result = VoiceResult(duration=0.0)

    async def create(self) -> RemoteState:
        from elevenlabs import VoiceSettings

        key = os.environ.get(KEY_VARIABLE)
        try:
            answer = await self.backend.client().text_to_speech.convert_with_timestamps(
                self.request.voice, text=self.request.markup, model_id=self.backend.model,
                output_format=f"pcm_{SAMPLE_RATE}", voice_settings=VoiceSettings(speed=_speed(self.request.pace)),
                request_options={"max_retries": 0})
        except BackendError:
            raise
        except Exception as err:
            failure = classify_create_failure(err, secret=key)
            if getattr(err, "status_code", None) in (400, 404) and failure.outcome == "fatal":
                raise CreateError(f"{failure} (is `{self.request.voice}` an ElevenLabs voice id? map the film's "
                                  "voice to one in filmc.toml: voices = { name = \"<voice id>\" })",
                                  outcome="fatal") from None
            raise failure from None
        operation = uuid.uuid4().hex
        kept = {"audio_base64": answer.audio_base_64,
                "alignment": answer.alignment.model_dump() if answer.alignment else None}
        write_text_atomic(self.scratch / f"{operation}.json", json.dumps(kept))   # paid for: kept before anything
        return RemoteState(provider=self.provider, operation=operation)

    async def poll(self, state: RemoteState) -> Progress:
        return kept_answer(self.scratch / f"{state.operation}.json", "answer")

    async def download(self, state: RemoteState, done: Progress, out: Path) -> None:
        kept: dict[str, Any] = json.loads(Path(done.output_uri or "").read_text("utf-8"))
        pcm = base64.b64decode(kept["audio_base64"])
        with wave.open(str(out), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(SAMPLE_RATE)
            wav.writeframes(pcm)
        alignment = kept.get("alignment") or {}
        words = words_of(alignment.get("characters", []), alignment.get("character_start_times_seconds", []),
                         alignment.get("character_end_times_seconds", []))
        self.result = VoiceResult(duration=len(pcm) / 2 / SAMPLE_RATE, words=tuple(words))

    async def find(self) -> RemoteState | None:
        return None


def words_of(chars: list[str], starts: list[float], ends: list[float]) -> list[WordTiming]:
    """Characters with times -> words with times: a word runs from its first character's start to its last's end.
    Markup (SSML tags, audio tags) is spoken as silence and is not a word."""
    words: list[WordTiming] = []
    current, first, last = "", 0.0, 0.0
    depth = 0   # inside <...> or [...]
    for char, start, end in zip(chars, starts, ends, strict=False):
        if char in "<[":
            depth += 1
        skipped = depth > 0 or char.isspace()
        if char in ">]":
            depth = max(0, depth - 1)
        if skipped:
            if current:
                words.append(WordTiming(word=current, start=round(first, 4), end=round(last, 4)))
                current = ""
            continue
        if not current:
            first = start
        current, last = current + char, end
    if current:
        words.append(WordTiming(word=current, start=round(first, 4), end=round(last, 4)))
    return words


def _speed(pace: float) -> float:
    """The film's pace as ElevenLabs' speed, which it accepts from 0.7 to 1.2."""
    return round(min(1.2, max(0.7, pace)), 2)

