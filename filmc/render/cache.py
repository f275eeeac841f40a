"""The content-addressed cache: one file per key, with a sidecar that records what verification saw."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from filmc.errors import StorageError, UsageError
from filmc.files import (
    STALE_PART_SECONDS,
    atomic_path,
    file_digest,
    remove_stale_parts,
    write_text_atomic,
    writer_is_gone,
)
from filmc.plan.model import Plan
from filmc.plan.profiles import Profile
from filmc.render.journal import Journal
from filmc.render.outcome import AssetMeta
from filmc.render.store import Store, has_userinfo, is_url

UPLOAD_TRIES = 3     # a store's put, tried again after a pause: a flaky network shouldn't cost a paid asset's copy
UPLOAD_PAUSE = 1.0   # seconds, times the attempt's number


def cache_root(project_dir: Path, profile: Profile, override: Path | None) -> Path:
    """`--cache DIR` wins, then FILMC_CACHE (a folder, not a shared store's URL), then the profile's (relative to
    the film's folder). With a shared store this folder is the driver's: its journal, locks and a local copy."""
    if override is not None:
        return override.resolve()
    if (env := os.environ.get("FILMC_CACHE")) and not is_url(env):
        return Path(env).resolve()
    return (project_dir / profile.cache_dir).resolve()


def store_url(profile: Profile) -> str | None:
    """The shared store, if any: FILMC_CACHE when it is a URL, else the profile's `shared_cache`."""
    env = os.environ.get("FILMC_CACHE", "")
    url = env if is_url(env) else profile.shared_cache
    if url is not None and has_userinfo(url):   # it would be written into the plan, the manifest and messages
        where = "FILMC_CACHE" if url == env else "the profile's shared_cache"
        raise UsageError(f"{where} holds credentials in its URL (`user:pass@`): give the URL without them and the "
                         "store's credentials the usual way (AWS_PROFILE, AWS_ACCESS_KEY_ID…, an instance role)")
    return url


class Cache:
    """`<root>/<kind>/<key[:2]>/<key><suffix>`: sharded so no folder holds thousands of files.

    The suffix of each kind comes from the render stage's kind table, so the cache knows no kinds.
    Beside each asset, its sidecar: the asset's metadata, its size and sha256 when it was stored, and a seal
    over both. A hit needs all of them to hold, so an asset cut short, changed in place (the output folder
    holds hard links to the cache: an editor writing into the film writes into the cache) or rotted, and a
    sidecar that is torn or lies, are misses: the asset is made again, never used.
    """

    def __init__(self, root: Path, store: Store | None = None) -> None:
        self.root = root
        self.store = store   # shared: a miss here is looked up there, and what is made here is put there too

    @classmethod
    def with_store(cls, root: Path, url: str | None) -> Cache:
        return cls(root, Store(url) if url else None)

    @classmethod
    def for_profile(cls, project_dir: Path, profile: Profile, override: Path | None) -> Cache:
        return cls.with_store(cache_root(project_dir, profile, override), store_url(profile))

    @classmethod
    def for_plan(cls, plan: Plan, override: Path | None) -> Cache:
        return cls.for_profile(Path(plan.project_dir), plan.profile, override)

    def _relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def path(self, kind: str, key: str, suffix: str) -> Path:
        return self.root / kind / key[:2] / f"{key}{suffix}"

    def sidecar(self, kind: str, key: str) -> Path:
        return self.root / kind / key[:2] / f"{key}.json"

    def meta(self, kind: str, key: str, suffix: str) -> AssetMeta | None:
        """The asset's metadata if it is present and whole: its sidecar is sealed, and the asset's size (and
        sha256, where it was recorded: once a process, unless the file changes) are the ones stored."""
        meta = self.local_meta(kind, key, suffix)
        if meta is None and self.store is not None and self._pull(kind, key, suffix):
            meta = self.local_meta(kind, key, suffix)   # a sidecar here with its asset gone or spoilt: the store's
        return meta

    def local_meta(self, kind: str, key: str, suffix: str) -> AssetMeta | None:
        """`meta`, in this folder only (the store not asked)."""
        found = self._sidecar(kind, key)
        if found is None:
            return None
        meta, digest = found
        try:
            if self.path(kind, key, suffix).stat().st_size != meta.size:
                return None
            if digest is not None and _digest(self.path(kind, key, suffix)) != digest:
                return None
        except OSError:
            return None
        return meta

    def has(self, kind: str, key: str, suffix: str) -> bool:
        """Present and of its stored size (what the plan's cost estimate needs; `meta` also checks the bytes)."""
        found = self._sidecar(kind, key)
        try:
            if found is not None and self.path(kind, key, suffix).stat().st_size == found[0].size:
                return True
        except OSError:
            pass
        return self.store is not None and self._in_store(kind, key, suffix)

    def record(self, kind: str, meta: AssetMeta, asset: Path | None = None) -> None:
        """Written before the asset is moved in: an asset without its sidecar is never a hit. Given the
        `asset` (its finished temporary file), its sha256 is recorded too, and checked on every hit."""
        fields = json.loads(meta.model_dump_json())
        if asset is not None:
            fields["sha256"] = file_digest(asset)
        fields["seal"] = _seal(fields)
        text = json.dumps(fields, ensure_ascii=False)
        write_text_atomic(self.sidecar(kind, meta.key), text)

    def publish(self, kind: str, key: str, suffix: str) -> None:
        """Put an asset already in place here (and its sidecar) into the shared store, if there is one: after it is
        moved in, so a store that fails never costs the local, verified (perhaps paid) asset. Tried a few times;
        then a StorageError naming the store (the asset stays here, and the next render puts it)."""
        if self.store is None:
            return
        sidecar = self.sidecar(kind, key)
        for attempt in range(1, UPLOAD_TRIES + 1):
            try:
                self.store.put(self.path(kind, key, suffix), self._relative(self.path(kind, key, suffix)),
                               sidecar.read_bytes(), self._relative(sidecar))
                return
            except StorageError:
                if attempt == UPLOAD_TRIES:
                    raise
                time.sleep(UPLOAD_PAUSE * attempt)

    def _in_store(self, kind: str, key: str, suffix: str) -> bool:
        """The store holds the key: its sidecar reads and is sealed, and the asset is of the size it says."""
        assert self.store is not None
        found = _parse_sidecar(self.store.read(self._relative(self.sidecar(kind, key))), key)
        return found is not None and self.store.size(self._relative(self.path(kind, key, suffix))) == found[0].size

    def _pull(self, kind: str, key: str, suffix: str) -> bool:
        """Copy the key from the shared store into this folder, if the store holds it whole: the download must
        have the size and sha256 its sidecar records (else it is a miss, and the job is made again)."""
        assert self.store is not None
        raw = self.store.read(self._relative(self.sidecar(kind, key)))
        found = _parse_sidecar(raw, key)
        if raw is None or found is None or found[1] is None:
            return False
        meta, digest = found
        final = self.path(kind, key, suffix)
        try:
            with atomic_path(final) as tmp:
                self.store.get(self._relative(final), tmp)
                if tmp.stat().st_size != meta.size or file_digest(tmp) != digest:
                    raise _Mismatch   # out of the block unfinished: atomic_path removes the temp file
                write_text_atomic(self.sidecar(kind, key), raw.decode("utf-8"))   # before the asset, as `record`
        except (_Mismatch, FileNotFoundError):
            return False
        return True

    def _sidecar(self, kind: str, key: str) -> tuple[AssetMeta, str | None] | None:
        """The sidecar's metadata and recorded sha256, if it is readable and its seal holds (sidecars written
        before seals have none, and are trusted on their size alone)."""
        try:
            raw = self.sidecar(kind, key).read_bytes()
        except OSError:
            return None
        return _parse_sidecar(raw, key)

    def clean_stale_parts(self, now: float | None = None) -> int:
        """What killed renders left: temp files and job work folders (at once if their writer is gone, see
        `filmc.files.writer_is_gone`, else once old), and scratch folders of jobs stored before their render
        could remove them."""
        removed = remove_stale_parts(self.root, now)
        cutoff = (now or time.time()) - STALE_PART_SECONDS
        work = self.root / "work"
        for folder in work.iterdir() if work.is_dir() else ():
            try:
                if folder.is_dir() and (writer_is_gone(folder) or folder.stat().st_mtime < cutoff):
                    shutil.rmtree(folder, ignore_errors=True)
                    removed += 1
            except OSError:
                continue
        return removed + self._clean_scratch()

    def _clean_scratch(self) -> int:
        """A job's scratch folder (paid answers kept on arrival) is removed once its asset is stored and its
        journal entry closed; a render killed between storing the asset and those two steps leaves it. Here,
        under the key's lock (a render re-making it with `--force` keeps what it is writing), a stored job's
        journal entry is closed as its render would have, and its scratch folder removed."""
        scratch = self.root / "scratch"
        folders = [f for f in scratch.glob("*/*") if f.is_dir()] if scratch.is_dir() else []
        journal = Journal(self.root / "journal.jsonl")
        removed = 0
        for folder in folders:
            key = folder.name
            stored = self._stored(key)
            if stored is None:
                continue   # not made yet: its kept answers are what the next attempt uses instead of paying again
            lock = FileLock(self.root / "locks" / f"{key}.lock", thread_local=False, is_singleton=True)
            try:
                lock.acquire(blocking=False)
            except (Timeout, OSError):
                continue   # another render is making it now
            try:
                if journal.remote(key).state is not None:
                    journal.write("done", stored.job, key)
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
            finally:
                lock.release()
        return removed

    def _stored(self, key: str) -> AssetMeta | None:
        """The metadata of an asset some kind holds under this key, of its sidecar's size."""
        for sidecar in self.root.glob(f"*/{key[:2]}/{key}.json"):
            found = self._sidecar(sidecar.parent.parent.name, key)
            assets = [p for p in sidecar.parent.glob(f"{key}.*") if p != sidecar]
            if found is not None and any(_size(p) == found[0].size for p in assets):
                return found[0]
        return None


class _Mismatch(Exception):
    """A download that is not the asset its sidecar describes."""


def _parse_sidecar(raw: bytes | None, key: str) -> tuple[AssetMeta, str | None] | None:
    """A sidecar's metadata and sha256, if it parses and its seal holds."""
    if raw is None:
        return None
    try:
        fields = json.loads(raw)
        seal = fields.pop("seal", None)
        if seal is not None and seal != _seal(fields):
            return None
        digest = fields.pop("sha256", None)
        meta = AssetMeta.model_validate(fields)
    except (ValueError, TypeError, AttributeError):
        return None
    if meta.key != key or (digest is not None and not isinstance(digest, str)):
        return None
    return meta, digest


def _seal(fields: dict[str, Any]) -> str:
    """A checksum of a sidecar's other fields: a sidecar torn, rotted or edited by hand is not trusted."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:32]


_DIGESTS: dict[tuple[str, int, int, int, int, int], str] = {}


def _digest(path: Path) -> str:
    """An asset's sha256, read once a process while the file stays the same (device, inode, size, times)."""
    st = path.stat()
    mark = (str(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    if mark not in _DIGESTS:
        _DIGESTS[mark] = file_digest(path)
    return _DIGESTS[mark]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1
