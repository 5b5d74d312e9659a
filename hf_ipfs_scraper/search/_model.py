"""The values the search index takes and gives: frozen dataclasses, checked when they are made."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError
from ..state.keys import ENTITY_TYPES, node_key

if TYPE_CHECKING:
    from ..state.rows import EntityState

SORTS = ("relevance", "trending_score", "downloads", "likes", "size")
MAX_LIMIT = 50
MAX_QUERY_CHARS = 1000
_NOT_GATED = frozenset({"", "false", "no", "0", "none"})


@dataclass(frozen=True, slots=True)
class SearchDoc:
    """One entity as the index holds it; ``SearchDoc.from_entity`` builds it from the state store."""

    entity_type: str  # "model" | "dataset" | "space"
    id: str  # repo id: "org/name" or "squad"
    author: str | None
    title: str | None  # card title (Spaces) or pretty_name (datasets)
    tags: tuple[str, ...]
    readme: str  # the whole README ("" when none); its YAML front matter is not indexed
    pipeline_tag: str | None
    library_name: str | None
    gated: bool
    size_bytes: int | None
    trending_score: float | None
    downloads: int
    likes: int
    languages: tuple[str, ...] = ()  # card languages ("de", "german"): searchable by code and name
    mirrored: bool = True  # False: known from a catalog walk only (metadata, no content, no README)

    def __post_init__(self) -> None:
        if self.entity_type not in ENTITY_TYPES:
            raise InvalidInputError(f"entity type {self.entity_type!r} is not one of {', '.join(ENTITY_TYPES)}")
        if not self.id or not isinstance(self.id, str):
            raise InvalidInputError("a search document needs a repo id")
        object.__setattr__(self, "tags", tuple(self.tags))
        object.__setattr__(self, "languages", tuple(self.languages))

    @property
    def key(self) -> str:
        """``"model:org/name"``: what :meth:`SearchIndex.upsert` replaces by and ``delete`` takes."""
        return node_key(self.entity_type, self.id)

    @staticmethod
    def indexes(entity: EntityState) -> bool:
        """Whether the index holds ``entity``: every mirrored repo, and every repo a catalog walk
        listed that has not gone since (a repo the mirror only tried, never walked, is not there)."""
        return entity.mirrored or (entity.listed_at is not None and entity.gone_at is None)

    @classmethod
    def documents(cls, entities: Iterable[EntityState],
                  readme: Callable[[EntityState], str | None] | None = None) -> Iterator[SearchDoc]:
        """The documents of those of ``entities`` the index holds (:meth:`indexes`), a mirrored
        one's with its README (``readme``, asked of mirrored ones only; None: no README text):
        what ``reindex``, a walk and ``prune`` put in the index alike."""
        for entity in entities:
            if cls.indexes(entity):
                text = readme(entity) if readme is not None and entity.mirrored else None
                yield cls.from_entity(entity, text)

    @classmethod
    def from_entity(cls, entity: EntityState, readme: str | None) -> SearchDoc:
        """The document of an entity of the state store and its README text (``Catalog.readme``;
        None for a repo not mirrored: a walk fetches no README)."""
        from ..cards import card_title  # YAML loads for writers only, not for a query

        gated = entity.gated if isinstance(entity.gated, str) else ""
        return cls(
            entity_type=entity.type,
            id=entity.id,
            author=entity.author or (entity.id.split("/")[0] if "/" in entity.id else None),
            title=card_title(entity.card_data),
            tags=tuple(dict.fromkeys((*entity.tags, *entity.task_categories))),
            readme=readme or "",
            pipeline_tag=entity.pipeline_tag,
            library_name=entity.library_name,
            gated=gated.strip().lower() not in _NOT_GATED,
            size_bytes=entity.size_bytes,
            trending_score=entity.trending_score,
            downloads=entity.downloads or 0,
            likes=entity.likes or 0,
            languages=entity.languages,
            mirrored=entity.mirrored,
        )


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """What to find. Every filter narrows (they combine with AND); ``text`` "" matches every document.

    ``text`` follows tantivy's query language, parsed leniently (see the package docstring): words
    must all match (AND), ``OR``, ``-word``, ``"a phrase"``, ``title:word``, ``(groups)``.
    ``keys`` ("model:org/name", ...) limits the hits to those entities: an empty set finds nothing.
    With ``sort="relevance"`` and no text the order is ``trending_score`` (then by key).
    """

    text: str = ""
    types: tuple[str, ...] = ()  # entity types; empty: all
    size_gte: int | None = None  # bytes, inclusive
    size_lte: int | None = None  # bytes, inclusive
    tags: tuple[str, ...] = ()  # every tag must be there (case-insensitive)
    pipeline_tag: str | None = None
    library: str | None = None
    author: str | None = None  # case-insensitive, as the Hub treats user names
    gated: bool | None = None
    mirrored: bool | None = None  # True: mirrored repos only; False: catalog-only ones; None: both
    keys: frozenset[str] | None = None
    sort: str = "relevance"
    descending: bool = True
    limit: int = 20
    page: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise InvalidInputError("the query text must be a string")
        if len(self.text) > MAX_QUERY_CHARS:
            raise InvalidInputError(f"the query is {len(self.text)} characters long; at most {MAX_QUERY_CHARS}")
        for name in ("types", "tags"):
            value = getattr(self, name)
            object.__setattr__(self, name, (value,) if isinstance(value, str) else tuple(value))
        if self.keys is not None:
            object.__setattr__(self, "keys", frozenset(self.keys))
        unknown = [t for t in self.types if t not in ENTITY_TYPES]
        if unknown:
            raise InvalidInputError(f"unknown entity type {unknown[0]!r} (use {', '.join(ENTITY_TYPES)})")
        if self.sort not in SORTS:
            raise InvalidInputError(f"cannot sort by {self.sort!r} (use {', '.join(SORTS)})")
        _check_int("limit", self.limit, 1, MAX_LIMIT)
        _check_int("page", self.page, 1, None)
        for name in ("size_gte", "size_lte"):
            if getattr(self, name) is not None:
                _check_int(name, getattr(self, name), 0, None)
        for name in ("pipeline_tag", "library", "author"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise InvalidInputError(f"{name} must be a string")
        for name in ("gated", "mirrored"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), bool):
                raise InvalidInputError(f"{name} must be true, false or unset")

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


def _check_int(name: str, value: Any, low: int, high: int | None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"{name} must be an integer, not {value!r}")
    if value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise InvalidInputError(f"{name} must be {bounds}, not {value}")


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One entity found. ``score`` is the bm25 score when sorting by relevance (0.0 otherwise);
    ``snippet`` is HTML: a README excerpt, matches in ``<mark>``, everything else escaped."""

    entity_type: str
    id: str
    score: float
    snippet: str
    size_bytes: int | None
    trending_score: float | None
    downloads: int
    likes: int
    pipeline_tag: str | None
    library_name: str | None
    author: str | None
    gated: bool
    title: str | None
    mirrored: bool = True  # False: a catalog entity, metadata only (no README, no content)

    @property
    def key(self) -> str:
        return node_key(self.entity_type, self.id)


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of hits; ``total`` counts every match; ``warnings`` says what of the query text was
    ignored or relaxed (an unclosed quote, an unknown field, AND relaxed to OR)."""

    hits: tuple[SearchHit, ...]
    total: int
    page: int
    limit: int
    pages: int
    warnings: tuple[str, ...] = ()

    @classmethod
    def of(cls, hits: list[SearchHit], total: int, query: SearchQuery, warnings: list[str]) -> SearchPage:
        return cls(tuple(hits), total, query.page, query.limit, math.ceil(total / query.limit), tuple(warnings))
