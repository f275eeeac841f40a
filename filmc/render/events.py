"""Render progress as events; the CLI shows them (rich bars, plain lines or JSON), the executor only emits."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal, Protocol

from filmc.model import Model

Kind = Literal["planned", "start", "cached", "drawn", "made", "failed", "skipped", "retry", "note", "remote"]


class RenderEvent(Model):
    kind: Kind
    job: str = ""
    layer: str = ""
    seconds: float = 0.0
    usd: Decimal = Decimal(0)
    message: str = ""               # for `remote`: the remote job's state (submitting, queued, running…)
    progress: float | None = None   # for `remote`, where the provider says (0..1)


class EventSink(Protocol):
    """Where progress goes; `close` is called once, when the run ends or is interrupted."""

    def emit(self, event: RenderEvent) -> None: ...

    def close(self) -> None: ...


class Prefixed:
    """One film's events in a render of several, its job ids named `<film>/<job>`; the caller closes the sink
    once, after every film (each film's run closes this, which closes nothing)."""

    def __init__(self, sink: EventSink, prefix: str) -> None:
        self.sink, self.prefix = sink, prefix

    def emit(self, event: RenderEvent) -> None:
        self.sink.emit(event.model_copy(update={"job": f"{self.prefix}/{event.job}"}))

    def close(self) -> None:
        return None
