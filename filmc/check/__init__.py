"""The check stage: IR -> the resolved film (semantic rules, timeline, palette), with diagnostics."""
