"""``GET /api/models|datasets|spaces``: filters, sort order and cursor pagination.

The Hub pages listings with ``limit`` as the page size (at most 1000) and a ``Link: <absolute
url>; rel="next"`` header whose URL repeats the query with an opaque ``cursor``. Here the cursor
is keyset-based (the last item's sort key and id, base64url-encoded), so items added between two
pages neither shift nor duplicate the ones already seen, as with the Hub's cursors.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .lineage import effective_tags
from .repo import Repo

SORT_KEYS = {
    "trendingScore": "trending_score",
    "trending_score": "trending_score",
    "likes": "likes",
    "downloads": "downloads",
    "createdAt": "created_at",
    "created_at": "created_at",
    "lastModified": "last_modified",
    "last_modified": "last_modified",
    "id": "id",
}
MAX_PAGE = 1000
# The sort keys the Hub lists oldest/smallest first when asked (``direction=1``); for the others it
# ignores the direction and lists descending ("does not allow ascending sort for downloads, likes,
# trending_score and last_modified", huggingface_hub#3630, which removed ``direction`` from the client).
ASCENDING_SORTS = frozenset({"created_at", "id"})


class BadQuery(ValueError):
    """A query the Hub answers with 400."""


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "true", "yes")


@dataclass(frozen=True)
class ListQuery:
    search: list[str]
    author: str | None
    filters: list[str]
    pipeline_tag: str | None
    gated: bool | None
    sort: str
    descending: bool
    limit: int
    cursor: tuple[Any, str] | None
    expand: list[str]
    full: bool
    card_data: bool
    config: bool

    @classmethod
    def parse(
        cls, params: dict[str, list[str]], *, page_size: int, valid_expand: Sequence[str],
        ascending: frozenset[str] = ASCENDING_SORTS,
    ) -> ListQuery:
        """``ascending``: the sort keys whose ``direction=1`` is honoured (``ASCENDING_SORTS``)."""
        def one(name: str) -> str | None:
            values = params.get(name)
            return values[-1] if values else None

        sort = one("sort") or "trendingScore"
        if sort not in SORT_KEYS:
            raise BadQuery(f'Invalid sort parameter "{sort}"')
        direction = one("direction")
        if direction not in (None, "-1", "1"):
            raise BadQuery('"direction" must be -1 or 1')
        limit_text = one("limit")
        try:
            limit = int(limit_text) if limit_text is not None else page_size
        except ValueError:
            raise BadQuery('"limit" must be an integer') from None
        if limit < 1:
            raise BadQuery('"limit" must be positive')
        expand = params.get("expand", []) + params.get("expand[]", [])
        bad = [e for e in expand if e not in valid_expand]
        if bad:
            raise BadQuery(f'"expand" must be one of {list(valid_expand)}; got {bad}')
        full = _truthy(one("full"))
        if expand and (full or _truthy(one("cardData")) or _truthy(one("config"))):
            raise BadQuery('"expand" cannot be combined with "full", "cardData" or "config"')
        gated = one("gated")
        return cls(
            search=[s.lower() for s in params.get("search", []) if s],
            author=one("author"),
            filters=[f for v in params.get("filter", []) for f in v.split(",") if f],
            pipeline_tag=one("pipeline_tag"),
            gated=None if gated is None else _truthy(gated),
            sort=SORT_KEYS[sort],
            descending=direction != "1" or SORT_KEYS[sort] not in ascending,
            limit=min(limit, page_size, MAX_PAGE),
            cursor=decode_cursor(one("cursor")),
            expand=expand,
            full=full,
            card_data=_truthy(one("cardData")),
            config=_truthy(one("config")),
        )

    def matches(self, repo: Repo) -> bool:
        extra = {x for x in (repo.library_name, repo.pipeline_tag, repo.sdk) if x}
        return self.matches_values(repo.id, repo.author, effective_tags(repo), extra, repo.pipeline_tag, bool(repo.gated))

    def matches_values(
        self, repo_id: str, author: str, tags: Iterable[str], extra: set[str], pipeline_tag: str | None, gated: bool
    ) -> bool:
        """The filters over a repo's listed values (``extra``: library, pipeline tag, sdk)."""
        lowered = repo_id.lower()
        if any(s not in lowered for s in self.search):
            return False
        if self.author is not None and author.lower() != self.author.lower():
            return False
        tag_set = set(tags)
        if any(f not in tag_set and f not in extra for f in self.filters):
            return False
        if self.pipeline_tag is not None and pipeline_tag != self.pipeline_tag:
            return False
        if self.gated is not None and gated != self.gated:
            return False
        return True

    def key(self, repo: Repo) -> tuple[Any, str]:
        value = getattr(repo, self.sort)
        if self.sort in ("created_at", "last_modified"):
            value = value.timestamp()
        if self.sort == "id":
            value = value.lower()
        if self.descending and not isinstance(value, str):
            value = -value
        return (value, repo.id)

    def page(self, repos: list[Repo]) -> tuple[list[Repo], tuple[Any, str] | None]:
        """The page after the cursor, and the cursor for the next page (None on the last)."""
        ordered = sorted((r for r in repos if self.matches(r)), key=self.key)
        if self.descending and self.sort == "id":
            ordered.reverse()
        if self.cursor is not None:
            after = self.cursor
            if self.descending and self.sort == "id":
                ordered = [r for r in ordered if self.key(r) < after]
            else:
                ordered = [r for r in ordered if self.key(r) > tuple(after)]
        page = ordered[: self.limit]
        more = len(ordered) > self.limit
        return page, (self.key(page[-1]) if more and page else None)


def encode_cursor(key: tuple[Any, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def decode_cursor(text: str | None) -> tuple[Any, str] | None:
    if not text:
        return None
    try:
        value, repo_id = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, TypeError):
        raise BadQuery("Invalid cursor") from None
    return (value, repo_id)
