"""How clean is an AAC track spliced from separately encoded segments? The question behind issue 12's edit target.

A narration edit re-encodes the whole AAC track today (see bench_render.py, section 4b: that encode and the
loudness check of the delivered file are most of an edit's floor). Encoding only the segment around the change
and splicing its packets between the cached ones would make the mux cost the segment's length. Decoded AAC is
an overlap-add of neighbouring frames, so a splice is clean only if the two encoders' frames still cancel each
other's aliasing at the join. This measures it on a real mix, with ffmpeg's AAC encoder as filmc runs it:

* the whole track encoded once (what filmc delivers now), decoded: the codec's own error against the PCM;
* the same track spliced at several points from two encodes, each run `pre-roll` frames past the join (the
  segment before ends later, the one after starts earlier), packets taken from the first before the join and
  from the second after it, decoded: the error in the 4096 samples around each join against the codec's own
  error in the same samples, and the error elsewhere.

    python benchmarks/bench_aac_splice.py                  # renders Entropy offline for its mix (about 30 s)
    python benchmarks/bench_aac_splice.py --wav mix.wav    # any stereo 48 kHz file

Nothing here is a target: it prints the measurement a decision on the delivery contract needs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import numpy.typing as npt

from filmc.assemble.media import ffmpeg_exe
from filmc.assemble.muxer import AAC_BITRATE  # the mux's settings, as filmc runs it

ROOT = Path(__file__).resolve().parent.parent

RATE = 48_000
FRAME = 1024          # samples per AAC frame
WINDOW = 2048         # samples each side of a join that count as "at the join"
Samples = npt.NDArray[np.float32]


def ffmpeg(*args: str, data: bytes | None = None) -> bytes:
    done = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", *args],
                          input=data, capture_output=True, check=True)
    return done.stdout


def decode(path: Path) -> Samples:
    raw = ffmpeg("-i", str(path), "-f", "f32le", "-ac", "2", "-ar", str(RATE), "-")
    return np.frombuffer(raw, np.float32).reshape(-1, 2)


def encode(pcm: Samples, out: Path) -> list[bytes]:
    """ffmpeg's AAC with filmc's settings (`muxer`), as ADTS: one self-delimited packet per frame."""
    ffmpeg("-y", "-f", "f32le", "-ar", str(RATE), "-ac", "2", "-i", "-", "-c:a", "aac", "-b:a", AAC_BITRATE,
           "-aac_coder", "fast", "-f", "adts", str(out), data=np.ascontiguousarray(pcm).tobytes())
    return adts_packets(out.read_bytes())


def adts_packets(data: bytes) -> list[bytes]:
    packets, at = [], 0
    while at < len(data):
        if data[at] != 0xFF or data[at + 1] & 0xF0 != 0xF0:
            raise ValueError(f"no ADTS sync at byte {at}")
        length = ((data[at + 3] & 0x03) << 11) | (data[at + 4] << 3) | (data[at + 5] >> 5)
        packets.append(data[at:at + length])
        at += length
    return packets


def aligned(decoded: Samples, pcm: Samples) -> Samples:
    """The decoded track shifted by the encoder's delay (found, not assumed), cut to the PCM's length."""
    probe = slice(RATE, RATE + 8 * FRAME)
    errors = [float(np.sum((decoded[d + probe.start:d + probe.stop] - pcm[probe]) ** 2)) for d in range(3 * FRAME)]
    delay = int(np.argmin(errors))
    out = decoded[delay:delay + len(pcm)]
    return np.pad(out, ((0, len(pcm) - len(out)), (0, 0)))


def db(signal: float, noise: float) -> float:
    return 10 * float(np.log10(signal / noise)) if noise > 0 else float("inf")


def energy(x: Samples) -> float:
    return float(np.sum(x.astype(np.float64) ** 2))


def rms_dbfs(x: Samples) -> float:
    return 10 * float(np.log10(max(energy(x) / x.size, 1e-20)))


def peak_dbfs(x: Samples) -> float:
    return 20 * float(np.log10(max(float(np.max(np.abs(x))), 1e-10)))


def mix_of_entropy(work: Path) -> Path:
    """Entropy rendered offline in `work`; its mix is the cached `mix` asset."""
    film = work / "entropy.film"
    film.write_text((ROOT / "films" / "entropy.film").read_text("utf-8"), "utf-8")
    subprocess.run([sys.executable, "-m", "filmc.cli", "render", "--out", "out", str(film)], cwd=work,
                   capture_output=True, check=True)
    manifest = json.loads((work / "out" / "manifest.json").read_text("utf-8"))
    return Path(next(a["path"] for a in manifest["assets"] if a["job"] == "mix"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wav", type=Path, help="the stereo track to splice (default: Entropy's offline mix)")
    parser.add_argument("--joins", type=int, default=12, help="splice points, spread over the track")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aac-splice-") as tmp:
        work = Path(tmp)
        source = args.wav or mix_of_entropy(work)
        pcm = decode(source)
        frames = len(pcm) // FRAME
        encode(pcm, work / "whole.aac")
        whole_out = aligned(decode(work / "whole.aac"), pcm)
        print(f"track: {source.name}, {len(pcm) / RATE:.1f} s, {frames} AAC frames at {AAC_BITRATE}")
        print(f"whole encode: SNR {db(energy(pcm), energy(whole_out - pcm)):.1f} dB against the PCM")
        joins = [round(frames * (k + 1) / (args.joins + 1)) * FRAME for k in range(args.joins)]
        print("pre-roll: frames each encode runs past the join. At the join (4096 samples): SNR worst / median,"
              " the codec's own SNR there (median), the worst join's error over the codec's own there, and the"
              " splice's own difference from the whole encode's output (worst RMS and peak, dBFS), and that difference"
              " 4096-12288 samples after the join, where the encoders only quantise alike frames apart (worst RMS)."
              " Elsewhere: SNR, worst.")
        print("pre-roll   SNR worst / median   codec   excess dB   splice RMS / peak dBFS   after RMS   elsewhere")
        for pre_roll in (0, 1, 2, 4, 8):
            at_join, codec_there, excess, rest, added_rms, added_peak, later_rms = [], [], [], [], [], [], []
            for join in joins:
                overhang = pre_roll * FRAME
                before = encode(pcm[:join + overhang], work / "before.aac")
                start = join - overhang
                after = encode(pcm[start:], work / "after.aac")
                # packet k of an encode started at sample s carries the frame the whole encode's packet k + s/FRAME
                # does (both add the same priming), so the join is packet join/FRAME of the whole encode
                cut = join // FRAME
                spliced = b"".join(before[:cut] + after[cut - start // FRAME:])
                (work / "spliced.aac").write_bytes(spliced)
                out = aligned(decode(work / "spliced.aac"), pcm)
                near = slice(join - WINDOW, join + WINDOW)
                at_join.append(db(energy(pcm[near]), energy(out[near] - pcm[near])))
                codec_there.append(db(energy(pcm[near]), energy(whole_out[near] - pcm[near])))
                excess.append(db(energy(out[near] - pcm[near]), energy(whole_out[near] - pcm[near])))
                added = out[near] - whole_out[near]
                added_rms.append(rms_dbfs(added))
                added_peak.append(peak_dbfs(added))
                # the same difference further on, where the two encoders only quantise the same frames differently
                later = slice(join + 2 * WINDOW, join + 6 * WINDOW)
                later_rms.append(rms_dbfs(out[later] - whole_out[later]))
                far = np.ones(len(pcm), bool)
                far[near] = False
                rest.append(db(energy(pcm[far]), energy(out[far] - pcm[far])))
            print(f"{pre_roll:8d}   {min(at_join):9.1f} / {float(np.median(at_join)):6.1f}"
                  f"   {float(np.median(codec_there)):5.1f}   {max(excess):9.1f}"
                  f"   {max(added_rms):10.1f} / {max(added_peak):5.1f}   {max(later_rms):9.1f}   {min(rest):9.1f}")


if __name__ == "__main__":
    main()
