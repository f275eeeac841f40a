"""The crash suite, full run: a render SIGKILLed at moments spread over its whole length, then run again.

The film is rendered once uninterrupted (the reference bytes and the render's length). Then, for each kill,
a cold project (its own cache and output folder) starts `filmc render`, which is killed at a random moment
in the n-th of `--kills` equal slices of the reference render's length, and rendered again in the same cache.
A kill passes when the re-run exits 0 with the reference film and subtitles byte for byte, leaves no temp
or half file in the cache or the output folder, makes again no job that was stored before the kill, and
(`--profile final`, against in-process loopback fakes of Claude, Gemini Omni and ElevenLabs) buys no shot,
line, score or prompt twice. Which stage each kill hit is read from the journal and the progress events.

    python stress/crash_suite.py [--kills 20] [--film films/hello.film] [--profile preview|final] [--seed 0]
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # the repository root, for tests.fakes

from tests.reliability.crashes import FINAL, PREVIEW, Kill, kill_and_resume, reference, services


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--film", type=Path, default=Path(__file__).resolve().parents[1] / "films" / "hello.film")
    parser.add_argument("--profile", choices=("preview", "final"), default="preview")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    mode = FINAL if args.profile == "final" else PREVIEW
    film = args.film.resolve()
    draw = random.Random(args.seed)
    kills: list[Kill] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="filmc-crashes-") as tmp, \
            (services() if mode.paid else contextlib.nullcontext()) as fakes:
        ref = reference(Path(tmp) / "reference", mode, fakes, film)
        print(f"reference: {film.name}, {args.profile}, {ref.seconds:.2f} s uninterrupted, "
              f"{ref.bought.items.total()} paid items bought", flush=True)
        for n in range(args.kills):
            at = ref.seconds * (n + draw.random()) / args.kills
            kill = kill_and_resume(Path(tmp) / f"kill-{n}", mode, ref, at=at, fakes=fakes, film=film)
            kills.append(kill)
            mark = "ok" if kill.ok else "FAIL"
            extra = f"  in flight: {','.join(kill.in_flight)}" if kill.in_flight else ""
            print(f"kill {n:3d} at {kill.at:6.2f} s  {mark:4}  {kill.stage}{extra}", flush=True)
            for problem in problems(kill):
                print(f"          {problem}", flush=True)
    print()
    print(table(kills, ref.seconds, time.perf_counter() - started, mode.paid))
    return 0 if all(k.ok for k in kills) else 1


def problems(kill: Kill) -> list[str]:
    out = []
    if not kill.resumed:
        out.append(f"re-run failed: {kill.error.strip().splitlines()[-1:] or '?'}")
    if kill.resumed and not kill.identical:
        out.append("re-run's film or subtitles differ from the reference")
    out += [f"left: {p}" for p in kill.leftovers]
    out += [f"stored before the kill and made again: {job}" for job in kill.lost]
    out += [f"left in $TMPDIR (the OS cleans it): {p}" for p in kill.tmp_left]
    for item, n in kill.duplicates.items():
        wire = " (its create was on the wire" if item in kill.on_the_wire else " ("
        warned = any(job.split(":")[0] == item.split(":")[0] for job in kill.warned)
        out.append(f"bought {n + 1} times: {item}{wire}; the re-run {'warned' if warned else 'did not warn'} "
                   "that it may have been created unrecorded)")
    return out


def table(kills: list[Kill], length: float, wall: float, paid: bool) -> str:
    stages: Counter[str] = Counter()
    for kill in kills:
        stages.update(kill.stage.split("+"))
    duplicates = sum(sum(k.duplicates.values()) for k in kills)
    on_the_wire = sum(sum(k.on_the_wire.values()) for k in kills)
    rows = [
        ("kills", f"{len(kills)}  (render {length:.2f} s; suite {wall:.0f} s)"),
        ("stages hit", ", ".join(f"{name} {n}" for name, n in sorted(stages.items(), key=lambda kv: -kv[1]))),
        ("resumed OK (exit 0)", f"{sum(k.resumed for k in kills)} of {len(kills)}"),
        ("byte-identical film + subtitles", f"{sum(k.identical for k in kills)} of {len(kills)}"),
        ("leftovers (temp/half files, work dirs)", str(sum(len(k.leftovers) for k in kills))),
        ("stored jobs made again (lost work)", str(sum(len(k.lost) for k in kills))),
        ("temp files left in $TMPDIR", str(sum(len(k.tmp_left) for k in kills))),
    ]
    if paid:
        rows += [("duplicate creates", f"{duplicates}  ({on_the_wire} sent and unanswered at the kill, "
                                       f"{duplicates - on_the_wire} otherwise)"),
                 ("kills with a create on the wire", str(sum(bool(k.in_flight) for k in kills)))]
    rows.append(("passed", f"{sum(k.ok for k in kills)} of {len(kills)}"))
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


if __name__ == "__main__":
    sys.exit(main())
