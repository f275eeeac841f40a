"""What the ElevenLabs voice and music backends share: the client, and answers kept the moment they arrive.

The SDK reads no base-URL variable and reads its key only at import, so filmc reads both itself.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from filmc.backend.protocol import BackendError
from filmc.backend.remote import Progress

if TYPE_CHECKING:
    from elevenlabs.client import AsyncElevenLabs

KEY_VARIABLE = "ELEVENLABS_API_KEY"
BASE_URL_VARIABLE = "ELEVENLABS_BASE_URL"


def make_client(timeout: float, base_url: str | None) -> AsyncElevenLabs:
    """Built on first use by each backend: compile never needs the key. `base_url` is the profile's, else
    ELEVENLABS_BASE_URL, else the service."""
    from elevenlabs.client import AsyncElevenLabs

    key = os.environ.get(KEY_VARIABLE)
    if not key:
        raise BackendError(f"{KEY_VARIABLE} is not set")
    return AsyncElevenLabs(api_key=key, base_url=base_url or os.environ.get(BASE_URL_VARIABLE) or None, timeout=timeout)


def kept_answer(path: Path, what: str) -> Progress:
    """A paid answer kept under the key's scratch folder is the job's result; without it the job is gone."""
    if not path.is_file():
        return Progress(status="gone", detail=f"the kept {what} is missing from the cache's scratch folder")
    return Progress(status="done", output_uri=str(path))
