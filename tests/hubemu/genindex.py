"""Sorted indexes of a generated Hub: a listing page costs O(log n + page), not a sort of n.

``SortIndex`` keeps one ``array('q')`` of composite keys ``(value' << 24) | index``, sorted, where
``value'`` is the value (ascending) or ``2^38 - 1 - value`` (descending): within equal values the
order is by entity index either way (the Hub's order within ties is its own; any total order
keeps keyset cursors exact). The cursor of a page is the last key it showed; the next page starts
after it (``bisect``), so entities added or removed between two pages shift nothing. Mutations
move single keys (``remove``/``insert``: a C memmove) or, for a batch, filter and re-sort (Timsort
merges the two sorted runs in linear time).

``IdIndex`` orders by ``(id.lower(), id)`` as the emulator's other listings do; it is built on
first use (generating every id) and dropped when ids change.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

INDEX_BITS = 24
MAX_INDEX = 1 << INDEX_BITS
MAX_VALUE = 1 << 38
_BATCH = 64


class SortIndex:
    def __init__(self, values: Sequence[int], members: Iterable[int], *, descending: bool) -> None:
        self.descending = descending
        self.keys = array("q", sorted(self.key(values[i], i) for i in members))

    def key(self, value: int, i: int) -> int:
        value = min(max(int(value), 0), MAX_VALUE - 1)
        return ((MAX_VALUE - 1 - value) if self.descending else value) << INDEX_BITS | i

    def __len__(self) -> int:
        return len(self.keys)

    def after(self, cursor: Any) -> Iterator[tuple[int, int]]:
        """(cursor, entity index) from just after ``cursor`` (None: from the start)."""
        if cursor is not None and not isinstance(cursor, int):
            raise ValueError("not a cursor of this listing")
        keys = self.keys
        pos = 0 if cursor is None else bisect.bisect_right(keys, cursor)
        while pos < len(keys):
            key = keys[pos]
            yield key, key & (MAX_INDEX - 1)
            pos += 1

    def remove(self, value: int, i: int) -> None:
        key = self.key(value, i)
        pos = bisect.bisect_left(self.keys, key)
        if pos < len(self.keys) and self.keys[pos] == key:
            del self.keys[pos]

    def insert(self, value: int, i: int) -> None:
        key = self.key(value, i)
        self.keys.insert(bisect.bisect_left(self.keys, key), key)

    def move_many(self, changes: Sequence[tuple[int, int, int]]) -> None:
        """Apply ``(old value, new value, index)`` changes."""
        if len(changes) < _BATCH:
            for old, new, i in changes:
                self.remove(old, i)
                self.insert(new, i)
            return
        gone = {self.key(old, i) for old, _, i in changes}
        kept = [k for k in self.keys if k not in gone]
        kept += sorted(self.key(new, i) for _, new, i in changes)
        kept.sort()
        self.keys = array("q", kept)


class IdIndex:
    def __init__(self, ids: Iterable[tuple[str, int]], *, descending: bool) -> None:
        rows = sorted(((repo_id.lower(), repo_id), i) for repo_id, i in ids)
        self.keys = [k for k, _ in rows]
        self.members = [i for _, i in rows]
        self.descending = descending

    def __len__(self) -> int:
        return len(self.keys)

    def after(self, cursor: Any) -> Iterator[tuple[Any, int]]:
        if cursor is not None:
            if not (isinstance(cursor, (list, tuple)) and len(cursor) == 2 and all(isinstance(c, str) for c in cursor)):
                raise ValueError("not a cursor of this listing")
            cursor = tuple(cursor)
        if self.descending:
            pos = len(self.keys) - 1 if cursor is None else bisect.bisect_left(self.keys, cursor) - 1
            while pos >= 0:
                yield list(self.keys[pos]), self.members[pos]
                pos -= 1
        else:
            pos = 0 if cursor is None else bisect.bisect_right(self.keys, cursor)
            while pos < len(self.keys):
                yield list(self.keys[pos]), self.members[pos]
                pos += 1
