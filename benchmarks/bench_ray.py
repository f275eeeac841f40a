"""Entropy on the local executor, then on Ray on this same machine: Ray's overhead, and the picture chunks' times.

Both renders are cold (each project its own empty cache) and run in this process, so their wall times compare
like with like: the local executor's, then the Ray executor's on a local cluster started beforehand (its start
is timed apart: a cluster is started once, not once per render). The local render also times each picture chunk
(one ffmpeg pass each, split at cuts), which docs/scale.md turns into a projection for N workers: the rest of the
render, plus the chunks scheduled longest first onto N workers, plus the stream-copy join. The machine may be
shared: the load average is printed at the start and the end.

    python benchmarks/bench_ray.py            # full quality, a few minutes on two cores
    python benchmarks/bench_ray.py --quick    # --draft pictures (half size, fastest encode)
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from filmc.assemble.video import CHUNKS_AT_ONCE
from filmc.pipeline import compile_film, render_film
from filmc.render.events import RenderEvent

ROOT = Path(__file__).resolve().parents[1]
ENTROPY = ROOT / "films" / "entropy.film"
TARGET = 1.15   # Ray on one machine may cost at most this much more wall time than the local executor
WORKERS = (1, 2, 4, 8, 16, 32)


class Quiet:
    """An event sink that keeps nothing: the benchmark prints its own lines."""

    def emit(self, event: RenderEvent) -> None:
        pass

    def close(self) -> None:
        pass


def project(root: Path, name: str) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    shutil.copy(ENTROPY, folder / ENTROPY.name)
    return folder / ENTROPY.name


def render(film: Path, executor: str, draft: bool) -> tuple[float, Path]:
    """Wall seconds of compile + render + delivery, and the film it wrote."""
    started = time.perf_counter()
    plan, _ = asyncio.run(compile_film(film, draft=draft))
    summary = asyncio.run(render_film(plan, out_dir=film.parent / "out", events=Quiet(), executor_name=executor))
    failed = [o.job for o in summary.outcomes if o.status == "failed"]
    if failed:
        raise SystemExit(f"{executor}: jobs failed: {', '.join(failed)}")
    mp4 = next(Path(summary.out_dir).glob("*.mp4"))
    return time.perf_counter() - started, mp4


def timed_chunks() -> list[float]:
    """Time every chunk pass of the picture (the local executor runs them in this process, two at a time, so each
    time is the chunk's while it shares the cores with another)."""
    from filmc.assemble import video

    times: list[float] = []
    once = video._render_once

    def timed(*args: Any, **kwargs: Any) -> None:
        started = time.perf_counter()
        once(*args, **kwargs)
        times.append(time.perf_counter() - started)

    video._render_once = timed   # type: ignore[assignment]
    return times


def makespan(times: list[float], workers: int) -> float:
    """Longest-first onto `workers` (within 4/3 of the best schedule): when the last chunk is done."""
    loads = [0.0] * workers
    for t in sorted(times, reverse=True):
        heapq.heappush(loads, heapq.heappop(loads) + t)
    return max(loads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="--draft pictures: half size, fastest encode")
    args = parser.parse_args()
    import ray

    print(f"load average at start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    with tempfile.TemporaryDirectory(prefix="bench-ray-") as tmp:
        chunks = timed_chunks()
        local, local_mp4 = render(project(Path(tmp), "local"), "local", args.quick)
        started = time.perf_counter()
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False, logging_level="WARNING")
        ray_start = time.perf_counter() - started
        on_ray, ray_mp4 = render(project(Path(tmp), "ray"), "ray", args.quick)
        same = local_mp4.read_bytes() == ray_mp4.read_bytes()
        ray.shutdown()
    ratio = on_ray / local
    print(f"local executor: {local:.1f} s   ray executor: {on_ray:.1f} s (cluster start {ray_start:.1f} s apart)")
    print(f"overhead ratio: {ratio:.2f}x (target <= {TARGET}x: {'met' if ratio <= TARGET else 'NOT met'}); "
          f"films byte-identical: {'yes' if same else 'NO'}")
    picture = sum(chunks)
    # the local executor encodes CHUNKS_AT_ONCE chunks side by side: the picture's share of its wall time is
    # their makespan on that many workers, not their sum
    rest = local - makespan(chunks, CHUNKS_AT_ONCE)
    print(f"picture: {len(chunks)} chunks, {picture:.1f} s in all, longest {max(chunks):.1f} s, "
          f"each: {' '.join(f'{t:.1f}' for t in chunks)}; locally {CHUNKS_AT_ONCE} at a time, "
          f"{makespan(chunks, CHUNKS_AT_ONCE):.1f} s; the rest of the render: {rest:.1f} s")
    print("projected wall time for N workers (the rest as measured + the chunks longest-first onto N):")
    for n in WORKERS:
        print(f"  N={n:<3} {rest + makespan(chunks, n):6.1f} s   (chunks {makespan(chunks, n):5.1f} s)")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
