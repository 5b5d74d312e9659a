"""``--shard i/n``: n machines split the entities of every run, each mirroring a stable 1/n.

An entity's shard depends on its type and id alone (a SHA-256 of ``type:id``, not its rank), so a
repo stays with its machine however the trending list shifts, and a repo new to the list lands on
one machine only. Every machine still records the whole trending list of each run: merged
(``export --merge``), the archives equal the one a single machine makes of the same repos.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True, slots=True)
class Shard:
    index: int  # 1-based, as the user writes it
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"2/3"`` → the second of three shards; ``ValueError`` otherwise."""
        match = _SPEC.match(text)
        if not match:
            raise ValueError("expected i/n, e.g. 1/3 (machine 1 of 3)")
        index, count = int(match.group(1)), int(match.group(2))
        if not 1 <= index <= count:
            raise ValueError(f"shard {index}/{count}: i must be between 1 and n")
        return cls(index, count)

    def owns(self, type: str, id: str) -> bool:
        return shard_of(type, id, self.count) == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def shard_of(type: str, id: str, count: int) -> int:
    """The 1-based shard of an entity among ``count``."""
    digest = hashlib.sha256(f"{type}:{id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % count + 1
