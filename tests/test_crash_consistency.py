"""Crash consistency: ``kill -9`` of the CLI at 20 seeded moments of a mirror, of a catalog walk and
of an export, resuming after each, ends where one uninterrupted run ends (issue 10, point 3).

The moments are spread along the clean run's own timeline: the clean run is timed first, 20
points are drawn in it (seeded), and the i-th killed process lives for the gap between two points
plus the CLI's start, so each kill lands somewhere in the remaining work rather than after it. After
every kill, with nothing running: ``PRAGMA integrity_check`` of every SQLite file says ok, the
block store verifies, and (for the export) the previous export is still whole. After the last
resume: nothing ``in_progress``, and the state, the store and the export equal the clean run's in
everything but local times and run ids.

A full disk is a real one: a small tmpfs mounted for the test (root can; elsewhere the test
skips, and fails under ``CI=true``)."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from hf_ipfs_scraper.state import StateStore
from hf_ipfs_scraper.storage.embedded import EmbeddedStore
from tests.hubemu import GeneratedHub, HubEmulator, build_corpus
from tests.hubemu.fixtures import HfEnv
from tests.test_export import synthetic_archive
from tests.test_mirror_e2e import _recorded
from tests.test_walk_scale import _assert_same_catalog

CLI = [sys.executable, "-m", "hf_ipfs_scraper.cli.main"]
KILLS = 20
SEED = 10
# Columns that say when or by whom this machine did something, not what the archive holds.
LOCAL = {
    "entities": {"first_seen", "updated_at", "listed_at", "mirrored_at", "attempts", "owner_pid", "owner_tag", "claimed_sha"},
    "files": {"recorded_at"},
    "trending": {"run_id", "captured_at"},
}
COMPARED = ("entities", "files", "readmes", "edges", "provenance_warnings", "trending")


@dataclass
class Killed:
    """What a sequence of killed runs saw."""

    kills: int = 0  # processes killed mid-run
    finished_early: int = 0  # processes that ended before their moment came
    seconds: float = 0.0
    codes: list[int] = field(default_factory=list)


def _timed(command: list[str], env: dict[str, str]) -> float:
    start = time.monotonic()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return time.monotonic() - start


Moment = Callable[["subprocess.Popen[bytes]"], None]  # returns when it is time to kill (or the run ended)


def _after_seconds(seconds: float) -> Moment:
    def wait(proc: subprocess.Popen[bytes]) -> None:
        try:
            proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            pass
    return wait


def _once(progress: Callable[[], int], target: int, then: float) -> Moment:
    """When ``progress()`` reaches ``target``, ``then`` seconds more (a kill mid-step, not only between)."""
    def wait(proc: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + 120
        while proc.poll() is None and progress() < target:
            assert time.monotonic() < deadline, f"no progress to {target} in 120 s"
            time.sleep(0.01)
        _after_seconds(then)(proc)
    return wait


def _along(progress: Callable[[], int], total: int, seed: int) -> list[Moment]:
    """KILLS moments spread along a resumable job's progress (0..total, seeded): each killed run
    dies somewhere in what is left, since a resumed run keeps what the killed ones did."""
    rng = random.Random(seed)
    targets = sorted(rng.randint(0, total) for _ in range(KILLS))
    return [_once(progress, target, rng.uniform(0.0, 0.3)) for target in targets]


def _kill_at(command: list[str], env: dict[str, str], moments: list[Moment], after_each: Callable[[], None]) -> Killed:
    """Run ``command`` once per moment, SIGKILLing it when the moment comes; ``after_each`` checks
    what the killed process left (nothing runs meanwhile)."""
    seen = Killed()
    start = time.monotonic()
    for moment in moments:
        with subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as proc:
            moment(proc)
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                seen.kills += 1
            else:
                seen.finished_early += 1
            stderr = proc.stderr.read().decode() if proc.stderr else ""
        seen.codes.append(proc.returncode)
        assert proc.returncode in (0, -signal.SIGKILL), stderr  # no run fails on what a kill left
        after_each()
    seen.seconds = time.monotonic() - start
    return seen


def _sqlite_files(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*") if p.is_file() and p.read_bytes()[:16] == b"SQLite format 3\x00")


def _assert_intact(out: Path) -> None:
    """Every SQLite database passes integrity_check and the block store verifies (nothing runs)."""
    for db_path in _sqlite_files(out):
        db = sqlite3.connect(db_path)
        try:
            assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)], db_path
        finally:
            db.close()
    if (out / "ipfs").exists():
        with EmbeddedStore(out / "ipfs", readonly=True, create=False) as store:
            report = store.verify()
            assert report.ok, (report.corrupt[:5], report.missing[:5])


def _rows(db: sqlite3.Connection, table: str) -> list[tuple[object, ...]]:
    columns = [row[1] for row in db.execute(f"PRAGMA table_info({table})") if row[1] not in LOCAL.get(table, ())]
    return sorted(db.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall(), key=repr)


def _assert_same_state(killed: Path, clean: Path, *, trending: bool = True) -> None:
    a, b = (sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True) for p in (killed, clean))
    try:
        assert a.execute("SELECT count(*) FROM entities WHERE status = 'in_progress'").fetchone() == (0,)
        for table in COMPARED:
            if table == "trending" and not trending:
                continue
            mine, theirs = _rows(a, table), _rows(b, table)
            if table == "trending":  # the last run's list: each run records one, killed ones too
                last_a = a.execute("SELECT max(run_id) FROM trending").fetchone()[0]
                last_b = b.execute("SELECT max(run_id) FROM trending").fetchone()[0]
                mine = _rows_of_run(a, last_a)
                theirs = _rows_of_run(b, last_b)
            assert mine == theirs, (table, [r for r in mine if r not in theirs][:3], [r for r in theirs if r not in mine][:3])
    finally:
        a.close()
        b.close()


def _rows_of_run(db: sqlite3.Connection, run_id: int | None) -> list[tuple[object, ...]]:
    return db.execute("SELECT type, rank, id, trending_score, likes, downloads FROM trending WHERE run_id IS ?"
                      " ORDER BY type, rank", (run_id,)).fetchall()


def _store_content(path: Path) -> tuple[set[bytes], set[tuple[str, str | None]]]:
    with EmbeddedStore(path, readonly=True, create=False) as store:
        return set(store.blocks.iter_multihashes()), {(str(p.cid), p.name) for p in store.pins()}


def _report(what: str, clean: float, seen: Killed) -> None:
    print(f"\n{what}: clean run {clean:.1f} s; {seen.kills} kills, {seen.finished_early} runs ended before"
          f" their moment, {seen.seconds:.1f} s of killed runs")


# -- a mirror of the three types ---------------------------------------------------------------
def test_a_mirror_killed_at_20_moments_ends_as_an_uninterrupted_one(hf_env, hub_factory, tmp_path: Path) -> None:
    corpus = build_corpus(n_models=14, seed=SEED, with_real_minilm=False, n_datasets=6, n_spaces=6)
    emu = hub_factory(corpus, latency=0.03)
    env = hf_env.subprocess_env(emu)

    def mirror(out: Path) -> list[str]:  # no snapshot: its run.json and state copy differ by when
        return [*CLI, "--output-dir", str(out), "all", "--models", "10", "--datasets", "5", "--spaces", "5",
                "--workers", "2", "--no-snapshot"]

    clean = tmp_path / "clean"
    clean_seconds = _timed(mirror(clean), env)
    total = len(_recorded(clean / "state.sqlite"))
    killed = tmp_path / "killed"
    moments = _along(lambda: len(_recorded(killed / "state.sqlite")), total, SEED)
    seen = _kill_at(mirror(killed), env, moments, lambda: _assert_intact(killed))
    _report("mirror", clean_seconds, seen)
    assert seen.kills >= KILLS - 3, seen  # the moments fell inside runs, not after them
    final = subprocess.run(mirror(killed), env=env, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr
    _assert_intact(killed)
    _assert_same_state(killed / "state.sqlite", clean / "state.sqlite")
    assert _store_content(killed / "ipfs") == _store_content(clean / "ipfs")
    with StateStore(killed / "state.sqlite", readonly=True) as state:
        statuses = {r.status for r in state.runs()}
        assert statuses <= {"completed", "interrupted"} and "completed" in statuses


# -- a catalog walk of the three types ---------------------------------------------------------
def _pages_walked(db: Path) -> int:
    """Pages the walks in a state another process is writing have recorded (0 before its schema)."""
    if not db.is_file():
        return 0
    try:
        conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.OperationalError:
        return 0
    try:
        return int(conn.execute("SELECT coalesce(sum(pages), 0) FROM walks").fetchone()[0])
    except sqlite3.OperationalError:  # no schema yet, or the writer holds it a moment
        return 0
    finally:
        conn.close()


def test_a_catalog_walk_killed_at_20_moments_ends_as_an_uninterrupted_one(tmp_path: Path) -> None:
    hub = GeneratedHub(models=16_000, datasets=6_000, spaces=6_000, seed=SEED)
    with pytest.MonkeyPatch.context() as monkeypatch, HubEmulator(generated=hub) as emu:
        env = HfEnv(monkeypatch, tmp_path / "hf-home")
        env.use(emu)

        def walk(out: Path) -> list[str]:
            return [*CLI, "--output-dir", str(out), "catalog"]

        clean = tmp_path / "clean"
        clean_seconds = _timed(walk(clean), env.subprocess_env(emu))
        total = _pages_walked(clean / "state.sqlite")
        killed = tmp_path / "killed"
        moments = _along(lambda: _pages_walked(killed / "state.sqlite"), total, SEED)
        seen = _kill_at(walk(killed), env.subprocess_env(emu), moments, lambda: _assert_intact(killed))
        _report("catalog walk", clean_seconds, seen)
        assert seen.kills >= KILLS - 3, seen
        final = subprocess.run(walk(killed), env=env.subprocess_env(emu), capture_output=True, text=True, timeout=300)
        assert final.returncode == 0, final.stderr
    _assert_intact(killed)
    _assert_same_catalog(killed / "state.sqlite", [clean / "state.sqlite"])
    with StateStore(killed / "state.sqlite", readonly=True) as state:
        for repo_type in ("model", "dataset", "space"):
            assert state.unfinished_walk(repo_type) is None
            assert state.last_walk(repo_type, "full") is not None


# -- an export ---------------------------------------------------------------------------------
def _tables(folder: Path) -> dict[str, object]:
    return {p.name: pq.read_table(p) for p in sorted(folder.glob("*.parquet"))}


def test_an_export_killed_at_20_moments_leaves_the_previous_one_whole_and_ends_as_a_clean_one(tmp_path: Path) -> None:
    """Each killed export leaves the folder holding the previous export or the new one, whole:
    never new entities beside old files and edges (the archive changed between the two)."""
    archive = tmp_path / "archive"
    synthetic_archive(archive, 30_000)
    env = {**os.environ}

    def export(folder: Path) -> list[str]:
        return [*CLI, "--output-dir", str(archive), "export", "--output", str(folder)]

    exported = tmp_path / "exported"
    _timed(export(exported), env)  # the previous export
    old = _tables(exported)
    db = sqlite3.connect(archive / "state.sqlite")
    with db:  # the archive moves on: every repo liked once more, since
        db.execute("UPDATE entities SET likes = likes + 1, updated_at = updated_at + 10")
        db.execute("INSERT INTO files (type, entity_id, path, size, cid, tsize, recorded_at)"
                   " VALUES ('model', 'org/m0000000', 'config.json', 2, 'QmC', 10, 0)")
    db.close()
    clean = tmp_path / "clean"
    clean_seconds = _timed(export(clean), env)
    new = _tables(clean)
    assert len(new) >= 6 and all(new[name] != old[name] for name in ("all_entities.parquet", "files.parquet"))
    seen_old = seen_new = 0

    def old_or_new_whole() -> None:
        nonlocal seen_old, seen_new
        _assert_intact(archive)
        now = _tables(exported)
        assert now in (old, new), {name: (now[name] == old[name], now[name] == new[name]) for name in now}
        seen_old, seen_new = seen_old + (now == old), seen_new + (now == new)

    rng = random.Random(SEED)
    moments = [_after_seconds(rng.uniform(0.0, clean_seconds)) for _ in range(KILLS)]  # each starts over
    seen = _kill_at(export(exported), env, moments, old_or_new_whole)
    _report("export", clean_seconds, seen)
    print(f"after the kills the folder held the previous export {seen_old} times, the new one {seen_new} times")
    assert seen.kills >= KILLS - 5 and seen_old >= 1, seen
    final = subprocess.run(export(exported), env=env, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr
    assert _tables(exported) == new
    assert (exported / "README.md").read_bytes() == (clean / "README.md").read_bytes()
    cid = [line.split()[2] for line in final.stdout.splitlines() if line.startswith("export CID ")]
    clean_cid = subprocess.run([*CLI, "ipfs", "add", "-r", "-Q", "-n", str(clean)], env=env,
                               capture_output=True, text=True, timeout=120).stdout.split()
    assert cid == clean_cid and len(cid) == 1
    assert not [p.name for p in exported.iterdir() if p.name.endswith(".tmp")]  # swept: no killed run's leftovers
    _assert_intact(archive)


# -- a full disk -------------------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs (a real full disk: ENOSPC from the kernel), unmounted afterwards."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        reason = f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode}): needs root"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_stops_the_mirror_with_one_line_and_a_bigger_one_resumes_it(
    hf_env, hub_factory, small_disk: Path, tmp_path: Path
) -> None:
    corpus = build_corpus(n_models=12, seed=SEED, with_real_minilm=False, n_datasets=0, n_spaces=0,
                          lfs_max_size=3 << 20)  # a few MiB a repo: the 3 MiB disk fills within the run
    emu = hub_factory(corpus)
    env = hf_env.subprocess_env(emu)
    out = small_disk / "out"

    def mirror(folder: Path) -> list[str]:
        return [*CLI, "--output-dir", str(folder), "models", "--limit", "10", "--workers", "2", "--no-snapshot"]

    full = subprocess.run(mirror(out), env=env, capture_output=True, text=True, timeout=300)
    assert full.returncode != 0, full.stdout
    lines = full.stderr.strip().splitlines()
    assert "Traceback" not in full.stderr and len(lines) == 1, full.stderr
    assert lines[0].startswith("Error: ") and ("No space left on device" in lines[0] or "disk is full" in lines[0]), lines
    print(f"\nfull disk: {lines[0]}")
    subprocess.run(["mount", "-o", "remount,size=256m", str(small_disk)], check=True)
    _assert_intact(out)  # what was recorded is whole: every recorded file's blocks are there
    with StateStore(out / "state.sqlite") as state:  # opening it puts the stopped run's claims back
        assert state.counts("model").get("in_progress", 0) == 0
        for entity in state.iter_entities("model", "done"):
            assert entity.root_cid is not None
    resumed = subprocess.run(mirror(out), env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    clean = tmp_path / "clean"
    assert subprocess.run(mirror(clean), env=env, capture_output=True, text=True, timeout=300).returncode == 0
    _assert_intact(out)
    _assert_same_state(out / "state.sqlite", clean / "state.sqlite")
    assert _store_content(out / "ipfs") == _store_content(clean / "ipfs")
