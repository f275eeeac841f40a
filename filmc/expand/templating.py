"""Jinja2, sandboxed and strict: templates ship in the package and a project may override any file.

User text only ever arrives as *values*; it is never compiled as a template, so `{{ 7*7 }}` in a
shot description reaches the prompt as those eight characters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from filmc.errors import ConfigError

PROJECT_TEMPLATES = "templates"


class Templates:
    """The template set for one project: its `templates/` folder first, then filmc's own."""

    def __init__(self, project_dir: Path) -> None:
        self.project_dir = project_dir
        loaders: list[Any] = []
        override = project_dir / PROJECT_TEMPLATES
        if override.is_dir():
            loaders.append(FileSystemLoader(str(override)))
        loaders.append(PackageLoader("filmc.expand", "templates"))
        self.env = SandboxedEnvironment(loader=ChoiceLoader(loaders), undefined=StrictUndefined,
                                        autoescape=False, keep_trailing_newline=False, trim_blocks=False)

    def render(self, name: str, **values: Any) -> str:
        """A template error is the user's (an override) or ours; either way one clear paragraph."""
        try:
            text = self.env.get_template(name).render(**values)
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
