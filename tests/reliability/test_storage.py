"""Storage faults: a cached asset cut short, changed in place or deleted; a sidecar that lies; a torn journal
line; a cache folder that can't be written; a disk that fills up mid-render. Each is detected and the asset
made again, or the render refused or stopped with one paragraph and an exit code (through the CLI, in a real
process); never a wrong film, and a re-run with the fault gone gives the film byte for byte."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from filmc.files import atomic_path, write_text_atomic
from filmc.render.cache import Cache, _seal
from filmc.render.jobs import KINDS
from filmc.render.journal import Journal
from filmc.render.outcome import AssetMeta
from tests.conftest import FILMS
from tests.filmc_backends.test_final_render import Services
from tests.reliability.crashes import FINAL, Bought, env_for, services

pytestmark = pytest.mark.slow

# A disk that fills up, in the render's own process: every fsync of a regular file adds the file's size to what
# is used, and past FILMC_TEST_DISK_BYTES it fails with ENOSPC (as a full disk does, with delayed allocation,
# for every file and journal line filmc writes). Loaded by Python at start-up from PYTHONPATH.
FULL_DISK = '''
import atexit, errno, os, stat

_limit = int(os.environ.get("FILMC_TEST_DISK_BYTES", "-1"))
if _limit >= 0:
    _used = [0]
    _fsync = os.fsync

    def fsync(fd):
        info = os.fstat(fd)
        if stat.S_ISREG(info.st_mode):
            _used[0] += info.st_size
            if _used[0] > _limit:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return _fsync(fd)

    os.fsync = fsync
    if os.environ.get("FILMC_TEST_DISK_REPORT"):
        atexit.register(lambda: open(os.environ["FILMC_TEST_DISK_REPORT"], "w").write(str(_used[0])))
'''


def cli(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "filmc.cli", "render", "hello.film", "--json", *args], cwd=root,
                          capture_output=True, text=True, timeout=300, env=env or dict(os.environ), check=False)


def made(done: subprocess.CompletedProcess[str]) -> set[str]:
    return {e["job"] for line in done.stdout.splitlines() if line.startswith("{")
            for e in [json.loads(line)] if e.get("kind") == "made"}


def film(root: Path) -> Path:
    return root / "out" / "hello" / "hello.mp4"


def one_paragraph(stderr: str, *words: str) -> None:
    """The CLI's refusal: an `error:` paragraph naming the fault, and no traceback."""
    assert "Traceback" not in stderr, stderr
    message = stderr[stderr.index("error:"):].strip()
    assert "\n\n" not in message and all(w in message for w in words), message


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """hello.film rendered once, offline: each test works on a copy of its project, cache and outputs."""
    root = tmp_path_factory.mktemp("rendered")
    (root / "hello.film").write_text((FILMS / "hello.film").read_text("utf-8"), "utf-8")
    done = cli(root)
    assert done.returncode == 0, done.stderr
    return root


@pytest.fixture
def project(rendered: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    shutil.copytree(rendered, copy)
    return copy


@pytest.fixture(scope="module")
def reference(rendered: Path) -> bytes:
    return film(rendered).read_bytes()


def asset(root: Path, job: str) -> tuple[Cache, str, str, Path]:
    """The cache of a copied project, and one job's kind, key and cached asset (from the manifest)."""
    cache = Cache(root / ".filmc" / "cache")
    entry = next(a for a in json.loads((root / "out" / "hello" / "manifest.json").read_text())["assets"]
                 if a["job"] == job)
    return cache, entry["kind"], entry["key"], cache.path(entry["kind"], entry["key"], KINDS[entry["kind"]].suffix)


def rerender_makes(root: Path, reference: bytes, *jobs: str) -> None:
    """A re-run makes exactly `jobs` again and delivers the film, byte for byte."""
    done = cli(root)
    assert done.returncode == 0, done.stderr
    assert made(done) == set(jobs)
    assert film(root).read_bytes() == reference


def edit_sidecar(cache: Cache, kind: str, key: str, reseal: bool, **changes: Any) -> None:
    """Change a sidecar's fields; `reseal`: as a consistent liar would, else leaving the seal it had."""
    fields = json.loads(cache.sidecar(kind, key).read_bytes())
    seal = fields.pop("seal")
    fields.update(changes)
    fields["seal"] = _seal(fields) if reseal else seal
    cache.sidecar(kind, key).write_text(json.dumps(fields), "utf-8")


@pytest.mark.parametrize("job", ["voice:s02-l01", "mux"])
def test_a_truncated_asset_is_made_again(project: Path, reference: bytes, job: str) -> None:
    _, _, _, path = asset(project, job)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    rerender_makes(project, reference, job)


@pytest.mark.parametrize(("lie", "reseal"), [
    ({"size": 1}, True),          # a consistent sidecar that lies about the size: the size check catches it
    ({"size": 1}, False),         # ...and torn or edited by hand: its seal catches it
    ({"duration": 99.0}, False),  # what the film is timed by, changed
    ({"sha256": "0" * 64}, True),  # a recorded digest the bytes don't have
], ids=["size", "size-unsealed", "duration", "digest"])
def test_a_sidecar_that_lies_is_not_trusted(project: Path, reference: bytes, lie: dict[str, Any],
                                            reseal: bool) -> None:
    cache, kind, key, path = asset(project, "voice:s02-l01")
    if "size" in lie:
        lie = {"size": path.stat().st_size + 1}
    edit_sidecar(cache, kind, key, reseal, **lie)
    assert cache.meta(kind, key, path.suffix) is None
    rerender_makes(project, reference, "voice:s02-l01")


def test_garbage_in_a_sidecar_is_a_miss(project: Path, reference: bytes) -> None:
    cache, kind, key, _ = asset(project, "music:score")
    cache.sidecar(kind, key).write_bytes(b'{"job": "music:score", "key": \xff\xfe')
    rerender_makes(project, reference, "music:score")


def test_an_asset_changed_in_place_is_made_again_where_its_digest_is_recorded(project: Path,
                                                                               reference: bytes) -> None:
    cache, kind, key, path = asset(project, "picture")
    meta = cache.meta(kind, key, path.suffix)
    assert meta is not None
    cache.record(kind, meta, path)   # as the executor records a new asset, given its file
    assert cache.meta(kind, key, path.suffix) == meta
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF     # one byte rots: the same size
    path.write_bytes(bytes(data))
    assert cache.meta(kind, key, path.suffix) is None and cache.has(kind, key, path.suffix)
    rerender_makes(project, reference, "picture")


def test_the_film_changed_in_place_through_its_hard_link_is_made_again(project: Path, reference: bytes) -> None:
    out = film(project)
    cli(project)   # re-delivered: out/hello.mp4 is a hard link to the cached film again
    data = bytearray(out.read_bytes())
    data[len(data) // 2] ^= 0xFF   # an editor writing into the delivered film, in place
    with open(out, "r+b") as fh:
        fh.write(bytes(data))
    rerender_makes(project, reference, "mux")


@pytest.mark.parametrize("gone", ["asset", "sidecar"])
def test_a_deleted_asset_or_sidecar_is_made_again(project: Path, reference: bytes, gone: str) -> None:
    cache, kind, key, path = asset(project, "voice:s01-l01")
    (path if gone == "asset" else cache.sidecar(kind, key)).unlink()
    rerender_makes(project, reference, "voice:s01-l01")


def test_a_torn_journal_line_is_skipped_and_the_next_entry_kept(project: Path, reference: bytes) -> None:
    journal = project / ".filmc" / "cache" / "journal.jsonl"
    before = len(Journal(journal).entries())
    with open(journal, "ab") as fh:
        fh.write('{"ts": 1.0, "event": "remote", "job": "video:s01-sh01", "detail": "Perché'.encode()[:-1])
    done = cli(project, "--force", "mux")   # a cut character, then no newline
    assert done.returncode == 0, done.stderr
    assert made(done) == {"mux"} and film(project).read_bytes() == reference
    entries = Journal(journal).entries()
    assert [(e.event, e.job) for e in entries[before:]] == [("start", "mux"), ("done", "mux")]


def test_a_paid_jobs_id_written_after_a_torn_line_is_not_lost(tmp_path: Path) -> None:
    from filmc.backend.protocol import RemoteState

    journal = Journal(tmp_path / "journal.jsonl")
    journal.write("start", "video:s01-sh01", "k1")
    with open(journal.path, "ab") as fh:
        fh.write(b'{"ts": 2.0, "event": "remote", "jo')   # a crash mid-line
    state = RemoteState(provider="gemini", operation="v1_abc")
    journal.write("remote", "video:s01-sh01", "k1", remote=state)
    assert journal.remote("k1").state == state   # not glued to the torn line, so the clip is polled, not re-bought


def test_a_cache_folder_that_cannot_be_a_folder_is_refused(project: Path) -> None:
    (project / "blocker").write_text("a file where the cache should be", "utf-8")
    done = cli(project, "--cache", "blocker/cache")
    assert done.returncode == 2
    one_paragraph(done.stderr, "cannot write", "blocker", "Not a directory", "--cache")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_cache_folder_is_refused(project: Path) -> None:
    cache = project / "ro-cache"
    cache.mkdir()
    cache.chmod(0o555)
    try:
        done = cli(project, "--cache", str(cache))
    finally:
        cache.chmod(0o755)
    assert done.returncode == 2
    one_paragraph(done.stderr, "cannot write", "Permission denied", "--cache")


@pytest.fixture(scope="module")
def full_disk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], int]]:
    """The environment that loads the full disk into a render, and the bytes a cold render fsyncs in all."""
    site = tmp_path_factory.mktemp("site")
    (site / "sitecustomize.py").write_text(FULL_DISK, "utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    root = tmp_path_factory.mktemp("measure")
    (root / "hello.film").write_text((FILMS / "hello.film").read_text("utf-8"), "utf-8")
    report = root / "used"
    done = cli(root, env={**env, "FILMC_TEST_DISK_BYTES": str(10**12), "FILMC_TEST_DISK_REPORT": str(report)})
    assert done.returncode == 0, done.stderr
    yield env, int(report.read_text())


def leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob(".*.part*")] + [p for p in (root / ".filmc" / "cache" / "work").glob("*")]


@pytest.mark.parametrize("fill", [0.02, 0.5, 0.95], ids=["media", "assembly", "outputs"])
def test_a_full_disk_stops_the_render_in_one_paragraph_and_loses_nothing(
        tmp_path: Path, reference: bytes, full_disk: tuple[dict[str, str], int], fill: float) -> None:
    env, total = full_disk
    (tmp_path / "hello.film").write_text((FILMS / "hello.film").read_text("utf-8"), "utf-8")
    done = cli(tmp_path, env={**env, "FILMC_TEST_DISK_BYTES": str(int(total * fill))})
    assert done.returncode in (3, 74), done.stderr   # a job failed on it, or the render stopped: the disk's fault
    one_paragraph(done.stderr, "No space left on device", str(tmp_path))
    assert leftovers(tmp_path) == []
    assert not film(tmp_path).exists() or film(tmp_path).read_bytes() == reference   # never a wrong film
    stored = made(done)
    again = cli(tmp_path)   # space is freed
    assert again.returncode == 0, again.stderr
    assert film(tmp_path).read_bytes() == reference and not made(again) & stored   # nothing stored is made again


@pytest.fixture
def fakes() -> Iterator[Services]:
    with services() as running:
        yield running


def test_a_full_disk_during_a_paid_render_buys_no_clip_twice(tmp_path: Path, fakes: Services,
                                                            full_disk: tuple[dict[str, str], int]) -> None:
    """A clip's id is journalled before it is waited for, so a clip that can't be kept is fetched again, not
    bought again. ElevenLabs answers a line or the score with the create itself: an answer that arrives when
    the disk is full can't be kept, and the re-run buys it again (counted, not hidden: see the report)."""
    env, total = full_disk
    (tmp_path / "hello.film").write_text((FILMS / "hello.film").read_text("utf-8"), "utf-8")
    (tmp_path / "filmc.toml").write_text(FINAL.toml, "utf-8")
    paid = {**env_for(tmp_path, fakes), "PYTHONPATH": env["PYTHONPATH"]}
    (tmp_path / "tmp").mkdir()
    done = cli(tmp_path, *FINAL.args, env={**paid, "FILMC_TEST_DISK_BYTES": str(total // 4)})
    assert done.returncode in (3, 74), done.stderr
    one_paragraph(done.stderr, "No space left on device")
    again = cli(tmp_path, *FINAL.args, env={k: v for k, v in paid.items() if k != "PYTHONPATH"})
    assert again.returncode == 0, again.stderr
    bought = Bought.of(fakes)
    assert [item for item in bought.duplicates() if item.startswith(("video:", "prompt:"))] == []
    assert sum(1 for item in bought.items if item.startswith("video:")) == 3
    assert leftovers(tmp_path) == []


def test_an_atomic_write_on_a_full_disk_leaves_the_old_file_and_names_the_new(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "manifest.json"
    write_text_atomic(target, "old")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError) as raised, atomic_path(target) as tmp:
        tmp.write_text("new", "utf-8")
    assert raised.value.errno == errno.ENOSPC and raised.value.filename == str(target)
    assert target.read_text("utf-8") == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json"]
    with pytest.raises(OSError) as torn:
        Journal(tmp_path / "journal.jsonl").write("start", "mux", "k")
    assert torn.value.filename == str(tmp_path / "journal.jsonl")


def test_a_sidecar_written_before_seals_is_still_a_hit(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    meta = AssetMeta(job="mix", key="ab" * 32, size=3, duration=1.0)
    cache.path("mix", meta.key, ".wav").parent.mkdir(parents=True)
    cache.path("mix", meta.key, ".wav").write_bytes(b"abc")
    cache.sidecar("mix", meta.key).write_text(meta.model_dump_json(), "utf-8")   # as filmc wrote them before
    assert cache.meta("mix", meta.key, ".wav") == meta
