"""Plugins that are wrong in the ways a third-party backend can be: each must be refused by name at load."""

from __future__ import annotations

from pathlib import Path

from filmc.backend.protocol import BackendConfig, Capabilities, RenderContext, Setup, VideoRequest


class NoRender:
    name = "norender"
    version = "1"
    capabilities = Capabilities(layer="video")

    def __init__(self, config: BackendConfig, setup: Setup) -> None:
        self.config = config


class SyncRender(NoRender):
    name = "syncrender"

    def render(self, request: VideoRequest, out: Path, ctx: RenderContext) -> None:  # not async: would block the loop
        out.write_bytes(b"")


class VoiceAsVideo(NoRender):
    name = "voiceasvideo"
    capabilities = Capabilities(layer="voice")

    async def render(self, request: VideoRequest, out: Path, ctx: RenderContext) -> None:
        out.write_bytes(b"")


class Explodes(NoRender):
    name = "explodes"

    def __init__(self, config: BackendConfig, setup: Setup) -> None:
        raise RuntimeError("the plugin's own bug")

    async def render(self, request: VideoRequest, out: Path, ctx: RenderContext) -> None:
        out.write_bytes(b"")
