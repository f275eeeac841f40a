"""The MoviePy 2.x side of bench_render.py: the same timeline, assembled from the same cached assets.

Run as its own process (so its CPU time and memory are measured apart from the benchmark):

    python benchmarks/_moviepy_timeline.py timeline.json out.mp4

timeline.json (written by bench_render.py from the cold render's out/manifest.json):

    {"size": [w, h], "fps": 24, "duration": seconds, "font": "/path/to.ttf",
     "segments": [{"start": s, "duration": d, "source": "clip.mp4" | null,
                   "card": {"lines": [...], "style": "title" | "credits", "background": "#rrggbb",
                            "text": "#rrggbb"} | null,
                   "transition": {"kind": "crossfade", "seconds": 1.0} | null}],
     "music": "score.wav" | null, "voices": [["line.wav", start], ...],
     "preset": "veryfast", "ffmpeg_params": [...], "audio_bitrate": "192k"}

What it does, and what it leaves out next to filmc:
- every clip is placed at its slot and trimmed to slot + tail handle, as filmc's join does, and
  resized to the frame if it is smaller (MoviePy's `resized`, per frame, as filmc's `scale`); a clip
  is not frozen on its last frame if short (the animatic clips are long enough);
- every transition (crossfade, fade-to-black, dip-to-white alike) is a `CrossFadeIn` of the incoming
  clip over the outgoing clip's handle: an approximation of filmc's xfade;
- cards are a `ColorClip` with a centred `TextClip` (same font, no text fade);
- no colour grade (filmc applies a 3D LUT per clip), no ducking, no loudness normalisation, no
  limiter: narration is simply laid over the music with `CompositeAudioClip`.
So MoviePy does less work than filmc here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from moviepy import (  # type: ignore[import-untyped]
    AudioFileClip,
    ColorClip,
    CompositeAudioClip,
    CompositeVideoClip,
    TextClip,
    VideoFileClip,
    vfx,
)

AUDIO_FPS = 48_000


def rgb(hex_colour: str) -> tuple[int, int, int]:
    value = hex_colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def card_clips(card: dict[str, Any], start: float, duration: float, size: tuple[int, int], font: str) -> list[Any]:
    """A dark field in the palette with the card's lines centred on it (the margin keeps descenders, which
    MoviePy's TextClip otherwise crops)."""
    width, height = size
    background = ColorClip(size=size, color=rgb(card["background"]), duration=duration).with_start(start)
    font_size = round(height * (0.11 if card["style"] == "title" else 0.042))
    text = TextClip(font=font, text="\n".join(card["lines"]), font_size=font_size, color=card["text"],
                    method="caption", size=(round(width * 0.88), None), text_align="center",
                    interline=round(font_size * 0.3), margin=(0, round(font_size * 0.4)), duration=duration)
    return [background, text.with_position("center").with_start(start)]


def picture(timeline: dict[str, Any]) -> tuple[CompositeVideoClip, list[Any]]:
    size = (int(timeline["size"][0]), int(timeline["size"][1]))
    layers: list[Any] = []
    opened: list[Any] = []
    for seg in timeline["segments"]:
        start, duration = float(seg["start"]), float(seg["duration"])
        if seg["card"] is not None:
            parts = card_clips(seg["card"], start, duration, size, timeline["font"])
        else:
            source = VideoFileClip(seg["source"], audio=False)
            opened.append(source)
            clip = source.subclipped(0, min(duration, source.duration))
            if tuple(clip.size) != size:   # e.g. a previz drawn at half size: fitted to the frame, as filmc does
                scale = min(size[0] / clip.size[0], size[1] / clip.size[1])
                clip = clip.resized(scale)
            parts = [clip.with_position("center").with_start(start)]
        transition = seg["transition"]
        if transition is not None:
            # the first segment fades in from black (nothing under it); later ones cross the previous handle
            effect = vfx.CrossFadeIn(float(transition["seconds"]))
            parts = [part.with_effects([effect]) for part in parts]
        layers += parts
    video = CompositeVideoClip(layers, size=size, bg_color=(0, 0, 0)).with_duration(float(timeline["duration"]))
    return video, opened


def sound(timeline: dict[str, Any]) -> tuple[CompositeAudioClip, list[Any]]:
    tracks: list[Any] = []
    if timeline["music"]:
        tracks.append(AudioFileClip(timeline["music"], fps=AUDIO_FPS))
    for wav, start in timeline["voices"]:
        tracks.append(AudioFileClip(wav, fps=AUDIO_FPS).with_start(float(start)))
    return CompositeAudioClip(tracks).with_duration(float(timeline["duration"])), tracks


def main() -> None:
    spec_path, out = Path(sys.argv[1]), Path(sys.argv[2])
    timeline = json.loads(spec_path.read_text("utf-8"))
    video, clips = picture(timeline)
    audio, tracks = sound(timeline)
    video = video.with_audio(audio)
    video.write_videofile(str(out), fps=timeline["fps"], codec="libx264", preset=timeline["preset"],
                          ffmpeg_params=timeline["ffmpeg_params"], audio_codec="aac", audio_fps=AUDIO_FPS,
                          audio_bitrate=timeline["audio_bitrate"], logger=None)
    for clip in [*clips, *tracks]:
        clip.close()


if __name__ == "__main__":
    main()
