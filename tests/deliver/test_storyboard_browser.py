"""The storyboard in a real browser: headless Chromium from the distribution's packages, driven by Playwright.

After offline renders of hello.film and entropy.film, each storyboard opens from disk with no console error,
no failed request and no request off the machine, shows every scene, and fits: nothing is wider than the
window at 1280 px, nor on an A4 page in print media, where each scene starts a page of its own.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from filmc.check.resolved import ResolvedShot
from filmc.cli.progress import PlainEvents
from filmc.pipeline import compile_film, render_film
from filmc.plan.model import Plan
from tests.conftest import FILMS

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Route, ViewportSize

CHROMIUM = Path("/usr/bin/chromium")   # Debian's package; .ci/run installs it when missing
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
A4: ViewportSize = {"width": 794, "height": 1123}     # CSS px at 96 dpi
WIDE: ViewportSize = {"width": 1280, "height": 900}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium: `apt-get install chromium` (.ci/run "
                       "does it) to run the storyboard's browser tests"),
]

# Every element's box inside the window, and no block's content wider than its box (text that would spill out,
# clipped or not, unless the element is meant to cut it short with an ellipsis).
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth, bad = [];
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className ? '.' + el.className : '');
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect(), style = getComputedStyle(el);
    if (style.display === 'none' || (box.width === 0 && box.height === 0)) continue;
    if (box.left < -0.5 || box.right > width + 0.5) bad.push(`${name(el)} spans ${box.left}..${box.right}`);
    if (style.display !== 'inline' && style.textOverflow !== 'ellipsis' && el.scrollWidth > el.clientWidth + 1
        && el.clientWidth > 0) bad.push(`${name(el)} holds ${el.scrollWidth}px in ${el.clientWidth}px`);
  }
  return {scrollWidth: document.documentElement.scrollWidth, width, bad: bad.slice(0, 20)};
}"""


@dataclass
class Board:
    """A film rendered offline, and the storyboard the render wrote."""

    plan: Plan
    path: Path

    @property
    def scene_titles(self) -> list[str]:
        shots = [s for s in self.plan.film.timeline.segments if isinstance(s, ResolvedShot)]
        return list(dict.fromkeys(s.scene_title for s in shots))


@dataclass
class Visit:
    page: Page
    console: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    offsite: list[str] = field(default_factory=list)


def _render(root: Path, name: str) -> Board:
    film = root / name
    shutil.copy(FILMS / name, film)
    plan = asyncio.run(compile_film(film))[0]
    summary = asyncio.run(render_film(plan, out_dir=root / "out", events=PlainEvents(), backoff=0.01))
    assert not summary.failed
    return Board(plan=plan, path=root / "out" / summary.manifest.outputs["storyboard"])


@pytest.fixture(scope="session")
def boards(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Board]:
    """hello and entropy, rendered once per session (entropy takes ~40 s), each with its own project cache."""
    return {name: _render(tmp_path_factory.mktemp(name), f"{name}.film") for name in ("hello", "entropy")}


@pytest.fixture(scope="module")
def browser(boards: dict[str, Board]) -> Iterator[Browser]:
    """Started after the renders (asyncio.run can't run beside Playwright's loop) and closed with the module."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="the `playwright` package (dev extra) drives it")
    with sync_api.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


def _visit(browser: Browser, board: Board, *, print_media: bool = False, javascript: bool = True) -> Visit:
    context = browser.new_context(viewport=A4 if print_media else WIDE,
                                  java_script_enabled=javascript)
    visit = Visit(page=context.new_page())

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            visit.console.append(f"{message.type}: {message.text}")

    def on_failed(request: Request) -> None:
        visit.failed.append(f"{request.url[:80]}: {request.failure}")

    def guard(route: Route) -> None:   # the page may read itself and its data: URIs, nothing else
        url = route.request.url
        if url.startswith(("file://", "data:")):
            route.continue_()
        else:
            visit.offsite.append(url)
            route.abort()

    visit.page.on("console", on_console)
    visit.page.on("pageerror", lambda error: visit.console.append(f"pageerror: {error}"))
    visit.page.on("requestfailed", on_failed)
    visit.page.route("**/*", guard)
    if print_media:
        visit.page.emulate_media(media="print")
    visit.page.goto(board.path.as_uri(), wait_until="load")
    return visit


def _assert_clean(visit: Visit) -> None:
    assert visit.console == [] and visit.failed == [] and visit.offsite == []


def _assert_fits(visit: Visit, width: int) -> None:
    found: dict[str, Any] = visit.page.evaluate(OVERFLOW)
    assert found["width"] == width and found["scrollWidth"] <= width, found
    assert found["bad"] == [], found["bad"]


@pytest.mark.parametrize("name", ["hello", "entropy"])
def test_opens_clean_shows_every_scene_and_fits_1280(browser: Browser, boards: dict[str, Board], name: str) -> None:
    board = boards[name]
    visit = _visit(browser, board)
    _assert_clean(visit)
    page = visit.page
    assert page.title() == f"{board.plan.film.title} — storyboard"
    titles = board.scene_titles
    assert len(titles) == {"hello": 3, "entropy": 10}[name]
    for n, title in enumerate(titles, 1):
        heading = page.get_by_role("heading", name=f"Scene {n} · {title}", exact=True)
        assert heading.count() == 1 and heading.is_visible()
    shots = [s for s in board.plan.film.timeline.segments if isinstance(s, ResolvedShot)]
    loaded = page.evaluate("() => [...document.images].map(i => i.complete && i.naturalWidth)")
    assert loaded == [320] * len(shots)   # every thumbnail decoded, one per shot
    _assert_fits(visit, 1280)
    visit.page.context.close()


@pytest.mark.parametrize("name", ["hello", "entropy"])
def test_fits_an_a4_page_in_print_with_a_page_per_scene(browser: Browser, boards: dict[str, Board],
                                                        name: str) -> None:
    board = boards[name]
    visit = _visit(browser, board, print_media=True)
    _assert_clean(visit)
    page = visit.page
    assert page.evaluate("() => matchMedia('print').matches")
    assert page.locator("nav.toc").is_hidden()   # links are no use on paper
    _assert_fits(visit, A4["width"])
    breaks = page.evaluate("() => [...document.querySelectorAll('section')].map(s => "
                           "[s.className, getComputedStyle(s).breakBefore])")
    assert [kind for kind, rule in breaks if rule == "page"] == ["scene"] * len(board.scene_titles) + ["music", "jobs"]
    pdf = page.pdf(format="A4", print_background=True)
    pages = len(re.findall(rb"/Type\s*/Page\b", pdf))
    assert pages >= len(board.scene_titles) + 3, pages   # the film's page, one or more a scene, music, jobs
    visit.page.context.close()


def test_reads_without_javascript(browser: Browser, boards: dict[str, Board]) -> None:
    board = boards["entropy"]
    visit = _visit(browser, board, javascript=False)
    _assert_clean(visit)
    text = visit.page.locator("body").inner_text()
    assert all(title in text for title in board.scene_titles)
    assert "Style bible" in text and "Music" in text and "Jobs" in text
    visit.page.context.close()
