"""`filmc watch`: render a film again each time it, its profile, its templates or a file it names is saved.

A draft (half size, fastest encode) by default, through the same compile and render as `filmc render`: the
cache keeps every finished job, so a one-line narration edit re-makes that line's voice, the mix and the mux.
The loop takes its changes from a function, so a test drives it with edits of its own and stops it.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from filmc.cli.common import MONEY, ExitCode, guarded
from filmc.cli.run import cache_option, profile_option
from filmc.perf import run_sync

if TYPE_CHECKING:
    from rich.console import Console
    from watchfiles import Change

    from filmc.diagnostics import Diagnostic
    from filmc.render.events import RenderEvent

PROFILE_FILE = "filmc.toml"   # filmc.plan.profiles.PROFILE_FILE, not imported: `--help` stays light
TEMPLATES = "templates"       # filmc.expand.templating.PROJECT_TEMPLATES


# The watch's own values are frozen dataclasses, not pydantic models: they never leave this module's loop, and
# `filmc --help` imports this module, which must not pay for pydantic.
@dataclass(frozen=True)
class Targets:
    """What a render reads that a user edits: files by path, and folders whose every file counts."""

    files: frozenset[Path]
    folders: frozenset[Path]

    def covers(self, path: Path) -> bool:
        return path in self.files or any(path.is_relative_to(folder) for folder in self.folders)

    def directories(self) -> frozenset[Path]:
        """The folders to watch, each alone: a file's own (an editor that saves by renaming replaces the file a
        watch on it would follow), and a watched folder with its subfolders and its parent (to see it appear)."""
        found = {f.parent for f in self.files} | {folder.parent for folder in self.folders}
        for folder in self.folders:
            if folder.is_dir():
                found |= {folder, *(p for p in folder.rglob("*") if p.is_dir())}
        return frozenset(d for d in found if d.is_dir())


Snapshot = dict[Path, tuple[int, int] | None]   # path -> (mtime ns, size), None when missing


def snapshot(targets: Targets) -> Snapshot:
    """What a render is about to read, as the file system stamps it: compared after the render, it tells a save
    made during the render, whose events may have come and gone, from no change at all."""
    paths = set(targets.files)
    for folder in targets.folders:
        if folder.is_dir():
            paths |= {p for p in folder.rglob("*") if p.is_file()}
    out: Snapshot = {}
    for path in sorted(paths):
        try:
            stat = path.stat()
            out[path] = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            out[path] = None
    return out


def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(path))


def named_files(film: Path) -> set[Path] | None:
    """Every file the film names (style include, reference images, clips, music), written and resolved; None
    when the film doesn't parse, so the watch keeps the files it knew."""
    from filmc.check.loader import read_source
    from filmc.diagnostics import FilmError
    from filmc.syntax import ir, parse_collecting

    try:
        tree, _ = parse_collecting(read_source(film, str(film)), str(film))
    except FilmError:
        return None
    written = [tree.style.include] if tree.style and tree.style.include else []
    written += [image for entity in tree.entities for image in entity.images]
    written += [shot.clip for item in tree.sequence if isinstance(item, ir.Scene) for shot in item.shots if shot.clip]
    written += [tree.music.file] if tree.music and tree.music.file else []
    out: set[Path] = set()
    for text in written:
        path = film.parent / text.value
        out.add(_absolute(path))
        try:
            out.add(path.resolve())   # a link's target changes too
        except (OSError, RuntimeError, ValueError):
            continue
    return out


def targets_of(film: Path, previous: Targets | None = None) -> Targets:
    """The film, filmc.toml beside it, the project's templates/ and every file the film names."""
    film = _absolute(film)
    named = named_files(film)
    if named is None:
        named = set(previous.files) if previous else set()
    return Targets(files=frozenset({film, film.parent / PROFILE_FILE, *named}),
                   folders=frozenset({film.parent / TEMPLATES}))


@dataclass(frozen=True)
class WatchSettings:
    """`filmc watch`'s options: what `filmc render` would be given, and whether it is a draft."""

    film: Path
    profile: str = "preview"
    draft: bool = True
    out_dir: Path | None = None
    cache_dir: Path | None = None
    max_cost: Decimal | None = None    # for the whole session, every render together
    jobs: int = 4


@dataclass(frozen=True)
class WatchRun:
    """One render of the watch, as its summary line tells it."""

    at: str                                        # the wall-clock time it finished, HH:MM:SS
    seconds: float
    made: tuple[str, ...] = ()
    cached: int = 0
    failed: tuple[tuple[str, str], ...] = ()       # (job, its error)
    output: Path | None = None                     # the film it wrote
    diagnostics: tuple[Diagnostic, ...] = ()       # the spec or profile is invalid: nothing was rendered
    warnings: tuple[Diagnostic, ...] = ()
    error: str | None = None                       # a one-paragraph refusal (budget, a key, the disk)
    usd: Decimal = Decimal(0)                      # spent: prompts written plus the render's ledger


class _Quiet:
    """No progress bars between summary lines: a watch prints one line a render."""

    def emit(self, event: RenderEvent) -> None:
        return None

    def close(self) -> None:
        return None


def render_once(settings: WatchSettings, spent: Decimal = Decimal(0)) -> WatchRun:
    """Compile and render as `filmc render` does; a spec error or a refusal comes back in the run, not raised."""
    from filmc.diagnostics import FilmError
    from filmc.errors import FilmcError
    from filmc.pipeline import compile_film, default_out_dir, remaining_budget, render_film

    start = time.monotonic()
    budget = remaining_budget(settings.max_cost, spent)
    usd = Decimal(0)

    def done(**fields: Any) -> WatchRun:
        return WatchRun(at=time.strftime("%H:%M:%S"), usd=usd, seconds=round(time.monotonic() - start, 3), **fields)

    try:
        plan, warnings = run_sync(compile_film(settings.film, settings.profile, cache_dir=settings.cache_dir,
                                               display=str(settings.film), max_cost=budget, for_render=True,
                                               draft=settings.draft))
        usd = plan.expansion.usd
        target = settings.out_dir or default_out_dir(plan)
        summary = run_sync(render_film(plan, out_dir=target, events=_Quiet(), cache_dir=settings.cache_dir,
                                       jobs=settings.jobs, max_cost=remaining_budget(budget, usd)))
    except FilmError as err:
        return done(diagnostics=err.diagnostics)
    except FilmcError as err:
        return done(error=str(err))
    usd += summary.manifest.qa.ledger_usd
    film = summary.manifest.outputs.get("film")
    return done(made=tuple(o.job for o in summary.outcomes if o.status == "made"),
                cached=sum(o.status == "cached" for o in summary.outcomes),
                failed=tuple((o.job, o.error or "") for o in summary.failed),
                output=target / film if film else None, warnings=warnings)


# Blocks until a target changes and returns what changed; None: stop watching.
NextChange = Callable[[Targets], set[Path] | None]


def watch(settings: WatchSettings, next_change: NextChange, report: Callable[[WatchRun], None]) -> int:
    """Render now, then again whenever a target's stamp differs from what the last render read; returns the
    number of renders once `next_change` says stop. A broken save is reported and watched past."""
    targets = targets_of(settings.film)
    spent = Decimal(0)
    renders = 0
    while True:
        seen = snapshot(targets)
        run = render_once(settings, spent)
        spent += run.usd
        renders += 1
        report(run)
        while True:
            targets = targets_of(settings.film, targets)   # the film may name other files now
            if snapshot(targets) != seen:
                break
            if next_change(targets) is None:
                return renders


class FileEvents:
    """`NextChange` from watchfiles: the targets' folders watched one by one (never the cache or out/ below
    them), events grouped while they keep coming, and only the targets' own changes returned."""

    def __init__(self, stop: threading.Event | None = None, debounce_ms: int = 1000, step_ms: int = 100) -> None:
        self.stop, self.debounce_ms, self.step_ms = stop, debounce_ms, step_ms
        self.folders: frozenset[Path] = frozenset()
        self.events: Generator[set[tuple[Change, str]], None, None] | None = None

    def __call__(self, targets: Targets) -> set[Path] | None:
        import watchfiles

        folders = targets.directories()
        if self.events is None or folders != self.folders:
            self.close()
            self.folders = folders
            self.events = watchfiles.watch(*sorted(folders), recursive=False, debounce=self.debounce_ms,
                                           step=self.step_ms, stop_event=self.stop, raise_interrupt=True)
        for batch in self.events:
            changed = {_absolute(Path(path)) for _, path in batch}
            if relevant := {p for p in changed if targets.covers(p)}:
                return relevant
        return None   # stopped

    def close(self) -> None:
        if self.events is not None:
            self.events.close()   # leaves watchfiles' `with`: its watcher stops
            self.events = None


def print_run(run: WatchRun, out: Console) -> None:
    """One line a render; the diagnostics under it when the film or profile doesn't compile."""
    from rich.markup import escape

    from filmc.cli.common import sources_for
    from filmc.cli.ui import print_diagnostics

    stamp = f"[dim]{run.at}[/]"
    if run.diagnostics:
        errors = sum(d.severity == "error" for d in run.diagnostics)
        out.print(f"{stamp} [red]not rendered[/]: {errors} error(s) in the film or its profile; fix and save "
                  "again (still watching)")
        print_diagnostics(run.diagnostics, sources_for(run.diagnostics))
        return
    if run.error is not None:
        out.print(f"{stamp} [red]not rendered[/]: {escape(run.error)} (still watching)")
        return
    shown = ", ".join(run.made[:4]) + (f", +{len(run.made) - 4} more" if len(run.made) > 4 else "")
    made = f"{len(run.made)} made ({escape(shown)})" if run.made else "0 made"
    failed = f", [red]{len(run.failed)} failed[/]" if run.failed else ""
    cost = f" · ${run.usd:.2f}" if run.usd else ""
    where = f" → {escape(str(run.output))}" if run.output else ""
    out.print(f"{stamp} {made}, {run.cached} cached{failed} · {run.seconds:.1f}s{cost}{where}")
    for job, error in run.failed:
        out.print(f"  [red]failed[/] {escape(job)}: {escape(error)}")
    if run.warnings:
        print_diagnostics(run.warnings, sources_for(run.warnings))


@click.command("watch")
@click.argument("film", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@profile_option
@click.option("--full", is_flag=True, help="Full quality (the film's frame size and encode) instead of a draft.")
@click.option("--out", "-o", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (default: out/<title>/ beside the film).")
@click.option("--max-cost", type=MONEY, default=None, metavar="USD",
              help="The most the whole session may spend, every re-render together. Required by `final`.")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Jobs working at once, as for `filmc render`.")
@cache_option
@guarded
def watch_command(film: Path, profile_name: str, full: bool, out_dir: Path | None, max_cost: Decimal | None,
                  jobs: int, cache_dir: Path | None) -> None:
    """Render FILM now and again each time it is saved: only what changed is made again.

    Watches the .film, filmc.toml beside it, the project's templates/ and every file the film names
    (style include, reference images, clips, music). Renders a draft by default: the picture at half
    size with the fastest encode, sound and timing as the full film, written as <title>.draft.mp4
    (with its subtitles, timeline and storyboard) so it never replaces a full render. One line per
    render; a save that breaks the film shows its diagnostics and the watch goes on. Ctrl-C stops.

    \b
    Examples:
      filmc watch films/entropy.film
      filmc watch films/entropy.film --full --out /tmp/cut
      filmc watch films/entropy.film --profile final --max-cost 5
    """
    from filmc.cli.ui import console
    from filmc.errors import UsageError

    if profile_name == "final" and max_cost is None:
        raise UsageError("watching with the `final` profile spends money on every save that changes a shot, a "
                         "line or the music: pass --max-cost USD, the most the whole session may spend")
    settings = WatchSettings(film=film, profile=profile_name, draft=not full, out_dir=out_dir, cache_dir=cache_dir,
                             max_cost=max_cost, jobs=jobs)
    out = console()
    others = sum(p.is_file() for p in targets_of(film).files) - 1
    out.print(f"watching {film}, {others} file(s) it reads and templates/ ({'full' if full else 'draft'}, profile "
              f"{profile_name}); Ctrl-C stops")
    events = FileEvents()
    try:
        watch(settings, events, lambda run: print_run(run, out))
    except KeyboardInterrupt:
        out.print("stopped watching")
        sys.exit(ExitCode.INTERRUPTED)
    finally:
        events.close()
