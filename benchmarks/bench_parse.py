"""Parse + check of generated films: target <= 1 s for 1,000 scenes on one core, and linear (<= 11x 100)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _films import generated_film

from filmc.check import check
from filmc.syntax import parse
from filmc.syntax.parser import parser


def best_of(text: str, runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        film = parse(text, "bench.film")
        check(film, Path("."))
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser()  # built once per process, as in the CLI; not part of a film's cost
    small, large = best_of(generated_film(100)), best_of(generated_film(1000))
    print(f"parse+check   100 scenes: {small * 1000:8.1f} ms")
    print(f"parse+check 1,000 scenes: {large * 1000:8.1f} ms   (target <= 1000 ms)")
    print(f"ratio 1,000 / 100:        {large / small:8.2f} x   (target <= 11x)")


if __name__ == "__main__":
    main()
