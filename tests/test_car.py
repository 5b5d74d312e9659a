"""CAR v1 codec (hf_ipfs_scraper.ipfs.car) and store export/import (hf_ipfs_scraper.storage.car_io)."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import threading

import pytest

from hf_ipfs_scraper.errors import BlockNotFoundError, CarError, StoreError
from hf_ipfs_scraper.ipfs import dagpb, varint
from hf_ipfs_scraper.ipfs.car import (
    MAX_SECTION_SIZE,
    CarReader,
    encode_header,
    write_block,
    write_car,
    write_header,
)
from hf_ipfs_scraper.ipfs.cid import CID, DAG_CBOR, DAG_PB, RAW
from hf_ipfs_scraper.ipfs.importer import FileImporter
from hf_ipfs_scraper.ipfs.options import ImportOptions
from hf_ipfs_scraper.ipfs.sink import MemorySink
from hf_ipfs_scraper.storage.blockstore import BlockStore
from hf_ipfs_scraper.storage.car_io import ImportResult, export_car, import_car

V0_ROOT = CID.parse("QmZV4S1sc4eExLsQxSpVRvmJtXk4HXHx5QpyzXPBuYatkF")


def _dag(data: bytes, **options: object) -> tuple[CID, MemorySink]:
    sink = MemorySink()
    node = FileImporter(sink, ImportOptions(**options)).add(io.BytesIO(data))  # type: ignore[arg-type]
    return node.cid, sink


def _car(root: CID, sink: MemorySink) -> bytes:
    out = io.BytesIO()
    write_car(out, [root], sink.blocks.items())
    return out.getvalue()


def _read_all(raw: bytes) -> tuple[list[CID], list[tuple[CID, bytes]]]:
    reader = CarReader(io.BytesIO(raw))
    return reader.roots, list(reader)


def _cbor_text(text: str) -> bytes:
    return bytes((0x60 | len(text),)) + text.encode()


def _cbor_cid(cid: CID) -> bytes:
    raw = b"\x00" + bytes(cid)
    return b"\xd8\x2a\x58" + bytes((len(raw),)) + raw


def _header(body: bytes) -> bytes:
    return varint.encode(len(body)) + body


@pytest.fixture(scope="module")
def sample() -> tuple[CID, MemorySink, bytes]:
    root, sink = _dag(bytes(range(256)) * 40, chunk_size=1000)  # 11 leaves under one root
    return root, sink, _car(root, sink)


# -- header -----------------------------------------------------------------------------------------


def test_header_bytes_for_a_v0_root_match_go_car() -> None:
    body = b"\xa2\x65roots\x81\xd8\x2a\x58\x23\x00" + bytes(V0_ROOT) + b"\x67version\x01"
    assert len(bytes(V0_ROOT)) == 34
    assert encode_header([V0_ROOT]) == b"\x38" + body  # 56 bytes of dag-cbor
    out = io.BytesIO()
    assert write_header(out, [V0_ROOT]) == 57
    assert out.getvalue() == b"\x38" + body


def test_header_bytes_for_a_v1_root_match_go_car() -> None:
    root = V0_ROOT.to_v1()
    body = b"\xa2\x65roots\x81\xd8\x2a\x58\x25\x00" + bytes(root) + b"\x67version\x01"
    assert encode_header([root]) == b"\x3a" + body
    assert encode_header([root]).hex() == (
        "3aa265726f6f747381d82a58250001701220a598069ed36aa87138f7640cc6a7694f3904c16bfac0e2b06db0d"
        "0175785d6106776657273696f6e01"
    )


def test_header_with_version_first_is_accepted() -> None:
    body = b"\xa2" + _cbor_text("version") + b"\x01" + _cbor_text("roots") + b"\x81" + _cbor_cid(V0_ROOT)
    assert CarReader(io.BytesIO(_header(body))).roots == [V0_ROOT]


def test_header_with_several_or_no_roots_round_trips() -> None:
    roots = [V0_ROOT, V0_ROOT.to_v1(), CID.hash_block(b"x", RAW)]
    assert CarReader(io.BytesIO(encode_header(roots))).roots == roots
    empty = CarReader(io.BytesIO(encode_header([])))
    assert empty.roots == []
    assert list(empty) == []


ROOTS_ENTRY = _cbor_text("roots") + b"\x81" + _cbor_cid(V0_ROOT)
VERSION_ENTRY = _cbor_text("version") + b"\x01"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"\x82" + ROOTS_ENTRY, "not a CBOR map"),
        (b"\x01", "not a CBOR map"),
        (b"\xa2" + ROOTS_ENTRY + _cbor_text("version") + b"\x02", "unsupported CAR version 2"),
        (b"\xa1" + ROOTS_ENTRY, "no 'version'"),
        (b"\xa1" + VERSION_ENTRY, "no 'roots'"),
        (b"\xa2" + _cbor_text("roots") + b"\x01" + VERSION_ENTRY, "'roots' is not an array"),
        (b"\xa2" + _cbor_text("roots") + b"\x81\x41\x00" + VERSION_ENTRY, "root 0 is not a CID"),
        (b"\xa2" + _cbor_text("roots") + b"\x81\xd8\x2a\x01" + VERSION_ENTRY, "root 0 is not a CID"),
        (
            b"\xa2" + _cbor_text("roots") + b"\x81\xd8\x2a\x58\x22" + bytes(V0_ROOT) + VERSION_ENTRY,
            "lacks the 0x00 prefix",
        ),
        (b"\xa2" + _cbor_text("roots") + b"\x81\xd8\x2a\x43\x00\x01\x70" + VERSION_ENTRY, "not a valid CID"),
        (b"\xa2" + ROOTS_ENTRY + _cbor_text("version") + b"\x18\x01", "non-minimal"),
        (b"\xa2" + ROOTS_ENTRY + _cbor_text("version") + b"\x61", "not an unsigned integer"),
        (b"\xa3" + ROOTS_ENTRY + VERSION_ENTRY + _cbor_text("extra") + b"\x00", "unexpected key 'extra'"),
        (b"\xa2" + ROOTS_ENTRY + ROOTS_ENTRY, "duplicate key 'roots'"),
        (b"\xa2" + ROOTS_ENTRY + VERSION_ENTRY + b"\x00", "1 bytes after the header map"),
        (b"\xbf" + ROOTS_ENTRY + VERSION_ENTRY + b"\xff", "indefinite-length"),
        (b"\xa2\x01\x01" + VERSION_ENTRY, "map key is not a text string"),
        (b"\xa2" + ROOTS_ENTRY + b"\x67vers", "ends inside a CBOR string"),
    ],
)
def test_bad_headers_are_refused_with_the_reason(body: bytes, problem: str) -> None:
    with pytest.raises(CarError, match="bad CAR header at byte") as info:
        CarReader(io.BytesIO(_header(body)))
    assert problem in str(info.value)


def test_empty_stream_and_bad_header_lengths() -> None:
    with pytest.raises(CarError, match="stream is empty"):
        CarReader(io.BytesIO(b""))
    with pytest.raises(CarError, match="bad CAR header length 0 at byte 0"):
        CarReader(io.BytesIO(b"\x00"))
    with pytest.raises(CarError, match="truncated CAR header at byte 1: 56 bytes declared, 10 present"):
        CarReader(io.BytesIO(encode_header([V0_ROOT])[:11]))
    with pytest.raises(CarError, match="bad header length varint at byte 0"):
        CarReader(io.BytesIO(b"\x80"))


# -- sections ----------------------------------------------------------------------------------------


def test_round_trip_keeps_roots_blocks_and_order(sample) -> None:
    root, sink, raw = sample
    roots, blocks = _read_all(raw)
    assert roots == [root]
    assert blocks == list(sink.blocks.items())
    assert len(blocks) == 12
    assert all(isinstance(data, bytes) for _cid, data in blocks)


def test_write_car_counts_blocks_and_write_block_counts_bytes(sample) -> None:
    root, sink, raw = sample
    whole = io.BytesIO()
    assert write_car(whole, [root], sink.blocks.items()) == 12
    assert whole.getvalue() == raw
    cid, data = next(iter(sink.blocks.items()))
    out = io.BytesIO()
    n = write_block(out, cid, memoryview(data))
    assert n == len(out.getvalue()) == varint.size(34 + len(data)) + 34 + len(data)


def test_raw_leaves_cidv1_and_an_empty_block_round_trip() -> None:
    root, sink = _dag(os.urandom(5000), cid_version=1, chunk_size=1024)
    empty = CID.hash_block(b"", RAW)
    blocks = [*sink.blocks.items(), (empty, b"")]
    out = io.BytesIO()
    write_car(out, [root, empty], blocks)
    roots, read = _read_all(out.getvalue())
    assert roots == [root, empty]
    assert read == blocks
    assert {cid.codec for cid, _ in read} == {RAW, 0x70}


def _section_ends(raw: bytes) -> list[int]:
    """Offsets where a complete header or section ends."""
    length, pos = varint.decode(raw)
    ends = [pos + length]
    while ends[-1] < len(raw):
        length, pos = varint.decode(raw, ends[-1])
        ends.append(pos + length)
    return ends


def test_truncation_at_every_offset_is_a_car_error_or_a_shorter_car(sample) -> None:
    """A cut inside the header or a section is a CarError; a cut exactly between sections is a
    valid, shorter CAR (CARv1 has no block count) — import catches that as an incomplete DAG."""
    _root, sink, raw = sample
    ends = _section_ends(raw)
    expected = list(sink.blocks.items())
    for cut in range(len(raw)):
        if cut in ends:
            assert _read_all(raw[:cut])[1] == expected[: ends.index(cut)]
        else:
            with pytest.raises(CarError, match=r"at byte \d+"):
                _read_all(raw[:cut])


def test_truncated_section_names_offset_and_cid(sample) -> None:
    _root, sink, raw = sample
    ends = _section_ends(raw)
    cid = list(sink.blocks)[2]
    with pytest.raises(CarError) as info:
        _read_all(raw[: ends[3] - 1])
    assert f"truncated section at byte {ends[2]}" in str(info.value)
    assert str(cid) in str(info.value)


def test_a_flipped_byte_in_a_block_is_a_hash_mismatch(sample) -> None:
    _root, sink, raw = sample
    ends = _section_ends(raw)
    damaged = bytearray(raw)
    damaged[ends[4] - 10] ^= 0x01  # inside the data of the 4th block
    with pytest.raises(CarError, match=f"hash mismatch in section at byte {ends[3]}") as info:
        _read_all(bytes(damaged))
    assert str(list(sink.blocks)[3]) in str(info.value)


def test_any_flipped_byte_after_the_header_is_refused(sample) -> None:
    _root, _sink, raw = sample
    for pos in range(_section_ends(raw)[0], len(raw)):
        damaged = bytearray(raw)
        damaged[pos] ^= 0x5A
        with pytest.raises(CarError):
            _read_all(bytes(damaged))


@pytest.mark.parametrize(
    ("garbage", "problem"),
    [
        (b"\x05garbage", "bad CID in section"),
        (b"\x25\x12\x20abc", "truncated section"),
        (b"\x00", "zero-length section"),
        (b"\x80", "bad section length varint"),
        (b"\xff" * 12, "bad section length varint"),
        (b"\x80\x00", "bad section length varint"),  # non-minimal
        (b"\x24" + bytes(V0_ROOT) + b"xx", "hash mismatch"),
        (b"\x24\x12\x21" + bytes(34), "a CIDv0 must be a sha2-256 multihash"),
        (b"\x06\x02\x55\x12\x20ab", "unsupported CID version 2"),
        (b"\x06\x01\x55\x12\x20ab", "runs past the section"),
    ],
)
def test_trailing_garbage_is_refused_at_its_offset(sample, garbage: bytes, problem: str) -> None:
    _root, _sink, raw = sample
    with pytest.raises(CarError, match=f"at byte {len(raw)}") as info:
        _read_all(raw + garbage)
    assert problem in str(info.value)


def test_oversized_section_is_refused_before_reading_it() -> None:
    header = encode_header([V0_ROOT])
    with pytest.raises(CarError, match=f"section at byte {len(header)} declares {MAX_SECTION_SIZE + 1} bytes"):
        _read_all(header + varint.encode(MAX_SECTION_SIZE + 1) + b"\x00" * 64)


def test_unsupported_hash_function_is_named() -> None:
    cid = CID(1, RAW, b"\x16\x20" + hashlib.sha3_256(b"hi").digest())  # sha3-256: Kubo does not verify it either
    out = io.BytesIO()
    write_car(out, [cid], [(cid, b"hi")])
    at = len(encode_header([cid]))
    with pytest.raises(CarError, match=f"unsupported hash function in section at byte {at}.*0x16"):
        _read_all(out.getvalue())


def test_identity_cid_block_is_verified_against_its_inline_data() -> None:
    good = CID(1, RAW, b"\x00\x02hi")
    out = io.BytesIO()
    write_car(out, [good], [(good, b"hi")])
    assert _read_all(out.getvalue())[1] == [(good, b"hi")]
    out = io.BytesIO()
    write_car(out, [good], [(good, b"ho")])
    with pytest.raises(CarError, match="hash mismatch"):
        _read_all(out.getvalue())


# -- streams ------------------------------------------------------------------------------------------


class _ReadOnly:
    """A stream with nothing but read(), which also returns short reads (as a pipe may)."""

    def __init__(self, data: bytes, step: int = 7) -> None:
        self._buf = io.BytesIO(data)
        self._step = step

    def read(self, n: int = -1) -> bytes:
        return self._buf.read(min(n, self._step) if n >= 0 else self._step)


def test_non_seekable_short_reading_stream(sample) -> None:
    root, sink, raw = sample
    reader = CarReader(_ReadOnly(raw))  # type: ignore[arg-type]
    assert reader.roots == [root]
    assert list(reader) == list(sink.blocks.items())


def _pipe(raw: bytes) -> tuple[io.BufferedReader, threading.Thread]:
    r, w = os.pipe()

    def feed() -> None:
        with open(w, "wb") as fh:
            fh.write(raw)

    thread = threading.Thread(target=feed)
    thread.start()
    return open(r, "rb"), thread


def test_reading_from_a_pipe(sample) -> None:
    root, sink, raw = sample
    source, thread = _pipe(raw)
    with source:
        assert not source.seekable()
        reader = CarReader(source)
        assert reader.roots == [root]
        assert list(reader) == list(sink.blocks.items())
    thread.join()


# -- CARv2 (read only) --------------------------------------------------------------------------------


def _carv2(v1: bytes, padding: int = 5, index: bytes = b"\x01index-bytes") -> bytes:
    data_offset = 51 + padding
    head = struct.pack("<16sQQQ", bytes(16), data_offset, len(v1), data_offset + len(v1) if index else 0)
    return b"\x0a\xa1\x67version\x02" + head + bytes(padding) + v1 + index


def test_carv2_payload_is_read_and_its_index_ignored(sample) -> None:
    root, sink, raw = sample
    reader = CarReader(_ReadOnly(_carv2(raw), step=1000))  # type: ignore[arg-type]
    assert reader.version == 2
    assert reader.roots == [root]
    assert list(reader) == list(sink.blocks.items())


def test_bad_carv2_is_refused(sample) -> None:
    _root, _sink, raw = sample
    v2 = _carv2(raw, index=b"")
    with pytest.raises(CarError, match="truncated CARv2 header at byte 11"):
        CarReader(io.BytesIO(v2[:30]))
    with pytest.raises(CarError, match="truncated CARv2 at byte"):
        CarReader(io.BytesIO(v2[:53]))
    cut = _section_ends(raw)[2]  # a payload cut between sections is still caught: data size says more
    with pytest.raises(CarError, match="truncated CARv2 payload"):
        list(CarReader(io.BytesIO(v2[: 56 + cut])))
    with pytest.raises(CarError, match="bad CARv2 header at byte 11"):
        CarReader(io.BytesIO(v2[:11] + struct.pack("<16sQQQ", bytes(16), 20, 5, 0)))
    with pytest.raises(CarError, match="itself a CARv2"):
        CarReader(io.BytesIO(_carv2(_carv2(raw, index=b""), index=b"")))


# -- store export / import ---------------------------------------------------------------------------

CHUNK_A, CHUNK_B, CHUNK_C = (bytes([n]) * 1000 for n in (0xA, 0xB, 0xC))
TWO_LEVEL = {"chunk_size": 1000, "max_links": 2}  # leaves A B A C -> root[n1[A, B], n2[A, C]]


def _store(path) -> BlockStore:
    return BlockStore(path, fsync=False)


def _add(store, data: bytes, pin: bool = True, **options: object) -> CID:
    with store.gc_guard():
        cid = FileImporter(store, ImportOptions(**options)).add(io.BytesIO(data)).cid  # type: ignore[arg-type]
        if pin:
            store.pin_add(cid)
    return cid


def _export(store, root: CID) -> bytes:
    out = io.BytesIO()
    export_car(store, root, out)
    return out.getvalue()


def _snapshot(store) -> tuple[set[bytes], list[tuple[CID, str | None]]]:
    return set(store.iter_multihashes()), [(p.cid, p.name) for p in store.pins()]


@pytest.fixture()
def source(tmp_path):
    with _store(tmp_path / "source") as store:
        yield store


@pytest.fixture()
def target(tmp_path):
    with _store(tmp_path / "target") as store:
        yield store


def test_export_is_depth_first_pre_order_with_each_block_once(source) -> None:
    root = _add(source, CHUNK_A + CHUNK_B + CHUNK_A + CHUNK_C, **TWO_LEVEL)
    n1, n2 = (link.cid for link in dagpb.decode(source.get(root)).links)
    a, b = (link.cid for link in dagpb.decode(source.get(n1)).links)
    a2, c = (link.cid for link in dagpb.decode(source.get(n2)).links)
    assert a == a2  # the duplicated leaf
    out = io.BytesIO()
    assert export_car(source, root, out) == 6
    roots, blocks = _read_all(out.getvalue())
    assert roots == [root]
    assert [cid for cid, _ in blocks] == [root, n1, a, b, n2, c]
    assert all(source.get(cid) == data for cid, data in blocks)


def test_export_of_an_incomplete_dag_raises_block_not_found(source) -> None:
    root = _add(source, CHUNK_A + CHUNK_B + CHUNK_A + CHUNK_C, **TWO_LEVEL)
    n1 = dagpb.decode(source.get(root)).links[0].cid
    source.pin_rm(root)
    source.delete(n1)
    with pytest.raises(BlockNotFoundError, match=str(n1)):
        export_car(source, root, io.BytesIO())


@pytest.mark.parametrize("options", [{"chunk_size": 1000}, {"cid_version": 1, "chunk_size": 1000}])
def test_store_round_trip_gives_identical_bytes_and_pins_the_root(source, target, options) -> None:
    root = _add(source, os.urandom(20_000) + CHUNK_A * 3, **options)
    car = _export(source, root)
    result = import_car(target, io.BytesIO(car))
    blocks = len(_read_all(car)[1])
    assert result == ImportResult([root], blocks, blocks)
    assert target.is_pinned(root)
    assert [p.name for p in target.pins()] == [None]
    assert set(target.iter_multihashes()) == set(source.iter_multihashes())
    assert _export(target, root) == car


def test_importing_again_adds_nothing_and_keeps_the_pin_name(source, target) -> None:
    root = _add(source, os.urandom(5000), chunk_size=1000)
    car = _export(source, root)
    import_car(target, io.BytesIO(car))
    target.pin_add(root, "mine")
    before = _snapshot(target)
    assert import_car(target, io.BytesIO(car)) == ImportResult([root], 6, 0)
    assert _snapshot(target) == before


def test_import_without_pinning(source, target) -> None:
    root = _add(source, os.urandom(5000), chunk_size=1000)
    result = import_car(target, io.BytesIO(_export(source, root)), pin_roots=False)
    assert result.new_blocks == 6
    assert not target.is_pinned(root)
    assert target.pins() == []


def test_import_from_a_pipe_spools_and_succeeds(source, target, tmp_path) -> None:
    root = _add(source, os.urandom(50_000), chunk_size=4096)
    car = _export(source, root)
    pipe, thread = _pipe(car)
    with pipe:
        result = import_car(target, pipe, spool_dir=tmp_path)
    thread.join()
    assert result.roots == [root] and result.new_blocks == result.blocks == 14
    assert target.is_pinned(root)
    assert _export(target, root) == car


def test_import_from_a_read_only_wrapper(source, target) -> None:
    root = _add(source, os.urandom(9000), chunk_size=1000)
    car = _export(source, root)
    assert import_car(target, _ReadOnly(car, step=100)).roots == [root]  # type: ignore[arg-type]
    assert _export(target, root) == car


def test_import_completes_a_dag_from_blocks_the_store_already_has(source, target) -> None:
    root = _add(source, CHUNK_A + CHUNK_B + CHUNK_A + CHUNK_C, **TWO_LEVEL)
    car = _export(source, root)
    leaves = [cid for cid, _ in _read_all(car)[1] if len(source.get(cid)) > 1000]
    for leaf in leaves:
        target.put_block(leaf, (source.get(leaf),))
    interior_only = io.BytesIO()
    write_car(interior_only, [root], [(cid, data) for cid, data in _read_all(car)[1] if cid not in leaves])
    result = import_car(target, io.BytesIO(interior_only.getvalue()))
    assert (result.blocks, result.new_blocks) == (3, 3)
    assert target.is_pinned(root)
    assert _export(target, root) == car


def _damaged(car: bytes, how: str) -> bytes:
    ends = _section_ends(car)
    if how == "cut-between-sections":
        return car[: ends[-2]]
    if how == "cut-inside-a-section":
        return car[: ends[-1] - 5]
    if how == "flipped-byte":
        out = bytearray(car)
        out[ends[-1] - 3] ^= 0xFF
        return bytes(out)
    if how == "trailing-garbage":
        return car + b"\x05garbage"
    if how == "zero-length-section":
        return car + b"\x00"
    raise AssertionError(how)


DAMAGE = ["cut-between-sections", "cut-inside-a-section", "flipped-byte", "trailing-garbage", "zero-length-section"]


@pytest.mark.parametrize("how", DAMAGE)
def test_a_bad_car_leaves_the_store_exactly_as_it_was(source, target, how) -> None:
    _add(target, b"already here", chunk_size=1000)  # a pinned DAG
    _add(target, os.urandom(3000), pin=False, chunk_size=1000)  # and unpinned blocks
    root = _add(source, os.urandom(20_000), chunk_size=1000)
    before = _snapshot(target)
    with pytest.raises(CarError):
        import_car(target, io.BytesIO(_damaged(_export(source, root), how)))
    assert _snapshot(target) == before
    assert not target.is_pinned(root)


@pytest.mark.parametrize("how", DAMAGE)
def test_a_bad_car_from_a_pipe_leaves_the_store_as_it_was(source, target, how) -> None:
    root = _add(source, os.urandom(20_000), chunk_size=1000)
    pipe, thread = _pipe(_damaged(_export(source, root), how))
    with pipe, pytest.raises(CarError):
        import_car(target, pipe)
    thread.join()
    assert _snapshot(target) == (set(), [])


def test_an_incomplete_dag_names_the_root_and_the_missing_block(source, target) -> None:
    root = _add(source, CHUNK_A + CHUNK_B + CHUNK_A + CHUNK_C, **TWO_LEVEL)
    blocks = _read_all(_export(source, root))[1]
    missing = blocks[3][0]  # leaf B
    car = io.BytesIO()
    write_car(car, [root], [block for block in blocks if block[0] != missing])
    with pytest.raises(CarError, match=f"root {root} is incomplete: block {missing} is neither"):
        import_car(target, io.BytesIO(car.getvalue()))
    assert _snapshot(target) == (set(), [])


def test_an_interior_block_in_the_store_does_not_vouch_for_its_children(source, target) -> None:
    root = _add(source, CHUNK_A + CHUNK_B + CHUNK_A + CHUNK_C, **TWO_LEVEL)
    blocks = _read_all(_export(source, root))[1]
    n1, b = blocks[1][0], blocks[3][0]
    target.put_block(n1, (source.get(n1),))  # n1 is here, but its child B is nowhere
    car = io.BytesIO()
    write_car(car, [root], [block for block in blocks if block[0] not in (n1, b)])
    before = _snapshot(target)
    with pytest.raises(CarError, match=f"block {b} is neither"):
        import_car(target, io.BytesIO(car.getvalue()))
    assert _snapshot(target) == before


def test_a_failure_while_writing_removes_the_blocks_written(source, target, monkeypatch) -> None:
    _add(target, b"already here", chunk_size=1000)
    root = _add(source, os.urandom(20_000), chunk_size=1000)
    before = _snapshot(target)
    real_put = target.put_block
    calls = []

    def failing_put(cid, pieces):
        calls.append(cid)
        if len(calls) == 10:
            raise OSError(28, "No space left on device")
        real_put(cid, pieces)

    monkeypatch.setattr(target, "put_block", failing_put)
    with pytest.raises(OSError, match="No space left"):
        import_car(target, io.BytesIO(_export(source, root)))
    assert _snapshot(target) == before


def test_a_failing_second_pin_unpins_the_first_and_removes_the_blocks(source, target, monkeypatch) -> None:
    first = _add(source, os.urandom(3000), chunk_size=1000)
    second = _add(source, os.urandom(3000), chunk_size=1000)
    already = _add(target, b"pinned before", chunk_size=1000)
    car = io.BytesIO()
    blocks = _read_all(_export(source, first))[1] + _read_all(_export(source, second))[1]
    write_car(car, [already, first, second], [*blocks, (already, target.get(already))])
    before = _snapshot(target)
    real_pin = target.pin_add

    def failing_pin(cid, name=None):
        if cid == second:
            raise StoreError("pin database is locked")
        real_pin(cid, name)

    monkeypatch.setattr(target, "pin_add", failing_pin)
    with pytest.raises(StoreError, match="locked"):
        import_car(target, io.BytesIO(car.getvalue()))
    assert _snapshot(target) == before  # the pin that existed before is kept, with its name
    assert target.is_pinned(already) and not target.is_pinned(first)


def test_a_root_whose_links_cannot_be_read_is_stored_only_unpinned(target) -> None:
    """Blocks of any codec are stored; pinning a root needs its DAG checked, which a codec whose
    links this store cannot read (git-raw here) does not allow."""
    git = CID(1, 0x78, CID.hash_block(b"blob 0\0").multihash)
    car = io.BytesIO()
    write_car(car, [git], [(git, b"blob 0\0")])
    with pytest.raises(CarError, match="cannot follow: import it with --pin-roots=false"):
        import_car(target, io.BytesIO(car.getvalue()))
    assert _snapshot(target) == (set(), [])
    import_car(target, io.BytesIO(car.getvalue()), pin_roots=False)
    assert target.get(git) == b"blob 0\0" and target.pins() == []


def test_a_dag_pb_block_that_does_not_decode_is_refused(target) -> None:
    junk = b"\xff\xff"
    cid = CID.hash_block(junk, DAG_PB, 0)
    car = io.BytesIO()
    write_car(car, [cid], [(cid, junk)])
    with pytest.raises(CarError, match=f"block {cid} in the CAR is not valid dag-pb"):
        import_car(target, io.BytesIO(car.getvalue()))
    assert _snapshot(target) == (set(), [])


class _ChangesOnRewind(io.BytesIO):
    """A seekable input whose bytes change between the two passes."""

    def __init__(self, first: bytes, second: bytes) -> None:
        super().__init__(first)
        self._second = second

    def seek(self, pos: int, whence: int = 0) -> int:
        if self.tell() > 0:
            self.__init__(self._second, self._second)  # type: ignore[misc]
        return super().seek(pos, whence)


def test_an_input_that_changes_between_passes_is_refused(source, target) -> None:
    one = _add(source, os.urandom(3000), chunk_size=1000)
    two = _add(source, os.urandom(3000), chunk_size=1000)
    with pytest.raises(CarError, match="changed between"):
        import_car(target, _ChangesOnRewind(_export(source, one), _export(source, two)))
    assert _snapshot(target) == (set(), [])


def test_every_truncation_of_a_car_is_refused_on_import(source, target) -> None:
    root = _add(source, os.urandom(900), chunk_size=300)
    car = _export(source, root)
    for cut in range(len(car)):
        with pytest.raises(CarError):
            import_car(target, io.BytesIO(car[:cut]))
    assert _snapshot(target) == (set(), [])
    assert import_car(target, io.BytesIO(car)).new_blocks == 4
