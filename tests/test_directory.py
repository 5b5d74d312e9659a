"""Directory building: name safety, the exact HAMT threshold, and the Kubo-vs-JS subdirectory rule."""

from __future__ import annotations

import io

import pytest

from hf_ipfs_scraper.errors import InvalidInputError, InvalidNameError
from hf_ipfs_scraper.ipfs import dagpb, unixfs
from hf_ipfs_scraper.ipfs.directory import DirectoryBuilder
from hf_ipfs_scraper.ipfs.importer import FileImporter, Node
from hf_ipfs_scraper.ipfs.options import ImportOptions
from hf_ipfs_scraper.ipfs.sink import MemorySink


def _file(sink: MemorySink, options: ImportOptions, data: bytes = b"x") -> Node:
    return FileImporter(sink, options).add(io.BytesIO(data))


@pytest.mark.parametrize("path", ["..", "a/../b", "a/./b", "a//b", "/abs", "nul\0byte", "a/", ""])
def test_unsafe_paths_are_refused(path: str) -> None:
    sink = MemorySink()
    builder = DirectoryBuilder(sink)
    with pytest.raises(InvalidNameError):
        builder.add(path, _file(sink, ImportOptions()))


def test_duplicate_and_file_dir_conflicts() -> None:
    sink = MemorySink()
    builder = DirectoryBuilder(sink)
    node = _file(sink, ImportOptions())
    builder.add("a/b", node)
    with pytest.raises(InvalidInputError, match="duplicate"):
        builder.add("a/b", node)
    with pytest.raises(InvalidInputError, match="is a file"):
        builder.add("a/b/c", node)


def _kind(sink: MemorySink, node: Node) -> int:
    block = dagpb.decode(sink.blocks[node.cid])
    assert block.data is not None
    return unixfs.decode(block.data).type


def _names_with_links_estimate(total: int, cid_len: int) -> list[str]:
    """Distinct names whose (len(name) + cid_len) sum to exactly ``total``."""
    per = 128
    count = total // per
    names = [f"{i:06d}".ljust(per - cid_len, "n") for i in range(count)]
    rest = total - count * per
    if rest:
        names[-1] += "r" * rest
    assert sum(len(n) + cid_len for n in names) == total
    return names


@pytest.mark.parametrize(("extra", "sharded"), [(0, False), (1, True)])
def test_links_estimate_shards_only_above_256_kib(extra: int, sharded: bool) -> None:
    opts = ImportOptions()  # v0 profile: links estimate, CIDv0 (34 bytes)
    sink = MemorySink()
    node = _file(sink, opts)
    builder = DirectoryBuilder(sink, opts)
    for name in _names_with_links_estimate(262_144 + extra, 34):
        builder.add(name, node)
    kind = _kind(sink, builder.build())
    assert kind == (unixfs.HAMT_SHARD if sharded else unixfs.DIRECTORY)


def _flat_block_size(names: list[str], node: Node) -> int:
    return len(dagpb.encode([dagpb.Link(node.cid, n, node.tsize) for n in names], unixfs.UnixFSData(1).encode()))


@pytest.mark.parametrize(("extra", "sharded"), [(0, False), (1, True)])
def test_block_estimate_shards_only_above_256_kib(extra: int, sharded: bool) -> None:
    opts = ImportOptions.profile("unixfs-v1-2025")
    sink = MemorySink()
    node = _file(sink, opts)
    names = [f"{i:06d}".ljust(20, "n") for i in range(3900)]
    target = 262_144 + extra
    # grow with whole entries (~66 bytes each), then pad one name (staying under 128 name bytes)
    while _flat_block_size(names, node) + 70 < target:
        names.append(f"{len(names):06d}".ljust(20, "n"))
    names[-1] += "p" * (target - _flat_block_size(names, node))
    assert _flat_block_size(names, node) == target
    builder = DirectoryBuilder(sink, opts)
    for name in names:
        builder.add(name, node)
    kind = _kind(sink, builder.build())
    assert kind == (unixfs.HAMT_SHARD if sharded else unixfs.DIRECTORY)


def test_subdirectory_links_count_toward_the_estimate_as_in_kubo() -> None:
    """Files alone stay under 256 KiB; with the subdirectory links the directory is over it.

    Kubo counts every link (we follow Kubo); ipfs-unixfs-importer@17 would count the subdirectories
    as 0 and keep this directory flat — the one place the JS oracle and Kubo disagree.
    """
    opts = ImportOptions()
    sink = MemorySink()
    node = _file(sink, opts)
    builder = DirectoryBuilder(sink, opts)
    file_names = _names_with_links_estimate(262_144 - 128 * 10, 34)
    for name in file_names:
        builder.add(name, node)
    for i in range(11):  # 11 subdirectories of 128 estimate bytes each push it over
        builder.add(f"dir{i:03d}".ljust(94, "d") + "/leaf", node)
    assert _kind(sink, builder.build()) == unixfs.HAMT_SHARD


def test_sharded_directory_resolves_every_name() -> None:
    from hf_ipfs_scraper.ipfs.reader import list_dir, resolve

    opts = ImportOptions(shard_threshold=1000)
    sink = MemorySink()
    builder = DirectoryBuilder(sink, opts)
    nodes = {f"file-{i}.bin": _file(sink, opts, str(i).encode()) for i in range(600)}
    for name, node in nodes.items():
        builder.add(name, node)
    root = builder.build()
    assert _kind(sink, root) == unixfs.HAMT_SHARD
    get = sink.blocks.__getitem__
    assert {e.name: e.cid for e in list_dir(get, root.cid)} == {n: v.cid for n, v in nodes.items()}
    for name, node in list(nodes.items())[::37]:
        assert resolve(get, root.cid, name) == node.cid
    with pytest.raises(InvalidInputError, match="no link named"):
        resolve(get, root.cid, "absent.bin")
