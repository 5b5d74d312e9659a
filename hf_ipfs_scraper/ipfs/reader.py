"""Reading UnixFS DAGs back: file bytes (``ipfs cat``), directory listings and path resolution.

Works over any ``get_block(cid) -> bytes`` so it serves the embedded store, a CAR being checked,
or a remote node alike. Plain and HAMT-sharded directories both resolve names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

from ..errors import CodecError, InvalidInputError
from . import dagpb, unixfs
from .cid import DAG_PB, RAW, CID
from .murmur3 import hamt_hash

GetBlock = Callable[[CID], bytes]


@dataclass(frozen=True, slots=True)
class DirEntry:
    name: str
    cid: CID
    tsize: int


def decode_node(get_block: GetBlock, cid: CID) -> tuple[dagpb.PBNode, unixfs.UnixFSData]:
    """A UnixFS node: its dag-pb links and its decoded Data."""
    if cid.codec != DAG_PB:
        raise InvalidInputError(f"{cid} is not a dag-pb node (codec {cid.codec_name})")
    node = dagpb.decode(get_block(cid))
    if node.data is None:
        raise InvalidInputError(f"{cid} is not a UnixFS node (no Data)")
    return node, unixfs.decode(node.data)


def iter_file(get_block: GetBlock, cid: CID, offset: int = 0, length: int | None = None) -> Iterator[memoryview]:
    """Yield a UnixFS file's bytes in order, one block's worth at a time, each a view into its
    block (no copy: write it, hash it or ``b"".join`` the pieces; ``bytes(piece)`` to keep one).

    With ``offset``/``length`` (``ipfs cat -o -l``) only that span is read: whole subtrees before
    or after it are skipped by their ``blocksizes``, so a byte range of a large file costs the blocks
    it touches, not the file."""
    if offset < 0 or (length is not None and length < 0):
        raise InvalidInputError(f"offset and length must be >= 0 (got {offset}, {length})")
    yield from _iter_span(get_block, cid, offset, None if length is None else offset + length)


def _iter_span(get_block: GetBlock, cid: CID, start: int, stop: int | None) -> Iterator[memoryview]:
    """Bytes ``[start, stop)`` of the file under ``cid`` (``stop`` None: to the end)."""
    if cid.codec == RAW:
        block = memoryview(get_block(cid))
        yield block if start == 0 and stop is None else block[start:stop]
        return
    node, meta = decode_node(get_block, cid)
    if meta.type in (unixfs.DIRECTORY, unixfs.HAMT_SHARD):
        raise InvalidInputError(f"{cid} is a directory, not a file")
    if meta.type not in (unixfs.FILE, unixfs.RAW):
        raise InvalidInputError(f"{cid} is not a file (UnixFS type {meta.type})")
    data = memoryview(meta.data or b"")
    if start == 0 and stop is None:  # the whole file, the common case
        if data:
            yield data
        for link in node.links:
            yield from _iter_span(get_block, link.cid, 0, None)
        return
    if data[start:stop]:
        yield data[start:stop]
    if len(meta.blocksizes) != len(node.links):
        raise CodecError(f"{cid} records no blocksizes for its links: cannot read a byte range of it")
    pos = len(data)
    for link, size in zip(node.links, meta.blocksizes):
        if stop is not None and pos >= stop:
            return
        if pos + size > start:
            yield from _iter_span(get_block, link.cid, max(start - pos, 0), None if stop is None else stop - pos)
        pos += size


def list_dir(get_block: GetBlock, cid: CID) -> list[DirEntry]:
    """Entries of a plain or sharded directory, sorted by name bytes."""
    node, meta = decode_node(get_block, cid)
    if meta.type == unixfs.DIRECTORY:
        return [DirEntry(ln.name, ln.cid, ln.tsize) for ln in node.links]
    if meta.type == unixfs.HAMT_SHARD:
        entries = list(_iter_shard(get_block, node))
        return sorted(entries, key=lambda e: e.name.encode("utf-8"))
    raise InvalidInputError(f"{cid} is not a directory")


def _iter_shard(get_block: GetBlock, node: dagpb.PBNode) -> Iterator[DirEntry]:
    for link in node.links:
        if len(link.name) == 2:
            yield from _iter_shard(get_block, dagpb.decode(get_block(link.cid)))
        else:
            yield DirEntry(link.name[2:], link.cid, link.tsize)


def resolve(get_block: GetBlock, root: CID, path: str) -> CID:
    """Follow ``a/b/c`` from ``root`` through plain and HAMT directories."""
    cid = root
    for name in (p for p in path.split("/") if p):
        node, meta = decode_node(get_block, cid)
        if meta.type == unixfs.DIRECTORY:
            match = next((ln.cid for ln in node.links if ln.name == name), None)
        elif meta.type == unixfs.HAMT_SHARD:
            match = shard_lookup(get_block, node, name)
        else:
            raise InvalidInputError(f"cannot resolve {name!r}: {cid} is not a directory")
        if match is None:
            raise InvalidInputError(f"no link named {name!r} under {cid}")
        cid = match
    return cid


def shard_lookup(get_block: GetBlock, node: dagpb.PBNode, name: str) -> CID | None:
    """The CID ``name`` links to in the HAMT directory under ``node``, reading only the shards its hash leads to."""
    digest = hamt_hash(name.encode("utf-8"))
    for depth in range(8):
        prefix = f"{digest[depth]:02X}"
        child = next((ln for ln in node.links if ln.name.startswith(prefix)), None)
        if child is None:
            return None
        if child.name == prefix:
            node = dagpb.decode(get_block(child.cid))
            continue
        return child.cid if child.name[2:] == name else None
    return None


def split_cid_path(text: str) -> tuple[CID, str]:
    """``/ipfs/<cid>/a/b`` or ``<cid>/a/b`` → (cid, "a/b")."""
    text = text.strip()
    if text.startswith("/ipfs/"):
        text = text[len("/ipfs/") :]
    head, _, rest = text.partition("/")
    return CID.parse(head), rest
