"""The HTML storyboard read back by an HTML parser: user text stays text, every scene, shot, line and cue is on
the page, nothing points off the page, and a render puts a real frame of each clip in it."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from filmc.assemble.media import ffmpeg_exe, mean_rgb
from filmc.check.resolved import ResolvedCard, ResolvedShot
from filmc.cli import main
from filmc.cli.progress import PlainEvents
from filmc.deliver.storyboard import THUMB_WIDTH, Slot, clips_of, render_storyboard, storyboard
from filmc.pipeline import compile_film, render_film
from filmc.plan.model import PictureSpec, Plan, VideoSpec
from filmc.render.cache import Cache
from tests.conftest import FILMS

HOSTILE = r"""film "T <script>alert(1)</script>" {
  language en
  frame 320x180 @ 24
  style "</style><script>alert('style')</script> \"><img src=x onerror=alert(2)> {{ 7*7 }}"
  entity orb "an orb <b>bold</b> </style> & &amp;"
  voice narrator "calm <i>voice</i>"
  palette { 0:00 cold #0B1E3F #3A7BD5 }
  music {
    0:00 "<script>music()</script>" instruments "</table></section>" intensity 0.3
  }
  title 1s { "<h1>TITLE</h1>" }
  scene "<script>alert('scene')</script>" {
    shot 2s "<script>alert('shot')</script> a long shot" {
      light "</style>light"
      mood "\"><svg onload=alert(3)>"
      with orb
    }
    say +200ms "Hello <script>x()</script> *there*." tone "<b>tone</b>"
  }
  scene "https://example.com/x.png" {
    shot 2s "<a href=\"http://evil.example/\">link</a> <img src=\"https://evil.example/i.png\">"
  }
  credits 1s { "</body></html>" }
}
"""
# What the director typed, as the reader must see it: text, not markup.
SHOWN = ("T <script>alert(1)</script>", "</style><script>alert('style')</script> \"><img src=x onerror=alert(2)>",
         "{{ 7*7 }}", "an orb <b>bold</b> </style> & &amp;", "calm <i>voice</i>", "<script>music()</script>",
         "</table></section>", "<h1>TITLE</h1>", "<script>alert('scene')</script>",
         "<script>alert('shot')</script> a long shot", "</style>light", "\"><svg onload=alert(3)>",
         "<script>x()</script>", "<b>tone</b>", "https://example.com/x.png", "<a href=\"http://evil.example/\">link</a>",
         "<img src=\"https://evil.example/i.png\">", "</body></html>")


class Page(HTMLParser):
    """Every element (tag, attributes, id), the visible text, and the style sheet's text, as a browser parses them."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.texts: list[str] = []
        self.styles: list[str] = []
        self.headings: list[tuple[str, str]] = []
        self._open: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))
        if tag in ("h1", "h2", "h3", "style"):
            self._open.append(tag)
            self.headings.append((tag, ""))

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1] == tag:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if self._open and self._open[-1] == "style":
            self.styles.append(data)
            return
        self.texts.append(data)
        if self._open:
            tag, text = self.headings[-1]
            self.headings[-1] = (tag, text + data)

    @property
    def text(self) -> str:
        return "".join(self.texts)

    def tags(self, name: str) -> list[dict[str, str]]:
        return [attrs for tag, attrs in self.elements if tag == name]

    def ids(self) -> set[str]:
        return {attrs["id"] for _, attrs in self.elements if "id" in attrs}


def _compile(film: Path, cache: Path) -> Plan:
    """Offline, with a cache of the test's own: no developer's clips turn up as thumbnails."""
    return asyncio.run(compile_film(film, cache_dir=cache))[0]


@pytest.fixture(scope="module")
def entropy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Plan, Page]:
    plan = _compile(FILMS / "entropy.film", tmp_path_factory.mktemp("cache"))
    return plan, Page(render_storyboard(storyboard(plan)))


def test_hostile_text_shows_as_text_and_nothing_runs(tmp_path: Path) -> None:
    film = tmp_path / "hostile.film"
    film.write_text(HOSTILE, "utf-8")
    html = render_storyboard(storyboard(_compile(film, tmp_path / "cache")))
    page = Page(html)
    assert not page.tags("script") and not page.tags("svg") and not page.tags("img") and not page.tags("b")
    assert len(page.tags("style")) == 1 and "alert" not in "".join(page.styles)   # `</style>` closed nothing
    assert not [(tag, name) for tag, attrs in page.elements for name in attrs if name.startswith("on")]
    assert [a["href"] for a in page.tags("a") if not a["href"].startswith("#")] == []
    for typed in SHOWN:
        assert typed in page.text, typed
    assert "49" not in page.text.replace("0.49", "")   # `{{ 7*7 }}` was not evaluated
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script" not in html


def test_every_scene_shot_line_and_cue_of_entropy_is_on_the_page(entropy: tuple[Plan, Page]) -> None:
    plan, page = entropy
    tl = plan.film.timeline
    shots = [s for s in tl.segments if isinstance(s, ResolvedShot)]
    scenes = list(dict.fromkeys((s.scene_id, s.scene_title) for s in shots))
    assert len(scenes) == 10
    shown = [text for tag, text in page.headings if tag == "h2" and text.startswith("Scene ")]
    assert shown == [f"Scene {n} · {title}" for n, (_, title) in enumerate(scenes, 1)]
    assert {s.id for s in shots} | {b.id for b in tl.beats} | {sid for sid, _ in scenes} <= page.ids()
    text = " ".join(page.text.split())
    for _, spec in plan.specs(VideoSpec):
        assert " ".join(spec.request.prompt.split()) in text and spec.request.negative in text
    for shot in shots:
        assert shot.description in text and shot.camera in text
        assert all(value in text for value in (shot.light, shot.mood) if value)
    for beat in tl.beats:
        assert beat.tone is None or beat.tone in text
    for cue in tl.cues:
        assert cue.description in text and cue.instruments in text
    for card in (s for s in tl.segments if isinstance(s, ResolvedCard)):
        assert all(line in text for line in card.lines)
    assert " ".join(plan.film.style.split()) in text
    assert all(e.description in text for e in plan.film.entities)
    assert len(page.tags("tr")) == len(plan.jobs) + len(tl.cues) + 3   # a row a job and a cue, heads and total
    assert all(job.id in text for job in plan.jobs)
    assert "2:00" in text and "1280×720 @ 24 fps" in text and "preview" in text


def test_nothing_on_the_page_points_off_it(entropy: tuple[Plan, Page]) -> None:
    _, page = entropy
    for tag, attrs in page.elements:
        for name, value in attrs.items():
            assert "http://" not in value and "https://" not in value, (tag, name, value)
        assert not attrs.get("href", "#").strip() or attrs.get("href", "#").startswith("#"), (tag, attrs)
        assert attrs.get("src", "data:image/jpeg;base64,").startswith("data:image/jpeg;base64,"), (tag, attrs)
    assert not page.tags("link") and not page.tags("script") and not page.tags("iframe")
    sheet = "".join(page.styles)
    assert "url(" not in sheet and "@import" not in sheet and "@font-face" not in sheet
    assert "@media print" in sheet and "break-before: page" in sheet


def test_without_clips_each_shot_shows_its_palette(entropy: tuple[Plan, Page]) -> None:
    plan, page = entropy
    swatches = [a["style"] for a in page.tags("div") if "swatch" in a.get("class", "").split()]
    shots = [s for s in plan.film.timeline.segments if isinstance(s, ResolvedShot)]
    assert len(swatches) == len(shots) and not page.tags("img")
    for style, shot in zip(swatches, shots, strict=True):
        assert all(colour in style for colour in shot.palette)


# ---------------------------------------------------------------- after a real render of hello.film


def _jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a JPEG's start-of-frame segment."""
    assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
    i = 2
    while i < len(data):
        marker, length = data[i + 1], int.from_bytes(data[i + 2:i + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2):
            return int.from_bytes(data[i + 7:i + 9], "big"), int.from_bytes(data[i + 5:i + 7], "big")
        i += 2 + length
    raise AssertionError("no start-of-frame segment")


def _still_rgb(image: Path) -> tuple[float, float, float]:
    """Mean colour of a still image (`mean_rgb` seeks, which a single picture can't)."""
    pixels = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(image), "-vf", "scale=32:18:flags=area", "-f",
                             "rawvideo", "-pix_fmt", "rgb24", "pipe:1"], capture_output=True, check=True).stdout
    assert len(pixels) == 32 * 18 * 3
    n = len(pixels) // 3
    return sum(pixels[0::3]) / n, sum(pixels[1::3]) / n, sum(pixels[2::3]) / n


class Rendered:
    def __init__(self, root: Path) -> None:
        self.film = root / "hello.film"
        shutil.copy(FILMS / "hello.film", self.film)
        self.plan = asyncio.run(compile_film(self.film))[0]
        summary = asyncio.run(render_film(self.plan, out_dir=root / "out", events=PlainEvents(), backoff=0.01))
        assert not summary.failed
        self.root = root
        self.written = summary.manifest.outputs
        self.page = Page((root / "out" / self.written["storyboard"]).read_text("utf-8"))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rendered]:
    yield Rendered(tmp_path_factory.mktemp("hello"))


@pytest.mark.slow
def test_render_writes_the_storyboard_with_a_frame_of_each_clip(rendered: Rendered, tmp_path: Path) -> None:
    assert rendered.written["storyboard"] == "hello.storyboard.html"
    manifest = json.loads((rendered.root / "out" / "manifest.json").read_text("utf-8"))
    assert manifest["outputs"]["storyboard"] == "hello.storyboard.html"
    images = rendered.page.tags("img")
    clips = {spec.shot_id: spec for _, spec in rendered.plan.specs(VideoSpec)}
    assert len(images) == len(clips) == 3
    assert not [a for a in rendered.page.tags("div") if "swatch" in a.get("class", "").split()]
    figures = [a["id"] for a in rendered.page.tags("article")]
    (picture_job, picture), = rendered.plan.specs(PictureSpec)
    source = next(rendered.root.glob(f".filmc/cache/picture/*/{picture_job.key}.mp4"))
    middles, start = {}, 0   # a drawn shot has no clip file: its thumbnail is the middle of its slot in the picture
    for seg in picture.segments:
        middles[seg.video_job] = (start + seg.frames / 2) * picture.fps_den / picture.fps_num
        start += seg.frames
    for shot_id, img in zip(figures, images, strict=True):
        data = base64.b64decode(img["src"].removeprefix("data:image/jpeg;base64,"), validate=True)
        assert _jpeg_size(data) == (THUMB_WIDTH, 180)
        thumb = tmp_path / f"{shot_id}.jpg"
        thumb.write_bytes(data)
        assert clips[shot_id]
        job = next(j for j in rendered.plan.jobs if isinstance(j.spec, VideoSpec) and j.spec.shot_id == shot_id)
        # the thumbnail is a frame of the shot's slot (a keyframe, or the middle): the previz keeps its
        # colours through a shot, so its mean colour is the middle frame's, within JPEG's loss
        got, want = _still_rgb(thumb), mean_rgb(source, middles[job.id])
        assert max(abs(g - w) for g, w in zip(got, want, strict=True)) < 10, (shot_id, got, want)
    statuses = {row.get("class", "") for row in rendered.page.tags("span") if "status" in row.get("class", "")}
    assert statuses == {"status status-made", "status status-drawn"}


@pytest.mark.slow
def test_a_drawn_shot_takes_its_keyframe_only_where_it_shows_alone(rendered: Rendered) -> None:
    """A crossfade's frames sit at the head of the incoming slot: its first frame is the outgoing shot's (and a
    keyframe, often: the cut's), so the slot a keyframe may come from starts after the blend."""
    stills = clips_of(rendered.plan, cache=Cache.for_plan(rendered.plan, None))
    (picture_job, picture), = rendered.plan.specs(PictureSpec)
    shots = {job.id: spec.shot_id for job, spec in rendered.plan.specs(VideoSpec)}
    drawn = {job.id for job in rendered.plan.jobs if job.drawn}
    fps, start, blended = picture.fps_num / picture.fps_den, 0, 0
    for seg in picture.segments:
        if seg.video_job in drawn:
            still = stills[shots[seg.video_job]]
            blend = seg.transition_in.frames if seg.transition_in and seg.transition_in.kind != "cut" else 0
            assert still.path.stem == picture_job.key and still.at == pytest.approx((start + seg.frames / 2) / fps)
            assert still.slot == pytest.approx(Slot((start + blend) / fps, (start + seg.frames) / fps))
            blended += blend > 0
        start += seg.frames
    assert blended   # hello's crossfade leads into a drawn shot


@pytest.mark.slow
def test_compile_writes_the_storyboard_beside_the_outputs_with_cached_frames(rendered: Rendered) -> None:
    runner = CliRunner()
    done = runner.invoke(main, ["compile", str(rendered.film), "--storyboard"])
    assert done.exit_code == 0, done.output
    default = rendered.root / "out" / "hello" / "hello.storyboard.html"   # where `filmc render` puts outputs
    assert f"storyboard: {default}" in done.stdout
    page = Page(default.read_text("utf-8"))
    assert len(page.tags("img")) == 3   # the picture the render left in the cache, at each shot's slot
    statuses = {row.get("class", "") for row in page.tags("span") if "status" in row.get("class", "")}
    assert statuses == {"status status-cached", "status status-drawn"}
    target = rendered.root / "elsewhere" / "board.html"
    as_json = runner.invoke(main, ["compile", str(rendered.film), "--json", f"--storyboard={target}"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout)["version"] == 1 and target.is_file()   # stdout is the plan alone


@pytest.mark.slow
def test_a_render_with_nothing_new_makes_no_thumbnail_again(rendered: Rendered) -> None:
    """Thumbnails are kept in the cache: another process's render of an unchanged film runs no ffmpeg for
    them (it was 0.64 s of Entropy's 1.1 s no-op render) and writes the same page."""
    kept = sorted((rendered.root / ".filmc" / "cache" / "thumbs").rglob("*.jpg"))
    assert len(kept) == 3
    stamps = [p.stat().st_mtime_ns for p in kept]
    before = (rendered.root / "out" / rendered.written["storyboard"]).read_text("utf-8")
    done = subprocess.run([sys.executable, "-m", "filmc.cli", "render", str(rendered.film), "--out",
                           str(rendered.root / "out")], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert [p.stat().st_mtime_ns for p in sorted(kept)] == stamps
    after = (rendered.root / "out" / rendered.written["storyboard"]).read_text("utf-8")
    assert after.replace("status-made", "status-cached").replace(">made<", ">cached<") == \
        before.replace("status-made", "status-cached").replace(">made<", ">cached<")
