"""The crash suite's CI cases: a render SIGKILLed in a known stage, then run again (the full run, kills spread
over the whole render, is `python stress/crash_suite.py`). Each kill is triggered by what the render has
done (its journal, its progress events, the fakes' requests), not by a clock, so it hits its stage on any
machine."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from tests.filmc_backends.test_final_render import Services
from tests.reliability.crashes import (
    FINAL,
    PREVIEW,
    Kill,
    KillWhen,
    Moment,
    Reference,
    kill_and_resume,
    reference,
    services,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def preview_reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    return reference(tmp_path_factory.mktemp("reference"), PREVIEW, None)


@pytest.fixture(scope="module")
def fakes() -> Iterator[Services]:
    with services() as running:
        yield running


@pytest.fixture(scope="module")
def final_reference(tmp_path_factory: pytest.TempPathFactory, fakes: Services) -> Reference:
    return reference(tmp_path_factory.mktemp("reference"), FINAL, fakes)


def started(job: str) -> KillWhen:
    """The journal's last word on `job` is that it started: it is at work."""
    def condition(now: Moment) -> bool:
        last = [e.event for e in now.journal() if e.job == job]
        return bool(last) and last[-1] == "start"
    return condition


def settled(now: Moment) -> bool:
    """No create is on the wire: every line and the score are stored (the clips are held in progress). A kill
    while a create is unanswered may lose what the provider billed, as no provider lets a client find it
    again; the full run counts those apart."""
    done = {e.job for e in now.journal() if e.event == "done"}
    return {"voice:s01-l01", "voice:s02-l01", "voice:s03-l01", "music:score"} <= done


def made(job: str) -> KillWhen:
    return lambda now: any(e.get("kind") == "made" and e.get("job") == job for e in now.events)


MEDIA = ("voice:", "music:")


def media_stored_and_at_work(now: Moment) -> bool:
    """A line or the score is stored and another is still being made (its journal's last word is `start`).
    Waiting for one named line was not enough: the other lines and the score, made at the same time, could all
    be done by the time the kill came, and the render was then in its picture pass."""
    if not any(e.get("kind") == "made" and str(e.get("job", "")).startswith(MEDIA) for e in now.events):
        return False
    last = {e.job: e.event for e in now.journal()}
    return any(job.startswith(MEDIA) and event == "start" for job, event in last.items())


def assert_whole(kill: Kill, *stages: str) -> None:
    """Killed in one of `stages` (the journal's word, exact) and resumed to the same film, nothing lost or bought
    twice."""
    assert set(stages) & set(kill.stage.split("+")), kill.stage
    assert kill.resumed, kill.error
    assert kill.identical and kill.leftovers == [] and kill.lost == [] and kill.duplicates == {}, kill


@pytest.mark.parametrize(("when", "stages"), [
    # lines and the score being made, one already stored (the animatic has no clips to make: it is drawn in the
    # picture pass)
    (media_stored_and_at_work, ("making voice", "making music")),
    (started("picture"), ("picture pass",)),
    (made("mux"), ("output writes",)),            # the film is stored; the output folder is being written
], ids=["media", "picture", "outputs"])
def test_offline_a_killed_render_resumes_to_the_same_film(tmp_path: Path, preview_reference: Reference,
                                                          when: KillWhen, stages: tuple[str, ...]) -> None:
    kill = kill_and_resume(tmp_path, PREVIEW, preview_reference, when=when)
    assert_whole(kill, *stages)


def test_final_killed_while_polling_buys_nothing_twice(tmp_path: Path, fakes: Services,
                                                       final_reference: Reference) -> None:
    fakes.gemini.hold.clear()   # the clips stay in progress: the render can only poll
    try:
        polled = fakes.gemini.requests["poll"]
        kill = kill_and_resume(tmp_path, FINAL, final_reference, fakes=fakes,
                               when=lambda now: fakes.gemini.requests["poll"] >= polled + 6 and settled(now),
                               before_resume=fakes.gemini.hold.set)
    finally:
        fakes.gemini.hold.set()
    assert_whole(kill, "polling")


def test_final_killed_while_downloading_buys_nothing_twice(tmp_path: Path, fakes: Services,
                                                           final_reference: Reference) -> None:
    gate, held = threading.Event(), threading.Event()
    download = fakes.gemini.download

    def hold(h: BaseHTTPRequestHandler, file_id: str) -> None:
        if gate.is_set():
            return download(h, file_id)
        held.set()          # a clip's bytes were asked for: the render is downloading
        gate.wait(30)
        h.close_connection = True   # its render is dead by now: no answer
        return None

    fakes.gemini.download = hold   # type: ignore[method-assign]
    try:
        kill = kill_and_resume(tmp_path, FINAL, final_reference, fakes=fakes,
                               when=lambda now: held.is_set() and settled(now), before_resume=gate.set)
    finally:
        gate.set()
        fakes.gemini.download = download   # type: ignore[method-assign]
    assert_whole(kill, "download")


def test_scratch_a_killed_render_left_is_removed_once_its_job_is_stored(tmp_path: Path) -> None:
    """Killed after storing a paid job's asset and before closing its journal entry or removing its scratch
    folder (the paid answer kept on arrival), a render leaves the folder; the next one closes the entry and
    removes the folder. A job not stored keeps its folder: what was paid for in it is still to be used."""
    from filmc.backend.protocol import RemoteState
    from filmc.render.cache import Cache
    from filmc.render.journal import Journal
    from filmc.render.outcome import AssetMeta

    cache = Cache(tmp_path)
    journal = Journal(tmp_path / "journal.jsonl")
    cases = {"aa" * 32: (True, True), "bb" * 32: (False, True), "cc" * 32: (True, False), "dd" * 32: (False, False)}
    for key, (closed, stored) in cases.items():   # killed after closing it or not, after storing it or not
        (tmp_path / "scratch" / key[:2] / key).mkdir(parents=True)
        (tmp_path / "scratch" / key[:2] / key / "clip.mp4").write_bytes(b"paid")
        journal.write("remote", f"video:{key[:2]}", key, remote=RemoteState(provider="p", operation="op"))
        if closed:
            journal.write("done", f"video:{key[:2]}", key)
        if stored:
            cache.path("video", key, ".mp4").parent.mkdir(parents=True, exist_ok=True)
            cache.path("video", key, ".mp4").write_bytes(b"clip")
            cache.record("video", AssetMeta(job=f"video:{key[:2]}", key=key, size=4, duration=1.0))
    assert cache.clean_stale_parts() == 2
    assert sorted(p.name for p in (tmp_path / "scratch").glob("*/*")) == ["cc" * 32, "dd" * 32]
    assert journal.remote("bb" * 32).state is None and journal.remote("dd" * 32).state is not None
