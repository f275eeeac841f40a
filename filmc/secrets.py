"""The last guard between a key and a screen: any text filmc prints or writes about a failure passes here.

Backends scrub their own SDKs' errors with the key they used; this catches the rest (a plugin's error, an
internal error echoing a request) by redacting the values of every environment variable named like a key.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

KEY_NAME = re.compile(r"(API_?KEY|API_?SECRET|SECRET|TOKEN|PASSWORD)", re.IGNORECASE)
REDACTED = "[redacted]"


def environment_secrets() -> frozenset[str]:
    """Values of variables named like keys, long enough not to be an ordinary word."""
    return frozenset(value for name, value in os.environ.items() if KEY_NAME.search(name) and len(value) >= 8)


def redact(text: str, also: Iterable[str] = ()) -> str:
    for secret in sorted(environment_secrets() | set(also), key=len, reverse=True):   # longest first
        text = text.replace(secret, REDACTED)
    return text
