"""The importer's pipeline for big files: blocks written behind the hashing, on a helper thread.

A file of more than one read buffer (1 MiB) hands each buffer's blocks to a helper while the next
buffer hashes. What must hold: the sink sees the same blocks, byte for byte and in the same order,
as when every put is made in the caller's thread; a sink's error (a full disk) comes out of
``add()``; and once ``add()`` has returned or raised, no helper touches the sink or the buffers.
"""

from __future__ import annotations

import errno
import io
import mmap
import os
import threading

import pytest

from hf_ipfs_scraper.errors import InvalidInputError
from hf_ipfs_scraper.ipfs import importer as importer_module
from hf_ipfs_scraper.ipfs.importer import FileImporter
from hf_ipfs_scraper.ipfs.options import ImportOptions
from hf_ipfs_scraper.ipfs.sink import NullSink

PROFILES = ["unixfs-v0-2015", "unixfs-v1-2025"]


class _Recording:
    """Every block as it was handed over (copied at once: a reused buffer must not be trusted
    later), and the thread that handed it."""

    def __init__(self) -> None:
        self.blocks: list[tuple[str, bytes]] = []
        self.threads: set[int] = set()

    def put_block(self, cid, pieces) -> None:  # noqa: ANN001 - the BlockSink protocol
        self.blocks.append((str(cid), b"".join(bytes(p) for p in pieces)))
        self.threads.add(threading.get_ident())


class _RecordingInline(NullSink, _Recording):
    """The same record, from a sink the importer treats like the null sink: every put is made in
    the caller's thread, the reference order."""

    def __init__(self) -> None:
        _Recording.__init__(self)

    put_block = _Recording.put_block


def _data(size: int) -> bytes:
    return os.urandom(size)


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("size", [(1 << 20) - 1, 1 << 20, (1 << 20) + 1, 5 * (1 << 20) + 12345])
def test_written_behind_blocks_match_the_inline_ones_in_order(profile: str, size: int) -> None:
    data = _data(size)
    options = ImportOptions.profile(profile)
    inline, behind = _RecordingInline(), _Recording()
    a = FileImporter(inline, options).add(io.BytesIO(data))
    b = FileImporter(behind, options).add(io.BytesIO(data))
    assert a == b
    assert behind.blocks == inline.blocks
    assert inline.threads == {threading.get_ident()}
    if size >= 1 << 20:  # a full buffer (more may follow): its leaves went through the helper
        assert behind.threads - {threading.get_ident()}
    else:  # less than one buffer: no hand-off
        assert behind.threads == {threading.get_ident()}


def test_the_same_importer_reuses_its_buffers_without_mixing_files() -> None:
    importer_inline, importer_behind = FileImporter(_RecordingInline()), FileImporter(_Recording())
    for size in (3 * (1 << 20) + 7, 2 * (1 << 20), 100, 4 * (1 << 20) + 1):
        data = _data(size)
        assert importer_behind.add(io.BytesIO(data)) == importer_inline.add(io.BytesIO(data))
    assert importer_behind.sink.blocks == importer_inline.sink.blocks  # type: ignore[attr-defined]


@pytest.mark.parametrize("profile", PROFILES)
def test_without_helpers_one_buffer_is_refilled_and_the_blocks_are_the_same(profile: str, monkeypatch) -> None:
    """As many files at once as cores (here: a machine of no cores to spare): no read-ahead, no
    write-behind; the one buffer is refilled once its blocks are put, and the sink sees what an
    import with helpers gives it."""
    data = _data(5 * (1 << 20) + 12345)
    options = ImportOptions.profile(profile)
    behind = _Recording()
    expected = FileImporter(behind, options).add(io.BytesIO(data))
    monkeypatch.setattr(importer_module, "_CORES", 0)
    inline = _Recording()
    importer = FileImporter(inline, options)
    assert importer.add(io.BytesIO(data)) == expected
    assert inline.blocks == behind.blocks and inline.threads == {threading.get_ident()}
    assert len(importer._views) == 1


def test_an_importer_of_small_files_allocates_one_buffer() -> None:
    importer = FileImporter(_Recording())
    for size in (0, 100, (1 << 20) - 1):
        importer.add(io.BytesIO(_data(size)))
    assert len(importer._views) == 1
    importer.add(io.BytesIO(_data(3 << 20)))  # a big file: the pipeline's three
    assert len(importer._views) == 3


class _FullDisk(_Recording):
    """Fails with ENOSPC at the n-th block, then records any put that still comes."""

    def __init__(self, fail_at: int) -> None:
        super().__init__()
        self.fail_at = fail_at
        self.after_failure = 0

    def put_block(self, cid, pieces) -> None:  # noqa: ANN001
        if len(self.blocks) >= self.fail_at:
            self.after_failure += 1
            raise OSError(errno.ENOSPC, "No space left on device")
        super().put_block(cid, pieces)


@pytest.mark.parametrize("fail_at", [0, 3, 9, 17])
def test_a_sink_error_on_the_helper_comes_out_of_add_and_nothing_writes_after(fail_at: int) -> None:
    sink = _FullDisk(fail_at)
    with pytest.raises(OSError) as raised:
        FileImporter(sink).add(io.BytesIO(_data(6 * (1 << 20))))
    assert raised.value.errno == errno.ENOSPC
    seen = (len(sink.blocks), sink.after_failure)
    assert seen[1] == 1  # the batch stopped at its first failure, and no later batch began
    threading.Event().wait(0.05)
    assert (len(sink.blocks), sink.after_failure) == seen


class _FailingStream(io.RawIOBase):
    """Yields ``good`` bytes, then fails: a download cut off, while blocks are being written."""

    def __init__(self, good: bytes) -> None:
        self._data = io.BytesIO(good)

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # noqa: ANN001
        n = self._data.readinto(b)
        if not n:
            raise ConnectionResetError("the download was cut off")
        return n


def test_a_read_error_waits_for_the_writes_in_flight() -> None:
    class Slow(_Recording):
        def put_block(self, cid, pieces) -> None:  # noqa: ANN001
            threading.Event().wait(0.002)
            super().put_block(cid, pieces)

    sink = Slow()
    with pytest.raises(ConnectionResetError):
        FileImporter(sink).add(_FailingStream(_data(4 * (1 << 20))))
    seen = len(sink.blocks)
    threading.Event().wait(0.05)
    assert len(sink.blocks) == seen  # nothing was still writing when add() raised


# -- regular files: hashed from a memory map of the file, window by window ------------------------


@pytest.fixture
def small_windows(monkeypatch) -> int:
    """Map 2 MiB at a time instead of 16, so a few MiB cross several windows."""
    monkeypatch.setattr(importer_module, "_MAP_BYTES", 2 << 20)
    return 2 << 20


def _mapped_bytes(path: str) -> int:
    """How much of ``path`` this process has mapped now."""
    total = 0
    with open("/proc/self/maps") as maps:
        for line in maps:
            if line.rstrip("\n").endswith(path):
                start, end = line.split()[0].split("-")
                total += int(end, 16) - int(start, 16)
    return total


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("size", [(1 << 20) + 1, 2 << 20, (2 << 20) + 1, 5 * (1 << 20) + 12345])
@pytest.mark.parametrize("skip", [0, 4097])
def test_a_file_is_hashed_from_its_mapping_into_the_same_blocks_in_order(
    profile: str, size: int, skip: int, small_windows: int, tmp_path
) -> None:
    """From where the caller left the file (``skip`` bytes read, not page-aligned) to its end: the
    same blocks, in the same order, as reading the same bytes, and no read buffer was filled."""
    data = _data(size + skip)
    path = tmp_path / "file.bin"
    path.write_bytes(data)
    options = ImportOptions.profile(profile)
    reference = _RecordingInline()
    expected = FileImporter(reference, options).add(io.BytesIO(data[skip:]))
    for sink in (_RecordingInline(), _Recording()):
        importer = FileImporter(sink, options)
        with open(path, "rb") as fh:
            fh.read(skip)
            assert importer.add(fh) == expected
            assert fh.tell() == size + skip and fh.read() == b""  # left at the end, as a read would
        assert sink.blocks == reference.blocks
        assert importer._views == []  # never copied into the process
    if size > 2 * small_windows:  # a window before the last one was written behind, by the helper
        assert sink.threads - {threading.get_ident()}


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="reads /proc/self/maps (Linux)")
def test_every_window_is_unmapped_once_its_blocks_are_written(small_windows: int, tmp_path) -> None:
    path = tmp_path / "file.bin"
    path.write_bytes(_data(5 * small_windows + 1))
    mapped_at_each_leaf: list[int] = []

    class Watching(_Recording):
        def put_block(self, cid, pieces) -> None:  # noqa: ANN001
            if len(pieces) == 3:  # a leaf (header, chunk, trailer); parents are made of links
                mapped_at_each_leaf.append(_mapped_bytes(str(path)))
            super().put_block(cid, pieces)

    with open(path, "rb") as fh:
        FileImporter(Watching()).add(fh)
    assert _mapped_bytes(str(path)) == 0
    assert min(mapped_at_each_leaf) > 0  # every leaf was read through a mapping, not copied
    # the window being written and the one hashing (page-rounded), never the whole 10 MiB file
    assert max(mapped_at_each_leaf) <= 2 * (small_windows + mmap.PAGESIZE)


def test_a_file_that_shrinks_between_windows_is_an_error_not_a_short_dag(small_windows: int, tmp_path) -> None:
    """Cut to the end of the first window just as that window's last leaf is put (nothing mapped
    past the cut is read, so no SIGBUS): the next window cannot be mapped, and ``add`` says why."""
    path = tmp_path / "file.bin"
    path.write_bytes(_data(3 * small_windows))
    leaves_per_window = small_windows // ImportOptions().chunk_size

    class Truncating(_RecordingInline):
        def put_block(self, cid, pieces) -> None:  # noqa: ANN001
            super().put_block(cid, pieces)
            if len(self.blocks) == leaves_per_window:
                os.truncate(path, small_windows)

    with open(path, "rb") as fh, pytest.raises(InvalidInputError, match="shrank while it was being added"):
        FileImporter(Truncating()).add(fh)


# -- the hot path's shortcuts give what the general code gives ------------------------------------


def test_a_file_node_encoded_without_link_objects_is_the_canonical_encoding() -> None:
    from hypothesis import given, settings, strategies as st

    from hf_ipfs_scraper.errors import CodecError
    from hf_ipfs_scraper.ipfs import dagpb
    from hf_ipfs_scraper.ipfs.cid import DAG_PB, RAW, CID

    cids = st.builds(CID.from_digest, st.binary(min_size=32, max_size=32),
                     st.sampled_from([DAG_PB, RAW]), st.just(1)) | st.builds(
        lambda d: CID.from_digest(d, DAG_PB, 0), st.binary(min_size=32, max_size=32))
    links = st.lists(st.tuples(cids, st.integers(0, 1 << 62)), max_size=200)

    @settings(database=None, max_examples=200, deadline=None)
    @given(links, st.binary(max_size=300))
    def check(pairs: list, data: bytes) -> None:
        block = dagpb.encode_unnamed(pairs, data)
        assert block == dagpb.encode([dagpb.Link(cid, "", tsize) for cid, tsize in pairs], data)
        node = dagpb.decode(block)
        assert [(ln.cid, ln.tsize) for ln in node.links] == pairs and bytes(node.data) == data

    def from_digest_or_error(digest: bytes, codec: int, version: int) -> CID | type[CodecError]:
        try:
            return CID.from_digest(digest, codec, version)
        except CodecError:
            return CodecError

    check()
    digest = os.urandom(32)
    for codec, version in ((DAG_PB, 0), (DAG_PB, 1), (RAW, 1)):
        made = CID.from_digest(digest, codec, version)
        assert made == CID(version, codec, b"\x12\x20" + digest) and CID.parse(str(made)) == made
    assert from_digest_or_error(digest, RAW, 0) is CodecError  # v0 cannot say raw
    assert from_digest_or_error(digest, DAG_PB, 2) is CodecError


def _hashing_threads(monkeypatch) -> set[int]:
    """The threads that hash leaves, from now on."""
    seen: set[int] = set()
    real = importer_module._leaf_digests

    def recording(chunks, raw):  # noqa: ANN001, ANN202
        seen.add(threading.get_ident())
        return real(chunks, raw)

    monkeypatch.setattr(importer_module, "_leaf_digests", recording)
    return seen


@pytest.mark.parametrize("profile", PROFILES)
def test_one_file_is_hashed_on_two_threads_and_two_files_on_one_each(profile: str, monkeypatch, tmp_path) -> None:
    """Leaves are independent: while one file is imported, a helper hashes half of each window's
    chunks; with as many files at once as cores, each is hashed by its own thread alone. The DAG
    is the same either way."""
    options = ImportOptions.profile(profile)
    paths = [tmp_path / "a.bin", tmp_path / "b.bin"]
    datas = [_data(20 * (1 << 20) + 5), _data(18 * (1 << 20))]
    for path, data in zip(paths, datas):
        path.write_bytes(data)
    expected = [FileImporter(NullSink(), options).add(io.BytesIO(data)) for data in datas]

    seen = _hashing_threads(monkeypatch)
    with open(paths[0], "rb") as fh:
        assert FileImporter(NullSink(), options).add(fh) == expected[0]
    assert threading.get_ident() in seen and len(seen) >= 2  # the caller and a helper of the pool

    monkeypatch.setattr(importer_module, "_CORES", 2)
    seen.clear()
    both_in, both_hashed = threading.Barrier(2), threading.Barrier(2)
    results: dict[int, object] = {}
    hashed_by: dict[int, set[int]] = {}

    class Counted(FileImporter):
        """Hashes only while both files count as being imported: from when both ``add`` calls have
        begun until both have hashed every leaf (a file left alone would take a helper again)."""

        def _add(self, stream):  # noqa: ANN001, ANN202
            both_in.wait(timeout=10)
            return super()._add(stream)

        def _finish(self, levels):  # noqa: ANN001, ANN202
            both_hashed.wait(timeout=10)
            return super()._finish(levels)

    def work(i: int) -> None:
        with open(paths[i], "rb") as fh:
            results[i] = Counted(NullSink(), options).add(fh)
        hashed_by[i] = {threading.get_ident()}

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [results[0], results[1]] == expected
    assert seen == hashed_by[0] | hashed_by[1]  # no helper hashed: each thread its own file
