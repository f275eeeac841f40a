"""A narration line as chunks for a speech service that takes a limited text per request: cut at sentence
ends in the film's language, never inside SSML or audio-tag markup, so each chunk is spoken whole."""

from __future__ import annotations

import re
from collections.abc import Callable

# Sentence ends across the film's languages (Latin, Greek, Arabic, Urdu, Devanagari, Ethiopic, Armenian, CJK),
# the closing quotes and brackets that stay with them, and the clause marks a too-long sentence is cut after.
SENTENCE_ENDS = frozenset(".!?…‽\u037e。！？｡؟۔।॥።፧։")   # \u037e: the Greek question mark
CLOSERS = frozenset("\"'”’»›)」』")
NO_SPACE_AFTER = frozenset("。！？｡")   # CJK ends a sentence without a space
_RUN = SENTENCE_ENDS | CLOSERS
CLAUSE_ENDS = frozenset(",;:，、；：")
MARKUP_TAG = re.compile(r"<[^<>]*>|\[[^\[\]]*\]")


def split_markup(markup: str, limit: int) -> list[str]:
    """A line as chunks of at most `limit` characters, each ending at a sentence end where it can: sentences
    are packed whole; a sentence longer than the limit is cut after its last clause mark (comma, ...) in
    the second half of the limit, else at its last space. Never inside an SSML tag or element, or an audio
    tag. A line within the limit is one chunk, exactly as written."""
    if len(markup) <= limit:
        return [markup]
    text = markup.strip()
    safe = _cut_points(text)
    pieces = [piece for span in _sentences(text, safe) for piece in _fit(text, span, safe, limit)]
    chunks: list[tuple[int, int]] = []
    for start, end in pieces:
        # Markup alone (a closing pause) is no request of its own: it goes with its neighbour, over the limit
        # by a tag at most, which stays far inside the service's.
        if chunks and (end - chunks[-1][0] <= limit or not _spoken(text[start:end])
                       or not _spoken(text[chunks[-1][0]:chunks[-1][1]])):
            chunks[-1] = (chunks[-1][0], end)
        else:
            chunks.append((start, end))
    return [text[start:end] for start, end in chunks]


def _cut_points(text: str) -> list[bool]:
    """safe[i]: cutting before text[i] splits no `<tag>`, no `<element>...</element>` and no `[audio tag]`."""
    safe = [True] * (len(text) + 1)
    opened: list[int] = []
    for tag in MARKUP_TAG.finditer(text):
        for i in range(tag.start() + 1, tag.end()):
            safe[i] = False
        body = tag.group()
        if body.startswith("</"):
            if opened:
                for i in range(opened.pop() + 1, tag.end()):
                    safe[i] = False
        elif body.startswith("<") and not body.endswith("/>") and not body.startswith(("<!", "<?")):
            opened.append(tag.start())
    return safe


def _sentences(text: str, safe: list[bool]) -> list[tuple[int, int]]:
    """Spans of whole sentences, their end marks and closing quotes included, the spaces between left out.
    An end mark followed by a lower-case word (`e.g. this`, `Perhaps… it does`) ends no sentence."""
    spans: list[tuple[int, int]] = []
    start, i, n = 0, 0, len(text)
    while i < n:
        if text[i] not in SENTENCE_ENDS or not safe[i + 1]:
            i += 1
            continue
        cut = i + 1
        while cut < n and text[cut] in _RUN:
            cut += 1
        after = _skip_space(text, cut)
        spaced = cut == n or text[cut].isspace() or text[i] in NO_SPACE_AFTER
        if safe[cut] and spaced and not (after < n and text[after].islower()):
            spans.append((start, cut))
            start = after
        i = cut
    if start < n:
        spans.append((start, n))
    return [span for span in spans if span[1] > span[0]]


def _fit(text: str, span: tuple[int, int], safe: list[bool], limit: int) -> list[tuple[int, int]]:
    """A sentence as pieces of at most `limit` characters (one sentence within the limit is one piece)."""
    start, end = span
    pieces: list[tuple[int, int]] = []
    while end - start > limit:
        cut = _cut(text, start, end, safe, limit)
        trimmed = cut
        while trimmed > start and text[trimmed - 1].isspace():
            trimmed -= 1
        pieces.append((start, trimmed))
        start = _skip_space(text, cut)
    if end > start:
        pieces.append((start, end))
    return pieces


def _cut(text: str, start: int, end: int, safe: list[bool], limit: int) -> int:
    """Where to cut a sentence too long for one chunk: after its last clause mark in the second half of the
    limit; else at its last space (not right after an audio tag, which goes with what follows it); else
    inside a word longer than the limit; else after a tag longer than the limit, which is never cut."""
    stop = start + limit
    return (_first(range(stop, start + limit // 2, -1),
                   lambda k: safe[k] and text[k - 1] in CLAUSE_ENDS and text[k].isspace())
            or _first(range(stop, start, -1),
                      lambda k: safe[k] and text[k].isspace() and not _after_audio_tag(text, k))
            or _first(range(stop, start, -1), lambda k: safe[k] and text[k].isspace())
            or _first(range(stop, start, -1), lambda k: safe[k])
            or _first(range(stop + 1, end), lambda k: safe[k])
            or end)


def _first(candidates: range, ok: Callable[[int], bool]) -> int | None:
    """The first candidate cut, in the order given, that `ok` allows."""
    return next((k for k in candidates if ok(k)), None)


def _spoken(text: str) -> bool:
    return bool(MARKUP_TAG.sub("", text).strip())


def _after_audio_tag(text: str, i: int) -> bool:
    while i > 0 and text[i - 1].isspace():
        i -= 1
    return i > 0 and text[i - 1] == "]"


def _skip_space(text: str, i: int) -> int:
    while i < len(text) and text[i].isspace():
        i += 1
    return i
