"""Files that appear whole or not at all, and digests of the files users supply.

Every file filmc writes for keeps — a cached asset, its sidecar, Claude's cached answer, the film and
everything beside it in the output folder — goes through `atomic_path`: written to a temporary file
in the same folder, flushed to disk, verified, renamed over the target, and the folder flushed too.
A crash, a full disk or Ctrl-C leaves the old file or the new one, never half of one.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import os
import re
import shutil
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

PART_GLOB = ".*.part*"   # what a killed writer leaves behind; cleaned once old enough
STALE_PART_SECONDS = 6 * 3600   # younger temp files may belong to a render still running


def temp_beside(final: Path) -> Path:
    """A unique temporary name in the target's folder, naming the writing process (so what a killed writer
    left can be told from another render's work in progress); the suffix is kept (ffmpeg picks the muxer
    by it)."""
    return final.with_name(f".{owned_name()}.part{final.suffix}")


def owned_name() -> str:
    """A unique name that says which process on which host made it: see `writer_is_gone`."""
    return f"{uuid.uuid4().hex}-{socket.gethostname()}-{os.getpid()}"


def writer_is_gone(path: Path) -> bool:
    """A temp file or folder whose writer, on this host, is no longer running: nobody will finish or remove it."""
    match = re.fullmatch(r"\.?[0-9a-f]{32}-(.+)-(\d+)(\.part.*)?", path.name)
    if match is None or match.group(1) != socket.gethostname():
        return False
    try:
        os.kill(int(match.group(2)), 0)
    except ProcessLookupError:
        return True
    except OSError:   # running, under another user
        return False
    return False


@contextlib.contextmanager
def atomic_path(final: Path, verify: Callable[[Path], object] | None = None) -> Iterator[Path]:
    """Yield a temporary path to write; on success it is fsynced, verified and moved to `final`.

    On any exception (Ctrl-C included) the temporary file is removed and `final` is untouched.
    Works around async code too: `with atomic_path(p) as tmp: await make(tmp)`.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_beside(final)
    try:
        yield tmp
        _commit(tmp, final, verify)
    except OSError as err:
        name_storage_error(err, final)
        raise
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.asynccontextmanager
async def atomic_path_async(final: Path) -> AsyncIterator[Path]:
    """`atomic_path` for the event loop: flushing a large asset to disk happens in a worker thread."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_beside(final)
    try:
        yield tmp
        await asyncio.to_thread(_commit, tmp, final, None)
    except OSError as err:
        name_storage_error(err, final)
        raise
    finally:
        tmp.unlink(missing_ok=True)


STORAGE_ERRNOS = frozenset(n for n in (errno.ENOSPC, getattr(errno, "EDQUOT", None), errno.EROFS, errno.EFBIG,
                                       errno.EIO) if n is not None)


def name_storage_error(err: OSError, final: Path) -> None:
    """A full disk, a quota, a read-only or failing disk name no file when a write or an fsync fails: name the
    one that could not be written, so the message says where."""
    if err.filename is None and err.errno in STORAGE_ERRNOS:
        err.filename = str(final)


def write_atomic(final: Path, produce: Callable[[Path], None], verify: Callable[[Path], object] | None = None) -> None:
    """`produce` writes the temporary file (ffmpeg, a download, a synthesiser); `verify` raises if it is wrong."""
    with atomic_path(final, verify) as tmp:
        produce(tmp)


def write_text_atomic(final: Path, text: str) -> None:
    with atomic_path(final) as tmp:
        tmp.write_text(text, "utf-8")


def place(src: Path, dst: Path) -> None:
    """`dst` becomes a whole copy of `src`: a hard link where the filesystem allows (no copy of a big file)."""
    with atomic_path(dst) as tmp:
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)


def remove_stale_parts(folder: Path, now: float | None = None) -> int:
    """Temp files a killed writer left under `folder`: at once if their writer is gone, else once they are
    old (a young one from a live process may be another render's)."""
    removed = 0
    cutoff = (now or time.time()) - STALE_PART_SECONDS
    if folder.is_dir():
        for stale in folder.rglob(PART_GLOB):
            try:
                if writer_is_gone(stale) or stale.stat().st_mtime < cutoff:
                    stale.unlink(missing_ok=True)
                    removed += 1
            except OSError:
                continue
    return removed


def user_cache(name: str) -> Path | None:
    """A folder of this user's filmc cache (`$XDG_CACHE_HOME/filmc`, else `~/.cache/filmc`) for what only saves
    time between runs (the analysed grammar, compiled templates); None where it can't be made, and the caller
    works without it."""
    try:
        folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "filmc" / name
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except (OSError, RuntimeError):   # RuntimeError: no home folder to be found
        return None
    return folder


def file_digest(path: Path) -> str:
    """sha256 of a file, streamed: keys of user clips follow their bytes, not their names."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _commit(tmp: Path, final: Path, verify: Callable[[Path], object] | None) -> None:
    _fsync_file(tmp)
    if verify is not None:
        verify(tmp)
    os.replace(tmp, final)
    _fsync_dir(final.parent)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDWR if os.name == "nt" else os.O_RDONLY)  # Windows flushes only a writable handle
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    """The rename itself is durable only once the folder is flushed (POSIX); other systems can't open a folder."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
