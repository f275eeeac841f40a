"""Plugins shaped unusually but rightly: each must load and render."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from filmc.backend.protocol import BackendConfig, Capabilities, RenderContext, Setup, VideoRequest


def logged(method: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    @functools.wraps(method)
    async def wrapper(*args: Any, **kwargs: Any) -> None:
        await method(*args, **kwargs)

    return wrapper


class Decorated:
    """`render` wrapped by a decorator that keeps the coroutine function underneath."""

    name = "decorated"
    version = "1"
    capabilities = Capabilities(layer="video")

    def __init__(self, config: BackendConfig, setup: Setup) -> None:
        self.config = config

    @logged
    async def render(self, request: VideoRequest, out: Path, ctx: RenderContext) -> None:
        out.write_bytes(b"")


class LateBound:
    """Sets its capabilities and its `render` when built, from the profile's settings."""

    name = "latebound"
    version = "1"

    def __init__(self, config: BackendConfig, setup: Setup) -> None:
        self.capabilities = Capabilities(layer="video", max_seconds=float(config.options.get("max", 10)))
        self.render = self._render

    async def _render(self, request: VideoRequest, out: Path, ctx: RenderContext) -> None:
        out.write_bytes(b"")


class RaisingCapabilities:
    name = "raisingcaps"
    version = "1"

    def __init__(self, config: BackendConfig, setup: Setup) -> None:
        self.config = config

    @property
    def capabilities(self) -> Capabilities:
        raise RuntimeError("no capabilities today")

    async def render(self, request: VideoRequest, out: Path, ctx: RenderContext) -> None:
        out.write_bytes(b"")
