"""The syntax stage: .film text -> IR nodes with source spans (grammar, lowering, the formatter).

`parse` and `parse_collecting` load on first use, so importing `filmc.syntax.ir` (as every later stage and
`filmc --help` do) never pays for Lark.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from filmc.syntax.parser import parse, parse_collecting

__all__ = ["parse", "parse_collecting"]


def __getattr__(name: str) -> Any:
    """PEP 562: the stage's entry points, imported from filmc.syntax.parser when first asked for."""
    if name in __all__:
        from filmc.syntax import parser

        return getattr(parser, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
