"""Jinja2, sandboxed and strict: templates ship in the package and a project may override any file.

User text only ever arrives as *values*; it is never compiled as a template, so `{{ 7*7 }}` in a
shot description reaches the prompt as those eight characters.

An override is confined like the files a film names (filmc.check.paths): `templates/` and each file in it
must resolve inside the project, or inside a folder listed in FILMC_ALLOW_PATHS, so a link can't slip a
file from elsewhere on disk into a prompt that is sent to a service.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemBytecodeCache,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    TemplateError,
)
from jinja2.loaders import split_template_path
from jinja2.sandbox import SandboxedEnvironment

from filmc.check.paths import ALLOW_PATHS, allowed_folders, place
from filmc.errors import ConfigError
from filmc.files import user_cache

PROJECT_TEMPLATES = "templates"


def _outside(name: str, target: Path | None) -> ConfigError:
    return ConfigError(f"template override {name} leads to {target}, outside the project folder; filmc reads "
                       f"overrides only from the project. Copy the file into {PROJECT_TEMPLATES}/, or allow the "
                       f"folder it is in by listing it in {ALLOW_PATHS}.")


class _ProjectLoader(FileSystemLoader):
    """The project's `templates/`, each file's path resolved (links followed) and confined before it is read."""

    def __init__(self, project: Path, allowed: tuple[Path, ...]) -> None:
        super().__init__(str(project / PROJECT_TEMPLATES))
        self.project, self.allowed = project, allowed

    def get_source(self, environment: Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        name = posixpath.join(PROJECT_TEMPLATES, *split_template_path(template))
        placed = place(self.project, name, self.allowed)
        if placed.problem == "outside":
            raise _outside(name, placed.target)
        return super().get_source(environment, template)


class Templates:
    """The template set for one project: its `templates/` folder first, then filmc's own."""

    def __init__(self, project_dir: Path, allow: Iterable[Path | str] = ()) -> None:
        """`allow`: folders outside the project an override may come from, besides FILMC_ALLOW_PATHS's."""
        self.project_dir = project_dir
        loaders: list[BaseLoader] = []
        if (project_dir / PROJECT_TEMPLATES).is_dir():
            project, allowed = project_dir.resolve(), allowed_folders(allow)
            placed = place(project, PROJECT_TEMPLATES, allowed)
            if placed.problem == "outside":
                raise _outside(PROJECT_TEMPLATES + "/", placed.target)
            loaders.append(_ProjectLoader(project, allowed))
        loaders.append(PackageLoader("filmc.expand", "templates"))
        folder = user_cache("templates")   # compiled once per template text (Jinja checks the source's hash)
        self.env = SandboxedEnvironment(loader=ChoiceLoader(loaders), undefined=StrictUndefined,
                                        autoescape=False, keep_trailing_newline=False, trim_blocks=False,
                                        bytecode_cache=FileSystemBytecodeCache(str(folder)) if folder else None)

    def render(self, name: str, **values: Any) -> str:
        """A template error is the user's (an override) or ours; either way one clear paragraph."""
        try:
            text = self.env.get_template(name).render(**values)
        except ConfigError:   # an override from outside the project: already said in words
            raise
        except TemplateError as err:
            where = getattr(err, "filename", None) or name
            line = getattr(err, "lineno", None)
            at = f"{where}:{line}" if line else where
            raise ConfigError(f"template {at}: {err.message or err}. Templates in {PROJECT_TEMPLATES}/ override "
                            "filmc's own file by file; see docs/templates.md.") from None
        except UnicodeDecodeError:
            raise ConfigError(f"template {name} is not UTF-8 text; save it as UTF-8") from None
        except Exception as err:  # 1/0, a type error, runaway recursion: a template bug, not filmc's
            raise ConfigError(f"template {name} failed while rendering: {type(err).__name__}: {err}") from None
        return "\n".join(line.rstrip() for line in text.strip().splitlines() if line.strip())
