"""User-facing failures that are not about a line of the spec: profiles, keys, budgets, render jobs."""

from __future__ import annotations


class UserError(Exception):
    """One paragraph for the user plus the exit code that says what kind of failure it was."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
