"""The `filmc` command: argv in, stage calls out, exit codes that mean something. No pipeline logic here."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from filmc import __version__
from filmc.cli.common import ExitCode, format_option, guarded, report, sources_for

EXAMPLES = """
\b
Examples:
  filmc check films/entropy.film          check a film, show diagnostics
  filmc fmt --check films/*.film          fail if a file isn't canonically laid out
  filmc compile films/entropy.film        show the prompt plan, cost and cache status
  filmc compile --json films/entropy.film > plan.json
  filmc render films/entropy.film         make the film offline (animatic, scratch voice, temp score)
  filmc render plan.json --profile final --max-cost 25
  filmc test --junit report.xml films/*.film   render, then check each film's `expect` lines
  filmc explain F0202                     what a diagnostic code means, with an example and the fix
  filmc new my-film                       start a project that renders in seconds
  filmc watch my-film/my-film.film        re-render a draft on every save
  filmc diff before.json films/entropy.film   what an edit changes, and what it costs
  filmc export films/entropy.film --format fcpxml   the timeline for Final Cut or Resolve
\b
Exit codes: 0 ok, 1 spec or profile error, 2 usage error, 3 a render job failed,
4 refused by --max-cost, 5 the film doesn't meet an `expect` line, 6 `diff --exit-code` found
changes, 70 internal error (a filmc bug:
please report it), 74 the disk is full or failing, 130 interrupted (finished assets are kept).
"""


@click.group(epilog=EXAMPLES, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", "-V", prog_name="filmc")
def main() -> None:
    """filmc compiles a .film spec into a prompt plan, then into a finished short film.

    Write the film in a .film file (scenes, shots, narration, palette, music, a style bible),
    `check` it, `compile` it to review every prompt and its cost, then `render` it. Everything
    works offline by default; `--profile final` uses the real services and spends money only
    within `--max-cost`. Language reference: docs/language.md.
    """


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--strict", is_flag=True, help="Treat warnings as errors (exit 1).")
@click.option("--profile", "-p", "profile_name", default=None,
              help="Also check this profile (and filmc.toml beside the film, which is checked whenever it exists).")
@format_option
@guarded
def check(files: tuple[Path, ...], strict: bool, profile_name: str | None, output_format: str) -> None:
    """Check .film files: syntax, names, timing, palette, files; and filmc.toml. Exit 1 on errors.

    \b
    Example:
      filmc check films/entropy.film
      filmc check --profile final films/entropy.film
    """
    from filmc.check import load
    from filmc.cli.ui import console, print_diagnostics
    from filmc.diagnostics import Diagnostic, FilmError, to_json

    found: list[Diagnostic] = []
    from filmc.plan.profiles import PROFILE_FILE, load_profile

    for path in files:
        try:
            checked, warnings, _ = load(path)
            found.extend(warnings)
            from filmc.check.overrides import override_problems  # each `translate` language's <film>.<lang>.lines

            found.extend(override_problems(path, str(path), [b.id for b in checked.timeline.beats],
                                           checked.translations))
        except FilmError as err:
            found.extend(err.diagnostics)
        if profile_name or (path.parent / PROFILE_FILE).is_file():
            try:
                load_profile(profile_name or "preview", path.parent)
            except FilmError as err:
                found.extend(err.diagnostics)
    failed = any(d.severity == "error" or strict for d in found)
    if output_format == "json":
        click.echo(to_json(found))
    elif found:
        print_diagnostics(found, sources_for(found))
    else:
        console().print(f"[green]ok[/]: {len(files)} film(s) checked, no problems")
    sys.exit(ExitCode.SPEC if failed else ExitCode.OK)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--check", "check_only", is_flag=True, help="Change nothing; exit 1 if a file would change.")
@format_option
@guarded
def fmt(files: tuple[Path, ...], check_only: bool, output_format: str) -> None:
    """Lay .film files out canonically (comments kept). Idempotent.

    \b
    Example:
      filmc fmt films/*.film
      filmc fmt --check films/entropy.film    # in CI
    """
    from filmc.check.loader import decode_source
    from filmc.cli.ui import console
    from filmc.diagnostics import FilmError
    from filmc.errors import UsageError
    from filmc.files import write_text_atomic
    from filmc.syntax.fmt import format_text

    out = console(stderr=True)
    changed = 0
    for path in files:
        try:   # a file that isn't there is a usage error, said in one line, not a diagnostic pointing nowhere
            raw = path.read_bytes()
        except OSError as err:
            raise UsageError(f"cannot format {path}: {(err.strerror or str(err)).lower()}; fmt rewrites "
                             ".film files that exist") from None
        try:
            text = decode_source(raw, str(path))
            pretty = format_text(text, str(path))
        except FilmError as err:
            report(err, output_format)
            sys.exit(ExitCode.SPEC)
        if pretty != text:
            changed += 1
            if check_only:
                out.print(f"would reformat {path}")
            else:
                write_text_atomic(path, pretty)
                out.print(f"reformatted {path}")
    if check_only and changed:
        sys.exit(ExitCode.SPEC)
    verb = "would be reformatted" if check_only else "reformatted"
    out.print(f"{len(files)} file(s), {changed} {verb}")


@main.command()
@click.argument("code", required=False)
def explain(code: str | None) -> None:
    """Explain a diagnostic code (F0202 or f0202); with no code, list every code.

    \b
    Example:
      filmc explain F0202
    """
    import difflib

    from filmc import codes

    if code is None:
        for known in codes.ALL.values():
            click.echo(f"{known.code}  {known.severity:<7}  {known.title}")
        return
    entry = codes.lookup(code)
    if entry is None:
        typed = code.strip().upper()
        swapped = [known for known in codes.ALL if sorted(known) == sorted(typed)]  # F0220 for F0202
        near = swapped or difflib.get_close_matches(typed, list(codes.ALL), n=1, cutoff=0.6)
        hint = f"did you mean `{near[0]}`?" if near else "`filmc explain` lists every code"
        raise click.BadParameter(f"`{code}` is not a filmc diagnostic code; {hint}", param_hint="CODE")
    click.echo(f"{entry.severity}[{entry.code}]: {entry.title}\n\n{entry.explanation}\n\nMore: {entry.docs}")


def _register_later_commands() -> None:
    """compile and render live in their own module so `filmc --help` stays fast."""
    from filmc.cli.diff import diff_command
    from filmc.cli.export import export_command
    from filmc.cli.new import new_command
    from filmc.cli.run import compile_command, render_command, schema_command
    from filmc.cli.testing import test_command
    from filmc.cli.watch import watch_command

    main.add_command(compile_command)
    main.add_command(render_command)
    main.add_command(schema_command)
    main.add_command(export_command)
    main.add_command(new_command)
    main.add_command(diff_command)
    main.add_command(watch_command)
    main.add_command(test_command)


_register_later_commands()

