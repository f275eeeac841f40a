"""A `/v1/videos`-compatible provider through the real openai SDK against the loopback fake."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from filmc.assemble.media import count_frames
from filmc.deliver.outputs import RenderSummary
from filmc.pipeline import compile_film
from tests.conftest import FILMS
from tests.fakes.videos_fake import FakeVideos
from tests.filmc_backends.final import hello_project, render_final

KEY = "sk-test-videos-5d1e9a7b"
PROFILE = """
[profile.final.video]
backend = "openai-videos"
model = "vendor-video-1"
price = { per_second = 0.05 }
[profile.final.video.pacing]
first_poll = 0.05
create_backoff = 0.05
[profile.final.video.options]
seconds = "4,8"
sizes = "1280x720"
[profile.final.expand]
backend = "template"
[profile.final.voice]
backend = "espeak"
[profile.final.music]
backend = "synth"
"""


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeVideos]:
    with FakeVideos(api_key=KEY) as server:
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        yield server


def render(root: Path) -> RenderSummary:
    return render_final(hello_project(root, PROFILE))


def test_each_shot_is_made_once_at_the_profiles_model_length_and_size(fake: FakeVideos, tmp_path: Path) -> None:
    summary = render(tmp_path)
    assert {o.status for o in summary.outcomes} == {"made"}
    assert [(c["model"], c["seconds"], c["size"]) for c in fake.creates] == [("vendor-video-1", "4", "1280x720")] * 3
    assert count_frames(tmp_path / "out" / "hello.mp4") == 192
    assert [e.usd for e in summary.manifest.ledger] == [Decimal("0.20")] * 3   # the profile's price, 4 s each


def test_an_ambiguous_create_is_found_in_the_list_not_bought_again(fake: FakeVideos, tmp_path: Path) -> None:
    fake.script.append(500)
    summary = render(tmp_path)
    assert {o.status for o in summary.outcomes} == {"made"}
    assert len(fake.creates) == 3 and fake.listed >= 1   # the 500's video was found and used
    assert [e.basis for e in summary.manifest.ledger].count("possibly-billed") == 1


def test_a_video_the_provider_fails_is_reported_with_its_reason(fake: FakeVideos, tmp_path: Path) -> None:
    fake.fail_prompts.add("orb glows")
    summary = render(tmp_path)
    failed = next(o for o in summary.outcomes if o.job == "video:s03-sh01")
    assert failed.status == "failed" and "blocked by moderation" in (failed.error or "")
    assert "--recreate video:s03-sh01" in (failed.error or "")


def test_a_profile_without_a_model_is_refused_before_anything_is_sent(fake: FakeVideos, tmp_path: Path) -> None:
    from filmc.errors import ConfigError

    (tmp_path / "hello.film").write_text((FILMS / "hello.film").read_text("utf-8"), "utf-8")
    (tmp_path / "filmc.toml").write_text('[profile.cloud.video]\nbackend = "openai-videos"\n', "utf-8")
    with pytest.raises(ConfigError, match="needs the provider's model"):
        asyncio.run(compile_film(tmp_path / "hello.film", "cloud"))
    assert fake.creates == []
