"""``SearchIndex``: one tantivy index directory, one writer process, any number of readers."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import tantivy

from ..errors import InvalidInputError, ReadOnlyStoreError, StoreError, StoreLockedError
from ..state.rows import split_node
from ._model import SearchDoc, SearchHit, SearchPage, SearchQuery
from ._query import Compiled, compile_query
from ._snippet import Words, snippet
from ._schema import FORMAT, SORT_FIELDS, ZWSP, build_schema, register_analyzers, to_document

T = TypeVar("T")
MARKER = "hf-search.json"  # our format number, beside tantivy's meta.json
WRITER_LOCK = ".tantivy-writer.lock"  # tantivy's own: flock()ed by the writer while it lives
DEFAULT_HEAP_BYTES = 128_000_000
_RETRIES = 5
_VERSION = getattr(tantivy, "__version__", "?")
_RELAXED = "no entity has every word of the query: these have some of them"


class SearchIndex:
    """The README search index under ``path`` (``<output_dir>/search``).

    ``writable=True`` takes tantivy's writer lock (one writer process; a second gets
    :class:`StoreLockedError`) and creates the index when it is missing, or rebuilds it empty when
    an older version of this module wrote it: ``created`` is then True and the caller should
    ``rebuild`` it from the state store. Read-only needs no lock; every ``search`` first looks
    whether ``meta.json`` changed (one ``stat``) and, if it did, reloads: a commit of the writer
    process is seen by the next search. ``upsert``, ``delete`` and ``rebuild`` commit before they
    return. Searches may run from many threads at once.
    """

    def __init__(self, path: str | os.PathLike[str], *, writable: bool = False,
                 heap_bytes: int = DEFAULT_HEAP_BYTES, threads: int = 0) -> None:
        self.path = Path(path)
        self.writable = writable
        self.created = False
        self._lock = threading.RLock()
        self._writer: tantivy.IndexWriter | None = None
        self._heap_bytes, self._threads = heap_bytes, threads
        self._closed = False
        if writable:
            self._index = self._open_for_writing()
        else:
            self._index = self._open_for_reading()
        self._index.config_reader("manual")
        self._seen = self._signature()

    # -- opening ---------------------------------------------------------------------------
    def _open_for_reading(self) -> tantivy.Index:
        if not (self.path / "meta.json").is_file():
            raise StoreError(f"no search index in {self.path} yet (build it with `hf-ipfs-scraper reindex`)")
        found = self._format()
        if found != FORMAT:
            raise StoreError(f"the search index in {self.path} is of format {found}, this version reads {FORMAT}: "
                             "rebuild it with `hf-ipfs-scraper reindex`")
        index = _retry(lambda: tantivy.Index.open(str(self.path)), f"cannot open the search index in {self.path}")
        register_analyzers(index)
        return index

    def _open_for_writing(self) -> tantivy.Index:
        self.path.mkdir(parents=True, exist_ok=True)
        if (self.path / "meta.json").is_file() and self._format() == FORMAT:
            index = _retry(lambda: tantivy.Index.open(str(self.path)), f"cannot open the search index in {self.path}")
        else:
            self._check_unlocked()
            for entry in self.path.iterdir():  # an index of another format, or debris: start again
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
            index = tantivy.Index(build_schema(), str(self.path), reuse=False)
            (self.path / MARKER).write_text(json.dumps({"format": FORMAT, "engine": f"tantivy {_VERSION}"}))
            self.created = True
        register_analyzers(index)
        try:
            self._writer = self._new_writer(index)
        except ValueError as exc:
            if "LockBusy" in str(exc) or "lock" in str(exc).lower():
                raise StoreLockedError(f"another process writes the search index in {self.path}") from exc
            raise StoreError(f"cannot write the search index in {self.path}: {exc}") from exc
        return index

    def _new_writer(self, index: tantivy.Index) -> tantivy.IndexWriter:
        """tantivy's writer; ``threads=0``: one a core, up to 8, each with at least 20 MB of the
        heap (tantivy refuses fewer than 15 MB a thread)."""
        threads = self._threads or max(1, min(os.cpu_count() or 1, 8, self._heap_bytes // 20_000_000))
        return index.writer(heap_size=self._heap_bytes, num_threads=threads)

    def _format(self) -> int | None:
        try:
            value = json.loads((self.path / MARKER).read_text()).get("format")
        except (OSError, ValueError, AttributeError):
            return None
        return value if isinstance(value, int) else None

    def _check_unlocked(self) -> None:
        """Refuse to start the directory again while a writer (tantivy's flock) is in it."""
        lock = self.path / WRITER_LOCK
        if not lock.exists():
            return
        with open(lock, "rb") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise StoreLockedError(f"another process writes the search index in {self.path}") from exc
            fcntl.flock(fh, fcntl.LOCK_UN)

    # -- seeing commits ----------------------------------------------------------------------
    def _signature(self) -> tuple[int, int, int] | None:
        try:
            st = (self.path / "meta.json").stat()
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def reload(self) -> None:
        """See the last commit now (``search`` does this by itself when ``meta.json`` changed)."""
        with self._lock:
            self._check_open()
            seen = self._signature()
            _retry(self._index.reload, f"cannot reload the search index in {self.path}")
            self._seen = seen

    def _searcher(self) -> tantivy.Searcher:
        with self._lock:
            self._check_open()
            if self._signature() != self._seen:
                with contextlib.suppress(StoreError):  # files merged away under us: keep the old view
                    self.reload()
            return self._index.searcher()

    # -- writing -----------------------------------------------------------------------------
    def upsert(self, docs: Iterable[SearchDoc]) -> int:
        """Add or replace (by type and id) each document; one commit. Returns how many."""
        with self._writing() as writer:
            count = 0
            for doc in docs:
                writer.delete_documents_by_term("key", doc.key)
                writer.add_document(to_document(doc))
                count += 1
            return count

    def delete(self, keys: Iterable[str]) -> int:
        """Remove the entities ``"model:org/name"``...; one commit. Returns how many were there."""
        wanted = list(dict.fromkeys(keys))
        with self._writing() as writer:
            searcher = self._index.searcher()
            schema = self._index.schema
            count = sum(_total(searcher.search(tantivy.Query.term_query(schema, "key", k), 1)) > 0 for k in wanted)
            for key in wanted:
                writer.delete_documents_by_term("key", key)
            return int(count)

    def rebuild(self, docs: Iterable[SearchDoc]) -> int:
        """Make ``docs`` the whole index, in one commit (readers see the old index until then),
        and wait for the segments to be merged. Returns how many documents were added."""
        with self._writing(merge=True) as writer:
            writer.delete_all_documents()
            count = 0
            for doc in docs:
                writer.add_document(to_document(doc))
                count += 1
            return count

    @contextlib.contextmanager
    def _writing(self, merge: bool = False) -> Iterator[tantivy.IndexWriter]:
        with self._lock:
            self._check_open()
            if self._writer is None:
                raise ReadOnlyStoreError(f"the search index in {self.path} is open read-only")
            try:
                yield self._writer
            except BaseException:
                self._writer.rollback()
                raise
            self._writer.commit()
            if merge:
                self._writer.wait_merging_threads()  # it ends the writer: take the lock again
                self._writer = self._new_writer(self._index)
            self.reload()

    # -- reading -----------------------------------------------------------------------------
    def search(self, query: SearchQuery) -> SearchPage:
        """One page of the entities that match ``query``, in its order (see :class:`SearchQuery`)."""
        searcher = self._searcher()
        compiled = compile_query(self._index, query)
        hits, total = self._run(searcher, compiled, query)
        warnings = list(compiled.warnings)
        if total == 0 and compiled.text is not None and len(query.text.split()) > 1:
            relaxed = compile_query(self._index, query, conjunction=False)
            hits, total = self._run(searcher, relaxed, query)
            if total:
                warnings = [*relaxed.warnings, _RELAXED]
        return SearchPage.of(hits, total, query, warnings)

    def _run(self, searcher: tantivy.Searcher, compiled: Compiled, q: SearchQuery) -> tuple[list[SearchHit], int]:
        field, order = _order(q, compiled)
        by_score = field is None
        fetch = min(q.limit, searcher.num_docs - q.offset)  # never ask tantivy for more than there is
        result = _engine(lambda: searcher.search(compiled.query, max(fetch, 1), count=True,
                                                 order_by_field=field, offset=q.offset if fetch > 0 else 0,
                                                 order=order))
        total = _total(result)
        if fetch <= 0 or not result.hits:
            return [], total
        words = Words.of(q.text) if compiled.text is not None else None
        hits = []
        for score, address in result.hits:
            doc = searcher.doc(address)
            text = snippet(doc.get_first("readme") or "", words) if compiled.text is not None else ""
            hits.append(_hit(doc, float(score) if by_score else 0.0, text))
        return hits, total

    def keys(self, query: SearchQuery, *, at_most: int = 10_000) -> list[str]:
        """The keys ("model:org/name") of every match, in the query's order, at most ``at_most``;
        ``limit`` and ``page`` are ignored. For callers that filter or sort on their own (the older
        mirror's API); cheapest with a sort other than relevance (no document is read)."""
        searcher = self._searcher()
        compiled = compile_query(self._index, query)
        field, order = _order(query, compiled)
        fetch = max(1, min(at_most, searcher.num_docs))
        if field is None:
            result = _engine(lambda: searcher.search(compiled.query, fetch, count=False))
            return [str(searcher.doc(address).get_first("key")) for _, address in result.hits]
        result = _engine(lambda: searcher.search(compiled.query, fetch, count=False, order_by_field=field,
                                                 order=order))
        return [str(value).partition(" ")[2] for value, _ in result.hits]  # "<value> <key>"

    def count(self) -> int:
        """Documents in the last commit."""
        return int(self._searcher().num_docs)

    # -- lifecycle ---------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"the search index in {self.path} is closed")

    def close(self) -> None:
        """Let go of the writer lock (after the merges under way end); reads are refused after."""
        with self._lock:
            if self._writer is not None:
                with contextlib.suppress(ValueError):
                    self._writer.wait_merging_threads()
                self._writer = None
            self._closed = True

    def __enter__(self) -> SearchIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _order(q: SearchQuery, compiled: Compiled) -> tuple[str | None, tantivy.Order]:
    """The fast field to order by (None: by bm25 score) and its direction. Relevance is always
    best first; without text it is the trending order."""
    if q.sort == "relevance":
        return (None if compiled.text is not None else SORT_FIELDS["trending_score"]), tantivy.Order.Desc
    return SORT_FIELDS[q.sort], tantivy.Order.Desc if q.descending else tantivy.Order.Asc


def _hit(doc: tantivy.Document, score: float, snippet: str) -> SearchHit:
    values: dict[str, Any] = {name: doc.get_first(name) for name in (
        "key", "title", "author", "pipeline_tag", "library", "gated", "size_bytes", "trending_score",
        "downloads", "likes")}
    entity_type, repo_id = split_node(values["key"])
    return SearchHit(
        entity_type=entity_type, id=repo_id, score=score, snippet=snippet, size_bytes=values["size_bytes"],
        trending_score=values["trending_score"], downloads=values["downloads"] or 0, likes=values["likes"] or 0,
        pipeline_tag=values["pipeline_tag"], library_name=values["library"], author=values["author"],
        gated=bool(values["gated"]), title=(values["title"] or "").replace(ZWSP, "") or None,
    )


def _total(result: tantivy.SearchResult) -> int:
    """The match count of a search run with ``count=True`` (the type stubs do not list it)."""
    return int(getattr(result, "count", 0) or 0)


def _engine(call: Callable[[], T]) -> T:
    """Run a tantivy call; what it refuses about the query is the user's error, not a traceback."""
    try:
        return call()
    except ValueError as exc:
        raise InvalidInputError(f"the search engine cannot run this query: {exc}") from exc


def _retry(call: Callable[[], T], message: str) -> T:
    """A reader may list a segment the writer has just merged away: read the newer commit."""
    for attempt in range(_RETRIES):
        try:
            return call()
        except (ValueError, OSError) as exc:
            if attempt == _RETRIES - 1:
                raise StoreError(f"{message}: {exc}") from exc
            time.sleep(0.02 * (attempt + 1))
    raise AssertionError("unreachable")
