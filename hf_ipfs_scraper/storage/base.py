"""The seam between the mirror and where content lives (like an httpx transport).

The scraper pipeline talks only to :class:`Storage`; three backends implement it:

* :class:`~.embedded.EmbeddedStore` — blocks on local disk, no daemon (the default);
* :class:`~.remote.RemoteStore` over :class:`~.kubo.KuboRemote` — a Kubo daemon's RPC API;
* :class:`~.remote.RemoteStore` over :class:`~.cluster.ClusterRemote` — an IPFS Cluster.

CIDs are always decided by the project's own importer (Kubo-identical), whichever backend holds
the blocks: a remote backend receives them as one CAR per pinned DAG. The protocol holds only what
every backend can honour; what only the embedded store can do (gc and its guard, verify, CAR
import) stays on it.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, BinaryIO, Iterable, Iterator, Mapping, Protocol, Union, runtime_checkable

from ..ipfs.cid import CID

#: a piece of a file read back: the embedded store yields views into its blocks (no copy), a
#: daemon's client yields bytes; either can be written, hashed or ``b"".join``-ed
Piece = Union[bytes, memoryview]

if TYPE_CHECKING:  # annotations only: a reader (Catalog, the CLI's status) never loads the importer
    from ..ipfs.importer import ByteSource, Node


class ContentReader(Protocol):
    """What a reader of an archive needs from where its content lives (``Catalog``, the web
    layer): any backend, or a daemon alone (:class:`~.remote.RemoteReader`)."""

    def has(self, cid: CID) -> bool: ...

    def cat(self, cid: CID, *, offset: int = 0, length: int | None = None) -> Iterator[Piece]: ...


class StorageStat(Protocol):
    """What ``stat()`` answers, whichever backend: ``None`` where a backend cannot tell."""

    @property
    def blocks(self) -> int | None: ...

    @property
    def bytes_stored(self) -> int | None: ...

    @property
    def pins(self) -> int: ...


@runtime_checkable
class Storage(Protocol):
    def add_file(self, stream: ByteSource) -> Node:
        """Import one file's bytes; return its DAG (unpinned until :meth:`pin`)."""

    def add_directory(self, files: Mapping[str, Node], dirs: Iterable[str] = ()) -> Node:
        """Build the directory DAG holding already-added ``files`` (path → node) and empty ``dirs``."""

    def pin(self, cid: CID, name: str | None = None) -> None:
        """Pin a complete DAG recursively under ``name``, so it survives garbage collection; when
        this returns, the backend holds it (a remote backend has confirmed the pin)."""

    def unpin(self, cid: CID) -> None: ...

    def has(self, cid: CID) -> bool: ...

    def cat(self, cid: CID, *, offset: int = 0, length: int | None = None) -> Iterator[Piece]:
        """A file's bytes (``length`` of them from ``offset``), streamed as bytes-like pieces."""

    def export_car(self, cid: CID, fileobj: BinaryIO) -> int:
        """The DAG under ``cid`` as CAR v1 (what ``ipfs dag export`` writes); returns the block count."""

    def stat(self) -> StorageStat: ...

    def writing(self) -> AbstractContextManager[None]:
        """Hold while adding and then pinning, so a concurrent GC cannot collect the new blocks."""

    def close(self) -> None: ...
