"""What a scraper is: a repo type, its listing filters and its metadata — nothing about I/O.

Like a spider over shared pipelines: models, datasets and Spaces differ only here; discovery,
downloading, storing, state and rate limits live in :mod:`hf_ipfs_scraper.pipeline`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..config import Config
from ..records import RepoRecord


class RepoScraper:
    """Base scraper; subclasses set ``repo_type`` and may refine the filters and metadata."""

    repo_type: ClassVar[str]

    def __init__(self, config: Config) -> None:
        self.config = config

    @property
    def run_key(self) -> str:
        return f"{self.repo_type}s"

    def listing_params(self) -> dict[str, Any]:
        """Filters the Hub applies server-side (one value each), narrowing what is listed."""
        authors = self.config.filters_authors
        return {"author": authors[0]} if len(authors) == 1 else {}

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
        cfg = self.config
        return bool(len(cfg.filters_authors) > 1 or cfg.filters_min_likes or cfg.filters_min_downloads)

    def metadata(self, record: RepoRecord) -> dict[str, Any]:
        """The normalized metadata.json content for this repo type."""
        return record.metadata()
