"""A backend whose blocks live in a daemon or a cluster: Kubo, IPFS Cluster.

CIDs are always decided here, by the project's importer (Kubo-identical): files and directories
are imported into a local **spool** (an embedded block store under ``<output_dir>/spool``), and
:meth:`RemoteStore.pin` sends the repo's DAG to the remote as one CAR stream — one request,
however many blocks — and has it pinned under the repo's name. Once the remote has pinned it, the
spooled blocks are dropped: the daemon holds the archive, this machine does not keep a copy.

What a crash or a daemon that goes down leaves behind is safe: a DAG is recorded as pinned only
after the remote said so, and its blocks stay in the spool until then, so the next run pushes
them again without downloading anything twice.

A block the DAG links to that is not in the spool must already be in the remote (a file reused
from an earlier revision, a repo root under a snapshot): it is asked for once, or known from the
remote's pin list read at open, and never sent again.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import BinaryIO, Iterable, Iterator, Mapping, Protocol

from ..errors import BackendError, BlockNotFoundError
from ..ipfs import car, ipld
from ..ipfs.cid import CID
from ..ipfs.importer import ByteSource, Node
from ._pieces import PieceReader
from .base import Piece
from .embedded import EmbeddedStore

logger = logging.getLogger(__name__)
_SENT_BLOCKS = 100_000  # about 10 MB of CIDs: the blocks of the last few dozen GB pushed


@dataclass(frozen=True, slots=True)
class RemotePin:
    cid: CID
    name: str | None


@dataclass(frozen=True, slots=True)
class RemoteStat:
    """What the remote says of itself: ``blocks``/``bytes_stored`` as its repo stat reports them
    (None where it does not), ``pins`` the recursive pins."""

    backend: str
    blocks: int | None
    bytes_stored: int | None
    pins: int


class Remote(Protocol):
    """What a daemon or cluster does for :class:`RemoteStore`: each call is one request or a few,
    each with a timeout, each failure a :class:`BackendError` (``BackendUnavailableError`` when
    the remote is down or did not answer in time)."""

    label: str  # "Kubo at http://127.0.0.1:5001", for messages

    def pins(self) -> list[RemotePin]:
        """The recursive pins."""

    def has(self, cid: CID) -> bool:
        """Whether the remote holds this block now, without fetching it from the network."""

    def push(self, car_stream: BinaryIO, root: CID, name: str) -> None:
        """Import the CAR (rooted at ``root``) and pin ``root`` recursively under ``name``; a
        remote that reports another root for it is an error."""

    def unpin(self, cid: CID) -> None: ...

    def cat(self, cid: CID, offset: int = 0, length: int | None = None) -> Iterator[bytes]: ...

    def export_car(self, cid: CID, fileobj: BinaryIO) -> int:
        """The DAG as CAR v1 into ``fileobj``; returns the block count."""

    def stat(self) -> RemoteStat: ...

    def close(self) -> None: ...


class RemoteStore:
    """:class:`~.base.Storage` over a spool and a :class:`Remote` (see the module docstring)."""

    def __init__(self, spool: EmbeddedStore, remote: Remote) -> None:
        self.spool = spool
        self.remote = remote
        self._lock = threading.Lock()
        self._present: set[CID] = {pin.cid for pin in remote.pins()}  # known to be in the remote
        # Blocks of the DAGs pushed lately: another worker's DAG may share a file whose blocks
        # this push removes from the spool while that worker walks it (a block/stat each, before).
        self._sent: OrderedDict[CID, None] = OrderedDict()
        self.pushes = 0  # CARs sent: one per pinned DAG

    @property
    def label(self) -> str:
        return self.remote.label

    # -- adding (into the spool; CIDs decided here) ----------------------------------------------
    def add_file(self, stream: ByteSource) -> Node:
        return self.spool.add_file(stream)

    def add_directory(self, files: Mapping[str, Node], dirs: Iterable[str] = ()) -> Node:
        return self.spool.add_directory(files, dirs)

    def writing(self) -> AbstractContextManager[None]:
        return self.spool.writing()

    # -- pinning (into the remote) ---------------------------------------------------------------
    def pin(self, cid: CID, name: str | None = None) -> None:
        """Send the DAG's spooled blocks as one CAR, have the remote pin it, then drop them here."""
        sent: list[CID] = []
        stream = PieceReader(self._car_pieces(cid, sent))
        try:
            self.remote.push(stream, cid, name or str(cid))  # type: ignore[arg-type]  # read() is enough
        except BaseException:
            if stream.error is not None:
                raise stream.error from None
            raise
        if stream.error is not None:  # the remote took a truncated body without complaint
            raise stream.error
        with self._lock:
            self._present.add(cid)
            self.pushes += 1
            self._sent.update(dict.fromkeys(sent))
            while len(self._sent) > _SENT_BLOCKS:
                self._sent.popitem(last=False)
        for block in sent:
            self.spool.blocks.delete(block)

    def _car_pieces(self, root: CID, sent: list[CID]) -> Iterator[bytes | memoryview]:
        """The CAR of ``root``'s DAG: its spooled blocks, depth first, each once (listed in
        ``sent``). A linked block not in the spool must be in the remote already, with its DAG."""
        yield car.encode_header([root])
        stack, seen = [root], set()
        while stack:
            cid = stack.pop()
            if cid in seen:
                continue
            seen.add(cid)
            try:
                data = self.spool.blocks.get(cid)
            except BlockNotFoundError:
                if not self._in_remote(cid):
                    raise BackendError(f"{cid} is neither spooled here nor held by {self.remote.label}") from None
                continue
            sent.append(cid)
            yield car.section_head(cid, len(data))
            yield data
            stack.extend(reversed(ipld.links_of(cid, data)))

    def _in_remote(self, cid: CID) -> bool:
        with self._lock:
            if cid in self._present or cid in self._sent:
                return True
        if not self.remote.has(cid):
            return False
        with self._lock:
            self._present.add(cid)
        return True

    def unpin(self, cid: CID) -> None:
        self.remote.unpin(cid)
        with self._lock:
            self._present.discard(cid)
            self._sent.clear()  # the daemon may now collect them

    def pins(self) -> list[RemotePin]:
        return self.remote.pins()

    # -- reading ---------------------------------------------------------------------------------
    def has(self, cid: CID) -> bool:
        return self.spool.has(cid) or self._in_remote(cid)

    def cat(self, cid: CID, *, offset: int = 0, length: int | None = None) -> Iterator[Piece]:
        """From the spool while the DAG is still there (the pipeline reads a README before it
        pins), else from the remote."""
        if self.spool.has(cid):
            return self.spool.cat(cid, offset=offset, length=length)
        return self.remote.cat(cid, offset, length)

    def export_car(self, cid: CID, fileobj: BinaryIO) -> int:
        return self.remote.export_car(cid, fileobj)

    def stat(self) -> RemoteStat:
        return self.remote.stat()

    def close(self) -> None:
        try:
            self.remote.close()
        finally:
            self.spool.close()


class RemoteReader:
    """A daemon or cluster read alone, without a spool: what ``serve`` and a ``Catalog`` need to
    read an archive whose content lives there (the mirror may be writing the spool meanwhile)."""

    def __init__(self, remote: Remote) -> None:
        self.remote = remote

    def has(self, cid: CID) -> bool:
        return self.remote.has(cid)

    def cat(self, cid: CID, *, offset: int = 0, length: int | None = None) -> Iterator[Piece]:
        return self.remote.cat(cid, offset, length)

    def close(self) -> None:
        self.remote.close()
