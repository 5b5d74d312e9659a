"""Where the real reference data lives (``/work/shared/data``, next to the checkout) and how its
folders list their files: an ``INDEX.tsv`` with a header row and the relative path in column 2.

The corpus builders read model, dataset and Space cards from there when it is present and fall
back to generated content when it is not (tests that need the real data skip, or fail under CI).
"""

from __future__ import annotations

from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def index_files(folder: Path) -> list[tuple[list[str], bytes]]:
    """Each INDEX.tsv row (its columns) with the bytes of the file it names; [] without an index."""
    index = folder / "INDEX.tsv"
    if not index.is_file():
        return []
    rows = [line.split("\t") for line in index.read_text(encoding="utf-8").splitlines()[1:] if line]
    return [(row, (folder / row[1]).read_bytes()) for row in rows]
