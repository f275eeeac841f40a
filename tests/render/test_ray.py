"""The same Plan on Ray: a local two-CPU cluster gives the local executor's bytes, pays once for each paid job even
when a worker dies mid-job, and a shared cache on S3 (moto, on loopback) serves a second render every job."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from filmc.cli.progress import PlainEvents
from filmc.deliver.outputs import RenderSummary
from filmc.pipeline import compile_film, render_film
from tests.filmc_backends.final import hello_project
from tests.filmc_backends.test_final_render import PROFILE, Services, assert_made_once, services
from tests.render.test_render import new_project

__all__ = ["services"]   # the fakes' fixture, shared with the final profile's own tests

OUTPUTS = ("hello.mp4", "hello.srt", "hello.otio")


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    """One small local cluster for the module (starting one costs seconds): two CPUs, no dashboard."""
    ray = pytest.importorskip("ray")
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    if started:
        ray.shutdown()


def render(film: Path, profile: str = "preview", executor: str = "local", max_cost: Decimal | None = None,
           out: str = "out") -> RenderSummary:
    plan, _ = asyncio.run(compile_film(film, profile, max_cost=max_cost, for_render=True))
    return asyncio.run(render_film(plan, out_dir=film.parent / out, events=PlainEvents(), max_cost=max_cost,
                                   backoff=0.01, executor_name=executor))


def outputs(summary: RenderSummary, project: Path) -> dict[str, bytes]:
    """The film, its subtitles and its timeline, with the project's own folder named alike."""
    folder = Path(summary.out_dir)
    return {name: (folder / name).read_bytes().replace(str(project).encode(), b"PROJECT") for name in OUTPUTS}


def statuses(summary: RenderSummary) -> dict[str, str]:
    return {o.job: o.status for o in summary.outcomes}


def test_without_ray_the_executor_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from filmc.cli import main

    monkeypatch.setitem(sys.modules, "ray", None)   # import ray raises ImportError, as when it isn't installed
    film = new_project(tmp_path)
    result = CliRunner().invoke(main, ["render", str(film), "--executor", "ray"])
    assert result.exit_code == 2, result.output
    assert "pip install 'filmc[ray]'" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_an_unknown_executor_is_a_usage_error(tmp_path: Path) -> None:
    from filmc.cli import main

    result = CliRunner().invoke(main, ["render", str(new_project(tmp_path)), "--executor", "dask"])
    assert result.exit_code == 2 and "use local, ray or ray://HOST:PORT" in result.output, result.output


def test_one_budget_for_several_films_is_split_by_their_estimates() -> None:
    from filmc.errors import BudgetError
    from filmc.render.run import budget_shares

    shares = budget_shares(Decimal(10), [Decimal("1.00"), Decimal("3.00"), Decimal(0)])
    assert shares == [Decimal("2.50"), Decimal("7.50"), Decimal(0)]   # a free film may spend nothing
    assert sum(s for s in shares if s is not None) <= Decimal(10)
    assert budget_shares(None, [Decimal(1)]) == [None]
    with pytest.raises(BudgetError, match="together"):
        budget_shares(Decimal(3), [Decimal(2), Decimal(2)])


@pytest.mark.slow
def test_hello_on_ray_is_byte_identical_to_local(ray_cluster: None, tmp_path: Path) -> None:
    local = render(new_project(tmp_path / "local"))
    on_ray = render(new_project(tmp_path / "ray"), executor="ray")
    assert statuses(on_ray) == statuses(local) and "failed" not in statuses(local).values()
    assert outputs(on_ray, tmp_path / "ray") == outputs(local, tmp_path / "local")
    again = render(new_project(tmp_path / "ray"), executor="ray")   # the cache it wrote serves the next render
    assert set(statuses(again).values()) <= {"cached", "drawn"}


@pytest.mark.slow
def test_final_film_on_ray_pays_once_and_matches_local(ray_cluster: None, services: Services,
                                                       tmp_path: Path) -> None:
    on_ray = render(hello_project(tmp_path / "ray", PROFILE), "final", "ray", Decimal(5))
    assert {o.status for o in on_ray.outcomes} == {"made"}
    assert_made_once(services)   # each shot filmed, each line spoken, the score composed: once
    assert sum(e.usd for e in on_ray.manifest.ledger) > 0   # the workers' charges reached the driver's ledger
    local = render(hello_project(tmp_path / "local", PROFILE), "final", "local", Decimal(5))
    assert outputs(on_ray, tmp_path / "ray") == outputs(local, tmp_path / "local")


@pytest.mark.slow
def test_a_worker_killed_after_its_create_is_retried_without_paying_again(
        ray_cluster: None, services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "killed"
    monkeypatch.setenv("FILMC_RAY_CRASH_AFTER_JOURNAL", str(marker))   # the first paid job's worker dies once
    film = hello_project(tmp_path / "film", PROFILE)
    summary = render(film, "final", "ray", Decimal(5))
    assert marker.exists()   # a worker really died, right after its remote id was journalled
    assert {o.status for o in summary.outcomes} == {"made"}
    assert_made_once(services)   # Ray's retry resumed the journalled job: no second create
    journal = (film.parent / ".filmc" / "cache" / "journal.jsonl").read_text().splitlines()
    ids = [e["key"] for e in map(json.loads, journal) if e["event"] == "remote"]
    assert len(ids) == len(set(ids))   # one remote id a key: the retry journalled nothing new


@pytest.fixture(scope="module")
def s3() -> Iterator[str]:
    """An S3 server on loopback (moto) with one bucket; its endpoint and test credentials, as a user's would be."""
    pytest.importorskip("s3fs")
    server_mod = pytest.importorskip("moto.server")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)   # a line a request is noise here
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {"AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_DEFAULT_REGION": "us-east-1"}
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    import boto3

    boto3.client("s3").create_bucket(Bucket="films")
    yield "s3://films/filmc-cache"
    server.stop()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.mark.slow
def test_a_shared_cache_on_s3_serves_every_job_to_a_second_render(ray_cluster: None, s3: str, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import fsspec

    monkeypatch.setenv("FILMC_CACHE", s3)
    first = render(new_project(tmp_path / "a"), executor="ray")
    assert "failed" not in statuses(first).values(), [o.error for o in first.outcomes]
    fs, base = fsspec.core.url_to_fs(s3, skip_instance_cache=True)
    stored = fs.find(base)
    assert any(p.endswith(".mp4") for p in stored) and any(p.endswith(".json") for p in stored)
    # another machine, as it were: a new project folder with an empty local cache, the same store
    second = render(new_project(tmp_path / "b"), executor="ray")
    assert set(statuses(second).values()) <= {"cached", "drawn"}, statuses(second)
    picture_and_words = ("hello.mp4", "hello.srt")   # the timeline says `cached` where the first said `made`
    assert [outputs(second, tmp_path / "b")[n] for n in picture_and_words] == [
        outputs(first, tmp_path / "a")[n] for n in picture_and_words]
    local = render(new_project(tmp_path / "c"))   # the local executor reads the same store
    assert set(statuses(local).values()) <= {"cached", "drawn"}


@pytest.mark.slow
def test_picture_chunks_encoded_as_parallel_tasks_join_to_the_same_bytes(ray_cluster: None, tmp_path: Path) -> None:
    from filmc.assemble.video import Card, Format, PictureSegment, Transition, render_picture
    from filmc.render.ray_worker import chunks_on_ray

    fmt = Format(width=160, height=90, fps_num=24)
    fade = Transition(kind="crossfade", frames=6)
    segments = [PictureSegment(source=None, card=Card(lines=(f"Card {n}",), style="title"), frames=12,
                               grade=("#0B1E3F", "#3A7BD5"), grade_method="tint",
                               transition_in=fade if n % 3 == 1 else None) for n in range(7)]
    timings: list[tuple[range, Path]] = []

    def recorded(one_pass: object, parts: list[tuple[range, Path]]) -> None:
        timings.extend(parts)
        chunks_on_ray(one_pass, parts)   # type: ignore[arg-type]

    render_picture(segments, fmt, tmp_path / "here.mp4", workdir=tmp_path / "w1", max_inputs=2)
    render_picture(segments, fmt, tmp_path / "ray.mp4", workdir=tmp_path / "w2", max_inputs=2, map_chunks=recorded)
    assert len(timings) >= 3   # really in chunks, each a task of its own
    assert (tmp_path / "ray.mp4").read_bytes() == (tmp_path / "here.mp4").read_bytes()


@pytest.mark.slow
def test_several_films_on_ray_make_the_jobs_they_share_once(ray_cluster: None, tmp_path: Path) -> None:
    from filmc.cli import main

    hello = new_project(tmp_path)
    again = tmp_path / "again.film"
    again.write_text(hello.read_text("utf-8").replace('film "Hello"', 'film "Hello Again"'), "utf-8")
    result = CliRunner().invoke(main, ["render", str(hello), str(again), "--executor", "ray", "--json"])
    assert result.exit_code == 0, result.output
    finished = [json.loads(line) for line in result.output.splitlines() if '"finished"' in line]
    assert [Path(f["outputs"]["film"]).name for f in finished] == ["hello.mp4", "hello-again.mp4"]
    events = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    made = [e["job"] for e in events if e.get("kind") == "made"]
    voices = [job.split("/", 1)[1] for job in made if "/voice:" in job]
    assert sorted(voices) == ["voice:s01-l01", "voice:s02-l01", "voice:s03-l01"]   # each line spoken once, for both


class Events:
    def __init__(self) -> None:
        self.seen: list[object] = []

    def emit(self, event: object) -> None:
        self.seen.append(event)

    def close(self) -> None:
        return None


def ray_executor(film: Path, *, store: str | None = None, max_cost: Decimal | None = None,
                 address: str = "") -> object:
    """A Ray executor for a compiled film, not started (no cluster needed until `run`)."""
    from filmc.pipeline import build_backends
    from filmc.render.cache import Cache
    from filmc.render.journal import Journal
    from filmc.render.ray_executor import RayExecutor

    plan, _ = asyncio.run(compile_film(film))
    cache = Cache.with_store(film.parent / ".filmc" / "cache", store)
    backends = build_backends(plan.profile, film.parent, cache)
    return RayExecutor(plan, backends, cache, Journal(cache.root / "journal.jsonl"), Events(), address=address,
                       max_cost=max_cost, backoff=0.01)


class LostWorkers:
    """Ray's remote function, with every task's worker lost (as a node dying): the options each was sent with."""

    def __init__(self) -> None:
        self.options: list[dict[str, object]] = []

    def remote(self, *args: object) -> object:
        import ray

        async def lost() -> object:
            raise ray.exceptions.WorkerCrashedError()

        return lost()

    def with_options(self, **options: object) -> LostWorkers:
        self.options.append(options)
        return self


def test_a_paid_job_whose_worker_is_lost_mid_create_is_possibly_billed_and_not_rerun_by_ray(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from filmc.render.ray_executor import RayExecutor
    from tests.conftest import PLUGINS

    pytest.importorskip("ray")
    monkeypatch.syspath_prepend(str(PLUGINS))
    film = new_project(tmp_path, toml='[profile.preview.video]\nbackend = "remotevideo"\n')
    ex = ray_executor(film, max_cost=Decimal("100"))
    assert isinstance(ex, RayExecutor)
    job = next(j for j in ex.plan.jobs if j.remote)
    ex.max_cost = job.estimated_usd * 2 - Decimal("0.01")   # room for one lost create and one more, not two more
    tasks = LostWorkers()
    ex.task = type("Task", (), {"options": lambda self, **o: tasks.with_options(**o)})()
    outcome = asyncio.run(ex.make_locked(job, {}))
    assert all(o["max_retries"] == 0 for o in tasks.options)   # Ray never re-runs a create unseen
    lost = [e for e in ex.ledger.entries if e.basis == "possibly-billed"]
    assert [e.usd for e in lost] == [job.estimated_usd] and "worker lost mid-create" in lost[0].what
    # the driver's own retry came, and was refused by the budget that now counts the possible charge
    assert len(tasks.options) == 1 and outcome.status == "failed" and "--max-cost" in (outcome.error or "")
    assert ex.journal.remote(job.key).unconfirmed   # the next render records it as possibly billed too



def test_a_cluster_of_ones_own_without_gpus_yet_is_told_once_not_refused(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Ray lists only the nodes that have joined: an autoscaling cluster may add GPU nodes when jobs ask."""
    from filmc.render.events import RenderEvent
    from filmc.render.ray_executor import RayExecutor
    from tests.conftest import PLUGINS

    ray = pytest.importorskip("ray")
    monkeypatch.syspath_prepend(str(PLUGINS))
    monkeypatch.setenv("RAY_ADDRESS", "head:6379")
    monkeypatch.setattr(ray, "is_initialized", lambda: True)
    monkeypatch.setattr(ray, "nodes", lambda: [{"Alive": True, "Resources": {"CPU": 8.0}}])
    film = new_project(tmp_path, toml='[profile.preview.video]\nbackend = "gpuvideo"\n')
    ex = ray_executor(film, store=(tmp_path / "store").as_uri())
    assert isinstance(ex, RayExecutor)
    ex.refuse_without_gpus()   # again, as `run` does: said once
    notes = [e for e in ex.events.seen if isinstance(e, RenderEvent) and e.kind == "note"]   # type: ignore[attr-defined]
    assert len(notes) == 1 and "gpuvideo needs 1 GPU a job" in notes[0].message and "wait" in notes[0].message

def test_a_ray_client_cluster_without_a_shared_store_is_refused_before_any_job(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from filmc.cli import main

    pytest.importorskip("ray")
    monkeypatch.delenv("FILMC_CACHE", raising=False)
    film = new_project(tmp_path)
    result = CliRunner().invoke(main, ["render", str(film), "--executor", "ray://127.0.0.1:1"])
    assert result.exit_code == 2, result.output
    assert "shared cache" in result.output and "FILMC_CACHE=s3://" in result.output
    assert not (tmp_path / "out").exists()


def test_a_multi_node_cluster_without_a_shared_store_is_refused(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from filmc.errors import UsageError

    ray = pytest.importorskip("ray")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setattr(ray, "is_initialized", lambda: True)
    monkeypatch.setattr(ray, "nodes", lambda: [{"Alive": True}, {"Alive": True}])
    film = new_project(tmp_path)
    with pytest.raises(UsageError, match="2 nodes needs a shared cache"):
        ray_executor(film)
    ray_executor(film, store=(tmp_path / "store").as_uri())   # with one, accepted


def test_each_task_gets_only_its_backends_keys_and_store_credentials_are_redacted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from filmc.render.ray_executor import RayExecutor
    from tests.conftest import PLUGINS

    pytest.importorskip("ray")
    pytest.importorskip("s3fs")
    monkeypatch.syspath_prepend(str(PLUGINS))
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-not-for-ffmpeg-0123456789")
    monkeypatch.setenv("LEAKY_API_KEY", "leaky-key-0123456789")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEKEYID0001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret-0123456789")
    film = new_project(tmp_path, toml='[profile.preview.video]\nbackend = "leakyvideo"\n')
    alone = ray_executor(film)
    assert isinstance(alone, RayExecutor)
    video = next(j for j in alone.plan.jobs if j.layer == "video")
    mux = next(j for j in alone.plan.jobs if j.id == "mux")
    assert alone.env_for(video)["LEAKY_API_KEY"] == "leaky-key-0123456789"
    assert not any(k.startswith(("AWS_", "ANTHROPIC")) for k in alone.env_for(video))   # no store, no Claude
    assert not any("API_KEY" in k or k.startswith("AWS_") for k in alone.env_for(mux))   # ffmpeg: no key at all
    shared = ray_executor(film, store="s3://films/cache")
    assert isinstance(shared, RayExecutor)
    assert shared.env_for(mux)["AWS_SECRET_ACCESS_KEY"] == "aws-secret-0123456789"
    assert "ANTHROPIC_API_KEY" not in shared.env_for(mux) and "LEAKY_API_KEY" not in shared.env_for(mux)
    assert "AKIAEXAMPLEKEYID0001" in shared.secrets   # a worker's error echoing it is redacted on the driver


@pytest.mark.slow
def test_the_courier_is_pinned_to_the_driver_and_its_loss_fails_the_render(
        ray_cluster: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ray

    from filmc.errors import UsageError
    from filmc.render.executor import Executor
    from filmc.render.ray_executor import RayExecutor

    ex = ray_executor(new_project(tmp_path))
    assert isinstance(ex, RayExecutor)
    here = ex.courier_options()["scheduling_strategy"]
    assert (here.node_id, here.soft) == (ray.get_runtime_context().get_node_id(), False)

    async def forever(self: Executor) -> dict[str, object]:
        await asyncio.sleep(3600)
        return {}

    async def broken(self: RayExecutor) -> None:
        raise RuntimeError("the courier died")

    monkeypatch.setattr(Executor, "run", forever)
    monkeypatch.setattr(RayExecutor, "pump", broken)
    with pytest.raises(UsageError, match=r"courier .* failed: RuntimeError: the courier died"):
        asyncio.run(asyncio.wait_for(ex.run(), 60))


@pytest.mark.slow
def test_remote_ids_waiting_in_the_courier_are_journalled_on_interrupt(
        ray_cluster: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from filmc.backend.protocol import RemoteState
    from filmc.render.executor import Executor
    from filmc.render.ray_executor import RayExecutor
    from filmc.render.ray_worker import Remember

    ex = ray_executor(new_project(tmp_path))
    assert isinstance(ex, RayExecutor)
    state = RemoteState(provider="fake", operation="op-42")

    async def interrupted(self: RayExecutor) -> dict[str, object]:
        self.courier.ask.remote(Remember(job="video:s01-sh01", key="k" * 64, state=state))   # a worker's new id
        await asyncio.sleep(1.0)   # it reaches the courier; the pump (stuck below) never takes it
        raise asyncio.CancelledError   # Ctrl-C

    async def stuck(self: RayExecutor) -> None:
        await asyncio.sleep(3600)

    monkeypatch.setattr(Executor, "run", interrupted)
    monkeypatch.setattr(RayExecutor, "pump", stuck)
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(ex.run())
    assert ex.journal.remote("k" * 64).state == state   # drained into the journal before the courier was killed


def test_the_picture_holds_no_cpu_and_paid_jobs_are_never_rerun_by_ray(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from filmc.plan.model import PictureSpec
    from filmc.render.ray_executor import WORKER_RETRIES, task_options
    from tests.conftest import PLUGINS

    monkeypatch.syspath_prepend(str(PLUGINS))
    film = new_project(tmp_path, toml='[profile.preview.video]\nbackend = "remotevideo"\n')
    plan, _ = asyncio.run(compile_film(film))
    picture = next(j for j in plan.jobs if isinstance(j.spec, PictureSpec))
    paid = next(j for j in plan.jobs if j.remote)
    free = next(j for j in plan.jobs if not j.remote and not isinstance(j.spec, PictureSpec))
    assert task_options(picture)["num_cpus"] == 0 and task_options(picture)["max_retries"] == WORKER_RETRIES
    assert (task_options(paid)["num_cpus"], task_options(paid)["max_retries"]) == (0, 0)
    assert (task_options(free)["num_cpus"], task_options(free)["max_retries"]) == (1, WORKER_RETRIES)
    assert "num_gpus" not in task_options(free) and task_options(free, gpus=1)["num_gpus"] == 1


def test_a_job_that_needs_a_gpu_the_cluster_lacks_is_refused_before_any_job(
        ray_cluster: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The two-CPU test cluster has no GPU: a backend declaring one would wait for ever, so the render is refused."""
    from filmc.cli import main
    from tests.conftest import PLUGINS

    monkeypatch.syspath_prepend(str(PLUGINS))
    film = new_project(tmp_path, toml='[profile.preview.video]\nbackend = "gpuvideo"\n')
    result = CliRunner().invoke(main, ["render", str(film), "--executor", "ray"])
    assert result.exit_code == 2, result.output
    assert "gpuvideo needs 1 GPU a job, and no node of the cluster has any" in " ".join(result.output.split())
    assert not (tmp_path / "out").exists() and not list((tmp_path / ".filmc" / "cache").glob("video/*/*.mp4"))


@pytest.mark.slow
def test_chunks_from_a_task_that_holds_no_cpu_run_side_by_side(ray_cluster: None, tmp_path: Path) -> None:
    """Two chunk tasks of a CPU each, handed out by a task that holds none, run at the same time on a two-CPU
    cluster: each waits until it sees the other has started (one after the other, the first would time out)."""
    import ray

    from filmc.render.ray_worker import chunks_on_ray

    def one_pass(chunk: range, part: Path) -> None:
        import time

        part.with_suffix(".started").touch()
        deadline = time.monotonic() + 60   # a worker process may have to start first on a busy machine
        while len(list(part.parent.glob("*.started"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        part.write_text("together" if len(list(part.parent.glob("*.started"))) == 2 else "alone")

    parts = [(range(n, n + 1), tmp_path / f"part{n}.txt") for n in range(2)]
    coordinate = ray.remote(chunks_on_ray).options(num_cpus=0)
    ray.get(coordinate.remote(one_pass, parts))
    assert [part.read_text() for _, part in parts] == ["together", "together"]
