"""filmc: a film-as-code compiler. Stages are functions, re-exported here so each can be called alone."""

from __future__ import annotations

__version__ = "0.1.0"
