"""Marry the picture and the mix into the film: the picture stream is copied, never re-encoded."""

from __future__ import annotations

from pathlib import Path

from filmc.assemble.audio import SAMPLE_RATE
from filmc.assemble.media import MediaError, probe, run_ffmpeg

AAC_BITRATE = "192k"


def mux(picture: Path, audio: Path, out: Path) -> None:
    """Marry picture and sound: the picture stream is copied, AAC is encoded once, `moov` comes first.

    A two-input graph is where ffmpeg-python reads best; the assembler's long xfade graphs are built
    as strings, which is what ffmpeg-python would produce anyway.
    """
    import ffmpeg  # ffmpeg-python: argument building only; the binary is imageio-ffmpeg's

    info = probe(audio)
    if info.audio is None:
        raise MediaError(f"{audio} has no audio stream to mux")
    # ffmpeg's AAC `fast` coder: 3x faster than the default two-loop search, inaudible at 192 kb/s, and the
    # mux is on the path of every narration edit
    sound = {"acodec": "copy"} if info.audio.codec == "aac" else {"acodec": "aac", "audio_bitrate": AAC_BITRATE,
                                                                   "ar": SAMPLE_RATE, "aac_coder": "fast"}
    out.parent.mkdir(parents=True, exist_ok=True)
    graph = ffmpeg.output(ffmpeg.input(str(picture)).video, ffmpeg.input(str(audio)).audio, str(out),
                          vcodec="copy", movflags="+faststart", **sound)
    run_ffmpeg(graph.get_args())
