"""CIDs that Kubo's ``ipfs add`` prints for small, well-known inputs (no Node needed)."""

from __future__ import annotations

import io

import pytest

from hf_ipfs_scraper.ipfs.directory import DirectoryBuilder
from hf_ipfs_scraper.ipfs.importer import FileImporter
from hf_ipfs_scraper.ipfs.options import ImportOptions
from hf_ipfs_scraper.ipfs.sink import MemorySink

EMPTY_DIR = "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"


def add_bytes(data: bytes, options: ImportOptions | None = None) -> str:
    sink = MemorySink()
    node = FileImporter(sink, options or ImportOptions()).add(io.BytesIO(data))
    assert node.cid in sink.blocks
    assert node.size == len(data)
    return str(node.cid)


@pytest.mark.parametrize(
    ("data", "options", "expected"),
    [
        (b"hello world", ImportOptions(), "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD"),
        (
            b"hello world",
            ImportOptions.from_kubo_flags(cid_version=1),
            "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e",
        ),
        (b"hello world\n", ImportOptions(), "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"),
        (b"", ImportOptions(), "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"),
    ],
    ids=["hello-world", "hello-world-cidv1", "hello-world-newline", "empty-file"],
)
def test_small_file_vectors(data: bytes, options: ImportOptions, expected: str) -> None:
    assert add_bytes(data, options) == expected


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (262_144, "QmWmRj3dFDZdb6ABvbmKhEL6TmPbAfBZ1t5BxsEyJrcZhE"),  # exactly one chunk
        (262_145, "QmYyLxtzZyW22zpoVAtKANLRHpDjZtNeDjQdJrcQNWoRkJ"),  # one chunk and one byte
    ],
)
def test_chunk_boundary_vectors(kubo_bytes, size: int, expected: str) -> None:
    assert add_bytes(kubo_bytes("chunk-v0-seed", size)) == expected


def test_planets_directory_vector() -> None:
    sink = MemorySink()
    files = FileImporter(sink)
    builder = DirectoryBuilder(sink)
    builder.add("mars.txt", files.add(io.BytesIO(b"Hello Mars!\n")))
    builder.add("venus.txt", files.add(io.BytesIO(b"Hello Venus!\n")))
    root = builder.build()
    assert str(root.cid) == "QmWSgS32xQEcXMeqd3YPJLrNBLSdsfYCep2U7CFkyrjXwY"
    assert root.cid in sink.blocks


def test_empty_directory_vector() -> None:
    sink = MemorySink()
    root = DirectoryBuilder(sink).build()
    assert str(root.cid) == EMPTY_DIR
    assert set(map(str, sink.blocks)) == {EMPTY_DIR}


def test_nested_empty_directory_reuses_the_empty_directory_block() -> None:
    sink = MemorySink()
    builder = DirectoryBuilder(sink)
    builder.mkdir("empty")
    builder.build()
    assert EMPTY_DIR in set(map(str, sink.blocks))
