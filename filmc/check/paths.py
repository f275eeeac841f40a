"""Files a film names stay inside its project, unless the user allows a folder outside it.

A path written in a film (a style include, a reference image, a clip, a music file) and a project's template
override are resolved against the project folder (the folder holding the .film), following every symlink. The
file it leads to must lie inside that folder, or inside a folder the user allowed: listed in the environment
variable FILMC_ALLOW_PATHS (separated like PATH, `:` on POSIX), or passed by the caller. So `../x`, `/abs/x`
and a link pointing out of the project are refused where they are written, and a spec can't read or embed
anything else on disk, unless the user said it may.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

ALLOW_PATHS = "FILMC_ALLOW_PATHS"


def allowed_folders(extra: Iterable[Path | str] = (), environ: Mapping[str, str] | None = None) -> tuple[Path, ...]:
    """The folders outside a project its files may come from: FILMC_ALLOW_PATHS's, then `extra`, resolved."""
    listed = (os.environ if environ is None else environ).get(ALLOW_PATHS, "").split(os.pathsep)
    out: list[Path] = []
    for entry in [*listed, *extra]:
        if not str(entry).strip():
            continue
        try:
            out.append(Path(entry).expanduser().resolve())
        except (OSError, ValueError, RuntimeError):   # a NUL byte, no home folder: nothing allowed by it
            continue
    return tuple(out)


@dataclass(frozen=True)
class Placed:
    """Where a written path leads: `path` if it may be used; else `problem` says why not."""

    path: Path | None
    problem: Literal["unusable", "outside"] | None = None
    target: Path | None = None    # where it leads when outside, for the message
    through_link: bool = False    # written inside the project, led out by a symlink


def place(project: Path, written: str, allowed: Iterable[Path] = ()) -> Placed:
    """`written` resolved against `project` (itself resolved), links followed, and confined to it or `allowed`."""
    if "\0" in written:
        return Placed(None, "unusable")
    try:
        target = (project / written).resolve()
    except (OSError, ValueError, RuntimeError):   # too long to resolve, a loop of links on older Pythons
        return Placed(None, "unusable")
    if target.is_relative_to(project) or any(target.is_relative_to(folder) for folder in allowed):
        return Placed(target)
    lexical = Path(os.path.normpath(project / written))
    return Placed(None, "outside", target, through_link=lexical.is_relative_to(project))


def outside_hint(project: Path) -> str:
    """How to fix a path that leads out: move the file in, or allow the folder it is in."""
    return (f"move it under {project.name}/ and use a relative path, or allow its folder by adding it to "
            f"{ALLOW_PATHS} (absolute folders, `{os.pathsep}`-separated)")


def is_file(path: Path) -> bool:
    """Path.is_file, with a name too long for the file system (or any other OSError) as no file at all."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False
