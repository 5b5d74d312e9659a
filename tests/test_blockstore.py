"""The embedded block store: layout, atomic concurrent writes, the process lock, pins, gc, verify."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import subprocess
import sys
import threading
import time
import re
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from hf_ipfs_scraper.errors import (
    BlockNotFoundError,
    CodecError,
    InvalidInputError,
    NotAStoreError,
    ReadOnlyStoreError,
    StoreError,
    StoreLockedError,
)
from hf_ipfs_scraper.ipfs import dagpb
from hf_ipfs_scraper.ipfs.cid import DAG_PB, RAW, CID
from hf_ipfs_scraper.ipfs.importer import FileImporter, Node
from hf_ipfs_scraper.ipfs.options import ImportOptions
from hf_ipfs_scraper.storage.blockstore import BlockStore, GcResult, Pin

EMPTY_DIR_BLOCK = b"\x0a\x02\x08\x01"  # the empty UnixFS directory every Kubo repo holds


@pytest.fixture
def store(tmp_path: Path) -> Iterator[BlockStore]:
    s = BlockStore(tmp_path / "store", fsync=False)
    yield s
    s.close()


def add_file(store: BlockStore, data: bytes, **options: Any) -> Node:
    return FileImporter(store, ImportOptions(chunk_size=1024, **options)).add(io.BytesIO(data))


def data_files(store: BlockStore) -> list[Path]:
    return sorted((store.path / "blocks").glob("*/*.data"))


def block_file(store: BlockStore, cid: CID) -> Path:
    [match] = (store.path / "blocks").glob(f"*/{_key(cid)}.data")
    return match


def _key(cid: CID) -> str:
    return base64.b32encode(cid.multihash).decode().rstrip("=")


def preorder(store: BlockStore, root: CID) -> list[CID]:
    """Reference walk: recursive, decoding every block, first visit wins."""
    out: list[CID] = []

    def visit(cid: CID) -> None:
        if cid in out:
            return
        out.append(cid)
        if cid.codec == DAG_PB:
            for link in dagpb.decode(store.get(cid)).links:
                visit(link.cid)

    visit(root)
    return out


# -- blocks ----------------------------------------------------------------------------------------
def test_put_get_has_delete_round_trip(tmp_path: Path) -> None:
    with BlockStore(tmp_path / "s") as store:  # default fsync=True path
        cid = store.put(b"hello block", RAW)
        assert cid == CID.hash_block(b"hello block", RAW, 1)
        assert store.has(cid)
        assert store.get(cid) == b"hello block"
        assert list(store.iter_multihashes()) == [cid.multihash]
        assert store.delete(cid) is True
        assert not store.has(cid)
        assert store.delete(cid) is False
        with pytest.raises(BlockNotFoundError):
            store.get(cid)


def test_layout_is_kubo_flatfs(store: BlockStore) -> None:
    cid = store.put(EMPTY_DIR_BLOCK, version=0)
    assert str(cid) == "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
    expected = store.path / "blocks" / "X3" / "CIQFTFEEHEDF6KLBT32BFAGLXEZL4UWFNWM4LFTLMXQBCERZ6CMLX3Y.data"
    assert data_files(store) == [expected]
    assert expected.read_bytes() == EMPTY_DIR_BLOCK
    marker = json.loads((store.path / "store.json").read_text())
    assert marker == {"kind": "hf-ipfs-scraper-blockstore", "version": 1}
    assert (store.path / "blocks" / "SHARDING").read_text() == "/repo/flatfs/shard/v1/next-to-last/2\n"


def test_unknown_cid_message(store: BlockStore) -> None:
    cid = CID.hash_block(b"never stored")
    with pytest.raises(BlockNotFoundError) as info:
        store.get(cid)
    assert str(info.value) == f"block {cid} not found in store {store.path}"
    assert isinstance(info.value, KeyError)
    assert not store.has(cid)


def test_cidv0_and_cidv1_share_one_block(store: BlockStore) -> None:
    v0 = store.put(EMPTY_DIR_BLOCK, version=0)
    v1 = store.put(EMPTY_DIR_BLOCK, version=1)
    raw = CID(1, RAW, v0.multihash)
    assert v0 != v1 and v0.multihash == v1.multihash
    assert store.has(v1) and store.has(raw)
    assert store.get(v1) == store.get(raw) == EMPTY_DIR_BLOCK
    assert len(data_files(store)) == 1


def test_put_block_writes_mixed_pieces(store: BlockStore) -> None:
    data = b"abcdef"
    cid = CID.hash_block(data, RAW)
    store.put_block(cid, (b"ab", bytearray(b"cd"), memoryview(b"xefx")[1:3]))
    assert store.get(cid) == data


def test_existing_block_is_not_rewritten(store: BlockStore) -> None:
    cid = store.put(b"once", RAW)
    before = os.stat(block_file(store, cid))
    store.put_block(cid, (b"once",))
    after = os.stat(block_file(store, cid))
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_identity_cid_is_inline_and_never_stored(store: BlockStore) -> None:
    cid = CID(1, RAW, b"\x00\x05hello")
    store.put_block(cid, (b"hello",))
    assert store.has(cid) and store.get(cid) == b"hello"
    assert data_files(store) == []


def test_put_block_refuses_hashes_it_cannot_verify(store: BlockStore) -> None:
    sha3 = CID(1, RAW, b"\x16\x20" + bytes(32))  # sha3-256: neither this store nor Kubo verifies it
    with pytest.raises(InvalidInputError, match="is not one this store can verify"):
        store.put_block(sha3, (b"x",))


def test_scan_skips_temp_and_foreign_files(store: BlockStore) -> None:
    cid = store.put(b"real", RAW)
    shard = block_file(store, cid).parent
    (shard / f".{_key(cid)}.abc.tmp").write_bytes(b"re")
    (shard / "notes.txt").write_text("x")
    assert list(store.iter_multihashes()) == [cid.multihash]


# -- concurrency -----------------------------------------------------------------------------------
def test_eight_threads_same_and_different_blocks(store: BlockStore) -> None:
    shared = [os.urandom(4096) for _ in range(20)]
    own = [[os.urandom(4096) for _ in range(20)] for _ in range(8)]
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def writer(i: int) -> None:
        try:
            start.wait()
            for a, b in zip(shared, own[i]):
                store.put(a, RAW)
                store.put(b, RAW)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    everything = shared + [b for blocks in own for b in blocks]
    for data in everything:
        assert store.get(CID.hash_block(data, RAW)) == data
    assert len(data_files(store)) == len(everything) == 180
    assert list((store.path / "blocks").glob("*/.*")) == []  # no temp file left behind


def test_no_partial_block_is_ever_visible(store: BlockStore) -> None:
    size = 256 * 1024
    stop = threading.Event()
    seen: set[str] = set()
    short: list[tuple[str, int]] = []

    def watcher() -> None:
        while not stop.is_set():
            for path in data_files(store):
                seen.add(path.name)
                length = path.stat().st_size
                if length != size:
                    short.append((path.name, length))

    def writer() -> None:
        for _ in range(40):
            chunk = os.urandom(size)
            pieces = [memoryview(chunk)[i : i + 4096] for i in range(0, size, 4096)]  # many writes
            store.put_block(CID.hash_block(chunk, RAW), pieces)

    watch = threading.Thread(target=watcher)
    writers = [threading.Thread(target=writer) for _ in range(4)]
    watch.start()
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    watch.join()
    assert short == []
    assert len(seen) > 0
    assert len(data_files(store)) == 160


_TRY_OPEN = """
import sys
from hf_ipfs_scraper.errors import StoreLockedError
from hf_ipfs_scraper.storage.blockstore import BlockStore
try:
    BlockStore(sys.argv[1], fsync=False).close()
except StoreLockedError as exc:
    print("locked:", exc)
else:
    print("opened")
"""

_READ_ONLY = """
import sys
from hf_ipfs_scraper.ipfs.cid import CID
from hf_ipfs_scraper.storage.blockstore import BlockStore
with BlockStore(sys.argv[1], readonly=True) as store:
    print(store.get(CID.parse(sys.argv[2])).decode(), [p.name for p in store.pins()])
"""


def _python(script: str, *args: str) -> str:
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_second_writer_process_is_refused_and_readers_are_not(tmp_path: Path) -> None:
    path = tmp_path / "s"
    with BlockStore(path, fsync=False) as store:
        cid = store.put(b"shared", RAW)
        store.pin_add(cid, "p")
        out = _python(_TRY_OPEN, str(path))
        assert out.startswith("locked:")
        assert str(path) in out and f"pid {os.getpid()}" in out
        assert _python(_READ_ONLY, str(path), str(cid)) == "shared ['p']"
    assert _python(_TRY_OPEN, str(path)) == "opened"  # close() released the lock


def test_second_writer_in_same_process_is_refused(tmp_path: Path) -> None:
    with BlockStore(tmp_path / "s", fsync=False):
        with pytest.raises(StoreLockedError, match=str(os.getpid())):
            BlockStore(tmp_path / "s")
        with BlockStore(tmp_path / "s", readonly=True) as reader:
            assert reader.pins() == []


def test_close_twice_and_writes_after_close(tmp_path: Path) -> None:
    store = BlockStore(tmp_path / "s", fsync=False)
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.put(b"late")
    with pytest.raises(StoreError, match="closed"):
        store.pins()
    BlockStore(tmp_path / "s").close()  # the lock is free again


# -- opening ---------------------------------------------------------------------------------------
def _regular_file(p: Path) -> None:
    p.write_text("not a store")


def _foreign_dir(p: Path) -> None:
    p.mkdir()
    (p / "photo.jpg").write_bytes(b"\xff\xd8")


def _marker(content: str) -> Callable[[Path], None]:
    def make(p: Path) -> None:
        p.mkdir()
        (p / "store.json").write_text(content)

    return make


@pytest.mark.parametrize(
    "make",
    [
        _regular_file,
        _foreign_dir,
        _marker('{"kind": "something-else", "version": 1}'),
        _marker('{"kind": "hf-ipfs-scraper-blockstore", "version": 2}'),
        _marker("not json"),
        _marker("[1, 2]"),
    ],
    ids=["file", "foreign-dir", "wrong-kind", "wrong-version", "bad-json", "not-an-object"],
)
def test_not_a_store(tmp_path: Path, make: Callable[[Path], None]) -> None:
    path = tmp_path / "x"
    make(path)
    for kwargs in ({}, {"readonly": True}, {"create": False}):
        with pytest.raises(NotAStoreError) as info:
            BlockStore(path, **kwargs)
        assert str(path) in str(info.value)
    assert not (path / "store.lock").exists()


@pytest.mark.parametrize("kwargs", [{"create": False}, {"readonly": True}])
@pytest.mark.parametrize("exists", [False, True], ids=["missing", "empty-dir"])
def test_no_store_is_created_unless_asked(tmp_path: Path, kwargs: dict[str, bool], exists: bool) -> None:
    path = tmp_path / "s"
    if exists:
        path.mkdir()
    with pytest.raises(NotAStoreError, match=re.escape(str(path))):
        BlockStore(path, **kwargs)
    assert (list(path.iterdir()) == []) if exists else not path.exists()


def test_empty_directory_becomes_a_store_and_reopens(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    with BlockStore(tmp_path / "s", fsync=False) as store:
        cid = store.put(b"kept")
    with BlockStore(tmp_path / "s", create=False) as store:
        assert store.get(cid) == b"kept"


def test_readonly_store_refuses_every_write(store: BlockStore) -> None:
    cid = store.put(b"x", RAW)
    store.pin_add(cid)
    with BlockStore(store.path, readonly=True) as reader:
        assert reader.get(cid) == b"x" and reader.is_pinned(cid)
        writes = [
            lambda: reader.put(b"y"),
            lambda: reader.put_block(cid, (b"x",)),
            lambda: reader.delete(cid),
            lambda: reader.pin_add(cid),
            lambda: reader.pin_rm(cid),
            lambda: reader.gc(),
            lambda: reader.record_logical_bytes(1),
        ]
        for write in writes:
            with pytest.raises(ReadOnlyStoreError, match=re.escape(str(store.path))):
                write()
    assert store.has(cid) and store.is_pinned(cid)


# -- DAGs ------------------------------------------------------------------------------------------
def test_walk_is_preorder_root_first(store: BlockStore) -> None:
    node = add_file(store, os.urandom(300_000), max_links=8)  # 293 leaves, four levels
    walked = list(store.walk(node.cid))
    assert walked[0] == node.cid
    assert walked == preorder(store, node.cid)
    assert len(walked) == len(set(walked)) == len(data_files(store))


def test_walk_visits_a_repeated_block_once(store: BlockStore) -> None:
    node = add_file(store, b"A" * 1024 * 10, raw_leaves=True)
    walked = list(store.walk(node.cid))
    leaf = CID.hash_block(b"A" * 1024, RAW)
    assert walked == [node.cid, leaf]
    assert len(dagpb.decode(store.get(node.cid)).links) == 10


def test_walk_raises_on_missing_block(store: BlockStore) -> None:
    node = add_file(store, os.urandom(5000), raw_leaves=True)
    leaves = store.links(node.cid)
    assert len(leaves) == 5 and all(c.codec == RAW for c in leaves)
    assert store.links(leaves[0]) == []
    store.delete(leaves[2])
    with pytest.raises(BlockNotFoundError, match=str(leaves[2])):
        list(store.walk(node.cid))


def test_links_refuses_unknown_codec(store: BlockStore) -> None:
    with pytest.raises(CodecError, match="codec 0x78 is not one this store reads"):  # git-raw
        store.links(CID(1, 0x78, CID.hash_block(b"x").multihash))


# -- pins and gc -----------------------------------------------------------------------------------
def test_pins_keep_version_and_name(store: BlockStore) -> None:
    node = add_file(store, os.urandom(3000))
    assert node.cid.version == 0
    store.pin_add(node.cid, "first")
    store.pin_add(node.cid, "renamed")
    [pin] = store.pins()
    assert isinstance(pin, Pin)
    assert (pin.cid, pin.name) == (node.cid, "renamed")
    assert str(pin.cid).startswith("Qm")
    assert abs(pin.created - time.time()) < 60
    assert store.is_pinned(node.cid) and not store.is_pinned(node.cid.to_v1())
    store.pin_rm(node.cid)
    assert store.pins() == [] and not store.is_pinned(node.cid)
    with pytest.raises(InvalidInputError) as info:
        store.pin_rm(node.cid)
    assert str(info.value) == f"{node.cid} is not pinned"


def test_pin_add_requires_the_whole_dag(store: BlockStore) -> None:
    node = add_file(store, os.urandom(5000), raw_leaves=True)
    missing = store.links(node.cid)[3]
    store.delete(missing)
    with pytest.raises(BlockNotFoundError, match=str(missing)):
        store.pin_add(node.cid, "broken")
    assert store.pins() == []


def test_gc_removes_unpinned_and_keeps_pinned_dags(store: BlockStore) -> None:
    kept = add_file(store, os.urandom(20_000))
    store.pin_add(kept.cid, "kept")
    kept_files = set(data_files(store))
    dropped = add_file(store, os.urandom(20_000))
    loose = store.put(b"loose", RAW)
    doomed = set(data_files(store)) - kept_files
    doomed_bytes = sum(p.stat().st_size for p in doomed)
    assert len(doomed) == 21 + 1  # 20 leaves and a root, and the loose block
    assert store.gc() == GcResult(len(doomed), doomed_bytes)
    assert set(data_files(store)) == kept_files
    assert not store.has(dropped.cid) and not store.has(loose)
    assert list(store.walk(kept.cid)) == preorder(store, kept.cid)
    assert store.gc() == GcResult(0, 0)


def test_gc_reports_freed_bytes(store: BlockStore) -> None:
    a = store.put(b"a" * 100, RAW)
    b = store.put(b"b" * 250, RAW)
    store.pin_add(a)
    assert store.gc() == GcResult(1, 250)
    assert store.has(a) and not store.has(b)


def test_gc_removes_only_stale_temp_files(store: BlockStore) -> None:
    cid = store.put(b"anchor", RAW)
    shard = block_file(store, cid).parent
    stale, fresh = shard / f".{_key(cid)}.0001.tmp", shard / f".{_key(cid)}.0002.tmp"
    stale.write_bytes(b"12345")
    fresh.write_bytes(b"123")
    old = time.time() - 120
    os.utime(stale, (old, old))
    assert store.gc() == GcResult(1, 5 + len(b"anchor"))
    assert not stale.exists() and fresh.exists()


def test_gc_waits_for_an_add_holding_the_guard(store: BlockStore) -> None:
    written, gc_started = threading.Event(), threading.Event()
    result: list[object] = []  # in completion order: the pinned node must come before gc's result
    errors: list[BaseException] = []
    data = os.urandom(30_000)

    def adder() -> None:
        try:
            with store.gc_guard():
                node = add_file(store, data)
                written.set()
                gc_started.wait(10)
                time.sleep(0.3)  # gc is now blocked on the guard; without it the blocks would go
                store.pin_add(node.cid, "late pin")
                result.append(node)
        except BaseException as exc:
            errors.append(exc)

    def collector() -> None:
        written.wait(10)
        gc_started.set()
        result.append(store.gc())

    junk = store.put(b"junk", RAW)
    threads = [threading.Thread(target=adder), threading.Thread(target=collector)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    node, gc_result = result
    assert isinstance(node, Node) and gc_result == GcResult(1, 4)
    assert not store.has(junk)
    assert store.verify().ok
    assert list(store.walk(node.cid)) == preorder(store, node.cid)


def test_guards_are_shared_between_adders(store: BlockStore) -> None:
    inside = threading.Barrier(3, timeout=10)

    def adder() -> None:
        with store.gc_guard():
            inside.wait()  # breaks (and fails the join check) unless all three hold it at once

    threads = [threading.Thread(target=adder) for _ in range(2)]
    for t in threads:
        t.start()
    with store.gc_guard():
        inside.wait()
    for t in threads:
        t.join()
    assert not inside.broken


def test_gc_inside_the_guard_is_refused(store: BlockStore) -> None:
    with store.gc_guard():
        with pytest.raises(StoreError, match="gc_guard"):
            store.gc()
    assert store.gc() == GcResult(0, 0)


def test_gc_deletes_nothing_when_a_pinned_dag_is_broken(store: BlockStore) -> None:
    node = add_file(store, os.urandom(5000), raw_leaves=True)
    store.pin_add(node.cid)
    loose = store.put(b"loose", RAW)
    store.delete(store.links(node.cid)[0])
    with pytest.raises(BlockNotFoundError):
        store.gc()
    assert store.has(loose)


# -- verify ----------------------------------------------------------------------------------------
def _flip_byte(path: Path, offset: int = 10) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_verify_clean_store(store: BlockStore) -> None:
    node = add_file(store, os.urandom(10_000))
    store.pin_add(node.cid)
    report = store.verify()
    assert report.ok and report.checked == len(data_files(store)) == 11
    assert (report.corrupt, report.missing) == ([], [])


def test_verify_names_a_corrupt_pinned_leaf_by_cid(store: BlockStore) -> None:
    node = add_file(store, os.urandom(10_000), raw_leaves=True)
    store.pin_add(node.cid)
    leaf = store.links(node.cid)[4]
    _flip_byte(block_file(store, leaf))
    report = store.verify()
    assert not report.ok
    assert report.corrupt == [str(leaf)] and report.missing == []
    assert report.checked == 11


def test_verify_names_an_unpinned_corrupt_block_by_key(store: BlockStore) -> None:
    cid = store.put(b"lonely block", RAW)
    _flip_byte(block_file(store, cid), 0)
    assert store.verify().corrupt == [_key(cid)]


def test_verify_survives_a_corrupt_dag_pb_root(store: BlockStore) -> None:
    node = add_file(store, os.urandom(10_000))
    store.pin_add(node.cid)
    path = block_file(store, node.cid)
    path.write_bytes(b"\x12\xff" + path.read_bytes()[2:])  # the first link's length: now undecodable
    with pytest.raises(CodecError):
        dagpb.decode(path.read_bytes())
    report = store.verify()
    assert report.corrupt == [str(node.cid.to_v1())]
    assert report.missing == []


def test_verify_lists_missing_blocks_of_pinned_dags(store: BlockStore) -> None:
    node = add_file(store, os.urandom(10_000))
    store.pin_add(node.cid)
    leaves = store.links(node.cid)
    store.delete(leaves[1])
    store.delete(leaves[7])
    report = store.verify()
    assert not report.ok
    assert report.missing == [leaves[1], leaves[7]] and report.corrupt == []
    assert report.checked == 9


# -- stats -----------------------------------------------------------------------------------------
def test_stat_and_dedup_ratio(tmp_path: Path) -> None:
    with BlockStore(tmp_path / "s", fsync=False) as store:
        empty = store.stat()
        assert (empty.blocks, empty.bytes_stored, empty.logical_bytes_added, empty.pins) == (0, 0, 0, 0)
        assert empty.dedup_ratio == 1.0
        data = os.urandom(8192)
        for _ in range(3):  # the same file added three times
            node = add_file(store, data, raw_leaves=True)
            store.record_logical_bytes(len(data))
        store.pin_add(node.cid)
        stat = store.stat()
        on_disk = sum(p.stat().st_size for p in data_files(store))
        assert (stat.blocks, stat.bytes_stored, stat.pins) == (9, on_disk, 1)
        assert stat.logical_bytes_added == 3 * 8192
        assert stat.dedup_ratio == pytest.approx(3 * 8192 / on_disk)
        assert 2.5 < stat.dedup_ratio < 3.0
        with pytest.raises(InvalidInputError):
            store.record_logical_bytes(-1)
    with BlockStore(tmp_path / "s", readonly=True) as reader:
        assert reader.stat() == stat  # the counter is persistent


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sync_file_range is Linux's")
def test_start_writeback_starts_on_a_file_ignores_what_cannot_seek_and_raises_a_real_error(tmp_path: Path) -> None:
    import errno

    from hf_ipfs_scraper.storage import _durable

    assert _durable._WRITEBACK is not None  # glibc has it: the block store really calls it here
    fd = os.open(tmp_path / "f", os.O_WRONLY | os.O_CREAT)
    os.write(fd, b"x" * 100_000)
    _durable.start_writeback(fd)
    os.close(fd)
    with pytest.raises(OSError) as raised:
        _durable.start_writeback(fd)  # closed: EBADF is a bug, not "unsupported"
    assert raised.value.errno == errno.EBADF
    r, w = os.pipe()
    try:
        _durable.start_writeback(w)  # ESPIPE: nothing to write back, and no error
    finally:
        os.close(r)
        os.close(w)


def test_a_block_written_by_short_writevs_is_whole(store: BlockStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel may write fewer bytes than asked: put_block resumes mid-piece, in order."""
    import hf_ipfs_scraper.storage.blockstore as blockstore

    real = os.writev
    calls = []

    def short(fd: int, buffers: list[memoryview]) -> int:
        calls.append(len(buffers))
        return real(fd, [bytes(memoryview(buffers[0])[:7])])  # at most 7 bytes of the first piece

    monkeypatch.setattr(blockstore.os, "writev", short)
    pieces = (b"head-", memoryview(b"x" * 100)[10:60], b"", bytearray(b"-tail"))
    block = b"".join(bytes(p) for p in pieces)
    cid = CID.from_digest(hashlib.sha256(block).digest(), RAW, 1)
    store.put_block(cid, pieces)
    assert store.get(cid) == block
    assert len(calls) > len(pieces)  # the writes really were short
    assert store.verify().ok
