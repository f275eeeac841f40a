"""A third-party-style video backend for tests: its allowed clip lengths come from the profile."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from filmc.backend.protocol import BackendConfig, Capabilities, Price, RenderContext, Setup, VideoRequest


class FitVideo:
    name = "fitvideo"
    version = "1"

    def __init__(self, config: BackendConfig, setup: Setup) -> None:
        lengths = tuple(float(x) for x in str(config.options.get("lengths", "4,8")).split(","))
        self.capabilities = Capabilities(layer="video", clip_seconds=lengths, remote=True,
                                         price=Price(per_second=Decimal("0.10")))

    async def render(self, request: VideoRequest, out: Path, ctx: RenderContext) -> None:
        raise NotImplementedError("planning-only test backend")
