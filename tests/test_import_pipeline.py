"""The importer's pipeline for big files: blocks written behind the hashing, on a helper thread.

A file of more than one read buffer (1 MiB) hands each buffer's blocks to a helper while the next
buffer hashes. What must hold: the sink sees the same blocks, byte for byte and in the same order,
as when every put is made in the caller's thread; a sink's error (a full disk) comes out of
``add()``; and once ``add()`` has returned or raised, no helper touches the sink or the buffers.
"""

from __future__ import annotations

import errno
import io
import os
import threading

import pytest

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
