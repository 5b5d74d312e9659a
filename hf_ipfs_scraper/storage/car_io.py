"""Moving DAGs between the block store and CAR files (``ipfs dag export`` / ``ipfs dag import``).

Spec: https://ipld.io/specs/transport/car/carv1/ — the codec itself is :mod:`..ipfs.car`.

Export writes the blocks in the order Kubo's ``dag export`` does (depth-first, root first, each
block once), so the same DAG gives the same CAR bytes. Import is all-or-nothing, because a CAR is
often a download or a pipe and may be truncated or corrupt:

1. Pass 1 reads the whole CAR, verifying every block's hash and its structure, and records which
   blocks it holds and the links of each dag-pb, dag-cbor and dag-json block (blocks of other
   codecs are stored too, but a root whose DAG reaches one cannot be checked: such a CAR imports
   only with ``--pin-roots=false``, unpinned). A non-seekable input (stdin) is spooled to a
   temporary file on the way, so pass 2 can read it again.
2. Holding the store's GC guard, every root's DAG is checked to be complete from the CAR's blocks
   plus those already in the store.
3. Only then pass 2 writes the blocks and pins the roots. If anything fails, the pins it added are
   removed and the blocks it newly wrote are deleted: a bad CAR changes nothing visible.
"""

from __future__ import annotations

import logging

import os
import tempfile
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import IO, BinaryIO, Callable, Iterator, Protocol

from ..errors import CarError, CodecError
from ..ipfs import ipld
from ..ipfs.car import CarReader, write_block, write_header
from ..ipfs.cid import CID, RAW
from ..ipfs.sink import Pieces

logger = logging.getLogger(__name__)


class _Store(Protocol):
    """The part of :class:`~.blockstore.BlockStore` CAR import and export use."""

    def has(self, cid: CID) -> bool: ...
    def get(self, cid: CID) -> bytes: ...
    def put_block(self, cid: CID, pieces: Pieces) -> None: ...
    def delete(self, cid: CID) -> object: ...
    def links(self, cid: CID) -> list[CID]: ...
    def walk(self, root: CID) -> Iterator[CID]: ...
    def pin_add(self, cid: CID, name: str | None = None) -> None: ...
    def pin_rm(self, cid: CID) -> None: ...
    def is_pinned(self, cid: CID) -> bool: ...
    def gc_guard(self) -> AbstractContextManager[object]: ...


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did: the CAR's roots, its block count and how many blocks were new here."""

    roots: list[CID]
    blocks: int
    new_blocks: int


def export_car(store: _Store, root: CID, fileobj: BinaryIO) -> int:
    """Write the DAG under ``root`` as a CARv1 (``ipfs dag export``); return the blocks written.

    A block missing from the store raises the store's ``BlockNotFoundError`` part-way through: the
    output is then incomplete and must be discarded (the CLI deletes a partial output file).
    """
    write_header(fileobj, [root])
    count = 0
    for cid in store.walk(root):
        write_block(fileobj, cid, store.get(cid))
        count += 1
    return count


def import_car(
    store: _Store,
    fileobj: BinaryIO,
    *,
    pin_roots: bool = True,
    spool_dir: str | os.PathLike[str] | None = None,
) -> ImportResult:
    """Import a CAR (v1, or v2's inner payload) all-or-nothing; pin its roots unless told not to.

    Raises :class:`CarError` for a corrupt CAR or, when pinning, a root whose DAG is incomplete,
    and lets the store's own errors through; either way the store is left as it was. Without
    ``pin_roots`` (Kubo's ``--pin-roots=false``) the blocks are stored as they are, so a partial
    DAG imports. ``spool_dir`` is where a non-seekable input is buffered (the system temporary
    directory by default).
    """
    with _rereadable(fileobj, spool_dir) as (first, again):
        scan = _scan(first)
        with store.gc_guard():
            if pin_roots:  # a pinned DAG must be whole; loose blocks need not be
                _check_complete(store, scan)
            new_blocks = _write_and_pin(store, again(), scan, pin_roots)
    return ImportResult(scan.roots, scan.blocks, new_blocks)


# -- pass 1 ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Scan:
    """What pass 1 learnt: blocks are keyed by multihash (as the store keys them)."""

    roots: list[CID]
    blocks: int
    present: set[bytes]
    links: dict[tuple[int, bytes], tuple[CID, ...]]  # (codec, multihash) of each block whose links are read


def _scan(stream: BinaryIO) -> _Scan:
    reader = CarReader(stream)
    scan = _Scan(reader.roots, 0, set(), {})
    for cid, data in reader:
        scan.blocks += 1
        scan.present.add(cid.multihash)
        if cid.codec in ipld.FOLLOWED and cid.codec != RAW and (cid.codec, cid.multihash) not in scan.links:
            try:
                scan.links[(cid.codec, cid.multihash)] = tuple(ipld.links_of(cid, data))
            except CodecError as exc:
                raise CarError(f"block {cid} in the CAR is not valid {cid.codec_name}: {exc}") from exc
    return scan


def _check_complete(store: _Store, scan: _Scan) -> None:
    """Every block under every root must be in the CAR or already in the store."""
    seen: set[tuple[int, bytes]] = set()
    for root in scan.roots:
        stack = [root]
        while stack:
            cid = stack.pop()
            if (cid.codec, cid.multihash) in seen:
                continue
            seen.add((cid.codec, cid.multihash))
            if cid.codec not in ipld.FOLLOWED:
                raise CarError(f"root {root} links to {cid} of codec {cid.codec_name}, whose links this store "
                               "cannot follow: import it with --pin-roots=false")
            if cid.multihash in scan.present:
                if cid.codec != RAW:
                    if (cid.codec, cid.multihash) not in scan.links:
                        raise CarError(f"root {root} needs {cid} as {cid.codec_name}, but the CAR holds those "
                                       "bytes under another codec")
                    stack.extend(scan.links[(cid.codec, cid.multihash)])
            elif store.has(cid):
                stack.extend(store.links(cid))
            else:
                raise CarError(
                    f"the DAG of root {root} is incomplete: block {cid} is neither in the CAR nor in the store"
                )


# -- pass 2 ---------------------------------------------------------------------------------------


def _write_and_pin(store: _Store, stream: BinaryIO, scan: _Scan, pin_roots: bool) -> int:
    """Write the CAR's blocks and pin its roots; on any failure undo both, then re-raise."""
    written: list[CID] = []
    pinned: list[CID] = []
    try:
        reader = CarReader(stream)  # verifies every hash again: a seekable input may have changed
        if reader.roots != scan.roots:
            raise CarError("the CAR changed between the verifying pass and the writing pass (roots differ)")
        count = 0
        for cid, data in reader:
            count += 1
            if not store.has(cid):
                store.put_block(cid, (data,))
                written.append(cid)
        if count != scan.blocks:
            raise CarError("the CAR changed between the verifying pass and the writing pass (block count differs)")
        if pin_roots:
            for root in scan.roots:
                if not store.is_pinned(root):
                    store.pin_add(root, None)
                    pinned.append(root)
    except BaseException as exc:
        _undo(store, pinned, written, exc)
        raise
    return len(written)


def _undo(store: _Store, pinned: list[CID], written: list[CID], exc: BaseException) -> None:
    """Remove this import's pins, then its new blocks; a failure here is noted, not raised, so
    the original error is the one reported."""
    for cid in pinned:
        try:
            store.pin_rm(cid)
        except Exception as undo_exc:  # noqa: BLE001 - keep undoing, report below
            _note(exc, f"while undoing the import, unpinning {cid} failed: {undo_exc}")
    for cid in reversed(written):
        try:
            store.delete(cid)
        except Exception as undo_exc:  # noqa: BLE001
            _note(exc, f"while undoing the import, deleting {cid} failed: {undo_exc}")


def _note(exc: BaseException, text: str) -> None:
    """Attach ``text`` to the error being raised (``add_note`` on 3.11+) and log it either way."""
    logger.warning("%s", text)
    add_note = getattr(exc, "add_note", None)
    if add_note is not None:
        add_note(text)


# -- reading twice ----------------------------------------------------------------------------------


class _Tee:
    """Copies everything read from ``source`` into ``copy`` (spooling a pipe during pass 1)."""

    def __init__(self, source: BinaryIO, copy: IO[bytes]) -> None:
        self.source = source
        self.copy = copy

    def read(self, n: int = -1) -> bytes:
        data = self.source.read(n)
        if data:
            self.copy.write(data)
        return data


@contextmanager
def _rereadable(
    fileobj: BinaryIO, spool_dir: str | os.PathLike[str] | None
) -> Iterator[tuple[BinaryIO, Callable[[], BinaryIO]]]:
    """``(first, again)``: the stream for pass 1, and a function giving it again from the start
    for pass 2 — by seeking back when ``fileobj`` can seek, else from a copy spooled in pass 1."""
    if _seekable(fileobj):
        start = fileobj.tell()

        def rewind() -> BinaryIO:
            fileobj.seek(start)
            return fileobj

        yield fileobj, rewind
        return
    with tempfile.TemporaryFile(dir=spool_dir) as spool:

        def replay() -> BinaryIO:
            spool.seek(0)
            return spool

        yield _Tee(fileobj, spool), replay  # type: ignore[misc]


def _seekable(fileobj: BinaryIO) -> bool:
    try:
        if not fileobj.seekable():
            return False
        fileobj.tell()
    except (AttributeError, OSError, ValueError):
        return False
    return True
