"""The crash suite's one case: `filmc render` killed (SIGKILL) at a given moment, then run again to the end.

A case starts from a cold project (its own cache and output folder), so the kill lands in real work; the
re-run resumes in the same cache. What it checks: the re-run exits 0; its film, subtitles are the bytes of an
uninterrupted render; no temp or half file is left in the cache or the output folder; no job finished before
the kill is made again (no work lost); and, with the `final` profile against the loopback fakes, no shot,
line, score or prompt is bought twice.

Shared by `tests/reliability/test_crashes.py` (CI: a few kills) and `stress/crash_suite.py` (the full run)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filmc.render.journal import Journal, JournalEntry
from tests.conftest import FILMS
from tests.fakes.anthropic_fake import FakeAnthropic, first_user_text
from tests.fakes.elevenlabs_fake import FakeElevenLabs
from tests.fakes.gemini_fake import FakeGemini, prompt_of
from tests.filmc_backends.test_final_render import KEYS, PROFILE, URI_DELIVERY, Services, answer

ASSEMBLY = ("picture", "mix", "mux")
OUTPUTS = (".mp4", ".srt", ".vtt")   # compared byte for byte with the uninterrupted render's
# The `final` profile against the fakes: fast pacing, clips delivered as files (so a download is its own stage).
FINAL_PROFILE = PROFILE + URI_DELIVERY


@dataclass(frozen=True)
class Mode:
    """How the film is rendered: the profile's name, the CLI's flags for it, the filmc.toml it needs."""

    profile: str
    args: tuple[str, ...] = ()
    toml: str = ""

    @property
    def paid(self) -> bool:
        return self.profile != "preview"


PREVIEW = Mode("preview")
FINAL = Mode("final", ("--profile", "final", "--max-cost", "5"), FINAL_PROFILE)


@contextlib.contextmanager
def services() -> Iterator[Services]:
    """Claude, Gemini Omni and ElevenLabs as loopback fakes in this process; renders reach them by `env_for`."""
    with FakeAnthropic(answer, api_key=KEYS["ANTHROPIC_API_KEY"]) as claude, \
            FakeGemini(api_key=KEYS["GEMINI_API_KEY"]) as gemini, \
            FakeElevenLabs(api_key=KEYS["ELEVENLABS_API_KEY"]) as eleven:
        yield Services(claude, gemini, eleven)


def env_for(root: Path, fakes: Services | None) -> dict[str, str]:
    """The render's environment: its own temp folder (what a killed render leaves there is counted), and
    the fakes' keys and addresses."""
    env = {k: v for k, v in os.environ.items() if k not in ("GOOGLE_API_KEY", "FILMC_CACHE")}
    env["TMPDIR"] = str(root / "tmp")
    if fakes is not None:
        env.update(KEYS)
        env.update({"ANTHROPIC_BASE_URL": fakes.claude.base_url, "GOOGLE_GEMINI_BASE_URL": fakes.gemini.base_url,
                    "ELEVENLABS_BASE_URL": fakes.eleven.base_url})
    return env


def new_project(root: Path, mode: Mode, film: Path = FILMS / "hello.film") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "tmp").mkdir(exist_ok=True)
    (root / film.name).write_text(film.read_text("utf-8"), "utf-8")
    if mode.toml:
        (root / "filmc.toml").write_text(mode.toml, "utf-8")
    return root / film.name


def command(film: Path, mode: Mode) -> list[str]:
    return [sys.executable, "-m", "filmc.cli", "render", film.name, "--json", "--out", "out", *mode.args]


def outputs(root: Path) -> dict[str, bytes]:
    """The film and its subtitles, by suffix."""
    found = {p.suffix: p.read_bytes() for p in (root / "out").glob("*") if p.suffix in OUTPUTS and p.is_file()}
    return found


def events_of(text: str) -> list[dict[str, Any]]:
    out = []
    for line in text.splitlines():
        with contextlib.suppress(ValueError):
            if line.startswith("{"):
                out.append(json.loads(line))
    return out


def journal_of(root: Path) -> list[JournalEntry]:
    return Journal(root / ".filmc" / "cache" / "journal.jsonl").entries()


@dataclass
class Bought:
    """What the fakes were asked to make, by item: a shot's clip, a line's speech, the score, a shot's prompt."""

    items: Counter[str] = field(default_factory=Counter)

    @classmethod
    def of(cls, fakes: Services | None, since: Bought | None = None) -> Bought:
        if fakes is None:
            return cls()
        items: Counter[str] = Counter()
        for create in list(fakes.gemini.creates):
            items[f"video:{_shot(prompt_of(create))}"] += 1
        for body in list(fakes.eleven.billed):
            items[f"voice:{str(body['text'])[:24]}"] += 1
        items["music:score"] += len(fakes.eleven.scores)
        for request in list(fakes.claude.requests):
            items[f"prompt:{first_user_text(request.body).splitlines()[0]}"] += 1
        return cls(items - since.items if since else items)

    def duplicates(self) -> dict[str, int]:
        return {item: n - 1 for item, n in self.items.items() if n > 1}


def _shot(prompt: str) -> str:
    match = re.search(r"s\d\d-sh\d\d", prompt)
    return match.group() if match else prompt[:24]


@dataclass
class Reference:
    outputs: dict[str, bytes]
    seconds: float          # the uninterrupted render's wall time, from start to exit
    bought: Bought


def reference(root: Path, mode: Mode, fakes: Services | None, film: Path = FILMS / "hello.film") -> Reference:
    """Uninterrupted cold renders: the bytes every resumed render must give, and how long a render takes
    (the faster of two: the first also warms the disk cache and the interpreter's bytecode)."""
    runs = []
    for n in range(2):
        path = new_project(root / f"run-{n}", mode, film)
        before = Bought.of(fakes)
        started = time.monotonic()
        done = subprocess.run(command(path, mode), cwd=path.parent, capture_output=True, text=True, timeout=600,
                              env=env_for(path.parent, fakes), check=False)
        seconds = time.monotonic() - started
        assert done.returncode == 0, done.stderr
        runs.append(Reference(outputs=outputs(path.parent), seconds=seconds, bought=Bought.of(fakes, since=before)))
    assert runs[0].outputs == runs[1].outputs, "two uninterrupted renders differ: no reference to compare with"
    return Reference(outputs=runs[0].outputs, seconds=min(r.seconds for r in runs), bought=runs[0].bought)


@dataclass
class Moment:
    """What a running render has done so far, as the kill condition sees it."""

    elapsed: float
    events: list[dict[str, Any]]
    root: Path
    fakes: Services | None

    def journal(self) -> list[JournalEntry]:
        return journal_of(self.root)


KillWhen = Callable[[Moment], bool]


@dataclass
class Kill:
    at: float                  # seconds after the start
    stage: str                 # what the render was doing when it was killed
    resumed: bool              # the re-run exited 0
    identical: bool            # its film and subtitles are the uninterrupted render's, byte for byte
    leftovers: list[str]       # temp or half files in the cache or the output folder after the re-run
    lost: list[str]            # jobs stored before the kill and made again by the re-run
    duplicates: dict[str, int] = field(default_factory=dict)   # items bought more than once, and how often more
    in_flight: list[str] = field(default_factory=list)   # paid jobs killed between sending a create and its id
    warned: list[str] = field(default_factory=list)      # jobs the re-run said may have been created unrecorded
    tmp_left: list[str] = field(default_factory=list)   # left in its temp folder (outside the project: the OS's)
    error: str = ""            # the re-run's stderr, if it failed

    @property
    def on_the_wire(self) -> dict[str, int]:
        """Duplicates of what was being created when the render died, its create sent and unanswered: the
        provider billed it, filmc never had it. No provider here takes an idempotency key or lists its jobs,
        so nothing can find it again; the resumed render says so (a note) and buys it again."""
        layers = {job.split(":")[0] for job in self.in_flight}
        if self.stage == "compile (prompts)":
            layers.add("prompt")
        return {item: n for item, n in self.duplicates.items() if item.split(":")[0] in layers}

    @property
    def avoidable(self) -> dict[str, int]:
        """Duplicates of what filmc had, or had the id of, when it died: never acceptable."""
        return {item: n for item, n in self.duplicates.items() if item not in self.on_the_wire}

    @property
    def ok(self) -> bool:
        return self.resumed and self.identical and not self.leftovers and not self.lost and not self.avoidable


def kill_and_resume(root: Path, mode: Mode, ref: Reference, *, at: float | None = None,
                    when: KillWhen | None = None, fakes: Services | None = None,
                    before_resume: Callable[[], None] | None = None, film: Path = FILMS / "hello.film",
                    limit: float = 120.0) -> Kill:
    """Start a cold render, SIGKILL it `at` seconds in (or once `when` holds), render again to the end;
    what the two runs left and bought."""
    path = new_project(root, mode, film)
    env = env_for(root, fakes)
    before = Bought.of(fakes)
    proc = subprocess.Popen(command(path, mode), cwd=root, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env=env)
    started = time.monotonic()
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    while proc.poll() is None:
        elapsed = time.monotonic() - started
        if (at is not None and elapsed >= at) or elapsed > limit or \
                (when is not None and when(Moment(elapsed, events_of("".join(lines)), root, fakes))):
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.002)
    killed_at = time.monotonic() - started
    proc.wait(timeout=60)
    journal = journal_of(root)   # read at once: the kill froze it
    reader.join(timeout=10)
    events = events_of("".join(lines))
    finished = proc.returncode == 0
    stage = "finished before the kill" if finished else stage_of(events, journal, fakes, before)
    in_flight = [] if finished else unconfirmed(journal, mode)
    if before_resume is not None:
        before_resume()
    again = subprocess.run(command(path, mode), cwd=root, capture_output=True, text=True, timeout=600, env=env,
                           check=False)
    made_again = {e["job"] for e in events_of(again.stdout) if e.get("kind") == "made"}
    done_before = {e.job for e in journal if e.event == "done"}
    got = outputs(root)
    return Kill(at=round(killed_at, 3), stage=stage, resumed=again.returncode == 0,
                identical=bool(got) and got == ref.outputs, leftovers=leftovers(root),
                lost=sorted(done_before & made_again),
                duplicates=Bought.of(fakes, since=before).duplicates(), in_flight=in_flight,
                warned=sorted({e["job"] for e in events_of(again.stdout)
                               if e.get("kind") == "note" and "without recording its id" in e.get("message", "")}),
                tmp_left=sorted(str(p.relative_to(root)) for p in (root / "tmp").rglob("*") if p.is_file()),
                error="" if again.returncode == 0 else again.stderr[-2000:])


def stage_of(events: list[dict[str, Any]], journal: list[JournalEntry], fakes: Services | None,
             before: Bought) -> str:
    """What the render was doing when it was killed, from its journal (fsynced, so exact) and its last
    progress events: the stage of each job at work, joined by '+'."""
    if not any(e.get("kind") == "planned" for e in events):
        asked = any(item.startswith("prompt:") for item in Bought.of(fakes, since=before).items)
        return "compile (prompts)" if asked else "compile"
    last: dict[str, JournalEntry] = {}
    for entry in journal:
        last[entry.job] = entry
    remote_state = {e["job"]: e.get("message", "") for e in events if e.get("kind") == "remote"}
    open_jobs = sorted(job for job, entry in last.items() if entry.event in ("start", "remote"))
    if not open_jobs:
        return "output writes" if last.get("mux") is not None and last["mux"].event == "done" else "between jobs"
    stages = set()
    for job in open_jobs:
        if job in ASSEMBLY:
            stages.add(f"{job} pass")
        elif fakes is None:
            stages.add(f"making {job.split(':')[0]}")
        elif last[job].event == "start":
            stages.add("submit")
        elif remote_state.get(job) == "downloading":
            stages.add("download")
        else:
            stages.add("polling")
    return "+".join(sorted(stages))


def unconfirmed(journal: list[JournalEntry], mode: Mode) -> list[str]:
    """Paid jobs started and holding no remote id when the render died: a create may have been on the wire,
    which no provider lets a client reconcile (no idempotency key, no listing)."""
    if not mode.paid:
        return []
    last: dict[str, JournalEntry] = {}
    for entry in journal:
        last[entry.job] = entry
    return sorted(job for job, entry in last.items() if entry.event == "start" and job not in ASSEMBLY)


def leftovers(root: Path) -> list[str]:
    """Temp files, per-attempt work folders, and scratch kept for jobs that are stored, after a finished render."""
    cache = root / ".filmc" / "cache"
    found = [p for p in root.rglob(".*.part*") if "tmp" not in p.relative_to(root).parts[:1]]
    work = cache / "work"
    found += list(work.iterdir()) if work.is_dir() else []
    scratch = cache / "scratch"
    found += [p for p in scratch.glob("*/*") if p.is_dir()] if scratch.is_dir() else []
    return sorted(str(p.relative_to(root)) for p in found)
