"""`filmc fmt` keeps every comment beside the code it was written after, and lays out the new transition forms."""

from __future__ import annotations

from filmc.syntax.fmt import format_text


def fmt(text: str) -> str:
    once = format_text(text, "f.film")
    assert format_text(once, "f.film") == once   # idempotent
    return once


def test_a_comment_sharing_the_film_line_stays_with_the_statement_it_follows() -> None:
    out = fmt('film "T" { language en  // english\n  scene "A" { shot 2s "x" }\n}\n')
    assert out.splitlines()[:2] == ['film "T" {', "  language en  // english"]
    assert fmt('film "T" {  // the film\n  language en\n  scene "A" { shot 2s "x" }\n}\n').startswith(
        'film "T" {  // the film\n  language en\n')


def test_a_comment_inside_a_one_line_block_stays_inside_it() -> None:
    out = fmt('film "T" {\n  language en\n  scene "A" {\n    shot 2s "z" { camera static  // locked off\n    }\n'
              '  }\n  credits 1s { "c"  // the only line\n  }\n}\n')
    assert "      camera static  // locked off\n    }" in out
    assert '    "c"  // the only line\n  }' in out


def test_a_comment_after_a_one_line_block_stays_after_it() -> None:
    out = fmt('film "T" {\n  language en\n  palette { 0:00 a #000000 }  // one stop\n'
              '  scene "A" { shot 2s "x" }  // short\n}\n')
    assert "    0:00 a #000000\n  }  // one stop" in out
    assert '    shot 2s "x"\n  }  // short' in out


def test_directions_and_card_transitions_are_kept() -> None:
    out = fmt('film "T" { language en title 2s { "T" transition out crossfade 1s }\n'
              'scene "A" { shot 2s "x" { transition in fade-from-black 1s transition crossfade } } }\n')
    assert '  title 2s {\n    "T"\n    transition out crossfade 1s\n  }' in out
    assert "      transition in fade-from-black 1s\n      transition crossfade\n" in out
