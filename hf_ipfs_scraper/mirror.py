"""``Mirror``: the notebook-facing entry point that wires config, limiter, client, state and storage.

>>> from hf_ipfs_scraper import Mirror, load_config            # doctest: +SKIP
>>> with Mirror(load_config()) as mirror:                      # doctest: +SKIP
...     print(mirror.scrape_all({"model": 10, "dataset": 5, "space": 5}))

Several ``Mirror`` objects may live in one process (two notebooks cells, a test and a benchmark):
they share the process's rate limiter and client installation (:mod:`.hub.session`) and, for one
output directory, its block store — a store has one writer process, and its lock is per process.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Callable, Generic, Iterable, Mapping, TypeVar

from .catalog import Catalog, stored_readme
from .config import Config, load_config
from .errors import InvalidInputError
from .hub import session
from .hub.client import HubClient
from .ipfs.cid import CID
from .ipfs.options import ImportOptions
from .layout import entity_dir
from .pipeline import README_TEXT_MAX, Pipeline, ProgressCallback, RunSummary
from .provenance.tracker import ProvenanceTracker
from .ratelimit import RateLimiter
from .records import RECORD_TYPES, REPO_TYPES
from .scrapers import SCRAPERS
from .scrapers.base import RepoScraper
from .search import SearchDoc, SearchIndex
from .merge import MergeResult, merge_archive
from .retention import PruneResult, plan_prune, prune
from .snapshot import take_snapshot
from .walk import WalkSummary, walk_hub
from .state import EntityState, SnapshotRow, StateStore, TrendingRow
from .storage.backends import open_remote
from .storage.base import Storage
from .storage.embedded import EmbeddedStore
from .storage.kubo import KuboRemote
from .storage.remote import RemoteStore

logger = logging.getLogger(__name__)
T = TypeVar("T")


def _plan(config: Config) -> str:
    if config.hub_plan != "auto":
        return config.hub_plan
    return "free" if config.hub_token else "anonymous"


def _limiter(config: Config) -> RateLimiter:
    quotas = {
        name: value
        for name, value in (
            ("api", config.hub_quota_api),
            ("resolvers", config.hub_quota_resolvers),
            ("pages", config.hub_quota_pages),
        )
        if value
    }
    return RateLimiter(_plan(config), quotas=quotas or None, max_concurrency=config.hub_max_concurrency)


class _Shared(Generic[T]):
    """One writable resource per path in this process, reference-counted: a block store and a
    search index each take a lock that a second opener in the same process would fail on."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[Path, tuple[T, int]] = {}

    def acquire(self, path: Path, make: Callable[[], T]) -> T:
        key = path.resolve()
        with self._lock:
            held, users = self._held.get(key, (None, 0))
            if held is None:
                held = make()
            self._held[key] = (held, users + 1)
            return held

    def release(self, resource: T, close: Callable[[T], None]) -> None:
        with self._lock:
            for key, (held, users) in list(self._held.items()):
                if held is resource:
                    if users > 1:
                        self._held[key] = (held, users - 1)
                    else:
                        del self._held[key]
                        close(resource)
                    return


_STORES: _Shared[EmbeddedStore] = _Shared()
_INDEXES: _Shared[SearchIndex] = _Shared()


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
        self.config.output_dir.mkdir(parents=True, exist_ok=True)
        self.state = StateStore(self.config.output_dir / "state.sqlite")
        self._shared_store: EmbeddedStore | None = None
        self._remote: RemoteStore | None = None
        self.search: SearchIndex | None = None
        try:
            self.storage: Storage = storage if storage is not None else self._open_storage()
            search_path = self.config.output_dir / "search"
            self.search = _INDEXES.acquire(search_path, lambda: SearchIndex(search_path, writable=True))
        except BaseException:
            self.close()
            raise
        self.limiter = session.acquire(self.config.hub_endpoint, lambda: _limiter(self.config))
        self._closed = False
        self.client = HubClient(
            self.config.hub_endpoint, self.config.hub_token or None,
            viewer_endpoint=self.config.datasets_viewer_endpoint, viewer_timeout=self.config.datasets_viewer_timeout,
            retries=self.config.scrape_retries,
        )
        self.provenance = ProvenanceTracker(self.state)
        self.pipeline = Pipeline(
            self.config, storage=self.storage, state=self.state, client=self.client, limiter=self.limiter,
            provenance=self.provenance, search=self.search, progress=progress,
        )
        self._backfill()
        if self.search.created:  # a new index (an archive from before search): fill it once
            self.reindex()

    def _open_storage(self) -> Storage:
        """``storage.backend``: the embedded store, or a daemon/cluster fed from the spool (an
        embedded store too, so shared per directory like one)."""
        options = ImportOptions.profile(self.config.store_profile)
        if self.config.storage_backend == "embedded":
            path = self.config.store_path
        else:
            path = self.config.output_dir / "spool"
        self._shared_store = _STORES.acquire(path, lambda: EmbeddedStore(path, options=options))
        if self.config.storage_backend == "embedded":
            return self._shared_store
        self._remote = RemoteStore(self._shared_store, open_remote(self.config))
        return self._remote

    # -- runs --------------------------------------------------------------------------------
    def scraper(self, repo_type: str) -> RepoScraper:
        if repo_type not in SCRAPERS:
            raise InvalidInputError(f"unknown repo type {repo_type!r}; expected one of {', '.join(REPO_TYPES)}")
        return SCRAPERS[repo_type](self.config)

    def scrape(
        self, scraper: RepoScraper | str, *, limit: int | None = None, workers: int | None = None
    ) -> RunSummary:
        """Mirror the top ``limit`` trending repos of one type ("model", "dataset", "space", or a
        scraper); resumable, incremental. A listing the Hub refuses gives a failed summary."""
        if isinstance(scraper, str):
            scraper = self.scraper(scraper)
        return self.pipeline.run(scraper, limit=limit, workers=workers)

    def scrape_models(self, *, limit: int | None = None, workers: int | None = None) -> RunSummary:
        return self.scrape("model", limit=limit, workers=workers)

    def scrape_datasets(self, *, limit: int | None = None, workers: int | None = None) -> RunSummary:
        return self.scrape("dataset", limit=limit, workers=workers)

    def scrape_spaces(self, *, limit: int | None = None, workers: int | None = None) -> RunSummary:
        return self.scrape("space", limit=limit, workers=workers)

    def scrape_all(self, limits: Mapping[str, int | None], *, workers: int | None = None) -> list[RunSummary]:
        """Run several types at once (one run each, ``{"model": 10, "dataset": 5}``; None = the
        configured limit). They share the limiter, which splits each quota between them."""
        types = [t for t in limits]
        for repo_type in types:
            self.scraper(repo_type)  # an unknown type fails before anything starts
        if len(types) == 1:
            return [self.scrape(types[0], limit=limits[types[0]], workers=workers)]
        with ThreadPoolExecutor(max_workers=len(types), thread_name_prefix="hf-ipfs-scrape") as pool:
            futures = [pool.submit(self.scrape, t, limit=limits[t], workers=workers) for t in types]
            try:
                return [f.result() for f in futures]
            except BaseException:  # Ctrl-C while waiting: stop every run, let them record it
                self.pipeline.stop()
                raise

    def sync(
        self,
        *,
        types: tuple[str, ...] | None = None,
        every: float | None = None,
        runs: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
        on_run: Callable[[RunSummary], None] | None = None,
    ) -> list[RunSummary]:
        """Every ``every`` seconds, one run of each of ``types`` (default ``sync.types``), ``runs``
        times or until interrupted; returns every run's summary.

        A run the Hub makes impossible (the listing cannot be fetched: network down, 5xx) does not
        end the loop: its summary says ``status="failed"`` with the ``error``, and the next run comes
        at the next interval. ``on_run`` is called with each summary as soon as its run ends.
        """
        kinds = types or tuple(t[:-1] for t in self.config.sync_types)  # "models" -> "model"
        interval = every or self.config.sync_every
        summaries: list[RunSummary] = []
        rounds = 0
        while runs is None or rounds < runs:
            began = time.monotonic()
            for summary in self.scrape_all(dict.fromkeys(kinds)):
                (logger.error if summary.error else logger.info)("%s", summary)
                summaries.append(summary)
                if on_run is not None:
                    on_run(summary)
            rounds += 1
            if runs is not None and rounds >= runs:
                break
            sleep(max(0.0, interval - (time.monotonic() - began)))
        return summaries

    def catalog(self, types: Iterable[str] | None = None, *, full: bool = False) -> list[WalkSummary]:
        """Walk the Hub's listings for the metadata of every repo of ``types`` (default: all three),
        no content: a full walk the first time (or with ``full``: it also finds what is gone),
        then refreshes of what changed; resumable where it stopped (see :mod:`.walk`). The types
        are walked at once; the summaries come in the order of ``types``."""
        kinds = list(dict.fromkeys(types)) if types is not None else list(REPO_TYPES)
        for repo_type in kinds:
            self.scraper(repo_type)  # an unknown type fails before any request
        stop = threading.Event()
        # One scraper to the others, the types its parts; unpaced: a walk's end is what counts, so
        # it spends each window's budget as it can (a mirror beside it keeps its fair share).
        with self.limiter.register("catalog", paced=False) as share:

            def walk(repo_type: str) -> WalkSummary:
                return walk_hub(repo_type, state=self.state, client=self.client, limiter=self.limiter,
                                provenance=self.provenance, search=self.search, readme=self._readme, full=full,
                                stop=stop, share=share)

            if len(kinds) == 1:
                return [walk(kinds[0])]
            # At once, a thread a type: the listings are sequential page chains, so the types are
            # what can overlap.
            with ThreadPoolExecutor(max_workers=len(kinds), thread_name_prefix="hf-ipfs-catalog") as pool:
                futures = [pool.submit(walk, t) for t in kinds]
                try:
                    wait(futures, return_when=FIRST_EXCEPTION)  # a walk that raised (a bug) stops the others
                    if any(f.done() and f.exception() is not None for f in futures):
                        stop.set()
                    return [f.result() for f in futures]
                except BaseException:  # Ctrl-C while waiting: every walk ends after its page, resumable
                    stop.set()
                    raise

    def _readme(self, entity: EntityState) -> str | None:
        return stored_readme(self.state, self.storage, entity.type, entity.id, limit=README_TEXT_MAX)

    def snapshot(self, *, publish: str | None = None) -> SnapshotRow:
        """Pin one directory linking every mirrored repo (and the trending lists, the state, the
        export) and record it: the whole archive under one CID. With ``publish`` (the Kubo backend),
        the IPNS name of that key is pointed at it."""
        if publish is not None:
            self._publisher()
        row = take_snapshot(self.state, self.storage, self.config.output_dir)
        if publish is not None:
            name = self._publisher().publish(publish, CID.parse(row.cid))
            row = self.state.set_snapshot_published(row.id, name)
        return row

    def merge(self, source: str | Path) -> MergeResult:
        """Fold another machine's output directory (a ``--shard i/n`` of the same archive) into
        this one: state, layout files, blocks; the search index follows."""
        result = merge_archive(self.state, self.storage, self.config.output_dir, Path(source))
        if result.entities:
            self.reindex()
        return result

    def prune(
        self, *, keep_runs: int | None = None, keep_days: float | None = None,
        max_store_size: int | None = None, dry_run: bool = False,
    ) -> PruneResult:
        """Unpin repos off the kept trending lists that no kept snapshot links (see
        :mod:`.retention`); ``dry_run`` only plans."""
        size = self.storage.stat().bytes_stored if max_store_size is not None else None
        plan = plan_prune(self.state, keep_runs=keep_runs, keep_days=keep_days, max_store_size=max_store_size,
                          store_size=size)
        if dry_run:
            return PruneResult(plan)
        return prune(self.state, self.storage, plan, search=self.search)

    def _publisher(self) -> KuboRemote:
        remote = self._remote.remote if self._remote is not None else None
        if not isinstance(remote, KuboRemote):
            raise InvalidInputError("publishing to IPNS needs the Kubo backend (--backend kubo)")
        return remote

    def trending(self, repo_type: str = "model", run_id: int | None = None) -> list[TrendingRow]:
        """The ranked list a run recorded (the latest run by default)."""
        return self.state.trending(repo_type, run_id)

    # -- upgrade -----------------------------------------------------------------------------
    def _backfill(self) -> None:
        """Mirrors made before entity metadata lived in the state store have it only in their
        ``metadata.json`` files: read them once into the store (metadata and provenance edges)."""
        for entity in self.state.without_metadata():
            path = entity_dir(self.config.output_dir, entity.type, entity.id) / "metadata.json"
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                logger.warning("no metadata to backfill for %s %s: %s", entity.type, entity.id, exc)
                continue
            record = RECORD_TYPES[entity.type].from_metadata(data)
            self.state.upsert_discovered(entity.type, entity.id, None, metadata=record.metadata())
            self.provenance.record(record)

    def reindex(self) -> int:
        """Rebuild the search index from the state store (every mirrored repo, every repo a catalog
        walk listed that is not gone: ``SearchDoc.indexes``); returns how many."""
        assert self.search is not None
        with Catalog(self.config.output_dir, store_path=self.config.store_path) as catalog:
            return self.search.rebuild(SearchDoc.documents(catalog.entities(), lambda e: catalog.readme(e.type, e.id, limit=README_TEXT_MAX)))

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        if getattr(self, "_closed", False):
            return
        self._closed = True
        if hasattr(self, "limiter"):
            session.release(self.config.hub_endpoint)
        if self.search is not None:
            _INDEXES.release(self.search, SearchIndex.close)
        if self._remote is not None:
            self._remote.remote.close()
        if self._shared_store is not None:
            _STORES.release(self._shared_store, EmbeddedStore.close)
        self.state.close()

    def __enter__(self) -> Mirror:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
