"""`filmc export`: the rendered timeline for editors that don't read OpenTimelineIO, through OTIO's adapters."""

from __future__ import annotations

from pathlib import Path

import click

from filmc.cli.common import guarded

FORMATS = ("fcpxml", "fcp7", "edl")   # filmc.deliver.editors.EDITOR_FORMATS, named here so --help loads no OTIO


@click.command("export")
@click.argument("source", metavar="FILM|OTIO", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "-f", "editor", type=click.Choice(FORMATS), required=True,
              help="fcpxml: Final Cut Pro X / Resolve; fcp7: FCP 7 XML for Premiere and Resolve; "
              "edl: CMX 3600, the picture track, for any editor.")
@click.option("--out", "-o", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File to write (default: beside the .otio, same name, the format's suffix).")
@guarded
def export_command(source: Path, editor: str, out: Path | None) -> None:
    """Convert a rendered film's timeline for Final Cut Pro, Premiere, Resolve or any EDL reader.

    FILM|OTIO is the .otio a render wrote, or the .film itself (its timeline is looked up in
    out/<title>/, where `filmc render` puts it). Resolve 18+ opens the .otio directly; this is
    for the others. The exported file names media by absolute path: export again after moving
    the output folder. Needs OTIO's adapters: pip install 'filmc[editors]'. See docs/editing.md.

    \b
    Examples:
      filmc render films/hello.film
      filmc export films/hello.film --format fcp7     # films/out/hello/hello.xml, for Premiere
      filmc export films/out/hello/hello.otio -f fcpxml -o ~/cut.fcpxml
      filmc export films/hello.film -f edl
    """
    from filmc.cli.ui import console
    from filmc.deliver.editors import EDITOR_FORMATS, export_timeline, missing_adapter
    from filmc.errors import UsageError

    fmt = EDITOR_FORMATS[editor]
    problem = missing_adapter(fmt)
    if problem:
        raise UsageError(problem)
    timeline = _rendered_timeline(source) if source.suffix.lower() == ".film" else source
    target = out or timeline.with_suffix(fmt.suffix)
    if target.resolve() == timeline.resolve():
        raise UsageError(f"{target} is the timeline being exported: write the {fmt.name} file elsewhere (-o)")
    export_timeline(timeline, fmt, target)
    console(stderr=True).print(f"wrote {target} ({fmt.name}, from {timeline})", highlight=False)


def _rendered_timeline(film: Path) -> Path:
    """Where `filmc render FILM` (no --out) put the film's .otio: out/<slug>/<slug>.otio beside it."""
    from filmc.check import load
    from filmc.deliver.outputs import slug
    from filmc.errors import UsageError

    checked, _, _ = load(film, display=str(film))
    name = slug(checked.title)
    found = Path(checked.project_dir) / "out" / name / f"{name}.otio"
    if not found.is_file():
        raise UsageError(f"{film} has no rendered timeline at {found}: render it first (filmc render {film}), "
                         "or pass the .otio of a render made with --out")
    return found
