"""Import options and Kubo's two named profiles.

Kubo's flags map onto :class:`ImportOptions` exactly: ``--cid-version``, ``--raw-leaves``,
``--chunker size-N`` and ``--profile``. ``--cid-version 1`` turns raw leaves on unless raw leaves
were set explicitly, as Kubo does.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from ..errors import InvalidInputError

MAX_CHUNK_SIZE = 1 << 20  # Kubo refuses chunks over 1 MiB
PROFILES = ("unixfs-v0-2015", "unixfs-v1-2025")


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """How bytes become a DAG. The defaults are Kubo's ``unixfs-v0-2015`` (plain ``ipfs add``)."""

    cid_version: int = 0
    raw_leaves: bool = False
    chunk_size: int = 262_144
    max_links: int = 174
    #: a directory whose estimated node size exceeds this becomes a HAMT shard (strictly greater)
    shard_threshold: int = 262_144
    #: "links": sum of name bytes + CID bytes per link (Kubo's legacy estimate, v0 profile);
    #: "block": the exact size of the directory block (v1 profile)
    shard_estimate: Literal["links", "block"] = "links"
    shard_fanout: int = 256

    def __post_init__(self) -> None:
        if self.cid_version not in (0, 1):
            raise InvalidInputError(f"cid version must be 0 or 1, got {self.cid_version}")
        if not 1 <= self.chunk_size <= MAX_CHUNK_SIZE:
            raise InvalidInputError(f"chunk size must be 1..{MAX_CHUNK_SIZE} bytes, got {self.chunk_size}")
        if self.max_links < 2:
            raise InvalidInputError(f"max links per node must be at least 2, got {self.max_links}")
        if self.shard_fanout != 256:
            raise InvalidInputError("only a HAMT fanout of 256 is supported (Kubo's)")

    @classmethod
    def profile(cls, name: str) -> ImportOptions:
        """Kubo's named import profiles (IPIP-499)."""
        if name == "unixfs-v0-2015":
            return cls()
        if name == "unixfs-v1-2025":
            return cls(cid_version=1, raw_leaves=True, chunk_size=1 << 20, max_links=1024, shard_estimate="block")
        raise InvalidInputError(f"unknown profile {name!r}; expected one of {', '.join(PROFILES)}")

    @classmethod
    def from_kubo_flags(
        cls,
        profile: str | None = None,
        cid_version: int | None = None,
        raw_leaves: bool | None = None,
        chunker: str | None = None,
    ) -> ImportOptions:
        """Combine Kubo-style flags; explicit flags override the profile."""
        opts = cls.profile(profile or "unixfs-v0-2015")
        changes: dict[str, object] = {}
        if cid_version is not None:
            changes["cid_version"] = cid_version
            if cid_version == 1 and raw_leaves is None:
                changes["raw_leaves"] = True
        if raw_leaves is not None:
            changes["raw_leaves"] = raw_leaves
        if chunker is not None:
            changes["chunk_size"] = parse_chunker(chunker)
        return dataclasses.replace(opts, **changes) if changes else opts  # type: ignore[arg-type]


def parse_chunker(spec: str) -> int:
    """Parse Kubo's ``size-N`` chunker spec (the only chunker supported; rabin/buzhash are not)."""
    if not spec.startswith("size-"):
        raise InvalidInputError(f"unsupported chunker {spec!r}: only size-N is supported")
    try:
        size = int(spec[5:])
    except ValueError:
        raise InvalidInputError(f"bad chunker {spec!r}: size-N needs a whole number of bytes") from None
    if not 1 <= size <= MAX_CHUNK_SIZE:
        raise InvalidInputError(f"bad chunker {spec!r}: size must be 1..{MAX_CHUNK_SIZE}")
    return size
