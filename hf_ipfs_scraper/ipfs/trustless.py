"""Which blocks a trustless-gateway CAR holds: path resolution, ``dag-scope``, ``entity-bytes``, ``dups``.

Spec: https://specs.ipfs.tech/http-gateways/trustless-gateway/. A client that trusts nobody must be
able to check, from the CAR alone, every step from the CID it asked for to the bytes it wanted, so a
response is, in order:

1. the blocks that prove each path segment: every directory on the path, and in a HAMT-sharded one
   the shard nodes the name's hash leads through (not the whole directory);
2. the terminus, by ``dag-scope``: ``block`` (its block), ``entity`` (a UnixFS file's whole DAG, or
   with ``entity-bytes`` only the blocks that hold that range, chosen by ``blocksizes``; a plain
   directory's block; a HAMT directory's shard nodes, not its entries; anything else, its block)
   or ``all`` (the DAG under it, in ``ipfs dag export`` order: depth-first, root first, links in
   order).

``dups=n`` sends each block once, ``dups=y`` every time the walk meets it. Identity CIDs carry
their bytes in the CID, so they are never sent (the spec forbids it), but their links are followed.

No HTTP here: everything works over a ``get_block(cid) -> bytes``, and the path and the byte range
are checked when the plan is made, so the HTTP layer can still answer 404 or 400 before it starts a
200 stream. Only the blocks after the terminus are read lazily.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterator, Literal, Sequence, cast

from ..errors import CodecError, InvalidInputError
from . import dagpb, ipld, reader, unixfs
from .cid import DAG_PB, IDENTITY, RAW, CID

GetBlock = Callable[[CID], bytes]
Block = tuple[CID, bytes]
Scope = Literal["block", "entity", "all"]
SCOPES: tuple[Scope, ...] = ("block", "entity", "all")

_ENTITY_BYTES = re.compile(r"(-?\d{1,19}):(-?\d{1,19}|\*)")


class PathNotFoundError(InvalidInputError):
    """A path segment names no link (or passes through something that is not a directory): 404."""


class RangeNotSatisfiableError(InvalidInputError):
    """``entity-bytes`` lies wholly outside the file, which the root block already tells: 400."""


@dataclass(frozen=True, slots=True)
class EntityBytes:
    """``entity-bytes=from:to``: inclusive offsets, negative ones counted from the end, ``to=None``
    for ``*`` (the end). Kept unresolved because the file's size is known only from its root block."""

    first: int
    last: int | None

    @classmethod
    def parse(cls, text: str) -> EntityBytes:
        match = _ENTITY_BYTES.fullmatch(text.strip())
        if match is None:
            raise InvalidInputError(f"invalid entity-bytes {text!r}: expected from:to, e.g. 0:1023, -1024:* or 10:-10")
        first, last = int(match[1]), None if match[2] == "*" else int(match[2])
        if last is not None and (first < 0) == (last < 0) and last < first:
            raise InvalidInputError(f"invalid entity-bytes {text!r}: 'to' is before 'from'")
        return cls(first, last)

    def span(self, size: int) -> tuple[int, int]:
        """The half-open ``[start, stop)`` of a ``size``-byte file (``start == stop``: an empty
        range, answered like ``dag-scope=block``, as the spec says); a range wholly before or after
        the file raises :class:`RangeNotSatisfiableError`."""
        start = self.first if self.first >= 0 else max(size + self.first, 0)
        if self.last is None:
            stop = size
        else:
            stop = min((self.last if self.last >= 0 else size + self.last) + 1, size)
        if (start > 0 and start >= size) or (size > 0 and stop <= 0):
            raise RangeNotSatisfiableError(f"entity-bytes={self} lies outside the entity's {size} bytes")
        return start, max(start, stop)

    def __str__(self) -> str:
        return f"{self.first}:{'*' if self.last is None else self.last}"


@dataclass(frozen=True, slots=True)
class CarRequest:
    """What a CAR response should hold beyond the path: the scope, an optional byte range (which
    implies ``entity``) and whether duplicate blocks are repeated."""

    scope: Scope = "all"
    entity_bytes: EntityBytes | None = None
    dups: bool = False

    def __post_init__(self) -> None:
        if self.scope not in SCOPES:
            raise InvalidInputError(f"invalid dag-scope {self.scope!r}: expected block, entity or all")
        if self.entity_bytes is not None and self.scope != "entity":
            raise InvalidInputError(f"entity-bytes implies dag-scope=entity, not {self.scope}")

    @classmethod
    def from_params(cls, scope: str | None, entity_bytes: str | None, dups: bool = False) -> CarRequest:
        """From the query's ``dag-scope`` and ``entity-bytes`` texts (either may be absent)."""
        span = EntityBytes.parse(entity_bytes) if entity_bytes is not None else None
        chosen = scope if scope is not None else ("entity" if span is not None else "all")
        return cls(cast(Scope, chosen), span, dups)  # __post_init__ checks the scope

    def tag(self) -> str:
        """A short text that differs whenever the selected blocks may differ (for an ETag)."""
        return f"{self.scope}.{self.entity_bytes or ''}.{'y' if self.dups else 'n'}"


def load(get_block: GetBlock, cid: CID) -> bytes:
    """The block's bytes; an identity CID's are its digest, so no store is asked for them."""
    return cid.digest if cid.hash_code == IDENTITY else get_block(cid)


@dataclass(frozen=True, slots=True)
class CarPlan:
    """A request whose path is resolved and whose range is checked; :meth:`blocks` streams it.

    ``roots`` holds one CID per logical path segment (the request's CID first, the terminus last),
    what ``X-Ipfs-Roots`` lists."""

    get_block: GetBlock
    request: CarRequest
    path_blocks: tuple[Block, ...]
    roots: tuple[CID, ...]
    terminus: Block
    span: tuple[int, int] | None  # the resolved entity-bytes of a file terminus

    def blocks(self) -> Iterator[Block]:
        """The CAR's blocks in order. A block the store lacks raises whatever ``get_block`` raises
        when the walk reaches it: the caller ends its stream there, as the spec asks."""
        seen: set[CID] | None = None if self.request.dups else set()
        for cid, data in self._all(seen):
            if cid.hash_code != IDENTITY:
                yield cid, data

    def _all(self, seen: set[CID] | None) -> Iterator[Block]:
        for block in (*self.path_blocks, self.terminus):
            if _first_time(seen, block[0]):
                yield block
        cid, data = self.terminus
        scope, kind = self.request.scope, _kind(cid, data)
        if scope == "all" or (scope == "entity" and kind == "file" and self.span is None):
            yield from _walk(self.get_block, _links(cid, data), seen)
        elif scope == "entity" and kind == "file" and self.span is not None:
            if self.span[0] < self.span[1]:
                yield from _file_range(self.get_block, cid, data, *self.span, seen)
        elif scope == "entity" and kind == "hamt":
            yield from _shard_nodes(self.get_block, data, seen)


def plan(get_block: GetBlock, root: CID, names: Sequence[str], request: CarRequest) -> CarPlan:
    """Resolve ``names`` from ``root``, reading (and keeping) the blocks that prove each step, then
    check ``entity-bytes`` against the terminus. Raises :class:`PathNotFoundError`,
    :class:`RangeNotSatisfiableError`, or what ``get_block`` raises for a block it lacks."""
    path_blocks: list[Block] = []

    def recording(cid: CID) -> bytes:
        data = load(get_block, cid)
        path_blocks.append((cid, data))
        return data

    roots = [root]
    for name in names:
        roots.append(_step(recording, roots[-1], name))
    cid = roots[-1]
    data = load(get_block, cid)
    span = None
    if request.entity_bytes is not None and _kind(cid, data) == "file":
        span = request.entity_bytes.span(_file_size(cid, data))
    return CarPlan(get_block, request, tuple(path_blocks), tuple(roots), (cid, data), span)


def _step(get_block: GetBlock, cid: CID, name: str) -> CID:
    """The CID ``name`` links to under directory ``cid`` (plain or HAMT), reading through
    ``get_block`` only the blocks that prove it."""
    try:
        node, meta = reader.decode_node(get_block, cid)
    except (CodecError, InvalidInputError) as exc:
        raise PathNotFoundError(f"cannot resolve {name!r}: {cid} is not a UnixFS directory ({exc})") from exc
    match: CID | None
    if meta.type == unixfs.DIRECTORY:
        match = next((link.cid for link in node.links if link.name == name), None)
    elif meta.type == unixfs.HAMT_SHARD:
        try:
            match = reader.shard_lookup(get_block, node, name)
        except CodecError as exc:
            raise PathNotFoundError(f"cannot resolve {name!r}: a shard of {cid} is corrupt ({exc})") from exc
    else:
        raise PathNotFoundError(f"cannot resolve {name!r}: {cid} is not a directory")
    if match is None:
        raise PathNotFoundError(f"no link named {name!r} under {cid}")
    return match


# -- what a block is -----------------------------------------------------------------------------
Kind = Literal["file", "hamt", "other"]


def _unixfs(cid: CID, data: bytes) -> tuple[dagpb.PBNode, unixfs.UnixFSData] | None:
    """The decoded node, or None for a block that is not UnixFS (or does not decode)."""
    if cid.codec != DAG_PB:
        return None
    try:
        node = dagpb.decode(data)
        return (node, unixfs.decode(node.data)) if node.data is not None else None
    except CodecError:
        return None


def _kind(cid: CID, data: bytes) -> Kind:
    """What ``entity`` means for this block: a file (bytes), a HAMT directory, or just the block."""
    if cid.codec == RAW:
        return "file"
    decoded = _unixfs(cid, data)
    if decoded is None:
        return "other"
    if decoded[1].type in (unixfs.FILE, unixfs.RAW):
        return "file"
    return "hamt" if decoded[1].type == unixfs.HAMT_SHARD else "other"


def _file_size(cid: CID, data: bytes) -> int:
    decoded = _unixfs(cid, data)
    if decoded is None:  # a raw leaf: the block is the file
        return len(data)
    meta = decoded[1]
    if meta.filesize is not None:
        return meta.filesize
    return len(meta.data or b"") + sum(meta.blocksizes)


def _links(cid: CID, data: bytes) -> list[CID]:
    """A block's children in link order (dag-pb, dag-cbor, dag-json: as ``BlockStore.walk``
    follows them); none for raw blocks or codecs whose links are not read here."""
    return ipld.links_of(cid, data) if cid.codec in ipld.FOLLOWED else []


# -- walks ---------------------------------------------------------------------------------------
def _first_time(seen: set[CID] | None, cid: CID) -> bool:
    """Whether to send ``cid`` now: always with dups, else only the first time (and remember it)."""
    if seen is None:
        return True
    if cid in seen:
        return False
    seen.add(cid)
    return True


def _walk(get_block: GetBlock, start: list[CID], seen: set[CID] | None) -> Iterator[Block]:
    """The DAGs under ``start``, depth-first pre-order, links in order; a block already sent is
    skipped with its subtree (which went with it), as ``BlockStore.walk`` does."""
    stack = start[::-1]
    while stack:
        cid = stack.pop()
        if not _first_time(seen, cid):
            continue
        data = load(get_block, cid)
        yield cid, data
        stack.extend(reversed(_links(cid, data)))


def _file_range(get_block: GetBlock, cid: CID, data: bytes, start: int, stop: int,
                seen: set[CID] | None) -> Iterator[Block]:
    """Below file node ``cid`` (already sent), the blocks holding bytes ``[start, stop)``: a child
    whose ``blocksizes`` span misses the range is skipped with its subtree. A child sent before is
    still descended into, since the same subtree may be needed here for other bytes of it."""
    decoded = _unixfs(cid, data)
    if decoded is None or not decoded[0].links:
        return
    node, meta = decoded
    if len(meta.blocksizes) != len(node.links):  # no sizes to choose by: the whole subtree proves it
        yield from _walk(get_block, [link.cid for link in node.links], seen)
        return
    pos = len(meta.data or b"")
    for link, size in zip(node.links, meta.blocksizes):
        if pos >= stop:
            return
        if pos + size > start:
            if _first_time(seen, link.cid):
                child = load(get_block, link.cid)
                yield link.cid, child
            elif link.cid.codec == DAG_PB:  # sent already, but its other bytes may be needed here
                child = load(get_block, link.cid)
            else:
                child = b""  # a raw leaf sent already: nothing below it
            yield from _file_range(get_block, link.cid, child, max(start - pos, 0), min(stop - pos, size), seen)
        pos += size


def _shard_nodes(get_block: GetBlock, data: bytes, seen: set[CID] | None) -> Iterator[Block]:
    """Below a HAMT node (already sent), its sub-shard nodes (two-character link names) in link
    order: what enumerating the directory needs, without the entries themselves."""
    for link in dagpb.decode(data).links:
        if len(link.name) == 2 and _first_time(seen, link.cid):
            child = load(get_block, link.cid)
            yield link.cid, child
            yield from _shard_nodes(get_block, child, seen)
