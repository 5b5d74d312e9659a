"""Which repos a record says it derives from or uses: pure extraction, no I/O.

Edges point from the derived repo to its source (node keys ``"type:id"``):

* model → base model, relation ``finetune | adapter | quantized | merge | unknown``. Sources, in the
  order that decides the relation: the card's ``base_model_relation``; the Hub's
  ``base_model:<relation>:<id>`` tags; the Hub's own ``baseModels`` (model_info only); otherwise a
  card ``base_model`` is a ``merge`` when it names several bases and a ``finetune`` when it names
  one, and a base known only from a bare ``base_model:<id>`` tag is ``unknown``;
* model → dataset ``trained_on`` (``dataset:<id>`` tags, the card's ``datasets``);
* space → model / dataset ``uses`` (the Hub's ``models``/``datasets`` fields and the card's);
* dataset → dataset ``derived_from``: the card's ``source_datasets`` that are repo ids
  (``extended|squad`` → ``squad``; ``original`` means none; ``other-*`` names a source outside
  the Hub, warned about).

A self-reference, or a string that is not a repo id, is dropped with a warning; cycles are caught
where the edges are stored (:meth:`StateStore.replace_edges`), which sees the whole graph.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from huggingface_hub.errors import HFValidationError
from huggingface_hub.utils import validate_repo_id

from ..records import DatasetRecord, ModelRecord, RepoRecord, SpaceRecord, tag_values
from ..state.rows import EdgeRow, node_key

BASE_RELATIONS = ("finetune", "adapter", "quantized", "merge", "unknown")
RELATIONS = BASE_RELATIONS + ("trained_on", "uses", "derived_from")
_HUB_URL = re.compile(r"^https?://(?:www\.)?(?:huggingface\.co|hf\.co)/(?:(models|datasets|spaces)/)?([^?#]+?)/?$")
_NO_SOURCE = {"original", "extended", "none", "n/a"}


@dataclass(frozen=True, slots=True)
class Extraction:
    """What one record says: its outgoing edges and why some references were dropped."""

    edges: tuple[EdgeRow, ...]
    warnings: tuple[str, ...]


def extract(record: RepoRecord) -> Extraction:
    """The provenance edges of one listed repo (see the module docstring for the rules)."""
    found = _Found(record)
    if isinstance(record, ModelRecord):
        _model(record, found)
    elif isinstance(record, SpaceRecord):
        for model in record.models:
            found.add(model, "model", "uses", "models")
        for dataset in record.datasets:
            found.add(dataset, "dataset", "uses", "datasets")
    elif isinstance(record, DatasetRecord):
        for source in record.card.source_datasets:
            name = source.split("|", 1)[1] if source.startswith("extended|") else source
            if name.strip().lower() in _NO_SOURCE:
                continue
            if name.startswith("other"):  # the cards' convention for a source outside the Hub
                found.warnings.append(f"derived_from: {source!r} is not a repo id (a source outside the Hub)")
                continue
            found.add(name, "dataset", "derived_from", "cardData.source_datasets")
    return Extraction(tuple(found.edges.values()), tuple(found.warnings))


def _model(record: ModelRecord, found: _Found) -> None:
    card = record.card
    relation_of: dict[str, tuple[str, str]] = {}  # base id -> (relation, evidence), best source first
    tagged = [t.split(":", 1) for t in tag_values(record.tags, "base_model")]
    for parts in tagged:  # "finetune:org/x" -> ["finetune", "org/x"]; a bare "org/x" has one part
        if len(parts) == 2 and parts[0] in BASE_RELATIONS:
            relation_of.setdefault(parts[1], (parts[0], "tags"))
    hub = record.base_model_relation if record.base_model_relation in BASE_RELATIONS else None
    for base in record.base_models:
        if hub is not None:
            relation_of.setdefault(base, (hub, "hub.baseModels"))
    card_relation = card.base_model_relation
    inferred = "merge" if len(card.base_models) > 1 else "finetune"
    for base in card.base_models:
        relation, evidence = relation_of.get(base, (inferred, "cardData.base_model"))
        if card_relation is not None:
            relation, evidence = card_relation, "cardData.base_model_relation"
        found.add(base, "model", relation, evidence)
    for base in record.base_models:
        relation, evidence = relation_of.get(base, ("unknown", "hub.baseModels"))
        found.add(base, "model", relation, evidence)
    for parts in tagged:
        base = parts[-1] if len(parts) == 1 or parts[0] in BASE_RELATIONS else ":".join(parts)
        relation, evidence = relation_of.get(base, ("unknown", "tags"))
        found.add(base, "model", relation, evidence)
    for dataset in (*tag_values(record.tags, "dataset"), *card.datasets):
        found.add(dataset, "dataset", "trained_on", "tags/cardData.datasets")


class _Found:
    """Edges gathered so far, one per (target, relation family), and the warnings."""

    def __init__(self, record: RepoRecord) -> None:
        self.src = node_key(record.type, record.id)
        self.record = record
        self.edges: dict[tuple[str, bool], EdgeRow] = {}
        self.warnings: list[str] = []

    def add(self, reference: str, type_: str, relation: str, evidence: str) -> None:
        parsed = repo_reference(reference, type_)
        if parsed is None:
            self.warnings.append(f"{relation}: {reference!r} is not a repo id")
            return
        dst = node_key(*parsed)
        if dst == self.src:
            self.warnings.append(f"{relation}: {reference!r} names the repo itself")
            return
        # A base named by several sources is one edge: the first (best) source's relation wins.
        key = (dst, relation in BASE_RELATIONS)
        self.edges.setdefault(key, EdgeRow(self.src, dst, relation, evidence))


def repo_reference(text: object, default_type: str) -> tuple[str, str] | None:
    """``(type, id)`` for a repo id or a Hub URL naming one; None for anything else."""
    if not isinstance(text, str):
        return None
    value = text.strip()
    type_ = default_type
    url = _HUB_URL.match(value)
    if url is not None:
        prefix, value = url.groups()
        type_ = {"models": "model", "datasets": "dataset", "spaces": "space"}.get(prefix or "", default_type)
        value = value.split("/tree/", 1)[0].split("/blob/", 1)[0]
    try:
        validate_repo_id(value)
    except HFValidationError:
        return None
    return type_, value
