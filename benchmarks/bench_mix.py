"""The mix job alone, on a rendered film's cached voices and score: Entropy and the same lines 5x over; then the
mux of Entropy's mix onto its cached picture, with the loudness reading the mux job's verification takes.

    filmc render films/entropy.film --cache /tmp/mixcache     # once, offline: makes the inputs
    python benchmarks/bench_mix.py [films/out/entropy/manifest.json]

The 5x film repeats Entropy's lines every 2:00 over the score looped 5 times, so only the mix's own
scaling is measured (no video, no other job). Target: Entropy <= 3 s, and 5x the film about 5x the time.
Each step prints its wall time, the CPU seconds of its ffmpeg processes (on a shared machine the CPU is the
steadier figure) and the processes themselves, so a pass added or saved shows by name.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import filmc.assemble.media as media
from filmc.assemble import NarrationPlacement, measure_loudness, mix_audio, mux
from filmc.assemble.media import ffmpeg_exe

ROOT = Path(__file__).resolve().parents[1]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _what(cmd: Sequence[str]) -> str:
    """A few words naming an ffmpeg run, by the filter instances it names or what it writes."""
    text = " ".join(cmd)
    names = {"ebur128@voice": "bus levels", "ebur128@try": "mix + trial limiters", "ebur128@mix": "mix",
             "ebur128@out": "normalise", "ebur128=peak": "loudness reading", "-c:v copy": "mux", "-vcodec copy": "mux"}
    found = [what for word, what in names.items() if word in text]
    return found[0] if found else "probe" if cmd[-2] == "-i" else "other"   # a probe names an input only


@contextmanager
def _passes() -> Iterator[list[tuple[str, float]]]:
    """Every ffmpeg process started through filmc's runner meanwhile, with its CPU seconds (runs are sequential
    here, so the children's usage before and after each one is its own)."""
    runs: list[tuple[str, float]] = []
    real: Callable[[Sequence[str]], subprocess.CompletedProcess[bytes]] = media.run_process

    def counted(cmd: Sequence[str]) -> subprocess.CompletedProcess[bytes]:
        before = _children_cpu()
        try:
            return real(cmd)
        finally:
            runs.append((_what(cmd), _children_cpu() - before))

    with mock.patch.object(media, "run_process", counted):
        yield runs


@contextmanager
def _step(name: str, note: str = "") -> Iterator[None]:
    began, cpu = time.perf_counter(), _children_cpu()
    with _passes() as runs:
        yield
    passes = [f"{what} {seconds:.2f}" for what, seconds in runs if what != "probe"]
    print(f"{name:34s} {time.perf_counter() - began:6.2f} s wall {_children_cpu() - cpu:6.2f} CPU-s{note}")
    print(f"{'':34s} {len(passes)} ffmpeg passes: " + ", ".join(passes))


def main() -> None:
    manifest = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "films" / "out" / "entropy" / "manifest.json"
    assets = {a["job"]: a for a in json.loads(manifest.read_text("utf-8"))["assets"]}
    spec = assets["mix"]["parameters"]
    length = float(spec["duration"])
    seconds: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-mix-") as tmp:
        for times in (1, 5):
            music = Path(assets[spec["music"]]["path"]) if spec["music"] else None
            if music is not None and times > 1:
                looped = Path(tmp) / f"music{times}.wav"
                subprocess.run([ffmpeg_exe(), "-v", "error", "-stream_loop", str(times - 1), "-i", str(music),
                                "-c", "copy", str(looped)], check=True)
                music = looped
            lines = [NarrationPlacement(wav=Path(assets[job]["path"]), start=start + k * length,
                                        duration=assets[job]["duration"])
                     for k in range(times) for job, start in spec["lines"]]
            began = time.perf_counter()
            with _step(f"mix x{times} ({len(lines)} lines, {length * times:.0f} s)",
                       "   (target <= 3 s)" if times == 1 else ""):
                mix_audio(lines, music, length * times, Path(tmp) / f"mix{times}.wav", loudness=spec["loudness"],
                          true_peak=spec["true_peak"])
            seconds[times] = time.perf_counter() - began
        print(f"ratio x5 / x1:                     {seconds[5] / seconds[1]:6.2f}     (target ~5, linear)")
        picture = assets.get("picture", {}).get("path")
        if picture:
            film = Path(tmp) / "film.mp4"
            with _step("mux x1 (AAC, picture copied)"):
                mux(Path(picture), Path(tmp) / "mix1.wav", film)
            with _step("mux x1's loudness reading"):
                loud = measure_loudness(film)
            print(f"{'':34s} the film reads {loud.integrated:.1f} LUFS, {loud.true_peak:.1f} dBTP "
                  f"(target {spec['loudness']}, ceiling {spec['true_peak']})")


if __name__ == "__main__":
    main()
