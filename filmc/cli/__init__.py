"""The `filmc` command line: argv in, stage calls out, exit codes that mean something."""

from filmc.cli.main import main

__all__ = ["main"]
