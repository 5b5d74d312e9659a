"""The state database's schema, as numbered migrations recorded in a ``_migrations`` table.

Like sqlite-utils' migrations: each migration runs once, in order, and is recorded with its name
and the time it was applied; a database's version is its highest recorded migration. Opening
applies what is missing in one transaction (DDL is transactional in SQLite), so a crash mid-upgrade
leaves the old version intact, and two processes opening at once upgrade it once. A database
recorded at a version this code does not know was written by a newer release: it is refused rather
than written with wrong assumptions. Never edit a released migration; append a new one.

Every query the store runs on a hot path is an indexed lookup, so an update costs the same with a
thousand entities or a million.
"""

from __future__ import annotations

import sqlite3
import time
from typing import NamedTuple

from ..errors import StoreError


class Migration(NamedTuple):
    version: int
    name: str
    sql: str


_V1 = """
CREATE TABLE runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: trending rows point at run ids
    key         TEXT NOT NULL,
    status      TEXT NOT NULL
                CHECK (status IN ('pending', 'running', 'completed', 'failed', 'interrupted')),
    started_at  REAL NOT NULL,
    ended_at    REAL,
    stats       TEXT NOT NULL DEFAULT '{}',
    log         TEXT NOT NULL DEFAULT '',
    owner_pid   INTEGER,
    owner_tag   TEXT
);
CREATE INDEX runs_by_key ON runs (key, id);
CREATE INDEX runs_running ON runs (status) WHERE status = 'running';

CREATE TABLE entities (
    type        TEXT NOT NULL CHECK (type IN ('model', 'dataset', 'space')),
    id          TEXT NOT NULL,
    status      TEXT NOT NULL
                CHECK (status IN ('pending', 'in_progress', 'done', 'failed', 'skipped')),
    head_sha    TEXT,               -- newest revision discovered
    sha         TEXT,               -- last revision mirrored (root_cid is its root)
    root_cid    TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    reason      TEXT,
    first_seen  REAL NOT NULL,
    updated_at  REAL NOT NULL,
    metadata    TEXT,
    claimed_sha TEXT,               -- head_sha when claimed: tells mark_done the head moved meanwhile
    owner_pid   INTEGER,
    owner_tag   TEXT,
    PRIMARY KEY (type, id)
);
CREATE INDEX entities_by_status ON entities (type, status, id);
CREATE INDEX entities_in_progress ON entities (owner_pid) WHERE status = 'in_progress';

CREATE TABLE files (
    type        TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    path        TEXT NOT NULL,
    size        INTEGER NOT NULL,
    oid         TEXT,
    sha256      TEXT,
    cid         TEXT NOT NULL,
    tsize       INTEGER NOT NULL,
    recorded_at REAL NOT NULL,
    PRIMARY KEY (type, entity_id, path),
    FOREIGN KEY (type, entity_id) REFERENCES entities (type, id) ON DELETE CASCADE
);
CREATE INDEX files_by_oid ON files (oid);

CREATE TABLE trending (
    run_id         INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    type           TEXT NOT NULL CHECK (type IN ('model', 'dataset', 'space')),
    rank           INTEGER NOT NULL,
    id             TEXT NOT NULL,
    trending_score REAL,
    likes          INTEGER,
    downloads      INTEGER,
    captured_at    REAL NOT NULL,
    PRIMARY KEY (run_id, type, rank)
);
CREATE INDEX trending_by_type ON trending (type, run_id);
"""

MIGRATIONS: tuple[Migration, ...] = (Migration(1, "runs, entities, files, trending", _V1),)

_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS _migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at REAL NOT NULL
)
"""


def migrate(db: sqlite3.Connection, where: str, migrations: tuple[Migration, ...] | None = None) -> int:
    """Bring the schema to the newest version this code knows (``MIGRATIONS``); return it.

    ``db`` is in autocommit mode with no open transaction. Raises :class:`StoreError` for a database
    that is not a state store, or one written by a newer release.
    """
    migrations = MIGRATIONS if migrations is None else migrations
    known = migrations[-1].version
    db.execute("BEGIN IMMEDIATE")  # one writer decides, even when several processes open at once
    try:
        applied = _applied(db, where)
        newest = max(applied, default=0)
        if newest > known:
            raise StoreError(
                f"state database {where} has schema version {newest}, newer than the {known} this "
                "version of hf-ipfs-scraper knows; upgrade hf-ipfs-scraper to open it"
            )
        for migration in migrations:
            if migration.version in applied:
                if applied[migration.version] != migration.name:
                    raise StoreError(
                        f"state database {where} records migration {migration.version} as "
                        f"{applied[migration.version]!r}, not {migration.name!r}: it was written by "
                        "an incompatible build"
                    )
                continue
            for statement in _statements(migration.sql):
                db.execute(statement)
            db.execute(
                "INSERT INTO _migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, time.time()),
            )
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return known


def _applied(db: sqlite3.Connection, where: str) -> dict[int, str]:
    """The migrations recorded so far; refuses a database that holds other tables but no record."""
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "_migrations" not in tables:
        foreign = sorted(t for t in tables if not t.startswith("sqlite_"))
        if foreign:
            raise StoreError(
                f"{where} is a SQLite database with tables {', '.join(foreign)} but no _migrations "
                "table: it is not a state database"
            )
        db.execute(_MIGRATIONS_TABLE)
    return dict(db.execute("SELECT version, name FROM _migrations").fetchall())


def _statements(script: str) -> list[str]:
    """Split a migration into statements: ``executescript`` would COMMIT our transaction first."""
    statements, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip():
        raise StoreError(f"incomplete SQL statement in a migration: {pending.strip()[:80]!r}")
    return statements
