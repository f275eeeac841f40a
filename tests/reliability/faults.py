"""The fault suite's one case: a 10-shot film rendered with the `final` profile against every loopback fake at
once (Claude, Gemini Omni, ElevenLabs voice and music), with transient faults at a rate on every request, and
the provider's own failures (a failed job, cut downloads, files still processing) on top.

Shared by `tests/reliability/test_faults.py` (CI: a few cases) and `stress/fault_suite.py` (the full run)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from filmc.pipeline import compile_film, render_film
from filmc.render.events import RenderEvent
from tests.fakes.anthropic_fake import FakeAnthropic
from tests.fakes.elevenlabs_fake import FakeElevenLabs
from tests.fakes.gemini_fake import FakeGemini, prompt_of
from tests.fakes.loopback import Faults
from tests.filmc_backends.test_final_render import KEYS, URI_DELIVERY, Services, answer
from tests.filmc_backends.test_final_render import PROFILE as FINAL

SHOTS = 10
PROFILE = FINAL + URI_DELIVERY + "[profile.final.video]\nconcurrency = 4\n"


def ten_shot_film() -> str:
    scenes = "\n".join(f"""  scene "Part {n}" {{
    shot 3s "Shot number {n}: a glass orb number {n} drifts through fog" {{ camera slow-push-in }}
    say +200ms "This is line number {n}." tone "calm"
  }}""" for n in range(1, SHOTS + 1))
    return f"""film "Faults" {{
  language en
  frame 320x180 @ 24
  duration {3 * SHOTS}s
  style "Soft light."
  voice narrator "calm narrator"
  palette {{
    0:00 cold #0B1E3F #3A7BD5
    {3 * SHOTS}s warm #C46A1B #FFB347
  }}
  music {{
    0:00 "a quiet pulse" intensity 0.3
  }}
{scenes}
}}
"""


@contextlib.contextmanager
def all_services() -> Iterator[Services]:
    """Every fake, and the environment pointing the SDKs at them, restored afterwards."""
    saved = dict(os.environ)
    try:
        with FakeAnthropic(answer, api_key=KEYS["ANTHROPIC_API_KEY"]) as claude, \
                FakeGemini(api_key=KEYS["GEMINI_API_KEY"]) as gemini, \
                FakeElevenLabs(api_key=KEYS["ELEVENLABS_API_KEY"]) as eleven:
            os.environ.update(KEYS)
            os.environ.pop("GOOGLE_API_KEY", None)
            os.environ.update({"ANTHROPIC_BASE_URL": claude.base_url, "GOOGLE_GEMINI_BASE_URL": gemini.base_url,
                               "ELEVENLABS_BASE_URL": eleven.base_url})
            yield Services(claude, gemini, eleven)
    finally:
        os.environ.clear()
        os.environ.update(saved)


class Quiet:
    def emit(self, event: RenderEvent) -> None:
        return None

    def close(self) -> None:
        return None


@dataclass
class Case:
    """What one render under faults did, in the suite's terms."""

    seed: int
    failed: list[str]                      # jobs that failed
    provider_failed: list[str]             # jobs whose shot the provider itself was told to fail
    creates: Counter[str] = field(default_factory=Counter)   # per shot: paid creates at the fake
    injected: Counter[str] = field(default_factory=Counter)
    ambiguous_creates: int = 0             # faults that left a create's fate unknown to filmc
    possibly_billed: int = 0               # ledger entries saying so
    requests: int = 0
    leaks: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)   # the failed jobs' messages

    @property
    def ok(self) -> bool:
        """Completed, or stopped naming only the jobs the provider failed; nothing created twice; every
        ambiguous create in the ledger; no key anywhere."""
        return (sorted(self.failed) == sorted(self.provider_failed) and max(self.creates.values(), default=0) <= 1
                and self.possibly_billed == self.ambiguous_creates and not self.leaks)


def run_case(root: Path, services: Services, *, rate: float, seed: int, fail_shot: int | None = None,
             cut_downloads: int = 0, processing_polls: int = 0) -> Case:
    """Render the 10-shot film once in `root` under these faults."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "faults.film").write_text(ten_shot_film(), "utf-8")
    (root / "filmc.toml").write_text(PROFILE, "utf-8")
    faults = [Faults(rate=rate, seed=seed * 10 + n) for n in range(3)]
    for server, plan in zip((services.claude.server, services.gemini.server, services.eleven.server), faults,
                            strict=True):
        server.faults = plan   # type: ignore[attr-defined]
    gemini = services.gemini
    if fail_shot is not None:
        gemini.fail_prompts.add(f"Shot s{fail_shot:02d}-sh01 ")   # as Claude's (fake) prompt names it
    gemini.cut_downloads, gemini.processing_polls = cut_downloads, processing_polls
    plan, _ = asyncio.run(compile_film(root / "faults.film", "final", max_cost=Decimal(20), for_render=True))
    summary = asyncio.run(render_film(plan, out_dir=root / "out", events=Quiet(), max_cost=Decimal(20),
                                      backoff=0.01))
    injected = sum((f.injected for f in faults), Counter[str]())
    ambiguous = sum(1 for f in faults for shape, kind in f.log
                    if kind in ("503", "drop") and shape.startswith("POST") and "/v1/messages" not in shape)
    creates = Counter(m.group() for c in gemini.creates if (m := re.search(r"s\d\d-sh\d\d", prompt_of(c))))
    leaks = [str(p) for p in root.rglob("*")
             if p.is_file() and any(k.encode() in p.read_bytes() for k in KEYS.values())]
    return Case(seed=seed, failed=[o.job for o in summary.outcomes if o.status == "failed"],
                provider_failed=[f"video:s{fail_shot:02d}-sh01"] if fail_shot is not None else [],
                creates=creates, injected=injected, ambiguous_creates=ambiguous,
                possibly_billed=sum(1 for e in summary.manifest.ledger if e.basis == "possibly-billed"),
                requests=services.asked(), leaks=leaks,
                errors=[f"{o.job}: {o.error}" for o in summary.outcomes if o.status == "failed"])
