"""The content-addressed cache: one file per key, with a sidecar that records what verification saw."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from filmc.files import remove_stale_parts, write_text_atomic, writer_is_gone
from filmc.plan.model import Plan
from filmc.plan.profiles import Profile
from filmc.render.outcome import AssetMeta


def cache_root(project_dir: Path, profile: Profile, override: Path | None) -> Path:
    """`--cache DIR` wins, then FILMC_CACHE, then the profile's (relative to the film's folder)."""
    if override is not None:
        return override.resolve()
    if env := os.environ.get("FILMC_CACHE"):
        return Path(env).resolve()
    return (project_dir / profile.cache_dir).resolve()


class Cache:
    """`<root>/<kind>/<key[:2]>/<key><suffix>`: sharded so no folder holds thousands of files.

    The suffix of each kind comes from the render stage's kind table, so the cache knows no kinds.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def for_plan(cls, plan: Plan, override: Path | None) -> Cache:
        return cls(cache_root(Path(plan.project_dir), plan.profile, override))

    def path(self, kind: str, key: str, suffix: str) -> Path:
        return self.root / kind / key[:2] / f"{key}{suffix}"

    def sidecar(self, kind: str, key: str) -> Path:
        return self.root / kind / key[:2] / f"{key}.json"

    def meta(self, kind: str, key: str, suffix: str) -> AssetMeta | None:
        """The asset's metadata if it is present and whole: the size verified when it was stored still matches."""
        try:
            meta = AssetMeta.model_validate(json.loads(self.sidecar(kind, key).read_text("utf-8")))
            if self.path(kind, key, suffix).stat().st_size == meta.size:
                return meta
        except (OSError, ValueError):
            pass
        return None

    def has(self, kind: str, key: str, suffix: str) -> bool:
        return self.meta(kind, key, suffix) is not None

    def record(self, kind: str, meta: AssetMeta) -> None:
        """Written before the asset is moved in: an asset without its sidecar is never a hit."""
        write_text_atomic(self.sidecar(kind, meta.key), meta.model_dump_json())

    def clean_stale_parts(self, now: float | None = None) -> int:
        """Temp files and job work folders a killed render left (see `filmc.files.writer_is_gone`)."""
        removed = remove_stale_parts(self.root, now)
        work = self.root / "work"
        for folder in work.iterdir() if work.is_dir() else ():
            if folder.is_dir() and writer_is_gone(folder):
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        return removed
