"""A PCM WAV read in Python must say exactly what ffmpeg says of it: durations feed manifests and timelines."""

from __future__ import annotations

import shutil
import wave
from pathlib import Path

import pytest

from filmc.assemble import media
from filmc.assemble.media import MediaError, decode, probe, run_ffmpeg, verify_media
from filmc.assemble.wav import read_wav

pytestmark = pytest.mark.slow

# (codec, sample rate, channel layout, sample frames): the formats filmc and its backends write, odd rates and
# layouts, and lengths on both sides of ffmpeg's centisecond rounding (48240 frames at 48 kHz is 1.005 s exactly)
CASES = [
    ("pcm_s16le", 22050, "mono", 71_413),
    ("pcm_s24le", 48000, "stereo", 48_240),
    ("pcm_s24le", 48000, "stereo", 48_239),
    ("pcm_f32le", 48000, "stereo", 5_760_001),
    ("pcm_u8", 8000, "mono", 12_345),
    ("pcm_s32le", 44100, "mono", 441),
    ("pcm_f64le", 16000, "stereo", 16_079),
    ("pcm_s24le", 48000, "5.1", 24_007),   # six channels: ffmpeg writes WAVE_FORMAT_EXTENSIBLE
]


def _wav(folder: Path, codec: str, rate: int, layout: str, frames: int) -> Path:
    out = folder / f"{codec}-{rate}-{layout}-{frames}.wav"
    run_ffmpeg(["-f", "lavfi", "-i", f"sine=f=300:r={rate},aformat=channel_layouts={layout}",
                "-af", f"atrim=end_sample={frames}", "-c:a", codec, str(out)])
    return out


def _ffmpeg_probe(path: Path, tmp_path: Path) -> media.MediaInfo:
    """What ffmpeg itself reads: the same bytes under a name the Python reader leaves alone."""
    twin = tmp_path / (path.stem + ".bin")
    shutil.copyfile(path, twin)
    return probe(twin)


@pytest.mark.parametrize(("codec", "rate", "layout", "frames"), CASES)
def test_a_wav_read_in_python_says_what_ffmpeg_says(codec: str, rate: int, layout: str, frames: int,
                                                    tmp_path: Path) -> None:
    wav = _wav(tmp_path, codec, rate, layout, frames)
    header = read_wav(wav)
    assert header is not None and header.frames == header.present == frames and header.codec == codec
    assert probe(wav) == _ffmpeg_probe(wav, tmp_path)   # codec, rate, channels, streams and the printed duration
    assert header.decoded_duration() == pytest.approx(decode(wav).duration, abs=1e-6)


def test_a_wav_written_by_pythons_wave_module_reads_the_same(tmp_path: Path) -> None:
    out = tmp_path / "plain.wav"
    with wave.open(str(out), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(24000)
        w.writeframes(b"\x01\x00\xff\xff" * 36_011)
    assert probe(out) == _ffmpeg_probe(out, tmp_path)


def test_verifying_a_wav_runs_no_ffmpeg_and_still_checks_its_length(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    wav = _wav(tmp_path, "pcm_s24le", 48000, "stereo", 96_000)
    runs: list[list[str]] = []
    real = media._ffmpeg
    monkeypatch.setattr(media, "_ffmpeg", lambda args, **kw: runs.append(list(args)) or real(args, **kw))
    info = verify_media(wav, expect_video=False, expect_audio=True, duration=2.0, tolerance=0.05)
    assert info.duration == 2.0 and info.audio is not None and info.audio.channels == 2
    with pytest.raises(MediaError, match=r"expected 3\.000s"):
        verify_media(wav, expect_video=False, expect_audio=True, duration=3.0, tolerance=0.05)
    with pytest.raises(MediaError, match="no video stream"):
        verify_media(wav, expect_video=True, expect_audio=True, duration=None, tolerance=0.05)
    assert runs == []


def test_a_wav_cut_short_is_refused_even_within_the_tolerance(tmp_path: Path) -> None:
    """ffmpeg's decode would pass a file missing less than the tolerance; missing samples are never fine."""
    wav = _wav(tmp_path, "pcm_s16le", 48000, "stereo", 48_000)
    data = wav.read_bytes()
    wav.write_bytes(data[:-400])   # 100 sample frames, 2 ms
    with pytest.raises(MediaError, match="cut short"):
        verify_media(wav, expect_video=False, expect_audio=True, duration=None, tolerance=0.05)


@pytest.mark.parametrize("content", [
    b"ID3\x03\x00\x00\x00" + b"\x00" * 400,                      # an MP3 someone named .wav
    b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00" + b"\x00" * 16,   # no data chunk
    b"RIFF\xff\xff\xff\xffWAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x80\xbb\x00\x00\x00\x77\x01\x00\x02\x00"
    b"\x10\x00data\xff\xff\xff\xff" + b"\x00" * 64,              # a header left at "size unknown"
])
def test_anything_but_a_plain_pcm_wav_is_left_to_ffmpeg(content: bytes, tmp_path: Path) -> None:
    odd = tmp_path / "odd.wav"
    odd.write_bytes(content)
    assert read_wav(odd) is None


def test_a_streamed_wav_is_read_by_ffmpeg_and_still_verified(tmp_path: Path) -> None:
    """A WAV piped out of a tool has no sizes in its header: ffmpeg reads it, and the decode checks it."""
    out = tmp_path / "streamed.wav"
    done = media._ffmpeg(["-f", "lavfi", "-i", "sine=r=16000", "-t", "1", "-c:a", "pcm_s16le", "-f", "wav", "pipe:1"])
    out.write_bytes(done.stdout)
    assert read_wav(out) is None
    info = verify_media(out, expect_video=False, expect_audio=True, duration=1.0, tolerance=0.05)
    assert info.audio is not None and info.audio.sample_rate == 16000


def _patched(folder: Path, name: str, patch: dict[int, bytes]) -> Path:
    """Entropy's kind of 5.1 WAVE_FORMAT_EXTENSIBLE file, with bytes of its fmt chunk's body replaced."""
    wav = _wav(folder, "pcm_s24le", 48000, "5.1", 4800)
    data = bytearray(wav.read_bytes())
    body = data.index(b"fmt ") + 8
    for at, value in patch.items():
        data[body + at : body + at + len(value)] = value
    out = folder / name
    out.write_bytes(bytes(data))
    return out


def test_an_extensible_wav_ffmpeg_would_not_call_plain_pcm_is_left_to_it(tmp_path: Path) -> None:
    """A sub-format GUID that is not KSDATAFORMAT_SUBTYPE_PCM/IEEE_FLOAT, or fewer valid bits than the container
    holds (ffmpeg names 24-in-32 another codec, of another length): ffmpeg reads those."""
    odd_guid = _patched(tmp_path, "guid.wav", {39: b"\x00"})
    fewer_bits = _patched(tmp_path, "bits.wav", {18: (20).to_bytes(2, "little")})
    assert read_wav(_patched(tmp_path, "same.wav", {})) is not None
    assert read_wav(odd_guid) is None and read_wav(fewer_bits) is None
    assert probe(odd_guid) == _ffmpeg_probe(odd_guid, tmp_path)


def test_probing_a_wav_cut_short_says_what_ffmpeg_says(tmp_path: Path) -> None:
    """ffmpeg believes the file over the header's data size; probe does too, and verification refuses the file."""
    wav = _wav(tmp_path, "pcm_s16le", 48000, "stereo", 96_000)
    data = wav.read_bytes()
    wav.write_bytes(data[: len(data) // 2])
    assert probe(wav) == _ffmpeg_probe(wav, tmp_path)
    assert probe(wav).duration == pytest.approx(1.0, abs=0.02)


def test_a_wav_past_four_gibibytes_is_left_to_ffmpeg(tmp_path: Path) -> None:
    """Its RIFF sizes have wrapped: the header would claim a few seconds of a many-hour file."""
    wav = _wav(tmp_path, "pcm_s16le", 48000, "stereo", 4800)
    with wav.open("r+b") as stream:
        stream.truncate((1 << 32) + 4096)   # sparse: no disk is spent
    assert read_wav(wav) is None
