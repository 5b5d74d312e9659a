"""Files to UnixFS DAGs, byte-for-byte as Kubo's ``ipfs add`` builds them.

Fixed-size chunks become leaves (dag-pb File nodes, or raw blocks with raw leaves); leaves are
grouped ``max_links`` at a time into File nodes, level after level, until one root remains — the
"balanced" layout. A file of one chunk is that leaf itself.

A regular file of more than one buffer is hashed straight from the page cache: it is mapped 16 MiB
at a time (``mmap``), so its bytes are never copied into the process — on a 2-core VM, copying
them out with ``readinto`` cost as much as hashing them. Leaves are independent, so while the
caller hashes the first half of a window's chunks a helper thread hashes the second (``hashlib``
releases the GIL: one file uses both cores), and the previous window's blocks are written to the
sink by another helper. A window is unmapped once its blocks are written, so memory stays bounded
whatever the file's size.

Any other stream (a download, ``io.BytesIO``, a pipe) is read into up to three reused buffers of
whole chunks (1 MiB each) with ``readinto``: while one buffer's chunks hash, the next is read by a
helper and the previous one's blocks are written by another. Without helpers (a small file, or as
many files at once as cores) one buffer is read, hashed and refilled in turn; the other two are
allocated only when a pipeline first needs them. Each leaf is hashed from its pieces with
``update()`` (no concatenation); at most ``max_links`` pending links per tree level are held.

A mapped file must not shrink while it is added: reading a page past its new end ends the process
with SIGBUS (as it does for git and ripgrep, which map files the same way).
"""

from __future__ import annotations

import hashlib
import mmap
import os
import stat
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
import io
from typing import Any, BinaryIO, Iterator, Union

from ..errors import InvalidInputError
from . import dagpb
from .cid import DAG_PB, RAW, CID, make_cid
from .options import ImportOptions
from .sink import BlockSink, NullSink, Pieces
from .unixfs import FILE, SYMLINK, UnixFSData, file_leaf_prefix_suffix


@dataclass(frozen=True, slots=True)
class Node:
    """A finished DAG: its root CID, cumulative DAG size (a link's Tsize) and logical byte size."""

    cid: CID
    tsize: int
    size: int


#: anything with ``readinto`` or ``read``: an open file, ``io.BytesIO``, a verifying download
ByteSource = Union[BinaryIO, io.RawIOBase]


def _read_full(stream: ByteSource, view: memoryview) -> int:
    """Fill ``view`` as far as the stream allows (a short read is not the end of a file)."""
    filled = 0
    total = len(view)
    readinto = getattr(stream, "readinto", None)
    while filled < total:
        if readinto is not None:
            n = readinto(view[filled:])
        else:
            data = stream.read(total - filled)
            n = len(data)
            view[filled : filled + n] = data
        if not n:
            break
        filled += n
    return filled


#: bytes read at a time (whole chunks): one hand-off to the read-ahead thread per 1 MiB, not per
#: chunk — with two files imported at once, per-chunk hand-offs kept both cores waiting on the GIL
_READ_BYTES = 1 << 20
#: bytes mapped at a time from a regular file: fewer, larger maps cost less to set up and tear down
#: (16 MiB: 1,220 MiB/s against 1,090 for 1 MiB windows, sha256 alone); with the window being
#: written and the one hashing, ~32 MiB of the file is mapped (resident in the page cache anyway)
_MAP_BYTES = 16 << 20
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


_importing = 0  # files being imported right now, in every thread
_CORES = os.cpu_count() or 1


def _helpers() -> ThreadPoolExecutor | None:
    """A small shared pool that hashes half of a mapped window, reads the next buffer of a stream
    and writes the previous window's or buffer's blocks while the current one hashes — or None
    when as many files are being imported as there are cores: then every core already hashes,
    and handing work to another thread only adds GIL hand-offs (two files at once reached 1.2-1.3x
    one file's throughput with read-ahead, ~1.9x without)."""
    global _pool
    with _pool_lock:
        if _importing >= _CORES:
            return None
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="hf-ipfs-import")
        return _pool


@contextmanager
def _counted() -> Iterator[None]:
    global _importing
    with _pool_lock:
        _importing += 1
    try:
        yield
    finally:
        with _pool_lock:
            _importing -= 1


class FileImporter:
    """Builds one file's DAG from a stream; reusable for many files (the buffers are kept).

    One instance serves one thread at a time; give each worker thread its own.
    """

    def __init__(self, sink: BlockSink, options: ImportOptions | None = None) -> None:
        self.sink = sink
        self.options = options or ImportOptions()
        size = self.options.chunk_size
        self._buffer_size = size * max(1, _READ_BYTES // size)
        # reading one, hashing one, writing one: a buffer is refilled only once its blocks are written
        self._views: list[memoryview] = []
        self._batch: list[tuple[CID, Pieces]] | None = None  # blocks held for the writer, or None
        # blocks for a real sink are written by a helper while the next buffer hashes; a null sink's
        # puts cost nothing, so handing them off would only add the hand-off
        self._writes_behind = not isinstance(sink, NullSink)

    def add(self, stream: ByteSource) -> Node:
        with _counted():
            return self._add(stream)

    def _view(self, i: int) -> memoryview:
        """Buffer ``i``, allocated when first used: an importer that only ever sees small files (most
        of a repo's) touches one 1 MiB buffer, not three; on VMs that hand freed pages back to the
        host, first touching a page costs more than the copy into it."""
        while len(self._views) <= i:
            self._views.append(memoryview(bytearray(self._buffer_size)))
        return self._views[i]

    def _add(self, stream: ByteSource) -> Node:
        mapped = _mappable(stream, self._buffer_size)
        if mapped is not None:
            return self._add_mapped(stream, *mapped)
        return self._add_read(stream)

    def _add_mapped(self, stream: ByteSource, fd: int, start: int, end: int) -> Node:
        """Hash ``[start, end)`` of a regular file window by window, from its pages in the cache."""
        size = self.options.chunk_size
        window = size * max(1, _MAP_BYTES // size)
        levels: list[list[Node]] = [[]]
        writing: Future[None] | None = None
        try:
            for offset in range(start, end, window):
                length = min(window, end - offset)
                pool = _helpers()  # None once another file keeps the other core busy
                # the last window's blocks are put here: add() returns once they are all written
                behind = pool if self._writes_behind and offset + length < end else None
                writing = self._hash(_map(fd, offset, length), length, levels, behind, writing, pool)
            _finished(writing)
            writing = None
            stream.seek(end)  # where reading the file through would have left it
            return self._finish(levels)
        finally:
            self._batch = None
            if writing is not None:
                wait([writing])

    def _add_read(self, stream: ByteSource) -> Node:
        full = self._buffer_size
        levels: list[list[Node]] = [[]]
        current = 0
        ahead: Future[int] | None = None  # reading the next buffer
        writing: Future[None] | None = None  # writing the previous buffer's blocks, in sink order
        try:
            n = _read_full(stream, self._view(current))
            while True:
                # A full buffer means more may follow: read it into the next buffer meanwhile, and
                # write this one's blocks while the next one hashes. A file of one buffer (most
                # files of a repo) is written here, without a hand-off.
                pool = _helpers() if n == full else None
                # the next buffer's blocks were written before ``writing`` began; inline, this
                # buffer's blocks are hashed and put before it is refilled
                following = (current + 1) % 3 if pool is not None else current
                ahead = pool.submit(_read_full, stream, self._view(following)) if pool is not None else None
                writing = self._hash(self._view(current), n, levels, pool if self._writes_behind else None, writing)
                if n < full:
                    break
                n = ahead.result() if ahead is not None else _read_full(stream, self._view(following))
                ahead = None
                current = following
                if n == 0:
                    break
            _finished(writing)
            writing = None
            return self._finish(levels)
        finally:
            self._batch = None
            # never leave a helper reading into a buffer we may reuse, or a write in flight
            in_flight: list[Future[Any]] = [f for f in (ahead, writing) if f is not None]
            wait(in_flight)

    def _hash(
        self, view: memoryview, n: int, levels: list[list[Node]],
        pool: ThreadPoolExecutor | None, writing: Future[None] | None,
        hashing: ThreadPoolExecutor | None = None,
    ) -> Future[None] | None:
        """Hash the chunks of ``view[:n]`` into leaves; returns the write now in flight, if any.

        With ``pool``, this view's blocks are written by a helper after the previous view's
        (``writing``), while the caller goes on to the next view; without, they are put here, in
        order after the previous view's. With ``hashing``, a helper hashes the second half of the
        chunks while this thread hashes the first (leaves are independent: one file uses both
        cores); the leaves are then made in order from the digests.
        """
        if pool is None:
            _finished(writing)  # puts are made here now: keep the sink's order
            writing = None
        self._batch = [] if pool is not None else None
        size = self.options.chunk_size
        chunks = [view[start : min(start + size, n)] for start in range(0, max(n, 1), size)]  # n == 0: one empty leaf
        for chunk, digest in self._digested(chunks, hashing):
            levels[0].append(self._leaf(chunk, digest))
            self._carry_full(levels)
        if pool is None or self._batch is None:
            return None
        _finished(writing)  # its error (a full disk) surfaces here, not at the pin
        writing = pool.submit(_put_all, self.sink, self._batch)
        self._batch = None
        return writing

    def _put(self, cid: CID, pieces: Pieces) -> None:
        if self._batch is None:
            self.sink.put_block(cid, pieces)
        else:
            self._batch.append((cid, pieces))

    def _digested(self, chunks: list[memoryview], hashing: ThreadPoolExecutor | None) -> Iterator[tuple[memoryview, bytes]]:
        """Each chunk with its leaf's digest, in order; with ``hashing``, the second half is hashed
        by a helper meanwhile (and while this thread makes the first half's leaves)."""
        raw = self.options.raw_leaves
        if hashing is None or len(chunks) < 2:
            yield from zip(chunks, _leaf_digests(chunks, raw))
            return
        half = len(chunks) // 2
        theirs = hashing.submit(_helper_digests, chunks[half:], raw)
        try:
            yield from zip(chunks[:half], _leaf_digests(chunks[:half], raw))
            yield from zip(chunks[half:], theirs.result())
        finally:
            wait([theirs])  # never leave a helper reading a window that is about to be unmapped

    def _leaf(self, chunk: memoryview, digest: bytes) -> Node:
        """The leaf of ``chunk``, whose block hashes to ``digest`` (:func:`_leaf_digests`)."""
        n = len(chunk)
        if self.options.raw_leaves:
            cid = CID.from_digest(digest, RAW, 1)
            self._put(cid, (chunk,))
            return Node(cid, n, n)
        prefix, suffix = file_leaf_prefix_suffix(n)
        cid = make_cid(digest, DAG_PB, self.options.cid_version)
        self._put(cid, (prefix, chunk, suffix))
        return Node(cid, len(prefix) + n + len(suffix), n)

    def _parent(self, children: list[Node]) -> Node:
        size = sum(c.size for c in children)
        data = UnixFSData(FILE, filesize=size, blocksizes=tuple(c.size for c in children)).encode()
        block = dagpb.encode_unnamed([(c.cid, c.tsize) for c in children], data)
        cid = make_cid(hashlib.sha256(block).digest(), DAG_PB, self.options.cid_version)
        self._put(cid, (block,))
        return Node(cid, len(block) + sum(c.tsize for c in children), size)

    def _carry_full(self, levels: list[list[Node]]) -> None:
        """A full level becomes one node a level up, so memory stays bounded."""
        level = 0
        while len(levels[level]) == self.options.max_links:
            if level + 1 == len(levels):
                levels.append([])
            levels[level + 1].append(self._parent(levels[level]))
            levels[level] = []
            level += 1

    def _finish(self, levels: list[list[Node]]) -> Node:
        """Close partial levels bottom-up; the lone node on the top level is the root."""
        i = 0
        while True:
            top = max(j for j, lvl in enumerate(levels) if lvl)
            if i == top and len(levels[i]) == 1:
                return levels[i][0]
            if levels[i]:
                if i + 1 == len(levels):
                    levels.append([])
                levels[i + 1].append(self._parent(levels[i]))
                levels[i] = []
            i += 1


def _mappable(stream: ByteSource, least: int) -> tuple[int, int, int] | None:
    """``(fd, position, size)`` of a regular file with more than ``least`` bytes left to read, or
    None for any other stream (a download, a pipe, ``io.BytesIO``) and for a small file."""
    try:
        fd = stream.fileno()
        st = os.fstat(fd)
    except (AttributeError, OSError, io.UnsupportedOperation):  # no descriptor: not a file
        return None
    if not stat.S_ISREG(st.st_mode) or not stream.seekable():
        return None
    position = stream.tell()
    return (fd, position, st.st_size) if st.st_size - position > least else None


def _map(fd: int, offset: int, length: int) -> memoryview:
    """A read-only view of ``length`` bytes at ``offset``; unmapped when the last view goes."""
    base = offset - offset % mmap.ALLOCATIONGRANULARITY
    try:
        mapping = mmap.mmap(fd, offset + length - base, access=mmap.ACCESS_READ, offset=base)
    except ValueError:  # the file is now shorter than when its size was read
        raise InvalidInputError(f"the file shrank while it was being added (at byte {offset:,})") from None
    return memoryview(mapping)[offset - base :]


def _leaf_digests(chunks: list[memoryview], raw: bool) -> list[bytes]:
    """The sha2-256 of each chunk's leaf block: the chunk itself (raw leaves) or the chunk inside
    its dag-pb/UnixFS wrapping, hashed from the pieces."""
    if raw:
        return [hashlib.sha256(chunk).digest() for chunk in chunks]
    digests = []
    for chunk in chunks:
        prefix, suffix = file_leaf_prefix_suffix(len(chunk))
        h = hashlib.sha256(prefix)
        h.update(chunk)
        h.update(suffix)
        digests.append(h.digest())
    return digests


def _helper_digests(chunks: list[memoryview], raw: bool) -> list[bytes]:
    """:func:`_leaf_digests` on a pool thread, emptying ``chunks`` once done: the pool keeps a
    task's arguments a moment after its future is set, and views in them would keep a window
    mapped after ``add()`` returns."""
    try:
        return _leaf_digests(chunks, raw)
    finally:
        chunks.clear()


def _finished(future: Future[None] | None) -> None:
    """Wait for ``future``; its exception is raised here."""
    if future is not None:
        future.result()


def _put_all(sink: BlockSink, blocks: list[tuple[CID, Pieces]]) -> None:
    """On a pool thread; ``blocks`` is emptied once done (see :func:`_helper_digests`)."""
    try:
        for cid, pieces in blocks:
            sink.put_block(cid, pieces)
    finally:
        blocks.clear()


def symlink_node(sink: BlockSink, options: ImportOptions, target: str) -> Node:
    """A UnixFS symlink (``ipfs add`` stores links inside a tree as links, never following them)."""
    block = dagpb.encode([], UnixFSData(SYMLINK, data=target.encode("utf-8")).encode())
    cid = make_cid(hashlib.sha256(block).digest(), DAG_PB, options.cid_version)
    sink.put_block(cid, (block,))
    return Node(cid, len(block), 0)
