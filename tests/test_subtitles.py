"""Subtitle cues from word timings, and the two file formats byte for byte."""

from __future__ import annotations

import pytest

from filmc.subtitles import MAX_CHARS, SubtitleCue, TimedLine, TimedWord, cues_from_lines, to_srt, to_vtt

LONG = (
    "Anno 2847. L'umanità è estinta da duecento anni, e nessuno ricorda più il suono "
    "di una voce umana che canta nella notte senza fine."
)


def _timed(text: str, start: float, pace: float = 0.06) -> TimedLine:
    """Word timings like a voice gives them: bare words, punctuation stripped, a gap between words."""
    words, t = [], 0.0
    for word in text.split():
        words.append(
            TimedWord(word=word.strip(".,;:!?"), start=round(t, 3), end=round(t + pace * len(word), 3))
        )
        t += pace * len(word) + 0.12
    return TimedLine(start=start, text=text, words=tuple(words))


def test_long_line_breaks_into_cues_of_two_short_lines() -> None:
    cues = cues_from_lines([_timed(LONG, 3.0)])
    assert len(cues) >= 2
    for cue in cues:
        rows = cue.text.split("\n")
        assert 1 <= len(rows) <= 2
        assert all(len(row) <= MAX_CHARS for row in rows)
    assert " ".join(c.text.replace("\n", " ") for c in cues) == LONG  # every word, with its punctuation


def test_cue_times_come_from_the_words_they_hold() -> None:
    line = _timed(LONG, 3.0)
    cues = cues_from_lines([line])
    position = 0
    for cue in cues:
        count = len(cue.text.split())
        first, last = line.words[position], line.words[position + count - 1]
        assert cue.start == pytest.approx(3.0 + first.start, abs=1e-3)
        assert cue.end == pytest.approx(3.0 + last.end, abs=1e-3)
        position += count
    assert position == len(line.words)


def test_a_cue_ends_at_a_sentence_when_it_can() -> None:
    cues = cues_from_lines(
        [
            _timed(
                "One two three four five six seven eight. Nine ten eleven twelve thirteen "
                "fourteen fifteen sixteen seventeen eighteen nineteen twenty",
                0.0,
            )
        ]
    )
    assert cues[0].text.replace("\n", " ").endswith("eight.")


def test_overlapping_lines_never_overlap_on_screen() -> None:
    cues = cues_from_lines([_timed("Second line here.", 1.0), _timed("First line that runs long.", 0.0)])
    assert [c.text for c in cues] == ["First line that runs long.", "Second line here."]
    assert cues[0].end <= cues[1].start


def test_a_line_without_word_timings_still_gets_a_cue() -> None:
    cues = cues_from_lines([TimedLine(start=2.0, text="Hello there", words=(), duration=1.0)])
    assert [(c.start, c.end, c.text) for c in cues] == [(2.0, 3.0, "Hello there")]


CUES = (
    SubtitleCue(start=1.0, end=2.5, text="Hello, <world> & you"),
    SubtitleCue(start=3661.0456, end=3662.9994, text="two\nlines"),
)


def test_srt_golden() -> None:
    assert to_srt(CUES) == (
        "1\n00:00:01,000 --> 00:00:02,500\nHello, <world> & you\n\n"
        "2\n01:01:01,046 --> 01:01:02,999\ntwo\nlines\n"
    )


def test_vtt_golden() -> None:
    assert to_vtt(CUES) == (
        "WEBVTT\n\n00:00:01.000 --> 00:00:02.500\nHello, &lt;world&gt; &amp; you\n\n"
        "01:01:01.046 --> 01:01:02.999\ntwo\nlines\n"
    )


def test_empty_input() -> None:
    assert cues_from_lines([]) == ()
    assert cues_from_lines([TimedLine(start=0.0, text="", words=())]) == ()
    assert to_srt(()) == ""
    assert to_vtt(()) == "WEBVTT\n"
