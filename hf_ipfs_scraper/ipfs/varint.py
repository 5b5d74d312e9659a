"""Unsigned LEB128 varints as multiformats uses them.

Spec: https://github.com/multiformats/unsigned-varint — at most 9 bytes (63 bits) and minimal:
a trailing zero byte (a non-minimal encoding) is rejected, so every value has one encoding.
"""

from __future__ import annotations

from typing import BinaryIO

from ..errors import CodecError

MAX_BYTES = 9


def encode(value: int) -> bytes:
    """Encode a non-negative integer."""
    if value < 0:
        raise ValueError(f"varint cannot encode negative {value}")
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def decode(buf: bytes | memoryview, offset: int = 0) -> tuple[int, int]:
    """Decode one varint at ``offset``; return ``(value, offset after it)``."""
    value = 0
    shift = 0
    end = len(buf)
    for i in range(MAX_BYTES):
        pos = offset + i
        if pos >= end:
            raise CodecError("truncated varint")
        byte = buf[pos]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            if byte == 0 and i > 0:
                raise CodecError("non-minimal varint")
            return value, pos + 1
        shift += 7
    raise CodecError("varint longer than 9 bytes")


def read(stream: BinaryIO) -> int | None:
    """Read one varint from a stream; ``None`` at a clean end of stream."""
    value = 0
    shift = 0
    for i in range(MAX_BYTES):
        b = stream.read(1)
        if not b:
            if i == 0:
                return None
            raise CodecError("truncated varint")
        byte = b[0]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            if byte == 0 and i > 0:
                raise CodecError("non-minimal varint")
            return value
        shift += 7
    raise CodecError("varint longer than 9 bytes")


def size(value: int) -> int:
    """Number of bytes ``encode(value)`` takes."""
    return max(1, (value.bit_length() + 6) // 7)
