"""Datasets: by default the card, the small metadata/config/script files and a sample of the data
(``datasets.sample_size`` bytes per repo, first shards first); ``datasets.full`` keeps every file.
The dataset viewer's splits and first rows go into ``preview_info.json``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar

from ..records import DatasetRecord, RepoFile, RepoRecord
from .base import COMMON_EXPAND, RepoScraper

if TYPE_CHECKING:
    from ..hub.client import HubClient

METADATA_MAX = 1 << 20  # a non-data file up to 1 MiB is metadata (card, config, script): always kept
DATA_SUFFIXES = (
    ".parquet", ".arrow", ".csv", ".tsv", ".jsonl", ".ndjson", ".avro", ".orc", ".tfrecord", ".npy", ".npz",
    ".h5", ".hdf5", ".zip", ".tar", ".gz", ".bz2", ".xz", ".zst", ".7z", ".lz4", ".wav", ".mp3", ".flac",
    ".ogg", ".jpg", ".jpeg", ".png", ".webp", ".mp4", ".pdf", ".db", ".sqlite",
)
_SHARD = re.compile(r"-(\d{5})-of-\d{5}")


def is_data_file(file: RepoFile) -> bool:
    return file.path.lower().endswith(DATA_SUFFIXES) or file.size > METADATA_MAX


def _sample_order(file: RepoFile) -> tuple[int, str]:
    """First shards of every split first (``train-00000-of-00004`` before ``train-00001``)."""
    shard = _SHARD.search(file.path)
    return (int(shard.group(1)) if shard else 0, file.path)


class DatasetsScraper(RepoScraper):
    repo_type: ClassVar[str] = "dataset"
    record: ClassVar[type[RepoRecord]] = DatasetRecord
    expand: ClassVar[tuple[str, ...]] = COMMON_EXPAND + (
        "gated", "downloads", "usedStorage", "description", "citation", "paperswithcode_id")
    own_filter: ClassVar[tuple[str, str] | None] = ("task_categories", "datasets_task_categories")

    def rejection(self, record: RepoRecord) -> str | None:
        assert isinstance(record, DatasetRecord)
        tasks = self.config.datasets_task_categories
        if tasks and not set(tasks) & set(record.task_categories):
            return f"task categories {list(record.task_categories)} not in datasets.task_categories"
        return super().rejection(record)

    def select_files(self, files: list[RepoFile]) -> dict[str, str]:
        if self.config.datasets_full:
            return {}
        budget = self.config.datasets_sample_size
        left_out: dict[str, str] = {}
        for file in sorted((f for f in files if is_data_file(f)), key=_sample_order):
            if file.size <= budget:
                budget -= file.size
            else:
                left_out[file.path] = "past the datasets.sample_size sample (--full keeps it)"
        return left_out

    def extras(self, record: RepoRecord, client: HubClient) -> dict[str, Any]:
        if not self.config.datasets_preview:
            return {}
        return {"preview_info.json": client.viewer.preview(record.id, gated=bool(record.gated)).as_dict()}
