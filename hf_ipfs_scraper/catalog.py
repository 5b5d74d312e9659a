"""``Catalog``: read-only access to an archive, for notebooks, the CLI and the web layer alike.

Opens ``<output_dir>/state.sqlite`` read-only (no lock, no migration, no recovery: SQLite's WAL
lets it read the last committed state while a mirror or sync writes in another process) and, for
file contents, the block store read-only (readers need no lock either). Each is opened at its
first use: a search reads only the search index, and starts without the state store's code.

>>> from hf_ipfs_scraper import Catalog                       # doctest: +SKIP
>>> with Catalog("hf_mirror") as catalog:                      # doctest: +SKIP
...     catalog.entity("model", "org/name").root_cid
...     catalog.provenance.lineage("model:org/name")
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from pathlib import Path
from dataclasses import asdict as _asdict
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from .errors import InvalidInputError, StoreError
from .state.keys import ENTITY_TYPES
from .storage.base import ContentReader

if TYPE_CHECKING:
    from .state import EntityState, FileRecord, Run, StateStore, TrendingRow
    from .export import ExportResult
    from .provenance.draw import DrawResult
    from .provenance.tracker import ProvenanceTracker
    from .config import Config
    from .search import SearchIndex, SearchPage
    from .storage.embedded import EmbeddedStore


class Catalog:
    """What an output directory holds: entities, runs, trending snapshots, files, READMEs, provenance."""

    def __init__(
        self, output_dir: str | os.PathLike[str], *, store_path: str | os.PathLike[str] | None = None,
        content: ContentReader | None = None,
    ) -> None:
        self.output_dir = Path(output_dir)
        if not (self.output_dir / "state.sqlite").is_file():
            raise StoreError(f"no mirror state in {self.output_dir} yet (run `hf-ipfs-scraper models` first)")
        self._state: StateStore | None = None
        self._state_lock = threading.Lock()
        self._store_path = Path(store_path) if store_path is not None else self.output_dir / "ipfs"
        self._store: EmbeddedStore | None = None
        self._content = content  # a daemon's, when the archive is pinned there (else the store)
        self._search: SearchIndex | None = None
        self._provenance: ProvenanceTracker | None = None
        self._provenance_lock = threading.Lock()  # the web layer's threads share one graph

    @classmethod
    def from_config(cls, config: Config, *, content: ContentReader | None = None) -> Catalog:
        """The archive a configuration names (its ``output_dir`` and ``ipfs.store_path``): how the
        CLI's commands and ``serve`` open it."""
        return cls(config.output_dir, store_path=config.store_path, content=content)

    @property
    def state(self) -> StateStore:
        """The state store, opened read-only at first use (an old schema or a file that is not
        SQLite raises :class:`StoreError` then)."""
        state = self._state
        if state is None:
            with self._state_lock:  # the web layer's threads share one catalog
                if self._state is None:
                    from .state.store import StateStore

                    self._state = StateStore(self.output_dir / "state.sqlite", readonly=True)
                state = self._state
        return state

    # -- entities ----------------------------------------------------------------------------
    def entity(self, type: str, id: str) -> EntityState | None:
        return self.state.get(type, id)

    def entities(self, type: str | None = None, *, status: str | None = None, run_id: int | None = None
                 ) -> Iterator[EntityState]:
        """Entities of a type and/or status; with ``run_id``, those that run's trending list named
        (in rank order)."""
        if run_id is None:
            yield from self.state.iter_entities(type, status)
            return
        for repo_type in (type,) if type else ENTITY_TYPES:
            for row in self.state.trending(repo_type, run_id):
                entity = self.state.get(repo_type, row.id)
                if entity is not None and (status is None or entity.status == status):
                    yield entity

    def counts(self) -> dict[str, Counter[str]]:
        """Entities per status, per type."""
        return {t: self.state.counts(t) for t in ENTITY_TYPES}

    def files(self, type: str, id: str) -> list[FileRecord]:
        return self.state.files(type, id)

    def readme(self, type: str, id: str, *, limit: int | None = None) -> str | None:
        """The README text of a mirrored repo (its first ``limit`` bytes, when given); read from
        the block store when it was too long to keep in the state store."""
        return stored_readme(self.state, self.content, type, id, limit=limit)

    @property
    def provenance(self) -> ProvenanceTracker:
        """The provenance graph over the state, made on first use: networkx then loads, and the
        commands that never ask (``status``, ``search``) start without it."""
        with self._provenance_lock:
            if self._provenance is None:
                from .provenance.tracker import ProvenanceTracker

                self._provenance = ProvenanceTracker(self.state)
            return self._provenance

    @property
    def content(self) -> ContentReader:
        """Where file bytes are read: the daemon or cluster given, else the embedded store."""
        return self._content if self._content is not None else self.store

    @property
    def store(self) -> EmbeddedStore:
        """The embedded block store, opened read-only on first use (block-level readers, such as
        the trustless gateway, need it; file readers use :attr:`content`)."""
        if self._store is None:
            from .storage.embedded import EmbeddedStore

            self._store = EmbeddedStore(self._store_path, readonly=True, create=False)
        return self._store

    # -- runs and trending -------------------------------------------------------------------
    def runs(self, limit: int = 20, key: str | None = None) -> list[Run]:
        return self.state.runs(limit=limit, key=key)

    def trending(self, type: str = "model", run_id: int | None = None) -> list[TrendingRow]:
        """The ranked list a run recorded (the newest by default)."""
        return self.state.trending(type, run_id)

    def trending_runs(self, type: str = "model") -> list[int]:
        return self.state.trending_runs(type)

    def trending_history(self, type: str, id: str) -> list[tuple[int, TrendingRow]]:
        """Every snapshot that listed the repo: ``(run_id, row)``, oldest first."""
        return self.state.trending_history(type, id)

    # -- search ----------------------------------------------------------------------------
    @property
    def search_index(self) -> SearchIndex:
        """The README search index, opened read-only on first use (it sees the writer's commits)."""
        if self._search is None:
            path = self.output_dir / "search"
            if not path.is_dir():
                raise StoreError(f"no search index in {self.output_dir} yet (a mirror run or `hf-ipfs-scraper reindex` makes it)")
            from .search import SearchIndex  # tantivy loads at the first search, not with the catalog

            self._search = SearchIndex(path)
        return self._search

    def search(self, text: str = "", *, run_id: int | None = None, **filters: Any) -> SearchPage:
        """Full-text search of READMEs, ids, tags and titles, with filters and sorting (the fields
        of :class:`~hf_ipfs_scraper.search.SearchQuery`: ``types``, ``size_gte``, ``size_lte``,
        ``tags``, ``pipeline_tag``, ``library``, ``author``, ``gated``, ``mirrored``, ``sort``, ``descending``,
        ``limit``, ``page``); ``run_id`` keeps the repos that run's trending snapshot listed."""
        keys = None
        if run_id is not None:
            keys = frozenset(f"{t}:{row.id}" for t in ENTITY_TYPES for row in self.state.trending(t, run_id))
        from .search import SearchQuery

        return self.search_index.search(SearchQuery(text, keys=keys, **filters))

    def search_frame(self, text: str = "", **filters: Any) -> Any:
        """:meth:`search` as a pandas DataFrame, one row per hit (pandas must be installed)."""
        try:
            import pandas as pd
        except ImportError as exc:  # an optional extra for notebooks
            raise InvalidInputError("search_frame needs pandas: pip install pandas") from exc
        return pd.DataFrame([_asdict(hit) for hit in self.search(text, **filters).hits])

    def search_ids(self, text: str, type: str, ids: Iterable[str]) -> set[str]:
        """Which of ``ids`` (repos of ``type``) match ``text``: for callers that order on their own."""
        from .search import SearchQuery

        keys = frozenset(f"{type}:{i}" for i in ids)
        found = self.search_index.matching_keys(SearchQuery(text, types=(type,), keys=keys), at_most=max(1, len(keys)))
        return {key.partition(":")[2] for key in found}

    # -- the Parquet export -----------------------------------------------------------------
    def export(self, out_dir: str | os.PathLike[str] | None = None, *, types: Iterable[str] | None = None,
               merge: bool = True, add_to_store: bool = False, store_profile: str = "unixfs-v0-2015",
               scope: str = "mirror") -> ExportResult:
        """Write the unified Parquet export: ``scope="mirror"`` the repos the mirror handles
        (default ``<output_dir>/export``, merged with the previous export unless ``merge`` is
        False), ``scope="catalog"`` every repo known, the catalog walks' too, in ``catalog.parquet``
        (default ``<output_dir>/catalog_export``, rewritten whole); with ``add_to_store`` the
        directory is also added to the block store and its CID returned."""
        from .export import add_to_store as _add, export_catalog, export_directory

        out = out_dir or export_directory(self.output_dir, scope)
        result = export_catalog(self, out, types=types, merge=merge, scope=scope)
        return _add(result, self._store_path, store_profile) if add_to_store else result

    # -- provenance, drawn and exported --------------------------------------------------------
    def draw_family(self, key: str, path: str | os.PathLike[str], *, max_nodes: int = 200) -> DrawResult:
        """Draw the family tree of ``key`` ("model:org/name") to an SVG or PNG file."""
        from .provenance.draw import draw_family  # matplotlib loads only for pictures

        return draw_family(self.provenance.family(key, max_nodes=max_nodes), key, path, max_nodes=max_nodes)

    def export_provenance(self, out_dir: str | os.PathLike[str] | None = None) -> dict[str, Path]:
        """GraphML, node-link JSON and a Parquet edge table, under ``<output_dir>/provenance/`` by default."""
        from .provenance.export import export_provenance

        return export_provenance(self.provenance, self.state, out_dir or self.output_dir / "provenance")

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        if self._search is not None:
            self._search.close()
            self._search = None
        if self._store is not None:
            self._store.close()
            self._store = None
        if self._state is not None:
            self._state.close()
            self._state = None

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def stored_readme(state: StateStore, content: ContentReader, type: str, id: str, *,
                  limit: int | None = None) -> str | None:
    """A mirrored repo's README text: from the state store, or from ``content`` when it was too
    long to keep there (None when the repo has no README recorded); its first ``limit`` bytes
    only, when given (a README may be 50 MB: search needs its start, not all of it in memory)."""
    found = state.readme(type, id)
    if found is None:
        return None
    cid, _size, text = found
    if text is not None:
        return text
    from .ipfs.cid import CID

    return b"".join(content.cat(CID.parse(cid), length=limit)).decode("utf-8", "replace")
