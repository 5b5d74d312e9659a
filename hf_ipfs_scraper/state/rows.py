"""The rows the state store hands out: frozen dataclasses, built from SELECTs of known columns.

Timestamps are epoch seconds (floats, UTC by definition), as in the block store's pin table: they
sort and subtract without parsing. JSON columns come back as dicts, which are left out of hashing
so a row stays hashable.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

from .keys import ENTITY_STATUSES, ENTITY_TYPES, RUN_END_STATUSES, RUN_STATUSES, node_key, split_node  # noqa: F401 - re-exported


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

    The metadata columns (author ... sdk, ``card_data``) are what the latest listing said;
    ``size_bytes``, ``file_count``, ``readme_cid`` and ``mirrored_at`` describe the last mirror.
    ``metadata`` is the whole normalized record (as in ``metadata.json``, without the card data).
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
    author: str | None = None
    license: str | None = None
    languages: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    likes: int | None = None
    downloads: int | None = None
    trending_score: float | None = None
    gated: str | None = None
    private: bool | None = None
    created_at: str | None = None
    last_modified: str | None = None
    pipeline_tag: str | None = None
    library_name: str | None = None
    task_categories: tuple[str, ...] = ()
    sdk: str | None = None
    card_data: dict[str, Any] | None = field(default=None, hash=False)
    size_bytes: int | None = None
    total_bytes: int | None = None
    file_count: int | None = None
    readme_cid: str | None = None
    mirrored_at: float | None = None
    root_tsize: int | None = None  # the root DAG's cumulative block size, as a directory link needs it
    listed_at: float | None = None  # the last catalog walk that listed it
    gone_at: float | None = None  # a full walk no longer found it (it is never deleted)
    renamed_to: str | None = None  # the id the Hub now redirects it to
    retry_at: float | None = None  # failed: not claimed again before this (None: at once)

    @property
    def node(self) -> str:
        """The entity's key in the provenance graph."""
        return node_key(self.type, self.id)

    @property
    def mirrored(self) -> bool:
        """Its files are archived here (else it is metadata only: listed, pending, skipped...)."""
        return self.status == "done"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class EdgeRow(NamedTuple):
    """One provenance edge: ``src`` derives from (or uses) ``dst``; both are node keys."""

    src: str
    dst: str
    relation: str
    evidence: str


@dataclass(frozen=True, slots=True)
class Archived:
    """What a finished mirror adds to an entity, recorded with ``mark_done`` in one transaction."""

    size_bytes: int
    total_bytes: int
    file_count: int
    readme_cid: str | None = None
    readme_size: int = 0
    readme_text: str | None = None
    root_tsize: int | None = None


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


@dataclass(frozen=True, slots=True)
class SnapshotRow:
    """One archive snapshot: the CID of a directory linking every repo mirrored when it was taken."""

    id: int
    cid: str
    created_at: float
    runs: tuple[int, ...]
    repos: int
    tsize: int
    published: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class WalkRow:
    """One walk of a whole listing (``hf-ipfs-scraper catalog``): ``full`` or ``refresh``, and how
    far it got; ``next_url`` is the page a resumed walk asks next. An ``ordered`` full walk lists
    by creation date from the oldest (``next_url``, its pages reached ``front_key``) and, once the
    listing proved long, from the newest too (``back_url``, ``back_key``); ``covered``: the two
    met, or one reached the end, so every page is written."""

    id: int
    type: str
    kind: str
    status: str
    started_at: float
    ended_at: float | None
    next_url: str | None
    pages: int
    listed: int
    changed: int
    error: str | None
    ordered: bool = False
    front_key: str | None = None
    back_url: str | None = None
    back_key: str | None = None
    covered: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class RunMember(NamedTuple):
    """One repo of a run's trending list with the entity columns a listing filters and sorts on:
    read for every repo of a run in one query, so a page needs full entities for its rows only.
    ``trending_score`` is the snapshot's; likes and downloads are the entity's, as last recorded.
    A named tuple, not a dataclass: thousands are made a request, and a frozen dataclass's
    ``__init__`` took 70 % of the query's time."""

    rank: int
    id: str
    trending_score: float | None
    likes: int | None
    downloads: int | None
    size_bytes: int | None
    created_at: str | None
    last_modified: str | None


RUN_COLUMNS = "id, key, status, started_at, ended_at, stats, log, owner_pid"
# The columns upsert_discovered() takes from a record's metadata dict; JSON ones are lists/dicts.
META_COLUMNS = (
    "author", "license", "languages", "tags", "likes", "downloads", "trending_score", "gated", "private",
    "created_at", "last_modified", "pipeline_tag", "library_name", "task_categories", "sdk", "card_data",
)
JSON_COLUMNS = frozenset({"languages", "tags", "task_categories", "card_data"})
_ENTITY_HEAD = "type, id, status, head_sha, sha, root_cid, attempts, last_error, reason, first_seen, updated_at, "
_ENTITY_TAIL = (
    ", owner_pid, " + ", ".join(META_COLUMNS)
    + ", size_bytes, total_bytes, file_count, readme_cid, mirrored_at, root_tsize, listed_at, gone_at, renamed_to,"
    " retry_at"
)
ENTITY_COLUMNS = _ENTITY_HEAD + "metadata" + _ENTITY_TAIL
ENTITY_COLUMNS_NO_METADATA = _ENTITY_HEAD + "NULL" + _ENTITY_TAIL  # the same rows, the metadata dict None
FILE_COLUMNS = "type, entity_id, path, size, oid, sha256, cid, tsize, recorded_at"
TRENDING_COLUMNS = "rank, id, trending_score, likes, downloads, captured_at"
SNAPSHOT_COLUMNS = "id, cid, created_at, runs, repos, tsize, published"
WALK_COLUMNS = ("id, type, kind, status, started_at, ended_at, next_url, pages, listed, changed, error,"
                " ordered, front_key, back_url, back_key, covered")


def run_from_row(row: tuple[Any, ...]) -> Run:
    id_, key, status, started_at, ended_at, stats, log, owner_pid = row
    return Run(id_, key, status, started_at, ended_at, json.loads(stats), log, owner_pid)


def entity_from_row(row: tuple[Any, ...]) -> EntityState:
    type_, id_, status, head_sha, sha, root_cid, attempts, last_error, reason, first_seen, updated_at, meta, pid = row[:13]
    metadata = None if meta is None else json.loads(meta)
    values: dict[str, Any] = {}
    for name, value in zip(META_COLUMNS, row[13 : 13 + len(META_COLUMNS)]):
        if name in JSON_COLUMNS:
            value = None if value is None else json.loads(value)
            if isinstance(value, list):
                value = tuple(value)
            elif value is None and name != "card_data":
                value = ()
        values[name] = value
    if values["private"] is not None:
        values["private"] = bool(values["private"])
    size_bytes, total_bytes, file_count, readme_cid, mirrored_at, root_tsize, listed_at, gone_at, renamed_to, retry_at = (
        row[13 + len(META_COLUMNS) :]
    )
    return EntityState(
        type_, id_, status, head_sha, sha, root_cid, attempts, last_error, reason, first_seen, updated_at, metadata, pid,
        **values, size_bytes=size_bytes, total_bytes=total_bytes, file_count=file_count, readme_cid=readme_cid,
        mirrored_at=mirrored_at, root_tsize=root_tsize, listed_at=listed_at, gone_at=gone_at, renamed_to=renamed_to,
        retry_at=retry_at,
    )


def snapshot_from_row(row: tuple[Any, ...]) -> SnapshotRow:
    id_, cid, created_at, runs, repos, tsize, published = row
    return SnapshotRow(id_, cid, created_at, tuple(json.loads(runs)), repos, tsize, published)


def file_from_row(row: tuple[Any, ...]) -> FileRecord:
    return FileRecord(*row)


def trending_from_row(row: tuple[Any, ...]) -> TrendingRow:
    return TrendingRow(*row)


def to_json(value: dict[str, Any] | None) -> str | None:
    """Compact, key-sorted JSON (so equal dicts store equal text); None stays NULL."""
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
