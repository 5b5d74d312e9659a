"""How ``HubApp`` serves a generated entity: its wire fields and, on demand, its files.

``GeneratedFields`` is ``payloads.Fields`` over an ``Entity``. A listing item needs no files and
no ``Repo``: the entity stands in for the repo (it has the attributes ``Fields`` reads), and the
siblings' names, ``config``, ``safetensors``, ``gguf``, ``usedStorage``, the dataset
``description``/``citation`` are the entity's, so a page of 1000 costs 1000 entity draws.
``GeneratedHosted`` is a ``Hosted`` whose commits (one per version) ``genfiles`` made from the
entity, for info with ``blobs``, tree, paths-info, commits and resolve; its fields read the
materialized commit where the files matter (siblings with blobs, cardData at an old revision).
``baseModels`` / ``childrenModelCount`` read the hub's lineage truth (``GeneratedHub``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import payloads
from .genentity import Entity, iso_seconds
from .repo import iso
from .state import Commit, Hosted

if TYPE_CHECKING:
    from .generated import GeneratedHub


@dataclass
class GeneratedHosted(Hosted):
    entity: Entity | None = field(default=None)
    hub: GeneratedHub | None = field(default=None, repr=False)

    def fields(self, commit: Commit, *, blobs: bool = False) -> GeneratedFields:
        assert self.entity is not None and self.hub is not None
        return GeneratedFields(self.entity, self.hub, hosted=self, commit=commit, blobs=blobs)


class GeneratedFields(payloads.Fields):
    _methods: dict[str, Callable[[Any], Any]] = {}

    def __init__(
        self, entity: Entity, hub: GeneratedHub, *, hosted: Hosted | None = None, commit: Commit | None = None,
        blobs: bool = False,
    ) -> None:
        # no super().__init__: a listing item has no Hosted, Commit or Repo (see the docstring)
        self.entity, self.gen = entity, hub
        self.hosted, self.commit, self.blobs, self.state = hosted, commit, blobs, None  # type: ignore[assignment]
        self.repo = hosted.repo if hosted is not None else entity  # type: ignore[assignment]

    def get(self, name: str) -> Any:
        methods = GeneratedFields._methods
        method = methods.get(name)
        if method is None and name not in methods:
            method = methods[name] = getattr(type(self), "f_" + name.replace("-", "_"), None)  # type: ignore[assignment]
        if method is not None:
            return method(self)
        return getattr(self.entity, name, None) if name in ("private", "gated", "disabled", "likes") else None

    def _at_head(self) -> bool:
        return self.commit is None or self.hosted is None or self.commit is self.hosted.head

    def f__id(self) -> str:
        return self.entity.object_id

    def f_sha(self) -> str:
        return self.entity.sha if self.commit is None else self.commit.sha

    def f_lastModified(self) -> str:
        return iso_seconds(self.entity.modified) if self.commit is None else iso(self.commit.date)

    def f_createdAt(self) -> str:
        return iso_seconds(self.entity.created)

    def f_author(self) -> str | None:
        return self.entity.author or None

    def f_tags(self) -> list[str]:
        return self.entity.wire_tags()

    def f_cardData(self) -> dict[str, Any] | None:
        return self.entity.card if self._at_head() else super().f_cardData()

    def f_siblings(self) -> list[dict[str, Any]]:
        if self.commit is not None and self.commit.files:
            return super().f_siblings()
        return [{"rfilename": p} for p in self.entity.paths]

    def f_usedStorage(self) -> int:
        return self.entity.used_storage

    def f_mainSize(self) -> int | None:
        return self.entity.used_storage if self.entity.type == "dataset" else None

    def f_config(self) -> dict[str, Any] | None:
        return self.entity.config if self.entity.type == "model" else None

    def f_safetensors(self) -> dict[str, Any] | None:
        return self.entity.safetensors

    def f_gguf(self) -> dict[str, Any] | None:
        return self.entity.gguf

    def f_inference(self) -> str | None:
        return self.entity.inference

    def f_description(self) -> str | None:
        return self.entity.description

    def f_citation(self) -> str | None:
        return self.entity.citation

    def f_baseModels(self) -> dict[str, Any] | None:
        if self.entity.type != "model" or not self.entity.bases:
            return None
        models = []
        for base in self.entity.bases:
            oid = self.gen.public_object_id("model", base)
            models.append({"_id": oid, "id": base} if oid else {"id": base})
        return {"relation": self.entity.relation, "models": models}

    def f_childrenModelCount(self) -> dict[str, int] | None:
        return self.gen.children_count(self.entity.index) if self.entity.type == "model" else None


def list_items(hub: GeneratedHub, entities: Sequence[Entity], query: Any) -> list[dict[str, Any]]:
    return [
        payloads.list_item(
            GeneratedFields(e, hub), query.expand, full=query.full, card_data=query.card_data, config=query.config
        )
        for e in entities
    ]
