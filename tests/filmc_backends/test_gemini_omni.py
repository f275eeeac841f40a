"""Gemini Omni Flash through the real google-genai SDK, pointed at the loopback fake: each shot paid for once,
in both delivery modes, faults included."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from filmc.assemble.media import count_frames, ffmpeg_exe, probe
from filmc.backend.protocol import BackendConfig, Setup
from filmc.cli.progress import PlainEvents
from filmc.deliver.outputs import RenderSummary
from filmc.errors import ConfigError
from filmc.pipeline import compile_film, render_film
from filmc.plan.model import VideoSpec
from filmc_backends.gemini_omni import GeminiOmniVideo, aspect_ratio, file_name, frame_sizes, resolution_for
from tests.fakes.gemini_fake import DropAfterCreating, FailAfterCreating, FakeGemini, Refuse, images_of, prompt_of
from tests.filmc_backends.final import hello_project, render_final

KEY = "AIza-test-gemini-7c2e91d4-secret-value"
SHOTS = ("orb floats", "orb turns", "orb glows")


def profile(video: str = "", options: str = "") -> str:
    return f"""
[profile.final.video]
backend = "gemini-omni"
model = "gemini-omni-1.2-flash"
{video}
[profile.final.video.pacing]
first_poll = 0.05
create_backoff = 0.05
[profile.final.video.options]
resolution = "360p"
{options}
[profile.final.expand]
backend = "template"
[profile.final.voice]
backend = "espeak"
[profile.final.music]
backend = "synth"
"""


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGemini]:
    with FakeGemini(api_key=KEY) as server:
        monkeypatch.setenv("GEMINI_API_KEY", KEY)
        monkeypatch.setenv("GOOGLE_API_KEY", "AIza-some-other-project-key")   # the SDK would prefer this one
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", server.base_url)
        monkeypatch.delenv("GOOGLE_GENAI_USE_VERTEXAI", raising=False)
        monkeypatch.delenv("GOOGLE_GENAI_USE_ENTERPRISE", raising=False)
        monkeypatch.delenv("GOOGLE_GENAI_API_VERSION", raising=False)
        yield server


def render(root: Path, video: str = "", options: str = "", edit: tuple[str, str] | None = None) -> RenderSummary:
    return render_final(hello_project(root, profile(video, options), edit))


def status(summary: RenderSummary) -> dict[str, str]:
    return {o.job: o.status for o in summary.outcomes}


def videos(summary: RenderSummary) -> dict[str, Path]:
    return {o.job: Path(o.path or "") for o in summary.outcomes if o.job.startswith("video:")}


def test_a_final_render_pays_for_each_shot_once(fake: FakeGemini, tmp_path: Path) -> None:
    summary = render(tmp_path)
    assert set(status(summary).values()) == {"made"}
    assert len(fake.creates) == 3 and all(fake.creates_for(shot) == 1 for shot in SHOTS)
    plan, _ = asyncio.run(compile_film(tmp_path / "hello.film", "final"))
    fitted = sorted(round(spec.request.seconds) for _, spec in plan.specs(VideoSpec))
    assert sorted(int(c["response_format"]["duration"].removesuffix("s")) for c in fake.creates) == fitted
    sent = {"type": "video", "duration": "", "aspect_ratio": "16:9", "resolution": "360p", "delivery": "inline"}
    assert all(c["model"] == "gemini-omni-1.2-flash" and c["background"] is True
               and c["response_modalities"] == ["video"] and c["response_format"] | {"duration": ""} == sent
               for c in fake.creates)
    assert all(p.startswith(("POST /v1/interactions", "GET /v1/interactions/")) for p in fake.paths)
    for job, path in videos(summary).items():   # real clips: the asked length and the 360p frame
        info = probe(path)
        assert info.video is not None and (info.video.width, info.video.height) == (640, 360), job
        seconds = next(round(s.request.seconds) for j, s in plan.specs(VideoSpec) if j.id == job)
        assert abs(info.duration - seconds) < 0.1, job
    assert count_frames(tmp_path / "out" / "hello.mp4") == 192
    estimated = [e for e in summary.manifest.ledger if e.basis == "estimated"]
    assert sorted(e.usd for e in estimated) == sorted(Decimal("0.03") * s for s in fitted)   # 360p, per second
    asked = sum(fake.requests.values())
    again = render(tmp_path)
    assert set(status(again).values()) == {"cached"} and sum(fake.requests.values()) == asked   # not one request


def test_uri_delivery_waits_for_the_file_and_downloads_it(fake: FakeGemini, tmp_path: Path) -> None:
    fake.processing_polls = 2   # each file answers PROCESSING twice before it is ACTIVE
    summary = render(tmp_path, options='delivery = "uri"')
    assert set(status(summary).values()) == {"made"}
    assert len(fake.creates) == 3 and {c["response_format"]["delivery"] for c in fake.creates} == {"uri"}
    assert all(n == 3 for n in fake.file_gets.values()) and fake.requests["download"] == 3
    assert count_frames(tmp_path / "out" / "hello.mp4") == 192


def test_base64_where_a_uri_was_asked_for_is_taken_as_it_comes(fake: FakeGemini, tmp_path: Path) -> None:
    fake.inline_anyway = True
    summary = render(tmp_path, options='delivery = "uri"')
    assert set(status(summary).values()) == {"made"}
    assert fake.requests["file"] == fake.requests["download"] == 0 and len(fake.creates) == 3


def test_a_429_is_waited_out_and_costs_nothing(fake: FakeGemini, tmp_path: Path) -> None:
    fake.create_script.extend([Refuse(429, "0"), Refuse(429, "0")])
    summary = render(tmp_path)
    assert set(status(summary).values()) == {"made"}
    # two refusals, each sent once (the SDK's own retries are off for creates), then three paid creates
    assert fake.requests["create"] == 5 and len(fake.creates) == 3
    assert "possibly-billed" not in [e.basis for e in summary.manifest.ledger]


def test_an_ambiguous_500_and_a_cut_download_cost_at_most_one_extra_job(fake: FakeGemini, tmp_path: Path) -> None:
    fake.create_script.extend([Refuse(429, "0"), FailAfterCreating()])
    fake.cut_downloads = 1
    summary = render(tmp_path, options='delivery = "uri"')
    assert set(status(summary).values()) == {"made"}
    # the 429 made nothing; the 500 made an interaction we could not see, so one shot was created twice, and
    # that attempt is in the ledger as possibly billed; the cut download was fetched again, not re-created
    assert len(fake.creates) == 4 and fake.requests["create"] == 5 and fake.requests["download"] == 4
    assert [e.basis for e in summary.manifest.ledger].count("possibly-billed") == 1


def test_a_dropped_connection_after_the_create_is_ambiguous(fake: FakeGemini, tmp_path: Path) -> None:
    fake.create_script.extend([DropAfterCreating(), DropAfterCreating()])
    summary = render(tmp_path, video="concurrency = 1")   # both drops hit shot 1
    failed = [o for o in summary.outcomes if o.status == "failed"]
    assert [o.job for o in failed] == ["video:s01-sh01"]
    assert "each possibly billed" in (failed[0].error or "")
    assert fake.creates_for("orb floats") == 2   # create_retries = 1: never a third paid attempt
    assert [e.basis for e in summary.manifest.ledger].count("possibly-billed") == 2


def test_an_interaction_gemini_fails_is_not_bought_again_unasked(fake: FakeGemini, tmp_path: Path) -> None:
    fake.fail_prompts.add("orb turns")
    first = render(tmp_path)
    failed = next(o for o in first.outcomes if o.job == "video:s02-sh01")
    assert failed.status == "failed" and "blocked by a safety filter" in (failed.error or "")
    assert "--recreate video:s02-sh01" in (failed.error or "")
    env = {**os.environ, "GEMINI_API_KEY": KEY, "GOOGLE_GEMINI_BASE_URL": fake.base_url}
    again = subprocess.run([sys.executable, "-m", "filmc.cli", "render", "hello.film", "--profile", "final",
                            "--max-cost", "5"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240,
                           check=False)
    assert again.returncode == 3   # a job failed: the others are finished and cached
    assert "--recreate video:s02-sh01" in " ".join((again.stdout + again.stderr).split())
    assert fake.creates_for("orb turns") == 1 and len(fake.creates) == 3


def test_an_expired_file_is_gone_not_bought_again(fake: FakeGemini, tmp_path: Path) -> None:
    fake.expired_files = True
    summary = render(tmp_path, options='delivery = "uri"')
    failed = [o for o in summary.outcomes if o.job.startswith("video:")]
    assert {o.status for o in failed} == {"failed"}
    assert all("expired" in (o.error or "") and "--recreate" in (o.error or "") for o in failed)
    fake.expired_files = False
    render(tmp_path, options='delivery = "uri"')
    assert len(fake.creates) == 3


def test_no_key_reaches_any_file_or_output(fake: FakeGemini, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    fake.create_script.extend([Refuse(429, "0"), FailAfterCreating()])
    fake.fail_prompts.add("orb glows")
    render(tmp_path, options='delivery = "uri"')
    assert fake.seen_headers and all(h.get("x-goog-api-key") == KEY for h in fake.seen_headers)  # really sent
    captured = capfd.readouterr()
    assert KEY not in captured.out + captured.err
    leaks = [p for p in tmp_path.rglob("*") if p.is_file() and KEY.encode() in p.read_bytes()]
    assert leaks == []


def test_the_base_url_can_come_from_the_profile(fake: FakeGemini, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOOGLE_GEMINI_BASE_URL")
    summary = render(tmp_path, video=f'base_url = "{fake.base_url}"')
    assert set(status(summary).values()) == {"made"} and len(fake.creates) == 3


def test_a_render_without_the_key_sends_nothing(fake: FakeGemini, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEMINI_API_KEY")   # GOOGLE_API_KEY is still set: it is not the one filmc reads
    with pytest.raises(ConfigError, match="GEMINI_API_KEY"):
        render(tmp_path)
    assert sum(fake.requests.values()) == 0


def test_a_key_gemini_rejects_fails_each_shot_once_and_pays_nothing(fake: FakeGemini, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", "AIza-a-revoked-key-0000")
    summary = render(tmp_path)
    failed = [o for o in summary.outcomes if o.job.startswith("video:")]
    assert {o.status for o in failed} == {"failed"} and all("API key not valid" in (o.error or "") for o in failed)
    assert fake.requests["create"] == 3 and fake.creates == []   # a 403 is final: not retried, nothing made


def test_entity_reference_images_are_sent_with_the_prompt(fake: FakeGemini, tmp_path: Path) -> None:
    tmp_path.mkdir(exist_ok=True)
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "color=c=blue:s=16x16", "-frames:v", "1",
                    str(tmp_path / "orb.png")], check=True)
    summary = render(tmp_path, edit=('of blue glass"', 'of blue glass" image "orb.png"'))
    assert set(status(summary).values()) == {"made"}
    png = base64.b64encode((tmp_path / "orb.png").read_bytes()).decode()
    assert all(images_of(c) == [{"type": "image", "mime_type": "image/png", "data": png}] for c in fake.creates)
    assert all("orb" in prompt_of(c) for c in fake.creates)
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=red:s=16x16", "-frames:v", "1",
                    str(tmp_path / "orb.png")], check=True)   # same name, new picture: the shots it guides change
    again = render(tmp_path, edit=('of blue glass"', 'of blue glass" image "orb.png"'))
    assert [o.status for o in again.outcomes if o.job.startswith("video:")] == ["made"] * 3
    assert len(fake.creates) == 6


def test_the_smallest_frame_that_covers_the_film_is_asked_for_and_priced(tmp_path: Path) -> None:
    """hello.film is 320x180: Omni's 360p covers it, at 360p's price, with no `resolution` option set."""
    film = hello_project(tmp_path, profile().replace('resolution = "360p"', ""))
    plan, _ = asyncio.run(compile_film(film, "final"))
    video = plan.job("video:s01-sh01")
    assert isinstance(video.spec, VideoSpec)
    assert (video.spec.request.width, video.spec.request.height) == (640, 360)
    assert video.estimated_usd == Decimal("0.03") * Decimal(str(video.seconds))


def test_a_clip_kept_on_arrival_is_never_asked_for_again(fake: FakeGemini, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import filmc_backends.gemini_omni as omni

    def broken(src: Path, dst: Path) -> None:
        raise OSError(28, "No space left on device")   # the clip arrived and was kept; storing it failed

    with monkeypatch.context() as patched:
        patched.setattr(omni, "place", broken)
        first = render(tmp_path)
    assert {status(first)[f"video:s0{n}-sh01"] for n in (1, 2, 3)} == {"failed"}
    assert len(list((tmp_path / ".filmc").rglob("scratch/**/*.mp4"))) == 3   # paid for, kept
    fake.interactions.clear()   # even if Gemini forgot them, the kept clips are the shots'
    asked = sum(fake.requests.values())
    again = render(tmp_path)
    assert set(status(again).values()) <= {"made", "cached"} and sum(fake.requests.values()) == asked
    assert len(fake.creates) == 3


def test_a_render_killed_while_polling_resumes_without_a_new_create(fake: FakeGemini, tmp_path: Path) -> None:
    hello_project(tmp_path, profile())
    fake.hold.clear()   # every interaction stays in_progress: the render can only poll
    env = {**os.environ, "GEMINI_API_KEY": KEY, "GOOGLE_GEMINI_BASE_URL": fake.base_url}
    command = [sys.executable, "-m", "filmc.cli", "render", "hello.film", "--profile", "final", "--max-cost", "5"]
    proc = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while fake.requests["poll"] < 6 and time.monotonic() < deadline:   # two shots created (the video limit)
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert len(fake.creates) == 2
    fake.hold.set()
    again = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240, check=False)
    assert again.returncode == 0, again.stderr
    # the two journalled shots were polled and fetched, not bought again; the third was made now
    assert len(fake.creates) == 3 and all(fake.creates_for(shot) == 1 for shot in SHOTS)
    assert count_frames(tmp_path / "out" / "hello" / "hello.mp4") == 192


def test_sizes_ratios_and_resolutions() -> None:
    assert frame_sizes("720p") == ((640, 360), (360, 640), (1280, 720), (720, 1280))
    assert resolution_for(640, 360) == "360p" and resolution_for(720, 1280) == "720p"
    assert resolution_for(1920, 1080) == "1080p" and resolution_for(4096, 2160) == "1080p"
    assert aspect_ratio(1280, 720) == "16:9" and aspect_ratio(1080, 1920) == "9:16"
    assert file_name("https://generativelanguage.googleapis.com/v1beta/files/ab-12c:download?alt=media") == \
        "files/ab-12c"
    assert file_name("files/xyz9") == "files/xyz9" and file_name("https://example.com/video.mp4") is None


def test_the_backend_needs_no_key_to_load_and_refuses_what_it_cannot_make(tmp_path: Path) -> None:
    setup = Setup(project_dir=tmp_path, cache_dir=tmp_path / "cache")
    backend = GeminiOmniVideo(BackendConfig(backend="gemini-omni", options={"resolution": "1080p"}), setup)
    caps = backend.capabilities
    assert caps.clip_seconds == tuple(float(s) for s in range(3, 16)) and (1080, 1920) in (caps.frame_sizes or ())
    assert caps.env == ("GEMINI_API_KEY",) and caps.remote and caps.price.per_second == Decimal("0.15")
    with pytest.raises(ValueError, match=r"gemini-omni-1\.2-flash"):
        GeminiOmniVideo(BackendConfig(backend="gemini-omni", model="gen4.5"), setup)
    with pytest.raises(ValueError, match="resolution"):
        GeminiOmniVideo(BackendConfig(backend="gemini-omni", options={"resolution": "4k"}), setup)


def test_a_reference_image_changed_after_the_plan_is_refused_not_sent(fake: FakeGemini, tmp_path: Path) -> None:
    """A plan reviewed with one picture must not pay for clips made from another, stored under the old key."""
    tmp_path.mkdir(exist_ok=True)
    make_png = [ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=blue:s=16x16", "-frames:v", "1",
                str(tmp_path / "orb.png")]
    subprocess.run(make_png, check=True)
    film = hello_project(tmp_path, profile(), edit=('of blue glass"', 'of blue glass" image "orb.png"'))
    plan, _ = asyncio.run(compile_film(film, "final"))
    subprocess.run([*make_png[:7], "color=c=red:s=16x16", *make_png[8:]], check=True)   # edited after review
    summary = asyncio.run(render_film(plan, out_dir=tmp_path / "out", events=PlainEvents(), max_cost=Decimal(5),
                                      backoff=0.01))
    failed = [o for o in summary.outcomes if o.job.startswith("video:")]
    assert {o.status for o in failed} == {"failed"} and "changed after the plan was made" in (failed[0].error or "")
    assert fake.creates == []
