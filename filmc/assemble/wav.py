"""A PCM WAV described from its RIFF header, in Python: what `probe` and `verify_media` would learn from ffmpeg.

Every narration line, the temp score and the mix are WAVs, verified as they are made: two ffmpeg starts each
(a header read and a full decode), 36 on Entropy, a third of a second of CPU for what a 44-byte header says.
For uncompressed PCM the header is the whole truth: the samples are the bytes after it, so a file cut short
is one whose data chunk claims more bytes than the file holds, and nothing needs decoding to find out.

Anything else (RF64, a compressed format tag, a header still marked "size unknown", a file that is not
RIFF at all) is not ours to guess: `read_wav` returns None and the caller asks ffmpeg.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import NamedTuple

_PCM, _FLOAT, _EXTENSIBLE = 0x0001, 0x0003, 0xFFFE
# WAVE_FORMAT_EXTENSIBLE's sub-format GUID after its first two bytes (the format tag): KSDATAFORMAT_SUBTYPE_*
_GUID_TAIL = bytes.fromhex("000000001000800000aa00389b71")
_UNKNOWN_SIZES = (0, 0xFFFFFFFF)   # what a writer that could not seek back leaves in the header
_HEADER_BYTES = 4096   # the fmt and data chunks' headers come first in every WAV ffmpeg or Python writes
_RIFF_LIMIT = 1 << 32  # a RIFF size field's reach: a bigger file's sizes have wrapped (RF64 is ffmpeg's to read)


class WavHeader(NamedTuple):
    """The stream a WAV holds, and how many of its sample frames the file really contains."""

    codec: str          # ffmpeg's name for it: pcm_s16le, pcm_s24le, pcm_f32le ...
    sample_rate: int
    channels: int
    frames: int         # sample frames the header declares
    present: int        # sample frames the file holds: fewer than `frames` means it was cut short

    def header_duration(self) -> float:
        """The duration ffmpeg prints for this file, to the same centisecond and the same float.

        ffmpeg rescales the sample count to microseconds rounding to nearest, adds 5 ms and truncates to
        hundredths (`av_dump_format`); `media.probe` parses that text, so the same text is parsed here."""
        micros = (2 * self.frames * 1_000_000 + self.sample_rate) // (2 * self.sample_rate)
        centis = (micros + 5000) // 10_000
        hours, rest = divmod(centis, 360_000)
        minutes, rest = divmod(rest, 6000)
        seconds, hundredths = divmod(rest, 100)
        return hours * 3600 + minutes * 60 + float(f"{seconds:02d}.{hundredths:02d}")

    def decoded_duration(self) -> float:
        """What a full decode reaches: every sample frame present."""
        return self.present / self.sample_rate


def _codec(tag: int, bits: int) -> str | None:
    if tag == _PCM and bits == 8:
        return "pcm_u8"
    if tag == _PCM and bits in (16, 24, 32):
        return f"pcm_s{bits}le"
    if tag == _FLOAT and bits in (32, 64):
        return f"pcm_f{bits}le"
    return None


def read_wav(path: Path) -> WavHeader | None:
    """The header of a plain RIFF/WAVE PCM or float file; None for anything ffmpeg should read instead."""
    try:
        with path.open("rb") as stream:
            head = stream.read(_HEADER_BYTES)
            size = stream.seek(0, 2)
    except OSError:
        return None
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE" or size >= _RIFF_LIMIT:
        return None
    fmt: tuple[int, int, int, int, int] | None = None   # tag, channels, rate, block align, bits
    offset = 12
    while offset + 8 <= len(head):
        kind, length = head[offset : offset + 4], struct.unpack_from("<I", head, offset + 4)[0]
        body = offset + 8
        if kind == b"fmt " and fmt is None and length >= 16 and body + length <= len(head):   # ffmpeg keeps the first
            tag, channels, rate, _, align, bits = struct.unpack_from("<HHIIHH", head, body)
            if tag == _EXTENSIBLE:
                if length < 40 or head[body + 26 : body + 40] != _GUID_TAIL:
                    return None   # not a PCM or float sub-format ffmpeg would name as such
                valid, tag = struct.unpack_from("<H", head, body + 18)[0], struct.unpack_from("<H", head, body + 24)[0]
                if valid not in (0, bits):
                    return None   # 24 valid bits in 32: ffmpeg decodes it as another codec
            fmt = (tag, channels, rate, align, bits)
        elif kind == b"data":
            if fmt is None or length in _UNKNOWN_SIZES:
                return None
            tag, channels, rate, align, bits = fmt
            codec = _codec(tag, bits)
            if codec is None or channels <= 0 or rate <= 0 or align != channels * bits // 8:
                return None
            available = max(0, size - body)
            return WavHeader(codec=codec, sample_rate=rate, channels=channels, frames=length // align,
                             present=min(length, available) // align)
        offset = body + length + (length & 1)   # chunks are word-aligned
    return None
