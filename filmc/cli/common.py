"""What every command shares: turning failures into diagnostics or one paragraph, with exit codes."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_SPEC, EXIT_USAGE, EXIT_JOB, EXIT_BUDGET, EXIT_INTERNAL = 0, 1, 2, 3, 4, 70



def fail(message: str, code: int) -> NoReturn:
    """A one-paragraph message and an exit code; the user never sees a traceback."""
    from filmc.cli.ui import console

    console(stderr=True).print(f"[bold red]error:[/] {message}", highlight=False)
    sys.exit(code)


def guarded(fn: F) -> F:
    """Turn every failure into a diagnostic or a message with its exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from filmc.diagnostics import FilmError
        from filmc.errors import UserError

        try:
            return fn(*args, **kwargs)
        except FilmError as err:
            report(err, kwargs.get("output_format", "text"))
            sys.exit(EXIT_SPEC)
        except UserError as err:
            fail(str(err), err.exit_code)
        except KeyboardInterrupt:
            fail("interrupted; finished assets are kept, run the same command again to continue", 130)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as err:
            if os.environ.get("FILMC_DEBUG"):
                raise
            fail(f"internal error ({type(err).__name__}: {err}). This is a filmc bug; re-run with "
                 "FILMC_DEBUG=1 for the traceback and report it.", EXIT_INTERNAL)

    return wrapper  # type: ignore[return-value]


def sources_for(diags: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for d in diags:
        path = d.span.path
        if path not in out:
            try:
                out[path] = Path(path).read_text("utf-8", errors="replace")
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
