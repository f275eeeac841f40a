"""The plan as one HTML page a director can read, print or mail: every scene, shot, prompt, line and cost.

One self-contained file: inline CSS, thumbnails inline as JPEG `data:` URIs, no script and no network, so it
opens from a zip, a mail or a disk with nothing beside it. The page is built in two steps: `storyboard`
turns the frozen Plan (and, where clips exist, one frame of each) into the frozen view below, and
`render_storyboard` pours that into a Jinja2 template with autoescape on, so a prompt containing `<script>`
reads as text. No user text reaches a style attribute: those hold only numbers and checked hex colours.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import tempfile
from collections.abc import Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from functools import cache, partial
from pathlib import Path
from typing import Literal, NamedTuple

import jinja2

from filmc import __version__
from filmc.assemble.media import MediaError, grab_jpeg, keyframe_jpegs
from filmc.check.resolved import ResolvedBeat, ResolvedCard, ResolvedEntity, ResolvedShot, TransitionSpec
from filmc.color import describe, is_hex
from filmc.expand.context import MusicSection, plain_text
from filmc.files import user_cache, write_atomic, write_text_atomic
from filmc.model import Model
from filmc.plan.model import Job, MusicSpec, PictureSpec, Plan, VideoSpec, VoiceSpec
from filmc.render.cache import Cache
from filmc.render.jobs import kind_of, suffix_of
from filmc.render.outcome import JobOutcome
from filmc.syntax.ir import Breath, Pause, Spoken
from filmc.timecode import format_time
from filmc.vocabulary import CAMERA_PHRASES

THUMB_WIDTH = 320      # px: sharp at the page's column width, ~10 kB a shot as a JPEG
_GREY = "#808080"      # stands in for a colour that is not `#RRGGBB` (a hand-edited plan.json)

JobStatus = Literal["cached", "to make", "drawn", "made", "failed", "skipped"]


class JobRow(Model):
    """One job as the page lists it: enough to see what it is, who makes it, what it costs, whether it waits."""

    id: str
    what: str
    backend: str
    model: str
    usd: Decimal
    status: JobStatus


class Colour(Model):
    hex: str
    words: str


class Band(Model):
    """A stretch of the timeline as a share of the film: where a segment, cue or line sits on the strip."""

    left: float     # percent of the film's length
    width: float
    label: str
    colours: tuple[Colour, ...] = ()
    intensity: float = 0.0
    card: bool = False
    anchor: str = ""   # the id of the block it stands for on the page


class LinePart(Model):
    """A piece of a narration line as the director wrote it: words (maybe stressed), a pause or a breath."""

    kind: Literal["spoken", "pause", "breath"]
    text: str = ""
    emphasis: bool = False


class LineView(Model):
    beat: ResolvedBeat
    parts: tuple[LinePart, ...]
    at: str
    until: str
    job: JobRow | None = None


class ShotView(Model):
    shot: ResolvedShot
    camera: str
    colours: tuple[Colour, ...]
    at: str
    length: str
    prompt: str
    negative: str
    thumbnail: str | None = None    # a `data:image/jpeg;base64,…` URI, or None: the palette swatch stands in
    transition_in: str | None = None
    transition_out: str | None = None
    job: JobRow | None = None


class SceneView(Model):
    kind: Literal["scene"] = "scene"
    id: str
    number: int
    title: str
    at: str
    length: str
    shots: tuple[ShotView, ...]
    lines: tuple[LineView, ...]


class CardView(Model):
    kind: Literal["card"] = "card"
    card: ResolvedCard
    colours: tuple[Colour, ...]
    at: str
    length: str


class MusicView(Model):
    section: MusicSection
    at: str
    until: str


class Storyboard(Model):
    """Everything the page shows, already worded: the template only lays it out."""

    title: str
    by: str | None
    language: str
    duration: str
    frame: str
    fps: str
    aspect: str                     # CSS aspect-ratio of the frame, e.g. `16 / 9`
    profile: str
    backends: tuple[tuple[str, str], ...]   # (layer, backend/model)
    style: str
    entities: tuple[ResolvedEntity, ...]
    strips: tuple[str, ...]         # one CSS gradient per palette colour, along the timeline
    segments: tuple[Band, ...]
    cues: tuple[Band, ...]
    beats: tuple[Band, ...]
    blocks: tuple[SceneView | CardView, ...]
    music: tuple[MusicView, ...]
    music_prompt: str
    music_file: str | None
    jobs: tuple[JobRow, ...]
    total_usd: Decimal
    to_spend_usd: Decimal
    made_by: str = f"filmc {__version__}"


class Slot(NamedTuple):
    """A shot's stretch of a picture it shares with other shots, in seconds from the picture's start: any frame
    from `start` up to (not including) `end` shows that shot alone (no transition's blend). Empty when the
    transitions fill the shot: then its thumbnail is the still's moment."""

    start: float
    end: float

    @property
    def empty(self) -> bool:
        return self.end <= self.start


class Still(NamedTuple):
    """Where a shot's thumbnail is: a file with picture, the moment in it, and, when the file holds other shots
    too (the picture pass's previz), the shot's slot in it: then any keyframe inside the slot will do."""

    path: Path
    at: float
    slot: Slot | None = None


class _Stamped(NamedTuple):
    """A thumbnail wanted, with the name it is kept under: the file's path, size and mtime, where and how wide."""

    still: Still
    name: str
    kept: Path | None


# Data URIs already made in this process, by kept name: a render writes the storyboard every time, and a long
# process (watch, tests) writes it often. Bounded; only successes, so a frame that was missing is looked for again.
_MEMO: dict[str, str] = {}
_MEMO_SIZE = 1024


def thumbnail(clip: Path, at: float, width: int = THUMB_WIDTH, store: Path | None = None) -> str | None:
    """One frame of a clip, small, as a data URI; None when ffmpeg finds no frame there (the swatch stands in).
    Remembered by the clip's stamp, in this process and, given a `store` folder (the cache's), on disk: every
    render writes the storyboard, and an ffmpeg run per unchanged shot was most of a render with nothing to do
    (0.64 s of Entropy's 1.1 s)."""
    return thumbnails({"": Still(clip, at)}, width, store).get("")


def thumbnails(stills: Mapping[str, Still], width: int = THUMB_WIDTH, store: Path | None = None) -> dict[str, str]:
    """A small data URI for each still (by the caller's key) that has a frame; a still without one is left out
    (its swatch stands in). Kept like `thumbnail`'s. Stills with a slot are taken from the keyframes of their
    file, one ffmpeg run a file for all its slots (a shot's own accurate seek decoded up to a whole GOP and
    started ffmpeg again: ~1.1 CPU-s for Entropy's 19 drawn shots); a slot with no keyframe inside, or a still
    without a slot (a clip of its own), gets that accurate seek at its moment."""
    found: dict[str, str] = {}
    missing: dict[str, _Stamped] = {}
    for key, still in stills.items():
        stamped = _stamp(still, width, store)
        if stamped is None:
            continue
        uri = _MEMO.get(stamped.name) or _load(stamped.kept)
        if uri is not None:
            found[key] = _remember(stamped.name, uri)
        else:
            missing[key] = stamped
    by_file: dict[Path, dict[str, _Stamped]] = {}
    for key, stamped in missing.items():
        by_file.setdefault(stamped.still.path, {})[key] = stamped
    for path, wanted in by_file.items():
        # an empty slot (transitions fill the shot) has no keyframe to give: it goes straight to the seek
        slotted = {key: s for key, s in wanted.items() if s.still.slot is not None and not s.still.slot.empty}
        made = _from_keyframes(path, slotted, width) if slotted else {}
        for key, stamped in wanted.items():
            data = made.get(key) or _grab(stamped.still, width)
            if data:
                _keep(stamped.kept, data)
                found[key] = _remember(stamped.name, _data_uri(data))
    return {key: found[key] for key in stills if key in found}


def _stamp(still: Still, width: int, store: Path | None) -> _Stamped | None:
    """The name a thumbnail is kept under: it changes with the file (size, mtime) and with what is asked of it;
    None when the file is not there."""
    try:
        stat = still.path.stat()
    except OSError:
        return None
    where = f"{still.at:.3f}" if still.slot is None else f"keyframe {still.slot.start:.3f}-{still.slot.end:.3f}"
    name = hashlib.sha256(f"{still.path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{where}|{width}".encode()
                          ).hexdigest()
    return _Stamped(still, name, store / name[:2] / f"{name}.jpg" if store is not None else None)


def _from_keyframes(path: Path, wanted: Mapping[str, _Stamped], width: int) -> dict[str, bytes]:
    """For each slot, the JPEG of the keyframe inside it nearest its moment, by key; slots with no keyframe
    inside are left out. Only the window the slots span is read, and only the picked JPEGs reach Python."""
    slots = [s.still.slot for s in wanted.values() if s.still.slot is not None]
    start, end = min(s.start for s in slots), max(s.end for s in slots)
    picked: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="filmc-keyframes-") as folder:
        try:
            keyframes = keyframe_jpegs(path, Path(folder), width=width, start=start, end=end)
        except MediaError:
            return {}   # each still falls back to its own seek, which says no frame if there is none
        times = [k.at for k in keyframes]
        for key, stamped in wanted.items():
            slot = stamped.still.slot
            index = nearest_inside(times, slot, stamped.still.at) if slot is not None else None
            if index is not None:
                with contextlib.suppress(OSError):
                    picked[key] = keyframes[index].jpeg.read_bytes()
    return picked


_EDGE = 0.0015   # s: keyframe times are whole milliseconds; frames are >= 8 ms apart even at 120 fps


def nearest_inside(times: Sequence[float], slot: Slot, at: float) -> int | None:
    """The index of the time inside `slot` nearest `at` (the earlier on a tie), or None when none is inside.
    The slot's end belongs to the next shot: a keyframe there (a cut's) would show the wrong shot."""
    inside = [i for i, t in enumerate(times) if slot.start - _EDGE <= t < slot.end - _EDGE]
    return min(inside, key=lambda i: (abs(times[i] - at), times[i])) if inside else None


def _grab(still: Still, width: int) -> bytes | None:
    """The still's moment by an accurate seek; None when there is no frame there."""
    try:
        return grab_jpeg(still.path, still.at, width=width)
    except MediaError:
        return None


def _load(kept: Path | None) -> str | None:
    """A kept thumbnail as a data URI; None when there is none (or an empty or unreadable file)."""
    if kept is None or not kept.is_file():
        return None
    try:
        data = kept.read_bytes()
    except OSError:
        return None
    return _data_uri(data) if data else None


def _keep(kept: Path | None, data: bytes) -> None:
    if kept is None:
        return
    with contextlib.suppress(OSError):   # a thumbnail not kept is only made again
        kept.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(kept, partial(_write, data=data))


def _remember(name: str, uri: str) -> str:
    """Keep `uri` for this process, the oldest forgotten past `_MEMO_SIZE`; give it back."""
    if name not in _MEMO and len(_MEMO) >= _MEMO_SIZE:
        _MEMO.pop(next(iter(_MEMO)), None)
    _MEMO[name] = uri
    return uri


def _write(tmp: Path, data: bytes) -> None:
    tmp.write_bytes(data)


def _data_uri(data: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")


def _asset(job: Job, outcomes: Mapping[str, JobOutcome] | None, cache: Cache | None) -> Path | None:
    """A job's file now: a render's outcome says it, else the cache is asked (whole assets only)."""
    outcome = outcomes.get(job.id) if outcomes is not None else None
    if outcome is not None and outcome.usable and outcome.path:
        return Path(outcome.path)
    if outcomes is None and cache is not None and cache.meta(job.spec.kind, job.key, suffix_of(job.spec)):
        return cache.path(job.spec.kind, job.key, suffix_of(job.spec))
    return None


def clips_of(plan: Plan, *, cache: Cache | None = None,
             outcomes: Mapping[str, JobOutcome] | None = None) -> dict[str, Still]:
    """Each shot's thumbnail source, by shot id: its clip's middle, or for previz drawn in the picture pass (no
    clip file) a keyframe of its slot in the picture, nearest the slot's middle; a shot with neither shows its
    palette."""
    found: dict[str, Still] = {}
    pictures = plan.specs(PictureSpec)
    picture = _asset(pictures[0][0], outcomes, cache) if pictures else None
    fps = plan.film.timeline.fps_num / plan.film.timeline.fps_den
    start = 0
    stills: dict[str, Still] = {}
    for seg in pictures[0][1].segments if pictures else ():
        if seg.video_job and picture is not None:
            # a blend in sits at the head of the incoming slot, a closing fade at the tail of the last: frames
            # there show another shot or black, so only the rest may give a keyframe (none left: the middle)
            first, last = start + _blend(seg.transition_in), start + seg.frames - _blend(seg.transition_out)
            stills[seg.video_job] = Still(picture, (start + seg.frames / 2) / fps,
                                          Slot(first / fps, max(first, last) / fps))
        start += seg.frames
    for job, spec in plan.specs(VideoSpec):
        clip = _asset(job, outcomes, cache)
        if clip is not None:
            found[spec.shot_id] = Still(clip, spec.request.seconds / 2)
        elif job.drawn and job.id in stills:
            found[spec.shot_id] = stills[job.id]
    return found


def _blend(transition: TransitionSpec | None) -> int:
    """Frames a transition spends blending inside the slot it belongs to; a cut spends none."""
    return 0 if transition is None or transition.kind == "cut" else transition.frames


def _colours(palette: tuple[str, ...]) -> tuple[Colour, ...]:
    return tuple(Colour(hex=c, words=describe(c)) if is_hex(c) else Colour(hex=_GREY, words="unknown")
                 for c in palette)


def _seconds(value: float) -> str:
    """A point on the film's clock as people write it: `4.5s`, `1:05.5`."""
    return format_time(Fraction(round(value * 1000), 1000))


def _length(frames: int, fps: Fraction, written: str | None = None) -> str:
    return written or format_time(Fraction(round(Fraction(frames) / fps * 1000), 1000))


def _transition(t: TransitionSpec | None) -> str | None:
    return None if t is None or t.kind == "cut" else f"{t.kind} {format_time(Fraction(round(t.seconds * 1000), 1000))}"


def _row(job: Job, outcomes: Mapping[str, JobOutcome] | None) -> JobRow:
    outcome = outcomes.get(job.id) if outcomes is not None else None
    status: JobStatus = outcome.status if outcome is not None else "drawn" if job.drawn else \
        "cached" if job.cached else "to make"
    return JobRow(id=job.id, what=kind_of(job.spec).describe(job.spec), backend=job.backend, model=job.model,
                  usd=job.estimated_usd, status=status)


def _parts(beat: ResolvedBeat) -> tuple[LinePart, ...]:
    out: list[LinePart] = []
    for p in beat.parts:
        if isinstance(p, Spoken):
            out.append(LinePart(kind="spoken", text=p.text, emphasis=p.emphasis))
        elif isinstance(p, Pause):
            out.append(LinePart(kind="pause", text=format_time(p.seconds)))
        elif isinstance(p, Breath):
            out.append(LinePart(kind="breath"))
    return tuple(out) or (LinePart(kind="spoken", text=beat.text),)


def _strips(plan: Plan) -> tuple[str, ...]:
    """Each palette colour as a gradient through every segment's interpolated value at its midpoint."""
    tl = plan.film.timeline
    rows = max((len(s.palette) for s in tl.segments), default=0)
    strips = []
    for i in range(rows):
        stops = []
        for s in tl.segments:
            colour = _colours(s.palette)[min(i, len(s.palette) - 1)].hex if s.palette else _GREY
            stops.append(f"{colour} {_percent((s.start + s.end) / 2, tl.duration):.2f}%")
        strips.append(f"linear-gradient(to right, {', '.join(stops)})")
    return tuple(strips)


def _percent(at: float, duration: float) -> float:
    return min(max(at / duration * 100 if duration > 0 else 0.0, 0.0), 100.0)


def _band(start: float, end: float, duration: float, label: str, **extra: object) -> Band:
    left = _percent(start, duration)
    return Band.model_validate({"left": round(left, 3), "width": round(_percent(end, duration) - left, 3),
                                "label": label, **extra})


def _scene_bands(plan: Plan) -> tuple[Band, ...]:
    """One band per scene (its shots joined) or card, numbered as the page numbers them."""
    tl = plan.film.timeline
    bands: list[Band] = []
    last_scene = ""
    for seg in tl.segments:
        if isinstance(seg, ResolvedCard):
            bands.append(_band(seg.start, seg.end, tl.duration, seg.style, card=True, anchor=seg.id))
            last_scene = ""
        elif seg.scene_id == last_scene:
            bands[-1] = _band(tl.duration * bands[-1].left / 100, seg.end, tl.duration, bands[-1].label,
                              anchor=seg.scene_id)
        else:
            number = sum(not b.card for b in bands) + 1
            bands.append(_band(seg.start, seg.end, tl.duration, f"{number} {seg.scene_title}", anchor=seg.scene_id))
            last_scene = seg.scene_id
    return tuple(bands)


def _blocks(plan: Plan, thumbs: Mapping[str, str], rows: Mapping[str, JobRow]) -> tuple[SceneView | CardView, ...]:
    """Segments in story order, shots gathered under their scene, each scene's lines beside its shots."""
    tl = plan.film.timeline
    fps = Fraction(tl.fps_num, tl.fps_den)
    video = {spec.shot_id: (job, spec) for job, spec in plan.specs(VideoSpec)}
    voice = {spec.beat_id: job for job, spec in plan.specs(VoiceSpec)}
    blocks: list[SceneView | CardView] = []
    for seg in tl.segments:
        if isinstance(seg, ResolvedCard):
            blocks.append(CardView(card=seg, colours=_colours(seg.palette), at=_seconds(seg.start),
                                   length=_length(seg.frames, fps, seg.written)))
            continue
        job, spec = video.get(seg.id, (None, None))
        shot = ShotView(shot=seg, camera=CAMERA_PHRASES.get(seg.camera, seg.camera), colours=_colours(seg.palette),
                        at=_seconds(seg.start), length=_length(seg.frames, fps, seg.written),
                        prompt=spec.request.prompt if spec else "", negative=spec.request.negative if spec else "",
                        thumbnail=thumbs.get(seg.id), transition_in=_transition(seg.transition_in),
                        transition_out=_transition(seg.transition_out), job=rows[job.id] if job else None)
        last = blocks[-1] if blocks else None
        if isinstance(last, SceneView) and last.id == seg.scene_id:
            blocks[-1] = last.model_copy(update={"shots": (*last.shots, shot)})
            continue
        lines = tuple(LineView(beat=b, parts=_parts(b), at=_seconds(b.start), until=_seconds(b.slot_end),
                               job=rows[voice[b.id].id] if b.id in voice else None)
                      for b in tl.beats if b.scene_id == seg.scene_id)
        number = sum(isinstance(b, SceneView) for b in blocks) + 1
        blocks.append(SceneView(id=seg.scene_id, number=number, title=seg.scene_title, at=_seconds(seg.start),
                                length="", shots=(shot,), lines=lines))
    return tuple(b.model_copy(update={"length": _length(sum(s.shot.frames for s in b.shots), fps)})
                 if isinstance(b, SceneView) else b for b in blocks)


def storyboard(plan: Plan, clips: Mapping[str, Still] | None = None,
               outcomes: Mapping[str, JobOutcome] | None = None, thumbs_store: Path | None = None) -> Storyboard:
    """The page's content from the plan; `clips` (by shot id) give thumbnails (kept in `thumbs_store`),
    `outcomes` a render's statuses."""
    tl = plan.film.timeline
    fps = Fraction(tl.fps_num, tl.fps_den)
    video = {spec.shot_id: spec for _, spec in plan.specs(VideoSpec)}
    thumbs = thumbnails({shot: still for shot, still in (clips or {}).items() if shot in video}, store=thumbs_store)
    rows = {j.id: _row(j, outcomes) for j in plan.jobs}
    music = plan.specs(MusicSpec)
    sections = music[0][1].request.sections if music else ()
    layers: tuple[Literal["expand", "video", "voice", "music"], ...] = ("expand", "video", "voice", "music")
    return Storyboard(
        title=plan.film.title, by=plan.film.by, language=plan.film.language, duration=_length(tl.frames, fps),
        frame=f"{tl.width}×{tl.height}", fps=f"{float(fps):.3f}".rstrip("0").rstrip("."),
        aspect=f"{tl.width} / {tl.height}", profile=plan.profile.name,
        backends=tuple((layer, _backend(plan, layer)) for layer in layers),
        style=plan.film.style, entities=plan.film.entities, strips=_strips(plan),
        segments=_scene_bands(plan),
        cues=tuple(_band(s.start, s.end, tl.duration, s.description, intensity=s.intensity) for s in sections),
        beats=tuple(_band(b.start, min(b.start + b.estimated, b.slot_end), tl.duration, plain_text(b.parts) or b.text)
                    for b in tl.beats),
        blocks=_blocks(plan, thumbs, rows),
        music=tuple(MusicView(section=s, at=_seconds(s.start), until=_seconds(s.end)) for s in sections),
        music_prompt=music[0][1].request.prompt if music else "", music_file=tl.music_file,
        jobs=tuple(rows.values()), total_usd=plan.total_usd, to_spend_usd=plan.estimated_usd)


def _backend(plan: Plan, layer: Literal["expand", "video", "voice", "music"]) -> str:
    """Who makes a layer, with the model the plan resolved (a job's), else the profile's setting."""
    if layer == "expand":
        name, model = plan.expansion.expander, plan.expansion.model
    else:
        job = next((j for j in plan.jobs if j.layer == layer), None)
        name, model = (job.backend, job.model) if job else (plan.profile.layer(layer).backend, "")
    return f"{name} ({model})" if model else name


@cache
def _template() -> jinja2.Template:
    """Autoescape on for every name, not by file suffix: this page is all user text."""
    folder = user_cache("templates")   # compiled once, not on every render (60 ms of a no-op render)
    env = jinja2.Environment(loader=jinja2.PackageLoader("filmc.deliver", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             bytecode_cache=jinja2.FileSystemBytecodeCache(str(folder)) if folder else None)
    env.filters["usd"] = lambda value: f"${Decimal(value):.2f}"
    return env.get_template("storyboard.html.j2")


def render_storyboard(board: Storyboard) -> str:
    return _template().render(board=board)


def write_storyboard(plan: Plan, path: Path, *, cache: Cache | None = None,
                     outcomes: Mapping[str, JobOutcome] | None = None) -> Path:
    """Written whole or not at all, like every output; thumbnails from `outcomes`' clips, else the cache's."""
    store = cache.root / "thumbs" if cache is not None else None
    board = storyboard(plan, clips_of(plan, cache=cache, outcomes=outcomes), outcomes, thumbs_store=store)
    write_text_atomic(path, render_storyboard(board))
    return path
