"""The rows the state store hands out: frozen dataclasses, built from SELECTs of known columns.

Timestamps are epoch seconds (floats, UTC by definition), as in the block store's pin table: they
sort and subtract without parsing. JSON columns come back as dicts, which are left out of hashing
so a row stays hashable.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

ENTITY_TYPES = ("model", "dataset", "space")
ENTITY_STATUSES = ("pending", "in_progress", "done", "failed", "skipped")
RUN_STATUSES = ("pending", "running", "completed", "failed", "interrupted")
RUN_END_STATUSES = ("completed", "failed", "interrupted")


@dataclass(frozen=True, slots=True)
class Run:
    """One scraper run. ``log`` holds short lines, each ending in a newline; ``owner_pid`` is the
    process that started it (checked on open to tell a crashed run from a live one)."""

    id: int
    key: str
    status: str
    started_at: float
    ended_at: float | None
    stats: dict[str, Any] = field(hash=False)
    log: str
    owner_pid: int | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class EntityState:
    """Where the mirror of one Hub repo stands.

    ``head_sha`` is the newest revision discovery saw (what the next mirror should fetch); ``sha``
    and ``root_cid`` describe the last revision actually mirrored. ``attempts`` counts claims since
    ``head_sha`` last changed; ``owner_pid`` is the claiming process while ``in_progress``.
    """

    type: str
    id: str
    status: str
    head_sha: str | None
    sha: str | None
    root_cid: str | None
    attempts: int
    last_error: str | None
    reason: str | None
    first_seen: float
    updated_at: float
    metadata: dict[str, Any] | None = field(hash=False)
    owner_pid: int | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class FileRecord:
    """A file of a repo, verified and stored: what lets a resumed run skip it.

    ``oid`` is what the Hub reports (git blob sha1, or the LFS sha256); ``sha256`` is set for LFS
    files; ``tsize`` is the cumulative size of the file's DAG, as a directory link needs it.
    """

    type: str
    id: str
    path: str
    size: int
    oid: str | None
    sha256: str | None
    cid: str
    tsize: int
    recorded_at: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class StoredBlob(NamedTuple):
    """What an already stored blob gives a new file with the same ``oid``: no download needed."""

    cid: str
    tsize: int
    size: int


@dataclass(frozen=True, slots=True)
class TrendingRow:
    """One place of a trending list. ``captured_at`` may be left out when recording (it becomes the
    time of ``record_trending``); rows read back always have it."""

    rank: int
    id: str
    trending_score: float | None = None
    likes: int | None = None
    downloads: int | None = None
    captured_at: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


RUN_COLUMNS = "id, key, status, started_at, ended_at, stats, log, owner_pid"
ENTITY_COLUMNS = (
    "type, id, status, head_sha, sha, root_cid, attempts, last_error, reason, first_seen, updated_at, "
    "metadata, owner_pid"
)
FILE_COLUMNS = "type, entity_id, path, size, oid, sha256, cid, tsize, recorded_at"
TRENDING_COLUMNS = "rank, id, trending_score, likes, downloads, captured_at"


def run_from_row(row: tuple[Any, ...]) -> Run:
    id_, key, status, started_at, ended_at, stats, log, owner_pid = row
    return Run(id_, key, status, started_at, ended_at, json.loads(stats), log, owner_pid)


def entity_from_row(row: tuple[Any, ...]) -> EntityState:
    type_, id_, status, head_sha, sha, root_cid, attempts, last_error, reason, first_seen, updated_at, meta, pid = row
    metadata = None if meta is None else json.loads(meta)
    return EntityState(
        type_, id_, status, head_sha, sha, root_cid, attempts, last_error, reason, first_seen, updated_at, metadata, pid
    )


def file_from_row(row: tuple[Any, ...]) -> FileRecord:
    return FileRecord(*row)


def trending_from_row(row: tuple[Any, ...]) -> TrendingRow:
    return TrendingRow(*row)


def to_json(value: dict[str, Any] | None) -> str | None:
    """Compact, key-sorted JSON (so equal dicts store equal text); None stays NULL."""
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
