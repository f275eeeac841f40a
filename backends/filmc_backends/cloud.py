"""The real services of the `final` profile, as far as this version goes: declared, priced, planned.

`filmc compile --profile final` shows their jobs, clip lengths and costs. Making the assets through
these services arrives with the cloud backends (journal-before-wait, loopback fakes); until then,
`render` refuses these layers before starting anything, so nothing is paid for and nothing is faked.
Prices are list prices as published in 2026 and are estimates: override them in filmc.toml.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import NoReturn

from filmc.backend.protocol import BackendConfig, BackendError, Capabilities, Price, Setup


class PlannedBackend:
    name = ""
    version = "0"
    capabilities = Capabilities(layer="video", renders=False)

    def __init__(self, config: BackendConfig, setup: Setup) -> None:
        self.config = config

    async def render(self, request: object, out: Path, ctx: object) -> NoReturn:
        raise BackendError(f"the `{self.name}` backend can plan and price jobs but cannot render them in this "
                           "version of filmc; render with --profile preview, or give the layer a `file` source")


class RunwayVideo(PlannedBackend):
    name = "runway"
    capabilities = Capabilities(
        layer="video", clip_seconds=(5.0, 10.0),
        frame_sizes=((1280, 720), (720, 1280), (1104, 832), (832, 1104), (960, 960), (1584, 672)),
        max_prompt_chars=1000, env=("RUNWAYML_API_SECRET",), remote=True, renders=False,
        price=Price(per_second=Decimal("0.05")), models=("gen4_turbo", "gen4_aleph"), default_model="gen4_turbo")


class ElevenLabsVoice(PlannedBackend):
    name = "elevenlabs"
    capabilities = Capabilities(
        layer="voice", markup="ssml-break", max_prompt_chars=10000, env=("ELEVENLABS_API_KEY",), remote=True,
        renders=False, price=Price(per_1k_chars=Decimal("0.18")),
        models=("eleven_multilingual_v2", "eleven_v3"), default_model="eleven_multilingual_v2")


class ElevenLabsMusic(PlannedBackend):
    name = "elevenlabs-music"
    capabilities = Capabilities(
        layer="music", max_seconds=300.0, env=("ELEVENLABS_API_KEY",), remote=True, renders=False,
        price=Price(per_minute=Decimal("0.80")), models=("music_v1",), default_model="music_v1")
