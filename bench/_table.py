"""The runner's common row: what each benchmark script hands ``python -m bench`` for the table.

Every script keeps its own detailed report; ``headline(numbers)`` picks the few figures a reader
compares — each next to the baseline measured in the same run, and the issue's target when there is
one — so the runner can print all areas side by side without knowing any script's JSON layout.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One line of the runner's table.

    ``value`` is shown as is (already formatted, with its unit); ``ratio`` is value ÷ ``baseline``
    in the direction the measure names (e.g. throughput × sha256); ``met`` is None where the issue
    sets no target."""

    area: str
    measure: str
    value: str
    baseline: str = ""
    ratio: float | None = None
    target: str = ""
    met: bool | None = None
