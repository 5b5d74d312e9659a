"""What a scraper is: a repo type's listing, its typed record, its file selection and its extra
artefacts — nothing about downloading, storing or state.

Like a spider over shared pipelines: models, datasets and Spaces differ only here; discovery,
downloading, storing, state and rate limits live in :mod:`hf_ipfs_scraper.pipeline`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from ..config import Config
from ..records import RepoFile, RepoRecord

if TYPE_CHECKING:
    from ..hub.client import HubClient

# Every listing asks for what the record needs, in the one listing request (no per-repo info).
# (Spaces have no `gated` field: the Hub refuses it in their expand list.)
COMMON_EXPAND = ("author", "sha", "private", "disabled", "tags", "cardData", "trendingScore", "likes",
                 "lastModified", "createdAt")


class RepoScraper:
    """Base scraper; a subclass names its type, record and expand fields, and refines the rest."""

    repo_type: ClassVar[str]
    record: ClassVar[type[RepoRecord]]
    expand: ClassVar[tuple[str, ...]]
    #: The type's own listing filter, (Hub parameter, Config field): one value goes to the Hub,
    #: several are left to :meth:`rejection`.
    own_filter: ClassVar[tuple[str, str] | None] = None

    def __init__(self, config: Config) -> None:
        self.config = config

    @property
    def run_key(self) -> str:
        return f"{self.repo_type}s"

    def listing_params(self) -> dict[str, Any]:
        """Filters the Hub applies server-side (one value each), narrowing what is listed."""
        authors = self.config.filters_authors
        params = {"author": authors[0]} if len(authors) == 1 else {}
        if self.own_filter is not None:
            name, field = self.own_filter
            values = getattr(self.config, field)
            if len(values) == 1:
                params[name] = values[0]
        return params

    def rejection(self, record: RepoRecord) -> str | None:
        """Why a listed repo is not mirrored (None: it is). Applied before any request for it."""
        cfg = self.config
        if cfg.filters_authors and (record.author or "") not in cfg.filters_authors:
            return f"author {record.author!r} not in filters.authors"
        if record.likes < cfg.filters_min_likes:
            return f"{record.likes} likes < filters.min_likes {cfg.filters_min_likes}"
        if record.downloads < cfg.filters_min_downloads:
            return f"{record.downloads} downloads < filters.min_downloads {cfg.filters_min_downloads}"
        return None

    @property
    def filters_client_side(self) -> bool:
        """Whether :meth:`rejection` can reject something the server-side filters let through."""
        cfg = self.config
        own = len(getattr(cfg, self.own_filter[1])) > 1 if self.own_filter is not None else False
        return bool(own or len(cfg.filters_authors) > 1 or cfg.filters_min_likes or cfg.filters_min_downloads)

    def select_files(self, files: list[RepoFile]) -> dict[str, str]:
        """Files this type leaves out by default, path → why (after the shared file filters)."""
        return {}

    def extras(self, record: RepoRecord, client: HubClient) -> dict[str, Any]:
        """Extra artefacts written beside metadata.json: file name → JSON data."""
        return {}
