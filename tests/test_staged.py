"""StagedFolder: an export's files replaced all at once, by one writer at a time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hf_ipfs_scraper.errors import StoreLockedError
from hf_ipfs_scraper.layout import write_temp
from hf_ipfs_scraper.staged import StagedFolder


def test_a_second_writer_is_refused_naming_the_first(tmp_path: Path) -> None:
    with StagedFolder(tmp_path):
        with pytest.raises(StoreLockedError, match=r"another export into .* is running \(pid \d+\)"):
            StagedFolder(tmp_path)
    StagedFolder(tmp_path).close()  # released


def test_nothing_staged_replaces_anything_until_commit_and_an_uncommitted_stage_is_dropped(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("old a")
    with StagedFolder(tmp_path) as staged:
        staged.stage(tmp_path / "a.txt", write_temp(tmp_path / "a.txt", "new a"))
        assert (tmp_path / "a.txt").read_text() == "old a"
    assert (tmp_path / "a.txt").read_text() == "old a"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_journal_left_by_a_crash_is_rolled_forward_and_killed_writers_temps_swept(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("old a")
    (tmp_path / "b.txt").write_text("new b")  # renamed before the crash
    new_a = write_temp(tmp_path / "a.txt", "new a")
    orphan = write_temp(tmp_path / "c.txt", "a killed writer's")
    missing = tmp_path / ".b.txt.000000000000.tmp"
    (tmp_path / ".export.commit").write_text(json.dumps([[str(new_a), str(tmp_path / "a.txt")],
                                                          [str(missing), str(tmp_path / "b.txt")]]))
    StagedFolder(tmp_path).close()
    assert (tmp_path / "a.txt").read_text() == "new a" and (tmp_path / "b.txt").read_text() == "new b"
    assert not orphan.exists() and not (tmp_path / ".export.commit").exists()


def test_a_journal_cut_short_is_dropped_before_any_rename(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("old a")
    new_a = write_temp(tmp_path / "a.txt", "new a")
    (tmp_path / ".export.commit").write_text(json.dumps([[str(new_a), str(tmp_path / "a.txt")]])[:-3])
    StagedFolder(tmp_path).close()
    assert (tmp_path / "a.txt").read_text() == "old a" and not new_a.exists()
