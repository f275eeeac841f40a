"""A plugin whose declared capabilities no shot could satisfy: it fails as its module is imported."""

from __future__ import annotations

from filmc.backend.protocol import Capabilities


class BadCaps:
    name = "badcaps"
    version = "1"
    capabilities = Capabilities(layer="video", clip_seconds=())
