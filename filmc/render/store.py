"""The shared content-addressed store: the cache's layout (`<kind>/<key[:2]>/<key><suffix>` and its sidecar)
behind an fsspec filesystem, so every worker of a cluster, and every render of a studio, reads and writes one.

`s3://bucket/prefix` and `gs://bucket/prefix` use the user's usual credentials (s3fs and gcsfs read the
environment, profiles and instance roles themselves; `AWS_ENDPOINT_URL` points s3fs at MinIO or moto);
`file:///mnt/shared/filmc` is a shared disk. An object appears whole or not at all: on a disk it is written
beside its name and renamed; in an object store it is one put of a finished file (a multipart upload shows
nothing until it completes). The asset goes first and its sidecar last, so a sidecar in the store always
names a whole asset; a reader still checks the asset's size and sha256 against it, as the local cache does.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from filmc.errors import StorageError, UsageError
from filmc.files import owned_name
from filmc.secrets import redact

# The environment a store's filesystem reads its credentials and endpoint from (s3fs: botocore's; gcsfs: google
# auth's): what a Ray task that reads or writes the store is sent, and nothing else of the kind.
STORE_ENV_PREFIXES = {"s3": ("AWS_",), "s3a": ("AWS_",), "gs": ("GOOGLE_", "GCSFS_"), "gcs": ("GOOGLE_", "GCSFS_")}
# Of those, the values that are secrets (redacted from every message, like a backend's key)
STORE_SECRETS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


class Store:
    """One shared store, by URL; its methods take paths relative to it, as the local cache lays them out."""

    def __init__(self, url: str) -> None:
        try:
            import fsspec
        except ImportError:
            raise UsageError(f"a shared cache ({url}) needs fsspec: pip install 'filmc[ray]'") from None
        self.url = url.rstrip("/")
        try:
            # a fresh instance: credentials and endpoints are read now, not from another store's first use
            fs, base = fsspec.core.url_to_fs(self.url, skip_instance_cache=True)
        except (ImportError, ValueError) as err:   # s3fs or gcsfs not installed, or no such protocol
            raise UsageError(f"cannot open the shared cache {self.url}: {err}. For s3:// install "
                             "'filmc[ray]' (s3fs), for gs:// gcsfs") from None
        self.fs: Any = fs
        self.base = str(base).rstrip("/")
        self.local = "file" in (fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,))

    def _at(self, relative: str) -> str:
        return f"{self.base}/{relative}"

    def read(self, relative: str) -> bytes | None:
        """A small object's bytes (a sidecar), or None if it is not there."""
        try:
            data: bytes = self.fs.cat_file(self._at(relative))
        except FileNotFoundError:
            return None
        except Exception as err:   # 403, a network fault, a throttled bucket: the store's, and said so
            raise self.error("reading", relative, err) from None
        return data

    def size(self, relative: str) -> int | None:
        try:
            return int(self.fs.info(self._at(relative))["size"])
        except FileNotFoundError:
            return None
        except Exception as err:
            raise self.error("looking up", relative, err) from None

    def get(self, relative: str, local: Path) -> None:
        """Download to `local` (a temp file the caller verifies and moves into place)."""
        try:
            self.fs.get_file(self._at(relative), str(local))
        except FileNotFoundError:
            raise
        except Exception as err:
            raise self.error("downloading", relative, err) from None

    def put(self, asset: Path, relative: str, sidecar: bytes, sidecar_relative: str) -> None:
        """The asset, whole, then its sidecar: a reader that finds the sidecar finds the asset it describes."""
        try:
            self._put(relative, lambda target: self.fs.put_file(str(asset), target))
            self._put(sidecar_relative, lambda target: self.fs.pipe_file(target, sidecar))
        except Exception as err:
            raise self.error("uploading", relative, err) from None

    def error(self, doing: str, relative: str, err: BaseException) -> StorageError:
        """Any failure but not-found (a 403, a network fault): a StorageError that names the store, not the disk."""
        said = redact(" ".join(str(err).split()) or type(err).__name__, store_secrets(self.url))
        return StorageError(f"the shared cache {self.url} failed {doing} {relative}: {type(err).__name__}: {said}. "
                            "Check its credentials, permissions and network (docs/scale.md); what was made is kept "
                            "in the local cache")

    def _put(self, relative: str, write: Any) -> None:
        target = self._at(relative)
        if not self.local:
            write(target)   # one put: an object store shows the whole object or nothing
            return
        self.fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
        temp = f"{target.rsplit('/', 1)[0]}/.{owned_name()}.part"
        try:
            write(temp)
            self.fs.mv(temp, target)   # a rename within one filesystem
        finally:
            with contextlib.suppress(FileNotFoundError):
                self.fs.rm_file(temp)


def is_url(location: str) -> bool:
    """`s3://…`, `gs://…`, `file://…`: a shared store; a bare path is the local cache folder itself."""
    return "://" in location


def has_userinfo(url: str) -> bool:
    """`s3://user:pass@bucket/…`: credentials in the URL itself (which is written into plans and messages)."""
    authority = url.split("://", 1)[-1].split("/", 1)[0]
    return "@" in authority


def store_env(url: str, environ: Mapping[str, str]) -> dict[str, str]:
    """The variables, of `environ`, that the store at `url` reads its credentials and endpoint from."""
    prefixes = STORE_ENV_PREFIXES.get(url.split("://", 1)[0], ())
    return {name: value for name, value in environ.items() if name.startswith(prefixes)} if prefixes else {}


def store_secrets(url: str | None) -> frozenset[str]:
    """The store's credential values in this environment, to redact wherever a message could echo them."""
    if url is None or not url.startswith(("s3", "gs", "gcs")):
        return frozenset()
    return frozenset(value for name in STORE_SECRETS if len(value := os.environ.get(name, "")) >= 8)
