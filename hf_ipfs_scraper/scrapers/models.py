"""Models: trending models, filtered by pipeline tag and library as well."""

from __future__ import annotations

from typing import ClassVar

from ..records import ModelRecord, RepoRecord
from .base import COMMON_EXPAND, RepoScraper


class ModelsScraper(RepoScraper):
    repo_type: ClassVar[str] = "model"
    record: ClassVar[type[RepoRecord]] = ModelRecord
    # The Hub refuses baseModels, childrenModelCount and usedStorage in a model *listing*: base
    # models come from the card and the base_model: tags instead.
    expand: ClassVar[tuple[str, ...]] = COMMON_EXPAND + ("gated", "downloads", "library_name", "pipeline_tag")
    own_filter: ClassVar[tuple[str, str] | None] = ("pipeline_tag", "models_pipeline_tags")

    def rejection(self, record: RepoRecord) -> str | None:
        assert isinstance(record, ModelRecord)
        cfg = self.config
        if cfg.models_pipeline_tags and record.pipeline_tag not in cfg.models_pipeline_tags:
            return f"pipeline_tag {record.pipeline_tag!r} not in models.pipeline_tags"
        if cfg.models_libraries and record.library_name not in cfg.models_libraries:
            return f"library {record.library_name!r} not in models.libraries"
        return super().rejection(record)

    @property
    def filters_client_side(self) -> bool:
        cfg = self.config
        return bool(cfg.models_libraries or super().filters_client_side)
