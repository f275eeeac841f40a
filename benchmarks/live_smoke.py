"""The real services, once, small: one 4-second shot and one line of voice, with your keys and a $3 cap.

Never run in CI (it spends money and needs the network). It renders a one-shot film with the `final`
profile through the `filmc` command, as a user would, using whichever keys are set:

- video: `gemini-omni` with GEMINI_API_KEY, else `runway` with RUNWAYML_API_SECRET (skipped if neither);
- voice: `elevenlabs` with ELEVENLABS_API_KEY and ELEVENLABS_VOICE_ID (skipped without them);
- prompts: `claude` with ANTHROPIC_API_KEY, else the offline template; music: the offline `synth`.

It prints the plan's estimate, each job's outcome, the ledger beside the estimate, the clip's and the
line's measured lengths, and the wall time; then renders again to show that nothing is paid twice.

    ANTHROPIC_API_KEY=… GEMINI_API_KEY=… ELEVENLABS_API_KEY=… ELEVENLABS_VOICE_ID=… \
        python benchmarks/live_smoke.py [--max-cost 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FILM = """film "Smoke" {
  language en
  frame 1280x720 @ 24
  duration 4s
  style "Natural light, 35mm, calm."
  voice narrator "warm English narrator"
  palette { 0:00 dawn #1B2A4A #E8B04A }
  music { 0:00 "a quiet pad" intensity 0.3 }
  scene "Dawn" {
    shot 4s "Sunlight slowly fills an empty kitchen, dust floating in the beam" { camera slow-push-in }
    say +300ms "Morning comes quietly." tone "gentle"
  }
}
"""


def profile(video: str | None, voice_id: str | None, claude: bool) -> str:
    lines = ["[profile.final]"]
    if voice_id:
        lines.append(f'voices = {{ narrator = "{voice_id}" }}')
    lines += ["[profile.final.expand]", f'backend = "{"claude" if claude else "template"}"']
    lines += ["[profile.final.video]", f'backend = "{video or "animatic"}"']
    lines += ["[profile.final.voice]", f'backend = "{"elevenlabs" if voice_id else "espeak"}"']
    lines += ["[profile.final.music]", 'backend = "synth"']
    return "\n".join(lines) + "\n"


def filmc(*args: str, cwd: Path) -> tuple[int, list[dict[str, object]], float]:
    """Run the filmc command with --json; its JSON lines, exit code and wall time."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "filmc.cli", *args, "--json"], cwd=cwd, capture_output=True,
                          text=True, check=False)
    wall = time.perf_counter() - started
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode not in (0, 3):
        sys.stderr.write(done.stderr)
    return done.returncode, events, wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-cost", default="3")
    parser.add_argument("--keep", type=Path, help="render here and keep it (default: a temporary folder)")
    args = parser.parse_args()

    video = "gemini-omni" if os.environ.get("GEMINI_API_KEY") else (
        "runway" if os.environ.get("RUNWAYML_API_SECRET") else None)
    voice_id = os.environ.get("ELEVENLABS_VOICE_ID") if os.environ.get("ELEVENLABS_API_KEY") else None
    if video is None and voice_id is None:
        print("live smoke: skipped (set GEMINI_API_KEY or RUNWAYML_API_SECRET, and/or ELEVENLABS_API_KEY with "
              "ELEVENLABS_VOICE_ID)")
        return 0
    root = args.keep or Path(tempfile.mkdtemp(prefix="filmc-smoke-"))
    root.mkdir(parents=True, exist_ok=True)
    (root / "smoke.film").write_text(FILM, "utf-8")
    (root / "filmc.toml").write_text(profile(video, voice_id, bool(os.environ.get("ANTHROPIC_API_KEY"))), "utf-8")
    print(f"live smoke in {root}: video {video or 'animatic (no key)'}, voice "
          f"{'elevenlabs' if voice_id else 'espeak (no key)'}")
    try:
        code, events, wall = filmc("render", "smoke.film", "--profile", "final", "--max-cost", args.max_cost, cwd=root)
        result = next((e for e in reversed(events) if e.get("event") == "finished"), {})
        print(f"first render: exit {code}, {wall:.1f} s wall")
        print(json.dumps(result, indent=2, default=str)[:4000])
        manifest = root / "out" / "smoke" / "manifest.json"
        if manifest.is_file():
            made = json.loads(manifest.read_text("utf-8"))
            for asset in made["assets"]:
                if asset["kind"] in ("video", "voice"):
                    print(f"  {asset['job']}: {asset['backend']} {asset['model']}, {asset['duration']} s measured, "
                          f"estimate ${asset['usd']}")
            for entry in made["ledger"]:
                print(f"  ledger {entry['job']}: ${entry['usd']} ({entry['basis']}) {entry['what']}")
        code2, events2, wall2 = filmc("render", "smoke.film", "--profile", "final", "--max-cost", args.max_cost,
                                      cwd=root)
        made_again = [e.get("job") for e in events2 if e.get("kind") == "made" and e.get("layer") in ("video", "voice")]
        print(f"second render: exit {code2}, {wall2:.1f} s wall, paid jobs made again: {made_again or 'none'}")
        return code or code2
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
