"""One MP4 with a sound track and a subtitle track per language, each tagged, over one copy of the picture.

Every language's film shares the picture (the same job, the same key, the same bytes), so the first film's
video stream is copied once and each film lends only its audio; nothing is re-encoded. MP4 tags a track
with an ISO 639-2 code (`eng`), which players show by name; a BCP 47 tag's language subtag is mapped here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from filmc.assemble.media import run_ffmpeg
from filmc.model import Model

# ISO 639-1 -> ISO 639-2/T, for the languages a film is most often delivered in; any other is `und`.
_ISO639_2 = {
    "ar": "ara", "bg": "bul", "bn": "ben", "ca": "cat", "cs": "ces", "cy": "cym", "da": "dan", "de": "deu",
    "el": "ell", "en": "eng", "es": "spa", "et": "est", "eu": "eus", "fa": "fas", "fi": "fin", "fr": "fra",
    "ga": "gle", "gl": "glg", "he": "heb", "hi": "hin", "hr": "hrv", "hu": "hun", "id": "ind", "is": "isl",
    "it": "ita", "ja": "jpn", "ko": "kor", "lt": "lit", "lv": "lav", "ms": "msa", "nl": "nld", "no": "nor",
    "pl": "pol", "pt": "por", "ro": "ron", "ru": "rus", "sk": "slk", "sl": "slv", "sr": "srp", "sv": "swe",
    "sw": "swa", "ta": "tam", "th": "tha", "tr": "tur", "uk": "ukr", "ur": "urd", "vi": "vie", "zh": "zho",
}


def iso639_2(tag: str) -> str:
    """`en-GB` -> `eng`; a three-letter subtag is already ISO 639-2; an unknown language is `und`."""
    primary = tag.split("-")[0].lower()
    return primary if len(primary) == 3 else _ISO639_2.get(primary, "und")


class LanguageTrack(Model):
    """One language's finished film and its subtitles, as a render left them."""

    language: str           # BCP 47, as the film or --lang wrote it
    film: Path
    subtitles: Path | None = None


def join_languages(tracks: Sequence[LanguageTrack], out: Path) -> None:
    """The first film's picture, then every film's sound, then every subtitle file as a text track, each tagged
    with its language; the first language's tracks play by default."""
    inputs: list[str] = []
    maps = ["-map", "0:v:0"]
    for i, track in enumerate(tracks):
        inputs += ["-i", str(track.film)]
        maps += ["-map", f"{i}:a:0"]
    subtitled = [t for t in tracks if t.subtitles is not None]
    for j, track in enumerate(subtitled):
        inputs += ["-i", str(track.subtitles)]
        maps += ["-map", f"{len(tracks) + j}:0"]
    tags: list[str] = []
    for i, track in enumerate(tracks):
        tags += [f"-metadata:s:a:{i}", f"language={iso639_2(track.language)}",
                 f"-disposition:a:{i}", "default" if i == 0 else "0"]
    for j, track in enumerate(subtitled):
        tags += [f"-metadata:s:s:{j}", f"language={iso639_2(track.language)}"]
    out.parent.mkdir(parents=True, exist_ok=True)
    run_ffmpeg([*inputs, *maps, "-c:v", "copy", "-c:a", "copy", "-c:s", "mov_text", *tags,
                "-movflags", "+faststart", str(out)])
