"""`python -m filmc.cli`: what the tests run, so they need no console script on PATH."""

from filmc.cli.main import main

main()
