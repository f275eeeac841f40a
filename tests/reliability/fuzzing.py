"""The language fuzzer: specs generated from the grammar's shapes and specs mutated from every `.film` in the
repository, each put through what `filmc check` does (decode, parse, check, render the diagnostics).

The only acceptable outcomes are a checked film or diagnostics located inside the file; anything else (an
exception that is not a FilmError, a span outside the file, rendering that raises) is a finding.
Shared by `tests/reliability/test_language_fuzz.py` (CI: a few thousand cases) and `stress/fuzz_language.py`.
"""

from __future__ import annotations

import random
import re
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from filmc.check.rules import check
from filmc.diagnostics import FilmError, render_all
from filmc.syntax import parse_collecting

ROOT = Path(__file__).resolve().parents[2]
SEEDS = sorted({*ROOT.glob("films/*.film"), *ROOT.glob("tests/**/*.film")})
HOSTILE = ["\x00", "\ufeff", "\r\n", "\r", "\u202e", "\u200f", "e\u0301\u0301", "漢字", "🎬", "\t", "{{ 7*7 }}",
           "{% raw %}", "<script>", "$(rm -rf ~)", "`", "%{pts}", "\\", "'", '"', ";", "[", "]", "{", "}", "//",
           "/*", "*", "+", "-", "@", "#", ":", "0:00", "99:99", "1e9s", "-1s", "0s", "\u2028", "\x1b[31m", "\x7f"]
TOKEN = re.compile(r'\s+|"(?:[^"\\\n]|\\.)*"|#[0-9A-Fa-f]+|[\w.:]+|.', re.DOTALL)


@dataclass
class Finding:
    kind: str
    detail: str
    source: bytes


@dataclass
class Tally:
    cases: int = 0
    checked: int = 0
    diagnostics: int = 0
    findings: list[Finding] = field(default_factory=list)


def run_case(raw: bytes, tally: Tally, project: Path) -> None:
    """One input through decode, parse, check and rendering; a finding for anything but clean outcomes."""
    tally.cases += 1
    path = "fuzz.film"
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        tally.diagnostics += 1   # read_source's F0010, located by line: its own test covers it
        return
    try:
        film, lowering = parse_collecting(text, path)
        check(film, project, lowering)
        tally.checked += 1
    except FilmError as err:
        lines = len(text.splitlines()) + 1
        for d in err.diagnostics:
            tally.diagnostics += 1
            if d.span.path != path or not (1 <= d.span.line <= lines and d.span.column >= 1):
                tally.findings.append(Finding("outside", f"{d.code} at {d.span.line}:{d.span.column}", raw))
        try:
            render_all(err.diagnostics, {path: text})
        except Exception:
            tally.findings.append(Finding("render", traceback.format_exc(limit=3), raw))
    except RecursionError:
        tally.findings.append(Finding("recursion", "RecursionError", raw))
    except Exception:
        tally.findings.append(Finding("exception", traceback.format_exc(limit=4), raw))


def corpus() -> list[str]:
    return [p.read_text("utf-8") for p in SEEDS]


def mutate(text: str, rng: random.Random, donors: list[str]) -> bytes:
    """A few token- or byte-level edits: delete, duplicate, swap, splice from another film, insert hostile text,
    flip a byte, truncate."""
    tokens = TOKEN.findall(text)
    for _ in range(rng.randint(1, 4)):
        if not tokens:
            break
        i = rng.randrange(len(tokens))
        op = rng.randrange(6)
        if op == 0:
            del tokens[i]
        elif op == 1:
            tokens.insert(i, tokens[i])
        elif op == 2:
            j = rng.randrange(len(tokens))
            tokens[i], tokens[j] = tokens[j], tokens[i]
        elif op == 3:
            donor = TOKEN.findall(rng.choice(donors)) or [" "]
            start = rng.randrange(len(donor))
            tokens[i:i] = donor[start:start + rng.randint(1, 12)]
        elif op == 4:
            tokens.insert(i, rng.choice(HOSTILE))
        else:
            del tokens[i:]
    raw = bytearray("".join(tokens).encode("utf-8"))
    if raw and rng.random() < 0.15:
        raw[rng.randrange(len(raw))] = rng.randrange(256)
    return bytes(raw)


def text_of(rng: random.Random, limit: int = 40) -> str:
    """Mostly words, sometimes anything: a checker must take both."""
    alphabet = "abcdefg xyz ÀÉ漢字 🎬.,;:!?" if rng.random() < 0.8 else \
        "abc xyz ÀÉ漢字 🎬.,;:!?*[]{}<>%$\\'`-+#@/\t" + "".join(HOSTILE)
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, limit))).replace('"', "'").replace("\n", " ")


def pick(rng: random.Random, usual: list[str], odd: list[str]) -> str:
    return rng.choice(odd if rng.random() < 0.1 else usual)


def generate(rng: random.Random) -> bytes:
    """A film shaped by the grammar, with random text, lengths, times and colours in every slot."""
    def dur() -> str:
        return pick(rng, ["2s", "1.5s", "2s", "4s", "3s"], ["0s", "-1s", "1m6s", "3", "800ms", "1:00", "500ms"])

    def colour() -> str:
        return pick(rng, ["#0B1E3F", "#FFB347", "#c46a1b"], ["#FFF", "#GGGGGG", "#12345", "red"])

    scenes = []
    for _scene in range(rng.randint(0, 4)):
        shots = "\n".join(f'    shot {dur()} "{text_of(rng)}" {{ camera {rng.choice(["orbit", "slow-push-in", "zoom"])}'
                          f"{' with orb' if rng.random() < 0.5 else ''} }}" for _ in range(rng.randint(0, 3)))
        says = "\n".join(f'    say +{rng.choice(["200ms", "0s", "1s", "9s"])} "{text_of(rng)}" '
                         f'tone "{text_of(rng, 10)}"{" pace slow" if rng.random() < 0.3 else ""}'
                         for _ in range(rng.randint(0, 2)))
        scenes.append(f'  scene "{text_of(rng, 12)}" {{\n{shots}\n{says}\n  }}')
    cues = "\n".join(f'    {rng.choice(["0:00", "2s", "4s", "1:00"])} "{text_of(rng)}" intensity '
                     f'{rng.choice(["0.3", "1", "2", "-0.1"])}' for _ in range(rng.randint(0, 3)))
    body = "\n".join([
        f"  language {pick(rng, ['en', 'it'], ['xx', 'zh-Hans'])}",
        f"  frame {pick(rng, ['320x180', '1920x1080'], ['0x0', '321x181'])} "
        f"@ {pick(rng, ['24', '25'], ['23.976', '0'])}",
        f"  duration {pick(rng, ['10s', '12s', '8s'], ['0s', '1s', '1:00'])}",
        f'  style "{text_of(rng)}"',
        f'  entity orb "{text_of(rng)}"',
        f'  voice narrator "{text_of(rng)}"',
        f"  palette {{\n    0:00 a {colour()} {colour()}\n    {dur()} b {colour()} {colour()}\n  }}",
        f"  music {{\n{cues}\n  }}",
        f'  title {dur()} {{ "{text_of(rng)}" }}',
        *scenes,
        f'  credits {dur()} {{ "{text_of(rng)}" }}',
    ])
    return f'film "{text_of(rng, 20)}" {{\n{body}\n}}\n'.encode()
