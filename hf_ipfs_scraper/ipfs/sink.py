"""Where importers put blocks: anything with ``put_block(cid, pieces)``.

A block is handed over as the pieces it was hashed from (header, chunk view, trailer) so a 256 KiB
leaf is never copied into a fresh ``bytes`` just to be written. The block store writes the pieces;
``--only-hash`` uses :class:`NullSink`; tests collect blocks with :class:`MemorySink`.
"""

from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

from .cid import CID

Pieces = Sequence["bytes | bytearray | memoryview"]


@runtime_checkable
class BlockSink(Protocol):
    def put_block(self, cid: CID, pieces: Pieces) -> None:
        """Store a block (the concatenation of ``pieces``); a block already present may be skipped."""


class NullSink:
    """Discards blocks: computing CIDs only (``ipfs add --only-hash``)."""

    def put_block(self, cid: CID, pieces: Pieces) -> None:
        return None


class MemorySink:
    """Keeps blocks in a dict keyed by CID (tests, small DAGs)."""

    def __init__(self) -> None:
        self.blocks: dict[CID, bytes] = {}

    def put_block(self, cid: CID, pieces: Pieces) -> None:
        if cid not in self.blocks:
            self.blocks[cid] = b"".join(bytes(p) for p in pieces)
