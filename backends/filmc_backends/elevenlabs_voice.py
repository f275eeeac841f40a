"""ElevenLabs text-to-speech with timestamps: the narration in the film's language, its words timed for subtitles.

Facts this adapter rests on (elevenlabs 2.78, 2026-12): `text_to_speech.convert_with_timestamps(voice_id,
text, model_id, output_format, voice_settings, previous_text, next_text)` answers base64 audio and a
per-character alignment. `eleven_multilingual_v2` takes SSML `<break>`, `eleven_v3` takes audio tags, so
markup is per model. The SDK reads no base-URL variable and reads its key only at import, so filmc reads
`ELEVENLABS_API_KEY` and `ELEVENLABS_BASE_URL` itself and passes both. Its retries are off for the paid call.

A line longer than `max_chars` is split on sentence ends (never inside markup) into chunks, each its own
paid request with no job to poll. Each chunk's answer is kept under the key's scratch folder, named by its
index and text, the moment it arrives: a failure half-way, a crash or a retry never pays for a kept chunk
again, only for the ones still missing. When every chunk is kept, a manifest names the set; its name is the
job's operation id, journalled by `run_remote`, which then "polls" it from disk. The chunks' PCM is stitched
and their alignments shifted by the audio before them, so the line's words are timed end to end.

A request whose answer is lost after it was sent (a 5xx, a cut connection) may have been made and billed.
ElevenLabs keeps what it made in the account's history, with the text, voice, model, settings and the
alignment: before paying again, `find` looks there for that chunk, made since just before it was sent,
and keeps it as if it had arrived. Only when the history has no such item (or history is off for the
account) is the chunk sent again.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import re
import time
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
from filmc.backend.remote import CreateError, Progress, RemoteGone, classify_create_failure, run_remote
from filmc.files import write_text_atomic
from filmc_backends.elevenlabs_common import KEY_VARIABLE, kept_answer, make_client
from filmc_backends.sentences import split_markup

if TYPE_CHECKING:
    from elevenlabs.client import AsyncElevenLabs

SAMPLE_RATE = 44100
MARKUP: dict[str, Literal["ssml-break", "audio-tags"]] = {"eleven_multilingual_v2": "ssml-break",
                                                          "eleven_v3": "audio-tags"}
# The most characters one request may carry, per model (ElevenLabs' models page: multilingual v2 takes
# 10,000; v3 5,000, 3,000 when it launched: the lower figure, to be safe).
REQUEST_LIMIT = {"eleven_multilingual_v2": 10000, "eleven_v3": 3000}
# A chunk's size when the profile sets no `max_chars`: well inside every limit above (and the free tier's
# 2,500), large enough that a usual narration line of a few sentences stays one request, and small enough
# that a lost answer re-pays little and one generation has little room to drift in voice or pace.
DEFAULT_MAX_CHARS = 800
DEFAULT_MODEL = "eleven_multilingual_v2"
USD_PER_1K_CHARS = Decimal("0.18")   # list price (2026-10), an estimate: ElevenLabs reports no charge per call
# A chunk's audio and its alignment's last end time must agree within this, plus what its trailing markup
# may be silent for: a break's time, or this much per trailing audio tag ([long pause], [sighs], ...).
LENGTH_TOLERANCE = 0.5    # words timed past the audio's end: the audio was cut
TRAILING_TOLERANCE = 2.0  # audio running on past the last word (the service's own trailing silence, unmeasured)
AUDIO_TAG_ALLOWANCE = 3.0


def capabilities_of(model: str) -> Capabilities:
    # No max_prompt_chars: a line of any length is spoken in chunks of at most `max_chars`.
    return Capabilities(layer="voice", markup=MARKUP[model], max_prompt_chars=None, env=(KEY_VARIABLE,),
                        remote=True, price=Price(per_1k_chars=USD_PER_1K_CHARS), models=tuple(MARKUP),
                        default_model=DEFAULT_MODEL, provider="elevenlabs")   # one account with the music


class ElevenLabsVoice:
    """`voice = { backend = "elevenlabs" }`, with `voices = { narratore = "<voice id>" }` in the profile;
    `options = { max_chars = 800 }` sets the chunk size for long lines."""

    name = "elevenlabs"
    version = "2"   # 2: speaks (1 could only plan)
    capabilities = capabilities_of(DEFAULT_MODEL)

    def __init__(self, config: BackendConfig, setup: Setup) -> None:
        self.model = config.model or DEFAULT_MODEL
        if self.model not in MARKUP:
            raise ValueError(f"elevenlabs model {self.model!r} is not one filmc knows ({', '.join(MARKUP)})")
        self.capabilities = capabilities_of(self.model)
        self.max_chars = int(config.options.get("max_chars", DEFAULT_MAX_CHARS))
        if not 0 < self.max_chars <= REQUEST_LIMIT[self.model]:
            raise ValueError(f"elevenlabs max_chars must be from 1 to {REQUEST_LIMIT[self.model]} for "
                             f"{self.model} (its limit per request); it is {self.max_chars}")
        self.base_url = config.base_url
        self._client: AsyncElevenLabs | None = None   # built on first use: compile never needs the key

    def client(self) -> AsyncElevenLabs:
        if self._client is None:
            self._client = make_client(timeout=120.0, base_url=self.base_url)
        return self._client

    async def render(self, request: VoiceRequest, out: Path, ctx: RenderContext) -> VoiceResult:
        if ctx.scratch is None:
            raise BackendError("the elevenlabs backend needs the executor's scratch folder; it was not given one")
        line = SpokenLine(self, request, ctx.scratch, ctx)
        await run_remote(line, out, ctx)
        return line.result


class SpokenLine:
    """One line as a remote job whose answers arrive with the create: each chunk kept at once, the set
    'polled' from disk. `create` pays only for chunks not kept yet, so calling it again (run_remote's retry
    of a lost answer, or the next render after a failure or a crash) resumes where the last one stopped."""

    provider = "elevenlabs"

    def __init__(self, backend: ElevenLabsVoice, request: VoiceRequest, scratch: Path,
                 ctx: RenderContext | None = None) -> None:
        self.backend, self.request, self.scratch, self.ctx = backend, request, scratch, ctx
        self.chunks = split_markup(request.markup, backend.max_chars)
        self.line_usd = _usd(len(request.markup))   # the estimate: the sum of the line's characters
        self.estimated_usd = self.line_usd
        self.result = VoiceResult(duration=0.0)
        self.sending: tuple[int, float] | None = None   # the chunk last sent, and when (time.time())

    def chunk_name(self, index: int) -> str:
        digest = hashlib.sha256(self.chunks[index].encode("utf-8")).hexdigest()[:16]
        return f"chunk-{index:03d}-{digest}.json"

    async def create(self) -> RemoteState:
        names = [self.chunk_name(i) for i in range(len(self.chunks))]
        for index, name in enumerate(names):
            if (self.scratch / name).is_file():
                continue   # paid for by an earlier attempt
            # What run_remote enters in the ledger as possibly billed, should this request's answer be lost:
            self.estimated_usd = _usd(len(self.chunks[index]))
            self.sending = (index, time.time())
            kept = await self.speak(index)
            if len(self.chunks) > 1 and self.ctx is not None and self.ctx.record_cost is not None:
                # in this render's ledger now, even if keeping it or a later chunk fails the line
                self.ctx.record_cost(self.estimated_usd, "estimated",
                                     f"{self.provider}: chunk {index + 1} of {len(self.chunks)} spoken")
            write_text_atomic(self.scratch / name, json.dumps(kept))   # paid for: kept before anything
        # what run_remote enters as estimated once the set is complete: the line, or nothing more if its chunks
        # were entered one by one
        self.estimated_usd = self.line_usd if len(self.chunks) == 1 else Decimal(0)
        return self.all_kept(names)

    def all_kept(self, names: list[str]) -> RemoteState:
        """Every chunk is in the scratch folder: a manifest names the set, and its name is the operation."""
        operation = "chunks-" + hashlib.sha256("\n".join(names).encode("utf-8")).hexdigest()[:32]
        write_text_atomic(self.scratch / f"{operation}.json", json.dumps({"chunks": names}))
        return RemoteState(provider=self.provider, operation=operation)

    async def speak(self, index: int) -> dict[str, Any]:
        """One paid request: the chunk, with its neighbours as context for continuous prosody (not spoken:
        `previous_text`/`next_text`, which the SDK sends beside `text`)."""
        from elevenlabs import VoiceSettings

        key = os.environ.get(KEY_VARIABLE)
        context: dict[str, str] = {}
        if index > 0:
            context["previous_text"] = self.chunks[index - 1]
        if index + 1 < len(self.chunks):
            context["next_text"] = self.chunks[index + 1]
        try:
            answer = await self.backend.client().text_to_speech.convert_with_timestamps(
                self.request.voice, text=self.chunks[index], model_id=self.backend.model,
                output_format=f"pcm_{SAMPLE_RATE}", voice_settings=VoiceSettings(speed=_speed(self.request.pace)),
                request_options={"max_retries": 0}, **context)
        except BackendError:
            raise
        except Exception as err:
            failure = classify_create_failure(err, secret=key)
            where = f" (chunk {index + 1} of {len(self.chunks)})" if len(self.chunks) > 1 else ""
            if getattr(err, "status_code", None) in (400, 404) and failure.outcome == "fatal":
                raise CreateError(f"{failure}{where} (is `{self.request.voice}` an ElevenLabs voice id? map the "
                                  "film's voice to one in filmc.toml: voices = { name = \"<voice id>\" })",
                                  outcome="fatal") from None
            raise CreateError(f"{failure}{where}", outcome=failure.outcome, retry_after=failure.retry_after) from None
        return {"text": self.chunks[index], "audio_base64": answer.audio_base_64,
                "alignment": answer.alignment.model_dump() if answer.alignment else None}

    async def poll(self, state: RemoteState) -> Progress:
        kept = kept_answer(self.scratch / f"{state.operation}.json", "answer")
        if kept.status != "done":
            return kept
        missing = [p.name for p in self.kept_chunks(Path(kept.output_uri or "")) if not p.is_file()]
        if missing:
            return Progress(status="gone", detail=f"the kept chunk {missing[0]} is missing from the cache's "
                                                  "scratch folder")
        return kept

    def kept_chunks(self, kept: Path) -> list[Path]:
        """The chunks a manifest names; an answer kept before lines were chunked is its own single chunk."""
        data: dict[str, Any] = json.loads(kept.read_text("utf-8"))
        return [self.scratch / name for name in data["chunks"]] if "chunks" in data else [kept]

    async def download(self, state: RemoteState, done: Progress, out: Path) -> None:
        paths = self.kept_chunks(Path(done.output_uri or ""))
        pcm = bytearray()
        chars: list[str] = []
        starts: list[float] = []
        ends: list[float] = []
        for index, path in enumerate(paths):
            kept: dict[str, Any] = json.loads(path.read_text("utf-8"))
            audio = base64.b64decode(kept["audio_base64"])
            offset, seconds = len(pcm) / 2 / SAMPLE_RATE, len(audio) // 2 / SAMPLE_RATE
            alignment = kept.get("alignment") or {}
            c: list[str] = list(alignment.get("characters", []))
            s: list[float] = list(alignment.get("character_start_times_seconds", []))
            e: list[float] = list(alignment.get("character_end_times_seconds", []))
            text = str(kept.get("text", "".join(c)))   # an answer kept before chunking holds no text
            problem = length_problem(text, seconds, max(e, default=None))
            if problem:
                where = f"chunk {index + 1} of {len(paths)}" if len(paths) > 1 else "the line"
                path.rename(path.with_suffix(".rejected.json"))   # kept for a look; --recreate pays for it alone
                raise RemoteGone(f"elevenlabs answered {where} ({_opening(text)}) with {problem}")
            if chars:
                chars.append(" ")   # a chunk ends a word
                starts.append(offset)
                ends.append(offset)
            chars += c
            starts += [offset + min(t, seconds) for t in s]   # within the chunk's audio: monotonic across
            ends += [offset + min(t, seconds) for t in e]
            pcm += audio[: len(audio) // 2 * 2]
        with wave.open(str(out), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(SAMPLE_RATE)
            wav.writeframes(bytes(pcm))
        self.result = VoiceResult(duration=len(pcm) / 2 / SAMPLE_RATE, words=tuple(words_of(chars, starts, ends)))

    async def find(self) -> RemoteState | None:
        """After a lost answer: the chunk from the account's history, if ElevenLabs made it, kept as if it had
        arrived. The line's state when that completes it; else None, and run_remote sends `create` again, which
        pays only for chunks still missing."""
        if self.sending is None:
            return None
        index, sent_at = self.sending
        try:
            kept = await self.from_history(index, sent_at)
        except Exception:   # history unreachable or off: the chunk can't be found, which is the usual case
            return None
        if kept is None:
            return None
        write_text_atomic(self.scratch / self.chunk_name(index), json.dumps(kept))
        names = [self.chunk_name(i) for i in range(len(self.chunks))]
        if not all((self.scratch / name).is_file() for name in names):
            return None
        return self.all_kept(names)

    async def from_history(self, index: int, sent_at: float) -> dict[str, Any] | None:
        """The newest history item of this voice and model with exactly this chunk's text and speed, made since
        shortly before it was sent (clocks differ), with its audio as PCM and its alignment."""
        client = self.backend.client()
        since = int(sent_at) - HISTORY_SLACK_SECONDS
        page = await client.history.list(voice_id=self.request.voice, date_after_unix=since, page_size=100,
                                         request_options={"max_retries": 2})
        speed = _speed(self.request.pace)
        for item in sorted(page.history, key=lambda i: i.date_unix, reverse=True):
            settings = item.settings or {}
            if (item.text != self.chunks[index] or item.model_id not in (None, self.backend.model)
                    or abs(float(settings.get("speed", speed)) - speed) > 1e-6 or item.alignments is None):
                continue
            audio = b"".join([part async for part in client.history.get_audio(
                item.history_item_id, request_options={"max_retries": 2})])
            pcm = await asyncio.to_thread(_to_pcm, audio)
            return {"text": self.chunks[index], "audio_base64": base64.b64encode(pcm).decode("ascii"),
                    "alignment": item.alignments.alignment.model_dump(), "history_item": item.history_item_id}
        return None


# History dates are the server's seconds: an item made just after the request was sent may read a little
# earlier on our clock.
HISTORY_SLACK_SECONDS = 120


def _to_pcm(audio: bytes) -> bytes:
    """Whatever container the history serves (MP3 usually), as the 16-bit mono PCM the line is stitched from."""
    import subprocess

    import imageio_ffmpeg

    done = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error",
                           "-i", "pipe:0", "-f", "s16le", "-ac", "1", "-ar", str(SAMPLE_RATE), "pipe:1"],
                          input=audio, capture_output=True, check=False)
    if done.returncode != 0 or not done.stdout:
        raise BackendError("the history item's audio could not be decoded")
    return done.stdout


_TRAILING_MARKUP = re.compile(r"(?:<[^<>]*>|\[[^\[\]]*\]|\s)+$")
_BREAK = re.compile(r"""<break\s+time\s*=\s*["']([\d.]+)\s*(m?s)["']\s*/?>""")


def length_problem(text: str, seconds: float, last_end: float | None) -> str:
    """Why a chunk's audio and its alignment disagree, or "" if they agree: the audio may run on past the
    last character only as long as its trailing markup is silent for, plus a tolerance."""
    if last_end is None:
        return ""   # no alignment to check against (and no words to time)
    trailing = _TRAILING_MARKUP.search(text)
    tail = trailing.group() if trailing else ""
    silence = sum(float(value) / (1000 if unit == "ms" else 1) for value, unit in _BREAK.findall(tail))
    silence += AUDIO_TAG_ALLOWANCE * tail.count("[")
    if seconds > last_end + TRAILING_TOLERANCE + silence or last_end > seconds + LENGTH_TOLERANCE:
        return f"{seconds:.2f} s of audio for words that end at {last_end:.2f} s"
    return ""


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


def _usd(chars: int) -> Decimal:
    return USD_PER_1K_CHARS * Decimal(chars) / 1000


def _opening(text: str) -> str:
    words = text.split()
    return "“" + " ".join(words[:6]) + (" …”" if len(words) > 6 else "”")


def _speed(pace: float) -> float:
    """The film's pace as ElevenLabs' speed, which it accepts from 0.7 to 1.2."""
    return round(min(1.2, max(0.7, pace)), 2)
