"""Every failure a user can cause is one of these; only the CLI turns them into exit codes.

    FilmcError          a problem the user can fix, told in one paragraph
    ├── FilmError       the spec or filmc.toml, as located diagnostics (defined in filmc.diagnostics)
    ├── ConfigError     a profile's settings, a template, a backend plugin, a missing API key
    ├── UsageError      a flag, a plan file or a folder that can't be used as given
    ├── BudgetError     spending without --max-cost, or over it: raised before anything is spent
    └── StorageError    the disk: full, over quota, read-only or failing; what was finished is kept

A render job that fails is not an exception: it is an outcome (its dependents are skipped, its
siblings go on), and the CLI gives it an exit code of its own. Anything else that escapes a stage
is a filmc bug, and the CLI says so.
"""

from __future__ import annotations


class FilmcError(Exception):
    """A user's problem with a one-paragraph explanation that names the fix."""


class ConfigError(FilmcError):
    """The profile, a template, a backend plugin or the environment can't do what was asked."""


class UsageError(FilmcError):
    """A command-line flag, a plan file or a folder that can't be used as given."""


class BudgetError(FilmcError):
    """The work would spend money without a budget, or more than it; nothing was spent."""


class StorageError(FilmcError):
    """The disk refused a write (full, over quota, read-only, failing): not the user's flags, nor filmc's bug."""
