"""The embedded block store: Kubo's flatfs layout on disk, pins and counters in SQLite.

Layout of a store directory::

    store.json                marker: {"kind": "hf-ipfs-scraper-blockstore", "version": 1}
    store.lock                flock'ed by the one writer process, which writes its PID into it
    pins.sqlite               named recursive pins and the logical-bytes counter (WAL mode)
    blocks/SHARDING           flatfs' shard function, as Kubo writes it
    blocks/<XX>/<KEY>.data    one file per block

KEY is the block's multihash in RFC 4648 base32, upper case, unpadded (Kubo's
``dshelp.MultihashToDsKey``); XX is flatfs ``next-to-last/2``, the two characters before KEY's last.
Keying on the multihash and not the CID makes the CIDv0 and the CIDv1 of the same bytes one block.

Concurrency: one writer process (the lock) with any number of threads, plus any number of read-only
processes. A block file appears whole or not at all (a temp file in its shard directory, then
``os.replace``). ``gc()`` deletes what no pin reaches, so an adder holds :meth:`BlockStore.gc_guard`
from its first block until its pin is recorded.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import json
import os
import secrets
import sqlite3
import threading
import time
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from ..errors import (
    BlockNotFoundError,
    CodecError,
    InvalidInputError,
    NotAStoreError,
    ReadOnlyStoreError,
    StoreError,
)
from ..ipfs import ipld, varint
from ..ipfs.cid import DAG_PB, HASHERS, IDENTITY, RAW, CID, make_cid
from ..ipfs.sink import Pieces
from ._durable import (
    SharedExclusiveLock,
    file_size,
    fsync_dir,
    fsync_file,
    start_writeback,
    syncfs,
    take_lock,
    unlink,
)

_MARKER = {"kind": "hf-ipfs-scraper-blockstore", "version": 1}
_SHARDING = "/repo/flatfs/shard/v1/next-to-last/2\n"
_IOV_MAX = 1024  # Linux's limit on the pieces of one writev
_TMP_SUFFIX = ".tmp"  # temp files are ".<KEY>.<random>.tmp": the leading dot hides them from scans
_STALE_TMP_SECONDS = 60.0
_READ_CHUNK = 1 << 20
_SCHEMA = """
CREATE TABLE IF NOT EXISTS pins (cid TEXT PRIMARY KEY, name TEXT, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('logical_bytes_added', 0);
"""


@dataclass(frozen=True, slots=True)
class Pin:
    """A named recursive pin: the whole DAG under ``cid`` survives gc."""

    cid: CID
    name: str | None
    created: float


@dataclass(frozen=True, slots=True)
class GcResult:
    """What gc freed: ``removed`` counts blocks; ``freed_bytes`` also counts stale temp files."""

    removed: int
    freed_bytes: int


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """``corrupt``: blocks whose bytes do not hash to their key (CIDv1 text, or the key when no pin
    names the block); ``missing``: blocks that pinned DAGs link to but the store lacks."""

    checked: int
    corrupt: list[str]
    missing: list[CID]

    @property
    def ok(self) -> bool:
        return not self.corrupt and not self.missing


@dataclass(frozen=True, slots=True)
class RepoStat:
    blocks: int
    bytes_stored: int
    logical_bytes_added: int
    pins: int

    @property
    def dedup_ratio(self) -> float:
        """Bytes handed to ``add`` per byte on disk (duplicates included); 1.0 for an empty store."""
        return self.logical_bytes_added / self.bytes_stored if self.bytes_stored else 1.0


class BlockStore:
    """Blocks on disk in Kubo's flatfs layout, named recursive pins, mark-and-sweep gc.

    A :class:`~hf_ipfs_scraper.ipfs.sink.BlockSink`, safe to share between the threads of one
    process. With ``fsync=True`` a pin is a durability point: before a pin is recorded, every block
    written since the last one is flushed to disk with one ``syncfs(2)`` (or, where that is missing,
    an fsync of each written file and its folder). Two fsyncs per block — what flatfs does — made a
    1 GiB add 2-3x slower here for the same guarantee on what matters: pinned content. Each block's
    writeback is started (not waited for) as it is written, so the disk works while the next blocks
    hash and that sync finds little left to do. A block written but not yet pinned may be lost in a
    power cut; nothing refers to it then.
    ``fsync=False`` is for stores you can rebuild.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, create: bool = True, readonly: bool = False, fsync: bool = True
    ) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self.fsync = fsync
        self._blocks = self.path / "blocks"
        self._blocks_dir = str(self._blocks)
        self._shards: set[str] = set()  # shard folders known to exist (none is ever removed)
        self._lock_fd: int | None = None
        self._db: sqlite3.Connection | None = None
        self._db_lock = threading.Lock()
        self._guard = SharedExclusiveLock()
        self._unsynced: set[str] = set()  # files and shard folders written since the last sync
        self._unsynced_lock = threading.Lock()
        self._closed = False
        self._open_or_create(create and not readonly)
        try:
            if not readonly:
                self._lock_fd = take_lock(self.path)
                self._blocks.mkdir(exist_ok=True)
                if not (self._blocks / "SHARDING").exists():
                    (self._blocks / "SHARDING").write_text(_SHARDING, encoding="ascii")
            self._db = self._connect()
        except BaseException:
            self.close()
            raise

    # -- lifecycle -----------------------------------------------------------------------------
    def _open_or_create(self, create: bool) -> None:
        path = self.path
        if (path / "store.json").is_file():
            _check_marker(path)
        elif path.exists() and not path.is_dir():
            raise NotAStoreError(f"{path} is a file, not a block store")
        elif path.is_dir() and any(path.iterdir()):
            raise NotAStoreError(f"{path} is a non-empty directory without store.json, not a block store")
        elif not create:
            raise NotAStoreError(f"there is no block store at {path}")
        else:
            _write_marker(path, self.fsync)

    def _connect(self) -> sqlite3.Connection:
        db_path = self.path / "pins.sqlite"
        db: sqlite3.Connection | None = None
        try:
            if self.readonly:  # a read-only connection never writes, so it needs no lock
                uri = db_path.absolute().as_uri() + "?mode=ro"
                return sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
            db = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")  # a pin acknowledged is a pin kept
            db.executescript(_SCHEMA)
            return db
        except sqlite3.Error as exc:
            if db is not None:
                db.close()
            raise StoreError(f"cannot open the pin database {db_path}: {exc}") from exc

    def sync(self) -> None:
        """Make every block written so far durable (called before each pin is recorded)."""
        with self._unsynced_lock:
            pending, self._unsynced = self._unsynced, set()
        if not pending or not self.fsync:
            return
        if syncfs(self._blocks):
            return
        for path in sorted(pending, key=len, reverse=True):  # files first, then their folders
            if os.path.isdir(path):
                fsync_dir(path)
            elif os.path.exists(path):
                fsync_file(path)

    def close(self) -> None:
        """Flush unsynced blocks, release the write lock and the pin database; twice is fine."""
        if not self._closed and not self.readonly:
            self.sync()
        self._closed = True
        with self._db_lock:
            if self._db is not None:
                self._db.close()
                self._db = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases the flock
            self._lock_fd = None

    def __enter__(self) -> BlockStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"BlockStore({str(self.path)!r}, readonly={self.readonly})"

    # -- blocks --------------------------------------------------------------------------------
    def has(self, cid: CID) -> bool:
        return _inline(cid) is not None or os.path.exists(self._file(cid.multihash))

    def get(self, cid: CID) -> bytes:
        """The block's bytes; :class:`BlockNotFoundError` if the store lacks it."""
        inline = _inline(cid)
        if inline is not None:
            return inline
        try:
            with open(self._file(cid.multihash), "rb") as f:
                return f.read()
        except FileNotFoundError:
            raise self._not_found(cid) from None

    def put_block(self, cid: CID, pieces: Pieces) -> None:
        """Store the concatenation of ``pieces`` under ``cid`` unless the block is already here.

        The caller hashed the pieces, so they are written as given: never re-hashed, never joined.
        """
        self._check_writable()
        if _inline(cid) is not None:
            return  # an identity CID carries its block; Kubo does not store those either
        if cid.hash_code not in HASHERS:
            raise InvalidInputError(f"cannot store {cid}: its multihash ({cid.hash_code:#x}) is not one this store "
                                    "can verify (sha2-256, sha2-512, blake2b-256, blake3)")
        key, shard, final = self._place(cid.multihash)
        if os.path.exists(final):
            return
        if shard not in self._shards:
            self._make_shard(shard)
        tmp = os.path.join(shard, f".{key}.{secrets.token_hex(6)}{_TMP_SUFFIX}")
        try:
            # one writev for a leaf's three pieces, where a buffered file made three writes and a flush
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the mode open("xb") gives
            try:
                _write_all(fd, pieces)
                if self.fsync:
                    start_writeback(fd)  # so the sync before the pin has little left to do
            finally:
                os.close(fd)
            os.replace(tmp, final)
        except BaseException:
            unlink(tmp)
            raise
        if self.fsync:
            with self._unsynced_lock:
                self._unsynced.update((final, shard))  # made durable by sync() before the next pin

    def put(self, data: bytes, codec: int = DAG_PB, version: int = 1) -> CID:
        """Hash ``data`` with sha2-256, store it, return its CID (raw blocks are always CIDv1)."""
        cid = make_cid(hashlib.sha256(data).digest(), codec, version)
        self.put_block(cid, (data,))
        return cid

    def delete(self, cid: CID) -> bool:
        """Remove one block; True if it was here. Pins are not consulted: ``gc()`` is the safe way."""
        self._check_writable()
        if _inline(cid) is not None:
            return False
        return unlink(self._file(cid.multihash))

    def iter_multihashes(self) -> Iterator[bytes]:
        """The multihash of every stored block, shard by shard."""
        for multihash, _path in self._scan():
            yield multihash

    # -- DAGs ----------------------------------------------------------------------------------
    def links(self, cid: CID) -> list[CID]:
        """The CIDs a block links to, in link order: dag-pb, dag-cbor and dag-json links (see
        :mod:`..ipfs.ipld`); none for raw blocks; :class:`CodecError` for other codecs.

        A dag-pb block whose first field is Data has no links (canonical dag-pb puts Links first),
        so a leaf is recognised from one byte instead of being read whole; such a leaf is not
        decoded, so a malformed data section goes unnoticed here (``verify()`` catches it).
        """
        ipld.check_followed(cid)
        if cid.codec == RAW:
            if not self.has(cid):
                raise self._not_found(cid)
            return []
        if cid.codec != DAG_PB:  # dag-cbor, dag-json: decoded whole
            return ipld.links_of(cid, self.get(cid))
        block = _inline(cid)
        if block is None:
            try:
                with open(self._file(cid.multihash), "rb") as f:
                    if f.read(1) in (b"", b"\x0a"):
                        return []
                    f.seek(0)
                    block = f.read()
            except FileNotFoundError:
                raise self._not_found(cid) from None
        return ipld.links_of(cid, block)

    def walk(self, root: CID) -> Iterator[CID]:
        """Every CID of the DAG under ``root``, depth-first pre-order, each once, root first,
        children in link order: the order ``ipfs dag export`` writes blocks in.

        A missing block raises :class:`BlockNotFoundError` when the walk reaches it.
        """
        return self._walk([root], set())

    def _walk(self, roots: Iterable[CID], seen: set[CID]) -> Iterator[CID]:
        stack = list(roots)[::-1]
        while stack:
            cid = stack.pop()
            if cid in seen:
                continue
            seen.add(cid)
            children = self.links(cid)  # raises for a missing block before it is yielded
            yield cid
            stack.extend(reversed(children))

    # -- pins ----------------------------------------------------------------------------------
    def pin_add(self, cid: CID, name: str | None = None) -> None:
        """Pin the DAG under ``cid`` recursively; re-pinning renames the pin.

        The whole DAG must be present: otherwise :class:`BlockNotFoundError` names the first
        missing block and nothing is pinned. Holds ``gc_guard()`` so gc cannot slip in between
        the check and the pin.
        """
        self._check_writable()
        with self.gc_guard():
            for _ in self.walk(cid):
                pass
            self.sync()
            with self._connection() as db:
                db.execute(
                    "INSERT INTO pins (cid, name, created) VALUES (?, ?, ?)"
                    " ON CONFLICT(cid) DO UPDATE SET name = excluded.name",
                    (str(cid), name, time.time()),
                )

    def pin_rm(self, cid: CID) -> None:
        """Unpin ``cid`` (its blocks stay until the next gc)."""
        self._check_writable()
        with self._connection() as db:
            removed = db.execute("DELETE FROM pins WHERE cid = ?", (str(cid),)).rowcount
        if not removed:
            raise InvalidInputError(f"{cid} is not pinned")

    def pins(self) -> list[Pin]:
        """Every pin, oldest first. CIDs keep the version they were pinned with."""
        with self._connection() as db:
            rows = db.execute("SELECT cid, name, created FROM pins ORDER BY created, cid").fetchall()
        return [Pin(CID.parse(text), name, created) for text, name, created in rows]

    def is_pinned(self, cid: CID) -> bool:
        with self._connection() as db:
            return db.execute("SELECT 1 FROM pins WHERE cid = ?", (str(cid),)).fetchone() is not None

    # -- maintenance ---------------------------------------------------------------------------
    def gc_guard(self) -> AbstractContextManager[None]:
        """Hold while adding (shared with other adds): from the first block written until the
        pin is recorded, ``gc()`` waits, so it never deletes a DAG that is about to be pinned."""
        return self._guard.shared()

    def gc(self) -> GcResult:
        """Delete every block no pin reaches, and temp files older than a minute (crash leftovers).

        If a pinned DAG is missing a block (:class:`BlockNotFoundError`) or has one that does not
        decode (:class:`CodecError`), nothing is deleted: the children of that block cannot be told
        apart from garbage.
        """
        self._check_writable()
        with self._guard.exclusive():
            reachable = {cid.multihash for cid in self._walk([p.cid for p in self.pins()], set())}
            removed = freed = 0
            for multihash, path in self._scan():
                if multihash not in reachable:
                    size = file_size(path)
                    if unlink(path):
                        removed += 1
                        freed += size
            freed += self._remove_stale_temps()
        return GcResult(removed, freed)

    def verify(self) -> VerifyReport:
        """Re-hash every block file and walk every pinned DAG (holds ``gc_guard()`` meanwhile)."""
        with self.gc_guard():
            checked = 0
            corrupt: set[bytes] = set()
            for multihash, path in self._scan():
                try:
                    intact = _file_matches(path, multihash)
                except FileNotFoundError:
                    continue  # deleted while we looked
                checked += 1
                if not intact:
                    corrupt.add(multihash)
            missing, names = self._check_pinned(corrupt)
        return VerifyReport(checked, sorted(names.get(mh, _key(mh)) for mh in corrupt), missing)

    def _check_pinned(self, corrupt: set[bytes]) -> tuple[list[CID], dict[bytes, str]]:
        """Walk the pinned DAGs without trusting corrupt blocks: (missing CIDs, corrupt CID texts).

        A block that hashes right but does not decode as dag-pb is added to ``corrupt``.
        """
        missing: list[CID] = []
        names: dict[bytes, str] = {}
        seen: set[CID] = set()
        stack = [pin.cid for pin in reversed(self.pins())]
        while stack:
            cid = stack.pop()
            if cid in seen:
                continue
            seen.add(cid)
            if cid.multihash in corrupt:
                names[cid.multihash] = str(cid.to_v1())
                continue
            try:
                children = self.links(cid)
            except BlockNotFoundError:
                missing.append(cid)
                continue
            except CodecError:
                corrupt.add(cid.multihash)
                names[cid.multihash] = str(cid.to_v1())
                continue
            stack.extend(reversed(children))
        return missing, names

    def record_logical_bytes(self, n: int) -> None:
        """Count ``n`` bytes handed to an add, duplicates included, so ``stat()`` shows dedup."""
        self._check_writable()
        if n < 0:
            raise InvalidInputError(f"logical bytes must be non-negative, got {n}")
        with self._connection() as db:
            db.execute("UPDATE meta SET value = value + ? WHERE key = 'logical_bytes_added'", (n,))

    def stat(self) -> RepoStat:
        blocks = stored = 0
        for _multihash, path in self._scan():
            stored += file_size(path)
            blocks += 1
        with self._connection() as db:
            (pins,) = db.execute("SELECT count(*) FROM pins").fetchone()
            row = db.execute("SELECT value FROM meta WHERE key = 'logical_bytes_added'").fetchone()
        return RepoStat(blocks, stored, row[0] if row else 0, pins)

    # -- helpers -------------------------------------------------------------------------------
    def _place(self, multihash: bytes) -> tuple[str, str, str]:
        """The block's key, its shard folder and its file (flatfs next-to-last/2)."""
        key = _key(multihash)
        shard = os.path.join(self._blocks_dir, key[-3:-1])
        return key, shard, os.path.join(shard, key + ".data")

    def _file(self, multihash: bytes) -> str:
        return self._place(multihash)[2]

    def _make_shard(self, shard: str) -> None:
        try:
            os.mkdir(shard)
        except FileExistsError:
            pass
        else:
            if self.fsync:
                with self._unsynced_lock:
                    self._unsynced.add(self._blocks_dir)  # the new folder's entry, synced with its blocks
        self._shards.add(shard)  # after its entry is queued for the sync, so no writer skips that

    def _names(self) -> Iterator[tuple[str, str]]:
        """(name, path) of every file in every shard directory, shard by shard."""
        try:
            with os.scandir(self._blocks) as entries:
                shards = sorted(e.path for e in entries if e.is_dir() and not e.name.startswith("."))
        except FileNotFoundError:
            return
        for shard in shards:
            for name in sorted(os.listdir(shard)):
                yield name, os.path.join(shard, name)

    def _scan(self) -> Iterator[tuple[bytes, str]]:
        """Every block file as (multihash, path); temp files and foreign names are skipped."""
        for name, path in self._names():
            if name.endswith(".data") and not name.startswith("."):
                multihash = _multihash(name[: -len(".data")])
                if multihash is not None:
                    yield multihash, path

    def _remove_stale_temps(self) -> int:
        """Delete temp files a crashed writer left behind; return the bytes freed.

        A live write of a block (at most about 1 MiB) never takes a minute, so older temp files
        are orphans.
        """
        cutoff = time.time() - _STALE_TMP_SECONDS
        freed = 0
        for name, path in self._names():
            if name.startswith(".") and name.endswith(_TMP_SUFFIX):
                try:
                    info = os.stat(path)
                except FileNotFoundError:
                    continue
                if info.st_mtime < cutoff and unlink(path):
                    freed += info.st_size
        return freed

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """The one SQLite connection, for one thread at a time; its errors become StoreError."""
        with self._db_lock:
            if self._db is None:
                raise StoreError(f"store {self.path} is closed")
            try:
                yield self._db
            except sqlite3.Error as exc:
                raise StoreError(f"pin database of store {self.path}: {exc}") from exc

    def _check_writable(self) -> None:
        if self.readonly:
            raise ReadOnlyStoreError(f"store {self.path} is open read-only")
        if self._closed:
            raise StoreError(f"store {self.path} is closed")

    def _not_found(self, cid: CID) -> BlockNotFoundError:
        return BlockNotFoundError(f"block {cid} not found in store {self.path}")


def _write_all(fd: int, pieces: Pieces) -> None:
    """Write ``pieces`` in order with as few ``writev`` calls as the kernel allows (a short write
    resumes where it stopped)."""
    views = [memoryview(p).cast("B") for p in pieces]
    while views:
        n = os.writev(fd, views[:_IOV_MAX])
        if n == 0 and views[0].nbytes:  # a regular file never does this; never spin on it
            raise OSError(errno.EIO, "writev wrote nothing")
        while views and n >= views[0].nbytes:
            n -= views[0].nbytes
            views.pop(0)
        if n:
            views[0] = views[0][n:]


def _key(multihash: bytes) -> str:
    return base64.b32encode(multihash).decode("ascii").rstrip("=")


def _multihash(key: str) -> bytes | None:
    """The multihash a file name encodes, or None if it is not a key we would have written."""
    try:
        multihash = base64.b32decode(key + "=" * (-len(key) % 8))
    except ValueError:
        return None
    return multihash if _key(multihash) == key else None


def _inline(cid: CID) -> bytes | None:
    """The block inside an identity CID, or None for a hashed one."""
    return cid.digest if cid.hash_code == IDENTITY else None


def _file_matches(path: str, multihash: bytes) -> bool:
    """Stream the file through the multihash's function and compare with the digest its name promises."""
    try:
        code, pos = varint.decode(multihash, 0)
        length, pos = varint.decode(multihash, pos)
    except CodecError:
        return False
    make = HASHERS.get(code)
    if make is None or len(multihash) - pos != length:
        return False
    digest = make(b"")
    with open(path, "rb") as f:
        while chunk := f.read(_READ_CHUNK):
            digest.update(chunk)
    return bool(digest.digest() == multihash[pos:])


def _check_marker(path: Path) -> None:
    try:
        marker = json.loads((path / "store.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NotAStoreError(f"{path} has an unreadable store.json, so it is not a block store") from exc
    if not isinstance(marker, dict) or any(marker.get(k) != v for k, v in _MARKER.items()):
        raise NotAStoreError(
            f"{path}/store.json does not describe a {_MARKER['kind']} version {_MARKER['version']} store"
        )


def _write_marker(path: Path, fsync: bool) -> None:
    """Create the store directory and its marker, atomically, so a crash leaves no half marker."""
    path.mkdir(parents=True, exist_ok=True)
    tmp = path / f".store.json.{secrets.token_hex(6)}{_TMP_SUFFIX}"
    with open(tmp, "x", encoding="utf-8") as f:
        f.write(json.dumps(_MARKER) + "\n")
        if fsync:
            f.flush()
            os.fsync(f.fileno())
    os.replace(tmp, path / "store.json")
    if fsync:
        fsync_dir(path)
