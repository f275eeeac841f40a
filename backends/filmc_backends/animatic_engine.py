"""The animatic generator: a shot's palette, its camera move and its text, all drawn by ffmpeg.

The world is a diagonal `gradients` frame with a faint grid, drawn once and held; the camera is a
`perspective` window animated per frame (sub-pixel, so slow moves don't judder); the words are
`drawtext` from UTF-8 files, so any character renders literally. `animatic_drawing` is the whole
picture as ffmpeg filter chains with no input: the assembler draws it in place inside the picture pass, at the
film's size, and `render_animatic` encodes it to a clip only when someone wants the clip itself.
"""

from __future__ import annotations

import math
import re
import tempfile
import textwrap
import unicodedata
from pathlib import Path
from typing import Annotated

from pydantic import Field, StringConstraints

from filmc.assemble.cards import font_path
from filmc.assemble.drawing import Drawing
from filmc.assemble.media import filter_spec, run_ffmpeg
from filmc.model import Model
from filmc.vocabulary import CAMERA_MOVES

HexColour = Annotated[str, StringConstraints(pattern=r"^#[0-9A-Fa-f]{6}$")]

BASE_ZOOM = 1.2  # the window is 1/1.2 of the world, leaving ~8% each side for pans and shake
_MARGIN = 0.9 * (1 - 1 / BASE_ZOOM) / 2
_MAX_GRADIENT_COLOURS = 8  # what ffmpeg's `gradients` source accepts
_CAPTION_MAX_LINES = 6
_X264 = ("-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p")
_BT709 = ("-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv")


class AnimaticClip(Model):
    """Everything that decides an animatic clip's pixels; the backend builds it from a video job."""

    width: int = Field(gt=0, multiple_of=2)  # even: H.264 in yuv420p needs it
    height: int = Field(gt=0, multiple_of=2)
    fps_num: int = Field(gt=0)
    fps_den: int = Field(default=1, gt=0)
    frames: int = Field(gt=0)
    colors: tuple[HexColour, ...] = Field(min_length=1)
    camera: str
    heading: str
    caption: str
    label: str = ""


class CameraPath(Model):
    """A camera move as ffmpeg expressions of `P` (eased 0..1), `L` (linear 0..1) and `T` (seconds)."""

    cx: str = "0.5"  # window centre, as a fraction of the world's width
    cy: str = "0.5"
    zoom: str = "1"  # relative to BASE_ZOOM
    roll: str = "0"  # radians


def _shake(t: str, amp: float, freqs: tuple[float, float, float], phase: float) -> str:
    """Deterministic handheld wobble: three incommensurate sines read as a hand, not a machine."""
    terms = [
        f"{w:g}*sin({2 * math.pi * f:.4f}*{t}+{phase + i:.2f})"
        for i, (f, w) in enumerate(zip(freqs, (1.0, 0.5, 0.25), strict=True))
    ]
    return f"({amp:g}*({'+'.join(terms)}))"


def _sweep(start: float, end: float, var: str = "P") -> str:
    return f"({start:g}+({end - start:g})*{var})"


_M = _MARGIN
CAMERA_PATHS: dict[str, CameraPath] = {
    "static": CameraPath(zoom=_sweep(1, 1.02, "L")),  # a held frame that still breathes: it reads as picture
    "slow-push-in": CameraPath(zoom=_sweep(1, 1.15)),
    "push-in": CameraPath(zoom=_sweep(1, 1.35)),
    "zoom-in": CameraPath(zoom=_sweep(1, 1.5, "L")),  # a lens zoom: constant rate, no ease
    "slow-pull-out": CameraPath(zoom=_sweep(1.15, 1)),
    "pull-out": CameraPath(zoom=_sweep(1.35, 1)),
    "zoom-out": CameraPath(zoom=_sweep(1.5, 1, "L")),
    "pan-left": CameraPath(cx=_sweep(0.5 + _M, 0.5 - _M)),
    "pan-right": CameraPath(cx=_sweep(0.5 - _M, 0.5 + _M)),
    "tilt-up": CameraPath(cy=_sweep(0.5 + _M, 0.5 - _M)),
    "tilt-down": CameraPath(cy=_sweep(0.5 - _M, 0.5 + _M)),
    "crane-up": CameraPath(cy=_sweep(0.5 + _M, 0.5 - _M), zoom=_sweep(1.12, 1)),  # rises and reveals
    "crane-down": CameraPath(cy=_sweep(0.5 - _M, 0.5 + _M), zoom=_sweep(1, 1.12)),
    "tracking": CameraPath(
        cx=_sweep(0.5 - _M, 0.5 + _M, "L"), cy=f"(0.5+{_shake('T', 0.002, (0.9, 1.8, 3.1), 0)})"
    ),
    "orbit": CameraPath(
        cx=f"(0.5+{0.8 * _M:g}*cos(PI*P))", cy=f"(0.5+{0.5 * _M:g}*sin(PI*P))", roll="(0.02*sin(PI*P))"
    ),
    "aerial-drift": CameraPath(
        cx=_sweep(0.5 - 0.6 * _M, 0.5 + 0.6 * _M, "L"),
        cy=_sweep(0.5 - 0.4 * _M, 0.5 + 0.4 * _M, "L"),
        zoom=_sweep(1, 1.08, "L"),
    ),
    "handheld": CameraPath(
        cx=f"(0.5+{_shake('T', 0.008, (0.7, 1.9, 3.7), 0.0)})",
        cy=f"(0.5+{_shake('T', 0.006, (0.5, 1.3, 4.1), 1.7)})",
        roll=_shake("T", 0.004, (0.4, 1.1, 2.9), 3.1),
    ),
}


def camera_path(camera: str) -> CameraPath:
    """The path for a word of CAMERA_MOVES; an unknown word is a bug upstream, since check refuses it."""
    try:
        return CAMERA_PATHS[camera]
    except KeyError:
        raise ValueError(f"unknown camera move `{camera}`; known: {', '.join(CAMERA_MOVES)}") from None


def _corner_exprs(path: CameraPath, clip: AnimaticClip) -> dict[str, str]:
    """perspective's x0..y3: the four corners of the rotated, zoomed window, in source pixels."""
    last = max(clip.frames - 1, 1)
    lin = f"clip((in-1)/{last},0,1)"  # perspective counts input frames from 1
    subst = {"P": f"({lin}*{lin}*(3-2*{lin}))", "L": lin, "T": f"((in-1)*{clip.fps_den}/{clip.fps_num})"}

    def expand(expr: str) -> str:
        return re.sub(r"\b[PLT]\b", lambda m: subst[m.group(0)], expr)

    cx, cy, roll = expand(path.cx), expand(path.cy), expand(path.roll)
    zoom = f"({BASE_ZOOM:g}*{expand(path.zoom)})"
    out: dict[str, str] = {}
    for i, (sx, sy) in enumerate(((-1, -1), (1, -1), (-1, 1), (1, 1))):
        dx, dy = f"({sx}*W/2)", f"({sy}*H/2)"
        out[f"x{i}"] = f"W*{cx}+({dx}*cos({roll})-{dy}*sin({roll}))/{zoom}"
        out[f"y{i}"] = f"H*{cy}+({dx}*sin({roll})+{dy}*cos({roll}))/{zoom}"
    return out


def _gradient_colours(colors: tuple[str, ...]) -> list[str]:
    """Two to eight stops; a single colour gets a darker twin so the frame still has depth."""
    if len(colors) == 1:
        r, g, b = (int(colors[0][i : i + 2], 16) for i in (1, 3, 5))
        return [colors[0], f"#{r * 2 // 5:02X}{g * 2 // 5:02X}{b * 2 // 5:02X}"]
    if len(colors) > _MAX_GRADIENT_COLOURS:
        step = (len(colors) - 1) / (_MAX_GRADIENT_COLOURS - 1)
        return [colors[round(i * step)] for i in range(_MAX_GRADIENT_COLOURS)]
    return list(colors)


def _world_size(clip: AnimaticClip) -> tuple[int, int]:
    """A quarter of the frame each side, even: the world is smooth, so the camera moves over a sixteenth of the
    pixels (the perspective window is most of the drawing's cost); the words are drawn at full size."""
    return max(2, round(clip.width / 8) * 2), max(2, round(clip.height / 8) * 2)


def _world(clip: AnimaticClip) -> list[str]:
    """The scene the camera looks at, one frame: a diagonal gradient and a faint grid with a centre cross.

    Drawn once and held (see `_hold`): the camera's window moves over it every frame, so the world
    costs one frame, not one per frame (a turning gradient cost as much as the encode).
    """
    w, h = _world_size(clip)
    stops = _gradient_colours(clip.colors)
    gradient = filter_spec(
        "gradients",
        s=f"{w}x{h}",
        r=f"{clip.fps_num}/{clip.fps_den}",
        n=len(stops),
        **{f"c{i}": c.replace("#", "0x") for i, c in enumerate(stops)},
        x0=0,
        y0=0,
        x1=w - 1,
        y1=h - 1,
        speed=0,
        seed=0,
    )
    cell, arm = max(4, min(w, h) // 6), max(2, min(w, h) // 24)
    return [
        gradient,
        "trim=end_frame=1",
        filter_spec("drawgrid", w=cell, h=cell, x=(w // 2) % cell, y=(h // 2) % cell, t=1, c="white@0.12"),
        filter_spec("drawbox", x=w // 2 - arm, y=h // 2, w=2 * arm, h=1, c="white@0.3", t="fill"),
        filter_spec("drawbox", x=w // 2, y=h // 2 - arm, w=1, h=2 * arm, c="white@0.3", t="fill"),
        filter_spec("scale", out_color_matrix="bt709", out_range="tv"),
        "format=yuv420p",
    ]


def _hold(clip: AnimaticClip) -> list[str]:
    """The world's one frame, repeated for ever at the clip's rate: whoever reads it cuts it to length."""
    return [filter_spec("loop", loop=-1, size=1, start=0), f"setpts=N*{clip.fps_den}/({clip.fps_num}*TB)"]


def _camera(clip: AnimaticClip) -> str:
    return filter_spec("perspective", **_corner_exprs(camera_path(clip.camera), clip), eval="frame")


class TextBlock(Model):
    """One drawtext: its literal text, the font weight and where it sits."""

    text: str
    semibold: bool
    size: int
    x: str
    y: str
    box: bool = False


def _clean(text: str) -> str:
    """Control characters would draw as boxes; line breaks of any kind are kept, everything else stays literal."""
    text = re.sub(r"\r\n|[\r\v\f\x1c-\x1e\x85\u2028\u2029]", "\n", text).replace("\t", " ")
    return "".join(" " if unicodedata.category(ch) == "Cc" and ch != "\n" else ch for ch in text)


def wrap(text: str, width: int, max_lines: int) -> str:
    """Wrap each paragraph at `width` characters, keep the user's line breaks, end an overflow with `…`."""
    lines: list[str] = []
    for paragraph in _clean(text).strip().split("\n"):
        lines.extend(textwrap.wrap(paragraph, width, break_on_hyphens=False) or [""])
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = textwrap.shorten(lines[-1] + " …", width, placeholder=" …")
        if not lines[-1].endswith("…"):
            lines[-1] = lines[-1].rstrip() + " …"
    return "\n".join(lines)


def _layout(clip: AnimaticClip) -> list[TextBlock]:
    """Heading top left, label top right, caption at the bottom on a shaded box; sized from the frame."""
    unit = min(clip.width / 16, clip.height / 9)  # 80 px at 1280x720, whatever the aspect
    margin = round(unit * 0.5)
    heading, caption, label = round(unit * 0.66), round(unit * 0.36), round(unit * 0.26)
    usable = clip.width - 2 * margin
    heading_chars = min(40, max(12, int(usable * 0.7 / (heading * 0.5))))
    caption_chars = min(48, max(16, int(usable * 0.95 / (caption * 0.48))))
    blocks = [
        TextBlock(
            text=wrap(clip.heading, heading_chars, 2),
            semibold=True,
            size=heading,
            x=f"{margin}",
            y=f"{margin}",
        ),
        TextBlock(
            text=wrap(clip.label, 60, 1), semibold=False, size=label, x=f"w-{margin}-text_w", y=f"{margin}"
        ),
        TextBlock(
            text=wrap(clip.caption, caption_chars, _CAPTION_MAX_LINES),
            semibold=False,
            size=caption,
            x=f"{margin}",
            y=f"h-{margin}-text_h",
            box=True,
        ),
    ]
    return [b for b in blocks if b.text.strip()]


def _drawtext(block: TextBlock, textfile: Path, fontfile: Path) -> str:
    """Text from a file with expansion off: quotes, `%`, `:` and backslashes reach the screen as typed.

    Boxed text needs no shadow to be legible: a shadow draws every glyph twice, every frame."""
    shadow = max(1, block.size // 16)
    extra: dict[str, object] = (
        {"box": 1, "boxcolor": "black@0.35", "boxborderw": max(2, block.size // 3)} if block.box
        else {"shadowcolor": "black@0.45", "shadowx": shadow, "shadowy": shadow}
    )
    return filter_spec(
        "drawtext",
        fontfile=fontfile,
        textfile=textfile,
        expansion="none",
        fontsize=block.size,
        fontcolor="white",
        line_spacing=block.size // 5,
        x=block.x,
        y=block.y,
        **extra,
    )


def _encode_args(clip: AnimaticClip, threads: int, preset: str) -> list[str]:
    """x264 with pinned bt709 tags, so the assembler can join clips without a colour surprise."""
    gop = max(1, round(2 * clip.fps_num / clip.fps_den))  # a keyframe every ~2 s: seekable, still small
    counts = ["-frames:v", str(clip.frames), "-g", str(gop), "-threads", str(threads)]
    x264 = [*_X264[:3], preset, *_X264[4:]]
    return [*counts, *x264, *_BT709, "-an", "-movflags", "+faststart", "-f", "mp4"]


def animatic_drawing(clip: AnimaticClip, textdir: Path) -> Drawing:
    """The clip as a still world and the motion over it: endless yuv420p BT.709 frames at the clip's size.

    Its text files are written into `textdir`, which must outlive the ffmpeg run that reads the chain.
    An unknown camera move fails here, before any file is written.
    """
    camera = _camera(clip)
    motion = [*_hold(clip), camera, filter_spec("scale", w=clip.width, h=clip.height, flags="bilinear")]
    textdir.mkdir(parents=True, exist_ok=True)
    for i, block in enumerate(_layout(clip)):
        textfile = textdir / f"text{i}.txt"
        textfile.write_text(block.text, encoding="utf-8")
        font = font_path("SourceSansPro-Semibold.ttf" if block.semibold else "SourceSansPro-Regular.ttf")
        motion.append(_drawtext(block, textfile, font))
    return Drawing(world=",".join(_world(clip)), motion=",".join([*motion, "setsar=1"]))


def render_animatic(clip: AnimaticClip, out: Path, *, workdir: Path, threads: int = 2,
                    preset: str = "veryfast") -> None:
    """Render `clip` to an H.264 MP4 at `out` with exactly `clip.frames` frames; raises MediaError.

    `workdir` holds the text files for the length of the run; `threads` bounds ffmpeg's filter and
    encoder threads, since the executor runs several clips at once.
    """
    _camera(clip)  # an unknown move fails before any folder is made
    workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=workdir, prefix="animatic-") as tmp:
        drawing = animatic_drawing(clip, Path(tmp))
        graph = f"{drawing.world},{drawing.motion}"
        encode = _encode_args(clip, threads, preset)
        run_ffmpeg(["-filter_threads", str(threads), "-filter_complex", graph, *encode, str(out)])
