"""Small ffmpeg helpers shared by the backends, the assembler and the tests.

There is no ffprobe in the `imageio-ffmpeg` wheel, so probing reads `ffmpeg -i` and checking
decodes to the null muxer. Frames stay inside ffmpeg, except the tiny thumbnails QA asks for.
"""

from __future__ import annotations

import functools
import math
import re
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import imageio_ffmpeg

from filmc.assemble.wav import WavHeader, read_wav
from filmc.model import Model

_BASE_ARGS = ("-hide_banner", "-nostdin", "-y")
_TAIL_LINES = 6
_CHANNELS = {"mono": 1, "stereo": 2, "quad": 4, "hexagonal": 6, "octagonal": 8, "downmix": 2}
_NTSC_BASES = (24, 30, 48, 60, 120)


class MediaError(Exception):
    """A media file or an ffmpeg run failed; the message is one paragraph a user can act on."""


class VideoStreamInfo(Model):
    """The first video stream as ffmpeg describes it; fps is rounded by ffmpeg except NTSC rates."""

    codec: str
    width: int
    height: int
    fps: float | None


class AudioStreamInfo(Model):
    """The first audio stream as ffmpeg describes it."""

    codec: str
    sample_rate: int
    channels: int


class MediaInfo(Model):
    """What the container says, which a truncated file may still claim: check with `verify_media`."""

    duration: float
    video: VideoStreamInfo | None
    audio: AudioStreamInfo | None
    video_streams: int
    audio_streams: int


class Decoded(Model):
    """What a full decode of the first video and audio streams really produced."""

    frames: int
    duration: float


@functools.cache
def ffmpeg_exe() -> str:
    """One binary for every stage: the one the `imageio-ffmpeg` wheel ships, no system install needed."""
    return str(imageio_ffmpeg.get_ffmpeg_exe())


def ffmpeg_major(banner: str) -> int | None:
    """The major version in `ffmpeg -version`'s first line ("n9.0.2-17-g…", "7.1.1", "4.4.2-0ubuntu…"); None for a
    build from git ("N-113200-g…"), whose features can't be told from its name."""
    match = re.match(r"ffmpeg version n?(\d+)\.", banner)
    return int(match.group(1)) if match else None


@functools.cache
def loopback_decoders() -> bool:
    """Whether this ffmpeg can decode what it is encoding in the same run (`-dec`, ffmpeg 7.0 and later): the
    bundled one can; an older one set through IMAGEIO_FFMPEG_EXE, or a git build, is asked to do it in two runs."""
    try:
        done = run_process([ffmpeg_exe(), "-hide_banner", "-version"])
    except OSError:
        return False
    major = ffmpeg_major(done.stdout.decode("utf-8", "replace"))
    return major is not None and major >= 7


def _tail(stderr: bytes) -> str:
    lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    return " | ".join(lines[-_TAIL_LINES:]) or "no message"


_RUNNING: set[subprocess.Popen[bytes]] = set()
_RUNNING_LOCK = threading.Lock()


def run_process(cmd: Sequence[str]) -> subprocess.CompletedProcess[bytes]:
    """subprocess.run, but registered, so an interrupted render can stop its ffmpeg children at once."""
    with subprocess.Popen(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        with _RUNNING_LOCK:
            _RUNNING.add(proc)
        try:
            out, err = proc.communicate()
        finally:
            with _RUNNING_LOCK:
                _RUNNING.discard(proc)
    return subprocess.CompletedProcess(list(cmd), proc.returncode, out, err)


def terminate_running() -> int:
    """Kill every ffmpeg this process started and is still waiting for (Ctrl-C, a cancelled job)."""
    with _RUNNING_LOCK:
        running = list(_RUNNING)
    for proc in running:
        proc.kill()
    return len(running)


def _ffmpeg(
    args: Sequence[str], *, check: bool = True, loglevel: str = "error"
) -> subprocess.CompletedProcess[bytes]:
    """Run ffmpeg quietly; stdout and stderr are captured so a failure can say what ffmpeg said."""
    cmd = [ffmpeg_exe(), *_BASE_ARGS, "-loglevel", loglevel, *args]
    try:
        done = run_process(cmd)
    except OSError as err:
        raise MediaError(f"cannot run ffmpeg ({cmd[0]}): {err}") from err
    if check and done.returncode != 0:
        raise MediaError(f"ffmpeg failed with exit status {done.returncode}: {_tail(done.stderr)}")
    return done


def run_ffmpeg(args: Sequence[str]) -> None:
    """Run ffmpeg with the shared quiet flags and turn a failure into a MediaError with its last words."""
    _ffmpeg(args)


def ffmpeg_log(args: Sequence[str], doing: str = "") -> str:
    """Run ffmpeg at info level and return what it printed, for the filters that report only in the log
    (ebur128, volumedetect, silencedetect, blackdetect); `doing` names the work in a failure's message."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", "-y", "-loglevel", "info", *args]
    try:
        done = run_process(cmd)
    except OSError as err:
        raise MediaError(f"cannot run ffmpeg ({cmd[0]}): {err}") from err
    text = done.stderr.decode("utf-8", "replace")
    if done.returncode != 0:
        tail = " | ".join(ln.strip() for ln in text.splitlines()[-6:] if ln.strip())
        raise MediaError(f"ffmpeg failed with exit status {done.returncode}{' ' + doing if doing else ''}: {tail}")
    return text


def escape_filter_value(value: str) -> str:
    """Escape an option value at both filtergraph levels, so `:` `,` `'` `\\` `[` `]` `;` stay literal."""
    level1 = re.sub(r"([\\':])", r"\\\1", value)
    return re.sub(r"([\\'\[\],;])", r"\\\1", level1)


def escape_filter_path(path: Path | str) -> str:
    """A path inside a filtergraph option (textfile=, fontfile=, movie=) read literally by ffmpeg."""
    return escape_filter_value(str(path))


def filter_spec(name: str, **options: object) -> str:
    """`name=k=v:k=v` with every value escaped; a trailing underscore in a key is dropped (`in_`)."""
    if not options:
        return name
    parts = (f"{key.rstrip('_')}={escape_filter_value(str(val))}" for key, val in options.items())
    return f"{name}=" + ":".join(parts)


def _seconds(stamp: str) -> float:
    hours, minutes, seconds = stamp.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _fps(line: str) -> float | None:
    match = re.search(r"([\d.]+)(k?) (?:fps|tbr)\b", line)
    if not match:
        return None
    fps = float(match.group(1)) * (1000 if match.group(2) else 1)
    for base in _NTSC_BASES:  # ffmpeg prints 23.98 for 24000/1001; give callers the real rate back
        ntsc = base * 1000 / 1001
        if abs(fps - round(ntsc, 2)) < 1e-9:
            return ntsc
    return fps


def _video_stream(line: str) -> VideoStreamInfo:
    codec = re.search(r"Video: (\w+)", line)
    size = re.search(r", (\d+)x(\d+)[ ,]", line)
    if not codec or not size:
        raise MediaError(f"cannot understand ffmpeg's video stream line: {line.strip()}")
    return VideoStreamInfo(
        codec=codec.group(1), width=int(size.group(1)), height=int(size.group(2)), fps=_fps(line)
    )


def _channels(layout: str) -> int:
    layout = layout.split("(")[0].strip()
    if layout in _CHANNELS:
        return _CHANNELS[layout]
    if match := re.fullmatch(r"(\d+) channels", layout):
        return int(match.group(1))
    if re.fullmatch(r"\d+(\.\d+)+", layout):  # 5.1 is six channels, 7.1.4 is twelve
        return sum(int(part) for part in layout.split("."))
    raise MediaError(f"unknown audio channel layout `{layout}`")


def _audio_stream(line: str) -> AudioStreamInfo:
    match = re.search(r"Audio: (\w+).*?, (\d+) Hz, ([^,]+)", line)
    if not match:
        raise MediaError(f"cannot understand ffmpeg's audio stream line: {line.strip()}")
    return AudioStreamInfo(
        codec=match.group(1), sample_rate=int(match.group(2)), channels=_channels(match.group(3))
    )


def _wav_info(header: WavHeader) -> MediaInfo:
    audio = AudioStreamInfo(codec=header.codec, sample_rate=header.sample_rate, channels=header.channels)
    return MediaInfo(duration=header.header_duration(), video=None, audio=audio, video_streams=0, audio_streams=1)


def probe(path: Path) -> MediaInfo:
    """Describe a file without ffprobe, from the header `ffmpeg -i` prints (or, for a PCM WAV, the same facts
    read from its RIFF header in Python: see `wav`); it decodes nothing."""
    header = read_wav(path) if path.suffix.lower() == ".wav" else None
    if header is not None and header.present == header.frames:   # whole: the header says what ffmpeg would
        return _wav_info(header)   # (a file cut short is ffmpeg's to describe, as it is for every other file)
    text = _ffmpeg(["-i", str(path)], check=False, loglevel="info").stderr.decode("utf-8", "replace")
    if "Input #0" not in text:
        raise MediaError(f"ffmpeg cannot read {path}: {_tail(text.encode())}")
    streams = [ln for ln in text.splitlines() if re.match(r"\s*Stream #0:\d+", ln)]
    videos = [ln for ln in streams if "Video:" in ln and "(attached pic)" not in ln]
    audios = [ln for ln in streams if "Audio:" in ln]
    stamp = re.search(r"Duration: (\d+:\d+:[\d.]+)", text)
    return MediaInfo(
        duration=_seconds(stamp.group(1)) if stamp else decode(path).duration,
        video=_video_stream(videos[0]) if videos else None,
        audio=_audio_stream(audios[0]) if audios else None,
        video_streams=len(videos),
        audio_streams=len(audios),
    )


def _progress(stdout: bytes) -> dict[str, str]:
    """The last value of each key ffmpeg's `-progress` wrote."""
    pairs = (ln.split("=", 1) for ln in stdout.decode("utf-8", "replace").splitlines() if "=" in ln)
    return {key.strip(): value.strip() for key, value in pairs}


def count_frames(path: Path) -> int:
    """Frames in the first video stream, counted by remuxing to the null muxer: fast, decodes nothing."""
    done = _ffmpeg(
        ["-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "null", "-", "-progress", "pipe:1", "-nostats"]
    )
    return int(_progress(done.stdout).get("frame", "0"))


def decode(path: Path) -> Decoded:
    """Decode the first video and audio streams to nothing; any decode error is a MediaError."""
    done = _ffmpeg(
        [
            "-i",
            str(path),
            "-map",
            "0:v:0?",
            "-map",
            "0:a:0?",
            "-f",
            "null",
            "-",
            "-progress",
            "pipe:1",
            "-nostats",
        ]
    )
    if done.stderr.strip():  # ffmpeg goes on after a broken packet; a truncated asset must not pass
        raise MediaError(f"{path} does not decode cleanly: {_tail(done.stderr)}")
    stats = _progress(done.stdout)
    micros = stats.get("out_time_us", "N/A")
    seconds = int(micros) / 1e6 if micros.isdigit() else 0.0
    return Decoded(frames=int(stats.get("frame", "0")), duration=seconds)


def verify_media(
    path: Path, *, expect_video: bool, expect_audio: bool, duration: float | None, tolerance: float
) -> MediaInfo:
    """Refuse an asset that lacks a stream, does not decode to its end, or has the wrong length; else what its
    header says (so a caller needs no ffmpeg run of its own to read it again). A PCM WAV needs no ffmpeg at all:
    its samples are the bytes after its header, so their count is its decoded length."""
    wav = read_wav(path) if path.suffix.lower() == ".wav" else None
    info = _wav_info(wav) if wav is not None else probe(path)
    if expect_video and info.video is None:
        raise MediaError(f"{path} has no video stream")
    if expect_audio and info.audio is None:
        raise MediaError(f"{path} has no audio stream")
    if wav is not None and wav.present < wav.frames:
        raise MediaError(f"{path} holds {wav.decoded_duration():.3f}s of the {info.duration:.3f}s its header says: "
                         "cut short?")
    real = wav.decoded_duration() if wav is not None else decode(path).duration
    if abs(real - info.duration) > tolerance:
        raise MediaError(
            f"{path} decodes to {real:.3f}s but its header says {info.duration:.3f}s: cut short?"
        )
    if duration is not None and abs(real - duration) > tolerance:
        raise MediaError(f"{path} lasts {real:.3f}s, expected {duration:.3f}s (±{tolerance:g}s)")
    return info


def grab_frame(path: Path, at: float, *, width: int = 32, height: int = 18) -> bytes:
    """One frame at `at` seconds, shrunk to width x height rgb24: a thumbnail for QA and tests."""
    scale = f"scale={width}:{height}:flags=area"
    done = _ffmpeg(
        [
            "-ss",
            f"{at:.6f}",
            "-i",
            str(path),
            "-map",
            "0:v:0",
            "-frames:v",
            "1",
            "-vf",
            scale,
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "pipe:1",
        ]
    )
    if len(done.stdout) != width * height * 3:
        raise MediaError(f"{path} has no frame at {at:.3f}s")
    return done.stdout


def grab_jpeg(path: Path, at: float, *, width: int, quality: int = 5) -> bytes:
    """The frame at `at` seconds as a small JPEG `width` pixels wide (height kept even), found by an accurate
    seek: ffmpeg decodes from the keyframe before `at`, so prefer `keyframe_jpegs` for many frames of one file."""
    done = _ffmpeg(["-ss", f"{max(at, 0.0):.3f}", "-i", str(path), "-map", "0:v:0", "-frames:v", "1",
                    "-vf", f"scale={width}:-2:flags=area", "-q:v", str(quality), "-f", "image2pipe",
                    "-c:v", "mjpeg", "pipe:1"])
    if not done.stdout:
        raise MediaError(f"{path} has no frame at {at:.3f}s")
    return done.stdout


class KeyframeJpeg(NamedTuple):
    """One keyframe of a video as a small JPEG file: when it is shown and where its picture was written."""

    at: float    # seconds from the start of the file, to the millisecond
    jpeg: Path


def keyframe_jpegs(path: Path, folder: Path, *, width: int, start: float = 0.0, end: float | None = None,
                   quality: int = 5) -> tuple[KeyframeJpeg, ...]:
    """Every keyframe shown from `start` to `end` seconds, scaled inside ffmpeg to small JPEGs in `folder` (an
    empty one), in time order: one ffmpeg run that decodes keyframes only (`-skip_frame nokey`), where an
    accurate seek per frame decodes up to a GOP and starts ffmpeg each time. Each file is named by its time in
    milliseconds (`-frame_pts` with a 1/1000 encoder time base): no frame passes through Python, only names."""
    seek = math.floor(max(start, 0.0) * 1000) / 1000   # floored, so a keyframe right at `start` is kept
    window = (["-ss", f"{seek:.3f}"] if seek > 0 else []) + (["-to", f"{end:.3f}"] if end is not None else [])
    # one decoder thread: frame threads have little to share among keyframes alone; measured on Entropy's
    # picture (62 keyframes of 720p), 0.22 CPU-s and 0.21 s against 0.28 and 0.27 with ffmpeg's default
    _ffmpeg(["-threads", "1", "-skip_frame", "nokey", *window, "-i", str(path), "-map", "0:v:0",
             "-fps_mode", "passthrough", "-vf", f"scale={width}:-2:flags=area", "-q:v", str(quality),
             "-enc_time_base", "1/1000", "-frame_pts", "1", str(folder / "%d.jpg")])
    found = (KeyframeJpeg(seek + int(jpeg.stem) / 1000, jpeg)   # ffmpeg's clock starts at the seek point
             for jpeg in folder.glob("*.jpg") if jpeg.stem.isdigit())
    return tuple(sorted(found))


def mean_rgb(path: Path, at: float) -> tuple[float, float, float]:
    """Average colour of the frame at `at` seconds, 0-255 per channel, to check a grade or a palette."""
    pixels = grab_frame(path, at)
    count = len(pixels) // 3
    return (sum(pixels[0::3]) / count, sum(pixels[1::3]) / count, sum(pixels[2::3]) / count)
