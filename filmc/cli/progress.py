"""Render progress shown three ways: rich bars on a terminal, plain lines when piped, JSON lines for machines."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from decimal import Decimal
from typing import TYPE_CHECKING

from filmc.render.events import EventSink, RenderEvent

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


class JsonEvents:
    """One JSON object a line on stdout, for machines (`filmc render --json`)."""

    def emit(self, event: RenderEvent) -> None:
        data = {"ts": round(time.time(), 3), **event.model_dump(mode="json", exclude_defaults=True)}
        sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
        sys.stdout.flush()

    def close(self) -> None:
        return None


class PlainEvents:
    """One line per finished job, and per change of a remote job's state, on stderr: readable in CI logs."""

    def __init__(self) -> None:
        self.remote_states: dict[str, str] = {}

    def emit(self, event: RenderEvent) -> None:
        if event.kind == "remote":
            if self.remote_states.get(event.job) != event.message:  # polls repeat a state: print its changes
                self.remote_states[event.job] = event.message
                sys.stderr.write(f" remote {event.job}: {event.message}\n")
                sys.stderr.flush()
        elif event.kind in ("made", "failed", "skipped", "retry", "note"):
            cost = f" ${event.usd:.2f}" if event.usd else ""
            detail = f": {event.message}" if event.message else ""
            sys.stderr.write(f"{event.kind:>7} {event.job} ({event.seconds:.1f}s{cost}){detail}\n")
            sys.stderr.flush()

    def close(self) -> None:
        return None


class RichEvents:
    """A bar per layer with ETA, the money spent so far, and what each layer's remote jobs are doing."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        from filmc.cli.ui import console

        self.progress: Progress = Progress(TextColumn("{task.description:<8}"), BarColumn(),
                                           TextColumn("{task.completed}/{task.total}"), TimeRemainingColumn(),
                                           TextColumn("{task.fields[note]}"), console=console(stderr=True))
        self.tasks: dict[str, TaskID] = {}
        self.totals: Counter[str] = Counter()
        self.spent = Decimal(0)
        self.remote: dict[str, dict[str, str]] = {}   # layer -> job -> its remote state
        self.progress.start()

    def emit(self, event: RenderEvent) -> None:
        if event.kind == "planned":
            self.totals[event.layer] += 1
            if event.layer not in self.tasks:
                self.tasks[event.layer] = self.progress.add_task(event.layer, total=0, note="")
            self.progress.update(self.tasks[event.layer], total=self.totals[event.layer])
        elif event.kind in ("cached", "drawn", "made", "failed", "skipped"):
            self.spent += event.usd
            self.remote.get(event.layer, {}).pop(event.job, None)
            note = f"[red]{event.job} failed[/]" if event.kind == "failed" else f"${self.spent:.2f}"
            self.progress.update(self.tasks[event.layer], advance=1, note=note)
        elif event.kind == "remote":
            shown = f"{event.message} {event.progress:.0%}" if event.progress is not None else event.message
            self.remote.setdefault(event.layer, {})[event.job] = shown
            states = Counter(self.remote[event.layer].values())
            self.progress.update(self.tasks[event.layer], note=", ".join(f"{n} {s}" for s, n in states.items()))
        elif event.kind in ("retry", "note"):
            from rich.markup import escape

            self.progress.console.print(f"[yellow]{event.kind}[/] {event.job} {escape(event.message)}")

    def close(self) -> None:
        self.progress.stop()


def make_sink(as_json: bool) -> EventSink:
    from filmc.cli.ui import console

    if as_json:
        return JsonEvents()
    if console(stderr=True).is_terminal:
        return RichEvents()
    return PlainEvents()
