"""ElevenLabs music: the film's cues become a composition plan whose sections sum to the film's length.

Facts this adapter rests on (elevenlabs 2.78, 2026-12): `music.compose(composition_plan=..., model_id=
"music_v1", respect_sections_durations=True, output_format="pcm_48000")` streams the track; a plan's
sections last 3 to 120 s each. filmc writes the plan itself from the cues (the free plan endpoint is
rate-limited and would only paraphrase them), keeps the paid answer in the key's scratch folder the
moment it has arrived, checks its length against the plan, then conforms it to the exact frame-accurate
length (within a tolerance: a longer miss is an error, not a silent stretch) and stores it as WAV.
PCM is read as 16-bit mono, as the API's other PCM outputs are; not yet checked against the live API.
"""

from __future__ import annotations

import os
import uuid
import wave
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filmc.backend.protocol import (
    BackendConfig,
    BackendError,
    Capabilities,
    MusicRequest,
    MusicSection,
    Price,
    RemoteState,
    RenderContext,
    Setup,
)
from filmc.backend.remote import Progress, RemoteGone, classify_create_failure, run_remote
from filmc.files import write_atomic
from filmc.model import Model
from filmc_backends.elevenlabs_common import KEY_VARIABLE, kept_answer, make_client

if TYPE_CHECKING:
    from elevenlabs.client import AsyncElevenLabs

SAMPLE_RATE = 48000
MIN_SECTION_MS, MAX_SECTION_MS = 3000, 120000
LENGTH_TOLERANCE = 2.0   # seconds the track may miss the plan by before it is refused
USD_PER_MINUTE = Decimal("0.80")   # list price (2026-10), an estimate


class PlannedSection(Model):
    name: str
    styles: tuple[str, ...]
    duration_ms: int


def composition_sections(sections: tuple[MusicSection, ...], duration: float) -> list[PlannedSection]:
    """Cue sections as plan sections: each 3-120 s (long cues split, short ones folded into the one before),
    summing exactly to the film's length in milliseconds."""
    total_ms = round(duration * 1000)
    parts: list[PlannedSection] = []
    for i, section in enumerate(sections):
        styles = tuple(s for s in (section.description, section.instruments,
                                   f"intensity {section.intensity:.1f} of 1") if s)
        ms = round(section.end * 1000) - round(section.start * 1000)
        count = max(1, -(-ms // MAX_SECTION_MS))
        parts += [PlannedSection(name=f"cue {i + 1}" + (f" part {p + 1}" if count > 1 else ""), styles=styles,
                                 duration_ms=ms // count + (ms % count if p == count - 1 else 0))
                  for p in range(count)]
    planned: list[PlannedSection] = []
    for part in parts:   # a cue too short for a section joins its neighbour; the longer one lends the styles
        last = planned[-1] if planned else None
        if last and min(last.duration_ms, part.duration_ms) < MIN_SECTION_MS \
                and last.duration_ms + part.duration_ms <= MAX_SECTION_MS:
            longer = last if last.duration_ms >= part.duration_ms else part
            planned[-1] = longer.model_copy(update={"duration_ms": last.duration_ms + part.duration_ms})
        else:
            planned.append(part)
    if planned:
        drift = total_ms - sum(s.duration_ms for s in planned)
        planned[-1] = planned[-1].model_copy(update={"duration_ms": planned[-1].duration_ms + drift})
    if not planned or any(not MIN_SECTION_MS <= s.duration_ms <= MAX_SECTION_MS for s in planned):
        raise BackendError(f"a {duration:.1f}s score can't be planned in sections of 3 to 120 s; use the `synth` "
                           "or `file` music backend for it")
    return planned


class ElevenLabsMusic:
    """`music = { backend = "elevenlabs-music" }`: one instrumental track for the whole film."""

    name = "elevenlabs-music"
    version = "2"   # 2: composes (1 could only plan)
    capabilities = Capabilities(layer="music", max_seconds=600.0, env=(KEY_VARIABLE,), remote=True,
                                price=Price(per_minute=USD_PER_MINUTE), models=("music_v1",), default_model="music_v1",
                                provider="elevenlabs")   # one account: the voice's limits and cool-downs too

    def __init__(self, config: BackendConfig, setup: Setup) -> None:
        self.model = config.model or "music_v1"
        self.base_url = config.base_url
        self._client: AsyncElevenLabs | None = None

    def client(self) -> AsyncElevenLabs:
        if self._client is None:
            self._client = make_client(timeout=600.0, base_url=self.base_url)
        return self._client

    async def render(self, request: MusicRequest, out: Path, ctx: RenderContext) -> None:
        if ctx.scratch is None:
            raise BackendError("the elevenlabs-music backend needs the executor's scratch folder")
        await run_remote(Score(self, request, ctx.scratch), out, ctx)


class Score:
    """The track as a remote job whose answer arrives with the create: kept at once, 'polled' from disk."""

    provider = "elevenlabs-music"

    def __init__(self, backend: ElevenLabsMusic, request: MusicRequest, scratch: Path) -> None:
        self.backend, self.request, self.scratch = backend, request, scratch
        self.estimated_usd = USD_PER_MINUTE * Decimal(str(request.duration)) / 60
        self.sections = composition_sections(request.sections, request.duration)

    def plan(self) -> dict[str, Any]:
        return {"positive_global_styles": ["instrumental film score"],
                "negative_global_styles": ["vocals", "lyrics", "singing"],
                "sections": [{"section_name": s.name, "positive_local_styles": list(s.styles),
                              "negative_local_styles": [], "duration_ms": s.duration_ms, "lines": []}
                             for s in self.sections]}

    async def create(self) -> RemoteState:
        operation = uuid.uuid4().hex
        kept = self.scratch / f"{operation}.pcm"
        try:
            stream = self.backend.client().music.compose(
                composition_plan=self.plan(),  # type: ignore[arg-type]  # the plan's JSON shape
                model_id=self.backend.model,
                respect_sections_durations=True, output_format=f"pcm_{SAMPLE_RATE}", seed=self.request.seed,
                request_options={"max_retries": 0})
            chunks = [chunk async for chunk in stream]
        except BackendError:
            raise
        except Exception as err:
            raise classify_create_failure(err, secret=os.environ.get(KEY_VARIABLE)) from None
        track = b"".join(chunks)

        def keep(tmp: Path) -> None:
            tmp.write_bytes(track)

        write_atomic(kept, keep)   # paid for: kept before anything else can fail
        return RemoteState(provider=self.provider, operation=operation)

    async def poll(self, state: RemoteState) -> Progress:
        return kept_answer(self.scratch / f"{state.operation}.pcm", "track")

    async def download(self, state: RemoteState, done: Progress, out: Path) -> None:
        pcm = Path(done.output_uri or "").read_bytes()
        channels = channels_of(len(pcm), self.request.duration)
        width = 2 * channels   # bytes a frame: 16-bit samples, interleaved
        seconds = len(pcm) / width / SAMPLE_RATE
        if abs(seconds - self.request.duration) > LENGTH_TOLERANCE:
            raise RemoteGone(f"ElevenLabs composed {seconds:.1f}s for a {self.request.duration:.1f}s plan; "
                             "refusing to stretch it")
        frames = round(self.request.duration * SAMPLE_RATE)
        pcm = pcm[: frames * width].ljust(frames * width, b"\0")   # conform: trim, or end in silence
        with wave.open(str(out), "wb") as wav:
            wav.setnchannels(channels)
            wav.setsampwidth(2)
            wav.setframerate(SAMPLE_RATE)
            wav.writeframes(pcm)

    async def find(self) -> RemoteState | None:
        return None


def channels_of(size: int, planned: float) -> int:
    """Raw PCM says nothing of its layout, and whether the service streams the score in mono or stereo has not
    been checked against the live API: mono, unless only stereo gives the plan's length. (A stereo track read
    as mono would be twice too long, and refused after it was paid for.)"""
    mono, stereo = size / 2 / SAMPLE_RATE, size / 4 / SAMPLE_RATE
    return 2 if abs(mono - planned) > LENGTH_TOLERANCE and abs(stereo - planned) <= LENGTH_TOLERANCE else 1
