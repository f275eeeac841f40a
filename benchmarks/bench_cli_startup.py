"""Cold process wall time: `filmc --help` (target <= 0.3 s) and `filmc check entropy` (target <= 0.5 s)."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def wall(cmd: list[str], runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=False, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    filmc = shutil.which("filmc") or str(Path(sys.executable).parent / "filmc")
    python = wall([sys.executable, "-c", "pass"])
    helped = wall([filmc, "--help"])
    checked = wall([filmc, "check", "films/entropy.film"])
    print(f"python -c pass (floor):      {python:6.3f} s")
    print(f"filmc --help:                {helped:6.3f} s   (target <= 0.3 s)")
    print(f"filmc check entropy.film:    {checked:6.3f} s   (target <= 0.5 s)")
    imported = subprocess.run([sys.executable, "-c", "import sys, filmc.cli; "
                               "print(sorted(m for m in ('anthropic','openai','elevenlabs','numpy','rich') "
                               "if m in sys.modules))"], capture_output=True, text=True, check=False)
    print(f"heavy modules imported by filmc.cli: {imported.stdout.strip()}")


if __name__ == "__main__":
    main()
