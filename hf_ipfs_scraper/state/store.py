"""The state store: what every scraper has discovered, claimed, mirrored and recorded, in SQLite.

One database file is shared by every scraper (models, datasets, Spaces), their worker threads and
any number of processes; it is what makes a run resumable after a crash or ``kill -9``:

* every method commits before it returns, so whatever a call reported done survives the process;
* every write is one single-row statement or one short transaction, and every lookup uses an
  index, so an update costs the same at a thousand entities or a million (nothing rewrites the
  whole state);
* opening the store puts back what dead processes left behind: runs still ``running`` become
  ``interrupted``, entities still ``in_progress`` become ``pending`` (see :mod:`.owner` for how a
  dead owner is told from a live one).

Connection strategy: one connection per store, guarded by a lock (as the block store's pin table).
SQLite runs one writer at a time anyway; with a connection per thread, contending threads wait in
SQLite's busy handler, which polls with sleeps of up to 100 ms. Measured with 8 threads writing
at once (2 CPUs): both cost 0.07-0.18 ms per update in throughput (per-thread connections about a
quarter less on pure inserts), but the slowest update took 0.2-0.4 s with per-thread connections
(1.2-1.7 s in read-then-write transactions) against 0.07-0.2 s with the lock, and a busy handler
that runs out of time fails with "database is locked", which a lock cannot. Workers spend seconds
per file on the network, so latency and certainty win over a few percent of throughput. The busy
timeout still covers other processes; long reads are paged so they never hold the lock for long.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections import Counter
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from ..errors import InvalidInputError, StoreError
from . import owner
from .rows import (
    ENTITY_COLUMNS,
    ENTITY_COLUMNS_NO_METADATA,
    JSON_COLUMNS,
    META_COLUMNS,
    Archived,
    EdgeRow,
    ENTITY_STATUSES,
    ENTITY_TYPES,
    FILE_COLUMNS,
    RUN_COLUMNS,
    RUN_END_STATUSES,
    SNAPSHOT_COLUMNS,
    TRENDING_COLUMNS,
    EntityState,
    FileRecord,
    Run,
    RunMember,
    SnapshotRow,
    StoredBlob,
    TrendingRow,
    WALK_COLUMNS,
    WalkRow,
    entity_from_row,
    file_from_row,
    run_from_row,
    snapshot_from_row,
    to_json,
    trending_from_row,
)
from .schema import MIGRATIONS, migrate

_BUSY_TIMEOUT_S = 30.0  # another process's transaction (a migration, a checkpoint) may take a while
_PAGE = 500  # rows per query when iterating, so no lock is held while the caller works
_MAX_LINE = 1_000  # characters kept of one log line
_MAX_LOG = 64 * 1024  # characters of log per run; later lines are dropped, once noted
_LOG_FULL = "[log full: later lines dropped]\n"
_MAX_ERROR = 4_000  # characters kept of an error message
_UNLIMITED = 2**62  # claim()'s attempt limit when the caller gives none
_SELECT_ENTITY = f"SELECT {ENTITY_COLUMNS} FROM entities WHERE type = ? AND id = ?"
_SCAN_ROWS = 10_000  # rows per fetch of a bulk scan
_IN_BATCH = 500  # ids per IN (...) list: far below SQLite's 32766 bound parameters
# Does the new edge's target reach its source already? (then the edge would close a cycle)
_REACHES = (
    "WITH RECURSIVE up(node) AS (SELECT :dst UNION SELECT e.dst FROM edges e JOIN up ON e.src = up.node)"
    " SELECT 1 FROM up WHERE node = :src LIMIT 1"
)


def _by_ids(db: sqlite3.Connection, query: str, type: str | None, ids: Iterable[Any]) -> Iterator[tuple[Any, ...]]:
    """The rows of ``query`` (``type = ?`` unless ``type`` is None, then an ``IN ({marks})`` list)
    for every one of ``ids``, ``_IN_BATCH`` ids a query: an IN list stays far below SQLite's
    bound-parameter limit."""
    wanted = list(dict.fromkeys(ids))
    head = () if type is None else (type,)
    for start in range(0, len(wanted), _IN_BATCH):
        part = wanted[start : start + _IN_BATCH]
        yield from db.execute(query.format(marks=", ".join("?" * len(part))), (*head, *part))


class StateStore:
    """Runs, entities, files and trending snapshots in one SQLite file; safe to share between
    threads, and between processes on one host.

    >>> with StateStore("hf_mirror/state.sqlite") as state:        # doctest: +SKIP
    ...     run = state.start_run("models")
    ...     state.upsert_discovered("model", "gpt2", "607a30d7")
    ...     if state.claim("model", "gpt2", max_attempts=3):
    ...         state.mark_done("model", "gpt2", "607a30d7", "bafy...")
    ...     state.finish_run(run.id, "completed", {"mirrored": 1})

    On open, ``interrupted_runs`` lists the runs of dead processes just marked ``interrupted``,
    ``recovered`` counts the entities they held, put back to ``pending``, and ``schema_version`` is
    the database's version after migrating.

    ``readonly=True`` opens an existing database for reading only, with no lock of any kind: it
    neither migrates nor recovers, so it can read while a mirror in another process writes (WAL
    readers see the last committed state). It refuses a database at another schema version.
    """

    def __init__(self, path: str | os.PathLike[str], *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self.schema_version = 0
        self.interrupted_runs: list[int] = []
        self.recovered = 0
        self._db = self._connect()
        try:
            if readonly:
                self.schema_version = self._check_version(self._db)
                return
            self.schema_version = migrate(self._db, str(self.path))
            self.interrupted_runs = self._interrupt_dead_runs()
            self.recovered = self.recover()
        except sqlite3.Error as exc:
            self.close()
            raise StoreError(f"cannot open the state database {self.path}: {exc}") from exc
        except BaseException:
            self.close()
            raise

    # -- lifecycle -----------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        if self.readonly:
            return self._connect_readonly()
        db: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
            mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal":
                raise StoreError(f"state database {self.path} cannot use WAL mode (got {mode!r})")
            # NORMAL in WAL mode: a commit is in the WAL (the OS's page cache) before it returns, so
            # a killed process loses nothing; only a power cut or OS crash may lose the last commits
            # (never corrupting the database), and losing them only means redoing that work. FULL
            # fsyncs the WAL at every commit: measured 2.5x slower per update (0.26 vs 0.11 ms).
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA journal_size_limit=67108864")  # keep the WAL to 64 MiB after checkpoints
            return db
        except (sqlite3.Error, OSError) as exc:
            if db is not None:
                db.close()
            raise StoreError(f"cannot open the state database {self.path}: {exc}") from exc
        except BaseException:
            if db is not None:
                db.close()
            raise

    def _connect_readonly(self) -> sqlite3.Connection:
        if not self.path.is_file():
            raise StoreError(f"there is no state database at {self.path}")
        try:
            uri = f"{self.path.resolve().as_uri()}?mode=ro"
            db = sqlite3.connect(uri, uri=True, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA query_only=ON")
            return db
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the state database {self.path}: {exc}") from exc

    def _check_version(self, db: sqlite3.Connection) -> int:
        known = MIGRATIONS[-1].version
        try:
            (version,) = db.execute("SELECT max(version) FROM _migrations").fetchone()
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path} is not a state database: {exc}") from exc
        if version != known:
            action = "upgrade hf-ipfs-scraper" if (version or 0) > known else "run a mirror command once to upgrade it"
            raise StoreError(f"state database {self.path} has schema version {version}, not {known}: {action}")
        return int(version)

    def scan(self, query: str, args: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
        """Rows of a bulk read on a connection of its own: a million rows stream without holding
        the store's lock, and (WAL) without blocking a writer."""
        uri = f"{self.path.resolve().as_uri()}?mode=ro"
        try:
            db = sqlite3.connect(uri, uri=True, timeout=_BUSY_TIMEOUT_S)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read the state database {self.path}: {exc}") from exc
        try:
            cursor = db.execute(query, args)
            while rows := cursor.fetchmany(_SCAN_ROWS):
                yield from rows
        except sqlite3.Error as exc:
            raise StoreError(f"state database {self.path}: {exc}") from exc
        finally:
            db.close()

    def close(self) -> None:
        """Close the database; twice is fine. Everything is already committed."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"StateStore({str(self.path)!r})"

    # -- runs ----------------------------------------------------------------------------------
    def start_run(self, key: str) -> Run:
        """Record a new ``running`` run owned by this process; ``key`` names what it does
        (``"models"``, ``"sync:models"``)."""
        if not key:
            raise InvalidInputError("a run needs a non-empty key")
        pid, tag = owner.current()
        with self._connection() as db:
            cursor = db.execute(
                "INSERT INTO runs (key, status, started_at, owner_pid, owner_tag) VALUES (?, 'running', ?, ?, ?)",
                (key, time.time(), pid, tag),
            )
            return self._run(db, cursor.lastrowid)

    def finish_run(self, run_id: int, status: str, stats: dict[str, Any] | None = None) -> Run:
        """End a running run as ``completed``, ``failed`` or ``interrupted`` with its final stats."""
        _check(status, RUN_END_STATUSES, "run end status")
        stats_json = _json(stats or {})
        with self._connection() as db:
            updated = db.execute(
                "UPDATE runs SET status = ?, ended_at = ?, stats = ?"
                " WHERE id = ? AND status IN ('pending', 'running')",
                (status, time.time(), stats_json, run_id),
            ).rowcount
            run = self._run(db, run_id)
        if not updated:
            raise StoreError(f"run {run_id} is already {run.status}; it cannot end again as {status}")
        return run

    def append_run_log(self, run_id: int, line: str) -> None:
        """Append one line (newlines inside become spaces) stamped with the UTC time.

        A run's log is meant for a few dozen short lines: a line is cut at 1,000 characters and the
        log at 64 KiB, so an append never costs more than rewriting that much.
        """
        text = f"{_stamp(time.time())} {' '.join(line.splitlines())[:_MAX_LINE]}\n"
        with self._connection() as db:
            updated = db.execute(
                "UPDATE runs SET log = CASE"
                " WHEN length(log) + length(:text) <= :max THEN log || :text"
                " WHEN substr(log, -length(:full)) = :full THEN log"
                " ELSE log || :full END WHERE id = :id",
                {"text": text, "max": _MAX_LOG, "full": _LOG_FULL, "id": run_id},
            ).rowcount
        if not updated:
            raise StoreError(f"there is no run {run_id}")

    def run(self, run_id: int) -> Run | None:
        with self._connection() as db:
            row = db.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()
        return None if row is None else run_from_row(row)

    def runs(self, limit: int = 20, key: str | None = None, *, status: str | None = None, offset: int = 0) -> list[Run]:
        """The newest runs first, all of them or those of one key and/or status."""
        where, args = _run_filter(key, status)
        with self._connection() as db:
            rows = db.execute(f"SELECT {RUN_COLUMNS} FROM runs {where} ORDER BY id DESC LIMIT ? OFFSET ?",
                              (*args, limit, offset))
            return [run_from_row(row) for row in rows]

    def count_runs(self, key: str | None = None, *, status: str | None = None) -> int:
        where, args = _run_filter(key, status)
        with self._connection() as db:
            return int(db.execute(f"SELECT count(*) FROM runs {where}", args).fetchone()[0])

    def last_run(self, key: str, status: str | None = None) -> Run | None:
        """The newest run of ``key`` (only those with ``status``, when given)."""
        if status is not None:
            _check(status, ("pending", "running", *RUN_END_STATUSES), "run status")
        with self._connection() as db:
            row = db.execute(
                f"SELECT {RUN_COLUMNS} FROM runs WHERE key = ? AND (? IS NULL OR status = ?)"
                " ORDER BY id DESC LIMIT 1",
                (key, status, status),
            ).fetchone()
        return None if row is None else run_from_row(row)

    def _run(self, db: sqlite3.Connection, run_id: int | None) -> Run:
        row = db.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise StoreError(f"there is no run {run_id}")
        return run_from_row(row)

    def _interrupt_dead_runs(self) -> list[int]:
        """Mark ``interrupted`` the runs left ``running`` by processes that no longer exist."""
        me, _ = owner.current()
        with self._transaction() as db:
            running = db.execute("SELECT id, owner_pid, owner_tag FROM runs WHERE status = 'running'").fetchall()
            dead = [(run_id, pid) for run_id, pid, tag in running if not owner.is_alive(pid, tag)]
            now = time.time()
            for run_id, pid in dead:
                note = f"{_stamp(now)} interrupted: owner process {pid} is gone (found by process {me} on open)\n"
                db.execute(
                    "UPDATE runs SET status = 'interrupted', ended_at = ?, log = log || ? WHERE id = ?",
                    (now, note, run_id),
                )
        return [run_id for run_id, _ in dead]

    # -- entities ------------------------------------------------------------------------------
    def upsert_discovered(
        self, type: str, id: str, sha: str | None, *, metadata: dict[str, Any] | None = None
    ) -> EntityState:
        """Record that discovery saw this repo at revision ``sha``.

        New → ``pending``. Known with another ``sha`` → ``pending`` with attempts reset, unless a
        worker holds it (``in_progress`` stays; :meth:`mark_done` then sees the head moved). Same
        ``sha`` (or ``sha`` None: unknown) → unchanged, so ``done`` stays done and a failure keeps
        its attempts. ``metadata``, when given, replaces the stored one; its keys named in
        ``META_COLUMNS`` (author, license, likes, card_data...) also fill those columns.
        """
        _check(type, ENTITY_TYPES, "entity type")
        now = time.time()
        changed = "(excluded.head_sha IS NOT NULL AND head_sha IS NOT excluded.head_sha)"
        reset = f"({changed} AND status != 'in_progress')"
        columns = _meta_columns(metadata)
        names = ", ".join(META_COLUMNS)
        with self._transaction() as db:
            db.execute(
                f"INSERT INTO entities (type, id, status, head_sha, first_seen, updated_at, metadata, {names})"
                f" VALUES (?, ?, 'pending', ?, ?, ?, ?, {', '.join('?' * len(META_COLUMNS))})"
                " ON CONFLICT (type, id) DO UPDATE SET"
                f" status = CASE WHEN {reset} OR status = 'listed' THEN 'pending' ELSE status END,"
                f" attempts = CASE WHEN {reset} THEN 0 ELSE attempts END,"
                f" last_error = CASE WHEN {reset} THEN NULL ELSE last_error END,"
                f" reason = CASE WHEN {reset} THEN NULL ELSE reason END,"
                f" head_sha = CASE WHEN {changed} THEN excluded.head_sha ELSE head_sha END,"
                " metadata = coalesce(excluded.metadata, metadata),"
                + "".join(
                    f" {c} = CASE WHEN excluded.metadata IS NULL THEN {c} ELSE excluded.{c} END," for c in META_COLUMNS
                )
                + " updated_at = excluded.updated_at"
                f" WHERE {changed} OR excluded.metadata IS NOT NULL",
                (type, id, sha, now, now, _json(_without_card(metadata)), *columns),
            )
            return self._entity(db, type, id)

    def claim(self, type: str, id: str, *, max_attempts: int | None = None) -> bool:
        """Atomically take an entity for this worker: ``pending``, or ``failed`` with attempts left
        (fewer than ``max_attempts``; None: no limit) and its ``retry_at`` passed → ``in_progress``,
        attempts + 1.

        False when it is not claimable: unknown, held by another worker, done, skipped, out of
        attempts or not yet due. The conditions hold atomically, even between processes.
        """
        _check(type, ENTITY_TYPES, "entity type")
        pid, tag = owner.current()
        now = time.time()
        with self._connection() as db:
            claimed = db.execute(
                "UPDATE entities SET status = 'in_progress', attempts = attempts + 1, claimed_sha = head_sha,"
                " owner_pid = ?, owner_tag = ?, updated_at = ?"
                " WHERE type = ? AND id = ? AND (status = 'pending' OR (status = 'failed' AND attempts < ?"
                " AND (retry_at IS NULL OR retry_at <= ?)))",
                (pid, tag, now, type, id, _UNLIMITED if max_attempts is None else max_attempts, now),
            ).rowcount
        return claimed == 1

    def mark_done(
        self, type: str, id: str, sha: str, root_cid: str, *, archived: Archived | None = None
    ) -> EntityState:
        """Record revision ``sha`` mirrored as ``root_cid`` → ``done``, with what was ``archived``
        (sizes, file count, the README's CID and text) in the same transaction.

        If discovery saw another revision while the worker held the entity (and the worker did not
        mirror that one), the entity goes back to ``pending`` instead, attempts reset, so the new
        revision is mirrored too; ``sha`` and ``root_cid`` are kept either way.
        """
        _check(type, ENTITY_TYPES, "entity type")
        moved = "(status = 'in_progress' AND head_sha IS NOT claimed_sha AND head_sha IS NOT :sha)"
        args: dict[str, Any] = {"type": type, "id": id, "sha": sha, "cid": root_cid}
        sizes = ""
        if archived is not None:
            sizes = (
                ", size_bytes = :size, total_bytes = :total, file_count = :count, readme_cid = :readme,"
                " mirrored_at = :now, root_tsize = :tsize"
            )
            args |= {"size": archived.size_bytes, "total": archived.total_bytes, "count": archived.file_count,
                     "readme": archived.readme_cid, "tsize": archived.root_tsize}
        with self._transaction() as db:
            self._update_entity(
                db,
                f"status = CASE WHEN {moved} THEN 'pending' ELSE 'done' END,"
                f" attempts = CASE WHEN {moved} THEN 0 ELSE attempts END,"
                f" head_sha = CASE WHEN {moved} THEN head_sha ELSE :sha END,"
                " sha = :sha, root_cid = :cid, last_error = NULL, reason = NULL, retry_at = NULL" + sizes,
                args,
            )
            if archived is not None:
                db.execute("DELETE FROM readmes WHERE type = ? AND entity_id = ?", (type, id))
                if archived.readme_cid is not None:
                    db.execute(
                        "INSERT INTO readmes (type, entity_id, cid, size, text) VALUES (?, ?, ?, ?, ?)",
                        (type, id, archived.readme_cid, archived.readme_size, archived.readme_text),
                    )
            return self._entity(db, type, id)

    def mark_failed(self, type: str, id: str, error: str, *, retry_at: float | None = None) -> EntityState:
        """Record a failed attempt (the message is kept, cut at 4,000 characters) → ``failed``, not
        claimed again before ``retry_at`` (None: at once); → ``pending`` with attempts reset if the
        head moved while the worker held it (a new revision is tried at once)."""
        _check(type, ENTITY_TYPES, "entity type")
        moved = "(status = 'in_progress' AND head_sha IS NOT claimed_sha)"
        with self._transaction() as db:
            self._update_entity(
                db,
                f"status = CASE WHEN {moved} THEN 'pending' ELSE 'failed' END,"
                f" attempts = CASE WHEN {moved} THEN 0 ELSE attempts END, last_error = :error,"
                f" retry_at = CASE WHEN {moved} THEN NULL ELSE :retry_at END",
                {"type": type, "id": id, "error": error[:_MAX_ERROR], "retry_at": retry_at},
            )
            return self._entity(db, type, id)

    def release(self, type: str, id: str) -> EntityState | None:
        """Give a claim back without a result (the run is stopping): ``in_progress`` → ``pending``,
        and the attempt is not counted. A no-op unless the entity is ``in_progress``; None if it is
        unknown."""
        _check(type, ENTITY_TYPES, "entity type")
        with self._transaction() as db:
            db.execute(
                "UPDATE entities SET status = 'pending', attempts = max(attempts - 1, 0), claimed_sha = NULL,"
                " owner_pid = NULL, owner_tag = NULL, updated_at = ?"
                " WHERE type = ? AND id = ? AND status = 'in_progress'",
                (time.time(), type, id),
            )
            row = db.execute(_SELECT_ENTITY, (type, id)).fetchone()
        return None if row is None else entity_from_row(row)

    def reopen(self, type: str, id: str) -> EntityState | None:
        """Put a ``skipped`` entity back to ``pending``, attempts reset: the reason it was skipped for
        no longer holds (a token is set now, the repo became public). A no-op unless the entity is
        ``skipped``; None if it is unknown."""
        _check(type, ENTITY_TYPES, "entity type")
        with self._transaction() as db:
            db.execute(
                "UPDATE entities SET status = 'pending', attempts = 0, reason = NULL, updated_at = ?"
                " WHERE type = ? AND id = ? AND status = 'skipped'",
                (time.time(), type, id),
            )
            row = db.execute(_SELECT_ENTITY, (type, id)).fetchone()
        return None if row is None else entity_from_row(row)

    def mark_skipped(self, type: str, id: str, reason: str) -> EntityState:
        """Record that the repo is deliberately not mirrored (``reason``: "gated", "too large") →
        ``skipped``, until discovery sees a new revision."""
        _check(type, ENTITY_TYPES, "entity type")
        with self._transaction() as db:
            args = {"type": type, "id": id, "reason": reason}
            self._update_entity(db, "status = 'skipped', reason = :reason", args)
            return self._entity(db, type, id)

    def get(self, type: str, id: str) -> EntityState | None:
        _check(type, ENTITY_TYPES, "entity type")
        with self._connection() as db:
            row = db.execute(_SELECT_ENTITY, (type, id)).fetchone()
        return None if row is None else entity_from_row(row)

    def get_many(self, type: str, ids: Iterable[str], *, metadata: bool = True) -> dict[str, EntityState]:
        """The entities of ``type`` among ``ids`` that the store has, by id (a query per 500 ids).
        ``metadata=False`` leaves out the ``metadata`` dict (None): the columns have what search
        documents need, and decoding it was a third of a catalog walk's indexing."""
        _check(type, ENTITY_TYPES, "entity type")
        columns = ENTITY_COLUMNS if metadata else ENTITY_COLUMNS_NO_METADATA
        with self._connection() as db:
            rows = _by_ids(db, f"SELECT {columns} FROM entities WHERE type = ? AND id IN ({{marks}})", type, ids)
            return {e.id: e for e in map(entity_from_row, rows)}

    def counts(self, type: str | None = None) -> Counter[str]:
        """Entities per status, of one type or all. A Counter: statuses with no entity are left
        out (so an empty store gives an empty, falsy result) yet read as 0."""
        if type is not None:
            _check(type, ENTITY_TYPES, "entity type")
        counts: Counter[str] = Counter()
        with self._connection() as db:
            for t in (type,) if type else ENTITY_TYPES:  # one index range per type
                query = "SELECT status, count(*) FROM entities WHERE type = ? GROUP BY status"
                for status, n in db.execute(query, (t,)):
                    counts[status] += n
        return counts

    def iter_entities(self, type: str | None = None, status: str | None = None, *,
                      listed_since: float | None = None, metadata: bool = True) -> Iterator[EntityState]:
        """Entities of one type and/or status, or all: models, then datasets, then Spaces, each by id;
        with ``listed_since``, only those a catalog walk listed since then (``metadata``: as in
        :meth:`get_many`).

        Read a page at a time with no lock held in between, so workers keep updating meanwhile; a
        row changed during the iteration may show its old or its new state.
        """
        if type is not None:
            _check(type, ENTITY_TYPES, "entity type")
        if status is not None:
            _check(status, ENTITY_STATUSES, "entity status")
        # Two query texts, not "(? IS NULL OR status = ?)": that would hide the status index.
        by_status = "AND status = :status" if status is not None else ""
        by_walk = "AND listed_at >= :since" if listed_since is not None else ""
        query = (
            f"SELECT {ENTITY_COLUMNS if metadata else ENTITY_COLUMNS_NO_METADATA} FROM entities"
            f" WHERE type = :type {by_status} {by_walk} AND id > :after ORDER BY id LIMIT :n"
        )
        for t in (type,) if type else ENTITY_TYPES:
            after = ""
            while True:
                with self._connection() as db:
                    rows = db.execute(query, {"type": t, "status": status, "since": listed_since, "after": after,
                                              "n": _PAGE}).fetchall()
                yield from map(entity_from_row, rows)
                if len(rows) < _PAGE:
                    break
                after = rows[-1][1]

    def without_metadata(self) -> list[EntityState]:
        """Mirrored entities with no metadata recorded: archives made before schema version 2."""
        with self._connection() as db:
            rows = db.execute(f"SELECT {ENTITY_COLUMNS} FROM entities WHERE metadata IS NULL AND root_cid IS NOT NULL")
            return [entity_from_row(row) for row in rows]

    def retryable(self, type: str, max_attempts: int) -> list[EntityState]:
        """Failed entities with attempts left, oldest failure first."""
        _check(type, ENTITY_TYPES, "entity type")
        with self._connection() as db:
            rows = db.execute(
                f"SELECT {ENTITY_COLUMNS} FROM entities WHERE type = ? AND status = 'failed' AND attempts < ?"
                " ORDER BY updated_at, id",
                (type, max_attempts),
            )
            return [entity_from_row(row) for row in rows]

    def recover(self, *, force: bool = False) -> int:
        """Put ``in_progress`` entities whose claiming process is gone back to ``pending``; return
        how many. Runs on open. ``force`` takes back every claim, live owners' too: only for when
        no worker of any process is running."""
        with self._transaction() as db:
            held = db.execute("SELECT DISTINCT owner_pid, owner_tag FROM entities WHERE status = 'in_progress'")
            owners = [(pid, tag) for pid, tag in held.fetchall() if force or not owner.is_alive(pid, tag)]
            recovered = 0
            for pid, tag in owners:
                recovered += db.execute(
                    "UPDATE entities SET status = 'pending', claimed_sha = NULL, owner_pid = NULL, owner_tag = NULL,"
                    " updated_at = ? WHERE status = 'in_progress' AND owner_pid IS ? AND owner_tag IS ?",
                    (time.time(), pid, tag),
                ).rowcount
        return recovered

    def _update_entity(self, db: sqlite3.Connection, assignments: str, args: dict[str, Any]) -> None:
        """One UPDATE of one entity that also releases its claim; unknown entities are an error."""
        updated = db.execute(
            f"UPDATE entities SET {assignments}, claimed_sha = NULL, owner_pid = NULL, owner_tag = NULL,"
            " updated_at = :now WHERE type = :type AND id = :id",
            {**args, "now": time.time()},
        ).rowcount
        if not updated:
            raise StoreError(
                f"there is no {args['type']} {args['id']!r} in the state store; upsert_discovered() it first"
            )

    def _entity(self, db: sqlite3.Connection, type: str, id: str) -> EntityState:
        return entity_from_row(db.execute(_SELECT_ENTITY, (type, id)).fetchone())

    # -- files ---------------------------------------------------------------------------------
    def record_file(
        self,
        type: str,
        id: str,
        path: str,
        *,
        size: int,
        cid: str,
        tsize: int,
        oid: str | None = None,
        sha256: str | None = None,
    ) -> FileRecord:
        """Record one file as verified and stored (replacing an older record of the same path).

        Call it right after the file's blocks are stored: a resumed run skips what is recorded.
        """
        _check(type, ENTITY_TYPES, "entity type")
        record = FileRecord(type, id, path, size, oid, sha256, cid, tsize, time.time())
        with self._connection() as db:
            db.execute(
                f"INSERT OR REPLACE INTO files ({FILE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (type, id, path, size, oid, sha256, cid, tsize, record.recorded_at),
            )
        return record

    def files(self, type: str, id: str) -> list[FileRecord]:
        """The recorded files of one entity, by path."""
        _check(type, ENTITY_TYPES, "entity type")
        with self._connection() as db:
            rows = db.execute(
                f"SELECT {FILE_COLUMNS} FROM files WHERE type = ? AND entity_id = ? ORDER BY path", (type, id)
            )
            return [file_from_row(row) for row in rows]

    def files_many(self, type: str, ids: Iterable[str]) -> dict[str, list[FileRecord]]:
        """The recorded files of each of ``ids`` (by path; a query per 500 ids); absent ids map to []."""
        _check(type, ENTITY_TYPES, "entity type")
        wanted = list(dict.fromkeys(ids))
        found: dict[str, list[FileRecord]] = {i: [] for i in wanted}
        with self._connection() as db:
            query = f"SELECT {FILE_COLUMNS} FROM files WHERE type = ? AND entity_id IN ({{marks}}) ORDER BY entity_id, path"
            for record in map(file_from_row, _by_ids(db, query, type, wanted)):
                found[record.id].append(record)
        return found

    def file(self, type: str, id: str, path: str) -> FileRecord | None:
        _check(type, ENTITY_TYPES, "entity type")
        with self._connection() as db:
            row = db.execute(
                f"SELECT {FILE_COLUMNS} FROM files WHERE type = ? AND entity_id = ? AND path = ?", (type, id, path)
            ).fetchone()
        return None if row is None else file_from_row(row)

    def forget_files(self, type: str, id: str, keep_paths: Iterable[str]) -> int:
        """Drop the records of this entity's files that are not in ``keep_paths`` (files deleted
        from the repo); return how many."""
        _check(type, ENTITY_TYPES, "entity type")
        keep = set(keep_paths)
        with self._transaction() as db:
            paths = [p for (p,) in db.execute("SELECT path FROM files WHERE type = ? AND entity_id = ?", (type, id))]
            gone = [(type, id, p) for p in paths if p not in keep]
            db.executemany("DELETE FROM files WHERE type = ? AND entity_id = ? AND path = ?", gone)
        return len(gone)

    def cid_for_oid(self, oid: str) -> StoredBlob | None:
        """(cid, tsize, size) of a stored file with this Hub ``oid`` in any repo, or None.

        Identical blobs across repos and revisions are then stored once and downloaded once.
        """
        with self._connection() as db:
            row = db.execute("SELECT cid, tsize, size FROM files WHERE oid = ? LIMIT 1", (oid,)).fetchone()
        return None if row is None else StoredBlob(*row)

    # -- trending snapshots --------------------------------------------------------------------
    def record_trending(self, run_id: int, type: str, rows: Iterable[TrendingRow]) -> None:
        """Record one trending list of ``type`` for ``run_id`` in one transaction, replacing what
        that run recorded for that type before."""
        _check(type, ENTITY_TYPES, "entity type")
        rows = list(rows)
        ranks = [row.rank for row in rows]
        if len(set(ranks)) != len(ranks):
            raise InvalidInputError(f"trending rows of run {run_id} repeat a rank")
        now = time.time()
        values = [
            (run_id, type, r.rank, r.id, r.trending_score, r.likes, r.downloads, r.captured_at or now) for r in rows
        ]
        with self._transaction() as db:
            db.execute("DELETE FROM trending WHERE run_id = ? AND type = ?", (run_id, type))
            db.executemany(
                f"INSERT INTO trending (run_id, type, {TRENDING_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", values
            )

    def trending(self, type: str, run_id: int | None = None) -> list[TrendingRow]:
        """The trending list of ``type`` recorded by ``run_id`` (default: the newest run that
        recorded one), by rank; empty if there is none."""
        _check(type, ENTITY_TYPES, "entity type")
        with self._connection() as db:
            if run_id is None:
                (run_id,) = db.execute("SELECT max(run_id) FROM trending WHERE type = ?", (type,)).fetchone()
            rows = db.execute(
                f"SELECT {TRENDING_COLUMNS} FROM trending WHERE run_id = ? AND type = ? ORDER BY rank", (run_id, type)
            )
            return [trending_from_row(row) for row in rows]

    def run_members(self, type: str, run_id: int) -> list[RunMember]:
        """The repos of ``type`` that ``run_id``'s trending list holds and the store knows, by
        rank, each with the columns a listing filters and sorts on (one query, no JSON parsed)."""
        _check(type, ENTITY_TYPES, "entity type")
        with self._connection() as db:
            rows = db.execute(
                "SELECT t.rank, t.id, t.trending_score, e.likes, e.downloads, e.size_bytes, e.created_at,"
                " e.last_modified FROM trending t JOIN entities e ON e.type = t.type AND e.id = t.id"
                " WHERE t.run_id = ? AND t.type = ? ORDER BY t.rank", (run_id, type),
            )
            return list(map(RunMember._make, rows))

    def trending_runs(self, type: str) -> list[int]:
        """The runs that recorded a trending list of ``type``, newest first."""
        _check(type, ENTITY_TYPES, "entity type")
        with self._connection() as db:
            rows = db.execute("SELECT DISTINCT run_id FROM trending WHERE type = ? ORDER BY run_id DESC", (type,))
            return [run_id for (run_id,) in rows]

    def trending_history(self, type: str, id: str) -> list[tuple[int, TrendingRow]]:
        """Every snapshot that listed this repo: ``(run_id, row)``, oldest run first."""
        _check(type, ENTITY_TYPES, "entity type")
        with self._connection() as db:
            rows = db.execute(
                f"SELECT run_id, {TRENDING_COLUMNS} FROM trending WHERE type = ? AND id = ? ORDER BY run_id",
                (type, id),
            )
            return [(row[0], trending_from_row(row[1:])) for row in rows]

    # -- READMEs -------------------------------------------------------------------------------
    def readme(self, type: str, id: str) -> tuple[str, int, str | None] | None:
        """``(cid, size, text)`` of a mirrored repo's README (text None when over the cap)."""
        _check(type, ENTITY_TYPES, "entity type")
        with self._connection() as db:
            row = db.execute(
                "SELECT cid, size, text FROM readmes WHERE type = ? AND entity_id = ?", (type, id)
            ).fetchone()
        return None if row is None else (row[0], row[1], row[2])

    # -- the whole-Hub catalog (walk.py) --------------------------------------------------------
    def start_walk(self, type: str, kind: str, *, ordered: bool = False) -> WalkRow:
        """A new walk; ``ordered``: a full walk by creation date, from both ends (see WalkRow)."""
        _check(type, ENTITY_TYPES, "entity type")
        _check(kind, ("full", "refresh"), "walk kind")
        with self._transaction() as db:
            walk_id = db.execute(
                "INSERT INTO walks (type, kind, status, started_at, ordered) VALUES (?, ?, 'running', ?, ?)",
                (type, kind, time.time(), int(ordered))).lastrowid
            return self._walk(db, int(walk_id or 0))

    def unfinished_walk(self, type: str) -> WalkRow | None:
        """The newest walk of ``type`` that did not finish (killed, interrupted): it resumes."""
        with self._connection() as db:
            row = db.execute(f"SELECT {WALK_COLUMNS} FROM walks WHERE type = ? ORDER BY id DESC LIMIT 1",
                             (type,)).fetchone()
        walk = None if row is None else _walk_row(row)
        return walk if walk is not None and walk.status in ("running", "interrupted") else None

    def last_walk(self, type: str, kind: str | None = None, status: str = "completed") -> WalkRow | None:
        where, args = ("AND kind = ?", (kind,)) if kind is not None else ("", ())
        with self._connection() as db:
            row = db.execute(f"SELECT {WALK_COLUMNS} FROM walks WHERE type = ? AND status = ? {where}"
                             " ORDER BY id DESC LIMIT 1", (type, status, *args)).fetchone()
        return None if row is None else _walk_row(row)

    def walk_page(
        self, walk: WalkRow, entries: Iterable[tuple[str, str | None, dict[str, Any]]], next_url: str | None,
        *, back: bool = False, key: str | None = None, covered: bool = False,
    ) -> int:
        """One listing page of ``(id, sha, metadata)``, with the walk's progress, in one transaction:
        a killed walk resumes at the page after the last one recorded, and never loses a page.
        ``back``: the page is the descending lane's; ``key``: the frontier its lane reached (kept
        if None); ``covered``: with this page every page of the listing is written.

        A repo new here is ``listed`` (metadata only); one already known keeps its status and its
        mirror state (its metadata is refreshed; ``head_sha`` only while it is just listed, so the
        mirror still sees a new revision as one). Returns how many were new or changed (another
        revision or last-modified date than recorded)."""
        entries = list(entries)
        now = time.time()
        names = ", ".join(META_COLUMNS)
        with self._transaction() as db:
            known = {
                row[0]: row[1:] for row in _by_ids(
                    db, "SELECT id, head_sha, last_modified, status FROM entities WHERE type = ? AND id IN ({marks})",
                    walk.type, [e[0] for e in entries])
            }
            changed = 0
            for repo_id, sha, metadata in entries:
                old = known.get(repo_id)
                new_date = metadata.get("last_modified")
                if old is None or old[1] != new_date or (old[2] == "listed" and old[0] != sha):
                    changed += 1
            db.executemany(
                f"INSERT INTO entities (type, id, status, head_sha, first_seen, updated_at, metadata, {names}, listed_at)"
                f" VALUES (?, ?, 'listed', ?, ?, ?, ?, {', '.join('?' * len(META_COLUMNS))}, ?)"
                " ON CONFLICT (type, id) DO UPDATE SET"
                " head_sha = CASE WHEN status = 'listed' THEN excluded.head_sha ELSE head_sha END,"
                " metadata = excluded.metadata,"
                + "".join(f" {c} = excluded.{c}," for c in META_COLUMNS)
                + " listed_at = excluded.listed_at, gone_at = NULL, updated_at = excluded.updated_at",
                [(walk.type, repo_id, sha, now, now, _json(_without_card(metadata)), *_meta_columns(metadata), now)
                 for repo_id, sha, metadata in entries],
            )
            url, frontier = ("back_url", "back_key") if back else ("next_url", "front_key")
            db.execute(
                f"UPDATE walks SET {url} = ?, {frontier} = coalesce(?, {frontier}), covered = max(covered, ?),"
                " pages = pages + 1, listed = listed + ?, changed = changed + ? WHERE id = ?",
                (next_url, key, int(covered), len(entries), changed, walk.id),
            )
        return changed

    def finish_walk(self, walk_id: int, status: str, error: str | None = None) -> WalkRow:
        _check(status, ("completed", "interrupted", "failed"), "walk status")
        with self._transaction() as db:
            db.execute("UPDATE walks SET status = ?, ended_at = ?, error = ? WHERE id = ?",
                       (status, time.time(), error, walk_id))
            return self._walk(db, walk_id)

    def mark_gone(self, type: str, unseen_since: float) -> list[str]:
        """Entities a completed full walk that started at ``unseen_since`` did not list: ``gone_at``
        now (never deleted: a mirrored repo's archive outlives it on the Hub). Returns their ids."""
        now = time.time()
        with self._transaction() as db:
            ids = [i for (i,) in db.execute(
                "SELECT id FROM entities WHERE type = ? AND gone_at IS NULL AND listed_at < ?", (type, unseen_since))]
            db.executemany("UPDATE entities SET gone_at = ?, updated_at = ? WHERE type = ? AND id = ?",
                           [(now, now, type, i) for i in ids])
        return ids

    def set_renamed(self, type: str, id: str, new_id: str) -> None:
        with self._transaction() as db:
            db.execute("UPDATE entities SET renamed_to = ?, updated_at = ? WHERE type = ? AND id = ?",
                       (new_id, time.time(), type, id))

    def walks(self, type: str | None = None, limit: int = 20) -> list[WalkRow]:
        where, args = ("WHERE type = ?", (type,)) if type is not None else ("", ())
        with self._connection() as db:
            rows = db.execute(f"SELECT {WALK_COLUMNS} FROM walks {where} ORDER BY id DESC LIMIT ?", (*args, limit))
            return [_walk_row(row) for row in rows]

    def walk_in_one_lane(self, walk_id: int) -> None:
        """The Hub's listing is not in the order the walk asked for: it goes on, and resumes, as
        one chain of pages to the listing's end."""
        with self._transaction() as db:
            db.execute("UPDATE walks SET ordered = 0 WHERE id = ?", (walk_id,))

    @staticmethod
    def _walk(db: sqlite3.Connection, walk_id: int) -> WalkRow:
        return _walk_row(db.execute(f"SELECT {WALK_COLUMNS} FROM walks WHERE id = ?", (walk_id,)).fetchone())

    # -- snapshots -----------------------------------------------------------------------------
    def record_snapshot(
        self, cid: str, *, runs: Iterable[int], tsize: int, roots: Iterable[tuple[str, str, str]],
        published: str | None = None,
    ) -> SnapshotRow:
        """Record a pinned snapshot and the ``(type, id, root_cid)`` of every repo it links."""
        roots = list(roots)
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO snapshots (cid, created_at, runs, repos, tsize, published) VALUES (?, ?, ?, ?, ?, ?)",
                (cid, time.time(), json.dumps(sorted(set(runs))), len(roots), tsize, published),
            )
            snapshot_id = int(cursor.lastrowid or 0)
            db.executemany(
                "INSERT INTO snapshot_roots (snapshot_id, type, entity_id, root_cid) VALUES (?, ?, ?, ?)",
                [(snapshot_id, *root) for root in roots],
            )
            return self._snapshot(db, snapshot_id)

    def set_snapshot_published(self, snapshot_id: int, name: str) -> SnapshotRow:
        with self._transaction() as db:
            db.execute("UPDATE snapshots SET published = ? WHERE id = ?", (name, snapshot_id))
            return self._snapshot(db, snapshot_id)

    def snapshots(self) -> list[SnapshotRow]:
        """Every recorded snapshot, newest first."""
        with self._connection() as db:
            rows = db.execute(f"SELECT {SNAPSHOT_COLUMNS} FROM snapshots ORDER BY id DESC").fetchall()
        return [snapshot_from_row(row) for row in rows]

    def snapshot_roots(self, snapshot_ids: Iterable[int]) -> set[str]:
        """The repo root CIDs the given snapshots link to."""
        with self._connection() as db:
            rows = _by_ids(db, "SELECT DISTINCT root_cid FROM snapshot_roots WHERE snapshot_id IN ({marks})",
                           None, list(snapshot_ids))
        return {cid for (cid,) in rows}

    def forget_snapshots(self, snapshot_ids: Iterable[int]) -> None:
        ids = list(snapshot_ids)
        with self._transaction() as db:
            db.executemany("DELETE FROM snapshots WHERE id = ?", [(i,) for i in ids])

    @staticmethod
    def _snapshot(db: sqlite3.Connection, snapshot_id: int) -> SnapshotRow:
        row = db.execute(f"SELECT {SNAPSHOT_COLUMNS} FROM snapshots WHERE id = ?", (snapshot_id,)).fetchone()
        return snapshot_from_row(row)

    def mark_unarchived(self, type: str, id: str, reason: str) -> None:
        """Its content is no longer held here (pruned, or left out of a restored snapshot): back to
        ``pending`` with ``reason`` (``listed`` if a catalog walk listed it: metadata only, as the
        catalog knows it), its root, files and README forgotten, its metadata kept; the next run
        that lists it as trending mirrors it again."""
        _check(type, ENTITY_TYPES, "entity type")
        with self._transaction() as db:
            db.execute(
                "UPDATE entities SET status = CASE WHEN listed_at IS NOT NULL THEN 'listed' ELSE 'pending' END,"
                " sha = NULL, root_cid = NULL, root_tsize = NULL,"
                " size_bytes = NULL, file_count = NULL, readme_cid = NULL, mirrored_at = NULL, attempts = 0,"
                " last_error = NULL, reason = ?, updated_at = ? WHERE type = ? AND id = ?",
                (reason, time.time(), type, id),
            )
            db.execute("DELETE FROM files WHERE type = ? AND entity_id = ?", (type, id))
            db.execute("DELETE FROM readmes WHERE type = ? AND entity_id = ?", (type, id))

    def merge_from(self, path: Path) -> list[tuple[str, str]]:
        """Fold another machine's state database (``--shard``) into this one, in one transaction:
        its runs with their trending lists (new ids; a run already merged is not added twice), its
        provenance edges, and each entity it holds that this one lacks, or holds mirrored more
        recently, with its files and README. Returns the ``(type, id)`` taken. Both databases must be
        at this code's schema version (open the other once with ``StateStore`` to upgrade it)."""
        with StateStore(path, readonly=True):  # the same schema version, or a clear error
            pass
        with self._connection() as db:
            db.execute("ATTACH DATABASE ? AS src", (f"{Path(path).resolve().as_uri()}?mode=ro",))
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    taken = _merge(db)
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
            finally:
                db.execute("DETACH DATABASE src")
        return taken

    def set_root_tsize(self, type: str, id: str, tsize: int) -> None:
        """Record a root's cumulative size for a repo mirrored before it was recorded at mirror time."""
        with self._transaction() as db:
            db.execute("UPDATE entities SET root_tsize = ? WHERE type = ? AND id = ?", (tsize, type, id))

    def backup(self, path: Path) -> None:
        """A consistent copy of the whole database at ``path`` (SQLite's online backup: writers
        may go on meanwhile), as one file with no WAL beside it."""
        target = sqlite3.connect(path)
        try:
            with self._connection() as db:
                db.backup(target)
            target.execute("PRAGMA journal_mode = DELETE")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot copy the state database to {path}: {exc}") from exc
        finally:
            target.close()

    # -- provenance edges ----------------------------------------------------------------------
    def replace_edges(self, src: str, edges: Iterable[EdgeRow], warnings: Iterable[str] = ()) -> list[EdgeRow]:
        """Make ``edges`` the outgoing edges of node ``src`` and ``warnings`` its warnings, in one
        transaction; return the edges kept. An edge whose target already reaches ``src`` would close
        a cycle: it is dropped with a warning (checked inside the transaction, so two writers
        cannot close a cycle between them). Nothing is written when nothing changed."""
        return self.replace_edges_many([(src, edges, warnings)])[0]

    def replace_edges_many(
        self, items: Iterable[tuple[str, Iterable[EdgeRow], Iterable[str]]]
    ) -> list[list[EdgeRow]]:
        """:meth:`replace_edges` for many nodes in one transaction (a listing page of a walk)."""
        items = list(items)
        with self._transaction() as db:  # what the nodes had, two queries for the page, not two a node
            old: dict[str, set[EdgeRow]] = {src: set() for src, _, _ in items}
            old_notes: dict[str, set[str]] = {src: set() for src, _, _ in items}
            for row in _by_ids(db, "SELECT src, dst, relation, evidence FROM edges WHERE src IN ({marks})", None, old):
                old[row[0]].add(EdgeRow(*row))
            for node, message in _by_ids(db, "SELECT node, message FROM provenance_warnings WHERE node IN ({marks})",
                                         None, old):
                old_notes[node].add(message)
            return [_replace_edges(db, src, edges, warnings, old[src], old_notes[src]) for src, edges, warnings in items]

    def edges_from(self, src: str) -> list[EdgeRow]:
        with self._connection() as db:
            rows = db.execute("SELECT src, dst, relation, evidence FROM edges WHERE src = ? ORDER BY dst", (src,))
            return [EdgeRow(*row) for row in rows]

    def warnings(self, node: str | None = None) -> list[tuple[str, str]]:
        """``(node, message)`` of the provenance warnings recorded (of one node, or all)."""
        where, args = ("WHERE node = ?", (node,)) if node is not None else ("", ())
        query = f"SELECT node, message FROM provenance_warnings {where} ORDER BY node, message"
        with self._connection() as db:
            return [(n, m) for n, m in db.execute(query, args)]

    # -- helpers -------------------------------------------------------------------------------
    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """The connection, for one thread at a time, in autocommit mode: each statement commits.
        SQLite errors become StoreError."""
        with self._lock:
            if self._db is None:
                raise StoreError(f"state store {self.path} is closed")
            try:
                yield self._db
            except sqlite3.Error as exc:
                raise StoreError(f"state database {self.path}: {exc}") from exc

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A short write transaction, committed on exit. IMMEDIATE takes the write lock up front:
        a read-then-write transaction that starts as a reader can fail to upgrade with SQLITE_BUSY,
        which the busy timeout does not retry."""
        with self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")


def _replace_edges(db: sqlite3.Connection, src: str, edges: Iterable[EdgeRow], warnings: Iterable[str],
                   old: set[EdgeRow], old_notes: set[str]) -> list[EdgeRow]:
    """The body of :meth:`StateStore.replace_edges`, inside its transaction (``old``, ``old_notes``:
    ``src``'s edges and warnings now). The cycle check runs
    with ``src``'s old edges still there: in an acyclic graph no path from a target back to ``src``
    goes through ``src``'s own out-edges, so the answer is the same, and an unchanged node is
    never written."""
    wanted = list(dict.fromkeys(edges))
    notes = list(dict.fromkeys(warnings))
    kept: list[EdgeRow] = []
    for edge in wanted:
        if edge.src != src:
            raise InvalidInputError(f"edge {edge} does not start at {src}")
        if db.execute(_REACHES, {"src": src, "dst": edge.dst}).fetchone():
            notes.append(f"dropped {edge.relation} edge to {edge.dst}: it would close a cycle")
            continue
        kept.append(edge)
    if set(kept) == old and set(notes) == old_notes:
        return kept  # unchanged: leave the rows (and the WAL) alone
    db.execute("DELETE FROM edges WHERE src = ?", (src,))
    db.executemany("INSERT INTO edges (src, dst, relation, evidence) VALUES (?, ?, ?, ?)", kept)
    db.execute("DELETE FROM provenance_warnings WHERE node = ?", (src,))
    db.executemany("INSERT OR IGNORE INTO provenance_warnings (node, message) VALUES (?, ?)", [(src, m) for m in notes])
    return kept


def _merge(db: sqlite3.Connection) -> list[tuple[str, str]]:
    """The body of :meth:`StateStore.merge_from`, inside its transaction, ``src`` attached."""
    for run in db.execute(f"SELECT {RUN_COLUMNS} FROM src.runs ORDER BY id").fetchall():
        run_id, key, status, started_at, ended_at, stats, log = run[:7]
        if db.execute("SELECT 1 FROM runs WHERE key = ? AND started_at = ? AND ended_at IS ?",
                      (key, started_at, ended_at)).fetchone():
            continue  # merged before
        if status in ("pending", "running"):  # that machine's run never finished
            status = "interrupted"
        new_id = db.execute(
            "INSERT INTO runs (key, status, started_at, ended_at, stats, log) VALUES (?, ?, ?, ?, ?, ?)",
            (key, status, started_at, ended_at, stats, log),
        ).lastrowid
        db.execute(f"INSERT INTO trending (run_id, type, {TRENDING_COLUMNS}) SELECT ?, type, {TRENDING_COLUMNS}"
                   " FROM src.trending WHERE run_id = ?", (new_id, run_id))
    columns = ", ".join(row[1] for row in db.execute("PRAGMA main.table_info(entities)"))
    taken = db.execute(
        "SELECT s.type, s.id FROM src.entities s LEFT JOIN entities m ON m.type = s.type AND m.id = s.id"
        " WHERE m.id IS NULL OR (s.status = 'done' AND (m.status != 'done'"
        " OR coalesce(s.mirrored_at, 0) > coalesce(m.mirrored_at, 0)))"
    ).fetchall()
    db.execute("CREATE TEMP TABLE IF NOT EXISTS merge_taken (type TEXT, id TEXT, PRIMARY KEY (type, id))")
    db.execute("DELETE FROM merge_taken")
    db.executemany("INSERT INTO merge_taken VALUES (?, ?)", taken)
    where = "WHERE (type, {id}) IN (SELECT type, id FROM merge_taken)"
    db.execute(f"INSERT OR REPLACE INTO entities ({columns}) SELECT {columns} FROM src.entities {where.format(id='id')}")
    db.execute("UPDATE entities SET status = 'pending', owner_pid = NULL, owner_tag = NULL, claimed_sha = NULL"
               f" WHERE status = 'in_progress' AND {where.format(id='id')[6:]}")
    for table in ("files", "readmes"):
        db.execute(f"DELETE FROM {table} {where.format(id='entity_id')}")
        db.execute(f"INSERT INTO {table} SELECT * FROM src.{table} {where.format(id='entity_id')}")
    db.execute("INSERT OR IGNORE INTO edges SELECT * FROM src.edges")
    db.execute("INSERT OR IGNORE INTO provenance_warnings SELECT * FROM src.provenance_warnings")
    return [(t, i) for t, i in taken]


def _run_filter(key: str | None, status: str | None) -> tuple[str, tuple[str, ...]]:
    clauses, args = [], []
    if key is not None:
        clauses.append("key = ?")
        args.append(key)
    if status is not None:
        _check(status, ("pending", "running", *RUN_END_STATUSES), "run status")
        clauses.append("status = ?")
        args.append(status)
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), tuple(args)


def _check(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise InvalidInputError(f"unknown {what} {value!r}; expected one of {', '.join(allowed)}")


def _stamp(when: float) -> str:
    """A log line's time: UTC, to the second, readable in the log text."""
    return datetime.fromtimestamp(when, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _without_card(metadata: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if metadata is None else {k: v for k, v in metadata.items() if k != "card_data"}


def _meta_columns(metadata: dict[str, Any] | None) -> list[Any]:
    """The metadata columns' values from a record's metadata dict (None where it has no key)."""
    if metadata is None:
        return [None] * len(META_COLUMNS)
    values = []
    for name in META_COLUMNS:
        value = metadata.get(name)
        if name in JSON_COLUMNS:
            value = None if value is None else _json_any(value)
        elif name == "gated":
            value = value if isinstance(value, str) and value else None
        elif name == "private" and value is not None:
            value = int(bool(value))
        values.append(value)
    return values


def _json_any(value: Any) -> str:
    try:
        return json.dumps(list(value) if isinstance(value, tuple) else value, sort_keys=True,
                          separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"cannot store as JSON: {exc}") from exc


def _json(value: dict[str, Any] | None) -> str | None:
    try:
        return to_json(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"cannot store as JSON: {exc}") from exc


def _walk_row(row: Sequence[Any]) -> WalkRow:
    """A ``walks`` row (``WALK_COLUMNS``), its 0/1 flags as booleans."""
    fields = list(row)
    fields[11], fields[15] = bool(fields[11]), bool(fields[15])
    return WalkRow(*fields)
