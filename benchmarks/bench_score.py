"""The `music:score` job's synthesis alone: Entropy's temp score (2:00, 48 kHz stereo) through `render_score`.

    python benchmarks/bench_score.py                      # 5 cold runs, then 5 warm runs in one process
    python benchmarks/bench_score.py --against OLD.py     # the same, alternating with another copy of the engine
    git show HEAD:backends/filmc_backends/synth_engine.py > /tmp/old_engine.py   # e.g. the committed engine

"cold" is one render in a fresh child process, as the music job does it (the process's heap and caches are
new); "warm" renders again and again in one process. CPU is user+sys of the process (the steadier figure on
a shared machine), wall is elapsed time; with --against the two engines alternate run by run, so their
ratio is fair under a changing load, and the WAVs' digests show whether they wrote the same bytes.
Target (issue 12): the job <= 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENTROPY = ROOT / "films" / "entropy.film"
ENGINE = ROOT / "backends" / "filmc_backends" / "synth_engine.py"

# Run in a child: the film's cues as the music job gets them (filmc.expand.context.music_sections: each cue
# until the next, the first from 0, the last to the end), one engine loaded from its file, N renders timed.
CHILD = """\
import hashlib, importlib.util, json, sys, tempfile, time
from pathlib import Path
from filmc.check.loader import load
engine_path, film, runs = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
spec = importlib.util.spec_from_file_location("bench_engine", engine_path)
engine = sys.modules["bench_engine"] = importlib.util.module_from_spec(spec)  # dataclasses look it up
spec.loader.exec_module(engine)
tl = load(film)[0].timeline
cues = tl.cues
sections = [engine.ScoreSection(start=0.0 if i == 0 else c.start,
                                end=tl.duration if i + 1 == len(cues) else cues[i + 1].start,
                                description=c.description, instruments=c.instruments, intensity=c.intensity)
            for i, c in enumerate(cues)]
out = Path(tempfile.mkdtemp()) / "score.wav"
for _ in range(runs):
    cpu, wall = time.process_time(), time.perf_counter()
    engine.render_score(sections, tl.duration, out, sample_rate=48000, seed=0)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    digest = hashlib.sha256(out.read_bytes()).hexdigest()[:16]
    print(json.dumps({"cpu": cpu, "wall": wall, "sha": digest, "seconds": tl.duration}), flush=True)
"""


def runs(engine: Path, count: int) -> list[dict[str, float | str]]:
    """`count` renders in one fresh process; the first of them is a cold one."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "backends"), str(ROOT)])}
    done = subprocess.run([sys.executable, "-c", CHILD, str(engine), str(ENTROPY), str(count)],
                          capture_output=True, text=True, check=True, env=env, cwd=ROOT)
    return [json.loads(line) for line in done.stdout.splitlines()]


def summary(name: str, label: str, rows: list[dict[str, float | str]]) -> float:
    cpu = [float(r["cpu"]) for r in rows]
    wall = [float(r["wall"]) for r in rows]
    shas = sorted({str(r["sha"]) for r in rows})
    print(f"  {name:8s} {label:5s} cpu min {min(cpu):.3f} s  median {statistics.median(cpu):.3f} s   "
          f"wall min {min(wall):.3f} s  median {statistics.median(wall):.3f} s   sha {', '.join(shas)}")
    return statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", type=Path, help="another synth_engine.py to time alternately with this one")
    parser.add_argument("--runs", type=int, default=5, help="cold runs and warm runs per engine (default 5)")
    args = parser.parse_args()
    engines = {"this": ENGINE} | ({"against": args.against.resolve()} if args.against else {})
    print(f"load average {os.getloadavg()[0]:.2f}; Entropy's score, {args.runs} runs per engine and mode")
    cold: dict[str, list[dict[str, float | str]]] = {name: [] for name in engines}
    warm: dict[str, list[dict[str, float | str]]] = {name: [] for name in engines}
    for i in range(args.runs):  # alternate, and alternate who goes first
        for name in list(engines)[:: 1 if i % 2 == 0 else -1]:
            cold[name] += runs(engines[name], 1)
    for i in range(args.runs):
        for name in list(engines)[:: 1 if i % 2 == 0 else -1]:
            warm[name] += runs(engines[name], 2)[1:]  # the second render of a process
    medians: dict[tuple[str, str], float] = {}
    for name in engines:
        medians[name, "cold"] = summary(name, "cold", cold[name])
        medians[name, "warm"] = summary(name, "warm", warm[name])
    if args.against:
        for mode in ("cold", "warm"):
            print(f"  {mode}: this / against, median cpu = {medians['this', mode] / medians['against', mode]:.2f}")
        same = {str(r["sha"]) for r in cold["this"] + warm["this"]} == {
            str(r["sha"]) for r in cold["against"] + warm["against"]}
        print(f"  same bytes: {'yes' if same else 'NO'}")
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
