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
from typing import Callable, NamedTuple

from ..errors import StoreError


class Migration(NamedTuple):
    version: int
    name: str
    sql: str
    run: Callable[[sqlite3.Connection], None] | None = None  # a step SQL text cannot say, after ``sql``


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

# Entity metadata as columns (what export, search and the Catalog filter on), the README of each
# mirrored repo, and the provenance graph's edges. Node keys are "type:id" ("model:org/name").
_V2 = """
ALTER TABLE entities ADD COLUMN author TEXT;
ALTER TABLE entities ADD COLUMN license TEXT;
ALTER TABLE entities ADD COLUMN languages TEXT;        -- JSON array
ALTER TABLE entities ADD COLUMN tags TEXT;             -- JSON array
ALTER TABLE entities ADD COLUMN likes INTEGER;
ALTER TABLE entities ADD COLUMN downloads INTEGER;
ALTER TABLE entities ADD COLUMN trending_score REAL;
ALTER TABLE entities ADD COLUMN gated TEXT;            -- NULL (not gated), 'auto' or 'manual'
ALTER TABLE entities ADD COLUMN private INTEGER;
ALTER TABLE entities ADD COLUMN created_at TEXT;       -- ISO 8601, as the Hub says
ALTER TABLE entities ADD COLUMN last_modified TEXT;
ALTER TABLE entities ADD COLUMN pipeline_tag TEXT;     -- models
ALTER TABLE entities ADD COLUMN library_name TEXT;     -- models
ALTER TABLE entities ADD COLUMN task_categories TEXT;  -- datasets, JSON array
ALTER TABLE entities ADD COLUMN sdk TEXT;              -- spaces
ALTER TABLE entities ADD COLUMN card_data TEXT;        -- JSON: the card's front matter, as the Hub parsed it
ALTER TABLE entities ADD COLUMN size_bytes INTEGER;    -- bytes of the mirrored files
ALTER TABLE entities ADD COLUMN total_bytes INTEGER;   -- bytes of every file at that revision, left-out ones too
ALTER TABLE entities ADD COLUMN file_count INTEGER;    -- files mirrored
ALTER TABLE entities ADD COLUMN readme_cid TEXT;
ALTER TABLE entities ADD COLUMN mirrored_at REAL;
CREATE INDEX entities_by_author ON entities (author);

CREATE TABLE readmes (
    type        TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    cid         TEXT NOT NULL,
    size        INTEGER NOT NULL,
    text        TEXT,           -- NULL when over the text cap: the CID points at it in the store
    PRIMARY KEY (type, entity_id),
    FOREIGN KEY (type, entity_id) REFERENCES entities (type, id) ON DELETE CASCADE
);

CREATE TABLE edges (
    src         TEXT NOT NULL,  -- the derived repo's node key
    dst         TEXT NOT NULL,  -- what it derives from / uses
    relation    TEXT NOT NULL CHECK (relation IN
                ('finetune', 'adapter', 'quantized', 'merge', 'unknown', 'trained_on', 'uses', 'derived_from')),
    evidence    TEXT NOT NULL,  -- where it was read: "cardData.base_model", "tags", "hub.baseModels", ...
    PRIMARY KEY (src, dst, relation)
) WITHOUT ROWID;
CREATE INDEX edges_by_dst ON edges (dst);

CREATE TABLE provenance_warnings (
    node        TEXT NOT NULL,
    message     TEXT NOT NULL,
    PRIMARY KEY (node, message)
) WITHOUT ROWID;
"""

# Snapshots: one directory DAG per archive state, linking every mirrored repo's root (hence
# root_tsize, which a directory link carries), and which roots each one references (what prune
# must never unpin while the snapshot is kept).
_V3 = """
ALTER TABLE entities ADD COLUMN root_tsize INTEGER;
CREATE TABLE snapshots (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    cid         TEXT NOT NULL,
    created_at  REAL NOT NULL,
    runs        TEXT NOT NULL,              -- JSON array of the run ids it follows
    repos       INTEGER NOT NULL,
    tsize       INTEGER NOT NULL,           -- cumulative size of the whole DAG
    published   TEXT                        -- the IPNS name updated to it, if any
);
CREATE TABLE snapshot_roots (
    snapshot_id INTEGER NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    type        TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    root_cid    TEXT NOT NULL,
    PRIMARY KEY (snapshot_id, type, entity_id)
) WITHOUT ROWID;
CREATE INDEX snapshot_roots_by_cid ON snapshot_roots (root_cid);
"""

# The whole-Hub catalog (``walk.py``): entities known from a listing only are ``listed`` (metadata,
# no content); when each walk saw them last, when a full walk found them gone, what the Hub
# redirects a renamed one to; and each walk's progress, so a killed walk resumes at its page.
_V4 = """
ALTER TABLE entities ADD COLUMN listed_at REAL;
ALTER TABLE entities ADD COLUMN gone_at REAL;
ALTER TABLE entities ADD COLUMN renamed_to TEXT;
CREATE INDEX entities_by_listing ON entities (type, listed_at);
CREATE TABLE walks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    type        TEXT NOT NULL CHECK (type IN ('model', 'dataset', 'space')),
    kind        TEXT NOT NULL CHECK (kind IN ('full', 'refresh')),
    status      TEXT NOT NULL CHECK (status IN ('running', 'completed', 'interrupted', 'failed')),
    started_at  REAL NOT NULL,
    ended_at    REAL,
    next_url    TEXT,                       -- the page to ask next (NULL: from the start)
    pages       INTEGER NOT NULL DEFAULT 0,
    listed      INTEGER NOT NULL DEFAULT 0,
    changed     INTEGER NOT NULL DEFAULT 0, -- new, or listed with another revision or date
    error       TEXT
);
CREATE INDEX walks_by_type ON walks (type, id);
"""


# A full walk lists by creation date (a key that never changes, so the cursor's order holds
# while the walk goes on) from both ends at once: the ascending lane is ``next_url``, the
# descending one ``back_url``; each lane's frontier (the creation date its pages reached) says
# where they met, and ``covered`` that every page of the listing was written (the walk then only
# has its end to do). Walks recorded before this are ``ordered = 0``: one chain, as they began.
_V5 = """
ALTER TABLE walks ADD COLUMN ordered INTEGER NOT NULL DEFAULT 0;
ALTER TABLE walks ADD COLUMN front_key TEXT;
ALTER TABLE walks ADD COLUMN back_url TEXT;
ALTER TABLE walks ADD COLUMN back_key TEXT;
ALTER TABLE walks ADD COLUMN covered INTEGER NOT NULL DEFAULT 0;
"""


# A failed entity is not given up: later runs try it again, each time after a longer wait
# (``scrape.retry_spacing``, doubled a failure); ``retry_at`` is when it may be claimed again.
_V6 = """
ALTER TABLE entities ADD COLUMN retry_at REAL;
"""


def _allow_listed(db: sqlite3.Connection) -> None:
    """Widen the entity status CHECK by one value, ``listed``: SQLite's documented way for a change
    that leaves every stored row valid (editing the schema text, not rebuilding a table of
    millions of rows, whose foreign keys would cascade a DROP into the files)."""
    (version,) = db.execute("PRAGMA schema_version").fetchone()
    old = "CHECK (status IN ('pending', 'in_progress', 'done', 'failed', 'skipped'))"
    new = "CHECK (status IN ('pending', 'in_progress', 'done', 'failed', 'skipped', 'listed'))"
    db.execute("PRAGMA writable_schema = ON")
    try:
        changed = db.execute(
            "UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE type = 'table' AND name = 'entities'"
            " AND instr(sql, ?) > 0", (old, new, old),
        ).rowcount
        if changed != 1:
            raise StoreError("the entities table does not have the status check this migration widens")
        db.execute(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        db.execute("PRAGMA writable_schema = OFF")


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "runs, entities, files, trending", _V1),
    Migration(2, "entity metadata columns, readmes, provenance edges", _V2),
    Migration(3, "root tsize, snapshots", _V3),
    Migration(4, "listed entities, walks", _V4, _allow_listed),
    Migration(5, "walks from both ends of the listing", _V5),
    Migration(6, "when a failed entity is tried again", _V6),
)

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
            if migration.run is not None:
                migration.run(db)
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
