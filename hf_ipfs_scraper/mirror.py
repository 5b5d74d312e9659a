"""``Mirror``: the notebook-facing entry point that wires config, limiter, client, state and storage.

>>> from hf_ipfs_scraper import Mirror, load_config            # doctest: +SKIP
>>> with Mirror(load_config()) as mirror:                      # doctest: +SKIP
...     summary = mirror.scrape_models(limit=10)
...     print(summary)
"""

from __future__ import annotations

import logging
import time
from typing import Callable

from .config import Config, load_config
from .errors import HubError
from .hub import transport
from .hub.client import HubClient
from .ipfs.options import ImportOptions
from .pipeline import Pipeline, ProgressCallback, RunSummary
from .ratelimit import RateLimiter
from .scrapers.base import RepoScraper
from .scrapers.models import ModelsScraper
from .state import StateStore, TrendingRow
from .storage.base import Storage
from .storage.embedded import EmbeddedStore

logger = logging.getLogger(__name__)


def _plan(config: Config) -> str:
    if config.hub_plan != "auto":
        return config.hub_plan
    return "free" if config.hub_token else "anonymous"


class Mirror:
    """One mirror over one output directory: open it, run scrapers, read status, close it."""

    def __init__(
        self,
        config: Config | None = None,
        *,
        storage: Storage | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        self.config = config or load_config()
        quotas = {
            name: value
            for name, value in (
                ("api", self.config.hub_quota_api),
                ("resolvers", self.config.hub_quota_resolvers),
                ("pages", self.config.hub_quota_pages),
            )
            if value
        }
        self.limiter = RateLimiter(_plan(self.config), quotas=quotas or None, max_concurrency=self.config.hub_max_concurrency)
        self.config.output_dir.mkdir(parents=True, exist_ok=True)
        self.state = StateStore(self.config.output_dir / "state.sqlite")
        self._owns_storage = storage is None
        try:
            self.storage: Storage = storage or EmbeddedStore(
                self.config.store_path, options=ImportOptions.profile(self.config.store_profile)
            )
        except BaseException:
            self.state.close()
            raise
        self._restore_client = transport.install(self.limiter, self.config.hub_endpoint)
        self.client = HubClient(self.config.hub_endpoint, self.config.hub_token or None)
        self.pipeline = Pipeline(
            self.config, storage=self.storage, state=self.state, client=self.client, limiter=self.limiter,
            progress=progress,
        )

    def scrape(self, scraper: RepoScraper, *, limit: int | None = None, workers: int | None = None) -> RunSummary:
        """Mirror the top ``limit`` trending repos of the scraper's type; resumable, incremental."""
        return self.pipeline.run(scraper, limit=limit, workers=workers)

    def scrape_models(self, *, limit: int | None = None, workers: int | None = None) -> RunSummary:
        return self.scrape(ModelsScraper(self.config), limit=limit, workers=workers)

    def sync(
        self,
        *,
        every: float | None = None,
        runs: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
        on_run: Callable[[RunSummary], None] | None = None,
    ) -> list[RunSummary]:
        """Run ``scrape_models`` every ``every`` seconds (``runs`` times, or until interrupted).

        A run the Hub makes impossible (the listing cannot be fetched: network down, 5xx) does not
        end the loop: its summary says ``status="failed"`` with the ``error``, and the next run comes
        at the next interval. ``on_run`` is called with each summary as soon as its run ends.
        """
        interval = every or self.config.sync_every
        summaries: list[RunSummary] = []
        while runs is None or len(summaries) < runs:
            began = time.monotonic()
            try:
                summary = self.scrape_models()
            except HubError as exc:
                summary = self.pipeline.last_summary or RunSummary(0, "model", status="failed")
                summary.error = summary.error or str(exc)
                logger.error("%s", summary)
            else:
                logger.info("%s", summary)
            summaries.append(summary)
            if on_run is not None:
                on_run(summary)
            if runs is not None and len(summaries) >= runs:
                break
            sleep(max(0.0, interval - (time.monotonic() - began)))
        return summaries

    def trending(self, repo_type: str = "model", run_id: int | None = None) -> list[TrendingRow]:
        """The ranked list a run recorded (the latest run by default)."""
        return self.state.trending(repo_type, run_id)

    def close(self) -> None:
        self._restore_client()
        if self._owns_storage:
            self.storage.close()
        self.state.close()

    def __enter__(self) -> Mirror:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
