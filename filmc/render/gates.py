"""How many jobs run at once: the render's --jobs limit, each layer's limit, and each provider's.

A paid job spends most of its life waiting on its provider. It keeps its layer's and its provider's
slots while it waits (the provider is still working for it), but lends its --jobs slot back, so the
encodes and mixes behind it are not held up by a clip rendering in someone else's data centre.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType

from filmc.backend.protocol import MEDIA_LAYERS, Cooldown
from filmc.backend.registry import Backends
from filmc.plan.model import Plan


class Share:
    """One slot of the render-wide gate, which its holder can lend back while it only waits."""

    def __init__(self, gate: asyncio.Semaphore) -> None:
        self.gate = gate
        self.held = False
        self.lenders = 0   # blocks lending it now: a job may wait on several remote jobs at once

    async def __aenter__(self) -> Share:
        await self.gate.acquire()
        self.held = True
        return self

    async def __aexit__(self, kind: type[BaseException] | None, err: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self.held:
            self.held = False
            self.gate.release()

    @asynccontextmanager
    async def lent(self) -> AsyncIterator[None]:
        """Give the slot back for the block (the first of nested or concurrent blocks gives it); take one again
        after the last, and only when it ends normally: a job failing or cancelled while waiting does not
        queue behind local work to fail. A cancellation while taking it back leaves `held` false, so the slot
        is never released twice."""
        if self.lenders == 0 and self.held:
            self.held = False
            self.gate.release()
        self.lenders += 1
        try:
            yield
        finally:
            self.lenders -= 1
        if self.lenders == 0 and not self.held:
            await self.gate.acquire()
            self.held = True


class Providers:
    """Per-provider concurrency and 429 cool-downs. Backends that share a provider (ElevenLabs' voice and
    music) share both: the account's limit is one, whichever layer sends. The shared limit is the largest
    any of its layers sets, so no layer is slowed below its own setting."""

    def __init__(self, plan: Plan, backends: Backends) -> None:
        self.of_backend: dict[str, str] = {}
        limits: dict[str, int] = {}
        for layer in MEDIA_LAYERS:
            backend = backends.for_layer(layer)
            provider = backend.capabilities.provider or backend.name
            self.of_backend[backend.name] = provider
            limits[provider] = max(limits.get(provider, 1), plan.profile.layer(layer).concurrency)
        self.gates = {provider: asyncio.Semaphore(max(1, limit)) for provider, limit in limits.items()}
        self.cooldowns = {provider: Cooldown() for provider in limits}

    def provider(self, backend: str) -> str:
        return self.of_backend.get(backend, backend)

    def gate(self, backend: str) -> asyncio.Semaphore:
        return self.gates.setdefault(self.provider(backend), asyncio.Semaphore(1))

    def cooldown(self, backend: str) -> Cooldown:
        return self.cooldowns.setdefault(self.provider(backend), Cooldown())
