"""What every command shares: turning failures into diagnostics or one paragraph, with exit codes."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from enum import IntEnum
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from filmc.errors import BudgetError, FilmcError, StorageError, UsageError

F = TypeVar("F", bound=Callable[..., Any])



class ExitCode(IntEnum):
    """What `filmc`'s exit status means; `--help` and the README list the same numbers."""

    OK = 0
    SPEC = 1          # the spec, filmc.toml, a template, a backend plugin or a missing key
    USAGE = 2         # a flag, a plan file or a folder that can't be used as given (click's own usage errors too)
    JOB_FAILED = 3    # a render job failed; the others are finished and cached
    BUDGET = 4        # refused by --max-cost (or spending without one): nothing was spent
    EXPECTATIONS = 5  # the rendered film doesn't meet an `expect` line of its spec (render, test)
    DIFFERS = 6       # `filmc diff --exit-code`: the plans differ
    STORAGE = 74      # the disk is full, over quota, read-only or failing (EX_IOERR): finished assets are kept
    INTERNAL = 70     # a filmc bug (EX_SOFTWARE)
    INTERRUPTED = 130  # Ctrl-C: finished assets are kept


def exit_code_of(err: FilmcError) -> ExitCode:
    """The one mapping from the stages' exceptions to exit codes."""
    if isinstance(err, UsageError):
        return ExitCode.USAGE
    if isinstance(err, BudgetError):
        return ExitCode.BUDGET
    if isinstance(err, StorageError):
        return ExitCode.STORAGE
    return ExitCode.SPEC   # FilmError, ConfigError



def fail(message: str, code: ExitCode) -> NoReturn:
    """A one-paragraph message and an exit code; the user never sees a traceback."""
    from rich.markup import escape

    from filmc.cli.ui import console
    from filmc.secrets import redact

    # escaped: a message may hold brackets ([profile.final], [redacted]) that rich would take for markup
    console(stderr=True).print(f"[bold red]error:[/] {escape(redact(message))}", highlight=False)
    sys.exit(code)


def guarded(fn: F) -> F:
    """Turn every failure into a diagnostic or a message with its exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from filmc.diagnostics import FilmError

        try:
            return fn(*args, **kwargs)
        except FilmError as err:
            report(err, kwargs.get("output_format", "text"))
            sys.exit(ExitCode.SPEC)
        except FilmcError as err:
            fail(str(err), exit_code_of(err))
        except KeyboardInterrupt:
            fail("interrupted; finished assets are kept, run the same command again to continue",
                 ExitCode.INTERRUPTED)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as err:
            if os.environ.get("FILMC_DEBUG"):
                raise
            fail(f"internal error ({type(err).__name__}: {err}). This is a filmc bug; re-run with "
                 "FILMC_DEBUG=1 for the traceback and report it.", ExitCode.INTERNAL)

    return wrapper  # type: ignore[return-value]


def sources_for(diags: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for d in diags:
        path = d.span.path
        if path not in out:
            try:
                # as the parser read it: without an editor's byte-order mark (it would shift line 1's caret), a
                # CR or CRLF as one line break
                text = Path(path).read_bytes().decode("utf-8-sig", errors="replace")
                out[path] = text.replace("\r\n", "\n").replace("\r", "\n")
            except OSError:
                out[path] = ""
    return out


def report(err: Any, output_format: str) -> None:
    from filmc.cli.ui import print_diagnostics
    from filmc.diagnostics import to_json

    if output_format == "json":
        click.echo(to_json(err.diagnostics))
    else:
        print_diagnostics(err.diagnostics, sources_for(err.diagnostics))


format_option = click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
                             show_default=True, help="Diagnostics as text for people or JSON for editors and CI.")


class Money(click.ParamType):  # type: ignore[type-arg]  # generic only in click >= 8.2
    """A budget in US dollars: a finite, non-negative decimal (`25`, `2.50`), else a usage error."""

    name = "USD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from decimal import Decimal, InvalidOperation

        if isinstance(value, Decimal):
            return value
        try:
            amount = Decimal(str(value).strip().lstrip("$"))
        except InvalidOperation:
            self.fail(f"{value!r} is not an amount of money (write e.g. 25 or 2.50)", param, ctx)
        if not amount.is_finite() or amount < 0:
            self.fail(f"{value!r} is not a usable budget (a finite amount, 0 or more)", param, ctx)
        return amount


MONEY = Money()
