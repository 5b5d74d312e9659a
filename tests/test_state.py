"""The state store: entity lifecycle, runs, files, trending, migrations, concurrency, crash recovery."""

from __future__ import annotations

import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from hf_ipfs_scraper.errors import InvalidInputError, StoreError
from hf_ipfs_scraper.state import ENTITY_TYPES, StateStore, StoredBlob, TrendingRow, owner, schema


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state.sqlite"


@pytest.fixture
def store(path: Path) -> Iterator[StateStore]:
    s = StateStore(path)
    yield s
    s.close()


def sql(path: Path, query: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one statement on a separate connection: what another process (or a reopen) would see."""
    db = sqlite3.connect(path, timeout=30)
    try:
        with db:
            return db.execute(query, args).fetchall()
    finally:
        db.close()


def dead_pid() -> int:
    """The PID of a process that has exited and been reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def run_threads(n: int, target: Callable[[int], None]) -> list[BaseException]:
    """Start ``n`` threads at once (a barrier), join them, return what they raised."""
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def body(i: int) -> None:
        try:
            barrier.wait()
            target(i)
        except BaseException as exc:  # collected and asserted by the caller
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


# -- entities ----------------------------------------------------------------------------------
def test_entity_goes_through_every_status(store: StateStore) -> None:
    e = store.upsert_discovered("model", "org/m", "sha1")
    assert (e.status, e.head_sha, e.sha, e.attempts, e.owner_pid) == ("pending", "sha1", None, 0, None)
    assert e.first_seen == e.updated_at

    assert store.claim("model", "org/m")
    held = store.get("model", "org/m")
    assert held is not None and (held.status, held.attempts, held.owner_pid) == ("in_progress", 1, os.getpid())
    assert not store.claim("model", "org/m", max_attempts=10)  # held

    e = store.mark_failed("model", "org/m", "HTTP 500 " + "x" * 10_000)
    assert (e.status, e.attempts, e.owner_pid) == ("failed", 1, None)
    assert e.last_error is not None and e.last_error.startswith("HTTP 500") and len(e.last_error) == 4_000
    assert not store.claim("model", "org/m", max_attempts=1)  # out of attempts
    assert store.claim("model", "org/m", max_attempts=2)
    assert store.get("model", "org/m").attempts == 2  # type: ignore[union-attr]
    store.mark_failed("model", "org/m", "again")
    assert store.claim("model", "org/m")  # no limit given: the caller decided to retry
    assert store.get("model", "org/m").attempts == 3  # type: ignore[union-attr]

    e = store.mark_skipped("model", "org/m", "gated")
    assert (e.status, e.reason, e.owner_pid) == ("skipped", "gated", None)
    assert not store.claim("model", "org/m", max_attempts=10)
    assert store.upsert_discovered("model", "org/m", "sha1").status == "skipped"

    e = store.upsert_discovered("model", "org/m", "sha2")  # a new revision: look again
    assert (e.status, e.attempts, e.reason, e.last_error, e.head_sha) == ("pending", 0, None, None, "sha2")
    assert store.claim("model", "org/m")
    e = store.mark_done("model", "org/m", "sha2", "bafyroot")
    assert (e.status, e.sha, e.head_sha, e.root_cid, e.attempts, e.owner_pid) == (
        "done", "sha2", "sha2", "bafyroot", 1, None,
    )
    assert not store.claim("model", "org/m", max_attempts=10)
    assert store.counts() == {"done": 1} and store.counts()["failed"] == 0


def test_upsert_on_sha_change(store: StateStore) -> None:
    store.upsert_discovered("model", "a", "v1")
    store.claim("model", "a")
    done = store.mark_done("model", "a", "v1", "cid1")

    same = store.upsert_discovered("model", "a", "v1")
    assert same == done  # nothing written: not even updated_at
    assert store.upsert_discovered("model", "a", None) == done  # an unknown sha changes nothing

    moved = store.upsert_discovered("model", "a", "v2")
    assert (moved.status, moved.head_sha, moved.attempts) == ("pending", "v2", 0)
    assert (moved.sha, moved.root_cid) == ("v1", "cid1")  # the last mirror is still described
    assert moved.first_seen == done.first_seen and moved.updated_at >= done.updated_at

    store.upsert_discovered("dataset", "b", "v1")
    for _ in range(2):
        store.claim("dataset", "b", max_attempts=5)
        store.mark_failed("dataset", "b", "boom")
    kept = store.upsert_discovered("dataset", "b", "v1")
    assert (kept.status, kept.attempts, kept.last_error) == ("failed", 2, "boom")  # rediscovery keeps the budget
    reset = store.upsert_discovered("dataset", "b", "v2")
    assert (reset.status, reset.attempts, reset.last_error) == ("pending", 0, None)

    with_meta = store.upsert_discovered("space", "c", "v1", metadata={"likes": 3})
    assert with_meta.metadata == {"likes": 3}
    assert store.upsert_discovered("space", "c", "v1").metadata == {"likes": 3}
    assert store.upsert_discovered("space", "c", "v1", metadata={"likes": 4}).metadata == {"likes": 4}
    assert store.get("space", "c").status == "pending"  # type: ignore[union-attr]


def test_a_head_that_moves_while_claimed_is_mirrored_again(store: StateStore) -> None:
    store.upsert_discovered("model", "a", "v1")
    assert store.claim("model", "a")
    held = store.upsert_discovered("model", "a", "v2")
    assert (held.status, held.head_sha, held.attempts) == ("in_progress", "v2", 1)  # the worker keeps it
    assert not store.claim("model", "a")
    e = store.mark_done("model", "a", "v1", "cid1")
    assert (e.status, e.sha, e.root_cid, e.head_sha, e.attempts) == ("pending", "v1", "cid1", "v2", 0)
    assert store.claim("model", "a")
    assert store.mark_done("model", "a", "v2", "cid2").status == "done"

    # A worker that mirrored a newer revision than discovery saw is done, not sent round again.
    store.upsert_discovered("model", "b", "v1")
    store.claim("model", "b")
    e = store.mark_done("model", "b", "v3", "cid3")
    assert (e.status, e.sha, e.head_sha) == ("done", "v3", "v3")

    store.upsert_discovered("model", "c", "v1")
    store.claim("model", "c")
    store.upsert_discovered("model", "c", "v2")
    e = store.mark_failed("model", "c", "failed on v1")
    assert (e.status, e.attempts, e.last_error) == ("pending", 0, "failed on v1")


def test_release_gives_a_claim_back_without_counting_it(store: StateStore) -> None:
    assert not store.counts()  # empty: falsy
    store.upsert_discovered("model", "a", "v1")
    assert store.claim("model", "a")
    released = store.release("model", "a")
    assert released is not None
    assert (released.status, released.attempts, released.owner_pid) == ("pending", 0, None)
    assert store.claim("model", "a")
    store.mark_done("model", "a", "v1", "cid")
    assert store.release("model", "a").status == "done"  # type: ignore[union-attr]  # not held: no-op
    assert store.release("model", "nope") is None
    assert store.get("model", "a").as_dict()["root_cid"] == "cid"  # type: ignore[union-attr]


def test_bad_arguments_and_unknown_entities(store: StateStore) -> None:
    with pytest.raises(InvalidInputError, match="entity type"):
        store.upsert_discovered("modle", "a", "v1")
    with pytest.raises(InvalidInputError, match="entity status"):
        list(store.iter_entities(status="finished"))
    with pytest.raises(InvalidInputError, match="JSON"):
        store.upsert_discovered("model", "a", "v1", metadata={"x": object()})
    assert store.get("model", "nope") is None
    assert not store.claim("model", "nope")
    with pytest.raises(StoreError, match="upsert_discovered"):
        store.mark_done("model", "nope", "v1", "cid")
    with pytest.raises(StoreError, match="upsert_discovered"):
        store.mark_failed("model", "nope", "boom")
    with pytest.raises(StoreError, match="FOREIGN KEY"):
        store.record_file("model", "nope", "a.bin", size=1, cid="c", tsize=1)


def test_counts_iteration_and_retryable(store: StateStore) -> None:
    for i in range(1_203):  # more than two pages of iteration
        store.upsert_discovered(("model", "dataset", "space")[i % 3], f"r{i:05d}", "v1")
    for i in range(0, 1_203, 3):
        if i % 2:
            store.claim("model", f"r{i:05d}")
            store.mark_done("model", f"r{i:05d}", "v1", "cid")
    assert store.counts("model") == {"pending": 201, "done": 200}
    assert sum(store.counts().values()) == 1_203

    everything = list(store.iter_entities())
    assert len(everything) == 1_203 and len({(e.type, e.id) for e in everything}) == 1_203
    assert [e.type for e in everything] == sorted((e.type for e in everything), key=ENTITY_TYPES.index)
    pending = list(store.iter_entities("model", "pending"))
    assert len(pending) == 201 and all(e.status == "pending" and e.type == "model" for e in pending)
    assert [e.id for e in pending] == sorted(e.id for e in pending)

    for n, e in enumerate(store.iter_entities("dataset")):  # updating while iterating: no lock held
        store.claim("dataset", e.id, max_attempts=3)
        for _ in range(n % 3):
            store.mark_failed("dataset", e.id, "boom")
            store.claim("dataset", e.id, max_attempts=3)
        store.mark_failed("dataset", e.id, "boom")
    assert store.counts("dataset")["failed"] == 401
    retry = store.retryable("dataset", max_attempts=3)
    assert {e.attempts for e in retry} == {1, 2} and len(retry) == 268
    assert all(e.status == "failed" for e in retry)
    assert all(store.claim("dataset", e.id, max_attempts=3) for e in retry)
    assert store.retryable("dataset", max_attempts=3) == []


def test_only_one_of_eight_threads_wins_a_claim(store: StateStore) -> None:
    entities = [f"m{i}" for i in range(30)]
    for name in entities:
        store.upsert_discovered("model", name, "v1")
    store.upsert_discovered("model", "retry", "v1")
    store.claim("model", "retry")
    store.mark_failed("model", "retry", "boom")
    entities.append("retry")  # a failed entity with attempts left is raced for the same way
    start_together = threading.Barrier(8)
    wins: list[tuple[int, str]] = []

    def worker(i: int) -> None:
        for name in entities:  # all eight go for the same entity at the same moment
            start_together.wait()
            if store.claim("model", name, max_attempts=3):
                wins.append((i, name))

    assert run_threads(8, worker) == []
    assert sorted(name for _, name in wins) == sorted(entities)  # each won exactly once
    assert {e.id: e.attempts for e in store.iter_entities("model")} == {**dict.fromkeys(entities, 1), "retry": 2}


def test_eight_threads_record_files_and_update_entities_at_once(store: StateStore) -> None:
    per_thread = 250
    for i in range(8):
        store.upsert_discovered("model", f"m{i}", "v1")

    def worker(i: int) -> None:
        assert store.claim("model", f"m{i}")
        for j in range(per_thread):
            store.record_file("model", f"m{i}", f"dir/f{j}", size=j, cid=f"c{i}-{j}", tsize=j + 11, oid=f"o{i}-{j}")
            store.upsert_discovered("dataset", f"d{i}-{j}", "v1")
            assert store.cid_for_oid(f"o{i}-{j}") == StoredBlob(f"c{i}-{j}", j + 11, j)
        store.mark_done("model", f"m{i}", "v1", f"root{i}")

    assert run_threads(8, worker) == []  # no "database is locked", no assertion failed
    for i in range(8):
        files = store.files("model", f"m{i}")
        assert [f.path for f in files] == sorted(f"dir/f{j}" for j in range(per_thread))
        assert {f.cid for f in files} == {f"c{i}-{j}" for j in range(per_thread)}
    assert sql(store.path, "SELECT count(*) FROM files") == [(8 * per_thread,)]
    assert store.counts("dataset")["pending"] == 8 * per_thread
    assert store.counts("model")["done"] == 8


def test_recover_takes_back_claims_of_dead_processes_only(store: StateStore, path: Path) -> None:
    for name in "abcd":
        store.upsert_discovered("model", name, "v1")
        assert store.claim("model", name)
    assert store.recover() == 0  # this process lives: its claims stay
    sql(path, "UPDATE entities SET owner_pid = ? WHERE id IN ('a', 'b')", (dead_pid(),))
    assert store.recover() == 2
    assert [store.get("model", n).status for n in "abcd"] == ["pending", "pending", "in_progress", "in_progress"]  # type: ignore[union-attr]
    assert store.get("model", "a").owner_pid is None  # type: ignore[union-attr]
    assert store.claim("model", "a")
    assert store.get("model", "a").attempts == 2  # type: ignore[union-attr]  # the lost attempt counts
    assert store.recover(force=True) == 3
    assert store.counts("model")["pending"] == 4


# -- runs --------------------------------------------------------------------------------------
def test_run_lifecycle_and_log(store: StateStore) -> None:
    first = store.start_run("models")
    assert (first.status, first.ended_at, first.stats, first.log, first.owner_pid) == (
        "running", None, {}, "", os.getpid(),
    )
    store.append_run_log(first.id, "listed 10 models\nthen more")
    store.append_run_log(first.id, "x" * 5_000)
    done = store.finish_run(first.id, "completed", {"mirrored": 10, "bytes": 1 << 40})
    assert done.status == "completed" and done.ended_at is not None and done.ended_at >= done.started_at
    assert done.stats == {"mirrored": 10, "bytes": 1 << 40}
    lines = done.log.splitlines()
    assert len(lines) == 2 and lines[0].endswith("Z listed 10 models then more")
    assert lines[0][:4].isdigit() and len(lines[1]) == len("2025-01-01T00:00:00Z ") + 1_000
    with pytest.raises(StoreError, match="already completed"):
        store.finish_run(first.id, "failed", {})
    with pytest.raises(InvalidInputError):
        store.finish_run(first.id, "running", {})
    with pytest.raises(StoreError, match="no run 999"):
        store.finish_run(999, "failed", {})
    with pytest.raises(StoreError, match="no run 999"):
        store.append_run_log(999, "x")

    second = store.start_run("sync:models")
    third = store.start_run("models")
    store.finish_run(third.id, "failed", {"error": "rate limited"})
    assert [r.id for r in store.runs()] == [third.id, second.id, first.id]
    assert [r.id for r in store.runs(limit=2)] == [third.id, second.id]
    assert [r.id for r in store.runs(key="models")] == [third.id, first.id]
    assert store.last_run("models").id == third.id  # type: ignore[union-attr]
    assert store.last_run("models", status="completed").id == first.id  # type: ignore[union-attr]
    assert store.last_run("datasets") is None
    assert store.run(second.id) == second
    assert second.as_dict() == {
        "id": second.id, "key": "sync:models", "status": "running", "started_at": second.started_at,
        "ended_at": None, "stats": {}, "log": "", "owner_pid": os.getpid(),
    }
    assert len({first, second}) == 2  # rows hash, dict fields aside


def test_run_log_is_capped(store: StateStore) -> None:
    run = store.start_run("models")
    for _ in range(80):
        store.append_run_log(run.id, "y" * 1_000)
    log = store.run(run.id).log  # type: ignore[union-attr]
    assert len(log) <= 64 * 1024 + 100 and log.endswith("[log full: later lines dropped]\n")
    assert log.count("[log full") == 1


def test_open_interrupts_runs_of_dead_processes_only(path: Path) -> None:
    with StateStore(path) as store:
        dead = store.start_run("models")
        reused = store.start_run("datasets")
        mine = store.start_run("spaces")
        finished = store.start_run("models")
        store.finish_run(finished.id, "completed", {})
        store.upsert_discovered("model", "held", "v1")
        store.claim("model", "held")
    pid, tag = owner.current()
    host, _, start = tag.rpartition("/")
    sql(path, "UPDATE runs SET owner_pid = ? WHERE id = ?", (dead_pid(), dead.id))
    # Our own PID, but a process that started at another time: the PID was reused.
    sql(path, "UPDATE runs SET owner_tag = ? WHERE id = ?", (f"{host}/{start}1", reused.id))

    with StateStore(path) as store:
        expected = [dead.id, reused.id] if start else [dead.id]  # no /proc: no start time to compare
        assert store.interrupted_runs == expected
        assert store.recovered == 0  # the claim's owner (this process) lives
        gone = store.run(dead.id)
        assert gone is not None and gone.status == "interrupted" and gone.ended_at is not None
        assert "interrupted: owner process" in gone.log and f"found by process {pid}" in gone.log
        assert store.run(mine.id).status == "running"  # type: ignore[union-attr]
        assert store.run(finished.id).status == "completed"  # type: ignore[union-attr]
        assert store.get("model", "held").status == "in_progress"  # type: ignore[union-attr]


def test_owner_liveness() -> None:
    pid, tag = owner.current()
    assert owner.is_alive(pid, tag)
    assert not owner.is_alive(dead_pid(), tag)
    assert not owner.is_alive(None, None)
    assert owner.is_alive(pid, None)  # no tag: the PID check alone
    assert owner.is_alive(dead_pid(), "another-host/123")  # another host: never judged dead
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while Path(f"/proc/{zombie.pid}/stat").exists() and time.monotonic() < deadline:
        if Path(f"/proc/{zombie.pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z":
            assert not owner.is_alive(zombie.pid, None)  # exited, not yet reaped: kill(pid, 0) works
            break
        time.sleep(0.01)
    zombie.wait()


_CHILD = """
import sys
from hf_ipfs_scraper.state import StateStore

store = StateStore(sys.argv[1])
run = store.start_run("models")
for i in range(4):
    store.upsert_discovered("model", f"org/m{i}", "v1")
store.claim("model", "org/m0")
store.claim("model", "org/m1")
store.mark_done("model", "org/m1", "v1", "root1")
store.claim("model", "org/m2")
print("run", run.id, flush=True)
i = 0
while True:
    store.record_file("model", "org/m0", f"f{i:06d}", size=i, cid=f"c{i}", tsize=i, oid=f"o{i}")
    print(i, flush=True)
    i += 1
"""


def test_kill_9_mid_run_loses_nothing_reported_done(path: Path) -> None:
    with subprocess.Popen([sys.executable, "-c", _CHILD, str(path)], stdout=subprocess.PIPE, text=True) as child:
        try:
            assert child.stdout is not None
            first = child.stdout.readline()
            assert first.startswith("run "), first
            run_id = int(first.split()[1])
            with StateStore(path) as live:  # opened while the child works: nothing of it is touched
                assert live.interrupted_runs == [] and live.recovered == 0
                assert live.run(run_id).status == "running"  # type: ignore[union-attr]
                assert live.get("model", "org/m0").owner_pid == child.pid  # type: ignore[union-attr]
                for i in range(50):  # and two processes write at once
                    live.upsert_discovered("dataset", f"d{i}", "v1")
            while int(child.stdout.readline() or "-1") < 300:
                assert child.poll() is None, "the child died before it was killed"
            os.kill(child.pid, signal.SIGKILL)
            rest = child.stdout.read().split()
        finally:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    last_reported = int(rest[-1]) if rest else 300

    with StateStore(path) as store:
        assert store.interrupted_runs == [run_id]
        run = store.run(run_id)
        assert run is not None and run.status == "interrupted" and f"owner process {child.pid} is gone" in run.log
        assert store.recovered == 2
        states = {e.id: e.status for e in store.iter_entities("model")}
        assert states == {"org/m0": "pending", "org/m1": "done", "org/m2": "pending", "org/m3": "pending"}
        paths = [f.path for f in store.files("model", "org/m0")]
        assert len(paths) >= last_reported + 1
        assert paths[: last_reported + 1] == [f"f{i:06d}" for i in range(last_reported + 1)]
        assert store.counts("dataset")["pending"] == 50
        assert store.last_run("models").status == "interrupted"  # type: ignore[union-attr]


def test_every_call_is_committed_when_it_returns(store: StateStore, path: Path) -> None:
    run = store.start_run("models")
    store.upsert_discovered("model", "a", "v1")
    assert sql(path, "SELECT status FROM entities") == [("pending",)]
    store.claim("model", "a")
    assert sql(path, "SELECT status FROM entities") == [("in_progress",)]
    store.record_file("model", "a", "x", size=1, cid="c", tsize=1)
    assert sql(path, "SELECT path FROM files") == [("x",)]
    store.record_trending(run.id, "model", [TrendingRow(1, "a")])
    assert sql(path, "SELECT id FROM trending") == [("a",)]
    assert sql(path, "SELECT status FROM runs") == [("running",)]


# -- per-update cost ---------------------------------------------------------------------------
def test_update_cost_does_not_grow_with_the_number_of_entities(store: StateStore) -> None:
    seeded = [0]

    def grow_to(n: int) -> None:
        for i in range(seeded[0], n):
            store.upsert_discovered("model", f"seed/{i:06d}", "v1")
        seeded[0] = n

    def cost(tag: str) -> float:
        """Median seconds per (upsert + claim + record_file + cid_for_oid) over batches of 50."""
        batches = []
        for b in range(12):
            start = time.perf_counter()
            for i in range(50):
                name = f"{tag}/{b}-{i}"
                store.upsert_discovered("model", name, "v1")
                store.claim("model", name)
                store.record_file("model", name, "weights.bin", size=i, cid=f"c-{name}", tsize=i, oid=f"o-{name}")
                store.cid_for_oid(f"o-{name}")
            batches.append((time.perf_counter() - start) / 50)
        return statistics.median(batches)

    grow_to(1_000)
    small = cost("small")
    grow_to(20_000)
    large = cost("large")
    assert store.counts("model")["pending"] >= 19_000
    assert large / small < 3, f"{small * 1e6:.0f} us per update at 1k entities, {large * 1e6:.0f} us at 20k"


# -- files -------------------------------------------------------------------------------------
def test_files_record_replace_forget_and_reuse(store: StateStore) -> None:
    store.upsert_discovered("model", "a", "v1")
    store.upsert_discovered("model", "b", "v1")
    lfs = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    rec = store.record_file("model", "a", "model.safetensors", size=10, cid="bafyW", tsize=12, oid=lfs, sha256=lfs)
    git_oid = "b45ef6fec89518d314f546fd6c3025367b721684"
    store.record_file("model", "a", "README.md", size=3, cid="bafyR", tsize=3, oid=git_oid)
    store.record_file("model", "a", "old.txt", size=1, cid="bafyO", tsize=1, oid="deadbeef")
    assert store.file("model", "a", "model.safetensors") == rec
    assert [f.path for f in store.files("model", "a")] == ["README.md", "model.safetensors", "old.txt"]
    assert store.files("model", "b") == [] and store.file("model", "b", "README.md") is None

    assert store.cid_for_oid(lfs) == StoredBlob("bafyW", 12, 10)
    assert store.cid_for_oid(lfs) == ("bafyW", 12, 10)
    assert store.cid_for_oid("unknown") is None
    store.record_file("model", "b", "copy.safetensors", size=10, cid="bafyW", tsize=12, oid=lfs, sha256=lfs)
    assert store.cid_for_oid(lfs) == ("bafyW", 12, 10)

    newer = store.record_file("model", "a", "README.md", size=4, cid="bafyR2", tsize=4, oid="c0ffee")
    assert store.file("model", "a", "README.md") == newer
    assert store.cid_for_oid(git_oid) is None

    assert store.forget_files("model", "a", ["README.md", "model.safetensors", "never-recorded"]) == 1
    assert [f.path for f in store.files("model", "a")] == ["README.md", "model.safetensors"]
    assert store.forget_files("model", "a", iter(["README.md", "model.safetensors"])) == 0
    assert store.forget_files("model", "b", []) == 1
    assert store.cid_for_oid(lfs) == ("bafyW", 12, 10)  # a's record still has it


# -- trending ----------------------------------------------------------------------------------
def test_trending_snapshots(store: StateStore) -> None:
    assert store.trending("model") == [] and store.trending_runs("model") == []
    r1 = store.start_run("trending")
    r2 = store.start_run("trending")
    rows1 = [TrendingRow(2, "b", 5.5, 10, 100, captured_at=1_700_000_000.0), TrendingRow(1, "a", 9.0, 20, 200)]
    store.record_trending(r1.id, "model", rows1)
    store.record_trending(r1.id, "dataset", [TrendingRow(1, "ds", 1.0)])
    got = store.trending("model")
    assert [(r.rank, r.id, r.trending_score, r.likes, r.downloads) for r in got] == [
        (1, "a", 9.0, 20, 200), (2, "b", 5.5, 10, 100),
    ]
    assert got[1].captured_at == 1_700_000_000.0 and got[0].captured_at is not None
    assert got[0].captured_at >= r1.started_at

    store.record_trending(r2.id, "model", [TrendingRow(1, "c", 7.0, 1, 2)])
    assert [r.id for r in store.trending("model")] == ["c"]  # the newest run that recorded models
    assert [r.id for r in store.trending("model", r1.id)] == ["a", "b"]
    assert [r.id for r in store.trending("dataset")] == ["ds"]  # r2 recorded no datasets
    assert store.trending_runs("model") == [r2.id, r1.id] and store.trending_runs("dataset") == [r1.id]
    assert store.trending("space") == [] and store.trending("model", 999) == []
    assert store.trending("model")[0].as_dict() == {
        "rank": 1, "id": "c", "trending_score": 7.0, "likes": 1, "downloads": 2,
        "captured_at": store.trending("model")[0].captured_at,
    }

    store.record_trending(r2.id, "model", [TrendingRow(1, "d"), TrendingRow(2, "c")])  # replaces r2's list
    assert [(r.id, r.trending_score) for r in store.trending("model")] == [("d", None), ("c", None)]
    with pytest.raises(InvalidInputError, match="repeat a rank"):
        store.record_trending(r2.id, "model", [TrendingRow(1, "x"), TrendingRow(1, "y")])
    with pytest.raises(StoreError, match="FOREIGN KEY"):
        store.record_trending(999, "model", [TrendingRow(1, "x")])
    assert [r.id for r in store.trending("model")] == ["d", "c"]  # a failed record changes nothing


def test_batch_reads_and_run_members(store: StateStore) -> None:
    """The listing path of the job API: one query for a run's members, one each for a page."""
    run = store.start_run("models")
    for i, name in enumerate(["a", "b", "c"]):
        store.upsert_discovered("model", name, f"sha{i}")
    store.record_file("model", "b", "z.bin", size=2, cid="bafyZ", tsize=2)
    store.record_file("model", "b", "a.txt", size=1, cid="bafyA", tsize=1)
    store.record_trending(run.id, "model", [TrendingRow(1, "c", 3.0), TrendingRow(2, "ghost", 2.0),
                                            TrendingRow(3, "a", 1.0)])
    members = store.run_members("model", run.id)
    assert [(m.rank, m.id, m.trending_score) for m in members] == [(1, "c", 3.0), (3, "a", 1.0)]  # no ghost
    assert store.run_members("model", run.id + 1) == [] and store.run_members("dataset", run.id) == []
    many = store.get_many("model", ["a", "ghost", "c", "a"])
    assert sorted(many) == ["a", "c"] and many["c"] == store.get("model", "c")
    ids = [f"m{i}" for i in range(1200)]  # past one IN (...) batch
    for i in ids:
        store.upsert_discovered("model", i, "s")
    assert len(store.get_many("model", ids)) == 1200
    files = store.files_many("model", ["b", "a", "nothing"])
    assert [f.path for f in files["b"]] == ["a.txt", "z.bin"] and files["a"] == [] and files["nothing"] == []
    with pytest.raises(InvalidInputError):
        store.get_many("repo", ["a"])


# -- schema ------------------------------------------------------------------------------------
def test_schema_is_recorded_in_migrations(store: StateStore, path: Path) -> None:
    rows = sql(path, "SELECT version, name FROM _migrations ORDER BY version")
    assert rows == [(m.version, m.name) for m in schema.MIGRATIONS]
    assert store.schema_version == schema.MIGRATIONS[-1].version
    assert sql(path, "PRAGMA journal_mode") == [("wal",)]
    store.close()
    StateStore(path).close()  # reopening applies nothing twice
    assert sql(path, "SELECT count(*) FROM _migrations") == [(len(schema.MIGRATIONS),)]


def test_a_newer_schema_is_refused(path: Path) -> None:
    StateStore(path).close()
    newer = schema.MIGRATIONS[-1].version + 1
    sql(path, "INSERT INTO _migrations VALUES (?, 'from the future', 0)", (newer,))
    with pytest.raises(StoreError, match=f"schema version {newer}, newer than"):
        StateStore(path)


def test_an_older_schema_is_upgraded(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with StateStore(path) as store:
        store.upsert_discovered("model", "a", "v1")
    extra = schema.Migration(schema.MIGRATIONS[-1].version + 1, "entities.note", "ALTER TABLE entities ADD note TEXT;")
    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS, extra))
    with StateStore(path) as store:
        assert store.schema_version == extra.version
        assert store.get("model", "a").head_sha == "v1"  # type: ignore[union-attr]
    assert sql(path, "SELECT note FROM entities") == [(None,)]
    assert sql(path, "SELECT name FROM _migrations WHERE version = ?", (extra.version,)) == [("entities.note",)]


def test_a_walk_recorded_before_lanes_is_one_chain_after_the_upgrade(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as older:
        older.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:4])
        StateStore(path).close()
    sql(path, "INSERT INTO walks (type, kind, status, started_at, next_url, pages, listed)"  # as schema 4 wrote it
        " VALUES ('model', 'full', 'running', 0, 'https://hub/api/models?cursor=x', 1, 1000)")
    with StateStore(path) as store:
        assert store.schema_version == schema.MIGRATIONS[-1].version
        resumed = store.unfinished_walk("model")
    assert resumed is not None and (resumed.pages, resumed.next_url) == (1, "https://hub/api/models?cursor=x")
    assert (resumed.ordered, resumed.covered, resumed.back_url, resumed.front_key) == (False, False, None, None)


def test_a_failed_upgrade_changes_nothing(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    StateStore(path).close()
    current = schema.MIGRATIONS[-1].version
    broken = schema.Migration(current + 1, "broken", "CREATE TABLE t (x);\nSELECT nope;")
    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS, broken))
    with pytest.raises(StoreError, match="no such column"):
        StateStore(path)
    assert sql(path, "SELECT name FROM sqlite_master WHERE name = 't'") == []
    assert sql(path, "SELECT max(version) FROM _migrations") == [(current,)]


def test_a_different_migration_history_is_refused(path: Path) -> None:
    StateStore(path).close()
    sql(path, "UPDATE _migrations SET name = 'something else' WHERE version = 1")
    with pytest.raises(StoreError, match="incompatible build"):
        StateStore(path)


def test_other_files_are_not_state_stores(tmp_path: Path) -> None:
    other = tmp_path / "pins.sqlite"
    sql(other, "CREATE TABLE pins (cid TEXT PRIMARY KEY)")
    with pytest.raises(StoreError, match="not a state database"):
        StateStore(other)
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreError, match="state database"):
        StateStore(garbage)


def test_close_and_context_manager(path: Path) -> None:
    with StateStore(path) as store:
        store.upsert_discovered("model", "a", "v1")
    store.close()  # twice is fine
    with pytest.raises(StoreError, match="closed"):
        store.get("model", "a")
    assert repr(store) == f"StateStore({str(path)!r})"
    with StateStore(path) as again:
        assert again.get("model", "a") is not None
