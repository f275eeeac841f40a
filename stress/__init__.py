"""Stress runs: the full-size versions of the reliability tests, each a script (python stress/<name>.py)."""
