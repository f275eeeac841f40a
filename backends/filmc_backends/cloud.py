"""ElevenLabs music in the `final` profile, as far as this version goes: declared, priced, planned.

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


class ElevenLabsMusic(PlannedBackend):
    name = "elevenlabs-music"
    capabilities = Capabilities(
        layer="music", max_seconds=300.0, env=("ELEVENLABS_API_KEY",), remote=True, renders=False,
        price=Price(per_minute=Decimal("0.80")), models=("music_v1",), default_model="music_v1")
