"""Content keys: the sha256 of a model built for hashing, so the same inputs always name the same asset."""

from __future__ import annotations

import hashlib
import json

from filmc.model import Model

KEY_SCHEME = "filmc-key/1"


def canonical_json(value: Model) -> str:
    """One spelling per value: sorted keys, no whitespace, UTF-8 kept, so keys survive reformatting."""
    return json.dumps(value.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_key(value: Model) -> str:
    """The key names the model type too, so two kinds of job with equal fields never collide."""
    text = f"{KEY_SCHEME} {type(value).__name__} {canonical_json(value)}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
