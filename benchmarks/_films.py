"""Generated films of any length, for benchmarks: realistic statements, one narration line a scene."""

from __future__ import annotations


def generated_film(scenes: int) -> str:
    lines = ['film "Bench" {', "  language it", "  frame 1280x720 @ 24",
             '  style "Crystalline organic architecture, cinematic light."',
             '  entity custodian "a holographic lattice of light"', '  voice narratore "warm narrator"',
             "  palette {", "    0:00 cold #0B1E3F #3A7BD5", f"    {scenes * 10}s warm #C46A1B #FFB347", "  }",
             "  music {", '    0:00 "electronic" instruments "synths" intensity 0.3',
             f'    {scenes * 5}s "orchestral" instruments "strings" intensity 0.8', "  }"]
    for i in range(scenes):
        lines += [f'  scene "Scene {i}" {{',
                  f'    shot 6s "A custodian crosses crystal hall number {i}" {{',
                  "      camera slow-push-in", '      light "cold diffuse haze"', "      with custodian",
                  "      transition crossfade 1s", "    }",
                  f'    shot 4s "Close on the facets, shot {i}" {{', "      camera orbit", "    }",
                  f'    say +0.5s "Questa è la scena numero {i}, [pause 0.3s] *lenta*." tone "calmo"', "  }"]
    lines.append("}")
    return "\n".join(lines) + "\n"
