"""Spaces: app files (all of them, within the file filters), how the Space looks, what it uses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from ..records import RepoRecord, SpaceRecord
from .base import COMMON_EXPAND, RepoScraper

if TYPE_CHECKING:
    from ..hub.client import HubClient


class SpacesScraper(RepoScraper):
    repo_type: ClassVar[str] = "space"
    record: ClassVar[type[RepoRecord]] = SpaceRecord
    expand: ClassVar[tuple[str, ...]] = COMMON_EXPAND + ("usedStorage", "sdk", "models", "datasets", "runtime", "subdomain")

    def rejection(self, record: RepoRecord) -> str | None:
        assert isinstance(record, SpaceRecord)
        sdks = self.config.spaces_sdks
        if sdks and record.sdk not in sdks:
            return f"sdk {record.sdk!r} not in spaces.sdks"
        return super().rejection(record)

    @property
    def filters_client_side(self) -> bool:
        return bool(self.config.spaces_sdks or super().filters_client_side)

    def extras(self, record: RepoRecord, client: HubClient) -> dict[str, Any]:
        assert isinstance(record, SpaceRecord)
        card = record.card
        return {
            "thumbnail_info.json": {
                "title": record.title, "emoji": record.emoji, "colorFrom": record.color_from,
                "colorTo": record.color_to, "short_description": record.short_description, "pinned": record.pinned,
                "license": record.license, "thumbnail": record.thumbnail, "sdk": record.sdk,
                "sdk_version": record.sdk_version, "runtime_stage": record.runtime_stage, "hardware": record.hardware,
            },
            "relationships.json": {
                "models": list(record.models),
                "datasets": list(record.datasets),
                "from_card": {"models": list(card.models), "datasets": list(card.datasets)},
            },
        }
