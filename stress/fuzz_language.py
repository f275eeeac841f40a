"""The language fuzzer, full run: 100,000 specs, half generated from the grammar's shapes with random text,
half mutated (token and byte edits, hostile characters) from every `.film` in the repository, each through
decode, parse, check and diagnostic rendering, in-process.

Prints cases, inputs per second, outcomes, findings (0 expected: anything but a checked film or diagnostics
located in the file) and the slowest input. Exit 1 on any finding, with the first few inputs shown.

    python stress/fuzz_language.py [--cases 100000] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # the repository root, for tests.reliability

from tests.reliability.fuzzing import Tally, corpus, generate, mutate, run_case


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng, donors, tally = random.Random(args.seed), corpus(), Tally()
    slowest, slowest_input = 0.0, b""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as project:
        for n in range(args.cases):
            raw = generate(rng) if n % 2 else mutate(rng.choice(donors), rng, donors)
            t0 = time.perf_counter()
            run_case(raw, tally, Path(project))
            took = time.perf_counter() - t0
            if took > slowest:
                slowest, slowest_input = took, raw
    wall = time.perf_counter() - started
    print(f"cases              {tally.cases}  ({len(donors)} seed films)")
    print(f"inputs/s           {tally.cases / wall:,.0f}  ({wall:.0f} s)")
    print(f"checked clean      {tally.checked}")
    print(f"diagnostics        {tally.diagnostics}")
    print(f"findings           {len(tally.findings)}")
    print(f"slowest input      {slowest * 1000:.1f} ms ({len(slowest_input)} bytes)")
    for finding in tally.findings[:5]:
        print(f"\n{finding.kind}: {finding.detail}\ninput: {finding.source[:400]!r}")
    return 1 if tally.findings else 0


if __name__ == "__main__":
    sys.exit(main())
