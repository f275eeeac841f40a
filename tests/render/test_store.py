"""The shared store behind the cache: what one cache puts there another finds, whole and verified, or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from filmc.diagnostics import FilmError
from filmc.plan.profiles import load_profile
from filmc.render.cache import Cache, cache_root, store_url
from filmc.render.outcome import AssetMeta

pytest.importorskip("fsspec")

KEY = "ab" + "0" * 62


def stored(tmp_path: Path, data: bytes = b"frames " * 1000) -> tuple[Cache, str]:
    """An asset made in one machine's cache, and so put in the store."""
    url = (tmp_path / "store").as_uri()
    maker = Cache.with_store(tmp_path / "maker", url)
    tmp = tmp_path / "made.part.mp4"
    tmp.write_bytes(data)
    maker.record("video", AssetMeta(job="video:s01-sh01", key=KEY, size=len(data), duration=2.0), tmp)
    final = maker.path("video", KEY, ".mp4")
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp.replace(final)
    maker.publish("video", KEY, ".mp4")   # in place here first, then shared (as `making.make_asset` does)
    return maker, url


def test_another_cache_finds_what_one_stored_with_its_sidecar(tmp_path: Path) -> None:
    maker, url = stored(tmp_path)
    reader = Cache.with_store(tmp_path / "reader", url)
    assert reader.has("video", KEY, ".mp4")   # the plan's "cached", without a download
    meta = reader.meta("video", KEY, ".mp4")   # a hit downloads and verifies
    assert meta is not None and meta.duration == 2.0
    assert reader.path("video", KEY, ".mp4").read_bytes() == maker.path("video", KEY, ".mp4").read_bytes()
    assert reader.sidecar("video", KEY).read_bytes() == maker.sidecar("video", KEY).read_bytes()
    assert not list((tmp_path / "store").rglob(".*.part*"))   # written beside its name, then renamed


def test_a_changed_object_in_the_store_is_a_miss_and_leaves_nothing(tmp_path: Path) -> None:
    _, url = stored(tmp_path)
    asset = next((tmp_path / "store").rglob("*.mp4"))
    asset.write_bytes(b"FRAMES " * 1000)   # the same size, other bytes: only the sha256 tells
    reader = Cache.with_store(tmp_path / "reader", url)
    assert reader.meta("video", KEY, ".mp4") is None
    assert not reader.path("video", KEY, ".mp4").exists() and not reader.sidecar("video", KEY).exists()


def test_an_asset_without_its_sidecar_is_no_hit(tmp_path: Path) -> None:
    _, url = stored(tmp_path)
    next((tmp_path / "store").rglob("*.json")).unlink()   # a put cut between the asset and its sidecar
    reader = Cache.with_store(tmp_path / "reader", url)
    assert not reader.has("video", KEY, ".mp4") and reader.meta("video", KEY, ".mp4") is None


def test_filmc_cache_as_a_url_is_the_store_and_the_journal_stays_local(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    profile = load_profile("preview", tmp_path)
    monkeypatch.setenv("FILMC_CACHE", "s3://films/cache")
    assert store_url(profile) == "s3://films/cache"
    assert cache_root(tmp_path, profile, None) == (tmp_path / ".filmc" / "cache").resolve()
    monkeypatch.setenv("FILMC_CACHE", str(tmp_path / "elsewhere"))   # a folder: the whole cache, as before
    assert store_url(profile) is None and cache_root(tmp_path, profile, None) == tmp_path / "elsewhere"


def test_a_profile_names_its_executor_and_shared_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FILMC_CACHE", raising=False)
    (tmp_path / "filmc.toml").write_text('[profile.preview]\nexecutor = "ray"\nshared_cache = "gs://studio/cache"\n')
    profile = load_profile("preview", tmp_path)
    assert (profile.executor, store_url(profile)) == ("ray", "gs://studio/cache")
    assert load_profile("final", tmp_path).executor == "local"   # and unset, unchanged
    assert "executor" not in load_profile("final", tmp_path).model_dump_json()   # old plans' JSON is unchanged
    (tmp_path / "filmc.toml").write_text('[profile.preview]\nexecutor = "dask"\n')
    with pytest.raises(FilmError):
        load_profile("preview", tmp_path)


def test_a_local_sidecar_whose_asset_is_gone_or_spoilt_is_pulled_from_the_store(tmp_path: Path) -> None:
    maker, url = stored(tmp_path)
    reader = Cache.with_store(tmp_path / "reader", url)
    assert reader.meta("video", KEY, ".mp4") is not None
    asset = reader.path("video", KEY, ".mp4")
    asset.write_bytes(b"FRAMES " * 1000)   # rotted here, the same size: the store still holds it whole
    assert reader.meta("video", KEY, ".mp4") is not None
    assert asset.read_bytes() == maker.path("video", KEY, ".mp4").read_bytes()
    asset.unlink()   # gone here, its sidecar left behind
    assert reader.meta("video", KEY, ".mp4") is not None and asset.is_file()


def test_a_store_that_refuses_is_a_storage_error_naming_it_not_a_miss(tmp_path: Path) -> None:
    from filmc.errors import StorageError

    _, url = stored(tmp_path)
    reader = Cache.with_store(tmp_path / "reader", url)
    assert reader.store is not None

    def forbidden(*args: object, **kwargs: object) -> bytes:
        raise PermissionError("403 Forbidden")

    reader.store.fs.cat_file = forbidden
    with pytest.raises(StorageError, match=r"shared cache file://.*403 Forbidden") as err:
        reader.meta("video", KEY, ".mp4")
    assert "cannot write" not in str(err.value)


def test_a_failed_upload_keeps_the_verified_asset_and_only_warns(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio
    from types import SimpleNamespace

    from filmc.backend.protocol import RenderContext
    from filmc.render import cache as cache_module
    from filmc.render import jobs
    from filmc.render.making import make_asset
    from tests.render.test_render import new_project, plan_of

    plan = plan_of(new_project(tmp_path / "film"))
    job = next(j for j in plan.jobs if j.layer == "voice")
    cache = Cache.with_store(tmp_path / "cache", (tmp_path / "store").as_uri())
    assert cache.store is not None
    puts: list[str] = []

    def refused(src: str, target: str) -> None:
        puts.append(target)
        raise ConnectionError("connection reset by peer")

    async def produce(work: object, out: Path) -> None:
        out.write_bytes(b"a paid line " * 100)

    async def verify(spec: object, plan: object, path: Path, made: object = None) -> object:
        return SimpleNamespace(duration=1.0, lufs=None, true_peak=None)

    cache.store.fs.put_file = refused
    monkeypatch.setattr(cache_module, "UPLOAD_PAUSE", 0.0)
    monkeypatch.setattr(jobs, "produce", produce)
    monkeypatch.setattr(jobs, "verify", verify)
    path = cache.path(job.spec.kind, job.key, jobs.suffix_of(job.spec))
    warnings: list[str] = []
    work = jobs.Work(job=job, spec=job.spec, deps={}, backend=None, ctx=RenderContext(workdir=tmp_path / "w"))
    meta = asyncio.run(make_asset(plan, cache, work, path, timeout=None, journalled=lambda: False,
                                  warn=warnings.append))
    assert len(puts) == cache_module.UPLOAD_TRIES   # tried again before giving up
    assert path.read_bytes() == b"a paid line " * 100 and cache.local_meta(job.spec.kind, job.key, path.suffix) == meta
    assert len(warnings) == 1 and "kept in the local cache" in warnings[0] and "file://" in warnings[0]


def test_credentials_in_the_store_url_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from filmc.errors import UsageError

    profile = load_profile("preview", tmp_path)
    monkeypatch.setenv("FILMC_CACHE", "s3://AKIDEXAMPLE:s3cr3tpassw0rd@films/cache")
    with pytest.raises(UsageError, match="credentials") as err:
        store_url(profile)
    assert "s3cr3tpassw0rd" not in str(err.value)
    monkeypatch.delenv("FILMC_CACHE")
    (tmp_path / "filmc.toml").write_text('[profile.preview]\nshared_cache = "s3://me:s3cr3tpassw0rd@films/cache"\n')
    with pytest.raises(FilmError) as bad:
        load_profile("preview", tmp_path)
    assert "credentials" in str(bad.value.diagnostics) and "s3cr3tpassw0rd" not in str(bad.value.diagnostics)


def test_a_hit_that_may_download_runs_off_the_event_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio
    import threading

    from filmc.pipeline import build_backends
    from filmc.render.executor import Executor
    from filmc.render.journal import Journal
    from tests.render.test_ray import Events
    from tests.render.test_render import new_project, plan_of

    plan = plan_of(new_project(tmp_path / "film"))
    cache = Cache.with_store(tmp_path / "cache", (tmp_path / "store").as_uri())
    ex = Executor(plan, build_backends(plan.profile, tmp_path / "film", cache), cache,
                  Journal(cache.root / "journal.jsonl"), Events())
    job = next(j for j in plan.jobs if j.layer == "voice")
    threads: list[threading.Thread] = []

    def downloading(kind: str, key: str, suffix: str) -> AssetMeta:
        threads.append(threading.current_thread())
        return AssetMeta(job=job.id, key=key, size=1, duration=1.0)

    monkeypatch.setattr(cache, "meta", downloading)
    outcome = asyncio.run(ex.make_locked(job, {}))
    assert outcome.status == "cached" and threads and threads[0] is not threading.main_thread()


def test_films_in_two_folders_sharing_a_store_share_the_jobs_in_flight(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from filmc.pipeline import render_films
    from filmc.render import run
    from tests.render.test_ray import Events
    from tests.render.test_render import new_project, plan_of

    monkeypatch.setenv("FILMC_CACHE", (tmp_path / "store").as_uri())
    plans = [plan_of(new_project(tmp_path / name)) for name in ("a", "b")]
    seen: list[object] = []

    class Prepared(Exception):
        pass

    def prepare(*args: object, shared: object = None, **kwargs: object) -> None:
        seen.append(shared)
        if len(seen) == 2:
            raise Prepared

    monkeypatch.setattr(run, "prepare", prepare)
    with pytest.raises(Prepared):
        asyncio.run(render_films(plans, out_dirs=[tmp_path / "a" / "out", tmp_path / "b" / "out"],
                                 events=Events()))
    assert len(seen) == 2 and seen[0] is seen[1]   # one key, one job in flight, across both folders
