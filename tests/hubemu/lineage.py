"""Model lineage from the card: ``base_model`` / ``base_model_relation``, as the Hub derives it.

* A card's ``base_model`` is one id or a list of ids; ``base_model_relation`` is one of
  ``adapter``, ``merge``, ``quantized``, ``finetune``. Without it (or with another value) the
  relation is ``merge`` for several bases and ``finetune`` for one.
* The Hub tags such a model twice per base: ``base_model:<id>`` and ``base_model:<relation>:<id>``
  (so ``filter=base_model:finetune:<id>`` works); the tags are derived, whatever the repo's stored
  tags say, so a test's hand-made repo or a README update gets them too.
* ``baseModels`` (model info only) is ``{"relation": r, "models": [{"_id", "id"}...]}`` with ``_id``
  only for bases the Hub hosts; ``childrenModelCount`` is ``{relation: count}`` of the hosted public
  models naming this one as a base.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from .repo import Repo

RELATIONS = ("adapter", "merge", "quantized", "finetune")
_REPO_ID = re.compile(r"^[\w.-]+(/[\w.-]+)?$")
# Hub-derived tags go before these trailing ones (the Hub lists license and compatibility tags last).
_TAIL = ("license:", "endpoints_compatible", "region:")


def card_bases(card_data: dict[str, Any] | None) -> tuple[str, list[str]] | None:
    """(relation, base ids) from a card's front matter, or None when it names no base."""
    if not card_data:
        return None
    value = card_data.get("base_model")
    ids = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    ids = list(dict.fromkeys(i.strip() for i in ids if isinstance(i, str) and _REPO_ID.match(i.strip())))
    if not ids:
        return None
    relation = card_data.get("base_model_relation")
    if relation not in RELATIONS:
        relation = "merge" if len(ids) > 1 else "finetune"
    return relation, ids


def lineage_tags(card_data: dict[str, Any] | None) -> list[str]:
    bases = card_bases(card_data)
    if bases is None:
        return []
    relation, ids = bases
    return [tag for i in ids for tag in (f"base_model:{i}", f"base_model:{relation}:{i}")]


def effective_tags(repo: Repo) -> list[str]:
    """The tags the Hub shows: the stored ones plus (models) the lineage tags of the current card."""
    tags = list(repo.tags)
    extra = [t for t in lineage_tags(repo.card_data) if t not in tags] if repo.type == "model" else []
    if not extra:
        return tags
    at = next((n for n, t in enumerate(tags) if t.startswith(_TAIL)), len(tags))
    return tags[:at] + extra + tags[at:]


def base_models_field(card_data: dict[str, Any] | None, hosted_ids: dict[str, str]) -> dict[str, Any] | None:
    """The ``baseModels`` value; ``hosted_ids`` maps a hosted model id to its ``_id``."""
    bases = card_bases(card_data)
    if bases is None:
        return None
    relation, ids = bases
    models = [{"_id": hosted_ids[i], "id": i} if i in hosted_ids else {"id": i} for i in ids]
    return {"relation": relation, "models": models}


def children_count(model_id: str, others: Iterable[Repo]) -> dict[str, int]:
    """``childrenModelCount``: per relation, how many of ``others`` name ``model_id`` as a base."""
    counts: Counter[str] = Counter()
    for repo in others:
        bases = card_bases(repo.card_data) if repo.type == "model" and not repo.private else None
        if bases is not None and model_id in bases[1] and repo.id != model_id:
            counts[bases[0]] += 1
    return {r: counts[r] for r in RELATIONS if counts[r]}
