"""Hostile text is rendered literally: template syntax, HTML, shell and ffmpeg-filter metacharacters, control
characters, every script. One film carries them in every text field (and is saved with a BOM and CRLF
line endings); `filmc render` makes it, through an ffmpeg that logs what it was asked. The subtitles,
the timeline and the manifest hold the text as written, drawtext reads it from files with expansion off,
no user text reaches an ffmpeg argument, and nothing is evaluated. Text the language refuses is refused
with a located diagnostic.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import unicodedata
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest

from filmc.assemble.cards import card_filters
from filmc.backend.protocol import WordTiming
from filmc.check import load
from filmc.deliver.subtitles import TimedLine, cues_from_lines, to_srt, to_vtt
from filmc.diagnostics import FilmError, render_text

TEMPLATE = "{{ 7*7 }} {% raw %}r{% endraw %} {# c #} ${HOME} #{x}"
HTML = "<script>alert(1)</script> &amp; <b>b</b> ]]> <!-- x --> &lt;"
SHELL = "$(rm -rf ~) `id`; ls | cat && echo $HOME > /tmp/pwned"
FFMPEG = "a:b 'q' \"dq\" \\ \\\\ %{pts} %{eif:1/0:d} %{localtime} ; [in] [out], %% \\n"
SCRIPTS = ("مرحبا بالعالم — שלום עולם \u202eevil\u202c 你好，世界。こんにちは 한국어 👩\u200d👩\u200d👧 🎬 "
           "Z\u0351\u0357e\u0301")
CONTROL = "nul\x00 bell\x07 esc\x1b[31m del\x7f bom\ufeff zwsp\u200b ls\u2028 tab\tend"
LONG = " ".join(f"w{n}" for n in range(2500))[:10_000]   # 10,000 characters
EVERYTHING = " ".join([TEMPLATE, HTML, SHELL, FFMPEG, SCRIPTS, CONTROL])
# In narration `[…]` is a direction and `*…*` emphasis, and a lone one is an error (their own tests below),
# so lines have none: no CDATA end, and an escape sequence that needs no bracket.
SAID = [
    "{{ 7 }} {% raw %} {# c #} ${HOME} <script>alert(1)</script> &amp; <b>b</b> > &lt;",
    "$(rm -rf ~) `id`; ls | cat && echo $HOME > /tmp/x. a:b 'q' \"dq\" \\ %{pts} %{eif:1/0:d} ; , %%",
    "مرحبا — שלום \u202eevil\u202c 你好。 🎬 Z\u0351\u0357e\u0301 nul\x00 esc\x1bc\x1b(0\x7f bom\ufeff tab\tend",
]
# Strings that are part of the picture's filtergraph if anything is spliced: none may appear in an argument.
NEVER_IN_ARGV = ("rm -rf", "%{pts}", "%{eif", "<script>", "{{ 7", "alert(1)", "/tmp/pwned", "مرحبا", "${HOME}")

_FFMPEG_LOGGER = r"""
import json, os, re, sys
args = sys.argv[1:]
texts = {}
for arg in args:
    for m in re.finditer(r"textfile=((?:\\.|[^:,;\\])*)", arg):
        path = re.sub(r"\\(.)", r"\1", re.sub(r"\\(.)", r"\1", m.group(1)))
        with open(path, encoding="utf-8", newline="") as f:
            texts[path] = f.read()
with open(os.path.join(os.environ["FFMPEG_LOG"], f"{os.getpid()}.json"), "w", encoding="utf-8") as log:
    json.dump({"argv": args, "texts": texts}, log)
os.execv(os.environ["REAL_FFMPEG"], [os.environ["REAL_FFMPEG"], *args])
"""


def _film_string(text: str) -> str:
    """`text` as a .film string: quotes and backslashes escaped, line breaks and tabs as `\\n` and `\\t`."""
    body = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{body}"'


def _visible(text: str) -> str:
    """What a subtitle shows of a narration line: its words, without control characters."""
    kept = "".join(ch for ch in text if ch.isspace() or unicodedata.category(ch) != "Cc")
    return " ".join(kept.split())


def hostile_film() -> str:
    """Every text field hostile: titles, descriptions, directions, cards, entities, style and music cues."""
    q = _film_string
    scenes = []
    for n, line in enumerate(SAID):
        title = EVERYTHING if n == 0 else LONG if n == 1 else f"Scene {n} " + SCRIPTS
        scenes.append(
            f"  scene {q(title)} {{\n"
            f"    shot 9s {q(f'{n} ' + EVERYTHING)} {{\n"
            f"      light {q(TEMPLATE + ' ' + FFMPEG)}\n"
            f"      mood {q(HTML + ' ' + SHELL)}\n"
            "      with orb\n"
            "    }\n"
            f"    say +200ms {q(line)} tone {q(LONG if n == 1 else EVERYTHING)}\n"
            "  }\n")
    block = TEMPLATE + " " + HTML + "\n    " + SHELL + " " + FFMPEG   # no escapes inside a block
    card = q("line one\nline two\ttabbed " + CONTROL)
    lines = [
        f"// {EVERYTHING}",
        f"film {q('T ' + TEMPLATE + ' ' + FFMPEG + ' ' + CONTROL)} {{",
        "  language en",
        "  frame 320x180 @ 24",
        f"  by {q(LONG)}",
        f'  style """\n    {block}\n  """',
        f"  entity orb {q('an orb ' + EVERYTHING)}",
        f"  voice narrator {q(EVERYTHING)}",
        "  palette { 0:00 cold #0B1E3F #3A7BD5 }",
        "  music {",
        f"    0:00 {q(EVERYTHING)} instruments {q(SHELL + ' ' + FFMPEG)} intensity 0.3",
        f"    10s {q(LONG)} instruments {q(TEMPLATE)} intensity 0.6",
        "  }",
        f"  title 1s {{ {q(TEMPLATE + ' ' + FFMPEG)} {card} }}",
        "".join(scenes).rstrip("\n"),
        f"  credits 1s {{ {q(HTML)} {q(SHELL)} {q(SCRIPTS)} {q(LONG)} }}",
        "}",
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, subprocess.CompletedProcess[str]]]:
    import imageio_ffmpeg

    root = tmp_path_factory.mktemp("hostile")
    film = root / "hostile.film"
    film.write_bytes(b"\xef\xbb\xbf" + hostile_film().replace("\n", "\r\n").encode("utf-8"))
    logger = root / "ffmpeg-logger"
    logger.write_text(f"#!{sys.executable}\n{_FFMPEG_LOGGER}", "utf-8")
    logger.chmod(0o755)
    (root / "ffmpeg").mkdir()
    env = {**os.environ, "IMAGEIO_FFMPEG_EXE": str(logger), "REAL_FFMPEG": imageio_ffmpeg.get_ffmpeg_exe(),
           "FFMPEG_LOG": str(root / "ffmpeg"), "NO_COLOR": "1", "FILMC_CACHE": str(root / "cache")}
    done = subprocess.run([sys.executable, "-m", "filmc.cli", "render", str(film), "--out", str(root / "out")],
                          capture_output=True, text=True, errors="replace", env=env, timeout=300)
    yield root, done


def _outputs(root: Path) -> dict[str, Path]:
    manifest = json.loads((root / "out" / "manifest.json").read_text("utf-8"))
    return {kind: root / "out" / name for kind, name in manifest["outputs"].items()}


def _cues(text: str, vtt: bool) -> list[tuple[float, str]]:
    """(start, text) of each cue of an SRT or WebVTT file, read back by the format's own rules."""
    blocks = [b for b in text.split("\n\n") if "-->" in b]
    cues = []
    for block in blocks:
        lines = block.strip("\n").split("\n")
        at = next(i for i, ln in enumerate(lines) if "-->" in ln)
        h, m, s, ms = re.match(r"(\d+):(\d\d):(\d\d)[,.](\d{3})", lines[at]).groups()  # type: ignore[union-attr]
        body = " ".join(lines[at + 1:])
        if vtt:
            body = body.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        cues.append((int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000, body))
    return cues


@pytest.mark.slow
def test_render_succeeds_without_a_traceback(rendered: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    _, done = rendered
    assert "Traceback" not in done.stdout + done.stderr
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["srt", "vtt"])
def test_subtitles_say_each_line_as_written(rendered: tuple[Path, subprocess.CompletedProcess[str]],
                                            kind: str) -> None:
    root, _ = rendered
    manifest = json.loads((root / "out" / "manifest.json").read_text("utf-8"))
    starts = sorted(a["parameters"]["start"] for a in manifest["assets"] if a["kind"] == "voice")
    cues = _cues(_outputs(root)[kind].read_text("utf-8"), vtt=kind == "vtt")
    assert len(starts) == len(SAID)
    for n, said in enumerate(SAID):   # each line's cues lie between its start and the next line's
        end = starts[n + 1] if n + 1 < len(starts) else float("inf")
        shown = " ".join(body for at, body in cues if starts[n] - 0.01 <= at < end)
        assert shown == _visible(said)
    text = _outputs(root)[kind].read_text("utf-8")
    assert not any(unicodedata.category(ch) == "Cc" for ch in text if ch != "\n")


@pytest.mark.slow
def test_vtt_escapes_markup_and_srt_keeps_it(rendered: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    root, _ = rendered
    vtt, srt = (_outputs(root)[k].read_text("utf-8") for k in ("vtt", "srt"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp;amp;" in vtt and "<" not in vtt
    assert "<script>alert(1)</script> &amp;" in srt and "%{pts}" in srt and "$(rm -rf ~)" in srt


@pytest.mark.slow
def test_timeline_and_manifest_hold_the_literal_text(rendered: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    root, _ = rendered
    title = "T " + TEMPLATE + " " + FFMPEG + " " + CONTROL
    timeline = json.loads(_outputs(root)["timeline"].read_text("utf-8"))
    assert timeline["name"] == title.replace("\0", "")   # OTIO's strings are C strings: NUL alone is left out
    manifest = json.loads((root / "out" / "manifest.json").read_text("utf-8"))
    assert manifest["title"] == title
    assets = {a["job"]: a for a in manifest["assets"]}
    first = assets["video:s01-sh01"]
    assert first["parameters"]["request"]["heading"] == EVERYTHING
    assert first["parameters"]["request"]["caption"] == "0 " + EVERYTHING
    assert assets["video:s02-sh01"]["parameters"]["request"]["heading"] == LONG
    prompt = " ".join(first["prompt"].split())   # a prompt's lines are tidied: compare words
    for text in ("0 " + EVERYTHING, "an orb " + EVERYTHING, TEMPLATE + " " + FFMPEG, HTML + " " + SHELL):
        assert " ".join(text.split()) in prompt   # templates took the text as data: `{{ 7*7 }}` is not 49
    voices = sorted((a for a in manifest["assets"] if a["kind"] == "voice"), key=lambda a: a["parameters"]["start"])
    assert [v["parameters"]["request"]["text"] for v in voices] == [" ".join(s.split()) for s in SAID]
    music = json.dumps(assets["music:score"], ensure_ascii=False)
    assert json.dumps(EVERYTHING, ensure_ascii=False)[1:-1] in music and LONG in music
    picture = json.dumps(assets["picture"]["parameters"], ensure_ascii=False)
    for line in (TEMPLATE + " " + FFMPEG, HTML, SHELL, SCRIPTS, LONG):
        assert json.dumps(line, ensure_ascii=False)[1:-1] in picture


def _ffmpeg_calls(root: Path) -> list[dict[str, object]]:
    return [json.loads(call.read_text("utf-8")) for call in sorted((root / "ffmpeg").iterdir())]


@pytest.mark.slow
def test_no_user_text_reaches_an_ffmpeg_argument(rendered: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    root, _ = rendered
    calls = _ffmpeg_calls(root)
    assert len(calls) > 5
    for call in calls:
        argv = "\n".join(call["argv"])  # type: ignore[arg-type]
        assert not [s for s in NEVER_IN_ARGV if s in argv], argv[:500]


@pytest.mark.slow
def test_drawtext_reads_the_literal_text_from_files_with_expansion_off(
    rendered: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    root, _ = rendered
    drawn: list[str] = []
    filters = 0
    for call in _ffmpeg_calls(root):
        for arg in call["argv"]:  # type: ignore[attr-defined]
            for options in re.findall(r"drawtext=((?:\\.|[^,;\\])*)", arg):
                keys = {re.sub(r"\\(.)", r"\1", o.split("=", 1)[0]) for o in re.split(r"(?<!\\):", options)}
                assert {"textfile", "expansion"} <= keys and "text" not in keys
                assert re.search(r"(?<!\\)(?::|^)expansion=none(?::|$)", options)
                filters += 1
        drawn += call["texts"].values()  # type: ignore[attr-defined]
    assert filters >= 10 and len(drawn) >= filters // 2
    everything = "\n".join(drawn)
    # cards: each line exactly as written, control characters as spaces, line breaks as rows
    for line in (TEMPLATE + " " + FFMPEG, HTML, SHELL, SCRIPTS, LONG, "line one", "line two tabbed nul  bell  esc"):
        assert line in drawn or line in everything, line
    assert "%{pts}" in everything and "\\\\" in everything and "{{ 7*7 }}" in everything
    assert not any(unicodedata.category(ch) == "Cc" for ch in everything if ch != "\n")


def test_markup_in_narration_is_a_located_diagnostic(tmp_path: Path) -> None:
    """`[…]` in a line is a direction: anything but a pause or a breath is refused where it is written."""
    film = tmp_path / "f.film"
    text = hostile_film().replace(_film_string(SAID[0]), _film_string("rm -rf [x]; %{pts} [in][out]"))
    film.write_text(text, "utf-8")
    with pytest.raises(FilmError) as err:
        load(film)
    line = next(n for n, row in enumerate(text.split("\n"), 1) if "rm -rf [x]" in row)
    assert {(d.code, d.span.line) for d in err.value.diagnostics} == {("F0107", line)}


def test_a_raw_line_break_in_a_string_is_a_located_diagnostic(tmp_path: Path) -> None:
    film = tmp_path / "f.film"
    film.write_text('film "Two\nlines" {\n  language en\n}\n', "utf-8")
    done = subprocess.run([sys.executable, "-m", "filmc.cli", "check", str(film)], capture_output=True, text=True)
    assert done.returncode == 1 and "Traceback" not in done.stderr + done.stdout
    assert "F0003" in done.stdout + done.stderr and "f.film:1:6" in done.stdout + done.stderr


def test_a_diagnostic_shows_its_own_line_with_controls_made_inert(tmp_path: Path) -> None:
    """The snippet is the line the parser counted (a U+2028 or form feed in an earlier string is no line break),
    and an escape sequence or bidi override in it reaches the terminal as U+FFFD, the caret still under it."""
    film = tmp_path / "f.film"
    film.write_text('film "A\u2028B\x0cC" {\n  language en\n  frame 1280x720 @ 24\n'
                    '  music "\x1b[31m\u202e" intensity 7\n}\n', "utf-8")
    with pytest.raises(FilmError) as err:
        load(film)
    shown = render_text(err.value.diagnostics[0], film.read_text("utf-8"))
    assert "\x1b" not in shown and "\u202e" not in shown and "\x0c" not in shown
    row = next(r for r in shown.split("\n") if r.startswith("4 |"))
    assert "\ufffd[31m\ufffd" in row, shown


def _timed(text: str, every: int = 7) -> TimedLine:
    """A line with made-up word timings, one word in `every` skipped as espeak skips some."""
    words = text.split()
    timings = tuple(WordTiming(word=w, start=i * 0.3, end=i * 0.3 + 0.25) for i, w in enumerate(words) if i % every)
    return TimedLine(start=0.0, text=text, words=timings)


def test_subtitle_formats_keep_hostile_text_and_drop_control_characters() -> None:
    lines = [_timed(s) for s in [*SAID, EVERYTHING]]
    for n, line in enumerate(lines):
        cues = cues_from_lines([line])
        srt, vtt = to_srt(cues), to_vtt(cues)
        expected = _visible(line.text)
        assert " ".join(body for _, body in _cues(srt, vtt=False)) == expected, n
        assert " ".join(body for _, body in _cues(vtt, vtt=True)) == expected, n
    assert cues_from_lines([_timed("\x00\x01 \x1b")]) == ()   # nothing visible: no empty cue


def test_a_very_long_line_is_subtitled_in_bounded_time() -> None:
    """Alignment is windowed past a thousand words: 300,000 characters take seconds, not hours."""
    text = " ".join(f"word{n % 97}" for n in range(45_000))
    started = time.perf_counter()
    cues = cues_from_lines([_timed(text)])
    to_srt(cues)
    assert time.perf_counter() - started < 20
    assert " ".join(c.text.replace("\n", " ") for c in cues) == text
    assert all(a.start <= b.start for a, b in pairwise(cues))


def test_a_word_longer_than_a_cue_is_kept_whole() -> None:
    cues = cues_from_lines([_timed("x" * 10_000 + " end")])
    assert [c.text for c in cues] == ["x" * 10_000, "end"]


def test_card_filters_splice_no_text(tmp_path: Path) -> None:
    lines = (TEMPLATE + " " + FFMPEG, "a\nb\r\nc\u2028d", CONTROL, "", "   ")
    filters = card_filters(lines, "credits", (320, 180), 2.0, "#FFFFFF", tmp_path)
    files = sorted(tmp_path.glob("card-*.txt"))
    assert len(filters) == len(files) == 1 + 4 + 2   # CONTROL has a U+2028 line separator
    texts = {f.read_text("utf-8") for f in files}
    assert TEMPLATE + " " + FFMPEG in texts and {"a", "b", "c", "d"} <= texts
    assert "nul  bell  esc [31m del  bom\ufeff zwsp\u200b ls" in "\n".join(texts)
    for spec in filters:
        assert "expansion=none" in spec and "%{" not in spec and "{{" not in spec


def test_a_million_unpaired_brackets_are_one_located_diagnostic_in_bounded_time(tmp_path: Path) -> None:
    """An unclosed `[` used to be matched against the rest of the line from every `[`: quadratic, and a
    million of them never finished. Now it is one diagnostic at the first stray marker, counting the rest."""
    film = tmp_path / "f.film"
    film.write_text(f'film "x" {{\n  language en\n  scene "a" {{\n    shot 4s "hi"\n    say "ok {"[" * 1_000_000}"\n'
                    "  }\n}\n", "utf-8")
    started = time.monotonic()
    with pytest.raises(FilmError) as err:
        load(film)
    assert time.monotonic() - started < 20   # ~0.3 s here; quadratic was minutes
    [d] = err.value.diagnostics
    assert (d.code, d.span.line, d.span.column) == ("F0109", 5, 13)
    assert "999,999 more" in d.message


@pytest.mark.parametrize(("said", "stray"), [("The *last light", 4), ("a ] here", 2), ("[pause 1s] and [", 15),
                                             ("**", 0)])
def test_an_unpaired_marker_in_a_line_is_located(tmp_path: Path, said: str, stray: int) -> None:
    film = tmp_path / "f.film"
    film.write_text(f'film "x" {{\n  language en\n  scene "a" {{\n    shot 4s "hi"\n    say "{said}"\n  }}\n}}\n',
                    "utf-8")
    with pytest.raises(FilmError) as err:
        load(film)
    [d] = err.value.diagnostics
    assert (d.code, d.span.line, d.span.column) == ("F0109", 5, 10 + stray)


def test_a_prompt_past_filmcs_limit_is_located_at_its_shot(tmp_path: Path) -> None:
    film = tmp_path / "f.film"
    film.write_text(f'film "x" {{\n  language en\n  scene "a" {{\n    shot 4s "{LONG}"\n  }}\n}}\n', "utf-8")
    done = subprocess.run([sys.executable, "-m", "filmc.cli", "compile", str(film)], capture_output=True,
                          text=True, env={**os.environ, "NO_COLOR": "1", "FILMC_CACHE": str(tmp_path / "c")})
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "error[F0711]" in done.stderr + done.stdout and f"{film}:4:5" in done.stderr + done.stdout


def test_a_title_too_long_for_a_file_name_still_names_the_outputs() -> None:
    from filmc.deliver.outputs import slug

    long_cjk, other = "你好世界" * 200, "你好世界" * 199 + "再见"
    name = slug(long_cjk)
    assert len(f"{name}.storyboard.html".encode()) < 255 and name.startswith("你好世界")
    assert slug(other) != name                           # cut titles stay apart by their digest
    assert slug("Entropy") == "entropy" and slug("Perché? No!") == "perché-no"


def test_a_title_with_emoji_codes_is_printed_as_written(tmp_path: Path) -> None:
    film = tmp_path / "f.film"
    film.write_text('film ":smile: [bold]x[/bold]" {\n  language en\n  scene "a" {\n    shot 4s "hi there"\n'
                    "  }\n}\n", "utf-8")
    done = subprocess.run([sys.executable, "-m", "filmc.cli", "compile", str(film)], capture_output=True,
                          text=True, env={**os.environ, "NO_COLOR": "1", "FILMC_CACHE": str(tmp_path / "c")})
    assert done.returncode == 0, done.stderr
    assert ":smile: [bold]x[/bold]" in done.stdout and "😄" not in done.stdout


def test_a_byte_order_mark_does_not_shift_the_first_lines_caret(tmp_path: Path) -> None:
    """The CLI re-reads the file to draw a snippet; it must read it as the parser did, without the BOM."""
    film = tmp_path / "f.film"
    film.write_bytes(b"\xef\xbb\xbffilm x {\n}\n")
    done = subprocess.run([sys.executable, "-m", "filmc.cli", "check", str(film)], capture_output=True, text=True,
                          env={**os.environ, "NO_COLOR": "1"})
    shown = (done.stdout + done.stderr).split("\n")
    at = next(i for i, row in enumerate(shown) if row.startswith("1 |"))
    assert shown[at] == "1 | film x {" and shown[at + 1] == "  |      ^", shown


def test_a_bad_byte_in_an_old_mac_file_is_shown_on_its_own_line(tmp_path: Path) -> None:
    """CR-only line endings are lines to the parser and to the snippet alike (the fuzzer's find)."""
    film = tmp_path / "f.film"
    film.write_bytes(b'film "T" {\r  language it\r  frame 320x180\x8c@ 24\r}\r')
    done = subprocess.run([sys.executable, "-m", "filmc.cli", "check", str(film)], capture_output=True, text=True,
                          env={**os.environ, "NO_COLOR": "1"})
    out = done.stdout + done.stderr
    assert done.returncode == 1 and f"{film}:3:16" in out, out
    assert "3 |   frame 320x180\ufffd@ 24" in out, out
