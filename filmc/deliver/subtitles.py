"""Subtitles from the narration's word timings: SRT and WebVTT cues that appear as the words are spoken.

The text on screen is always the written line, every token in order with its punctuation: the voice's
word list cannot be trusted for it, because espeak sends no event for some words (an unstressed "the",
an em dash) and a subtitle that silently drops words misquotes the film. The voice only lends times:
written tokens are aligned to its words, and a token it skipped is placed between its neighbours.

Control characters (NUL, ESC, ...) are left out: a player shows none of them, and in a text file they
do harm. Everything else, markup-looking text included, is kept as written: SRT has no escapes, and
WebVTT's `&`, `<` and `>` are written as entities.

A narration line longer than a cue can hold is split between words, so each cue starts at its first
word and ends at its last. Cues hold at most two lines of 42 characters (the usual broadcast limit),
split where a sentence or clause ends when that is not too early, with the two lines balanced.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from itertools import pairwise

from filmc.backend.protocol import WordTiming
from filmc.model import Model

MAX_CHARS = 42
MAX_LINES = 2
_SENTENCE_END = (".", "!", "?", "…", ":", ";")
_CLAUSE_END = (",", "\u2014", "\u2013")  # comma, em dash, en dash
_CLOSERS = "\"'\u2019\u201d\u00bb)]"  # closing quotes and brackets that may follow a sentence's end
_CHARS_PER_SECOND = 15.0  # a calm narration pace, for lines without word timings
_EXACT_CELLS = 1_000_000  # lines up to ~1000 words are aligned exactly (a 1000x1000 table, under a second)
_WINDOW = 64  # longer ones window by window, each 64 written x 96 spoken words


class TimedLine(Model):
    """A narration line as the voice delivered it: its start on the film's clock and its word timings."""

    start: float
    text: str
    words: tuple[WordTiming, ...]
    duration: float | None = None   # bounds times guessed for words the voice gave no timing for


class SubtitleCue(Model):
    """One subtitle on screen: times in seconds on the film's clock; `text` may hold one line break."""

    start: float
    end: float
    text: str


def _key(word: str) -> str:
    """What a written token and the voice's word share: letters, digits and marks, casefolded.

    Punctuation, quotes (straight, curly, guillemets) and dashes differ between the script and what a
    voice reports, and NFKC folds the two ways of writing an accented letter into one.
    """
    folded = unicodedata.normalize("NFKC", word).casefold()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LNM")


def _visible(text: str) -> str:
    """The text without control characters, which no player shows and NUL or ESC would make harmful."""
    if text.isprintable():
        return text
    return "".join(ch for ch in text if ch.isspace() or unicodedata.category(ch) != "Cc")


def _anchors(written: Sequence[str], spoken: Sequence[str]) -> list[tuple[int, int]]:
    """The longest in-order matching of written to spoken keys, as (written index, spoken index).

    A longest common subsequence rather than a greedy scan, so one skipped or extra word cannot pull
    every later word out of step; tokens with an empty key (a lone dash) never anchor anything.
    Exact for any line a film really has; a line too long for an n-by-m table is aligned window by
    window, which keeps time and memory linear in its length (a million characters take seconds).
    """
    if len(written) * len(spoken) <= _EXACT_CELLS:
        return _lcs(written, spoken)
    return _windowed(written, spoken)


def _lcs(written: Sequence[str], spoken: Sequence[str]) -> list[tuple[int, int]]:
    """The exact longest common subsequence by dynamic programming: time and memory n times m."""
    n, m = len(written), len(spoken)
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            if written[i] and written[i] == spoken[j]:
                table[i][j] = table[i + 1][j + 1] + 1
            else:
                table[i][j] = max(table[i + 1][j], table[i][j + 1])
    anchors: list[tuple[int, int]] = []
    i = j = 0
    while i < n and j < m:
        if written[i] and written[i] == spoken[j] and table[i][j] == table[i + 1][j + 1] + 1:
            anchors.append((i, j))
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return anchors


def _windowed(written: Sequence[str], spoken: Sequence[str]) -> list[tuple[int, int]]:
    """The exact alignment of a window of each, of which only the first half is kept, window after window.

    Written and spoken run in step, so a window that starts where the last kept anchor ended sees
    every word its first half can match, unless the voice strayed further than half a window.
    """
    n, m = len(written), len(spoken)
    anchors: list[tuple[int, int]] = []
    i0 = j0 = 0
    while i0 < n and j0 < m:
        i1, j1 = min(n, i0 + _WINDOW), min(m, j0 + _WINDOW + _WINDOW // 2)
        local = [(i0 + i, j0 + j) for i, j in _lcs(written[i0:i1], spoken[j0:j1])]
        if i1 == n:   # the last window: everything it found stands
            anchors += local
            break
        half = i0 + _WINDOW // 2
        kept = [(i, j) for i, j in local if i < half]
        anchors += kept
        if kept:   # the next window starts right after the last word matched
            i0, j0 = kept[-1][0] + 1, kept[-1][1] + 1
        else:   # nothing in this stretch: move the voice along at the line's own pace
            ahead = [j for i, j in local if i >= half]
            i0, j0 = half, min([j0 + (_WINDOW // 2) * m // n, *ahead[:1]])
    return anchors


def _pairs(written: Sequence[str], spoken: Sequence[str]) -> dict[int, int]:
    """Written index -> spoken index: the anchors, plus word-for-word pairs inside equal-sized gaps.

    Between two anchors, as many written tokens as spoken words are the same words spelled differently
    (a digit string, a symbol read aloud), so they keep the voice's times instead of being guessed.
    """
    anchors = _anchors(written, spoken)
    pairs = dict(anchors)
    for (i0, j0), (i1, j1) in pairwise([(-1, -1), *anchors, (len(written), len(spoken))]):
        if i1 - i0 == j1 - j0 > 1:
            pairs.update((i0 + k, j0 + k) for k in range(1, i1 - i0))
    return pairs


def _tokens(line: TimedLine) -> list[WordTiming]:
    """Every written token, in order, timed by the voice's word it aligns to or placed between them."""
    written = _visible(line.text).split()
    spoken = [w for w in line.words if w.word.strip()]
    if not spoken:
        return _estimated(written, line.duration)
    pairs = _pairs([_key(t) for t in written], [_key(w.word) for w in spoken])
    if not pairs:  # nothing in common: the voice's words still say when the line is spoken
        return _spread(written, min(w.start for w in spoken), max(w.end for w in spoken))
    timed = [spoken[pairs[i]].model_copy(update={"word": t}) if i in pairs else None
             for i, t in enumerate(written)]
    words: list[WordTiming] = []
    i = 0
    while i < len(written):
        known = timed[i]
        if known is not None:
            words.append(known)
            i += 1
            continue
        stop = i
        while stop < len(written) and timed[stop] is None:
            stop += 1
        run = written[i:stop]
        words += _spread(run, *_gap(words[-1] if words else None, timed[stop] if stop < len(timed) else None,
                                    run, line.duration))
        i = stop
    return words


def _gap(before: WordTiming | None, after: WordTiming | None, run: Sequence[str],
         duration: float | None) -> tuple[float, float]:
    """Where unaligned tokens go: in the silence between their timed neighbours, never over them.

    With no silence there (the skipped word was slurred into a neighbour) they take no time at the
    next word's start; at a line's edges they take reading-pace time just outside the timed words.
    """
    pace = _seconds(run, None)
    if before is not None and after is not None:
        start = max(before.start, min(before.end, after.start))
        return start, max(start, after.start)
    if after is not None:
        return max(0.0, after.start - pace), after.start
    assert before is not None  # _tokens only asks about runs next to at least one timed word
    stop = before.end + pace
    if duration is not None:
        stop = min(stop, max(duration, before.end))
    return before.end, stop


def _seconds(written: Sequence[str], duration: float | None) -> float:
    """The line's length when known, else how long the words take to read at a calm pace."""
    if duration is not None and duration > 0:
        return duration
    return sum(len(word) + 1 for word in written) / _CHARS_PER_SECOND


def _estimated(written: list[str], duration: float | None) -> list[WordTiming]:
    """No word timings from the voice: spread words by length over the line, or at reading pace."""
    return _spread(written, 0.0, _seconds(written, duration))


def _spread(written: Sequence[str], start: float, stop: float) -> list[WordTiming]:
    """Words share start..stop by length, as a reader's eye (and a speaker's mouth) roughly does."""
    chars = [len(word) + 1 for word in written]
    total, span = sum(chars), max(0.0, stop - start)
    words: list[WordTiming] = []
    elapsed = 0
    for word, size in zip(written, chars, strict=True):
        first = start + span * elapsed / total
        elapsed += size
        words.append(WordTiming(word=word, start=first, end=start + span * elapsed / total))
    return words


def _ends(text: str, endings: tuple[str, ...]) -> bool:
    """Whether text ends a sentence or clause, looking past closing quotes: `fine.”` ends one too."""
    return text.rstrip(_CLOSERS).endswith(endings)


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
    if _ends(top, _SENTENCE_END + _CLAUSE_END):
        cost -= 8
    return cost + (2 if len(top) > len(bottom) else 0)


def _groups(words: list[WordTiming]) -> list[list[WordTiming]]:
    """Greedy cues: fill each as far as it lays out, then step back to a sentence or clause end."""
    groups: list[list[WordTiming]] = []
    current: list[WordTiming] = []
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


def _break_point(words: list[WordTiming]) -> int:
    """Where to end a full cue: after its last sentence end, else clause end, past a third of it; else all."""
    total = len(" ".join(w.word for w in words))
    for endings in (_SENTENCE_END, _CLAUSE_END):
        for cut in range(len(words) - 1, 0, -1):
            head = len(" ".join(w.word for w in words[:cut]))
            if _ends(words[cut - 1].word, endings) and head * 3 >= total:
                return cut
    return len(words)


def cues_from_lines(lines: Sequence[TimedLine], *, end: float | None = None) -> tuple[SubtitleCue, ...]:
    """Cues in time order; a cue never runs into the next one, even when two lines overlap.

    `end` is the film's end: narration past it is never seen, so its cues are dropped, and a cue
    that starts in time is cut there rather than promise words the film does not show.
    """
    cues: list[SubtitleCue] = []
    for line in lines:
        for group in _groups(_tokens(line)):
            text = "\n".join(_layout([w.word for w in group]) or [" ".join(w.word for w in group)])
            start, stop = line.start + group[0].start, line.start + max(w.end for w in group)
            cues.append(SubtitleCue(start=start, end=max(stop, start), text=text))
    if end is not None:
        cues = [c.model_copy(update={"end": min(c.end, end)}) for c in cues if c.start < end]
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
