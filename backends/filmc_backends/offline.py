"""The offline backends of the `preview` profile: animatic video, espeak voice, synth music.

Each adapts a pure engine (ffmpeg, libespeak-ng, numpy) to its layer's protocol; the engines are
CPU-bound and synchronous, so they run in worker threads while the executor schedules the rest.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from filmc.assemble.drawing import Drawing
from filmc.backend.protocol import (
    BackendConfig,
    BackendError,
    Capabilities,
    MusicRequest,
    RenderContext,
    Setup,
    VideoRequest,
    VoiceRequest,
    VoiceResult,
)
from filmc.files import file_digest
from filmc.syntax.ir import BREATH_SECONDS, Breath, Spoken
from filmc_backends.animatic_engine import AnimaticClip, animatic_drawing, render_animatic

if TYPE_CHECKING:
    from filmc_backends import espeak_engine as espeak

# The voice and score engines (numpy, libespeak-ng) load when a line or a score is made, not when a plan is:
# a render with nothing to make only asks these classes their names and capabilities (numpy alone is 40 ms).


class AnimaticBackend:
    """A procedural previz clip per shot: palette, the camera move, the shot's words on screen.

    The picture pass draws it in place (`source_graph`) at the film's size; `render` makes the clip file
    only for `--keep-clips`, drawn by the same graph, so a kept clip shows what the film shows.
    """

    name = "animatic"
    version = "3"  # 3: a held world under the moving camera, drawn by the picture pass at the film's size
    capabilities = Capabilities(layer="video", draws_text=True, drawn=True)

    def __init__(self, config: BackendConfig, setup: Setup) -> None:
        self.threads = int(config.options.get("threads", 1))
        self.preset = str(config.options.get("preset", "veryfast"))

    @staticmethod
    def clip(request: VideoRequest, width: int, height: int) -> AnimaticClip:
        return AnimaticClip(width=width, height=height, fps_num=request.fps_num, fps_den=request.fps_den,
                            frames=request.frames, colors=request.colors or ("#303030",), camera=request.camera,
                            heading=request.heading, caption=request.caption, label=request.label)

    def drawing(self, request: VideoRequest, width: int, height: int, textdir: Path) -> Drawing:
        return animatic_drawing(self.clip(request, width, height), textdir)

    async def render(self, request: VideoRequest, out: Path, ctx: RenderContext) -> None:
        clip = self.clip(request, request.width, request.height)
        await asyncio.to_thread(render_animatic, clip, out, workdir=ctx.workdir, threads=self.threads,
                                preset=self.preset)


# Tone words (Italian and English) that move the scratch voice's pitch.
_LOW = ("grave", "solenne", "fermo", "amaro", "sommesso", "sussurr", "whisper", "solemn", "dark", "detached",
        "distacco", "distaccato", "clinico")
_HIGH = ("tener", "meraviglia", "curios", "gioia", "tender", "wonder", "curious", "joy", "warm")


class EspeakBackend:
    """A scratch voice-over in the film's language; pauses are exact local silence, words are timed."""

    name = "espeak"
    version = "3"  # 2: pitch follows the tone; 3: each line as if first spoken (the same bytes in any order)
    capabilities = Capabilities(layer="voice", markup="none")

    def __init__(self, config: BackendConfig, setup: Setup) -> None:
        self.pitch = int(config.options.get("pitch", 45))
        variant = config.options.get("variant")
        self.variant = str(variant) if variant else None

    def pitch_for(self, tone: str) -> int:
        """A scratch voice can't act, but it can sit lower for gravity and lift for tenderness or wonder."""
        words = tone.lower()
        if any(w in words for w in _LOW):
            return max(0, self.pitch - 10)
        if any(w in words for w in _HIGH):
            return min(100, self.pitch + 8)
        return self.pitch

    async def render(self, request: VoiceRequest, out: Path, ctx: RenderContext) -> VoiceResult:
        from filmc_backends import espeak_engine as espeak

        parts: list[espeak.Spoken | espeak.Pause] = []
        for part in request.parts:
            if isinstance(part, Spoken):
                if part.text.strip():
                    parts.append(espeak.Spoken(text=part.text.strip(), emphasis=part.emphasis))
            else:  # a pause, or a breath: a scratch voice can't breathe, so it keeps the breath's length silent
                seconds = BREATH_SECONDS if isinstance(part, Breath) else part.seconds
                parts.append(espeak.Pause(seconds=float(seconds)))
        try:
            result = await asyncio.to_thread(espeak.synthesize, parts, request.language, out, pace=request.pace,
                                             pitch=self.pitch_for(request.tone), voice_variant=self.variant)
        except ValueError as err:
            raise BackendError(str(err)) from None
        return VoiceResult(duration=result.duration, words=result.words)


class SynthBackend:
    """A temp score from the cues: electronic pulses and pads through to orchestral-like strings."""

    name = "synth"
    version = "2"  # 2: sustained voices at half rate, arpeggio echo replayed: the same score, other bytes
    capabilities = Capabilities(layer="music")

    def __init__(self, config: BackendConfig, setup: Setup) -> None:
        self.sample_rate = int(config.options.get("sample_rate", 48000))

    async def render(self, request: MusicRequest, out: Path, ctx: RenderContext) -> None:
        from filmc_backends.synth_engine import ScoreSection, render_score

        sections = [ScoreSection(start=s.start, end=s.end, description=s.description, instruments=s.instruments,
                                 intensity=s.intensity) for s in request.sections]
        await asyncio.to_thread(render_score, sections, request.duration, out, sample_rate=self.sample_rate,
                                seed=request.seed)


class FileBackend:
    """A user-supplied clip, line or track: copied into the cache under its content's key, conformed later."""

    name = "file"
    version = "1"
    capabilities = Capabilities(layer="any")

    def __init__(self, config: BackendConfig, setup: Setup) -> None:
        self.project_dir = setup.project_dir

    def source(self, relative: str | None) -> Path:
        if relative is None:
            raise BackendError("the file backend needs a source file")
        path = self.project_dir / relative
        if not path.is_file():
            raise BackendError(f"{relative} is missing from the project (it was there when the plan was made)")
        return path

    async def render(self, request: VideoRequest | VoiceRequest | MusicRequest, out: Path,
                     ctx: RenderContext) -> VoiceResult | None:
        import shutil

        from filmc.assemble.media import MediaError, probe

        src = self.source(request.source_file)
        if await asyncio.to_thread(file_digest, src) != request.source_digest:
            raise BackendError(f"{request.source_file} changed since the plan was made; re-run `filmc compile` "
                               "(the plan's key names the old content)")
        try:
            info = await asyncio.to_thread(probe, src)
        except MediaError as err:
            raise BackendError(f"{request.source_file} is not playable media: {err}") from None
        wanted_video = isinstance(request, VideoRequest)
        if (info.video is None) if wanted_video else (info.audio is None):
            kind = "video" if wanted_video else "audio"
            raise BackendError(f"{request.source_file} has no {kind} stream")
        await asyncio.to_thread(shutil.copyfile, src, out)
        if isinstance(request, VoiceRequest):
            return VoiceResult(duration=info.duration)
        return None
