"""Run and mirror state shared by every scraper: runs, entities, files, trending snapshots.

``StateStore`` is the one entry point (SQLite, WAL, schema in numbered migrations); the rows it
returns are frozen dataclasses.
"""

from __future__ import annotations

from .rows import (
    ENTITY_STATUSES,
    ENTITY_TYPES,
    RUN_STATUSES,
    EntityState,
    FileRecord,
    Run,
    RunMember,
    SnapshotRow,
    StoredBlob,
    TrendingRow,
    WalkRow,
)
from .store import StateStore

__all__ = [
    "ENTITY_STATUSES",
    "ENTITY_TYPES",
    "RUN_STATUSES",
    "EntityState",
    "FileRecord",
    "Run",
    "RunMember",
    "SnapshotRow",
    "StateStore",
    "StoredBlob",
    "TrendingRow",
    "WalkRow",
]
