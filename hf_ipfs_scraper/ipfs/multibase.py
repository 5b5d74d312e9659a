"""The two multibase encodings a CID string uses here: base58btc (CIDv0) and base32 lower (CIDv1).

Spec: https://github.com/multiformats/multibase. Kubo prints CIDv0 as bare base58btc (``Qm...``) and
CIDv1 as base32 with the ``b`` prefix (``bafy...``); we do the same and parse both, plus ``z``
(base58btc CIDv1) and upper-case ``B``.
"""

from __future__ import annotations

import base64

from ..errors import CodecError

_B58_ALPHABET = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58_ALPHABET)}


def b58encode(data: bytes) -> str:
    zeros = len(data) - len(data.lstrip(b"\0"))
    n = int.from_bytes(data, "big")
    out = bytearray()
    while n:
        n, rem = divmod(n, 58)
        out.append(_B58_ALPHABET[rem])
    out.extend(b"1" * zeros)
    out.reverse()
    return out.decode("ascii")


def b58decode(text: str) -> bytes:
    n = 0
    for ch in text.encode("ascii", "replace"):
        try:
            n = n * 58 + _B58_INDEX[ch]
        except KeyError:
            raise CodecError(f"invalid base58 character {chr(ch)!r}") from None
    zeros = len(text) - len(text.lstrip("1"))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * zeros + body


def b32encode(data: bytes) -> str:
    """RFC 4648 base32, lower case, no padding (multibase ``b`` without the prefix)."""
    return base64.b32encode(data).decode("ascii").rstrip("=").lower()


def b32decode(text: str) -> bytes:
    padded = text.upper() + "=" * (-len(text) % 8)
    try:
        return base64.b32decode(padded)
    except ValueError as exc:
        raise CodecError(f"invalid base32: {exc}") from exc
