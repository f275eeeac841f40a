"""The language fuzzer: bad input never crashes filmc, and every problem is a diagnostic located in the file.

Two sources of input, each put through exactly what `filmc check` does (`filmc.check.load` reads the bytes,
parses and checks; the CLI re-reads the file to show the diagnostics and renders them as text or JSON):

* films generated from the grammar itself (`grammar/film.lark`, walked rule by rule, so every statement the
  language has is produced, in any order, with any repetition), with realistic and hostile values in each
  slot: text with control characters, bidi marks, combining marks, CJK and emoji; durations of 0 or of
  hundreds of digits; paths that lead out of the project; unknown words; narration markup;
* every `.film` in the repository (films/, tests/), mutated: tokens deleted, duplicated, swapped, spliced
  from another film, replaced by huge numbers; bytes flipped; NUL, BOM, CRLF, CR, RTL marks, line
  separators and malformed UTF-8 inserted; the file truncated.

The only acceptable outcomes are a checked film or a FilmError whose diagnostics all point inside the file
(by the parser's own line numbering) and render without raising, as text, as JSON and on a terminal.
Anything else is a finding. A diagnostic the CLI draws under another line's text (its renderer splits lines
at U+2028 and form feeds as well) is counted apart, as "misshown".

`tests/reliability/test_language_fuzz.py` runs a CI share (hypothesis draws the bytes its films are made
from); this script runs the full share and prints the figures:

    python stress/fuzz_language.py [--cases 100000] [--seed 1]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import heapq
import io
import random
import re
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:   # run as a script: the repository root, for filmc in a checkout
    sys.path.insert(0, str(ROOT))

from filmc.check import load  # noqa: E402
from filmc.check.loader import decode_source  # noqa: E402
from filmc.diagnostics import Diagnostic, FilmError, render_all, render_text, to_json  # noqa: E402
from filmc.model import Span  # noqa: E402
from filmc.vocabulary import CAMERA_MOVES, PACES, TRANSITIONS  # noqa: E402

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

T = TypeVar("T")
FILM_NAME = "fuzz.film"
SEEDS = sorted({*ROOT.glob("films/*.film"), *ROOT.glob("tests/**/*.film")})

# Characters that have broken text handling somewhere, some time: controls, bidi, line separators that
# are not \n, combining marks, wide and astral characters, template and shell syntax, the language's own.
HOSTILE = ["\x00", "\ufeff", "\r\n", "\r", "\u202e", "\u200f", "\u2066", "e\u0301\u0301\u0301", "漢字", "🎬", "\t",
           "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u2029", "\x1b[31m", "\x7f", "\ufffd", "\U0001f3f3\ufe0f\u200d",
           "{{ 7*7 }}", "{% raw %}", "<script>", "$(rm -rf ~)", "`", "%{pts}", "\\", "'", '"', '"""', ";", "[", "]",
           "{", "}", "//", "/*", "*", "+", "-", "@", "#", ":", ",", "0:00", "99:99", "1e9s", "-1s", "0s", "٣s",
           "９s", "1" * 40, "9" * 400 + "s", "ｆｉｌｍ"]
BAD_UTF8 = [b"\xff", b"\xfe\xff", b"\xc3", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82", b"\x80"]
NEWLINES = ["\r\n", "\r", "\u2028", "\x85", "\x0c", "\x0b"]
TOKEN = re.compile(r'\s+|"""(?:.|\n)*?"""|"(?:[^"\\\n]|\\.)*"|#[0-9A-Za-z]+|[\w.:-]+|.', re.DOTALL)

# ---------------------------------------------------------------------------------------------- sources


class Source(Protocol):
    """Where the generator's choices come from: `random.Random` for the full run, hypothesis in CI.
    `odd`: how often a slot gets an odd value rather than a usual one (each film draws its own)."""

    odd: float

    def below(self, n: int) -> int: ...   # 0 <= result < n

    def chance(self, p: float) -> bool: ...

    def text(self, limit: int) -> str: ...


def choice(src: Source, items: Sequence[T]) -> T:
    return items[src.below(len(items))]


def pick(src: Source, usual: Sequence[str], odd: Callable[[], Sequence[str]], weight: float = 1.0) -> str:
    """Usually a value from `usual`; sometimes one from `odd` (made only then: some are thousands of digits)."""
    return choice(src, odd()) if src.odd and src.chance(src.odd * weight) else choice(src, usual)


def words(src: Source, most: int = 8) -> str:
    return " ".join(choice(src, _WORDS) for _ in range(1 + src.below(most)))


_WORDS = ["a", "the", "orb", "glass", "light", "slowly", "turns", "warm", "cold", "night", "città", "漢字", "naïve",
          "\ufeff", "🎬"]
_ALPHABET = "abcdefg xyz ÀÉ漢字 🎬.,;:!?*[]{}<>%$\\'`-+#@/\t" + "".join(HOSTILE)


class RandomSource:
    """Choices from a seeded `random.Random`: fast, and the same run for the same seed."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.odd = 0.1

    def below(self, n: int) -> int:
        return self.rng.randrange(n) if n > 0 else 0

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def text(self, limit: int) -> str:
        n = self.rng.randint(0, limit)
        if self.rng.random() < 0.7:
            return " ".join(self.rng.choice(_WORDS) for _ in range(max(1, n // 5)))
        if self.rng.random() < 0.5:
            return "".join(self.rng.choice(_ALPHABET) for _ in range(n))
        return "".join(chr(self.rng.choice([self.rng.randrange(32, 0x250), self.rng.randrange(0x250, 0xD800),
                                            self.rng.randrange(0xE000, 0x110000), self.rng.randrange(0, 32)]))
                       for _ in range(n))


class ByteSource:
    """Choices read from a byte string, for hypothesis: one `st.binary()` draw makes a whole film (thousands of
    draws would cost ~100 ms a film), and as hypothesis shrinks the bytes towards fewer and smaller, every
    choice goes to its simplest: the first alternative, no repetition, the usual value, a short text.
    Past the end of the bytes every choice is the simplest one, so any byte string is a film."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at, self.odd = data, 0, 0.1

    def _byte(self) -> int:
        self.at += 1
        return self.data[self.at - 1] if self.at <= len(self.data) else 0

    def below(self, n: int) -> int:
        if n <= 1:
            return 0
        value = self._byte()
        for _ in range(1, (n.bit_length() + 7) // 8):
            value = value << 8 | self._byte()
        return value % n

    def chance(self, p: float) -> bool:
        return p > 0 and 255 - self._byte() < p * 256

    def text(self, limit: int) -> str:
        chars = []
        for _ in range(self.below(limit + 1)):
            if self.chance(0.7):
                chars.append(_ALPHABET[self.below(len(_ALPHABET))])
            else:   # any scalar value: a surrogate's code point is moved past the surrogates
                point = self.below(0x110000 - 0x800)
                chars.append(chr(point if point < 0xD800 else point + 0x800))
        return "".join(chars)


def films() -> SearchStrategy[bytes]:
    """Hypothesis's strategy for generated films: `generate`, its choices read from bytes hypothesis draws."""
    from hypothesis import strategies as st

    return st.binary(min_size=1024, max_size=4096).map(lambda data: generate(ByteSource(data)))


def mutants(donors: Sequence[str]) -> SearchStrategy[bytes]:
    """Hypothesis's strategy for mutated films: a donor film, then `mutate`, its choices read from bytes."""
    from hypothesis import strategies as st

    return st.tuples(st.sampled_from(donors), st.binary(min_size=16, max_size=256)).map(
        lambda pair: mutate(pair[0], ByteSource(pair[1]), donors))


# ---------------------------------------------------------------------------------------------- generation

ENTITY_NAMES = ["orb", "moth", "hero", "glass-orb"]
VOICE_NAMES = ["narrator", "guide", "narrator_2"]
PATHS = ["media/orb.png", "media/clip.mp4", "style.txt", "media/in.png",   # inside (in.png links inside)
         "media/out.png", "../elsewhere/orb.png", "/etc/passwd", "/dev/zero", "media/../../elsewhere/orb.png",
         "media", "nothing.png", "bad.txt", "", ".", "a\x00b", "media/loop", "~/x", "C:\\x", "a" * 300,
         "/".join(["a" * 250] * 4), "media/%2e%2e/x", "ｍｅｄｉａ/orb.png"]


def digits(src: Source, n: int) -> str:
    """n digits, from one draw (hypothesis would otherwise draw, and shrink, each of thousands)."""
    start = src.below(10)
    return ("1234567890" * (n // 10 + 2))[start:start + n]


_DURATIONS = ["2s", "3s", "4s", "1.5s", "0:03", "2500ms", "6s"]
_USUAL_TIMES = {"transition": ["500ms", "0.5s", "1s"], "start_relative": ["0s", "200ms", "0.5s", "1s"],
                "start_absolute": ["0:00", "0.5s", "1s"], "pause_after": ["200ms", "0.5s"],
                "stop": ["0:00", "1s", "2s", "4s", "8s"], "cue": ["0:00", "1s", "2s", "4s"]}


def gen_time(src: Source, rule: str) -> str:
    def odd() -> list[str]:
        return ["0s", "0ms", "0:00", "0:59.999", "0:99", "99:59", "1440:00", "86400s", "86401s", "3600000s",
                "0.0000001s", "1" + "0" * 30 + "s", digits(src, 400) + "s", digits(src, 5000) + "ms",
                digits(src, 400) + ":00", "0:0" + "." + digits(src, 5000), "٣s", "१:३०", "１s", "1:05.5", "12s"]

    return pick(src, _USUAL_TIMES.get(rule, _DURATIONS), odd)


def gen_range(src: Source, rule: str) -> str:
    """`low..high`: usually two lengths in order, sometimes reversed, zero, equal or absurd."""
    low, high = gen_time(src, rule), gen_time(src, rule)
    def odd() -> list[str]:
        return [f"{high}..{low}", "0s..0s", f"{low}..{low}", "1s..86401s", f"{low}..{digits(src, 400)}s"]
    return pick(src, [f"{low}..{high}", "4s..8s", "2s..3.5s", "0:10..0:20"], odd)


def gen_signed(src: Source) -> str:
    """A negative level, as `expect` writes loudness and true peak."""
    def odd() -> list[str]:
        return ["-0", "-0.0", "-1000000", "-" + digits(src, 400), "-1." + digits(src, 5000)]
    return pick(src, ["-16", "-23", "-1", "-1.5", "-14.0"], odd)


def gen_tolerance(src: Source) -> str:
    """`±1`, `+-0.5s`: an `expect` line's margin."""
    def odd() -> list[str]:
        return ["±0", "+-0", "±" + digits(src, 400), "±1." + digits(src, 5000) + "s", "+-99999ms"]
    return pick(src, ["±1", "+-1", "±0.5s", "±2", "+-250ms"], odd)


def gen_number(src: Source, rule: str) -> str:
    usual = {"frame": ["24", "25", "23.976", "30", "29.97", "60"], "intensity": ["0", "0.3", "0.5", "0.8", "1"],
             "pace": ["0.85", "1", "1.2", "0.5", "2"]}.get(rule, ["1", "0.5"])
    def odd() -> list[str]:
        return ["0", "0.0", "121", "1000000", "0.0000000001", "3", digits(src, 40), digits(src, 400),
           digits(src, 5000), "1." + digits(src, 5000), "٣"]
    return pick(src, usual, odd)


def gen_size(src: Source) -> str:
    usual = ["1280x720", "1920x1080", "320x180", "640x360"]
    def odd() -> list[str]:
        return ["0x0", "321x181", "16x16", "8192x8192", "8194x2", "99999x99999", digits(src, 30) + "x2",
           "2x" + digits(src, 5000), "١٢٨٠x٧٢٠"]
    return pick(src, usual, odd)


def gen_colour(src: Source) -> str:
    return pick(src, ["#0B1E3F", "#3A7BD5", "#FFB347", "#c46a1b", "#1A1A1A"],
                lambda: ["#FFF", "#GGGGGG", "#12345", "#1234567", "#" + "F" * 300, "#a"])


def gen_name(src: Source, rule: str) -> str:
    pools = {"language": (["en", "it", "fr", "de", "pt-BR", "en-GB"], ["xx", "e", "zh-Hans-CN", "toolong-abcdefghij"]),
             "camera": (list(CAMERA_MOVES), ["zoom", "dolly", "orbit_", "static-"]),
             "transition": (list(TRANSITIONS), ["fade", "dissolve", "crossfade-"]),
             "pace": (list(PACES), ["slower", "quick", "slow-"]),
             "entity": (ENTITY_NAMES, ["orb", "x_" * 50]), "with": (ENTITY_NAMES, ["ghost", "orbb"]),
             "voice": (VOICE_NAMES, ["narrator"]), "say_voice": (VOICE_NAMES, ["nobody", "narator"]),
             "stop": (["cold", "warm", "dawn", "dusk"], ["_", "a-b-c"])}
    usual, odd = pools.get(rule, (["a", "name"], ["b"]))
    if src.chance(src.odd / 4):   # anything the NAME terminal allows, including keywords
        return "_" + "".join(choice(src, "abcXYZ019_") for _ in range(src.below(12))) if src.chance(0.5) else \
            choice(src, ["film", "scene", "shot", "say", "at", "with", "pause-after", "title", "x-1-2"])
    return pick(src, usual, lambda: odd)


def narration(src: Source) -> str:
    def odd() -> list[str]:
        return ["[pause 99:99]", "[pause]", "[sigh]", "[", "]", "*", "[pause " + digits(src, 400) + "s]",
                "[pause 1:75]", "[pause " + digits(src, 5000) + "ms]", "[pause -1s]", "[ breath ]", "**",
                "[pause 0s]", "[pause 86401s]", "<odd text>"]

    parts = [pick(src, ["<text>", "<text>", "[pause 0.3s]", "[breath]", "*word*"], odd, 2)
             for _ in range(1 + src.below(4))]
    return " ".join(words(src, 4) if p == "<text>" else src.text(30) if p == "<odd text>" else p for p in parts)


def quote(src: Source, value: str) -> str:
    """A STRING token holding `value`; mostly escaped as the language wants, sometimes with stray escapes."""
    body = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    if src.chance(src.odd / 2):
        body += choice(src, ["\\q", "\\t", "\\\\", "\\u00e9", "\\0", "\\ "])
    return '"' + body + '"'


def gen_string(src: Source, rule: str) -> str:
    if rule in ("entity_image", "clip", "style_include", "music_file"):
        return quote(src, pick(src, PATHS[:4], lambda: PATHS[4:], 3))
    if rule == "say":
        return quote(src, narration(src))
    kind = pick(src, ["words"], lambda: ["text", "long", "empty"], 2)
    value = words(src) if kind == "words" else src.text(40) if kind == "text" else src.text(400) if kind == "long" \
        else ""
    return quote(src, value)


def gen_block(src: Source) -> str:
    lines = [(words(src) if src.chance(0.7) else src.text(30)).replace('"""', "") for _ in range(1 + src.below(4))]
    indent = choice(src, ["", "  ", "\t", "    "])
    return '"""' + ("\n" + indent).join(lines) + choice(src, ['"""', '\n  """'])


@functools.cache
def grammar() -> tuple[dict[str, list[tuple[str, ...]]], dict[str, str], dict[tuple[str, tuple[str, ...]], str]]:
    """The compiled grammar as plain data: rule -> alternatives (symbol names), the literal terminals, and
    the alternatives with a name of their own (`"style" "include" STRING -> style_include`)."""
    from filmc.syntax.parser import parser

    lark = parser()
    rules: dict[str, list[tuple[str, ...]]] = {}
    aliases: dict[tuple[str, tuple[str, ...]], str] = {}
    for rule in lark.rules:
        symbols = tuple(str(s.name) for s in rule.expansion)
        rules.setdefault(rule.origin.name, []).append(symbols)
        if rule.alias:
            aliases[(rule.origin.name, symbols)] = str(rule.alias)
    literals = {t.name: str(t.pattern.value) for t in lark.terminals if t.pattern.type == "str"}
    return rules, literals, aliases


# Statements a film is mostly made of come up more often; a setting given once per place is mostly given once.
_WEIGHTS = {"scene": 8, "shot": 16, "say": 2, "card": 1, "entity": 2, "voice": 1}
_ONCE = {"language", "frame", "target", "by", "style", "palette", "music", "camera", "light", "mood", "with",
         "transition", "clip", "say_voice", "tone", "pace", "pause_after", "instruments", "intensity"}
# How likely a repetition (`x*`) goes on: scenes and shots run long, settings of one place are few.
_MORE = {"__film_star": 0.85, "__scene_star": 0.75, "__palette_star": 0.6, "__music_star": 0.6, "__card_star": 0.6,
         "__stop_plus": 0.5, "__with_star": 0.4, "__entity_star": 0.3}
_SPACES = [" ", " ", " ", "\n  ", "\n", "\n\n    ", "\t", "  // a comment\n", "\r\n"]


# Alternatives that make a well-formed film wrong more often than not (a scene's own length that must add up,
# a line's explicit start that must fall inside its scene, a length range outside a fitted scene): taken in
# proportion to how odd this film is.
_RISKY = {"TIME": {"scene"}, "RANGE": {"scene", "shot"}, "start_relative": {"say"}, "start_absolute": {"say"}}


@dataclass
class Walk:
    """One film's walk through the grammar: where the choices come from, and which names it used."""

    src: Source
    given: set[str] = field(default_factory=set)    # the film's settings given before the walk (a language)
    made: set[str] = field(default_factory=set)     # every rule the walk made
    used: dict[str, set[str]] = field(default_factory=lambda: {"entity": set(), "voice": set()})
    declared: dict[str, set[str]] = field(default_factory=lambda: {"entity": set(), "voice": set()})


@functools.cache
def _shape(rule: str, alternative: tuple[str, ...]) -> tuple[int, frozenset[str], bool]:
    """What weighs an alternative, worked out once: its weight, its once-only settings, whether it is risky."""
    weight = max((_WEIGHTS.get(s, 1) for s in alternative), default=1)
    if any("_star_" in s or "_plus_" in s for s in alternative):
        weight *= 12   # bodies, more than empty {}
    return weight, frozenset(alternative) & _ONCE, any(rule in _RISKY.get(s, ()) for s in alternative)


def _weight(src: Source, rule: str, alternative: tuple[str, ...], seen: set[str]) -> int:
    weight, once, risky = _shape(rule, alternative)
    if once and not once.isdisjoint(seen) and not src.chance(src.odd):
        return 0
    if risky and not src.chance(src.odd * 3 + 0.05):
        return 0
    return weight


def _alternative(src: Source, name: str, alternatives: list[tuple[str, ...]], depth: int,
                 seen: set[str]) -> tuple[str, ...]:
    recursive = [a for a in alternatives if name in a]
    more = next((p for prefix, p in _MORE.items() if name.startswith(prefix)), 0.45)
    if recursive and (depth > 12 or not src.chance(more)):
        alternatives = [a for a in alternatives if name not in a] or alternatives
    elif recursive:
        alternatives = recursive
    weights = [_weight(src, name, alt, seen) for alt in alternatives]
    if not any(weights):
        weights = [1] * len(alternatives)
    roll = src.below(sum(weights))
    for alt, weight in zip(alternatives, weights, strict=True):
        roll -= weight
        if roll < 0:
            return alt
    return alternatives[-1]


def _expand(walk: Walk, symbol: str, rule: str, out: list[str], depth: int, seen: set[str]) -> None:
    rules, literals, aliases = grammar()
    src = walk.src
    if symbol in rules:
        # helper rules (`__scene_star_7`, `_film_item`) pass their parent's name and settings down
        helper = symbol.startswith("_")
        context, inner = (rule, seen) if helper else (symbol, set(walk.given) if symbol == "film" else set())
        seen.add(symbol)
        walk.made.add(symbol)
        alternative = _alternative(src, symbol, rules[symbol], depth, inner)
        context = aliases.get((symbol, alternative), context)
        for child in alternative:
            _expand(walk, child, context, out, depth + 1 if child == symbol else depth, inner)
        return
    if symbol in literals:
        out.append(literals[symbol])
    elif symbol == "STRING":
        out.append(gen_string(src, rule))
    elif symbol == "BLOCK":
        out.append(gen_block(src))
    elif symbol == "TIME":
        out.append(gen_time(src, rule))
    elif symbol == "RANGE":
        out.append(gen_range(src, rule))
    elif symbol == "SIGNED":
        out.append(gen_signed(src))
    elif symbol == "TOLERANCE":
        out.append(gen_tolerance(src))
    elif symbol == "COMPARE":
        out.append(choice(src, ["<=", ">=", "<", ">", "≤", "≥"]))
    elif symbol == "NUMBER":
        out.append(gen_number(src, rule))
    elif symbol == "SIZE":
        out.append(gen_size(src))
    elif symbol == "COLOR":
        out.append(gen_colour(src))
    elif symbol == "NAME":
        name = gen_name(src, rule)
        kind = {"entity": "entity", "with": "entity", "voice": "voice", "say_voice": "voice"}.get(rule)
        if kind is not None:   # `entity NAME`, `voice NAME` declare; `with NAME`, a line's `voice NAME` refer
            declaring = rule in ("entity", "voice")
            if declaring and name in walk.declared[kind] and not src.chance(src.odd * 3):
                name = f"{name}_{len(walk.declared[kind])}"   # declared once, mostly
            (walk.declared if declaring else walk.used)[kind].add(name)
        out.append(name)
    else:
        raise AssertionError(f"the grammar has a terminal the fuzzer can't make: {symbol}")


def generate(src: Source) -> bytes:
    """A film produced by walking the grammar, with a value made for each slot: usually it declares a language,
    has a scene, and declares the entities and voices it names, so every later rule runs on something."""
    src.odd = choice(src, [0.0, 0.0, 0.0, 0.01, 0.03, 0.1, 0.3])
    tokens: list[str] = []
    for _attempt in range(3):
        tokens, walk = [], Walk(src, given={"language"} if src.chance(0.9) else set())
        _expand(walk, "start", "start", tokens, 0, set())
        if "scene" in walk.made or src.chance(src.odd):
            break
    if walk.given:
        tokens[3:3] = ["language", choice(src, ["en", "it"])]
    if not src.chance(src.odd):
        for kind in ("entity", "voice"):
            for name in sorted(walk.used[kind] - walk.declared[kind]):
                tokens[-1:-1] = [kind, name, quote(src, words(src))]
    text = "".join(tok + (choice(src, _SPACES) if src.chance(0.1 + src.odd) else " ") for tok in tokens)
    return text.encode("utf-8")


# ---------------------------------------------------------------------------------------------- mutation


def corpus() -> list[str]:
    return [p.read_text("utf-8") for p in SEEDS]


def mutate(text: str, src: Source, donors: Sequence[str]) -> bytes:
    """1-4 edits of a film's tokens, then sometimes of its bytes: the ways real files go wrong, and worse."""
    tokens = TOKEN.findall(text)
    for _ in range(1 + src.below(4)):
        if not tokens:
            break
        i = src.below(len(tokens))
        op = src.below(9)
        if op == 0:
            del tokens[i]
        elif op == 1:
            tokens[i:i] = tokens[i:i + 1 + src.below(30)] * (1 + src.below(3 if src.chance(0.9) else 60))
        elif op == 2:
            j = src.below(len(tokens))
            tokens[i], tokens[j] = tokens[j], tokens[i]
        elif op == 3:
            donor = TOKEN.findall(choice(src, donors)) or [" "]
            start = src.below(len(donor))
            tokens[i:i] = donor[start:start + 1 + src.below(40)]
        elif op == 4:
            tokens.insert(i, choice(src, HOSTILE))
        elif op == 5:
            numbers = [k for k, t in enumerate(tokens) if t[:1].isdigit()]
            if numbers:
                k = choice(src, numbers)
                tokens[k] = re.sub(r"\d+", lambda _m: digits(src, choice(src, [20, 310, 400, 4400, 5000])),
                                   tokens[k], count=1)
        elif op == 6:
            tokens[i] = src.text(20)
        elif op == 7:
            newline = choice(src, NEWLINES)
            tokens = [t.replace("\n", newline) for t in tokens]
        else:
            del tokens[i:]
    raw = bytearray("".join(tokens).encode("utf-8"))
    if raw and src.chance(0.25):
        at = src.below(len(raw) + 1)
        op = src.below(4)
        if op == 0:
            raw[min(at, len(raw) - 1)] = src.below(256)
        elif op == 1:
            raw[at:at] = choice(src, BAD_UTF8)
        elif op == 2:
            raw[:0] = b"\xef\xbb\xbf" * (1 + src.below(2))
        else:
            raw[at:] = b""
    return bytes(raw)


# ---------------------------------------------------------------------------------------------- one case


@dataclass
class Finding:
    kind: str
    detail: str
    source: bytes


@dataclass
class Tally:
    cases: int = 0
    checked: int = 0
    failed: int = 0
    diagnostics: int = 0
    codes: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    misshown: int = 0                       # right line number, but the CLI shows another line's text under it
    misshown_example: Finding | None = None
    slowest: list[tuple[float, bytes]] = field(default_factory=list)   # the 10 slowest, as first timed


def make_project(root: Path) -> Path:
    """A project folder with files inside it, links in and out of it, and a folder beside it."""
    project, elsewhere = root / "project", root / "elsewhere"
    (project / "media").mkdir(parents=True, exist_ok=True)
    elsewhere.mkdir(exist_ok=True)
    for folder in (project / "media", elsewhere):
        (folder / "orb.png").write_bytes(b"\x89PNG\r\n\x1a\n")
        (folder / "clip.mp4").write_bytes(b"\0" * 64)
    (project / "style.txt").write_text("Soft light.\n", "utf-8")
    (project / "bad.txt").write_bytes(b"\xff\xfe not utf-8")
    for name, target in (("out.png", elsewhere / "orb.png"), ("in.png", project / "media" / "orb.png"),
                         ("loop", project / "media" / "loop")):
        link = project / "media" / name
        if not link.is_symlink():
            link.symlink_to(target)
    return project


def _where(span: Span, lines: list[str]) -> str | None:
    """Why a span is not inside the file, or None; `lines`: the file by the parser's numbering."""
    if not 1 <= span.line <= len(lines) + 1:
        return f"line {span.line} of {len(lines)}"
    text = lines[span.line - 1] if span.line <= len(lines) else ""
    if not 1 <= span.column <= len(text) + 1:
        return f"column {span.column} of a {len(text)}-character line {span.line}"
    if (span.end_line, span.end_column) < (span.line, span.column):
        return f"ends ({span.end_line}:{span.end_column}) before it starts ({span.line}:{span.column})"
    return None


def run_case(raw: bytes, tally: Tally, project: Path, *, check: Callable[[Path], object] = load,
             rich: bool = False) -> None:
    """One input through `filmc check`'s path; a finding for anything but a film or located diagnostics."""
    tally.cases += 1
    path = project / FILM_NAME
    path.write_bytes(raw)
    started = time.perf_counter()
    refused: FilmError | None = None
    try:
        check(path)
        tally.checked += 1
    except FilmError as err:
        refused = err
        tally.failed += 1
    except RecursionError:
        tally.findings.append(Finding("recursion", "RecursionError", raw))
    except Exception:
        tally.findings.append(Finding("exception", traceback.format_exc(limit=6), raw))
    took = time.perf_counter() - started
    if len(tally.slowest) < 10 or took > tally.slowest[0][0]:
        heapq.heappush(tally.slowest, (took, raw))
        if len(tally.slowest) > 10:
            heapq.heappop(tally.slowest)
    if refused is not None:
        _judge(refused.diagnostics, raw, path, tally, rich)


def _judge(diagnostics: Sequence[Diagnostic], raw: bytes, path: Path, tally: Tally, rich: bool) -> None:
    """Every diagnostic points inside the file, and renders as the CLI renders it (text, JSON, the terminal).

    Inside: by the parser's own line numbering (the file split at its line breaks, CRLF and CR included:
    what editors and the language server protocol count). A snippet the CLI shows with another line's text
    (str.splitlines also breaks at U+2028, form feeds and other separators) is counted apart, as `misshown`:
    the diagnostic is right, the text drawn under it is not.
    """
    from filmc.cli.common import sources_for

    if not diagnostics:
        tally.findings.append(Finding("empty", "a FilmError with no diagnostics", raw))
    sources = sources_for(diagnostics)   # what the CLI shows them against: the file read again
    try:
        lines = decode_source(raw, FILM_NAME).split("\n")
    except FilmError:   # not UTF-8: the CLI shows the file with replacement characters, so count those
        lines = sources.get(str(path), "").split("\n")
    for d in diagnostics:
        tally.diagnostics += 1
        tally.codes[d.code] = tally.codes.get(d.code, 0) + 1
        for span in (d.span, *(r.span for r in d.related)):
            problem = "in another file" if span.path != str(path) else _where(span, lines)
            if problem is not None:
                tally.findings.append(Finding("outside", f"{d.code} {d.message[:80]!r}: {problem}", raw))
        if d.span.path == str(path) and _where(d.span, lines) is None:
            drawn = render_text(d, sources.get(str(path), "")).split("\n")[3].rstrip()
            meant = "".join(ch if ch.isprintable() or ch == "\t" else "\ufffd"   # controls drawn inert, one cell each
                            for ch in [*lines, ""][d.span.line - 1]).expandtabs(1).rstrip()
            if not drawn.endswith(f"| {meant}".rstrip()):
                tally.misshown += 1
                tally.misshown_example = tally.misshown_example or Finding(
                    "misshown", f"{d.code}: line {d.span.line} is {meant[:60]!r}, drawn as {drawn[:60]!r}", raw)
    try:
        render_all(diagnostics, sources)
        to_json(diagnostics)
        if rich:   # the terminal's way too: rich parses markup, so a `[` in a message must not break it
            from filmc.cli.ui import print_diagnostics

            with contextlib.redirect_stderr(io.StringIO()):
                print_diagnostics(diagnostics, sources)
    except Exception:
        tally.findings.append(Finding("render", traceback.format_exc(limit=6), raw))


# ---------------------------------------------------------------------------------------------- the full run


def retime(raw: bytes, project: Path) -> float:
    """An input's own time: the best of three runs, each after a full collection (the check pauses the cycle
    collector, so in a long run a collection of everything lands on whichever input comes next)."""
    best = float("inf")
    for _ in range(3):
        gc.collect()
        tally = Tally()
        run_case(raw, tally, project)
        best = min(best, max(took for took, _ in tally.slowest))
    return best


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    rng, donors, tally = random.Random(args.seed), corpus(), Tally()
    src = RandomSource(rng)
    started = time.perf_counter()
    shm = Path("/dev/shm")   # a file is written per case: memory, where there is one
    with tempfile.TemporaryDirectory(dir=shm if shm.is_dir() else None) as tmp:
        project = make_project(Path(tmp))
        run_case(donors[0].encode(), Tally(), project)   # the parser is built once per process: not an input's cost
        for n in range(args.cases):
            raw = generate(src) if n % 2 else mutate(choice(src, donors), src, donors)
            run_case(raw, tally, project, rich=n % 50 == 0)
        wall = time.perf_counter() - started
        first = max(took for took, _ in tally.slowest)
        alone, slow = max((retime(raw, project), raw) for _, raw in tally.slowest)
    common = ", ".join(f"{c} {n}" for c, n in sorted(tally.codes.items(), key=lambda kv: -kv[1])[:8])
    print(f"cases              {tally.cases:,}  (half generated from the grammar, half mutated from "
          f"{len(donors)} films), seed {args.seed}")
    print(f"inputs/s           {tally.cases / wall:,.0f}  ({wall:.0f} s, one process)")
    print(f"checked clean      {tally.checked:,}")
    print(f"refused            {tally.failed:,}, with {tally.diagnostics:,} diagnostics ({len(tally.codes)} codes; "
          f"most: {common})")
    print(f"exceptions         {sum(f.kind in ('exception', 'recursion') for f in tally.findings)}")
    print(f"findings           {len(tally.findings)}  (exceptions, diagnostics outside the file, rendering)")
    print(f"slowest input      {alone * 1000:.1f} ms ({len(slow):,} bytes), the slowest of the 10 slowest timed again "
          f"alone (as first timed: {first * 1000:.1f} ms, a collector pause included)")
    print(f"misshown           {tally.misshown}  (located right, but the CLI draws another line's text under them)")
    for finding in [*tally.findings[:5], *([tally.misshown_example] if tally.misshown_example else [])]:
        print(f"\n{finding.kind}: {finding.detail}\ninput: {finding.source[:400]!r}")
    return 1 if tally.findings else 0


if __name__ == "__main__":
    sys.exit(main())
