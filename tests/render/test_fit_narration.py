"""`fit narration` end to end (issue 13): the voice made first, the scene fitted to it, real media measured.

An Entropy-like tiny film whose second scene is fitted: lengthening its line by about two seconds of speech
re-makes that scene's clips only, lengthens the film by exactly the fitted amount, and `filmc diff` shows it.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from filmc import codes
from filmc.assemble.media import count_frames, probe
from filmc.cli import main
from filmc.cli.progress import PlainEvents
from filmc.deliver.outputs import RenderSummary
from filmc.diagnostics import FilmError
from filmc.errors import UsageError
from filmc.pipeline import compile_film, render_film
from filmc.plan.model import Plan, VideoSpec, VoiceSpec

pytestmark = pytest.mark.slow

FILM = """film "Piccola Entropia" {
  language it
  frame 160x90 @ 12
  palette { 0:00 cold #0B1E3F #3A7BD5  6s warm #C46A1B #FFB347 }
  music {
    0:00 "dystopian electronic soundscape" intensity 0.3
    3s "a pulse rises" intensity 0.6
  }

  scene "Anno 2847" {
    shot 3s "Aerial drift over a silent crystalline city" { transition in fade-from-black 250ms }
    say +200ms "Anno 2847."
  }
  scene "Il custode" {
    fit narration
    shot 1s..8s "A lattice of light walks the empty halls" { transition out crossfade 250ms }
    shot 1s..5s "It stops at a window"
    say +200ms "Il custode cammina da solo." pause-after 300ms
  }
  scene "Alba" {
    shot 2s "Dawn over the city" { transition out fade-to-black 250ms }
    say +100ms "Alba."
  }
}
"""
LONGER = ("Il custode cammina da solo.", "Il custode cammina da solo, da duecento anni, tra le sale vuote.")


def project(root: Path, edit: tuple[str, str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    film = root / "film.film"
    film.write_text(FILM.replace(*edit) if edit else FILM, "utf-8")
    return film


def compiled(film: Path, *, for_render: bool = True) -> Plan:
    plan, _ = asyncio.run(compile_film(film, for_render=for_render, display=str(film)))
    return plan


def render(plan: Plan, out: Path) -> RenderSummary:
    return asyncio.run(render_film(plan, out_dir=out, events=PlainEvents(), backoff=0.01))


def clips(plan: Plan) -> dict[str, int]:
    return {spec.shot_id: spec.request.frames for _, spec in plan.specs(VideoSpec)}


def made(summary: RenderSummary) -> set[str]:
    return {o.job for o in summary.outcomes if o.status == "made"}


def mp4_of(summary: RenderSummary) -> Path:
    return Path(summary.out_dir) / summary.manifest.outputs["film"]


def test_a_longer_line_refits_its_scene_only_and_the_film_by_as_much(tmp_path: Path) -> None:
    film = project(tmp_path)
    before = compiled(film)
    assert before.film.fit and not before.film.provisional   # the voice was made first, and measured
    first = render(before, tmp_path / "out")
    assert not any(o.status == "failed" for o in first.outcomes)
    old_seconds = probe(mp4_of(first)).duration   # the second render writes the same file
    assert {"voice:s01-l01", "voice:s02-l01"} <= made(first)   # made by its compile, first, and reported here
    (tmp_path / "plan.json").write_text(before.model_dump_json(), "utf-8")

    film.write_text(FILM.replace(*LONGER), "utf-8")
    after = compiled(film)
    old_fit, new_fit = before.film.fit[0], after.film.fit[0]
    voices = {p: {s.beat_id: j.seconds for j, s in plan.specs(VoiceSpec)} for p, plan in (("a", before), ("b", after))}
    spoken = voices["b"]["s02-l01"] - voices["a"]["s02-l01"]
    assert 1.5 < spoken < 3.5, spoken   # about two seconds more speech, as espeak measured it

    # only the fitted scene's clips change length; the others keep their keys
    changed = {shot for shot in clips(after) if clips(after)[shot] != clips(before)[shot]}
    assert changed and all(shot.startswith("s02-") for shot in changed)
    keys = {p: {j.id: j.key for j in plan.jobs if j.layer == "video"} for p, plan in (("a", before), ("b", after))}
    assert {j for j in keys["b"] if keys["b"][j] != keys["a"][j]} == {f"video:{s}" for s in changed}
    # the film grows by the fitted amount, which is the extra speech (to a frame: the fit rounds up)
    grown = after.film.timeline.frames - before.film.timeline.frames
    assert grown == new_fit.frames - old_fit.frames
    assert grown / 12 == pytest.approx(spoken, abs=1.01 / 12)

    diff = CliRunner().invoke(main, ["diff", str(tmp_path / "plan.json"), str(film)])
    assert "~ video:s02-sh01" in diff.output and "video:s01" not in diff.output and "video:s03" not in diff.output
    frames = f"frames             {before.film.timeline.frames} → {after.film.timeline.frames}"
    assert re.search(re.escape(frames).replace(r"\ ", r"\s+"), diff.output), diff.output
    seconds = f"{old_fit.frames / 12:.2f}s → {new_fit.frames / 12:.2f}s"
    assert f"fitted s02 Il custode: {seconds}\n" in diff.output   # measured: the new line's voice was made
    assert f"film: {before.film.timeline.frames} → {after.film.timeline.frames} frames (+{grown / 12:.2f}s)" in \
        diff.output

    second = render(after, tmp_path / "out")
    assert made(second) >= {f"video:{s}" for s in changed} - {j.id for j in after.jobs if j.drawn}
    assert not made(second) & {"video:s01-sh01", "video:s03-sh01", "voice:s01-l01", "voice:s03-l01"}
    assert probe(mp4_of(second)).duration - old_seconds == pytest.approx(grown / 12, abs=0.05)
    assert count_frames(mp4_of(second)) == after.film.timeline.frames
    # the subtitles follow the fitted timeline: the last scene's line where the plan puts it
    srt = (Path(second.out_dir) / second.manifest.outputs["srt"]).read_text("utf-8")
    last = next(b for b in after.film.timeline.beats if b.id == "s03-l01")
    stamp = f"{int(last.start // 60):02d}:{int(last.start % 60):02d},{round(last.start % 1 * 1000):03d}"
    assert f"00:{stamp} -->" in srt, srt

    again = render(compiled(film), tmp_path / "out")
    assert made(again) == set()   # an unchanged fitted film re-renders with nothing made


def test_a_voice_the_bounds_cannot_hold_is_a_located_error_by_how_much(tmp_path: Path) -> None:
    film = project(tmp_path, ('"Il custode" {', '"Il custode" 2s..3s {'))
    film.write_text(film.read_text("utf-8").replace(*LONGER), "utf-8")
    with pytest.raises(FilmError) as err:
        compiled(film)
    found = [d for d in err.value.diagnostics if d.code == codes.NARRATION_DOES_NOT_FIT.code]
    assert len(found) == 1 and found[0].span.line == 14
    assert re.fullmatch(r'the narration of scene "Il custode" needs \d+\.\ds as voiced; the scene allows at most '
                        r'3s: \d+\.\ds short', found[0].message), found[0].message


def test_a_provisional_plan_renders_only_if_the_voice_fits_it_as_reviewed(tmp_path: Path) -> None:
    film = project(tmp_path)
    shown = CliRunner().invoke(main, ["compile", str(film)], env={"COLUMNS": "160"})
    assert "Fitted to the narration (provisional: lines estimated from their text" in shown.output, shown.output
    assert re.search(r"s02 Il custode: 7.5s planned → \S+ fitted \(narration \S+; allowed 2s\.\.13s\)", shown.output)
    provisional = compiled(film, for_render=False)   # `filmc compile --json` on a fresh cache: estimates
    assert provisional.film.provisional
    with pytest.raises(UsageError, match=r"provisional fit.*Compile it again"):
        render(provisional, tmp_path / "out")
    measured = compiled(film, for_render=False)      # the voice is cached now: measured, and it renders
    assert not measured.film.provisional and clips(measured) != clips(provisional)
    summary = render(measured, tmp_path / "out")
    assert count_frames(mp4_of(summary)) == measured.film.timeline.frames
    assert "(to the voice as made)" in CliRunner().invoke(main, ["compile", str(film)]).output
