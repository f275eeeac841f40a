"""The content-addressed cache: one file per key, written whole or not at all."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path

EXTENSIONS = {"video": ".mp4", "voice": ".wav", "music": ".wav", "picture": ".mp4", "mix": ".wav", "mux": ".mp4"}


class Cache:
    """`<root>/<kind>/<key[:2]>/<key><ext>`: sharded so no folder holds thousands of files."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, kind: str, key: str) -> Path:
        return self.root / kind / key[:2] / f"{key}{EXTENSIONS.get(kind, '.bin')}"

    def sidecar(self, kind: str, key: str) -> Path:
        """Metadata an asset needs beside it (a voice line's word timings)."""
        return self.path(kind, key).with_suffix(".json")

    def has(self, kind: str, key: str) -> bool:
        """Present and whole: the size recorded when it was verified still matches (a truncation shows)."""
        try:
            meta = json.loads(self.sidecar(kind, key).read_text("utf-8"))
            return isinstance(meta, dict) and self.path(kind, key).stat().st_size == meta.get("size")
        except (OSError, ValueError):
            return False

    def store(self, final: Path, produce: Callable[[Path], None], verify: Callable[[Path], None]) -> None:
        """A crash or Ctrl-C leaves the old file or the new one at `final`, never half of one."""
        store(final, produce, verify)


def store(final: Path, produce: Callable[[Path], None], verify: Callable[[Path], None]) -> None:
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{uuid.uuid4().hex}.part{final.suffix}")  # keep the suffix: ffmpeg picks the muxer
    try:
        produce(tmp)
        verify(tmp)
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(final: Path, text: str) -> None:
    def produce(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())

    store(final, produce, lambda _: None)


def file_digest(path: Path) -> str:
    """sha256 of a user file, streamed: keys of user clips follow their bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
