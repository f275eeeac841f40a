"""The picture side of assembly: conform every clip to one format, grade it, and join the timeline.

The whole picture is one ffmpeg pass per chunk (conform, grade, `concat` for cuts, `xfade` for
transitions) whose output lasts exactly the sum of the slots; decoded frames never leave ffmpeg.
`conform_segment` makes one segment alone, with the same x264 settings and pinned BT.709 colour
tags, for the editor's media beside the OTIO timeline.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path
from typing import Literal

from filmc.assemble.cards import card_filters
from filmc.assemble.drawing import Drawing
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
    """One slot of the timeline, cut point to cut point, filled by a clip, a drawing or a card."""

    source: Path | None
    card: Card | None = None
    # a clip drawn at the picture's size (previz, `DrawnVideoBackend`): drawn in place, so its frames are never
    # encoded, decoded and scaled in between
    drawn: Drawing | None = None
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
    # one encoder thread: with two or more, this x264 gave other bytes now and then for the same frames when the
    # machine was busy (2 runs in 6 under load), so a film was not reproducible; the picture's chunks are encoded
    # side by side instead (`render_picture`), which keeps the cores as busy
    return ["-c:v", "libx264", "-threads", "1", "-preset", enc.preset, "-crf", str(enc.crf), "-profile:v", "high",
            "-pix_fmt", "yuv420p", "-g", str(gop), "-bf", "2", "-fps_mode", "passthrough", *COLOR_TAGS,
            "-video_track_timescale", str(fmt.fps_num * 512), "-an", "-movflags", "+faststart"]


_TAGS = "setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv"


def _finish(fmt: Format) -> str:
    """To 4:2:0 with BT.709 matrix and TV range, whatever the source was tagged with."""
    return f"scale={fmt.width}:{fmt.height}:out_color_matrix=bt709:out_range=tv:flags=bicubic,format=yuv420p,{_TAGS}"


def _grade(seg: PictureSegment, workdir: Path) -> list[str]:
    """The segment's look as per-pixel filters: the tint always, the LUT for a drawing's still world (graded once, so
    its cost is moot) and for a clip of odd frame size; other clips take the LUT at chroma resolution
    (`_clip_chain`). The grade module (numpy) loads only when a picture is made."""
    from filmc.assemble.grade import tint_filter, write_lut

    if seg.grade and seg.grade_method == "tint":
        return ["format=yuv420p", tint_filter(seg.grade)]
    if seg.grade:
        lut = write_lut(seg.grade, workdir)
        # float RGB takes lut3d's SIMD path: half the CPU of 8-bit gbrp (C), which also rounds every pixel to
        # 8-bit RGB before the LUT (45.8 dB against float on a smooth gradient)
        return ["format=gbrpf32", f"lut3d=file={escape_filter_path(lut)}:interp=tetrahedral"]
    return []


def _clip_chain(source: Path, seg: PictureSegment, fmt: Format, total: int, workdir: Path) -> tuple[list[str], str]:
    """A clip decoded, held or trimmed to `total` frames, fitted into the frame, graded and finished.

    The LUT grade runs at the chroma planes' resolution (`chroma_grade_graph`: under half the CPU of
    grading every pixel in float RGB); it adds the graded change to the luma plane as it is, so the conform's
    scale brings the clip to TV range first (a clip of the film's size tagged TV range passes through; one
    with no range tag costs a plane copy).
    """
    inputs = ["-threads", "1", "-i", str(source)]
    chroma = bool(seg.grade) and seg.grade_method == "lut" and fmt.width % 2 == 0 and fmt.height % 2 == 0
    tv = ":out_range=tv" if chroma else ""
    chain = ["setpts=PTS-STARTPTS", f"fps={fmt.rate}", "tpad=stop=-1:stop_mode=clone",
             f"trim=end_frame={total}",
             f"scale={fmt.width}:{fmt.height}:force_original_aspect_ratio=decrease:flags=bicubic{tv}",
             f"pad={fmt.width}:{fmt.height}:(ow-iw)/2:(oh-ih)/2:color=black", "setsar=1"]
    if chroma:
        from filmc.assemble.grade import chroma_grade_graph, write_lut

        lut = escape_filter_path(write_lut(seg.grade, workdir))
        # the grade's output is BT.709 TV-range 4:2:0 at the frame size: tagged so, `_finish` passes it through
        return inputs, ",".join([*chain, chroma_grade_graph(lut, fmt.width, fmt.height), _TAGS, _finish(fmt)])
    return inputs, ",".join([*chain, *_grade(seg, workdir), _finish(fmt)])


def _drawn_chain(drawn: Drawing, seg: PictureSegment, fmt: Format, total: int, workdir: Path
                 ) -> tuple[list[str], str]:
    """A drawing's still world is graded once; its motion is endless at the picture's size and rate already, in
    yuv420p: cut to length and tagged, with no scale pass (its words stay ungraded, legible white)."""
    chain = [drawn.world, *_grade(seg, workdir), "format=yuv420p", drawn.motion, f"trim=end_frame={total}",
             "setsar=1", "format=yuv420p", _TAGS]
    return [], ",".join(chain)


def _card_chain(card: Card, seg: PictureSegment, fmt: Format, total: int, workdir: Path) -> tuple[list[str], str]:
    """The background is made and converted to BT.709 4:2:0 once, then held: converting a flat frame every frame
    cost ten times the text drawn on it. The text fades, so it is drawn on every frame, on the film's clock: the
    held frames are stamped by count in a time base of one frame (`N*1001/(30000*TB)` in floating point truncates
    to N-1 at 29.97 fps, which stamped two frames 0 and read the fade a frame late)."""
    from filmc.assemble.grade import card_colors

    background, text = card_colors(seg.grade)
    source = filter_spec("color", c=f"0x{background[1:]}", s=f"{fmt.width}x{fmt.height}", r=fmt.rate)
    draw = card_filters(card.lines, card.style, (fmt.width, fmt.height), fmt.seconds(total), text, workdir)
    hold = [f"loop=loop={total - 1}:size=1:start=0", f"settb={fmt.fps_den}/{fmt.fps_num}", "setpts=N"]
    chain = [source, "trim=end_frame=1", "setsar=1", _finish(fmt), *hold, *draw, "format=yuv420p", _TAGS]
    return [], ",".join(chain)


def conform_segment(
    seg: PictureSegment, fmt: Format, handle_frames: int, out: Path, *, workdir: Path
) -> None:
    """Make one segment exactly `seg.frames + handle_frames` long in the film's format, graded, as H.264."""
    total = seg.frames + handle_frames
    if seg.frames <= 0 or handle_frames < 0:
        raise ValueError(f"a segment needs frames > 0 and handle >= 0, got {seg.frames}, {handle_frames}")
    inputs, chain = _segment_chain(seg, fmt, total, workdir)
    out.parent.mkdir(parents=True, exist_ok=True)
    head = "[0:v:0]" if inputs else ""
    run_ffmpeg([*inputs, "-filter_complex", f"{head}{chain}[v]", "-map", "[v]", "-frames:v", str(total),
                *x264_args(fmt), str(out)])


def _segment_chain(seg: PictureSegment, fmt: Format, total: int, workdir: Path) -> tuple[list[str], str]:
    """Input args and filter chain that make one segment `total` frames long in the film's format; a card or a
    drawing has no input: its chain starts with its own source."""
    if seg.card is not None:
        return _card_chain(seg.card, seg, fmt, total, workdir)
    if seg.drawn is not None:
        return _drawn_chain(seg.drawn, seg, fmt, total, workdir)
    if seg.source is not None:
        return _clip_chain(seg.source, seg, fmt, total, workdir)
    raise ValueError("a picture segment needs a source clip, a drawing or a card")


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


def join_graph(segments: Sequence[PictureSegment], fmt: Format, heads: Sequence[str] | None = None, *,
               lead_in: bool = False) -> str:
    """The filtergraph: every segment cut into its pieces, the pieces and the blends in one `concat`.

    A transition blends the outgoing segment's tail handle with the incoming one's head, so each segment
    is split (`split` + `trim`, no copies) into head, body and tail; each `xfade` sees only its blend's
    frames. (Chaining `xfade` over whole streams made every later frame pass through every earlier
    `xfade`: four transitions cost 1.7 s of CPU on frames they did not touch.)
    `heads`, when given, make each segment inside the same graph (see `render_picture`): an input's label
    and its conform chain, or a source chain; without them segment `i` is input `i` as it is. `lead_in`:
    segment 0 is the previous chunk's last segment, there only for its tail, which blends into segment 1.
    """
    tb = f"{fmt.fps_den}/{fmt.fps_num}"
    pre = [f"{h}," for h in heads] if heads is not None else [f"[{i}:v:0]" for i in range(len(segments))]
    parts: list[str] = []
    pieces: list[str] = []
    for i, seg in enumerate(segments):
        head = _blend_frames(seg) if i else 0   # the first segment's transition is an opening fade instead
        tail = _blend_frames(segments[i + 1]) if i + 1 < len(segments) else 0
        lead = lead_in and i == 0
        stream = f"{pre[i]}settb={tb},setpts=N{_opening(seg) if i == 0 and not lead else ''}"
        cuts = [(label, trim) for label, trim, frames in (
            ("h", f"trim=end_frame={head}", head),
            ("b", f"trim=start_frame={head}:end_frame={seg.frames}", 0 if lead else 1),
            ("t", f"trim=start_frame={seg.frames}:end_frame={seg.frames + tail}", tail)) if frames]
        if len(cuts) == 1:
            label, trim = cuts[0]
            parts.append(f"{stream},{trim},setpts=PTS-STARTPTS[{label}{i}]")
        else:
            parts.append(f"{stream},split={len(cuts)}" + "".join(f"[{label}{i}s]" for label, _ in cuts))
            parts += [f"[{label}{i}s]{trim},setpts=PTS-STARTPTS[{label}{i}]" for label, trim in cuts]
        if head:
            kind = XFADE[seg.transition_in.kind] if seg.transition_in is not None else "fade"
            parts.append(f"[t{i - 1}][h{i}]xfade=transition={kind}:duration={fmt.seconds(head):.6f}:offset=0,"
                         f"settb={tb},setpts=N[x{i}]")
            pieces.append(f"[x{i}]")
        if not lead:
            pieces.append(f"[b{i}]")
    closing = _closing(segments[1:] if lead_in else segments)
    parts.append(f"{''.join(pieces)}concat=n={len(pieces)}:v=1:a=0,settb={tb},setpts=N,{closing}[out]")
    return ";".join(parts)


def _chunks(segments: Sequence[PictureSegment], max_inputs: int) -> list[range]:
    """Runs of at most `max_inputs` segments, ending before a cut where one falls in the run's second half. Only
    a chain of transitions longer than that makes a run start on a transition: its pass then draws (or decodes
    and grades) the previous segment again for the tail that blends in (`lead_of`), so no chain can grow a
    graph, and its memory, without bound, and the work done twice stays rare."""
    chunks: list[range] = []
    start = 0
    while start < len(segments):
        end = min(start + max_inputs, len(segments))
        if end < len(segments):
            cuts = [i for i in range(end, start + max(1, max_inputs // 2), -1) if not _blend_frames(segments[i])]
            end = cuts[0] if cuts else end
        chunks.append(range(start, end))
        start = end
    return chunks


def lead_of(segments: Sequence[PictureSegment], chunk: range) -> PictureSegment | None:
    """The segment before `chunk` when the chunk opens on a transition: its tail is blended in that pass."""
    return segments[chunk.start - 1] if chunk.start and _blend_frames(segments[chunk.start]) else None


# Runs `one_pass(chunk, part)` for every (chunk, part); an executor may run them side by side (Ray does, one task a
# chunk): each writes its own part file, and the parts are joined in order whatever order they finish in.
MapChunks = Callable[[Callable[[range, Path], None], Sequence[tuple[range, Path]]], None]


# Chunks encoded at once by `render_picture`: each x264 has one thread (see `x264_args`), so two passes keep two
# cores busy, and each stays a bounded ffmpeg of its own (the bytes don't depend on how many run at once).
CHUNKS_AT_ONCE = 2


def _side_by_side(one_pass: Callable[[range, Path], None], parts: Sequence[tuple[range, Path]]) -> None:
    with ThreadPoolExecutor(max_workers=CHUNKS_AT_ONCE, thread_name_prefix="picture-chunk") as pool:
        for done in [pool.submit(one_pass, chunk, part) for chunk, part in parts]:
            done.result()


def _in_place(one_pass: Callable[[range, Path], None], parts: Sequence[tuple[range, Path]]) -> None:
    for chunk, part in parts:
        one_pass(chunk, part)


def _in_chunks(segments: Sequence[PictureSegment], out: Path, max_inputs: int,
               one_pass: Callable[[range, Path], None], map_chunks: MapChunks | None = None) -> None:
    """One pass for a short film; for a long one a pass per chunk (split at cuts), stream-copied together."""
    check_timeline(segments)
    out.parent.mkdir(parents=True, exist_ok=True)
    chunks = _chunks(segments, max(1, max_inputs))
    if len(chunks) == 1:   # no join; a `map_chunks` still runs it (on Ray, in a task that holds a CPU)
        (map_chunks or _in_place)(one_pass, [(chunks[0], out)])
        return
    with tempfile.TemporaryDirectory(prefix=".picture-", dir=out.parent) as tmp:
        listing = Path(tmp) / "parts.txt"
        (map_chunks or _side_by_side)(one_pass, [(chunk, Path(tmp) / f"part{n}.mp4") for n, chunk in enumerate(chunks)])
        listing.write_text("".join(f"file part{n}.mp4\n" for n in range(len(chunks))), "utf-8")
        run_ffmpeg(["-f", "concat", "-safe", "0", "-i", str(listing), "-map", "0:v:0", "-c", "copy",
                    "-movflags", "+faststart", str(out)])


def _render_once(segments: Sequence[PictureSegment], fmt: Format, out: Path, workdir: Path,
                 encoding: Encoding | None, lead: PictureSegment | None = None) -> None:
    """Conform, grade and join in one graph: every frame is decoded once and encoded once (a `lead`'s, the
    previous chunk's last segment, only for the tail it blends into this chunk's first)."""
    everything = [lead, *segments] if lead is not None else list(segments)
    hands = handles(everything)
    inputs: list[str] = []
    heads: list[str] = []
    opened = 0   # inputs so far: a card's or a drawing's chain is its own source, with no input
    for seg, handle in zip(everything, hands, strict=True):
        args, chain = _segment_chain(seg, fmt, seg.frames + handle, workdir)
        heads.append(f"[{opened}:v:0]{chain}" if args else chain)
        opened += bool(args)
        inputs += args
    frames = sum(seg.frames for seg in segments)
    run_ffmpeg([*inputs, "-filter_complex", join_graph(everything, fmt, heads, lead_in=lead is not None),
                "-map", "[out]",
                "-frames:v", str(frames), *x264_args(fmt, encoding), str(out)])


def render_picture(segments: Sequence[PictureSegment], fmt: Format, out: Path, *, workdir: Path,
                   max_inputs: int = 5, encoding: Encoding | None = None, map_chunks: MapChunks | None = None) -> None:
    """The whole picture from the raw clips in as few passes as memory allows (one for a short film).

    Conforming segments separately and then joining them encodes every frame twice; fusing both
    into one graph encodes it once. Films are cut into chunks of `max_inputs` segments, each chunk encoded
    once and the chunks concatenated by stream copy: a graph keeps every segment's frame pools (~7 MB a drawn
    720p segment, ~25 MB an open 720p decoder) until it ends, so a bounded chunk keeps the largest ffmpeg
    under 200 MB however long the film and however long its chains of transitions (a chunk opening on a
    transition draws the previous segment again for the tail it blends in). `encoding`: x264's preset and
    CRF (default: the delivery setting; `Encoding.draft()` for a quick look). `map_chunks`: how the chunks'
    passes are run (default: `CHUNKS_AT_ONCE` side by side; the Ray executor runs them as parallel tasks), and
    the joined bytes are the same either way.
    """
    if not segments:
        raise ValueError("render_picture needs at least one segment")
    _in_chunks(segments, out, max_inputs,
               lambda chunk, part: _render_once([segments[i] for i in chunk], fmt, part, workdir, encoding,
                                                lead_of(segments, chunk)),
               map_chunks)
