"""The fault suite, full run: the 10-shot `final` film against every loopback fake, 20 % of requests failing.

Each case renders from a cold cache with a different seed (which requests fail is drawn from their content,
so a seed repeats exactly); every third case also has the provider fail one shot's job, and cases cut
downloads and keep files processing. A case passes when the film completes, or stops naming only the jobs
the provider failed (the CLI's exit 3); no shot is created twice; every create whose fate filmc could not
know is in the ledger as possibly billed; no key is in any file.

    python stress/fault_suite.py [--cases 20] [--rate 0.2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # the repository root, for tests.fakes

from tests.reliability.faults import all_services, run_case


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--rate", type=float, default=0.2)
    args = parser.parse_args()
    injected: Counter[str] = Counter()
    passed = completed = stopped = requests = ambiguous = possibly = 0
    worst_creates = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="filmc-faults-") as tmp:
        for seed in range(args.cases):
            fail_shot = 1 + seed % 10 if seed % 3 == 2 else None
            with all_services() as services:
                case = run_case(Path(tmp) / f"case-{seed}", services, rate=args.rate, seed=seed, fail_shot=fail_shot,
                                cut_downloads=seed % 3, processing_polls=seed % 2)
            injected += case.injected
            passed += case.ok
            completed += not case.failed
            stopped += bool(case.failed) and sorted(case.failed) == sorted(case.provider_failed)
            requests += case.requests
            ambiguous += case.ambiguous_creates
            possibly += case.possibly_billed
            worst_creates = max(worst_creates, max(case.creates.values(), default=0))
            status = "ok" if case.ok else "FAIL"
            print(f"case {seed:3d}: {status:4}  failed={case.failed or '-'}  faults={dict(case.injected)}  "
                  f"requests={case.requests}", flush=True)
            if not case.ok:
                print("          " + "\n          ".join(case.errors), flush=True)
    wall = time.perf_counter() - started
    print()
    print(f"cases                         {args.cases}  ({wall:.0f} s)")
    print(f"requests to the fakes         {requests}")
    print(f"faults injected               {sum(injected.values())}  {dict(sorted(injected.items()))}")
    print(f"completed                     {completed}")
    print(f"stopped naming only the jobs the provider failed (exit 3)   {stopped}")
    print(f"most creates of one shot      {worst_creates}   (target 1)")
    print(f"ambiguous creates / possibly-billed ledger entries   {ambiguous} / {possibly}")
    print(f"passed                        {passed} of {args.cases}")
    return 0 if passed == args.cases else 1


if __name__ == "__main__":
    sys.exit(main())
