"""Content identifiers (CIDv0 and CIDv1), and the multihashes a block is verified with.

Spec: https://github.com/multiformats/cid. A CIDv0 is a bare sha2-256 multihash of a dag-pb block,
written in base58btc; a CIDv1 is ``<version><codec><multihash>``, written in base32 with a ``b``
prefix. Two CIDs with the same multihash address the same bytes: the block store keys on the
multihash, as Kubo's does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from ..errors import CodecError, InvalidInputError
from . import multibase, varint

DAG_PB = 0x70
RAW = 0x55
DAG_CBOR = 0x71
SHA2_256 = 0x12
SHA2_512 = 0x13
BLAKE2B_256 = 0xB220
BLAKE3 = 0x1E
IDENTITY = 0x00
DAG_JSON = 0x0129

_CODEC_NAMES = {DAG_PB: "dag-pb", RAW: "raw", DAG_CBOR: "dag-cbor", DAG_JSON: "dag-json"}


_set = object.__setattr__


class CID:
    """An immutable, hashable CID. ``str()`` gives Kubo's text form, ``bytes()`` the binary one."""

    __slots__ = ("version", "codec", "multihash")

    version: int
    codec: int
    multihash: bytes

    def __init__(self, version: int, codec: int, multihash: bytes) -> None:
        if version == 0 and (codec != DAG_PB or not multihash.startswith(b"\x12\x20")):
            raise CodecError("CIDv0 must be a dag-pb sha2-256 multihash")
        if version not in (0, 1):
            raise CodecError(f"unsupported CID version {version}")
        object.__setattr__(self, "version", version)
        object.__setattr__(self, "codec", codec)
        object.__setattr__(self, "multihash", bytes(multihash))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("CID is immutable")

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_digest(cls, digest: bytes, codec: int = DAG_PB, version: int = 1) -> CID:
        """A CID from a sha2-256 digest (made once per block an import hashes: without ``__init__``'s
        checks where they cannot fail)."""
        if version == 1 or (version == 0 and codec == DAG_PB):
            cid = object.__new__(cls)
            _set(cid, "version", version)
            _set(cid, "codec", codec)
            _set(cid, "multihash", b"\x12\x20" + digest)
            return cid
        return cls(version, codec, b"\x12\x20" + digest)  # raises why

    @classmethod
    def hash_block(cls, data: bytes, codec: int = DAG_PB, version: int = 1) -> CID:
        return cls.from_digest(hashlib.sha256(data).digest(), codec, version)

    @classmethod
    def decode(cls, data: bytes | memoryview, offset: int = 0) -> tuple[CID, int]:
        """Decode a binary CID at ``offset``; return it and the offset after it."""
        if len(data) - offset >= 34 and data[offset] == 0x12 and data[offset + 1] == 0x20:
            end = offset + 34
            return cls(0, DAG_PB, bytes(data[offset:end])), end
        version, pos = varint.decode(data, offset)
        if version != 1:
            raise CodecError(f"unsupported CID version {version}")
        codec, pos = varint.decode(data, pos)
        mh_start = pos
        _code, pos = varint.decode(data, pos)
        length, pos = varint.decode(data, pos)
        end = pos + length
        if end > len(data):
            raise CodecError("truncated multihash in CID")
        return cls(1, codec, bytes(data[mh_start:end])), end

    @classmethod
    def from_bytes(cls, data: bytes) -> CID:
        cid, end = cls.decode(data)
        if end != len(data):
            raise CodecError("trailing bytes after CID")
        return cid

    @classmethod
    def parse(cls, text: str) -> CID:
        """Parse Kubo's text forms: ``Qm...`` (v0), ``b...``/``B...`` (base32), ``z...`` (base58)."""
        text = text.strip()
        try:
            if len(text) == 46 and text.startswith("Qm"):
                return cls.from_bytes(multibase.b58decode(text))
            if text[:1] in ("b", "B"):
                return cls.from_bytes(multibase.b32decode(text[1:]))
            if text[:1] == "z":
                return cls.from_bytes(multibase.b58decode(text[1:]))
        except CodecError as exc:
            raise InvalidInputError(f"invalid CID {text!r}: {exc}") from exc
        raise InvalidInputError(f"invalid CID {text!r}: not a CIDv0 or base32/base58 CIDv1")

    # -- views --------------------------------------------------------------------------------
    @property
    def digest(self) -> bytes:
        """The hash digest (the multihash without its code and length)."""
        _code, pos = varint.decode(self.multihash)
        _length, pos = varint.decode(self.multihash, pos)
        return self.multihash[pos:]

    @property
    def hash_code(self) -> int:
        return varint.decode(self.multihash)[0]

    @property
    def codec_name(self) -> str:
        return _CODEC_NAMES.get(self.codec, hex(self.codec))

    def to_v1(self) -> CID:
        return self if self.version == 1 else CID(1, self.codec, self.multihash)

    def __bytes__(self) -> bytes:
        if self.version == 0:
            return self.multihash
        return varint.encode(1) + varint.encode(self.codec) + self.multihash

    def __str__(self) -> str:
        if self.version == 0:
            return multibase.b58encode(self.multihash)
        return "b" + multibase.b32encode(bytes(self))

    def __repr__(self) -> str:
        return f"CID({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CID):
            return NotImplemented
        return (self.version, self.codec, self.multihash) == (other.version, other.codec, other.multihash)

    def __hash__(self) -> int:
        return hash((self.version, self.codec, self.multihash))

    def __reduce__(self) -> tuple[type[CID], tuple[int, int, bytes]]:
        return (CID, (self.version, self.codec, self.multihash))


def make_cid(digest: bytes, codec: int, version: int) -> CID:
    """CID for a block hashed with sha2-256; raw blocks are always CIDv1 (v0 cannot say 'raw')."""
    if codec != DAG_PB:
        version = 1
    return CID.from_digest(digest, codec, version)


def block_matches(cid: CID, data: bytes | memoryview) -> bool:
    """True when ``data`` hashes to ``cid``'s multihash. The hash functions Kubo verifies:
    sha2-256, sha2-512, blake2b-256, blake3 (256-bit), and identity (the data inline)."""
    code = cid.hash_code
    hasher = HASHERS.get(code)
    if hasher is not None:
        return hasher(data).digest() == cid.digest
    if code == IDENTITY:
        return bytes(data) == cid.digest
    raise CodecError(f"unsupported multihash code {code:#x} in {cid}")


def _blake3(data: bytes | memoryview) -> Any:
    import blake3  # the BLAKE3 team's binding; loaded only for the CARs that use it

    return blake3.blake3(data)


# multihash code -> a hashlib-like constructor of a hasher over the data
HASHERS: dict[int, Callable[[bytes | memoryview], Any]] = {
    SHA2_256: hashlib.sha256,
    SHA2_512: hashlib.sha512,
    BLAKE2B_256: lambda data: hashlib.blake2b(data, digest_size=32),
    BLAKE3: _blake3,
}
