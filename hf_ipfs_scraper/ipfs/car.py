"""CAR (Content Addressable aRchive) files: how blocks move to and from Kubo.

Spec: https://ipld.io/specs/transport/car/carv1/ (and, for reading only,
https://ipld.io/specs/transport/car/carv2/). A CARv1 is ::

    varint(len(header)) header                       header = dag-cbor {"roots": [CID...], "version": 1}
    varint(len(cid) + len(data)) cid data            one section per block, repeated to the end

The header is written byte-for-byte as go-car (``ipfs dag export``) writes it: canonical dag-cbor,
so map keys are ordered length-first ("roots" before "version") and each CID is tag 42 over a byte
string of ``0x00`` + the binary CID. Reading is strict and streaming: one block in memory at a time,
no seeking (stdin works), every block's hash verified, and every problem — truncation, a bad
varint, an empty or oversized section, a bad CID, a hash mismatch, trailing garbage — raised as
:class:`CarError` naming the problem and its byte offset. A CARv2 is read by skipping to its inner
CARv1 payload; its index is ignored (never trusted, never needed for a front-to-back read).
"""

from __future__ import annotations

import struct
from typing import BinaryIO, Iterable, Iterator, Sequence

from ..errors import CarError, CodecError
from . import varint
from .cid import CID, block_matches

#: go-car's default limits: a section (CID + block) over 8 MiB is corrupt — Kubo refuses blocks
#: over 2 MiB by default — and refusing it early keeps a bad length from allocating gigabytes.
MAX_SECTION_SIZE = 8 << 20
MAX_HEADER_SIZE = 32 << 20

_V2_PRAGMA = b"\xa1\x67version\x02"  # the CARv2 pragma's header body: {"version": 2}
_V2_HEADER = struct.Struct("<16sQQQ")  # characteristics, data offset, data size, index offset
_V2_PREFIX_SIZE = 1 + len(_V2_PRAGMA) + _V2_HEADER.size


# -- writing ------------------------------------------------------------------------------------


def _cbor_head(major: int, value: int) -> bytes:
    """A CBOR item head with the shortest argument encoding, as dag-cbor requires."""
    if value < 24:
        return bytes(((major << 5) | value,))
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if value < 1 << (8 * size):
            return bytes(((major << 5) | info,)) + value.to_bytes(size, "big")
    raise ValueError(f"CBOR argument {value} does not fit in 64 bits")


def encode_header(roots: Sequence[CID]) -> bytes:
    """The length-prefixed CARv1 header, identical to go-car's for the same roots."""
    parts = [b"\xa2", _cbor_head(3, 5), b"roots", _cbor_head(4, len(roots))]
    for root in roots:
        raw = b"\x00" + bytes(root)
        parts += [b"\xd8\x2a", _cbor_head(2, len(raw)), raw]
    parts += [_cbor_head(3, 7), b"version", b"\x01"]
    body = b"".join(parts)
    return varint.encode(len(body)) + body


def write_header(fileobj: BinaryIO, roots: Sequence[CID]) -> int:
    """Write the header; return the bytes written."""
    header = encode_header(roots)
    fileobj.write(header)
    return len(header)


def section_head(cid: CID, length: int) -> bytes:
    """What precedes a block of ``length`` bytes in its section: the section's length, the CID."""
    cid_bytes = bytes(cid)
    return varint.encode(len(cid_bytes) + length) + cid_bytes


def write_block(fileobj: BinaryIO, cid: CID, data: bytes | bytearray | memoryview) -> int:
    """Write one section; return the bytes written. The data is written as given, not re-hashed."""
    head = section_head(cid, len(data))
    fileobj.write(head)
    fileobj.write(data)  # separately, so a large block is never copied into a concatenation
    return len(head) + len(data)


def write_car(fileobj: BinaryIO, roots: Sequence[CID], blocks: Iterable[tuple[CID, bytes]]) -> int:
    """Write a whole CARv1; return the number of blocks written."""
    write_header(fileobj, roots)
    count = 0
    for cid, data in blocks:
        write_block(fileobj, cid, data)
        count += 1
    return count


# -- the header's dag-cbor ------------------------------------------------------------------------


class _HeaderDecoder:
    """Just enough strict dag-cbor for a CAR header: definite-length maps, arrays, text and byte
    strings, unsigned ints and tag 42. Offsets in errors are file offsets."""

    def __init__(self, buf: bytes, base: int) -> None:
        self.buf = buf
        self.base = base
        self.pos = 0

    def fail(self, problem: str) -> CarError:
        return CarError(f"bad CAR header at byte {self.base + self.pos}: {problem}")

    def head(self) -> tuple[int, int]:
        """Read an item head: (major type, argument), rejecting non-minimal and indefinite forms."""
        if self.pos >= len(self.buf):
            raise self.fail("header ends inside a CBOR item")
        first = self.buf[self.pos]
        major, info = first >> 5, first & 0x1F
        if info < 24:
            self.pos += 1
            return major, info
        if info > 27:
            raise self.fail(f"indefinite-length or reserved CBOR item (byte {first:#04x})")
        size = 1 << (info - 24)
        raw = self.buf[self.pos + 1 : self.pos + 1 + size]
        if len(raw) < size:
            raise self.fail("header ends inside a CBOR item")
        value = int.from_bytes(raw, "big")
        if value < (24 if size == 1 else 1 << (4 * size)):
            raise self.fail("non-minimal CBOR integer (not dag-cbor)")
        self.pos += 1 + size
        return major, value

    def take(self, length: int) -> bytes:
        if self.pos + length > len(self.buf):
            raise self.fail("header ends inside a CBOR string")
        out = self.buf[self.pos : self.pos + length]
        self.pos += length
        return out

    def text(self) -> str:
        major, length = self.head()
        if major != 3:
            raise self.fail(f"map key is not a text string (CBOR major type {major})")
        try:
            return self.take(length).decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail("map key is not UTF-8") from None

    def cid(self, index: int) -> CID:
        major, tag = self.head()
        if major != 6 or tag != 42:
            raise self.fail(f"root {index} is not a CID (expected CBOR tag 42)")
        major, length = self.head()
        if major != 2:
            raise self.fail(f"root {index} is not a CID (tag 42 over CBOR major type {major})")
        raw = self.take(length)
        if raw[:1] != b"\x00":
            raise self.fail(f"root {index} lacks the 0x00 prefix of a binary CID")
        try:
            return CID.from_bytes(raw[1:])
        except CodecError as exc:
            raise self.fail(f"root {index} is not a valid CID: {exc}") from exc

    def decode(self) -> list[CID]:
        major, entries = self.head()
        if major != 5:
            raise self.fail(f"header is not a CBOR map (major type {major})")
        roots: list[CID] | None = None
        version: int | None = None
        for _ in range(entries):
            key = self.text()
            if key == "roots" and roots is None:
                major, count = self.head()
                if major != 4:
                    raise self.fail(f"'roots' is not an array (CBOR major type {major})")
                roots = [self.cid(i) for i in range(count)]
            elif key == "version" and version is None:
                major, version = self.head()
                if major != 0:
                    raise self.fail(f"'version' is not an unsigned integer (CBOR major type {major})")
            elif key in ("roots", "version"):
                raise self.fail(f"duplicate key {key!r}")
            else:
                raise self.fail(f"unexpected key {key!r}")
        if self.pos != len(self.buf):
            raise self.fail(f"{len(self.buf) - self.pos} bytes after the header map")
        if version is None:
            raise self.fail("no 'version'")
        if version != 1:
            raise self.fail(f"unsupported CAR version {version} (expected 1)")
        if roots is None:
            raise self.fail("no 'roots'")
        return roots


# -- reading ------------------------------------------------------------------------------------


class _Limited:
    """A read-only view of the next ``remaining`` bytes of a stream (a CARv2's inner CARv1)."""

    def __init__(self, stream: BinaryIO, remaining: int) -> None:
        self.stream = stream
        self.remaining = remaining

    def read(self, n: int) -> bytes:
        data = self.stream.read(min(n, self.remaining))
        self.remaining -= len(data)
        return data


class CarReader:
    """Reads a CAR front to back: ``roots`` at once, then ``(cid, data)`` per block on iteration.

    Every block is verified against its CID before it is yielded, so a consumer never sees bytes
    that do not match their address. Iterating again continues where the stream is.
    """

    def __init__(self, fileobj: BinaryIO) -> None:
        self._stream: BinaryIO | _Limited = fileobj
        self._offset = 0
        self.version = 1
        self.roots: list[CID] = self._read_header()

    # -- low level
    def _read(self, n: int) -> bytes:
        """Up to ``n`` bytes; fewer only at the end of the stream (short reads are retried)."""
        data = self._stream.read(n)
        if len(data) < n and data:
            parts = bytearray(data)
            while len(parts) < n:
                more = self._stream.read(n - len(parts))
                if not more:
                    break
                parts += more
            data = bytes(parts)
        self._offset += len(data)
        return data

    def _varint(self, what: str) -> int | None:
        start = self._offset
        try:
            value = varint.read(self._stream)  # type: ignore[arg-type]
        except CodecError as exc:
            raise CarError(f"bad {what} length varint at byte {start}: {exc}") from exc
        if value is not None:
            self._offset += varint.size(value)
        return value

    # -- header
    def _read_header(self) -> list[CID]:
        body, start = self._header_body()
        if body == _V2_PRAGMA:
            self._enter_v2()
            body, start = self._header_body()
            if body == _V2_PRAGMA:
                raise CarError(f"bad CARv2: its payload at byte {start} is itself a CARv2")
        return _HeaderDecoder(body, start).decode()

    def _header_body(self) -> tuple[bytes, int]:
        """The header's dag-cbor bytes and their offset."""
        at = self._offset
        length = self._varint("header")
        if length is None:
            raise CarError(f"no CAR header at byte {at}: the stream is empty")
        if length == 0 or length > MAX_HEADER_SIZE:
            raise CarError(f"bad CAR header length {length} at byte {at}")
        start = self._offset
        body = self._read(length)
        if len(body) < length:
            raise CarError(f"truncated CAR header at byte {start}: {length} bytes declared, {len(body)} present")
        return body, start

    def _enter_v2(self) -> None:
        """Skip a CARv2's fixed header and padding; from here on read only its CARv1 payload
        (the index after it is not needed for a front-to-back read, so it is never trusted)."""
        at = self._offset
        raw = self._read(_V2_HEADER.size)
        if len(raw) < _V2_HEADER.size:
            raise CarError(f"truncated CARv2 header at byte {at}")
        _characteristics, data_offset, data_size, _index_offset = _V2_HEADER.unpack(raw)
        if data_offset < _V2_PREFIX_SIZE or data_size == 0:
            raise CarError(f"bad CARv2 header at byte {at}: data offset {data_offset}, data size {data_size}")
        while self._offset < data_offset:
            want = min(data_offset - self._offset, 1 << 16)
            if len(self._read(want)) < want:
                raise CarError(
                    f"truncated CARv2 at byte {self._offset}: its payload should start at byte {data_offset}"
                )
        self.version = 2
        self._stream = _Limited(self._stream, data_size)  # type: ignore[arg-type]

    # -- sections
    def __iter__(self) -> Iterator[tuple[CID, bytes]]:
        return self

    def __next__(self) -> tuple[CID, bytes]:
        start = self._offset
        length = self._varint("section")
        if length is None:
            if isinstance(self._stream, _Limited) and self._stream.remaining:
                raise CarError(f"truncated CARv2 payload at byte {start}: {self._stream.remaining} bytes missing")
            raise StopIteration
        if length == 0:
            raise CarError(f"zero-length section at byte {start}")
        if length > MAX_SECTION_SIZE:
            raise CarError(f"section at byte {start} declares {length} bytes (over {MAX_SECTION_SIZE}): corrupt")
        body_start = self._offset
        cid = self._read_cid(start, length)
        data = self._read(length - (self._offset - body_start))
        if self._offset - body_start < length:
            raise CarError(
                f"truncated section at byte {start}: {length} bytes declared, "
                f"{self._offset - body_start} present (block {cid})"
            )
        try:
            ok = block_matches(cid, data)
        except CodecError as exc:
            raise CarError(f"unsupported hash function in section at byte {start}: {exc}") from exc
        if not ok:
            raise CarError(f"hash mismatch in section at byte {start}: the data does not hash to {cid}")
        return cid, data

    def _read_cid(self, start: int, length: int) -> CID:
        """Read the section's CID field by field from the stream, so the block data after it can
        be read into its own ``bytes`` without slicing (a copy of every block) a whole section."""
        raw = bytearray()
        body_start = self._offset

        def take(n: int) -> None:
            if len(raw) + n > length:
                raise CarError(f"bad CID in section at byte {start}: it runs past the section's {length} bytes")
            got = self._read(n)
            raw.extend(got)
            if len(got) < n:
                raise CarError(
                    f"truncated section at byte {start}: {length} bytes declared, {self._offset - body_start} present"
                )

        def take_varint(begin: int | None = None) -> int:
            if begin is None:
                begin = len(raw)
                take(1)
            while raw[-1] >= 0x80 and len(raw) - begin < varint.MAX_BYTES:
                take(1)
            try:
                return varint.decode(memoryview(raw), begin)[0]
            except CodecError as exc:
                raise CarError(f"bad CID in section at byte {start}: {exc}") from exc

        take(1)
        if raw[0] == 0x12:  # a CIDv0: a bare sha2-256 multihash, 0x12 0x20 + 32 bytes
            take(1)
            if raw[1] != 0x20:
                raise CarError(f"bad CID in section at byte {start}: a CIDv0 must be a sha2-256 multihash")
            take(32)
        else:  # a CIDv1: version, codec, multihash code, digest length, digest
            version = take_varint(0)
            if version != 1:
                raise CarError(f"bad CID in section at byte {start}: unsupported CID version {version}")
            take_varint()
            take_varint()
            take(take_varint())
        try:
            return CID.from_bytes(bytes(raw))
        except CodecError as exc:
            raise CarError(f"bad CID in section at byte {start}: {exc}") from exc
