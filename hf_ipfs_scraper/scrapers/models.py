"""Models: trending models, filtered by pipeline tag and library as well."""

from __future__ import annotations

from typing import Any, ClassVar

from ..records import RepoRecord
from .base import RepoScraper


class ModelsScraper(RepoScraper):
    repo_type: ClassVar[str] = "model"

    def listing_params(self) -> dict[str, Any]:
        params = super().listing_params()
        tags = self.config.filters_pipeline_tags
        if len(tags) == 1:
            params["pipeline_tag"] = tags[0]
        return params

    def rejection(self, record: RepoRecord) -> str | None:
        cfg = self.config
        if cfg.filters_pipeline_tags and record.pipeline_tag not in cfg.filters_pipeline_tags:
            return f"pipeline_tag {record.pipeline_tag!r} not in filters.pipeline_tags"
        if cfg.filters_libraries and record.library_name not in cfg.filters_libraries:
            return f"library {record.library_name!r} not in filters.libraries"
        return super().rejection(record)

    @property
    def filters_client_side(self) -> bool:
        cfg = self.config
        return bool(len(cfg.filters_pipeline_tags) > 1 or cfg.filters_libraries or super().filters_client_side)
