"""Text from a film, quoted in a diagnostic's message: one line, no control characters, never very long.

Apart from filmc.syntax.messages so the checker can use it without importing Lark.
"""

from __future__ import annotations


def quoted(text: str, limit: int = 60) -> str:
    """Text from a film as a message quotes it, in backticks, on one line: a line break, a control or bidi
    character is written as its escape (it would break the report's layout, or reorder it on a terminal),
    and text over `limit` characters is cut, its length said (a 5,000-digit number is not echoed)."""
    shown = text if text.isprintable() else "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)
    if len(shown) > limit:
        return f"`{shown[:limit]}…` ({len(text):,} characters)"
    return f"`{shown}`"
