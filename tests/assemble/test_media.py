"""The shared ffmpeg helpers, on tiny real files made by the real ffmpeg."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest

from filmc.assemble.media import (
    MediaError,
    count_frames,
    decode,
    escape_filter_path,
    escape_filter_value,
    filter_spec,
    grab_frame,
    grab_jpeg,
    keyframe_jpegs,
    mean_rgb,
    probe,
    run_ffmpeg,
    verify_media,
)

pytestmark = pytest.mark.slow

SPECIAL_DIR = "it's: a, b [x]; c\\d %e"


def _make(out: Path, *, video: str = "", audio: str = "", seconds: float = 2.0) -> Path:
    """An MP4 from lavfi sources: `video`/`audio` are source specs, either may be empty."""
    args: list[str] = []
    for spec in (video, audio):
        if spec:
            args += ["-f", "lavfi", "-i", spec]
    codecs = (["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"] if video else []) + (
        ["-c:a", "aac"] if audio else []
    )
    run_ffmpeg([*args, "-t", str(seconds), *codecs, "-movflags", "+faststart", str(out)])
    return out


@pytest.fixture(scope="module")
def av_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("media") / "av.mp4"
    return _make(out, video="testsrc2=s=320x180:r=24", audio="sine=f=440:r=48000,pan=stereo|c0=c0|c1=c0")


def test_probe_reads_streams_and_duration(av_clip: Path) -> None:
    info = probe(av_clip)
    assert info.duration == pytest.approx(2.0, abs=0.03)
    assert info.video is not None and info.audio is not None
    assert (info.video.codec, info.video.width, info.video.height, info.video.fps) == ("h264", 320, 180, 24.0)
    assert (info.audio.codec, info.audio.sample_rate, info.audio.channels) == ("aac", 48000, 2)
    assert (info.video_streams, info.audio_streams) == (1, 1)


def test_probe_gives_ntsc_rates_back_exactly(tmp_path: Path) -> None:
    clip = _make(tmp_path / "ntsc.mp4", video="testsrc2=s=160x90:r=24000/1001", seconds=1)
    info = probe(clip)
    assert info.video is not None and info.video.fps == pytest.approx(24000 / 1001, abs=1e-9)
    assert info.audio is None and info.audio_streams == 0


def test_probe_counts_surround_channels(tmp_path: Path) -> None:
    info = probe(_make(tmp_path / "51.mp4", audio="anullsrc=cl=5.1:r=44100", seconds=0.5))
    assert info.video is None
    assert info.audio is not None and (info.audio.channels, info.audio.sample_rate) == (6, 44100)


def test_probe_refuses_a_file_that_is_not_media(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a movie at all" * 50)
    with pytest.raises(MediaError, match="cannot read"):
        probe(junk)


def test_count_frames_and_decode_are_exact(av_clip: Path) -> None:
    assert count_frames(av_clip) == 48
    decoded = decode(av_clip)
    assert decoded.frames == 48
    assert decoded.duration == pytest.approx(2.0, abs=0.03)


def test_run_ffmpeg_failure_carries_ffmpeg_words(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match=r"exit status .*no_such_filter"):
        run_ffmpeg(["-f", "lavfi", "-i", "no_such_filter", str(tmp_path / "x.mp4")])


def test_verify_media_accepts_a_good_file_and_says_what_its_header_says_in_two_runs(
        av_clip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A header read and a decode: a verified job's duration comes from here, not from a third ffmpeg run."""
    from filmc.assemble import media

    runs: list[list[str]] = []
    real = media._ffmpeg
    monkeypatch.setattr(media, "_ffmpeg", lambda args, **kw: runs.append(args) or real(args, **kw))
    info = verify_media(av_clip, expect_video=True, expect_audio=True, duration=2.0, tolerance=0.05)
    assert abs(info.duration - 2.0) < 0.05 and info.video is not None and info.audio is not None
    assert len(runs) == 2


def test_verify_media_refuses_a_truncated_file(av_clip: Path, tmp_path: Path) -> None:
    half = tmp_path / "half.mp4"
    data = av_clip.read_bytes()
    half.write_bytes(data[: len(data) // 2])
    with pytest.raises(MediaError):
        verify_media(half, expect_video=True, expect_audio=True, duration=2.0, tolerance=0.05)
    with pytest.raises(MediaError):  # the header still claims 2 s: the decode must notice on its own
        verify_media(half, expect_video=True, expect_audio=False, duration=None, tolerance=0.05)


def test_verify_media_refuses_wrong_duration_or_missing_stream(av_clip: Path, tmp_path: Path) -> None:
    with pytest.raises(MediaError, match=r"expected 3\.000s"):
        verify_media(av_clip, expect_video=True, expect_audio=True, duration=3.0, tolerance=0.05)
    silent = _make(tmp_path / "silent.mp4", video="testsrc2=s=160x90:r=24", seconds=1)
    with pytest.raises(MediaError, match="no audio stream"):
        verify_media(silent, expect_video=True, expect_audio=True, duration=1.0, tolerance=0.05)


def test_mean_rgb_sees_the_colour(tmp_path: Path) -> None:
    red = _make(tmp_path / "red.mp4", video="color=c=#C03020:s=160x90:r=24", seconds=1)
    r, g, b = mean_rgb(red, 0.5)
    assert (r, g, b) == pytest.approx((0xC0, 0x30, 0x20), abs=8)
    with pytest.raises(MediaError, match="no frame"):
        grab_frame(red, 5.0)


@pytest.fixture(scope="module")
def gop_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 s at 24 fps with a keyframe every 12 frames and no others (no scene cuts): red then blue from 1.5 s."""
    out = tmp_path_factory.mktemp("gop") / "gop.mp4"
    run_ffmpeg(["-filter_complex", "color=c=#C03020:s=160x90:r=24:d=1.5[a];color=c=#2040C0:s=160x90:r=24:d=1.5[b];"
                "[a][b]concat=n=2:v=1:a=0", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                "-g", "12", "-keyint_min", "12", "-sc_threshold", "0", str(out)])
    return out


def _colour(jpeg: bytes, tmp_path: Path) -> tuple[float, float, float]:
    image = tmp_path / "still.jpg"
    image.write_bytes(jpeg)
    return mean_rgb(image, 0.0)


def test_keyframe_jpegs_names_every_keyframe_by_its_time(gop_clip: Path, tmp_path: Path) -> None:
    (tmp_path / "all").mkdir()
    every = keyframe_jpegs(gop_clip, tmp_path / "all", width=80)
    assert [k.at for k in every] == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0, 2.5], abs=0.0011)
    assert all(k.jpeg.parent == tmp_path / "all" and k.jpeg.read_bytes()[:2] == b"\xff\xd8" for k in every)
    assert _colour(every[2].jpeg.read_bytes(), tmp_path) == pytest.approx((0xC0, 0x30, 0x20), abs=10)
    assert _colour(every[3].jpeg.read_bytes(), tmp_path) == pytest.approx((0x20, 0x40, 0xC0), abs=10)


def test_keyframe_jpegs_reads_only_the_window_and_keeps_the_clock(gop_clip: Path, tmp_path: Path) -> None:
    """Times stay the file's behind a seek; a keyframe right at the window's start is kept (the seek point is
    floored to the millisecond), one after its end is not read."""
    (tmp_path / "a").mkdir()
    assert [k.at for k in keyframe_jpegs(gop_clip, tmp_path / "a", width=80, start=1.0, end=2.2)] == \
        pytest.approx([1.0, 1.5, 2.0], abs=0.0011)
    (tmp_path / "b").mkdir()
    odd = keyframe_jpegs(gop_clip, tmp_path / "b", width=80, start=1.2345, end=3.0)
    assert [k.at for k in odd] == pytest.approx([1.5, 2.0, 2.5], abs=0.0011)
    assert _colour(odd[0].jpeg.read_bytes(), tmp_path) == pytest.approx((0x20, 0x40, 0xC0), abs=10)


def test_grab_jpeg_is_the_frame_at_that_moment(gop_clip: Path, tmp_path: Path) -> None:
    jpeg = grab_jpeg(gop_clip, 1.45, width=80)   # the last red frame, eleven frames after its keyframe
    assert jpeg[:2] == b"\xff\xd8"
    assert _colour(jpeg, tmp_path) == pytest.approx((0xC0, 0x30, 0x20), abs=10)
    with pytest.raises(MediaError):   # past the end: ffmpeg itself fails, or writes nothing
        grab_jpeg(gop_clip, 9.0, width=80)


def test_escape_filter_value_levels() -> None:
    assert escape_filter_value("a:b") == "a\\\\:b"
    assert escape_filter_value("x,y") == "x\\,y"
    assert escape_filter_value("it's") == "it\\\\\\'s"
    assert filter_spec("null") == "null"
    assert filter_spec("scale", w=2, in_range="tv") == "scale=w=2:in_range=tv"


def test_escaped_paths_reach_ffmpeg_literally(tmp_path: Path) -> None:
    folder = tmp_path / SPECIAL_DIR
    folder.mkdir()
    text, font = folder / "text.txt", folder / "font.ttf"
    text.write_text("hello", encoding="utf-8")
    font.write_bytes((files("font_source_sans_pro") / "files" / "SourceSansPro-Regular.ttf").read_bytes())
    drawtext = f"drawtext=textfile={escape_filter_path(text)}:fontfile={escape_filter_path(font)}"
    drawtext += ":fontsize=40:fontcolor=white"
    run_ffmpeg(
        [
            "-filter_complex",
            f"color=c=black:s=160x90:r=24,{drawtext}",
            "-frames:v",
            "2",
            "-c:v",
            "libx264",
            str(folder / "out.mp4"),
        ]
    )
    assert count_frames(folder / "out.mp4") == 2
    assert max(grab_frame(folder / "out.mp4", 0)) > 100  # the text was found and drawn
