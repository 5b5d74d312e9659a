"""UnixFS ``Data`` messages: what a dag-pb node *means* (file, directory, HAMT shard, symlink).

Spec: https://specs.ipfs.tech/unixfs/ ::

    message Data {
      required DataType Type = 1;  optional bytes Data = 2;  optional uint64 filesize = 3;
      repeated uint64 blocksizes = 4;  optional uint64 hashType = 5;  optional uint64 fanout = 6;
    }

Fields are written in field-number order, blocksizes unpacked, as Kubo writes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from ..errors import CodecError
from . import varint
from .dagpb import _read_field

RAW = 0
DIRECTORY = 1
FILE = 2
METADATA = 3
SYMLINK = 4
HAMT_SHARD = 5

MURMUR3_X64_64 = 0x22


@dataclass(frozen=True, slots=True)
class UnixFSData:
    type: int
    data: bytes | memoryview | None = None  # decoded: a view into the node's bytes (see dagpb.PBNode)
    filesize: int | None = None
    blocksizes: tuple[int, ...] = field(default_factory=tuple)
    hash_type: int | None = None
    fanout: int | None = None

    def encode(self) -> bytes:
        out = bytearray(b"\x08")
        out += varint.encode(self.type)
        if self.data is not None:
            out += b"\x12" + varint.encode(len(self.data)) + self.data
        if self.filesize is not None:
            out += b"\x18" + varint.encode(self.filesize)
        for size in self.blocksizes:
            out += b"\x20" + varint.encode(size)
        if self.hash_type is not None:
            out += b"\x28" + varint.encode(self.hash_type)
        if self.fanout is not None:
            out += b"\x30" + varint.encode(self.fanout)
        return bytes(out)


def decode(buf: bytes | memoryview) -> UnixFSData:
    type_: int | None = None
    data: memoryview | None = None
    filesize: int | None = None
    blocksizes: list[int] = []
    hash_type: int | None = None
    fanout: int | None = None
    pos, end = 0, len(buf)
    while pos < end:
        num, wire, value, pos = _read_field(buf, pos, end)
        if num == 1 and wire == 0:
            type_ = value
        elif num == 2 and wire == 2:
            data = value
        elif num == 3 and wire == 0:
            filesize = value
        elif num == 4 and wire == 0:
            blocksizes.append(value)
        elif num == 4 and wire == 2:  # packed, as some writers emit
            inner, ipos = bytes(value), 0
            while ipos < len(inner):
                size, ipos = varint.decode(inner, ipos)
                blocksizes.append(size)
        elif num == 5 and wire == 0:
            hash_type = value
        elif num == 6 and wire == 0:
            fanout = value
        elif num in (7, 8):  # mode, mtime: metadata we do not interpret
            continue
        else:
            raise CodecError(f"unexpected UnixFS field {num}")
    if type_ is None:
        raise CodecError("UnixFS Data without Type")
    return UnixFSData(type_, data, filesize, tuple(blocksizes), hash_type, fanout)


@lru_cache(maxsize=64)
def file_leaf_prefix_suffix(chunk_len: int) -> tuple[bytes, bytes]:
    """The bytes around a chunk in a dag-pb file leaf, so a leaf is hashed without copying the chunk.

    The block is ``PBNode{Data: UnixFS{Type: File, Data: chunk, filesize: len}}``. Cached: all but
    a file's last leaf have the same length.
    """
    inner_head = b"\x08\x02" + (b"\x12" + varint.encode(chunk_len) if chunk_len else b"")
    inner_tail = b"\x18" + varint.encode(chunk_len)
    inner_len = len(inner_head) + chunk_len + len(inner_tail)
    return b"\x0a" + varint.encode(inner_len) + inner_head, inner_tail
