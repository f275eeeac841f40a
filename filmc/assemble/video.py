"""The picture side of assembly: conform every clip to one format, grade it, and join the timeline.

The whole picture is one ffmpeg pass per chunk (conform, grade, `concat` for cuts, `xfade` for
transitions) whose output lasts exactly the sum of the slots; decoded frames never leave ffmpeg.
`conform_segment` makes one segment alone, with the same x264 settings and pinned BT.709 colour
tags, for the editor's media beside the OTIO timeline.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Literal

from filmc.assemble.cards import card_filters
from filmc.assemble.grade import card_colors, tint_filter, write_lut
from filmc.assemble.media import escape_filter_path, filter_spec, run_ffmpeg
from filmc.model import Model
from filmc.vocabulary import TRANSITIONS

# xfade's names for the language's transitions; fade-from-black runs through black like fade-to-black.
XFADE: dict[str, str] = {
    "crossfade": "fade",
    "fade-to-black": "fadeblack",
    "fade-from-black": "fadeblack",
    "dip-to-white": "fadewhite",
    "wipe-left": "wipeleft",
    "wipe-right": "wiperight",
}
# One pass encodes every frame of the film once: veryfast keeps a 2-minute 720p film near real time on two
# cores at a quality that survives review; a finishing editor re-renders from the OTIO timeline anyway.
X264_PRESET = "veryfast"
X264_CRF = 19
# A draft is watched once, at half size, to judge timing and sound: ultrafast encodes several times faster, and a
# few CRF steps more keep its files small; every segment of one picture still shares one setting.
X264_DRAFT_PRESET = "ultrafast"
X264_DRAFT_CRF = 26
COLOR_TAGS = (
    "-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709", "-color_range", "tv",
)


class Encoding(Model):
    """x264's speed against quality, one setting for a whole picture: its chunks are joined by stream copy."""

    preset: str = X264_PRESET
    crf: int = X264_CRF

    @classmethod
    def draft(cls) -> Encoding:
        """The fastest encode, for a preview that is watched once and then replaced."""
        return cls(preset=X264_DRAFT_PRESET, crf=X264_DRAFT_CRF)


class Transition(Model):
    """How a segment begins: `frames` of its slot blend with the previous segment's tail handle."""

    kind: str
    frames: int


class Card(Model):
    """A title card or the end credits, drawn by the assembler, not generated."""

    lines: tuple[str, ...]
    style: Literal["title", "credits"]


class PictureSegment(Model):
    """One slot of the timeline, cut point to cut point, filled by a clip or a card."""

    source: Path | None
    card: Card | None = None
    frames: int
    transition_in: Transition | None = None
    transition_out: Transition | None = None   # the film's last segment only: it fades out inside its slot
    grade: tuple[str, ...] = ()
    grade_method: Literal["lut", "tint"] = "lut"   # lut: OKLab split-tone 3D LUT; tint: a cheap chroma cast


class Format(Model):
    """The film's frame: every segment is conformed to it."""

    width: int
    height: int
    fps_num: int
    fps_den: int = 1

    @property
    def fps(self) -> Fraction:
        return Fraction(self.fps_num, self.fps_den)

    @property
    def rate(self) -> str:
        """The rate as ffmpeg reads it exactly, e.g. `24000/1001`."""
        return f"{self.fps_num}/{self.fps_den}"

    def seconds(self, frames: int) -> float:
        return float(frames / self.fps)


def _blend_frames(seg: PictureSegment) -> int:
    """Frames of the segment's head spent in its incoming transition; a cut spends none."""
    t = seg.transition_in
    return 0 if t is None or t.kind == "cut" else t.frames


def x264_args(fmt: Format, encoding: Encoding | None = None) -> list[str]:
    """One encoder setting for every segment and the join, so segments are interchangeable."""
    gop = max(1, round(2 * fmt.fps))
    enc = encoding or Encoding()
    return ["-c:v", "libx264", "-preset", enc.preset, "-crf", str(enc.crf), "-profile:v", "high",
            "-pix_fmt", "yuv420p", "-g", str(gop), "-bf", "2", "-fps_mode", "passthrough", *COLOR_TAGS,
            "-video_track_timescale", str(fmt.fps_num * 512), "-an", "-movflags", "+faststart"]


def _finish(fmt: Format) -> str:
    """To 4:2:0 with BT.709 matrix and TV range, whatever the source was tagged with."""
    return (f"scale={fmt.width}:{fmt.height}:out_color_matrix=bt709:out_range=tv:flags=bicubic,"
            "format=yuv420p,setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv")


def _clip_chain(source: Path, seg: PictureSegment, fmt: Format, total: int, workdir: Path) -> tuple[list[str], str]:
    chain = ["setpts=PTS-STARTPTS", f"fps={fmt.rate}", "tpad=stop=-1:stop_mode=clone",
             f"trim=end_frame={total}",
             f"scale={fmt.width}:{fmt.height}:force_original_aspect_ratio=decrease:flags=bicubic",
             f"pad={fmt.width}:{fmt.height}:(ow-iw)/2:(oh-ih)/2:color=black", "setsar=1"]
    if seg.grade and seg.grade_method == "tint":
        chain += ["format=yuv420p", tint_filter(seg.grade)]
    elif seg.grade:
        lut = write_lut(seg.grade, workdir)
        # float RGB takes lut3d's fast path: half the CPU of 8-bit gbrp, same picture (PSNR 52.8 dB)
        chain += ["format=gbrpf32", f"lut3d=file={escape_filter_path(lut)}:interp=tetrahedral"]
    return ["-threads", "1", "-i", str(source)], ",".join([*chain, _finish(fmt)])


def _card_chain(card: Card, seg: PictureSegment, fmt: Format, total: int, workdir: Path) -> tuple[list[str], str]:
    background, text = card_colors(seg.grade)
    source = filter_spec("color", c=f"0x{background[1:]}", s=f"{fmt.width}x{fmt.height}", r=fmt.rate)
    draw = card_filters(card.lines, card.style, (fmt.width, fmt.height), fmt.seconds(total), text, workdir)
    chain = [f"trim=end_frame={total}", "setsar=1", *draw, _finish(fmt)]
    return ["-f", "lavfi", "-i", source], ",".join(chain)


def conform_segment(
    seg: PictureSegment, fmt: Format, handle_frames: int, out: Path, *, workdir: Path
) -> None:
    """Make one segment exactly `seg.frames + handle_frames` long in the film's format, graded, as H.264."""
    total = seg.frames + handle_frames
    if seg.frames <= 0 or handle_frames < 0:
        raise ValueError(f"a segment needs frames > 0 and handle >= 0, got {seg.frames}, {handle_frames}")
    inputs, chain = _segment_chain(seg, fmt, total, workdir)
    out.parent.mkdir(parents=True, exist_ok=True)
    run_ffmpeg([*inputs, "-filter_complex", f"[0:v:0]{chain}[v]", "-map", "[v]", "-frames:v", str(total),
                *x264_args(fmt), str(out)])


def _segment_chain(seg: PictureSegment, fmt: Format, total: int, workdir: Path) -> tuple[list[str], str]:
    """Input args and filter chain that make one segment `total` frames long in the film's format."""
    if seg.card is not None:
        return _card_chain(seg.card, seg, fmt, total, workdir)
    if seg.source is not None:
        return _clip_chain(seg.source, seg, fmt, total, workdir)
    raise ValueError("a picture segment needs a source clip or a card")


def check_timeline(segments: Sequence[PictureSegment]) -> None:
    """Transitions the join cannot honour are filmc bugs upstream: fail before ffmpeg does, by name."""
    for index, seg in enumerate(segments):
        t = seg.transition_in
        if t is not None and t.kind not in TRANSITIONS:
            raise ValueError(f"segment {index}: unknown transition `{t.kind}`")
        if t is not None and t.kind != "cut" and not 0 < t.frames <= seg.frames:
            raise ValueError(f"segment {index}: a {t.frames}-frame {t.kind} in {seg.frames} frames")
        if seg.frames <= 0:
            raise ValueError(f"segment {index}: a slot needs at least one frame, got {seg.frames}")
        end = seg.transition_out
        if end is not None and end.kind != "cut" and index + 1 != len(segments):
            raise ValueError(f"segment {index}: only the last segment fades out inside its slot")
        if end is not None and end.kind not in XFADE | {"cut": ""}:
            raise ValueError(f"segment {index}: unknown transition `{end.kind}`")
        if end is not None and end.kind != "cut" and not 0 < end.frames <= seg.frames:
            raise ValueError(f"segment {index}: a {end.frames}-frame {end.kind} in {seg.frames} frames")


def handles(segments: Sequence[PictureSegment]) -> tuple[int, ...]:
    """The tail handle each segment must be conformed with: the next segment's transition length."""
    return tuple(_blend_frames(nxt) for nxt in segments[1:]) + ((0,) if segments else ())


def _opening(seg: PictureSegment) -> str:
    """A transition on the first segment has nothing to blend with: it fades in from black (or white)."""
    n = _blend_frames(seg)
    if n == 0:
        return ""
    color = "white" if seg.transition_in is not None and seg.transition_in.kind == "dip-to-white" else "black"
    return f",fade=t=in:s=0:n={n}:color={color}"


def _closing(segments: Sequence[PictureSegment]) -> str:
    """The last segment's `transition out`: the joined picture fades to black (or white) inside its slot."""
    end = segments[-1].transition_out if segments else None
    if end is None or end.kind == "cut" or end.frames <= 0:
        return "null"
    color = "white" if end.kind == "dip-to-white" else "black"
    total = sum(seg.frames for seg in segments)
    return f"fade=t=out:s={total - end.frames}:n={end.frames}:color={color}"


def join_graph(segments: Sequence[PictureSegment], fmt: Format, chains: Sequence[str] | None = None) -> str:
    """The filtergraph: runs of cuts go through one `concat`, each transition is an `xfade` at its cut.

    `chains`, when given, conform each input inside the same graph (see `render_picture`).
    """
    tb = f"{fmt.fps_den}/{fmt.fps_num}"
    pre = [f"{c}," for c in chains] if chains is not None else [""] * len(segments)
    parts = [f"[{i}:v:0]{pre[i]}settb={tb},setpts=N[s{i}]" for i in range(1, len(segments))]
    parts.insert(0, f"[0:v:0]{pre[0]}settb={tb},setpts=N{_opening(segments[0])}[s0]")
    run: list[str] = []
    elapsed = 0   # slots before the current segment: where its cut point falls on the joined stream
    for i, seg in enumerate(segments):
        n = _blend_frames(seg)
        if i == 0 or n == 0:
            run.append(f"[s{i}]")
        else:
            head = _concat(run, parts, f"c{i}", tb)
            kind = XFADE[seg.transition_in.kind] if seg.transition_in is not None else "fade"
            parts.append(f"{head}[s{i}]xfade=transition={kind}:duration={fmt.seconds(n):.6f}"
                         f":offset={fmt.seconds(elapsed):.6f},settb={tb},setpts=N[x{i}]")
            run = [f"[x{i}]"]
        elapsed += seg.frames
    last = _concat(run, parts, "c", tb)
    parts.append(f"{last}{_closing(segments)}[out]")
    return ";".join(parts)


def _concat(run: list[str], parts: list[str], label: str, tb: str) -> str:
    """Join a run of cut-separated streams into one label (appending the concat to `parts`)."""
    if len(run) == 1:
        return run[0]
    parts.append(f"{''.join(run)}concat=n={len(run)}:v=1:a=0,settb={tb},setpts=N[{label}]")
    return f"[{label}]"


def _chunks(segments: Sequence[PictureSegment], max_inputs: int) -> list[range]:
    """Runs of segments that each start at a cut, at most `max_inputs` long unless a transition chain is longer."""
    chunks: list[range] = []
    start = 0
    for index in range(1, len(segments)):
        if index - start >= max_inputs and _blend_frames(segments[index]) == 0:
            chunks.append(range(start, index))
            start = index
    return [*chunks, range(start, len(segments))]


def _in_chunks(segments: Sequence[PictureSegment], out: Path, max_inputs: int,
               one_pass: Callable[[range, Path], None]) -> None:
    """One pass for a short film; for a long one a pass per chunk (split at cuts), stream-copied together."""
    check_timeline(segments)
    out.parent.mkdir(parents=True, exist_ok=True)
    chunks = _chunks(segments, max(1, max_inputs))
    if len(chunks) == 1:
        one_pass(chunks[0], out)
        return
    with tempfile.TemporaryDirectory(prefix=".picture-", dir=out.parent) as tmp:
        listing = Path(tmp) / "parts.txt"
        for number, chunk in enumerate(chunks):
            one_pass(chunk, Path(tmp) / f"part{number}.mp4")
        listing.write_text("".join(f"file part{n}.mp4\n" for n in range(len(chunks))), "utf-8")
        run_ffmpeg(["-f", "concat", "-safe", "0", "-i", str(listing), "-map", "0:v:0", "-c", "copy",
                    "-movflags", "+faststart", str(out)])


def _render_once(segments: Sequence[PictureSegment], fmt: Format, out: Path, workdir: Path,
                 encoding: Encoding | None) -> None:
    """Conform, grade and join in one graph: every frame is decoded once and encoded once."""
    hands = handles(segments)
    inputs: list[str] = []
    chains: list[str] = []
    for seg, handle in zip(segments, hands, strict=True):
        args, chain = _segment_chain(seg, fmt, seg.frames + handle, workdir)
        inputs += args
        chains.append(chain)
    frames = sum(seg.frames for seg in segments)
    run_ffmpeg([*inputs, "-filter_complex", join_graph(segments, fmt, chains), "-map", "[out]",
                "-frames:v", str(frames), *x264_args(fmt, encoding), str(out)])


def render_picture(segments: Sequence[PictureSegment], fmt: Format, out: Path, *, workdir: Path,
                   max_inputs: int = 8, encoding: Encoding | None = None) -> None:
    """The whole picture from the raw clips in as few passes as memory allows (one for a short film).

    Conforming segments separately and then joining them encodes every frame twice; fusing both
    into one graph encodes it once. Long films are cut into chunks at cuts (each open 720p decoder
    costs ~25 MB), each chunk encoded once, and the chunks concatenated by stream copy. `encoding`: x264's
    preset and CRF (default: the delivery setting; `Encoding.draft()` for a quick look).
    """
    if not segments:
        raise ValueError("render_picture needs at least one segment")
    # a chunk starts at a cut, so its last clip needs no handle and its first no opening blend
    _in_chunks(segments, out, max_inputs,
               lambda chunk, part: _render_once([segments[i] for i in chunk], fmt, part, workdir, encoding))
