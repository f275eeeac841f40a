"""The assembler on real media: tiny clips and tones made by ffmpeg here, measured after the fact."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from filmc.assemble import (
    Card,
    Format,
    NarrationPlacement,
    PictureSegment,
    Transition,
    check_timeline,
    conform_segment,
    handles,
    measure_loudness,
    measure_window_rms,
    mix_audio,
    mux,
    render_picture,
)
from filmc.assemble.grade import _rgb_to_lab, grade_colors
from filmc.assemble.media import count_frames, decode, ffmpeg_exe, grab_frame, mean_rgb, probe, run_ffmpeg

pytestmark = pytest.mark.slow

FMT = Format(width=160, height=90, fps_num=24)
COLD = ("#0B1E3F", "#3A7BD5")
AMBER = ("#FFB347", "#C46A1B")


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Sources in the shapes users bring: other sizes, rates and codecs, a flat grey, and tones."""
    root = tmp_path_factory.mktemp("media")
    run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=320x240:r=30:d=1.5",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv444p",
            str(root / "a.mp4"),
        ]
    )
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=160x90:r=25:d=1", "-c:v", "mpeg4", str(root / "b.mkv")])
    run_ffmpeg(["-f", "lavfi", "-i", "color=c=0x808080:s=160x90:r=24:d=1", "-c:v", "libx264", str(root / "grey.mp4")])
    for name, color in (("red", "red"), ("blue", "blue")):
        run_ffmpeg(
            [
                "-f",
                "lavfi",
                "-i",
                f"color=c={color}:s=32x18:r=24:d=1",
                "-c:v",
                "libx264",
                str(root / f"{name}.mp4"),
            ]
        )
    run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            "sine=f=1000:d=1.2:sample_rate=22050",
            "-af",
            "volume=0.5",
            str(root / "line1.wav"),
        ]
    )
    run_ffmpeg(["-f", "lavfi", "-i", "sine=f=800:d=0.9:sample_rate=24000", str(root / "line2.wav")])
    run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            "aevalsrc=0.6*sin(2*PI*220*t)+0.3*sin(2*PI*330*t):s=44100:d=4",
            "-ac",
            "2",
            str(root / "music.wav"),
        ]
    )
    return root


def _conform_all(segments: list[PictureSegment], fmt: Format, workdir: Path) -> list[tuple[Path, PictureSegment]]:
    out = []
    for index, (seg, handle) in enumerate(zip(segments, handles(segments), strict=True)):
        path = workdir / f"seg{index}.mp4"
        conform_segment(seg, fmt, handle, path, workdir=workdir)
        assert count_frames(path) == seg.frames + handle
        out.append((path, seg))
    return out


def test_join_has_exactly_the_summed_frames_in_one_h264_stream(media: Path, tmp_path: Path) -> None:
    segments = [
        PictureSegment(source=None, card=Card(lines=("Entropy", "a film"), style="title"), frames=30, grade=COLD),
        PictureSegment(
            source=media / "a.mp4",
            frames=31,
            transition_in=Transition(kind="crossfade", frames=8),
            grade=COLD,
        ),
        PictureSegment(source=media / "b.mkv", frames=37, transition_in=Transition(kind="cut", frames=0)),
        PictureSegment(
            source=media / "a.mp4",
            frames=29,
            grade=AMBER,
            transition_in=Transition(kind="fade-to-black", frames=12),
        ),
    ]
    _conform_all(segments, FMT, tmp_path)  # each segment alone (the editor's media) has its slot plus its handle
    out = tmp_path / "picture.mp4"
    render_picture(segments, FMT, out, workdir=tmp_path)
    info = probe(out)
    assert count_frames(out) == decode(out).frames == 30 + 31 + 37 + 29
    assert (info.video_streams, info.audio_streams) == (1, 0)
    chunked = tmp_path / "chunked.mp4"  # two passes split at the cut, then a stream-copy concat
    render_picture(segments, FMT, chunked, workdir=tmp_path, max_inputs=2)
    assert count_frames(chunked) == decode(chunked).frames == 30 + 31 + 37 + 29
    assert info.video is not None and (info.video.codec, info.video.width, info.video.height) == (
        "h264",
        160,
        90,
    )


def _frame_colors(path: Path) -> list[tuple[int, int, int]]:
    """Every frame shrunk to one pixel: a tiny sample, enough to see where a transition falls."""
    raw = subprocess.run(
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-i",
            str(path),
            "-vf",
            "scale=1:1:flags=area",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout
    return [(raw[i], raw[i + 1], raw[i + 2]) for i in range(0, len(raw), 3)]


def test_transition_fills_the_head_of_the_incoming_slot(media: Path, tmp_path: Path) -> None:
    fmt = Format(width=32, height=18, fps_num=24)
    segments = [
        PictureSegment(source=media / "red.mp4", frames=12),
        PictureSegment(source=media / "blue.mp4", frames=12, transition_in=Transition(kind="crossfade", frames=6)),
        PictureSegment(source=media / "red.mp4", frames=6),
    ]
    render_picture(segments, fmt, tmp_path / "j.mp4", workdir=tmp_path)
    colors = _frame_colors(tmp_path / "j.mp4")
    assert len(colors) == 30
    assert all(r > 240 and b < 15 for r, _, b in colors[:13])  # A's slot, then xfade's first frame
    assert all(20 < b < 235 for _, _, b in colors[13:18])  # the blend, inside B's slot
    assert all(b > 240 and r < 15 for r, _, b in colors[18:24])  # B alone
    assert all(r > 240 for r, _, _ in colors[24:])  # a cut: no blend


def test_a_chunk_opening_on_a_transition_blends_the_previous_chunks_tail(media: Path, tmp_path: Path) -> None:
    """A chain of transitions is cut into bounded chunks like any run: the chunk that opens on a transition draws
    the segment before it again for its tail, so the picture is the one a single pass makes, frame for frame."""
    fmt = Format(width=32, height=18, fps_num=24)
    fade = Transition(kind="crossfade", frames=6)
    segments = [PictureSegment(source=media / ("red.mp4" if n % 2 == 0 else "blue.mp4"), frames=12,
                               transition_in=fade if n else None) for n in range(5)]
    render_picture(segments, fmt, tmp_path / "one.mp4", workdir=tmp_path, max_inputs=8)
    render_picture(segments, fmt, tmp_path / "chunked.mp4", workdir=tmp_path, max_inputs=2)   # cuts land on blends
    one, chunked = _frame_colors(tmp_path / "one.mp4"), _frame_colors(tmp_path / "chunked.mp4")
    assert len(one) == len(chunked) == 60 == count_frames(tmp_path / "chunked.mp4")
    assert all(max(abs(a - b) for a, b in zip(x, y, strict=True)) <= 12 for x, y in zip(one, chunked, strict=True))
    assert all(20 < b < 235 for _, _, b in chunked[25:30])   # the blend into segment 2, which opens chunk 2


def test_short_clips_hold_their_last_frame_and_long_ones_are_trimmed(media: Path, tmp_path: Path) -> None:
    for frames in (7, 60):  # the source has 24 frames
        seg = PictureSegment(source=media / "b.mkv", frames=frames)
        conform_segment(seg, FMT, 3, tmp_path / f"{frames}.mp4", workdir=tmp_path)
        assert count_frames(tmp_path / f"{frames}.mp4") == frames + 3


def test_grade_pulls_grey_towards_the_palette(media: Path, tmp_path: Path) -> None:
    means = {}
    for name, grade in (("none", ()), ("cold", COLD), ("amber", AMBER)):
        seg = PictureSegment(source=media / "grey.mp4", frames=12, grade=grade)
        conform_segment(seg, FMT, 0, tmp_path / f"{name}.mp4", workdir=tmp_path)
        means[name] = mean_rgb(tmp_path / f"{name}.mp4", 0.2)
    assert abs(means["none"][0] - means["none"][2]) < 4
    assert means["cold"][2] - means["cold"][0] > 25
    assert means["amber"][0] - means["amber"][2] > 25


def test_grade_keeps_lightness_and_leaves_black_and_white_alone() -> None:
    rgb = np.random.default_rng(7).random((500, 3))
    graded = grade_colors(rgb, COLD)
    assert np.allclose(_rgb_to_lab(graded)[:, 0], _rgb_to_lab(rgb)[:, 0], atol=2e-3)
    assert np.allclose(
        grade_colors(np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]), AMBER), [[0, 0, 0], [1, 1, 1]], atol=1e-6
    )


def test_card_text_renders_literally(tmp_path: Path) -> None:
    fmt = Format(width=320, height=180, fps_num=24)
    tricky = (
        'It\'s "quoted": a, b; [c] {d} \\ 100% $HOME %{pts} -- done',
        "Città — «perché» \u2018curly\u2019 “quotes”\nline",
        "C:\\path\\file.txt",
        "'",
    )
    frames = {}
    for name, lines in (("empty", ()), ("tricky", tricky)):
        seg = PictureSegment(source=None, card=Card(lines=lines, style="credits"), frames=30, grade=COLD)
        conform_segment(seg, fmt, 4, tmp_path / f"{name}.mp4", workdir=tmp_path)
        assert count_frames(tmp_path / f"{name}.mp4") == 34
        frames[name] = np.frombuffer(grab_frame(tmp_path / f"{name}.mp4", 0.7, width=160, height=90), np.uint8)
    diff = np.abs(frames["tricky"].astype(int) - frames["empty"].astype(int))
    assert (diff > 60).sum() > 200  # many pixels of light text on the dark field


@pytest.mark.parametrize(("fps_num", "fps_den", "frames"), [(24, 1, 48), (30000, 1001, 60)])
def test_a_card_holds_its_background_and_fades_its_text_in_and_out(fps_num: int, fps_den: int, frames: int,
                                                                   tmp_path: Path) -> None:
    """The background is converted once and held; the text is drawn per frame on the film's clock: absent on the
    first frame, full in the middle, gone again by the last (a 0.6 s fade each way over a 2 s card). Every frame
    has its own time, at NTSC rates too (a float time base once stamped two frames 0 at 29.97 fps)."""
    from filmc.assemble.grade import card_colors

    out = tmp_path / "card.mp4"
    seg = PictureSegment(source=None, card=Card(lines=("ENTROPY",), style="title"), frames=frames, grade=COLD)
    conform_segment(seg, Format(width=320, height=180, fps_num=fps_num, fps_den=fps_den), 0, out, workdir=tmp_path)
    assert count_frames(out) == frames
    listing = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(out), "-map", "0:v:0", "-c", "copy", "-f",
                              "framemd5", "-"], capture_output=True, text=True, check=True).stdout
    stamps = [int(line.split(",")[2]) for line in listing.splitlines() if line and not line.startswith("#")]
    assert len(stamps) == len(set(stamps)) == frames

    def frame(at: float) -> np.ndarray:
        return np.frombuffer(grab_frame(out, at, width=160, height=90), np.uint8).reshape(90, 160, 3).astype(int)

    first, middle, last = frame(0.0), frame(1.0), frame((frames - 1) * fps_den / fps_num)
    background = card_colors(COLD)[0]
    expected = [int(background[i : i + 2], 16) for i in (1, 3, 5)]
    assert np.abs(first.reshape(-1, 3).mean(axis=0) - expected).max() < 8   # the card's colour (8-bit YUV near black)
    assert first.std(axis=(0, 1)).max() < 1.5
    assert (np.abs(middle - first).max(axis=2) > 60).sum() > 100             # light text on the dark field
    assert (np.abs(last - first).max(axis=2) > 60).sum() < 10                # faded out again


def _filtered(path: Path, af: str, out: Path) -> Path:
    run_ffmpeg(["-i", str(path), "-af", af, str(out)])
    return out


@pytest.fixture(scope="module")
def mixes(media: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("mix")
    lines = [
        NarrationPlacement(wav=media / "line1.wav", start=0.5),
        NarrationPlacement(wav=media / "line2.wav", start=2.2),
    ]
    made = {}
    for name, duck in (("ducked", 10.0), ("flat", 0.0)):
        made[name] = root / f"{name}.wav"
        mix_audio(lines, media / "music.wav", 4.0, made[name], duck_db=duck)
    return made


def test_mix_hits_loudness_and_length(mixes: dict[str, Path]) -> None:
    for path in mixes.values():
        loud = measure_loudness(path)
        assert abs(loud.integrated + 16.0) <= 1.0
        assert loud.true_peak <= -1.0 + 0.2
        assert abs(decode(path).duration - 4.0) <= 1 / 48_000 + 1e-6
        info = probe(path).audio
        assert info is not None and (info.sample_rate, info.channels) == (48_000, 2)


def test_music_ducks_under_the_voice(mixes: dict[str, Path], tmp_path: Path) -> None:
    level: dict[str, tuple[float, float, float]] = {}
    for name, path in mixes.items():
        bed = _filtered(path, "lowpass=f=400,lowpass=f=400", tmp_path / f"{name}-music.wav")
        speech = _filtered(path, "highpass=f=600,highpass=f=600", tmp_path / f"{name}-voice.wav")
        level[name] = (
            measure_window_rms(bed, 0.8, 1.5),  # music while line 1 plays
            measure_window_rms(bed, 0.0, 0.45),  # music before any line
            measure_window_rms(speech, 0.8, 1.5),  # the voice in the same window
        )
    inside, outside, voice = level["ducked"]
    flat_inside, flat_outside, flat_voice = level["flat"]
    assert outside - inside > 7.0  # the bed dips while the line plays
    assert abs(flat_outside - flat_inside) < 1.0  # and only because of the ducking
    assert (voice - inside) - (flat_voice - flat_inside) > 7.0  # so the voice stands clearer


def test_lines_start_on_their_sample(media: Path, tmp_path: Path) -> None:
    mix_audio([NarrationPlacement(wav=media / "line2.wav", start=1.0)], None, 2.5, tmp_path / "o.wav")
    assert measure_window_rms(tmp_path / "o.wav", 0.9, 0.999) < -80
    assert measure_window_rms(tmp_path / "o.wav", 1.0, 1.002) > -30
    assert measure_window_rms(tmp_path / "o.wav", 1.898, 1.9) > -30
    assert measure_window_rms(tmp_path / "o.wav", 1.901, 2.0) < -80


def test_peaky_material_still_meets_loudness_and_ceiling(tmp_path: Path) -> None:
    """Clicks over a quiet tone: the gain alone would clip, so the limiter works and the gain is corrected."""
    clicky = tmp_path / "clicky.wav"
    run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            "aevalsrc='0.05*sin(2*PI*300*t)+if(lt(mod(t,0.25),0.0005),0.99,0)':s=48000:d=3",
            str(clicky),
        ]
    )
    mix_audio([NarrationPlacement(wav=clicky, start=0.0)], None, 3.0, tmp_path / "mix.wav")
    loud = measure_loudness(tmp_path / "mix.wav")
    assert abs(loud.integrated + 16.0) <= 0.5
    assert loud.true_peak <= -1.0


@pytest.mark.parametrize("case", ["voice-only", "music-only", "silence"])
def test_mix_without_a_bus(media: Path, tmp_path: Path, case: str) -> None:
    lines = [] if case != "voice-only" else [NarrationPlacement(wav=media / "line1.wav", start=0.25)]
    music = media / "music.wav" if case == "music-only" else None
    out = tmp_path / "mix.m4a" if case == "music-only" else tmp_path / "mix.wav"
    mix_audio(lines, music, 3.0, out)
    loud = measure_loudness(out)
    if case == "silence":
        assert loud.integrated <= -69.0
    else:
        assert abs(loud.integrated + 16.0) <= 1.0 and loud.true_peak <= -0.8
    assert abs(decode(out).duration - 3.0) < (0.03 if out.suffix == ".m4a" else 1e-4)


def _atoms(path: Path) -> list[str]:
    """Top-level MP4 box types in file order."""
    data, names, pos = path.read_bytes(), [], 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        names.append(data[pos + 4 : pos + 8].decode("latin-1"))
        if size == 1:
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
        if size < 8:
            break
        pos += size
    return names


def _video_md5(path: Path) -> str:
    done = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "md5", "-"],
        capture_output=True,
        check=True,
    )
    return done.stdout.decode().strip()


def test_mux_copies_the_picture_and_puts_moov_first(media: Path, mixes: dict[str, Path], tmp_path: Path) -> None:
    seg = PictureSegment(source=media / "a.mp4", frames=96)
    conform_segment(seg, FMT, 0, tmp_path / "picture.mp4", workdir=tmp_path)
    mux(tmp_path / "picture.mp4", mixes["ducked"], tmp_path / "film.mp4")
    info = probe(tmp_path / "film.mp4")
    assert (info.video_streams, info.audio_streams) == (1, 1)
    assert info.video is not None and info.audio is not None
    assert (info.video.codec, info.audio.codec) == ("h264", "aac")
    assert abs(decode(tmp_path / "film.mp4").duration - 4.0) <= 1 / 24
    assert _video_md5(tmp_path / "film.mp4") == _video_md5(tmp_path / "picture.mp4")
    atoms = _atoms(tmp_path / "film.mp4")
    assert atoms.index("moov") < atoms.index("mdat")


def test_the_mux_reads_the_loudness_of_what_it_encodes_and_writes_the_same_bytes(
        media: Path, mixes: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a loopback decoder the mux measures its own AAC in the same run: the reading is the file's, to the
    tenth ebur128 prints, and the film's bytes are those of a mux that measures nothing (an older ffmpeg's path)."""
    from filmc.assemble import muxer
    from filmc.assemble.audio import measure_loudness
    from filmc.assemble.media import loopback_decoders

    assert loopback_decoders()   # the bundled ffmpeg is 7.0 or later
    seg = PictureSegment(source=media / "a.mp4", frames=96)
    conform_segment(seg, FMT, 0, tmp_path / "picture.mp4", workdir=tmp_path)
    heard = mux(tmp_path / "picture.mp4", mixes["ducked"], tmp_path / "film.mp4")
    measured = measure_loudness(tmp_path / "film.mp4")
    assert heard is not None and (heard.integrated, heard.true_peak) == (measured.integrated, measured.true_peak)
    monkeypatch.setattr(muxer, "loopback_decoders", lambda: False)
    assert mux(tmp_path / "picture.mp4", mixes["ducked"], tmp_path / "plain.mp4") is None
    assert (tmp_path / "plain.mp4").read_bytes() == (tmp_path / "film.mp4").read_bytes()


@pytest.mark.parametrize(("banner", "major"), [
    ("ffmpeg version n9.0.2-17-g2a571b6068-20260930 Copyright (c) 2000-2026", 9),
    ("ffmpeg version 7.0.2-static https://johnvansickle.com/ffmpeg/", 7),
    ("ffmpeg version 4.4.2-0ubuntu0.22.04.1 Copyright (c) 2000-2021", 4),
    ("ffmpeg version N-113200-g1ab2c3d4e5 Copyright (c) 2000-2024", None),
])
def test_ffmpegs_major_version_is_read_from_its_banner(banner: str, major: int | None) -> None:
    from filmc.assemble.media import ffmpeg_major

    assert ffmpeg_major(banner) == major


def test_the_package_exports_every_name_it_promises_and_loads_them_lazily() -> None:
    import filmc.assemble as assemble

    assert sorted(assemble.__all__) == sorted(assemble._HOME)
    assert all(getattr(assemble, name) is not None for name in assemble.__all__)


def test_the_first_segment_fades_in_and_the_last_fades_out_inside_their_slots(media: Path, tmp_path: Path) -> None:
    fmt = Format(width=32, height=18, fps_num=24)
    segments = [
        PictureSegment(source=media / "red.mp4", frames=12, transition_in=Transition(kind="fade-from-black", frames=6)),
        PictureSegment(source=media / "blue.mp4", frames=12, transition_out=Transition(kind="fade-to-black", frames=6)),
    ]
    render_picture(segments, fmt, tmp_path / "f.mp4", workdir=tmp_path)
    colors = _frame_colors(tmp_path / "f.mp4")
    assert len(colors) == 24   # fades take place inside the slots: no frame is added
    assert max(colors[0]) < 15 and colors[0][0] < colors[3][0] < colors[6][0]   # up from black
    assert all(r > 240 for r, _, _ in colors[6:12])                              # red at full
    assert all(b > 240 for _, _, b in colors[12:18])                             # blue at full, a cut between
    assert colors[18][2] > colors[21][2] > colors[23][2] and max(colors[23]) < 60  # down to black


def test_only_the_last_segment_may_fade_out_inside_its_slot(media: Path) -> None:
    with pytest.raises(ValueError, match="only the last segment"):
        check_timeline([PictureSegment(source=media / "red.mp4", frames=12,
                                       transition_out=Transition(kind="fade-to-black", frames=6)),
                        PictureSegment(source=media / "blue.mp4", frames=12)])
