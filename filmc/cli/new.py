"""`filmc new NAME`: a project folder that checks clean and renders in seconds, to change line by line.

The starter text is package data (filmc/cli/scaffold/), so an installed filmc scaffolds without its source tree.
The film is named after the folder (`kite/kite.film`), not `film.film`: its name is what a terminal, an editor
tab and `filmc render` show, and a project may grow a second film beside the first.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING

import click

from filmc.cli.common import guarded
from filmc.errors import UsageError

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

STARTER_TITLE = "Starter"          # how the starter film names itself; replaced by the project's name
STARTER_FILE = "starter.film"      # how its comments name the file; replaced by the project's film


def _scaffold() -> Traversable:
    from importlib.resources import files

    return files("filmc.cli") / "scaffold"


def _film_string(text: str) -> str:
    """`text` as a .film string literal: a quote or a backslash escaped, as docs/language.md says."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _title_of(target: Path) -> str:
    """The folder's own name, which the film's title and file take: one printable line."""
    title = target.resolve().name
    if not title or not title.isprintable() or title.startswith("."):
        raise UsageError(f"`{target}` can't name a film: give the project a plain folder name, e.g. filmc new kite")
    return title


def _refuse_existing(target: Path) -> None:
    """An empty folder is used; anything else is someone's work and is never written over."""
    if target.is_dir() and not any(target.iterdir()):
        return
    if target.exists() or target.is_symlink():
        what = "a folder that is not empty" if target.is_dir() else "a file"
        raise UsageError(f"{target} is {what}: filmc new writes only into a new or empty folder, so that it "
                         "never overwrites your files. Choose another name, or empty the folder.")


def project_files(title: str) -> dict[str, str]:
    """Every file of a new project, by its path inside the project, with the project's name filled in."""
    from importlib.resources import files

    scaffold = _scaffold()
    film_file = f"{title}.film"

    def named(name: str) -> str:
        return scaffold.joinpath(name).read_text("utf-8").replace(STARTER_FILE, shlex.quote(film_file))

    film = named("starter.film").replace(_film_string(STARTER_TITLE), _film_string(title))
    out = {film_file: film, "filmc.toml": named("filmc.toml"), ".gitignore": named("gitignore"),
           "templates/README.md": named("templates-README.md")}
    originals = files("filmc.expand") / "templates"
    for template in sorted(originals.iterdir(), key=lambda t: t.name):
        if template.name.endswith(".j2"):
            out[f"templates/originals/{template.name}"] = template.read_text("utf-8")
    return out


def scaffold_project(target: Path) -> tuple[str, dict[str, str]]:
    """Write the project whole or not at all: into a hidden folder beside it, then renamed into place."""
    import os
    import shutil

    from filmc.files import owned_name  # imports asyncio: not for `filmc --help`

    _refuse_existing(target)
    title = _title_of(target)
    contents = project_files(title)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{owned_name()}.part"
    try:
        for relative, text in contents.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, "utf-8")
        os.replace(staging, target)   # onto a missing or an empty folder; fails if one was filled meanwhile
    except OSError as err:
        raise UsageError(f"can't create {target}: {err.strerror or err}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return title, contents


@click.command("new")
@click.argument("name", type=click.Path(path_type=Path))
@guarded
def new_command(name: Path) -> None:
    """Start a project in a new folder NAME: a starter film, filmc.toml, templates/, .gitignore.

    The starter film (NAME/NAME.film) is commented line by line, uses every layer once (three
    shots, a title card, a narration line, a palette, music) and renders offline in seconds.
    filmc.toml shows the `preview` and `final` profiles with every setting commented;
    templates/ holds filmc's prompt templates to copy and override. NAME must not exist yet,
    or be an empty folder: filmc new never writes over files.

    \b
    Examples:
      filmc new kite
      cd kite && filmc render kite.film      # out/kite/kite.mp4, offline and free
      filmc compile --full kite.film         # every prompt in full, before anything is made
    """
    from filmc.cli.ui import console

    title, contents = scaffold_project(name)
    out = console()
    out.print(f"created {name}/ with {len(contents)} files: {title}.film, filmc.toml, templates/, .gitignore",
              highlight=False)
    out.print(f"next:\n  cd {shlex.quote(str(name))}\n  filmc render {shlex.quote(title + '.film')}", highlight=False)
