"""`filmc render FILM --lang en` after the film's own render: one more voice, mix and mux; every clip and the score
come from the cache, and the outputs sit beside the original's as `<title>.en.*`."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from filmc.assemble.media import decode, ffmpeg_exe, probe
from filmc.cli.progress import PlainEvents
from filmc.deliver.outputs import RenderSummary
from filmc.pipeline import compile_film, render_film

pytestmark = pytest.mark.slow

FILM = """\
film "Ciao" {
  language it
  translate en
  frame 320x180 @ 24
  music { 0:00 "quiet electronic pulse" intensity 0.3 }
  scene "Uno" {
    shot 2s "A blue orb floats in the dark" { camera slow-push-in }
    say +200ms "Ciao, *mondo*." tone "curioso"
  }
  scene "Due" {
    shot 2s "The orb glows amber" { camera crane-up }
    say +200ms "Qualcosa [pause 0.3s] cambia." tone "quieto"
  }
}
"""
LINES = """\
# Ciao in English
s01-l01: Hello, *world*.
s02-l01: Something [pause 0.3s] changes.
"""


Rendered = tuple[Path, RenderSummary, "subprocess.CompletedProcess[str]"]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rendered]:
    root = tmp_path_factory.mktemp("ciao")
    film = root / "ciao.film"
    film.write_text(FILM, "utf-8")
    (root / "ciao.en.lines").write_text(LINES, "utf-8")
    plan, _ = asyncio.run(compile_film(film))
    italian = asyncio.run(render_film(plan, out_dir=root / "out", events=PlainEvents(), backoff=0.01))
    assert not italian.failed
    env = {**os.environ, "NO_COLOR": "1"}
    english = subprocess.run([sys.executable, "-m", "filmc.cli", "render", str(film), "--lang", "en", "--out",
                              str(root / "out"), "--json"], capture_output=True, text=True, env=env, check=False)
    yield film, italian, english


def test_second_language_makes_only_its_voice_mix_and_mux(
        rendered: Rendered) -> None:
    film, italian, english = rendered
    assert english.returncode == 0, english.stderr
    manifest = json.loads((film.parent / "out" / "manifest.en.json").read_text("utf-8"))
    status = {a["job"]: a["status"] for a in manifest["assets"]}
    made = {job for job, s in status.items() if s == "made"}
    assert made == {"voice:s01-l01", "voice:s02-l01", "mix", "mux"}
    # previz clips may be drawn inside the picture pass rather than made as files: either way none is made again
    assert {s for job, s in status.items() if job.startswith("video:")} <= {"cached", "drawn"}
    assert status["music:score"] == status["picture"] == "cached"
    before = {o.job: o for o in italian.outcomes}
    keys = {a["job"]: a["key"] for a in manifest["assets"]}
    assert all(keys[j] == o.key for j, o in before.items() if not j.startswith("voice:") and j not in ("mix", "mux"))
    voices = [a for a in manifest["assets"] if a["kind"] == "voice"]
    assert {a["parameters"]["request"]["language"] for a in voices} == {"en"}
    assert (film.parent / "out" / "manifest.json").is_file()   # the original's manifest is its own


def test_outputs_sit_beside_the_originals_with_en_names(
        rendered: Rendered) -> None:
    film, _, _ = rendered
    out = film.parent / "out"
    for suffix in ("mp4", "srt", "vtt", "otio", "storyboard.html"):
        assert (out / f"ciao.{suffix}").is_file() and (out / f"ciao.en.{suffix}").is_file(), suffix
    srt = (out / "ciao.en.srt").read_text("utf-8")
    assert "Hello, world." in srt and "Something changes." in srt and "Ciao" not in srt
    assert "Ciao, mondo." in (out / "ciao.srt").read_text("utf-8")
    assert (out / "media" / "s01-l01.wav").is_file() and (out / "media" / "s01-l01.en.wav").is_file()


def test_english_mp4_has_its_own_audio_of_the_films_length(
        rendered: Rendered) -> None:
    film, _, _ = rendered
    mp4 = film.parent / "out" / "ciao.en.mp4"
    info = probe(mp4)
    assert info.audio is not None and info.audio.codec == "aac" and info.audio_streams == 1
    assert abs(decode(mp4).duration - 4.0) <= 1 / 24 + 0.05
    assert mp4.read_bytes() != (film.parent / "out" / "ciao.mp4").read_bytes()


def test_lang_list_renders_each_then_one_mp4_with_a_tagged_track_per_language(rendered: Rendered) -> None:
    film, _, _ = rendered
    env = {**os.environ, "NO_COLOR": "1"}
    both = subprocess.run([sys.executable, "-m", "filmc.cli", "render", str(film), "--lang", "all", "--out",
                           str(film.parent / "out")], capture_output=True, text=True, env=env, check=False)
    assert both.returncode == 0, both.stderr
    joined = film.parent / "out" / "ciao.it+en.mp4"
    assert f"languages: {joined}" in both.stdout
    info = probe(joined)
    assert info.video_streams == 1 and info.audio_streams == 2
    described = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(joined)], capture_output=True, text=True,
                               check=False).stderr
    streams = [line for line in described.splitlines() if "Stream #" in line]
    assert ["(ita): Audio" in streams[1], "(eng): Audio" in streams[2]] == [True, True]
    assert sum("Subtitle: mov_text" in line for line in streams) == 2
