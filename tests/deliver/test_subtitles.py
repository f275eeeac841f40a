"""Subtitle cues from word timings, and the two file formats byte for byte."""

from __future__ import annotations

import pytest

from filmc.backend.protocol import WordTiming
from filmc.deliver.subtitles import MAX_CHARS, SubtitleCue, TimedLine, cues_from_lines, to_srt, to_vtt

LONG = (
    "Anno 2847. L'umanità è estinta da duecento anni, e nessuno ricorda più il suono "
    "di una voce umana che canta nella notte senza fine."
)


def _timed(text: str, start: float, pace: float = 0.06) -> TimedLine:
    """Word timings like a voice gives them: bare words, punctuation stripped, a gap between words."""
    words, t = [], 0.0
    for word in text.split():
        words.append(
            WordTiming(word=word.strip(".,;:!?"), start=round(t, 3), end=round(t + pace * len(word), 3))
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


# ---------------------------------------------------------------- the written text, whatever the voice reports

FILM_LINE = "It would not fit in the time that remains in the film at all."


def _without(line: TimedLine, *skipped: str) -> TimedLine:
    """The line as espeak reports it: no WORD event for some written tokens (an unstressed "the", a dash)."""
    return line.model_copy(update={"words": tuple(w for w in line.words if w.word not in skipped)})


def _shown(cues: tuple[SubtitleCue, ...]) -> str:
    return " ".join(c.text.replace("\n", " ") for c in cues)


def test_words_the_voice_skipped_are_still_shown_in_order() -> None:
    line = _without(_timed(FILM_LINE, 0.0), "the")
    assert [w.word for w in line.words].count("the") == 0  # the voice really did skip both
    assert _shown(cues_from_lines([line])) == FILM_LINE


def test_dashes_and_curly_quotes_survive() -> None:
    text = "“Wait” — she said, «non ora», and ‘the’ door closed — slowly…"
    spoken = _timed(text.replace("—", "").replace("“", "").replace("”", ""), 1.0)
    bare = tuple(w.model_copy(update={"word": w.word.strip("«»‘’…")}) for w in spoken.words)
    cues = cues_from_lines([TimedLine(start=1.0, text=text, words=bare)])
    assert _shown(cues) == text
    assert cues[0].start == pytest.approx(1.0 + bare[0].start, abs=1e-3)


def test_matched_words_keep_the_voices_timings() -> None:
    text = ("In the year 2847 the last of the humans had gone, and no one remembered the sound "
            "of a voice singing in the endless night.")
    line = _without(_timed(text, 3.0), "the")
    cues = cues_from_lines([line])
    assert len(cues) >= 2  # a cue boundary inside the line, where spreading would show
    spoken = iter(line.words)
    for cue in cues:
        first = cue.text.split()[0]
        voiced = [w for w in cue.text.split() if w != "the"]
        timed = [next(spoken) for _ in voiced]
        assert [w.word for w in timed] == [w.strip(".,") for w in voiced]
        if first != "the":
            assert cue.start == pytest.approx(3.0 + timed[0].start, abs=1e-3)
        assert cue.end == pytest.approx(3.0 + timed[-1].end, abs=1e-3)


def test_a_skipped_word_is_timed_between_its_neighbours() -> None:
    text = ("One two three four five six seven eight. The nine ten eleven twelve thirteen "
            "fourteen fifteen sixteen")
    line = _without(_timed(text, 2.0), "The")
    eight, nine = (next(w for w in line.words if w.word == name) for name in ("eight", "nine"))
    cues = cues_from_lines([line])
    assert cues[1].text.startswith("The nine")
    assert 2.0 + eight.end <= cues[1].start < 2.0 + nine.start
    assert cues[0].end == pytest.approx(2.0 + eight.end, abs=1e-3)


def test_a_skipped_word_with_no_silence_around_it_sits_at_the_next_word() -> None:
    words = (WordTiming(word="in", start=0.0, end=0.4), WordTiming(word="time", start=0.4, end=0.9))
    cues = cues_from_lines([TimedLine(start=1.0, text="in the time", words=words)])
    assert [(c.start, c.end, c.text) for c in cues] == [(1.0, 1.9, "in the time")]


def test_a_sentence_ends_before_a_closing_quote() -> None:
    text = ("“One two three four five six seven eight.” Nine ten eleven twelve thirteen "
            "fourteen fifteen sixteen seventeen eighteen nineteen twenty")
    cues = cues_from_lines([_timed(text, 0.0)])
    assert cues[0].text.replace("\n", " ").endswith("eight.”")
    assert _shown(cues) == text


def test_cues_past_the_films_end_are_dropped_and_the_rest_clamped() -> None:
    lines = [_timed("First line here.", 0.0), _timed("Second line that runs on.", 6.5),
             _timed("Third line.", 7.0), _timed("Fourth line.", 9.0)]
    cues = cues_from_lines(lines, end=7.0)
    assert [c.text for c in cues] == ["First line here.", "Second line that runs on."]
    assert cues[0].end == pytest.approx(lines[0].start + lines[0].words[-1].end)
    assert cues[1].end == 7.0
    assert len(cues_from_lines(lines)) == 4
