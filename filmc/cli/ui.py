"""Terminal output: colour on a TTY, none with NO_COLOR or when piped; diagnostics styled line by line."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from filmc.diagnostics import Diagnostic, render_text

if TYPE_CHECKING:
    from rich.console import Console


def console(stderr: bool = False) -> Console:
    """rich honours NO_COLOR and non-TTY outputs itself; we also honour FORCE_COLOR for CI logs."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    no_color = "NO_COLOR" in os.environ
    forced: bool | None = None
    if no_color:
        forced = False  # no escape codes at all, not even bold
    elif os.environ.get("FORCE_COLOR"):
        forced = True
    # emoji=False: a title saying `:smile:` is printed as written, not as 😄
    return Console(file=stream, no_color=no_color, highlight=False, soft_wrap=True, force_terminal=forced,
                   emoji=False)


def _style_line(line: str) -> str:
    from rich.markup import escape

    text = escape(line)
    if line.startswith("error["):
        return f"[bold red]{text}[/]"
    if line.startswith("warning["):
        return f"[bold yellow]{text}[/]"
    stripped = line.lstrip()
    if stripped.startswith("-->") or stripped.startswith("|") or stripped.split(" ", 1)[0].isdigit():
        return f"[blue]{text}[/]" if "^" in line or stripped.startswith(("-->", "|")) else text
    if stripped.startswith("= help:"):
        return f"[green]{text}[/]"
    return text


def print_diagnostics(diags: Sequence[Diagnostic], sources: dict[str, str]) -> None:
    """Human output for a set of diagnostics, on stderr, ending with the compiler-style count."""
    out = console(stderr=True)
    for d in diags:
        for line in render_text(d, sources.get(d.span.path, "")).splitlines():
            out.print(_style_line(line))
        out.print()
    errors = sum(d.severity == "error" for d in diags)
    summary = f"{errors} error(s), {len(diags) - errors} warning(s)"
    out.print(f"[bold red]{summary}[/]" if errors else f"[yellow]{summary}[/]" if diags else summary)
    if diags:
        out.print(f"[dim]For more about a code, try `filmc explain {diags[0].code}`.[/]")
