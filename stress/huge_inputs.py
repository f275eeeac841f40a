"""Huge inputs: `filmc check` and `filmc compile` on films far bigger than anyone writes, timed and weighed.

Each case is written to a temporary project and each command runs in its own process (`python -m
filmc.cli`), whose wall time and peak RSS (`os.wait4`'s rusage) are reported. The target: an answer
in bounded time (under the timeout, 60 s by default) or a diagnostic located in the file, memory
bounded, never a traceback.

    python stress/huge_inputs.py [--timeout 60] [--only NAME ...] [--keep DIR]

Prints a table (case, input size, command, outcome, seconds, peak MB) and exits 1 if any run timed
out, crashed or ended in something other than a result or located diagnostics.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MB = 1024 * 1024
_HEADER = """film "Huge" {
  language en
  frame 320x180 @ 24
  style "Plain studio light."
  entity orb "a small glowing orb of blue glass"
  voice narrator "calm English narrator"
  palette { 0:00 cold #0B1E3F #3A7BD5 }
"""
_WORDS = ("orb", "light", "glass", "drifts", "slowly", "through", "a", "quiet", "blue", "void", "and", "turns")


def _prose(chars: int, seed: int = 0) -> str:
    """Plain words, about `chars` characters, no markup: text as long as asked and nothing else odd."""
    words: list[str] = []
    size, i = 0, seed
    while size < chars:
        word = _WORDS[(i * 7 + i // len(_WORDS)) % len(_WORDS)]
        words.append(word)
        size += len(word) + 1
        i += 1
    return " ".join(words)[:chars].rstrip()


def ten_megabytes() -> str:
    """~10 MB of ordinary film: scenes of a 1 kB shot description and a 700-character line each."""
    parts = [_HEADER]
    size, n = len(_HEADER), 0
    while size < 10 * MB:
        n += 1
        scene = (f'  scene "Scene {n}" {{\n    shot 60s "{_prose(1000, n)}" {{\n      camera orbit\n      with orb\n'
                 f'    }}\n    say +1s "{_prose(700, n + 1)}."\n  }}\n')
        parts.append(scene)
        size += len(scene)
    return "".join([*parts, "}\n"])


def ten_thousand_scenes() -> str:
    """10,000 small scenes of one shot and one line: the count, not the size, is what's big."""
    scenes = (f'  scene "Scene {n}" {{\n    shot 2s "The orb, moment {n}" {{ with orb }}\n'
              f'    say +200ms "Moment {n}."\n  }}\n' for n in range(1, 10_001))
    return _HEADER + "".join(scenes) + "}\n"


def _one_scene(shot: str, say: str = "Hello.", seconds: int = 4) -> str:
    return (_HEADER + f'  scene "One" {{\n    shot {seconds}s "{shot}" {{ with orb }}\n    say +1s "{say}"\n  }}\n'
            "}\n")


def million_char_shot() -> str:
    """A shot description of one million characters on one line."""
    return _one_scene(_prose(1_000_000))


def million_char_say() -> str:
    """A narration line of one million characters, in a shot long enough to say it (~20 hours)."""
    return _one_scene("An orb.", _prose(1_000_000) + ".", seconds=72_000)


def million_char_title() -> str:
    """A title card whose one line has a million characters."""
    return _HEADER + f'  title 2s {{ "{_prose(1_000_000)}" }}\n' + _one_scene("An orb.")[len(_HEADER):]


def million_char_comment() -> str:
    """A comment line of a million characters before an ordinary film."""
    return "// " + _prose(1_000_000) + "\n" + _one_scene("An orb.")


def deep_braces() -> str:
    """Nesting as deep as text allows: 100,000 scenes opened inside each other (the grammar forbids it)."""
    return _HEADER + '  scene "S" {\n' * 100_000 + "  }\n" * 100_000 + "}\n"


def unclosed_brackets() -> str:
    """A line of 1,000,000 `[`: narration markup opened and never closed."""
    return _one_scene("An orb.", "[" * 1_000_000, seconds=72_000)


def nested_brackets() -> str:
    """Narration markup nested 10,000 deep, `[[[[…]]]]`, in a 20,000-character line."""
    return _one_scene("An orb.", "[" * 10_000 + "pause 1s" + "]" * 10_000)


CASES: dict[str, Callable[[], str]] = {
    "10 MB film": ten_megabytes,
    "10,000 scenes": ten_thousand_scenes,
    "1M-char shot": million_char_shot,
    "1M-char say": million_char_say,
    "1M-char title": million_char_title,
    "1M-char comment": million_char_comment,
    "100k nested {": deep_braces,
    "1M unclosed [": unclosed_brackets,
    "10k nested [ ]": nested_brackets,
}


@dataclass
class Run:
    case: str
    size: int
    command: str
    outcome: str
    seconds: float
    peak_mb: float
    detail: str


_LOCATED = re.compile(r"^(error|warning)\[F\d{4}\]: .*\n\s*--> [^\n]+:\d+:\d+", re.MULTILINE)


def _outcome(status: int, output: str, timed_out: bool) -> tuple[str, str]:
    """ok, diagnostics (located), error (unlocated but handled), timeout or crash, with a short detail."""
    lines = [ln for ln in output.splitlines() if ln.strip()]
    first = next((ln for ln in lines if ln.startswith(("error", "Error"))), lines[-1] if lines else "")
    if timed_out:
        return "TIMEOUT", ""
    if "Traceback" in output or status < 0 or status == 70:
        return "CRASH", (lines[-1] if lines else f"status {status}")[:100]
    if status == 0:
        return "ok", ""
    if _LOCATED.search(output):
        codes = sorted(set(re.findall(r"^(?:error|warning)\[(F\d{4})\]", output, re.MULTILINE)))
        return "diagnostics", f"exit {status}: {', '.join(codes)}; {first[:80]}"
    return "error", f"exit {status}: {first[:100]}"


def measure(case: str, film: Path, command: str, timeout: float) -> Run:
    """One `filmc COMMAND film` in its own process: wall time, and peak RSS from the kernel's rusage."""
    args = [sys.executable, "-m", "filmc.cli", command, str(film)]
    env = {**os.environ, "FILMC_CACHE": str(film.parent / ".filmc" / "cache"), "NO_COLOR": "1", "COLUMNS": "100"}
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        timed_out = False
        deadline = started + timeout
        hwm = 0.0
        while True:
            hwm = max(hwm, _high_water_mb(proc.pid))
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                timed_out = True
                os.killpg(proc.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.005)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)   # reaped here: keep Popen from waiting again
        out.seek(0)
        output = out.read().decode("utf-8", "replace")
    # rusage's peak counts the parent's memory the child was forked with (a test runner's hundreds of MB), so the
    # child's own high-water mark, read while it runs, is preferred where /proc has it
    peak = hwm or (usage.ru_maxrss / 1024 if sys.platform != "darwin" else usage.ru_maxrss / MB)
    outcome, detail = _outcome(proc.returncode, output, timed_out)
    return Run(case, film.stat().st_size, command, outcome, seconds, peak, detail)


def _high_water_mb(pid: int) -> float:
    """VmHWM of a running process (Linux): the peak of its own address space since its exec."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


def _size(n: int) -> str:
    return f"{n / MB:.1f} MB" if n >= MB else f"{n / 1024:.0f} kB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds before a run counts as hung")
    parser.add_argument("--only", nargs="*", default=None, help="case names (or parts of them) to run")
    parser.add_argument("--keep", type=Path, default=None, help="write the films here and keep them")
    args = parser.parse_args()
    chosen = {name: make for name, make in CASES.items()
              if args.only is None or any(part.lower() in name.lower() for part in args.only)}
    runs: list[Run] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        for number, (name, make) in enumerate(chosen.items()):
            project = root / f"case{number:02d}"
            project.mkdir(parents=True, exist_ok=True)
            film = project / "huge.film"
            film.write_text(make(), "utf-8")
            for command in ("check", "compile"):
                run = measure(name, film, command, args.timeout)
                runs.append(run)
                print(f"  {name:<18} {command:<8} {run.outcome:<12} {run.seconds:6.1f} s {run.peak_mb:7.0f} MB",
                      file=sys.stderr, flush=True)
    print(f"\n{'case':<18} {'input':>9}  {'command':<8} {'outcome':<12} {'seconds':>8} {'peak MB':>8}  detail")
    for run in runs:
        print(f"{run.case:<18} {_size(run.size):>9}  {run.command:<8} {run.outcome:<12} {run.seconds:8.1f} "
              f"{run.peak_mb:8.0f}  {run.detail}")
    bad = [r for r in runs if r.outcome in ("TIMEOUT", "CRASH")]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
