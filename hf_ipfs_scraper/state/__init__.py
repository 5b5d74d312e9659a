"""Run and mirror state shared by every scraper: runs, entities, files, trending snapshots.

``StateStore`` is the one entry point (SQLite, WAL, schema in numbered migrations); the rows it
returns are frozen dataclasses.
"""

from __future__ import annotations

import typing as _typing

from .keys import ENTITY_STATUSES, ENTITY_TYPES, RUN_STATUSES

if _typing.TYPE_CHECKING:
    from .rows import EntityState, FileRecord, Run, RunMember, SnapshotRow, StoredBlob, TrendingRow, WalkRow
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


_ROWS = {"EntityState", "FileRecord", "Run", "RunMember", "SnapshotRow", "StoredBlob", "TrendingRow", "WalkRow"}


def __getattr__(name: str) -> _typing.Any:
    """The row types and ``StateStore`` when first asked for (PEP 562): a command that needs only
    the entity types (the CLI's parsers) starts without creating a dataclass."""
    if name == "StateStore":
        from . import store as module
    elif name in _ROWS:
        from . import rows as module  # type: ignore[no-redef]
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(module, name)
    globals()[name] = value
    return value
