"""`filmc render FILE --lang it,en`: after each language's own render, one MP4 holding them all.

Each language's render leaves its film and subtitles beside the others' and lists them in its manifest
(`manifest.json`, `manifest.en.json`, …); this reads those manifests, so it joins exactly what was delivered.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from filmc.assemble.tracks import LanguageTrack, join_languages
from filmc.errors import UsageError
from filmc.files import write_atomic


def manifest_of(out_dir: Path, suffix: str, draft: bool) -> Path:
    """The manifest a language's render wrote: `suffix` is `.en` for a translation, "" for the film's own."""
    return out_dir / f"manifest{suffix}{'.draft' if draft else ''}.json"


def track_of(out_dir: Path, language: str, suffix: str, draft: bool) -> LanguageTrack:
    """One language's film and subtitles, as its manifest names them."""
    manifest = manifest_of(out_dir, suffix, draft)
    try:
        outputs = json.loads(manifest.read_text("utf-8"))["outputs"]
    except (OSError, ValueError, KeyError) as err:
        raise UsageError(f"the `{language}` render left no readable {manifest.name} in {out_dir} ({err}); "
                         "render that language again") from None
    if "film" not in outputs:
        raise UsageError(f"the `{language}` render made no film (see {manifest.name}); render it again")
    srt = outputs.get("srt")
    return LanguageTrack(language=language, film=out_dir / outputs["film"], subtitles=out_dir / srt if srt else None)


def write_language_tracks(out_dir: Path, name: str, tracks: Sequence[LanguageTrack]) -> Path:
    """`<name>.it+en.mp4`: the picture once, a sound and a subtitle track per language, in the order asked."""
    target = out_dir / f"{name}.{'+'.join(t.language for t in tracks)}.mp4"
    write_atomic(target, lambda tmp: join_languages(tracks, tmp))
    return target
