"""The seam between the mirror and where content lives (like an httpx transport).

The scraper pipeline talks only to :class:`Storage`. The embedded store is the first backend;
a Kubo daemon and an IPFS Cluster plug in later behind the same few methods, so no scraper
changes when a user switches backend.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Iterable, Iterator, Mapping, Protocol, runtime_checkable

from ..ipfs.cid import CID
from ..ipfs.importer import ByteSource, Node


@runtime_checkable
class Storage(Protocol):
    def add_file(self, stream: ByteSource) -> Node:
        """Import one file's bytes; return its DAG (unpinned until :meth:`pin`)."""

    def add_directory(self, files: Mapping[str, Node], dirs: Iterable[str] = ()) -> Node:
        """Build the directory DAG holding already-added ``files`` (path → node) and empty ``dirs``."""

    def pin(self, cid: CID, name: str | None = None) -> None:
        """Pin a complete DAG recursively so it survives garbage collection."""

    def unpin(self, cid: CID) -> None: ...

    def has(self, cid: CID) -> bool: ...

    def cat(self, cid: CID) -> Iterator[bytes]:
        """A file's bytes, streamed."""

    def writing(self) -> AbstractContextManager[None]:
        """Hold while adding and then pinning, so a concurrent GC cannot collect the new blocks."""

    def close(self) -> None: ...
