"""Files appear whole or not at all: the helper every cache, sidecar and output write goes through."""

from __future__ import annotations

from pathlib import Path

import pytest

from filmc.files import PART_GLOB, atomic_path, file_digest, place, write_atomic, write_text_atomic


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "clip.mp4"
    target.write_bytes(b"old and whole")
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        tmp.write_bytes(b"half a cl")
        raise KeyboardInterrupt
    assert target.read_bytes() == b"old and whole"
    assert list(tmp_path.glob(PART_GLOB)) == []


def test_a_file_that_fails_verification_never_arrives(tmp_path: Path) -> None:
    def refuse(path: Path) -> None:
        raise ValueError(f"{path.name} is too short")

    with pytest.raises(ValueError, match="too short"):
        write_atomic(tmp_path / "new.wav", lambda tmp: tmp.write_bytes(b"RIFF"), refuse)
    assert list(tmp_path.iterdir()) == []


def test_the_temp_file_keeps_the_suffix_and_sits_beside_the_target(tmp_path: Path) -> None:
    seen: list[Path] = []

    def produce(tmp: Path) -> None:
        seen.append(tmp)
        tmp.write_bytes(b"x")

    write_atomic(tmp_path / "deep" / "film.mp4", produce)
    assert seen[0].parent == tmp_path / "deep" and seen[0].suffix == ".mp4" and seen[0].name.startswith(".")
    assert (tmp_path / "deep" / "film.mp4").read_bytes() == b"x"


def test_text_and_placed_copies_are_whole(tmp_path: Path) -> None:
    write_text_atomic(tmp_path / "a.srt", "1\n00:00:00,000 --> 00:00:01,000\nCiao\n")
    place(tmp_path / "a.srt", tmp_path / "media" / "b.srt")
    assert (tmp_path / "media" / "b.srt").read_text("utf-8").endswith("Ciao\n")
    assert file_digest(tmp_path / "a.srt") == file_digest(tmp_path / "media" / "b.srt")
    place(tmp_path / "a.srt", tmp_path / "media" / "b.srt")  # placing again over itself is fine
    assert list(tmp_path.rglob(PART_GLOB)) == []
