"""The `final` profile end to end, as the seed film was made: Claude writes the prompts, Gemini Omni films
the shots, ElevenLabs speaks the narration and composes the score. Every service is a loopback fake reached
through its real SDK; every paid job is created exactly once, with or without transient faults."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from filmc.assemble.media import probe
from filmc.cli.progress import PlainEvents
from filmc.deliver.outputs import RenderSummary
from filmc.pipeline import compile_film, render_film
from tests.fakes.anthropic_fake import FakeAnthropic, first_user_text
from tests.fakes.elevenlabs_fake import FakeElevenLabs
from tests.fakes.gemini_fake import FakeGemini, prompt_of
from tests.fakes.loopback import Faults
from tests.filmc_backends.final import hello_project

pytestmark = pytest.mark.slow

KEYS = {"ANTHROPIC_API_KEY": "sk-ant-e2e-5c1d9a7b3f-secret", "GEMINI_API_KEY": "AIza-e2e-8f2b6d4c1a9e-secret",
        "ELEVENLABS_API_KEY": "el-e2e-3e7a1c5b9d-secret"}
# The `final` profile against the fakes: the film's voice mapped, and pacing fast enough for a test.
FAST_PACING = """
[profile.final.video.pacing]
first_poll = 0.05
create_backoff = 0.05
[profile.final.voice.pacing]
create_backoff = 0.05
[profile.final.music.pacing]
create_backoff = 0.05
"""
PROFILE = '\n[profile.final]\nvoices = { narrator = "voice-it-1" }' + FAST_PACING
URI_DELIVERY = '[profile.final.video.options]\ndelivery = "uri"\n'   # clips as files: a download of their own
LINES = ("Hello", "Something", "Warm at last")   # how each of hello.film's lines begins


def answer(body: dict[str, Any]) -> dict[str, Any]:
    shot = first_user_text(body).splitlines()[0]
    return {"prompt": f"Cinematic prompt for {shot}, volumetric light.", "negative": "text, logos"}


@dataclass
class Services:
    claude: FakeAnthropic
    gemini: FakeGemini
    eleven: FakeElevenLabs

    def asked(self) -> int:
        """Every request any service was sent."""
        return len(self.claude.requests) + sum(self.gemini.requests.values()) + self.eleven.requests

    def inject(self, rate: float, seed: int) -> list[Faults]:
        faults = [Faults(rate=rate, seed=seed + n) for n in range(3)]
        for server, plan in zip((self.claude.server, self.gemini.server, self.eleven.server), faults, strict=True):
            server.faults = plan   # type: ignore[attr-defined]
        return faults


@pytest.fixture
def services(monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    with FakeAnthropic(answer, api_key=KEYS["ANTHROPIC_API_KEY"]) as claude, \
            FakeGemini(api_key=KEYS["GEMINI_API_KEY"]) as gemini, \
            FakeElevenLabs(api_key=KEYS["ELEVENLABS_API_KEY"]) as eleven:
        for name, value in KEYS.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", claude.base_url)
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", gemini.base_url)
        monkeypatch.setenv("ELEVENLABS_BASE_URL", eleven.base_url)
        yield Services(claude, gemini, eleven)


def render(film: Path) -> RenderSummary:
    plan, _ = asyncio.run(compile_film(film, "final", max_cost=Decimal(5), for_render=True))
    return asyncio.run(render_film(plan, out_dir=film.parent / "out", events=PlainEvents(), max_cost=Decimal(5),
                                   backoff=0.01))


def spoken(services: Services) -> Counter[str]:
    """How often each line was billed, by the line it begins."""
    return Counter(next(line for line in LINES if str(b["text"]).startswith(line)) for b in services.eleven.billed)


def assert_made_once(services: Services) -> None:
    assert sorted(prompt_of(c).split(" (")[0] for c in services.gemini.creates) == [
        f"Cinematic prompt for Shot s0{n}-sh01" for n in (1, 2, 3)]      # each shot filmed once
    assert spoken(services) == dict.fromkeys(LINES, 1)                     # each line spoken once
    assert len(services.eleven.scores) == 1                                # the score composed once
    shots = Counter(first_user_text(r.body).splitlines()[0] for r in services.claude.requests)
    assert sorted(shots.values()) == [1, 1, 1]                             # each prompt written once


def assert_no_key_anywhere(root: Path, *captured: str) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(key.encode() in data for key in KEYS.values()), path
    assert not any(key in text for key in KEYS.values() for text in captured)


# Which requests fail is drawn from their content, so each seed fails the same requests in every run. Between
# them: a 503 and a drop on Omni polls, a 503 on a line's speech (4); drops on a Claude call, an Omni create,
# an Omni poll and a line's speech (6); a 429 on the score (7); and slow answers.
@pytest.mark.parametrize(("fault_rate", "seed"), [(0.0, 0), (0.2, 4), (0.2, 6), (0.2, 7)])
def test_the_film_is_made_with_every_paid_job_created_once(services: Services, tmp_path: Path, fault_rate: float,
                                                           seed: int, capfd: pytest.CaptureFixture[str]) -> None:
    faults = services.inject(fault_rate, seed) if fault_rate else []

    film = hello_project(tmp_path, PROFILE)
    summary = render(film)
    assert {o.job: o.status for o in summary.outcomes if o.status != "made"} == {}
    made = probe(film.parent / "out" / "hello.mp4")
    assert abs(made.duration - 8.0) < 0.1 and made.video_streams == 1 and made.audio_streams == 1
    assert_made_once(services)
    if faults:
        injected = sum((f.injected for f in faults), Counter[str]())
        assert sum(injected.values()) >= 2, injected   # the faults really happened
        # a 503 or a cut connection on a paid create is ambiguous to filmc: in the ledger as possibly billed
        ambiguous = [shape for f in faults for shape, kind in f.log
                     if kind in ("503", "drop") and shape.startswith("POST") and "/v1/messages" not in shape]
        possibly = [e for e in summary.manifest.ledger if e.basis == "possibly-billed"]
        assert len(possibly) == len(ambiguous), (possibly, ambiguous)
    asked = services.asked()
    again = render(film)
    assert {o.status for o in again.outcomes} == {"cached"} and services.asked() == asked   # no service asked
    out, err = capfd.readouterr()
    assert_no_key_anywhere(tmp_path, out, err)


def test_a_narration_edit_pays_for_that_line_alone(services: Services, tmp_path: Path) -> None:
    render(hello_project(tmp_path, PROFILE))
    creates, scores, prompts = len(services.gemini.creates), len(services.eleven.scores), len(services.claude.requests)
    edited = render(hello_project(tmp_path, PROFILE, edit=("Warm at last.", "Warm at last, at last.")))
    assert [o.job for o in edited.outcomes if o.status == "made" and o.job.startswith(("video", "voice", "music"))] \
        == ["voice:s03-l01"]
    assert spoken(services)["Warm at last"] == 2 and sum(spoken(services).values()) == 4   # one more request
    assert (len(services.gemini.creates), len(services.eleven.scores), len(services.claude.requests)) == (
        creates, scores, prompts)


def test_a_budget_below_the_estimate_asks_no_service_anything(services: Services, tmp_path: Path) -> None:
    from filmc.errors import BudgetError

    film = hello_project(tmp_path, PROFILE)
    with pytest.raises(BudgetError, match="the clips, voice and music it leads to"):
        asyncio.run(compile_film(film, "final", max_cost=Decimal("0.05")))   # Claude's prompts alone would fit
    assert services.asked() == 0


def test_missing_keys_are_named_together_before_any_request(services: Services, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from filmc.errors import ConfigError

    monkeypatch.delenv("GEMINI_API_KEY")
    monkeypatch.delenv("ELEVENLABS_API_KEY")
    with pytest.raises(ConfigError, match="ELEVENLABS_API_KEY, GEMINI_API_KEY are not set"):
        render(hello_project(tmp_path, PROFILE))
    assert services.asked() == 0   # not even Claude, which has its key
