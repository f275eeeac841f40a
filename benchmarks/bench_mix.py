"""The mix job alone, on a rendered film's cached voices and score: Entropy and the same lines 5x over.

    filmc render films/entropy.film --cache /tmp/mixcache     # once, offline: makes the inputs
    python benchmarks/bench_mix.py [films/out/entropy/manifest.json]

The 5x film repeats Entropy's lines every 2:00 over the score looped 5 times, so only the mix's own
scaling is measured (no video, no other job). Target: Entropy <= 3 s, and 5x the film about 5x the time.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from filmc.assemble import NarrationPlacement, mix_audio
from filmc.assemble.media import ffmpeg_exe

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    manifest = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "films" / "out" / "entropy" / "manifest.json"
    assets = {a["job"]: a for a in json.loads(manifest.read_text("utf-8"))["assets"]}
    spec = assets["mix"]["parameters"]
    length = float(spec["duration"])
    seconds: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-mix-") as tmp:
        for times in (1, 5):
            music = Path(assets[spec["music"]]["path"]) if spec["music"] else None
            if music is not None and times > 1:
                looped = Path(tmp) / f"music{times}.wav"
                subprocess.run([ffmpeg_exe(), "-v", "error", "-stream_loop", str(times - 1), "-i", str(music),
                                "-c", "copy", str(looped)], check=True)
                music = looped
            lines = [NarrationPlacement(wav=Path(assets[job]["path"]), start=start + k * length,
                                        duration=assets[job]["duration"])
                     for k in range(times) for job, start in spec["lines"]]
            began = time.perf_counter()
            mix_audio(lines, music, length * times, Path(tmp) / f"mix{times}.wav", loudness=spec["loudness"],
                      true_peak=spec["true_peak"])
            seconds[times] = time.perf_counter() - began
            print(f"mix x{times} ({len(lines)} lines, {length * times:.0f} s):  {seconds[times]:6.2f} s"
                  + ("   (target <= 3 s)" if times == 1 else ""))
    print(f"ratio x5 / x1:                      {seconds[5] / seconds[1]:6.2f}     (target ~5, linear)")


if __name__ == "__main__":
    main()
