"""How close paid remote jobs come to the provider's own time: ten 5-second Runway jobs, concurrency 4.

Each job runs 5 s at the loopback fake of Runway's task API, through the real runwayml SDK and filmc's
remote-job loop (create, journal, poll with its default pacing, download). The ideal is ceil(10/4) = 3
waves of 5 s = 15 s; what is above it is polling latency and overhead. Target: wall <= 1.25 x ideal.

    python benchmarks/bench_remote.py
"""

from __future__ import annotations

import asyncio
import math
import os
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, for tests.fakes

from filmc.backend.protocol import BackendConfig, CostBasis, RemoteState, RenderContext, Setup, VideoRequest
from filmc_backends.runway import RunwayVideo
from tests.fakes.runway_fake import FakeRunway

JOBS, CONCURRENCY, SECONDS = 10, 4, 5.0
KEY = "rw-bench"


async def one(backend: RunwayVideo, gate: asyncio.Semaphore, n: int, work: Path, states: list[str]) -> None:
    request = VideoRequest(prompt=f"shot {n}: an orb in a blue void", seconds=5.0, frames=120, width=1280,
                           height=720, fps_num=24)

    def journal(state: RemoteState) -> None:
        states.append(state.operation)

    def cost(usd: Decimal, basis: CostBasis, what: str) -> None:
        return None

    async with gate:
        ctx = RenderContext(workdir=work, key=f"k{n}", journal_remote=journal, record_cost=cost)
        await backend.render(request, work / f"clip{n}.mp4", ctx)


async def run(base_url: str, work: Path) -> tuple[float, int]:
    os.environ["RUNWAYML_API_SECRET"] = KEY
    os.environ["RUNWAYML_BASE_URL"] = base_url
    backend = RunwayVideo(BackendConfig(backend="runway", model="gen4.5"), Setup(project_dir=work, cache_dir=work))
    gate = asyncio.Semaphore(CONCURRENCY)
    states: list[str] = []
    started = time.monotonic()
    await asyncio.gather(*(one(backend, gate, n, work, states) for n in range(JOBS)))
    return time.monotonic() - started, len(states)


def main() -> None:
    with FakeRunway(api_key=KEY, seconds_to_finish=SECONDS) as fake, tempfile.TemporaryDirectory() as tmp:
        fake.clip("1280:720", 5)   # made once before timing: the fake's ffmpeg is not filmc's cost
        wall, created = asyncio.run(run(fake.base_url, Path(tmp)))
        ideal = math.ceil(JOBS / CONCURRENCY) * SECONDS
        print(f"{JOBS} remote jobs of {SECONDS:g} s, concurrency {CONCURRENCY}: wall {wall:.2f} s, ideal {ideal:.0f} s")
        print(f"ratio wall / ideal:           {wall / ideal:.3f}   (target <= 1.25)")
        print(f"creates at the fake:          {len(fake.creates)}   (journalled {created}; target {JOBS})")
        print(f"polls:                        {fake.requests['poll']}")


if __name__ == "__main__":
    main()
