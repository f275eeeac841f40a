"""What the cloud backends' tests share: hello.film in a project with a `final` profile, rendered within $5."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from filmc.cli.progress import PlainEvents
from filmc.deliver.outputs import RenderSummary
from filmc.pipeline import compile_film, render_film
from tests.conftest import FILMS

# The `final` profile with only the voice paid for (ElevenLabs): the prompts, the animatic and the score stay offline.
ELEVENLABS_VOICE_ONLY = """
[profile.final]
voices = { narrator = "voice-it-1" }
[profile.final.expand]
backend = "template"
[profile.final.video]
backend = "animatic"
[profile.final.music]
backend = "synth"
"""


def hello_project(root: Path, profile: str, edit: tuple[str, str] | None = None) -> Path:
    """hello.film (optionally edited) beside a filmc.toml holding `profile`."""
    root.mkdir(parents=True, exist_ok=True)
    text = (FILMS / "hello.film").read_text("utf-8")
    (root / "hello.film").write_text(text.replace(*edit) if edit else text, "utf-8")
    (root / "filmc.toml").write_text(profile, "utf-8")
    return root / "hello.film"


def render_final(film: Path) -> RenderSummary:
    """Compile with the `final` profile and render into out/ beside the film, with a $5 budget."""
    plan, _ = asyncio.run(compile_film(film, "final"))
    return asyncio.run(render_film(plan, out_dir=film.parent / "out", events=PlainEvents(), max_cost=Decimal(5),
                                   backoff=0.01))
