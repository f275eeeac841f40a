"""`filmc export`: each editor format written through OTIO's adapter and read back by the same adapter, with the
picture's clips, lengths, transitions and scene markers the format can hold; a missing adapter is told, not raised."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import opentimelineio as otio
import pytest

from filmc.cli.export import FORMATS
from filmc.deliver.editors import EDITOR_FORMATS
from tests.conftest import FILMS

pytestmark = pytest.mark.slow

def filmc(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """A real process: exit codes and streams as a user gets them."""
    return subprocess.run([sys.executable, "-m", "filmc.cli", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, check=False)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """hello.film rendered offline, once, with its previz clips kept (an editor's timeline of clips with handles
    and transitions, as a generated film has): out/hello/hello.otio beside it."""
    root = tmp_path_factory.mktemp("export")
    shutil.copy(FILMS / "hello.film", root / "hello.film")
    rendered = filmc("render", "hello.film", "--keep-clips", cwd=root)
    assert rendered.returncode == 0, rendered.stderr
    yield root


def _picture(timeline: otio.schema.Timeline) -> list[tuple[str, int]]:
    return [(c.name, c.duration().to_frames()) for c in timeline.video_tracks()[0].find_clips()]


def _transitions(timeline: otio.schema.Timeline) -> list[int]:
    return [t.duration().to_frames() for t in timeline.video_tracks()[0] if isinstance(t, otio.schema.Transition)]


def test_the_cli_and_the_format_table_name_the_same_formats() -> None:
    assert set(FORMATS) == set(EDITOR_FORMATS)


@pytest.mark.parametrize("name", FORMATS)
def test_export_reads_back_with_the_same_adapter(project: Path, name: str) -> None:
    fmt = EDITOR_FORMATS[name]
    source = otio.adapters.read_from_file(str(project / "out" / "hello" / "hello.otio"))
    out = project / f"cut-{name}{fmt.suffix}"
    done = filmc("export", "out/hello/hello.otio", "--format", name, "-o", str(out), cwd=project)
    assert done.returncode == 0, done.stderr
    back = otio.adapters.read_from_file(str(out), adapter_name=fmt.adapter)
    assert _picture(back) == _picture(source)
    assert sum(frames for _, frames in _picture(back)) == source.duration().to_frames() == 8 * 24
    assert _transitions(source)   # hello has transitions, so the check below means something
    if name != "fcpxml":   # the FCPXML adapter writes cuts only (docs/editing.md)
        assert _transitions(back) == _transitions(source)
    scenes = [m.name for m in source.tracks.markers]
    assert len(scenes) >= 2
    markers = [m.name for m in back.tracks.markers] + [m.name for c in back.find_clips() for m in c.markers]
    assert sorted(set(markers), key=str.upper) == (scenes if name != "edl" else [s.upper() for s in scenes])
    if name == "edl":
        assert back.audio_tracks() == []   # an EDL holds the picture track only
    else:   # the narration lines, each where the .otio has it
        lines = [(c.name, c.range_in_parent().start_time.to_frames()) for c in source.audio_tracks()[0].find_clips()]
        assert lines and [(c.name, c.trimmed_range_in_parent().start_time.to_frames())
                          for c in back.audio_tracks()[0].find_clips()] == lines
    for clip in back.video_tracks()[0].find_clips():   # an XML or EDL names media by absolute path
        path = Path(otio.url_utils.filepath_from_url(clip.media_reference.target_url))
        assert path.is_absolute() and path.is_file(), clip.media_reference.target_url


def test_a_film_exports_the_timeline_its_render_wrote(project: Path) -> None:
    done = filmc("export", "hello.film", "-f", "fcp7", cwd=project)
    assert done.returncode == 0, done.stderr
    written = project / "out" / "hello" / "hello.xml"
    assert _picture(otio.adapters.read_from_file(str(written), adapter_name="fcp_xml")) == _picture(
        otio.adapters.read_from_file(str(project / "out" / "hello" / "hello.otio")))


def test_an_unrendered_film_says_render_it_first(tmp_path: Path) -> None:
    shutil.copy(FILMS / "hello.film", tmp_path / "hello.film")
    done = filmc("export", "hello.film", "-f", "edl", cwd=tmp_path)
    assert done.returncode == 2
    assert "filmc render hello.film" in done.stderr and "Traceback" not in done.stderr


def test_a_file_that_is_not_a_timeline_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "notes.otio").write_text('{"not": "a timeline"', "utf-8")
    done = filmc("export", "notes.otio", "-f", "edl", cwd=tmp_path)
    assert done.returncode == 2 and "can't be read as an OpenTimelineIO timeline" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("name", FORMATS)
def test_a_missing_adapter_says_how_to_install_it(project: Path, name: str) -> None:
    # OTIO's own switch: the adapters that packages register through entry points are not loaded
    out = project / f"never-{name}{EDITOR_FORMATS[name].suffix}"
    done = filmc("export", "out/hello/hello.otio", "-f", name, "-o", str(out), cwd=project,
                 env={"OTIO_DISABLE_ENTRYPOINTS_PLUGINS": "1"})
    assert done.returncode == 2
    assert f"pip install '{EDITOR_FORMATS[name].package}'" in " ".join(done.stderr.split())
    assert "Traceback" not in done.stderr
    assert not out.exists()
