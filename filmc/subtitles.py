"""Subtitles from the narration's word timings: SRT and WebVTT cues that appear as the words are spoken.

A narration line longer than a cue can hold is split between words, so each cue starts at its first
word and ends at its last. Cues hold at most two lines of 42 characters (the usual broadcast limit),
split where a sentence or clause ends when that is not too early, with the two lines balanced.
"""

from __future__ import annotations

from collections.abc import Sequence

from filmc.model import Model

MAX_CHARS = 42
MAX_LINES = 2
_SENTENCE_END = (".", "!", "?", "…", ":", ";")
_CLAUSE_END = (",", "\u2014", "\u2013")  # comma, em dash, en dash
_CHARS_PER_SECOND = 15.0  # a calm narration pace, for lines without word timings


class TimedWord(Model):
    """A spoken word; times in seconds from the start of its line."""

    word: str
    start: float
    end: float


class TimedLine(Model):
    """A narration line as the voice delivered it: its start on the film's clock and its word timings."""

    start: float
    text: str
    words: tuple[TimedWord, ...]
    duration: float | None = None   # only used when a voice gives no word timings


class SubtitleCue(Model):
    """One subtitle on screen: times in seconds on the film's clock; `text` may hold one line break."""

    start: float
    end: float
    text: str


def _tokens(line: TimedLine) -> list[TimedWord]:
    """The line's words with the written text's punctuation when the two agree word for word."""
    written = line.text.split()
    if not line.words:
        return _estimated(written, line.duration)
    if len(written) == len(line.words):
        return [w.model_copy(update={"word": text}) for w, text in zip(line.words, written, strict=True)]
    return [w for w in line.words if w.word.strip()]


def _estimated(written: list[str], duration: float | None) -> list[TimedWord]:
    """No word timings from the voice: spread words by length over the line, or at reading pace."""
    chars = [len(word) + 1 for word in written]
    seconds = duration if duration is not None and duration > 0 else sum(chars) / _CHARS_PER_SECOND
    words: list[TimedWord] = []
    elapsed = 0
    for word, size in zip(written, chars, strict=True):
        start = seconds * elapsed / sum(chars)
        elapsed += size
        words.append(TimedWord(word=word, start=start, end=seconds * elapsed / sum(chars)))
    return words


def _layout(words: Sequence[str]) -> list[str] | None:
    """The most balanced split of words into at most two lines that fit, or None if they cannot fit."""
    one = " ".join(words)
    if len(one) <= MAX_CHARS:
        return [one]
    best: list[str] | None = None
    for cut in range(1, len(words)):
        top, bottom = " ".join(words[:cut]), " ".join(words[cut:])
        if len(top) > MAX_CHARS or len(bottom) > MAX_CHARS:
            continue
        if best is None or _split_cost(top, bottom) < _split_cost(*best):
            best = [top, bottom]
    return best


def _split_cost(top: str, bottom: str) -> float:
    """Prefer balanced lines, a break after punctuation, and a top line no longer than the bottom."""
    cost = float(abs(len(top) - len(bottom)))
    if top.endswith(_SENTENCE_END + _CLAUSE_END):
        cost -= 8
    return cost + (2 if len(top) > len(bottom) else 0)


def _groups(words: list[TimedWord]) -> list[list[TimedWord]]:
    """Greedy cues: fill each as far as it lays out, then step back to a sentence or clause end."""
    groups: list[list[TimedWord]] = []
    current: list[TimedWord] = []
    for word in words:
        if not current or _layout([w.word for w in [*current, word]]) is not None:
            current.append(word)
            continue
        cut = _break_point(current)
        groups.append(current[:cut])
        current = [*current[cut:], word]
    if current:
        groups.append(current)
    return groups


def _break_point(words: list[TimedWord]) -> int:
    """Where to end a full cue: after its last sentence end, else clause end, past a third of it; else all."""
    total = len(" ".join(w.word for w in words))
    for endings in (_SENTENCE_END, _CLAUSE_END):
        for cut in range(len(words) - 1, 0, -1):
            head = len(" ".join(w.word for w in words[:cut]))
            if words[cut - 1].word.endswith(endings) and head * 3 >= total:
                return cut
    return len(words)


def cues_from_lines(lines: Sequence[TimedLine]) -> tuple[SubtitleCue, ...]:
    """Cues in time order; a cue never runs into the next one, even when two lines overlap."""
    cues: list[SubtitleCue] = []
    for line in lines:
        for group in _groups(_tokens(line)):
            text = "\n".join(_layout([w.word for w in group]) or [" ".join(w.word for w in group)])
            start, end = line.start + group[0].start, line.start + max(w.end for w in group)
            cues.append(SubtitleCue(start=start, end=max(end, start), text=text))
    cues.sort(key=lambda c: c.start)
    for index in range(len(cues) - 1):
        if cues[index + 1].start < cues[index].end:
            cues[index] = cues[index].model_copy(update={"end": cues[index + 1].start})
    return tuple(cues)


def _stamp(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def to_srt(cues: Sequence[SubtitleCue]) -> str:
    """SubRip: numbered blocks, `HH:MM:SS,mmm` times, a blank line after each block."""
    blocks = (f"{i}\n{_stamp(c.start, ',')} --> {_stamp(c.end, ',')}\n{_text(c.text)}\n"
              for i, c in enumerate(cues, start=1))
    return "\n".join(blocks)


def to_vtt(cues: Sequence[SubtitleCue]) -> str:
    """WebVTT: the header, `HH:MM:SS.mmm` times, and `&`, `<`, `>` escaped as the format requires."""
    blocks = (f"{_stamp(c.start, '.')} --> {_stamp(c.end, '.')}\n{_escape_vtt(_text(c.text))}\n"
              for c in cues)
    return "\n".join(["WEBVTT\n", *blocks])


def _text(text: str) -> str:
    """No blank line may sit inside a cue: it would end the block in both formats."""
    return "\n".join(ln.strip() for ln in text.splitlines() if ln.strip()) or " "


def _escape_vtt(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
