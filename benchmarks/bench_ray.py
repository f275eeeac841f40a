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
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from filmc.assemble import video
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
    times: list[float] = []
    once = video._render_once

    def timed(*args: Any, **kwargs: Any) -> None:
        started = time.perf_counter()
        once(*args, **kwargs)
        times.append(time.perf_counter() - started)

    video._render_once = timed
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
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
        ray_start = time.perf_counter() - started
        on_ray, ray_mp4 = render(project(Path(tmp), "ray"), "ray", args.quick)
        same = local_mp4.read_bytes() == ray_mp4.read_bytes()
        ray.shutdown()
        # once more, a chunk at a time: each chunk's time with a core to itself, as on a worker of its own (two at
        # a time on two cores, each is slower); the projection for N workers is made from these
        paired = list(chunks)
        chunks.clear()
        video.CHUNKS_AT_ONCE = 1
        alone, _ = render(project(Path(tmp), "alone"), "local", args.quick)
    ratio = on_ray / local
    print(f"local executor: {local:.1f} s   ray executor: {on_ray:.1f} s (cluster start {ray_start:.1f} s apart)")
    print(f"overhead ratio: {ratio:.2f}x (target <= {TARGET}x: {'met' if ratio <= TARGET else 'NOT met'}); "
          f"films byte-identical: {'yes' if same else 'NO'}")
    print(f"picture, {CHUNKS_AT_ONCE} chunks at a time (the local executor): {len(paired)} chunks, "
          f"each: {' '.join(f'{t:.1f}' for t in paired)}, {makespan(paired, CHUNKS_AT_ONCE):.1f} s")
    # the rest: what the render does that is not the picture's chunks and not beside them (compile before, the
    # join, mux and delivery after; the sound runs on the other core meanwhile)
    rest = alone - sum(chunks)
    print(f"picture, a chunk at a time: each: {' '.join(f'{t:.1f}' for t in chunks)}, {sum(chunks):.1f} s in all, "
          f"longest {max(chunks):.1f} s; that render {alone:.1f} s, the rest of it {rest:.1f} s")
    print("projected wall time for N workers (the rest + the chunks, each alone, longest-first onto N):")
    for n in WORKERS:
        print(f"  N={n:<3} {rest + makespan(chunks, n):6.1f} s   (chunks {makespan(chunks, n):5.1f} s)")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
