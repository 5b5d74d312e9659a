"""The links of a block of any codec this store can follow: dag-pb, dag-cbor, dag-json (raw has
none). What a CAR import checks a DAG with before it pins a root, and what the block store walks.

dag-cbor is decoded by ``cbor2`` (links are CBOR tag 42: a byte string, 0x00 then the binary
CID); dag-json by the standard library (links are ``{"/": "<cid>"}``). Links come in the order
the block holds them, maps in their encoded key order, as Kubo's traversal visits them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ..errors import CodecError
from . import dagpb
from .cid import CID, DAG_CBOR, DAG_JSON, DAG_PB, RAW

FOLLOWED = frozenset({DAG_PB, DAG_CBOR, DAG_JSON, RAW})
_CID_TAG = 42


def check_followed(cid: CID) -> None:
    """:class:`CodecError` unless this module can read the links of ``cid``'s codec (checked
    before a block is read, so an unreadable codec is said as such, not as a missing block)."""
    if cid.codec not in FOLLOWED:
        raise CodecError(f"cannot follow the links of {cid}: codec {cid.codec_name} is not one this store reads")


def links_of(cid: CID, data: bytes | memoryview) -> list[CID]:
    """The CIDs ``data`` (the block of ``cid``) links to; :class:`CodecError` when it does not
    decode as its codec, or its codec is not one whose links this module can read."""
    check_followed(cid)
    if cid.codec == RAW:
        return []
    if cid.codec == DAG_PB:
        return [link.cid for link in dagpb.decode(data).links]
    if cid.codec == DAG_CBOR:
        return list(_cbor_links(bytes(data), cid))
    if cid.codec == DAG_JSON:
        try:
            value = json.loads(bytes(data))
        except ValueError as exc:
            raise CodecError(f"{cid} is not valid dag-json: {exc}") from exc
        return list(_json_links(value, cid))
    raise AssertionError(f"FOLLOWED names {cid.codec_name} but links_of does not read it")


class _Link:
    """A tag-42 value met while decoding, turned into a CID after (the hook cannot raise cleanly)."""

    __slots__ = ("raw",)

    def __init__(self, raw: Any) -> None:
        self.raw = raw


def _tag(*args: Any) -> Any:
    """cbor2's hook for tags it has no decoder of; cbor2 6 passes (tag, immutable), 5 passes
    (decoder, tag): the tag is the argument that is one."""
    import cbor2

    tag = next(a for a in args if isinstance(a, cbor2.CBORTag))
    return _Link(tag.value) if tag.tag == _CID_TAG else tag


def _cbor_links(data: bytes, cid: CID) -> Iterator[CID]:
    import cbor2  # a well-kept CBOR decoder (C extension); loaded only for dag-cbor blocks

    try:  # dag-cbor forbids indefinite lengths and repeated keys: cbor2 refuses them too here
        decoded = cbor2.loads(data, tag_hook=_tag, allow_indefinite=False, allow_duplicate_keys=False,
                              str_errors="replace")  # text that is not UTF-8 (Filecoin writes some): only links matter
    except (cbor2.CBORDecodeError, ValueError, TypeError) as exc:
        raise CodecError(f"{cid} is not valid dag-cbor: {exc}") from exc
    stack = [decoded]
    while stack:
        value = stack.pop()
        if isinstance(value, _Link):
            raw = value.raw
            if not isinstance(raw, bytes) or not raw.startswith(b"\x00"):
                raise CodecError(f"{cid} holds a CID tag (42) that is not 0x00 then a binary CID")
            yield CID.from_bytes(raw[1:])
        elif isinstance(value, dict):
            stack.extend(reversed(list(value.values())))
        elif isinstance(value, list):
            stack.extend(reversed(value))


def _json_links(value: Any, cid: CID) -> Iterator[CID]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if set(item) == {"/"} and isinstance(item["/"], str):
                yield CID.parse(item["/"])
            else:
                stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))
