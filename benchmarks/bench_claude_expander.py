"""How close the claude expander's concurrency comes to ideal, against the loopback fake of the Messages API.

10 requests, 50 ms of server latency each, concurrency 4: the ideal is ceil(10/4) waves of 50 ms plus the
client's own overhead, measured on the same batch with no latency. Target: wall <= 1.3 x ideal.

    PYTHONPATH=.:backends python benchmarks/bench_claude_expander.py
"""

from __future__ import annotations

import asyncio
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, for tests.fakes

from filmc.model import Model
from filmc_backends.claude import ClaudeExpander, ExpansionRequest
from tests.fakes.anthropic_fake import FakeAnthropic

REQUESTS, CONCURRENCY, LATENCY, ROUNDS = 10, 4, 0.05, 5
KEY = "sk-ant-bench"


class Prompt(Model):
    """The fake's default answer: the request echoed as a prompt."""

    prompt: str


def batch(fake: FakeAnthropic, tag: str) -> float:
    """Wall time of one uncached batch; a fresh cache dir, so every request is a call."""
    requests = [ExpansionRequest(system="style bible", user=f"{tag} shot {i}") for i in range(REQUESTS)]
    with tempfile.TemporaryDirectory() as cache:
        expander = ClaudeExpander(
            model="claude-sonnet-4-6",
            cache_dir=Path(cache),
            concurrency=CONCURRENCY,
            api_key=KEY,
            base_url=fake.base_url,
        )
        start = time.perf_counter()
        answers, usage = asyncio.run(expander.expand_all(requests, Prompt))
        wall = time.perf_counter() - start
    assert usage.calls == REQUESTS and len(answers) == REQUESTS
    return wall


def main() -> None:
    with FakeAnthropic(api_key=KEY) as fake:
        batch(fake, "warm-up")  # imports the SDK
        overhead = statistics.median(batch(fake, f"o{r}") for r in range(ROUNDS))
        fake.latency = LATENCY
        fake.reset()
        walls = [batch(fake, f"l{r}") for r in range(ROUNDS)]
        peak = fake.max_in_flight
    wall = statistics.median(walls)
    ideal = math.ceil(REQUESTS / CONCURRENCY) * LATENCY + overhead
    print(f"{REQUESTS} requests, latency {LATENCY * 1000:.0f} ms, concurrency {CONCURRENCY}, median of {ROUNDS}")
    print(f"overhead (latency 0): {overhead * 1000:7.1f} ms")
    spread = f"min {min(walls) * 1000:.1f}, max {max(walls) * 1000:.1f}"
    print(f"wall:                 {wall * 1000:7.1f} ms  ({spread})")
    print(f"ideal:                {ideal * 1000:7.1f} ms  (ceil(10/4) x 50 ms + overhead)")
    print(f"serial would be:      {REQUESTS * LATENCY * 1000 + overhead * 1000:7.1f} ms")
    print(f"ratio wall/ideal:     {wall / ideal:7.2f}  (target <= 1.3)   peak in flight: {peak}")


if __name__ == "__main__":
    main()
