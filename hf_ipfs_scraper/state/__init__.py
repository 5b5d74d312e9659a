"""Run and mirror state shared by every scraper: runs, entities, files, trending snapshots.

``StateStore`` is the one entry point (SQLite, WAL, schema in numbered migrations); the rows it
returns are frozen dataclasses.
"""

from __future__ import annotations

import typing as _typing

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
if _typing.TYPE_CHECKING:
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


def __getattr__(name: str) -> _typing.Any:
    """``StateStore`` when first asked for: a command that needs only the row types (the CLI's
    choices of entity type) starts without the store's module (PEP 562)."""
    if name != "StateStore":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .store import StateStore

    globals()[name] = StateStore
    return StateStore
