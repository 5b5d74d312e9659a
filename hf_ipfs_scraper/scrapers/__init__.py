"""Per-repo-type scrapers: only "what to discover and what to keep"; the pipeline does the rest."""

from .base import RepoScraper
from .models import ModelsScraper

__all__ = ["ModelsScraper", "RepoScraper"]
