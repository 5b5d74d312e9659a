"""The names every layer shares — entity types, statuses, provenance node keys — without the row
types: the CLI builds its parsers from these, and importing them must not cost a command's start
(``rows`` defines the dataclasses, a few milliseconds to create)."""

from __future__ import annotations

ENTITY_TYPES = ("model", "dataset", "space")
ENTITY_STATUSES = ("pending", "in_progress", "done", "failed", "skipped", "listed")
RUN_STATUSES = ("pending", "running", "completed", "failed", "interrupted")
RUN_END_STATUSES = ("completed", "failed", "interrupted")


def node_key(type: str, id: str) -> str:
    """``("model", "org/name")`` → ``"model:org/name"``: how the provenance graph names a repo."""
    return f"{type}:{id}"


def split_node(key: str) -> tuple[str, str]:
    type_, _, id_ = key.partition(":")
    return type_, id_
