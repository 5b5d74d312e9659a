"""UnixFS directories — plain or HAMT-sharded — exactly as Kubo builds them.

A plain directory is ``PBNode{Links: sorted by name, Data: UnixFS{Type: Directory}}``. When its
node would be too large it becomes a HAMT shard instead. The decision follows Kubo >= 0.40
(IPIP-499): shard only when the estimate is *strictly greater* than ``shard_threshold`` (256 KiB),
with the profile's estimate — ``links`` (v0-2015: name bytes + CID bytes per link) or ``block``
(v1-2025: the exact encoded block size). Every link counts, subdirectories included, as in Kubo's
MFS (the JS importer v17 counts a subdirectory as 0 while building; see ARCHITECTURE.md).

A shard (fanout 256) buckets names by the bytes of a murmur3-x64-64 hash, one byte per level; a
bucket with one entry is a link ``"%02X" + name``, a bucket with several is a sub-shard linked as
``"%02X"``. The node's data holds the occupancy bitfield, big-endian with leading zero bytes trimmed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from ..errors import CodecError, InvalidInputError, InvalidNameError
from . import dagpb
from .cid import DAG_PB, make_cid
from .importer import Node
from .murmur3 import hamt_hash
from .options import ImportOptions
from .sink import BlockSink
from .unixfs import DIRECTORY, HAMT_SHARD, MURMUR3_X64_64, UnixFSData

_DIR_DATA = UnixFSData(DIRECTORY).encode()


def validate_name(name: str) -> str:
    """A directory entry name UnixFS can hold safely: refuse '', '.', '..', '/' and NUL."""
    if name in ("", ".", ".."):
        raise InvalidNameError(f"invalid directory entry name {name!r}")
    if "/" in name or "\0" in name:
        raise InvalidNameError(f"directory entry name {name!r} contains '/' or NUL")
    return name


def split_path(path: str) -> list[str]:
    """Split a relative POSIX path into validated names (no '..', no absolute paths)."""
    if path.startswith("/"):
        raise InvalidNameError(f"path {path!r} must be relative")
    return [validate_name(part) for part in path.split("/")]


@dataclass(slots=True)
class _Dir:
    children: dict[str, Node | _Dir] = field(default_factory=dict)


class DirectoryBuilder:
    """Collects finished file nodes by path, then builds every directory bottom-up.

    ``built`` lists each directory as ``(path, node)`` in the order Kubo prints them
    (children before parents, siblings by name), the root last with path ``""``.
    """

    def __init__(self, sink: BlockSink, options: ImportOptions | None = None) -> None:
        self.sink = sink
        self.options = options or ImportOptions()
        self._root = _Dir()
        self.built: list[tuple[str, Node]] = []

    def add(self, path: str, node: Node) -> None:
        """Place a finished file (or symlink) DAG at ``path``."""
        *parents, name = split_path(path)
        parent = self._dir_at(parents, path)
        if name in parent.children:
            raise InvalidInputError(f"duplicate path {path!r}")
        parent.children[name] = node

    def mkdir(self, path: str) -> None:
        """Make sure a (possibly empty) directory exists at ``path``."""
        self._dir_at(split_path(path), path)

    def _dir_at(self, names: list[str], path: str) -> _Dir:
        current = self._root
        for name in names:
            child = current.children.setdefault(name, _Dir())
            if not isinstance(child, _Dir):
                raise InvalidInputError(f"{path!r} needs {name!r} to be a directory, but it is a file")
            current = child
        return current

    def build(self) -> Node:
        """Write every directory block; return the root directory's node."""
        self.built = []
        return self._build(self._root, "")

    def _build(self, directory: _Dir, path: str) -> Node:
        entries: dict[str, Node] = {}
        for name in sorted(directory.children, key=lambda n: n.encode("utf-8")):
            child = directory.children[name]
            if isinstance(child, _Dir):
                child = self._build(child, f"{path}/{name}" if path else name)
            entries[name] = child
        node = self._sharded(entries) if self._too_big(entries) else self._flat(entries)
        self.built.append((path, node))
        return node

    # -- plain directories -------------------------------------------------------------------
    def _too_big(self, entries: dict[str, Node]) -> bool:
        opts = self.options
        if opts.shard_estimate == "links":
            estimate = sum(len(name.encode("utf-8")) + len(bytes(n.cid)) for name, n in entries.items())
        else:
            estimate = 1 + 1 + len(_DIR_DATA) + sum(
                dagpb.encoded_link_size(len(name.encode("utf-8")), len(bytes(n.cid)), n.tsize)
                for name, n in entries.items()
            )
        return estimate > opts.shard_threshold

    def _flat(self, entries: dict[str, Node]) -> Node:
        links = [dagpb.Link(n.cid, name, n.tsize) for name, n in entries.items()]
        return self._put(dagpb.encode(links, _DIR_DATA), entries.values())

    def _put(self, block: bytes, children: object) -> Node:
        kids = list(children)  # type: ignore[call-overload]
        cid = make_cid(hashlib.sha256(block).digest(), DAG_PB, self.options.cid_version)
        self.sink.put_block(cid, (block,))
        return Node(cid, len(block) + sum(k.tsize for k in kids), sum(k.size for k in kids))

    # -- HAMT shards -------------------------------------------------------------------------
    def _sharded(self, entries: dict[str, Node]) -> Node:
        keyed = [(hamt_hash(name.encode("utf-8")), name, node) for name, node in entries.items()]
        return self._shard(keyed, 0)

    def _shard(self, entries: list[tuple[bytes, str, Node]], depth: int) -> Node:
        if depth >= 8:
            raise CodecError("HAMT hash exhausted: 64-bit murmur3 collision between directory names")
        buckets: dict[int, list[tuple[bytes, str, Node]]] = {}
        for entry in entries:
            buckets.setdefault(entry[0][depth], []).append(entry)
        links: list[dagpb.Link] = []
        children: list[Node] = []
        bitmap = 0
        for index in sorted(buckets):
            bitmap |= 1 << index
            group = buckets[index]
            if len(group) == 1:
                _hash, name, child = group[0]
                label = f"{index:02X}{name}"
            else:
                child, label = self._shard(group, depth + 1), f"{index:02X}"
            links.append(dagpb.Link(child.cid, label, child.tsize))
            children.append(child)
        data = UnixFSData(
            HAMT_SHARD,
            data=bitmap.to_bytes((bitmap.bit_length() + 7) // 8, "big"),
            hash_type=MURMUR3_X64_64,
            fanout=self.options.shard_fanout,
        ).encode()
        return self._put(dagpb.encode(links, data), children)
