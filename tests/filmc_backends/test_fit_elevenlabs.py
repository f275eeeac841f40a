"""`fit narration` with ElevenLabs (the loopback fake): the real service's line lengths decide the fit, each line
is paid for once (the voice made to measure it is the one the film uses), and its charge is in the ledger."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from filmc.cli.progress import PlainEvents
from filmc.deliver.outputs import RenderSummary
from filmc.errors import BudgetError
from filmc.pipeline import compile_film, render_film
from filmc.plan.model import VideoSpec
from tests.fakes.elevenlabs_fake import FakeElevenLabs, serving
from tests.filmc_backends.final import ELEVENLABS_VOICE_ONLY, hello_project

pytestmark = pytest.mark.slow

KEY = "el-test-5f0c11aa-secret-value"
PROFILE = ELEVENLABS_VOICE_ONLY
FITTED = ('''  scene "Turn" {
    shot 2s "The orb turns, catching light" {''', '''  scene "Turn" {
    fit narration
    shot 1s..6s "The orb turns, catching light" {''')


def render_final(film: Path) -> RenderSummary:
    """As `filmc render --profile final --max-cost 5` does it: the render's own compile makes the voice first."""
    plan, _ = asyncio.run(compile_film(film, "final", for_render=True, max_cost=Decimal(5)))
    return asyncio.run(render_film(plan, out_dir=film.parent / "out", events=PlainEvents(), max_cost=Decimal(5),
                                   backoff=0.01))


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeElevenLabs]:
    with serving(KEY, monkeypatch) as server:
        yield server


def test_the_service_measures_the_lines_and_each_is_paid_once(fake: FakeElevenLabs, tmp_path: Path) -> None:
    film = hello_project(tmp_path, PROFILE, FITTED)
    summary = render_final(film)
    assert len(fake.billed) == 3   # the compile made the voice first; the render used it
    line = next(o for o in summary.outcomes if o.job == "voice:s02-l01")
    assert line.status == "made" and line.duration > 1.0
    # what the compile paid to measure is in the render's ledger, as if the render had made it
    assert {e.job for e in summary.manifest.ledger} == {"voice:s01-l01", "voice:s02-l01", "voice:s03-l01"}
    again = render_final(film)
    assert len(fake.billed) == 3 and not {o.job for o in again.outcomes if o.status == "made"}


def test_the_fitted_clip_length_follows_the_measured_line(fake: FakeElevenLabs, tmp_path: Path) -> None:
    film = hello_project(tmp_path, PROFILE, FITTED)
    with pytest.raises(BudgetError, match="without a budget"):
        asyncio.run(compile_film(film, "final", for_render=True))   # the voice costs money: nothing without one
    assert not fake.billed
    plan, _ = asyncio.run(compile_film(film, "final", for_render=True, max_cost=Decimal(5)))
    (fit,) = plan.film.fit
    voiced = next(j for j in plan.jobs if j.id == "voice:s02-l01")
    assert not plan.film.provisional and fit.lines[0].measured
    assert fit.frames == max(24, math.ceil((0.2 + fit.lines[0].seconds) * 24 - 1e-6))
    clip = next(spec for _, spec in plan.specs(VideoSpec) if spec.shot_id == "s02-sh01")
    assert clip.request.frames == fit.frames and voiced.cached


def test_no_line_is_paid_for_when_the_budget_cannot_make_the_film(fake: FakeElevenLabs, tmp_path: Path) -> None:
    film = hello_project(tmp_path, PROFILE, FITTED)
    with pytest.raises(BudgetError, match=r"its voice is made first; the film as estimated would cost \$0\.01"):
        asyncio.run(compile_film(film, "final", for_render=True, max_cost=Decimal("0.001")))
    assert not fake.billed and fake.requests == 0
