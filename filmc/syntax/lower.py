"""Parse tree -> Film: the lowering pass, with the string and narration-markup rules it needs."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from fractions import Fraction
from typing import Any, Literal

from lark import Token, Transformer, Tree, v_args
from lark.exceptions import VisitError
from lark.tree import Meta

from filmc import codes
from filmc.diagnostics import Diagnostic, Diagnostics, FilmError, Related
from filmc.model import Span
from filmc.syntax import ir
from filmc.syntax.quoting import quoted
from filmc.timecode import parse_fps, parse_time


def lower(tree: Tree[Token], path: str) -> tuple[ir.Film, tuple[Diagnostic, ...]]:
    """The tree's film and every lowering problem; a FilmError raised inside a rule comes out unwrapped."""
    pass_ = Lower(path)
    try:
        film = pass_.transform(tree)
    except VisitError as err:
        if isinstance(err.orig_exc, FilmError):
            raise err.orig_exc from None
        raise
    assert isinstance(film, ir.Film)
    return film, pass_.diags.sorted()


def narration_parts(text: ir.Text) -> tuple[tuple[ir.NarrationPart, ...], tuple[Diagnostic, ...]]:
    """A line's `[pause 0.8s]`, `[breath]` and `*emphasis*` read outside a film (a translation, an override
    file) by the film's own rules; `text.span.column` is the column just before the line's first character."""
    pass_ = Lower(text.span.path)
    parts = tuple(pass_._narration_parts(text))
    return parts, pass_.diags.sorted()


# The longest time filmc places: a day. Past it nothing is a film, and past 10**308 seconds a float overflows.
MAX_SECONDS = Fraction(24 * 60 * 60)
_MAX_TIME_CHARS = 32        # `1440:00.000000000000000000000000`: more digits than any time needs
_MAX_FRAME_DIGITS = 6       # a side of 999999 pixels is already refused by the checker (at most 8192)
_MAX_RATE_CHARS = 32
_TIME_SHAPE = re.compile(r"^\d+(\.\d+)?(ms|s)$|^\d+:\d+(\.\d+)?$")   # a time, right or wrong: [pause 1:75]


class TimeOutOfRange(ValueError):
    """A time as written that can't be one; `hint` says what to write instead."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def _shown(raw: str) -> str:
    """A token as a message quotes it: a 5,000-digit number is shown by its head and its length."""
    return quoted(raw, 24)


def bounded_time(raw: str) -> Fraction:
    """A TIME token's seconds, refused unless it is one: m:ss seconds under 60, at most MAX_SECONDS long."""
    hint = "write times like 12s, 1.5s, 500ms, 0:12 or 1:05.5, up to a day (1440:00)"
    if len(raw) > _MAX_TIME_CHARS:
        raise TimeOutOfRange(f"{_shown(raw)} has more digits than any time needs", hint)
    try:
        seconds = parse_time(raw)
    except ValueError as err:
        raise TimeOutOfRange(str(err), "seconds in m:ss run from 00 to 59") from None
    if seconds > MAX_SECONDS:
        raise TimeOutOfRange(f"{_shown(raw)} is longer than a day, the longest time filmc places", hint)
    return seconds


# A setting's key as a person writes it, where the two differ (`transition` alone is a `transition out`).
_SETTING_WORDS = {"transition_in": "transition in", "transition_out": "transition out", "pause_after": "pause-after",
                  "entities": "with"}

_STRING_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
# Each alternative stops at the next marker, so a line of a million unclosed `[` is read in linear time; the
# last one catches a marker with no partner on its line.
_MARKUP = re.compile(r"\[([^\[\]]*)\]|\*([^*\n]+)\*|([\[\]*])")
_PAUSE = re.compile(r"^\s*pause\s+(\S+)\s*$")


def unquote(raw: str) -> str:
    """A STRING token's value: quotes removed, \\n \\t \\" \\\\ understood, anything else kept."""
    body = raw[1:-1]
    return re.sub(r"\\(.)", lambda m: _STRING_ESCAPES.get(m.group(1), "\\" + m.group(1)), body)


def unblock(raw: str) -> str:
    """A \"\"\"block\"\"\": indentation common to its lines removed, outer blank lines dropped."""
    body = raw[3:-3]
    lines = body.split("\n")
    rest = [ln for ln in lines[1:] if ln.strip()]
    indent = min((len(ln) - len(ln.lstrip()) for ln in rest), default=0)
    out = [lines[0].strip(), *(ln[indent:].rstrip() for ln in lines[1:])]
    return "\n".join(out).strip("\n").strip()


class Lower(Transformer[Token, Any]):
    """Parse tree -> IR nodes; a separate pass so every rule sees `meta` for its span."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self.diags = Diagnostics()

    # -- spans and tokens
    def _span(self, m: Meta) -> Span:
        return Span(path=self.path, line=m.line, column=m.column, end_line=m.end_line, end_column=m.end_column)

    def _tok_span(self, t: Token) -> Span:
        return Span(path=self.path, line=t.line or 1, column=t.column or 1,
                    end_line=t.end_line or t.line or 1, end_column=t.end_column or (t.column or 1) + 1)

    def _text(self, t: Token) -> ir.Text:
        value = unblock(str(t)) if t.type == "BLOCK" else unquote(str(t))
        return ir.Text(value=value, span=self._tok_span(t))

    def _name(self, t: Token) -> ir.Name:
        return ir.Name(name=str(t), span=self._tok_span(t))

    def _time(self, t: Token) -> ir.Time:
        try:
            seconds = bounded_time(str(t))
        except TimeOutOfRange as err:
            self.diags.error(codes.BAD_TIMECODE, str(err), self._tok_span(t), hint=err.hint)
            seconds = Fraction(1)  # a placeholder, so the checker reports its own problems, not cascades
        return ir.Time(seconds=seconds, text=str(t), span=self._tok_span(t))

    def _range(self, t: Token) -> ir.Range:
        """`4s..8s`, one token: each half read as a TIME with its own span, so a bad bound is pointed at."""
        raw = str(t)
        low_raw, high_raw = raw.split("..")
        line, column = t.line or 1, t.column or 1
        low = self._time(Token("TIME", low_raw, line=line, column=column, end_line=line,
                               end_column=column + len(low_raw)))
        at = column + len(low_raw) + 2
        high = self._time(Token("TIME", high_raw, line=line, column=at, end_line=line, end_column=at + len(high_raw)))
        return ir.Range(low=low, high=high, text=raw, span=self._tok_span(t))

    def _length(self, t: Token) -> tuple[ir.Time, ir.Range | None]:
        """A shot's length: a time, or a range and its middle (the length it is planned at before the fit)."""
        if t.type != "RANGE":
            return self._time(t), None
        bounds = self._range(t)
        middle = (bounds.low.seconds + bounds.high.seconds) / 2
        return ir.Time(seconds=middle, text=bounds.text, span=bounds.span), bounds

    def _number(self, t: Token) -> ir.Number:
        return ir.Number(value=float(str(t)), text=str(t), span=self._tok_span(t))  # 1e999 reads as inf: out of range

    def _once(self, seen: dict[str, Span], key: str, span: Span, where: str) -> None:
        if key in seen:
            said = _SETTING_WORDS.get(key, key)
            self.diags.error(codes.DUPLICATE_SETTING, f"`{said}` is given twice in {where}", span,
                             related=[Related(span=seen[key], message="first given here")],
                             hint="keep one; the second would silently win")
        else:
            seen[key] = span

    # -- leaves that become (key, value) pairs for their parent
    @v_args(meta=True)
    def language(self, meta: Meta, c: list[Token]) -> tuple[str, Any, Span]:
        return ("language", self._name(c[0]), self._span(meta))

    @v_args(meta=True)
    def translate(self, meta: Meta, c: list[Token]) -> tuple[str, Any, Span]:
        return ("translate", tuple(self._name(t) for t in c), self._span(meta))

    @v_args(meta=True)
    def frame(self, meta: Meta, c: list[Token]) -> tuple[str, Any, Span]:
        """A size or rate with more digits than any frame has is refused here, before it becomes a number
        (int() refuses over 4,300 digits; a float overflows past 10**308)."""
        size, rate = str(c[0]), str(c[1])
        if any(len(side) > _MAX_FRAME_DIGITS for side in size.split("x")):
            self.diags.error(codes.BAD_FRAME_SIZE, f"frame size {_shown(size)} is not usable", self._tok_span(c[0]),
                             hint="use even sizes from 16 to 8192, such as 1280x720 or 1920x1080")
            return ("frame", None, self._span(meta))
        if len(rate) > _MAX_RATE_CHARS:
            self.diags.error(codes.BAD_FRAME_RATE, f"frame rate {_shown(rate)} is out of range", self._tok_span(c[1]),
                             hint="use a rate between 1 and 120, e.g. 24, 25 or 23.976")
            return ("frame", None, self._span(meta))
        width, height = (int(x) for x in size.split("x"))
        spec = ir.FrameSpec(width=width, height=height, fps=parse_fps(rate), span=self._span(meta))
        return ("frame", spec, self._span(meta))

    @v_args(meta=True)
    def target(self, meta: Meta, c: list[Token]) -> tuple[str, Any, Span]:
        return ("target", self._time(c[0]), self._span(meta))

    @v_args(meta=True)
    def by(self, meta: Meta, c: list[Token]) -> tuple[str, Any, Span]:
        return ("by", self._text(c[0]), self._span(meta))

    @v_args(meta=True)
    def style_text(self, meta: Meta, c: list[Token]) -> tuple[str, Any, Span]:
        return ("style", ir.Style(text=self._text(c[0]), span=self._span(meta)), self._span(meta))

    @v_args(meta=True)
    def style_include(self, meta: Meta, c: list[Token]) -> tuple[str, Any, Span]:
        return ("style", ir.Style(include=self._text(c[0]), span=self._span(meta)), self._span(meta))

    @v_args(meta=True)
    def entity_image(self, meta: Meta, c: list[Token]) -> ir.Text:
        return self._text(c[0])

    @v_args(meta=True)
    def entity(self, meta: Meta, c: list[Any]) -> ir.Entity:
        return ir.Entity(name=self._name(c[0]), description=self._text(c[1]), images=tuple(c[2:]),
                         span=self._span(meta))

    @v_args(meta=True)
    def voice(self, meta: Meta, c: list[Token]) -> ir.Voice:
        return ir.Voice(name=self._name(c[0]), description=self._text(c[1]), span=self._span(meta))

    @v_args(meta=True)
    def stop(self, meta: Meta, c: list[Token]) -> ir.PaletteStop:
        return ir.PaletteStop(at=self._time(c[0]), name=self._name(c[1]),
                              colors=tuple(self._text_raw(t) for t in c[2:]), span=self._span(meta))

    def _text_raw(self, t: Token) -> ir.Text:
        return ir.Text(value=str(t), span=self._tok_span(t))

    @v_args(meta=True)
    def palette(self, meta: Meta, c: list[ir.PaletteStop]) -> tuple[str, Any, Span]:
        return ("palette", tuple(c), self._span(meta))

    @v_args(meta=True)
    def instruments(self, meta: Meta, c: list[Token]) -> tuple[str, Any, Span]:
        return ("instruments", self._text(c[0]), self._span(meta))

    @v_args(meta=True)
    def intensity(self, meta: Meta, c: list[Token]) -> tuple[str, Any, Span]:
        return ("intensity", self._number(c[0]), self._span(meta))

    @v_args(meta=True)
    def cue(self, meta: Meta, c: list[Any]) -> ir.MusicCue:
        props = self._props(c[2:], "this cue")
        return ir.MusicCue(at=self._time(c[0]), description=self._text(c[1]), span=self._span(meta), **props)

    @v_args(meta=True)
    def music_cues(self, meta: Meta, c: list[ir.MusicCue]) -> tuple[str, Any, Span]:
        return ("music", ir.Music(cues=tuple(c), span=self._span(meta)), self._span(meta))

    @v_args(meta=True)
    def music_file(self, meta: Meta, c: list[Token]) -> tuple[str, Any, Span]:
        return ("music", ir.Music(file=self._text(c[0]), span=self._span(meta)), self._span(meta))

    def _card(self, kind: str, meta: Meta, c: list[Any]) -> ir.Card:
        props = self._props([x for x in c[1:] if isinstance(x, tuple)], f"this {kind} card")
        return ir.Card(kind=kind, duration=self._time(c[0]), span=self._span(meta), **props,
                       lines=tuple(self._text(t) for t in c[1:] if isinstance(t, Token)))

    @v_args(meta=True)
    def title_card(self, meta: Meta, c: list[Any]) -> ir.Card:
        return self._card("title", meta, c)

    @v_args(meta=True)
    def credits_card(self, meta: Meta, c: list[Any]) -> ir.Card:
        return self._card("credits", meta, c)

    # -- shots, scenes, narration
    @v_args(meta=True)
    def camera(self, meta: Meta, c: list[Token]) -> tuple[str, Any, Span]:
        return ("camera", self._name(c[0]), self._span(meta))

    @v_args(meta=True)
    def light(self, meta: Meta, c: list[Token]) -> tuple[str, Any, Span]:
        return ("light", self._text(c[0]), self._span(meta))

    @v_args(meta=True)
    def mood(self, meta: Meta, c: list[Token]) -> tuple[str, Any, Span]:
        return ("mood", self._text(c[0]), self._span(meta))

    @v_args(meta=True)
    def clip(self, meta: Meta, c: list[Token]) -> tuple[str, Any, Span]:
        return ("clip", self._text(c[0]), self._span(meta))

    @v_args(meta=True)
    def with_(self, meta: Meta, c: list[Token]) -> tuple[str, Any, Span]:
        return ("entities", tuple(self._name(t) for t in c), self._span(meta))

    def _transition(self, meta: Meta, c: list[Token], direction: Literal["in", "out"] | None) -> tuple[str, Any, Span]:
        """`in` and `out` are separate settings (a segment may have one of each); no direction means `out`."""
        duration = self._time(c[1]) if len(c) > 1 else None
        node = ir.Transition(kind=self._name(c[0]), duration=duration, direction=direction, span=self._span(meta))
        return ("transition_in" if direction == "in" else "transition_out", node, self._span(meta))

    @v_args(meta=True)
    def transition(self, meta: Meta, c: list[Token]) -> tuple[str, Any, Span]:
        return self._transition(meta, c, None)

    @v_args(meta=True)
    def transition_in(self, meta: Meta, c: list[Token]) -> tuple[str, Any, Span]:
        return self._transition(meta, c, "in")

    @v_args(meta=True)
    def transition_out(self, meta: Meta, c: list[Token]) -> tuple[str, Any, Span]:
        return self._transition(meta, c, "out")

    @v_args(meta=True)
    def shot(self, meta: Meta, c: list[Any]) -> ir.Shot:
        beats = tuple(x for x in c[2:] if isinstance(x, ir.NarrationBeat))
        props = self._props([x for x in c[2:] if isinstance(x, tuple)], "this shot")
        duration, bounds = self._length(c[0])
        return ir.Shot(duration=duration, range=bounds, description=self._text(c[1]), beats=beats,
                       span=self._span(meta), **props)

    @v_args(meta=True)
    def fit(self, meta: Meta, c: list[Token]) -> tuple[str, Any, Span]:
        return ("fit", self._span(meta), self._span(meta))

    @v_args(meta=True)
    def scene(self, meta: Meta, c: list[Any]) -> ir.Scene:
        title = self._text(c[0])
        rest = c[1:]
        length = rest.pop(0) if rest and isinstance(rest[0], Token) else None
        duration = self._time(length) if length is not None and length.type == "TIME" else None
        bounds = self._range(length) if length is not None and length.type == "RANGE" else None
        shots = tuple(x for x in rest if isinstance(x, ir.Shot))
        beats = tuple(x for x in rest if isinstance(x, ir.NarrationBeat))
        props = self._props([x for x in rest if isinstance(x, tuple)], "this scene")
        return ir.Scene(title=title, duration=duration, range=bounds, shots=shots, beats=beats,
                        span=self._span(meta), **props)

    @v_args(meta=True)
    def start_relative(self, meta: Meta, c: list[Token]) -> tuple[str, Any, Span]:
        return ("start", ("relative", self._time(c[0])), self._span(meta))

    @v_args(meta=True)
    def start_absolute(self, meta: Meta, c: list[Token]) -> tuple[str, Any, Span]:
        return ("start", ("absolute", self._time(c[0])), self._span(meta))

    @v_args(meta=True)
    def say_voice(self, meta: Meta, c: list[Token]) -> tuple[str, Any, Span]:
        return ("voice", self._name(c[0]), self._span(meta))

    @v_args(meta=True)
    def tone(self, meta: Meta, c: list[Token]) -> tuple[str, Any, Span]:
        return ("tone", self._text(c[0]), self._span(meta))

    @v_args(meta=True)
    def pace(self, meta: Meta, c: list[Token]) -> tuple[str, Any, Span]:
        value = self._number(c[0]) if c[0].type == "NUMBER" else self._name(c[0])
        return ("pace", value, self._span(meta))

    @v_args(meta=True)
    def pause_after(self, meta: Meta, c: list[Token]) -> tuple[str, Any, Span]:
        return ("pause_after", self._time(c[0]), self._span(meta))

    @v_args(meta=True)
    def say(self, meta: Meta, c: list[Any]) -> ir.NarrationBeat:
        text_token = next(x for x in c if isinstance(x, Token))
        props = self._props([x for x in c if isinstance(x, tuple)], "this line")
        mode, start = props.pop("start", ("after", None))
        text = self._text(text_token)
        parts = tuple(self._narration_parts(text))
        return ir.NarrationBeat(text=text, parts=parts, start=start, start_mode=mode, span=self._span(meta),
                                **props)

    def _narration_parts(self, text: ir.Text) -> Iterator[ir.NarrationPart]:
        """`[pause 0.8s]`, `[breath]` and `*emphasis*` inside a line become typed parts."""
        pos = 0
        unpaired: re.Match[str] | None = None   # the first marker with no partner, and how many there are
        strays = 0
        for m in _MARKUP.finditer(text.value):
            if m.start() > pos:
                yield ir.Spoken(text=text.value[pos:m.start()])
            pos = m.end()
            if m.group(2) is not None:
                yield ir.Spoken(text=m.group(2), emphasis=True)
                continue
            if m.group(3) is not None:
                unpaired, strays = unpaired or m, strays + 1
                continue
            direction = m.group(1)
            pm = _PAUSE.match(direction)
            if direction.strip() == "breath":
                yield ir.Breath()
            elif pm and _TIME_SHAPE.match(pm.group(1)):
                try:
                    yield ir.Pause(seconds=bounded_time(pm.group(1)))
                except TimeOutOfRange as err:
                    self.diags.error(codes.BAD_TIMECODE, f"in `[pause …]`: {err}",
                                     self._inner_span(text, m.start(), m.end()), hint=err.hint)
            else:
                self.diags.error(codes.UNKNOWN_DIRECTION, f"unknown direction {quoted(m.group(0))} in a narration line",
                                 self._inner_span(text, m.start(), m.end()),
                                 hint="write [pause 0.8s] for a pause or [breath] for a breath")
        if pos < len(text.value):
            yield ir.Spoken(text=text.value[pos:])
        if unpaired:   # one diagnostic per line: a million stray brackets are one mistake, not a million
            more = strays - 1
            also = f" (and {more:,} more unpaired marker{'s' if more > 1 else ''})" if more else ""
            self.diags.error(codes.UNPAIRED_MARKUP,
                             f"`{unpaired.group(3)}` has no partner in this narration line{also}",
                             self._inner_span(text, unpaired.start(), unpaired.end()),
                             hint="close it, as in [pause 0.8s] or *word*, or take it out")

    def _inner_span(self, text: ir.Text, start: int, end: int) -> Span:
        """Best effort: escapes before the markup shift it, but a one-line string maps 1:1."""
        s = text.span
        if s.line != s.end_line:
            return s
        return Span(path=s.path, line=s.line, column=s.column + 1 + start, end_line=s.line,
                    end_column=s.column + 1 + end)

    # -- expectations: the words as written; the checker knows which measures, units and scopes exist
    @v_args(meta=True)
    def expect(self, meta: Meta, c: list[ir.Expectation]) -> ir.Expectation:
        return c[0].model_copy(update={"span": self._span(meta)})

    def _quantity(self, t: Token) -> ir.Number | ir.Time:
        return self._time(t) if t.type == "TIME" else self._number(t)

    def _tolerance(self, t: Token) -> ir.Number | ir.Time:
        """`±1`, `+-0.5s`: a time when it carries a unit, else a number in the measure's own unit."""
        raw = str(t)
        body = raw[1:] if raw.startswith("±") else raw[2:]
        if body.endswith("s"):
            return self._time(Token("TIME", body, line=t.line, column=t.column, end_line=t.end_line,
                                    end_column=t.end_column)).model_copy(update={"text": raw})
        return ir.Number(value=float(body), text=raw, span=self._tok_span(t))

    @v_args(meta=True)
    def expect_measure(self, meta: Meta, c: list[Token]) -> ir.Expectation:
        """`loudness -16 LUFS ±1`, `true-peak <= -1 dBTP`, `duration 2:00 ±0.5s`, `cost <= 30 USD`."""
        measure, rest = c[0], list(c[1:])
        compare = self._name(rest.pop(0)) if rest[0].type == "COMPARE" else None
        value = self._quantity(rest.pop(0))
        tolerance = self._tolerance(rest.pop()) if rest and rest[-1].type == "TOLERANCE" else None
        unit = self._name(rest[0]) if rest else None
        return ir.Expectation(form="measure", measure=self._name(measure), compare=compare, value=value, unit=unit,
                              tolerance=tolerance, text=" ".join(map(str, c)), span=self._span(meta))

    @v_args(meta=True)
    def expect_none(self, meta: Meta, c: list[Token]) -> ir.Expectation:
        """`no black > 0.5s`, `no silence > 2s within narration`."""
        within = self._name(c[5]) if len(c) > 5 else None
        return ir.Expectation(form="none", measure=self._name(c[1]), compare=self._name(c[2]),
                              value=self._time(c[3]), within=within, text=" ".join(map(str, c)),
                              span=self._span(meta))

    @v_args(meta=True)
    def expect_claim(self, meta: Meta, c: list[Token]) -> ir.Expectation:
        """`every line subtitled`, `narration inside its scene`: named by their words joined with `-`."""
        words = [str(t) for t in c]
        measure = ir.Name(name="-".join(words), span=self._span(meta))
        return ir.Expectation(form="claim", measure=measure, text=" ".join(words), span=self._span(meta))

    # -- the film
    def _props(self, items: list[tuple[str, Any, Span]], where: str) -> dict[str, Any]:
        seen: dict[str, Span] = {}
        props: dict[str, Any] = {}
        for key, value, span in items:
            self._once(seen, key, span, where)
            props.setdefault(key, value)
        return props

    @v_args(meta=True)
    def film(self, meta: Meta, c: list[Any]) -> ir.Film:
        title = self._text(c[0])
        items = c[1:]
        settings = [x for x in items if isinstance(x, tuple)]
        props = self._props(settings, "the film")
        palette_span = next((span for key, _, span in settings if key == "palette"), None)
        return ir.Film(
            title=title,
            entities=tuple(x for x in items if isinstance(x, ir.Entity)),
            voices=tuple(x for x in items if isinstance(x, ir.Voice)),
            sequence=tuple(x for x in items if isinstance(x, ir.Scene | ir.Card)),
            expectations=tuple(x for x in items if isinstance(x, ir.Expectation)),
            palette_span=palette_span,
            span=self._span(meta),
            **props,
        )

    def start(self, c: list[ir.Film]) -> ir.Film:
        return c[0]


# `with` is a Python keyword: the rule is dispatched by name, so alias it.
_with: Callable[..., Any] = Lower.with_
setattr(Lower, "with", _with)

