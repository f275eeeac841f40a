"""filmc: a film-as-code compiler.

`filmc.pipeline` runs the stages end to end; each stage is a package (`syntax`, `check`, `expand`,
`plan`, `render`, `deliver`, with `backend` and `assemble` beside them) whose functions can be called
and tested alone. docs/architecture.md says who owns what.
"""

from __future__ import annotations

__version__ = "0.1.0"
