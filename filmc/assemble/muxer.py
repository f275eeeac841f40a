"""Marry the picture and the mix into the film: the picture stream is copied, never re-encoded."""

from __future__ import annotations

from pathlib import Path

from filmc.assemble.audio import SAMPLE_RATE, Loudness, loudness_filter, loudness_in_log
from filmc.assemble.media import MediaError, ffmpeg_log, loopback_decoders, probe, run_ffmpeg

AAC_BITRATE = "192k"
_CHECK = "delivered"   # the ebur128 instance that reads the film's sound as it is encoded


def mux_args(picture: Path, audio: Path, out: Path, *, measure: bool) -> list[str]:
    """ffmpeg's arguments for the mux; `measure`: the same run also decodes the AAC it encodes (a loopback decoder)
    and reads its loudness, so the delivered film's sound needs no second pass over the file.

    A two-input graph is where ffmpeg-python reads best; the assembler's long xfade graphs are built
    as strings, which is what ffmpeg-python would produce anyway.
    """
    import ffmpeg  # ffmpeg-python: argument building only; the binary is imageio-ffmpeg's

    info = probe(audio)
    if info.audio is None:
        raise MediaError(f"{audio} has no audio stream to mux")
    # ffmpeg's AAC `fast` coder: 3x faster than the default two-loop search, inaudible at 192 kb/s, and the
    # mux is on the path of every narration edit
    encode = info.audio.codec != "aac"
    sound = {"acodec": "aac", "audio_bitrate": AAC_BITRATE, "ar": SAMPLE_RATE, "aac_coder": "fast"} if encode \
        else {"acodec": "copy"}
    graph = ffmpeg.output(ffmpeg.input(str(picture)).video, ffmpeg.input(str(audio)).audio, str(out),
                          vcodec="copy", movflags="+faststart", **sound)
    args: list[str] = graph.get_args()
    if measure and encode:   # output 0's stream 1 is the AAC: ffmpeg-python maps the picture first
        args += ["-dec", "0:1", "-filter_complex", f"[dec:0]{loudness_filter(_CHECK)}[heard]", "-map", "[heard]",
                 "-f", "null", "-"]
    return args


def mux(picture: Path, audio: Path, out: Path) -> Loudness | None:
    """Marry picture and sound: the picture stream is copied, AAC is encoded once, `moov` comes first.

    Returns the loudness of the sound as it went into `out` (EBU R128 with true peak, read by decoding the very
    packets written) when this ffmpeg can decode in the same run, which overlaps the measurement with the encode;
    None when it was not read here (an older ffmpeg, or sound copied as it was): measure the file then.
    """
    measure = loopback_decoders()
    args = mux_args(picture, audio, out, measure=measure)
    out.parent.mkdir(parents=True, exist_ok=True)
    if "-dec" not in args:
        run_ffmpeg(args)
        return None
    return loudness_in_log(ffmpeg_log(args, "muxing the film"), _CHECK)
