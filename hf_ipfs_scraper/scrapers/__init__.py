"""Per-repo-type scrapers: only "what to discover and what to keep"; the pipeline does the rest."""

from .base import RepoScraper
from .datasets import DatasetsScraper
from .models import ModelsScraper
from .spaces import SpacesScraper

SCRAPERS: dict[str, type[RepoScraper]] = {"model": ModelsScraper, "dataset": DatasetsScraper, "space": SpacesScraper}

__all__ = ["SCRAPERS", "DatasetsScraper", "ModelsScraper", "RepoScraper", "SpacesScraper"]
