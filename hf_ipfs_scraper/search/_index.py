"""``SearchIndex``: the README search index, sharded; one writer process, any number of readers.

The index is ``shards`` tantivy indexes (``<path>/shard-N``; an entity's shard is a hash of its
key) searched in parallel, one thread each, and merged: tantivy-py scores every match (its
collectors do not prune), so at a million READMEs a common word costs 10-25 ms on one core, and
shards are what spreads that over the cores. Sorting by a field merges exactly (the sort values
hold the key); by relevance, bm25 is computed per shard (statistics of a hash-partitioned half
differ from the whole by a fraction of a percent) and ties go by shard, then rank.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import tantivy

from ..errors import InvalidInputError, ReadOnlyStoreError, StoreError
from ..state.keys import split_node
from ._model import SearchDoc, SearchHit, SearchPage, SearchQuery
from ._narrow import match_count, narrowed, worth_narrowing
from ._query import Compiled, compile_query
from ._schema import FORMAT, SORT_FIELDS, SORT_VALUES, ZWSP, to_document
from ._shard import Shard, check_unlocked
from ._snippet import Words, snippet

if TYPE_CHECKING:
    from ._writer import WriterProcess

T = TypeVar("T")
MARKER = "hf-search.json"  # {"format", "shards", "engine"}: written last when an index is created
DEFAULT_HEAP_BYTES = 128_000_000
DEFAULT_SHARDS = max(1, min(4, os.cpu_count() or 1))
_VERSION = getattr(tantivy, "__version__", "?")
_RELAXED = "no entity has every word of the query: these have some of them"


_UPSERT_CHUNK = 5_000  # documents an upsert holds at once (their old versions deleted by one query)


class SearchIndex:
    """The README search index under ``path`` (``<output_dir>/search``).

    ``writable=True`` takes tantivy's writer lock of every shard (one writer process; a second
    gets :class:`StoreLockedError`) and creates the index when it is missing, or empty again when
    another version of this module wrote it: ``created`` is then True and the caller should
    ``rebuild`` it from the state store. ``shards`` counts only when the index is created;
    ``heap_bytes`` (indexing memory) and ``threads`` (0: one a core, up to 8) are split among the
    shards. Read-only needs no lock; every ``search`` first looks whether a ``meta.json`` changed
    (a ``stat`` a shard) and, if one did, reloads: a commit of the writer process is seen by the
    next search. ``upsert``, ``delete`` and ``rebuild`` commit before they return (shard after
    shard: a search in between may see one shard's part of it). Searches may run from many
    threads at once. Within :meth:`writer_process`, the writes are made by a process of its own.
    """

    def __init__(self, path: str | os.PathLike[str], *, writable: bool = False, shards: int | None = None,
                 heap_bytes: int = DEFAULT_HEAP_BYTES, threads: int = 0) -> None:
        self.path = Path(path)
        self.writable = writable
        self.created = False
        self._lock = threading.RLock()
        self._write_lock = threading.RLock()  # taken before _lock: which writer (here or the child's)
        self._child: WriterProcess | None = None
        self._child_users = 0
        self._closed = False
        self._heap_bytes, self._threads = heap_bytes, threads
        self._shards = self._open_for_writing(shards or DEFAULT_SHARDS) if writable else self._open_for_reading()
        self._pool = ThreadPoolExecutor(len(self._shards), "search") if len(self._shards) > 1 else None

    # -- opening ---------------------------------------------------------------------------
    def _marker(self) -> dict[str, Any]:
        try:
            found = json.loads((self.path / MARKER).read_text())
        except (OSError, ValueError):
            return {}
        return found if isinstance(found, dict) else {}

    def _shard_paths(self, marker: dict[str, Any]) -> list[Path] | None:
        """The shards the marker names, when it is of this format and they are all there."""
        count = marker.get("shards")
        if marker.get("format") != FORMAT or not isinstance(count, int) or count < 1:
            return None
        paths = [self.path / f"shard-{i}" for i in range(count)]
        return paths if all((p / "meta.json").is_file() for p in paths) else None

    def _open_for_reading(self) -> list[Shard]:
        marker = self._marker()
        if not marker:
            raise StoreError(f"no search index in {self.path} yet (build it with `hf-ipfs-scraper reindex`)")
        paths = self._shard_paths(marker)
        if paths is None:
            raise StoreError(f"the search index in {self.path} is of format {marker.get('format')} (or incomplete); "
                             f"this version reads format {FORMAT}: rebuild it with `hf-ipfs-scraper reindex`")
        return [Shard(p, create=False) for p in paths]

    def _open_for_writing(self, count: int) -> list[Shard]:
        self.path.mkdir(parents=True, exist_ok=True)
        paths = self._shard_paths(self._marker())
        if paths is not None:
            shards = [Shard(p, create=False) for p in paths]
        else:  # missing, of another format, or a creation that did not finish: start again
            for folder in [self.path, *self.path.glob("shard-*")]:
                check_unlocked(folder)
            import shutil  # only here: it imports bz2 and lzma, 2 ms of every search's start

            for entry in self.path.iterdir():
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
            shards = [Shard(self.path / f"shard-{i}", create=True) for i in range(count)]
            marker = {"format": FORMAT, "shards": count, "engine": f"tantivy {_VERSION}"}
            (self.path / MARKER).write_text(json.dumps(marker))
            self.created = True
        self._shards = shards
        self._open_writers()
        return shards

    def _route(self, key: str) -> int:
        return zlib.crc32(key.encode("utf-8")) % len(self._shards)

    # -- seeing commits ----------------------------------------------------------------------
    def reload(self) -> None:
        """See the last commits now (``search`` does this by itself when a ``meta.json`` changed)."""
        with self._lock:
            self._check_open()
            for shard in self._shards:
                shard.reload()

    def _searchers(self) -> list[tantivy.Searcher]:
        with self._lock:
            self._check_open()
            if any(shard.changed() for shard in self._shards):
                with contextlib.suppress(StoreError):  # files merged away under us: keep the old view
                    self.reload()
            return [shard.index.searcher() for shard in self._shards]

    def _map(self, call: Callable[[tantivy.Searcher], T], searchers: list[tantivy.Searcher]) -> list[T]:
        """``call`` on every shard's searcher, in parallel (tantivy lets go of the GIL)."""
        if self._pool is None:
            return [call(s) for s in searchers]
        return list(self._pool.map(call, searchers))

    # -- writing -----------------------------------------------------------------------------
    def upsert(self, docs: Iterable[SearchDoc]) -> int:
        """Add or replace (by type and id) each document; one commit. Returns how many were given.

        The old documents go by one query a shard for ``_UPSERT_CHUNK`` documents, not one call
        each: tantivy-py lets go of the GIL in every call, and taking it back from a busy thread
        (a catalog walk's others) cost about a millisecond a call. A tantivy delete reaches only
        documents added before it, so a chunk's deletes go first, then its documents (a key twice
        in a chunk: its last one)."""
        with self._write_lock:
            if self._child is not None:
                return self._child.upsert(docs)
            return self._upsert(docs)

    def _upsert(self, docs: Iterable[SearchDoc]) -> int:
        count, rest = 0, iter(docs)
        with self._writing() as (writers, touched):
            while chunk := list(itertools.islice(rest, _UPSERT_CHUNK)):
                groups: dict[int, dict[str, SearchDoc]] = {}
                for doc in chunk:
                    groups.setdefault(self._route(doc.key), {})[doc.key] = doc
                for i, group in groups.items():
                    schema = self._shards[i].index.schema
                    writers[i].delete_documents_by_query(tantivy.Query.term_set_query(schema, "key", list(group)))
                    for doc in group.values():
                        writers[i].add_document(to_document(doc))
                    touched.add(i)
                count += len(chunk)
        return count

    def delete(self, keys: Iterable[str]) -> int:
        """Remove the entities ``"model:org/name"``...; one commit. Returns how many were there."""
        wanted = list(dict.fromkeys(keys))
        with self._write_lock:
            if self._child is not None:
                return self._child.delete(wanted)
            return self._delete(wanted)

    def _delete(self, wanted: list[str]) -> int:
        with self._writing() as (writers, touched):
            count = 0
            for key in wanted:
                i = self._route(key)
                shard = self._shards[i]
                query = tantivy.Query.term_query(shard.index.schema, "key", key)
                count += match_count(shard.index.searcher().search(query, 1)) > 0
                writers[i].delete_documents_by_term("key", key)
                touched.add(i)
            return count

    def rebuild(self, docs: Iterable[SearchDoc]) -> int:
        """Make ``docs`` the whole index, one commit a shard (readers see the old index until
        then), and wait for the segments to be merged. Returns how many documents were added."""
        with self._write_lock:
            if self._child is not None:
                return self._child.rebuild(docs)
            return self._rebuild(docs)

    def _rebuild(self, docs: Iterable[SearchDoc]) -> int:
        with self._writing(merge=True) as (writers, touched):
            for writer in writers:
                writer.delete_all_documents()
            touched.update(range(len(writers)))
            count = 0
            for doc in docs:
                writers[self._route(doc.key)].add_document(to_document(doc))
                count += 1
            return count

    @contextlib.contextmanager
    def writer_process(self) -> Iterator[None]:
        """Until the block ends, this index's writes are made by a child process (see
        :mod:`._writer`): for a bulk writer beside busy threads, as a catalog's full walk is.
        Blocks at once (the types' walks) share one child; the last one's end closes it and
        takes the writer back. A child that fails to start is raised, and this process's
        writers are opened again."""
        with self._write_lock:
            if self._child is None:
                self._start_child()
            self._child_users += 1
        try:
            yield
        finally:
            with self._write_lock:
                self._child_users -= 1
                if self._child_users == 0:
                    self._stop_child()

    @property
    def writer_pid(self) -> int | None:
        """The process id of the writer process while one writes for this index (None: this
        process writes, or nobody)."""
        child = self._child
        return child.pid if child is not None else None

    def _start_child(self) -> None:
        with self._lock:
            self._own_writers()
            self._let_go_of_writers()
            try:
                from ._writer import WriterProcess  # its multiprocessing loads for writers only

                self._child = WriterProcess(self.path, heap_bytes=self._heap_bytes, threads=self._threads)
            except BaseException:
                self._open_writers()
                raise

    def _stop_child(self, *, take_back: bool = True) -> None:
        """Close the child (a search then sees its last commit: its ``meta.json`` changed) and,
        ``take_back``, open this process's writers again."""
        child, self._child = self._child, None
        try:
            if child is not None:
                child.close()
        finally:
            if take_back:
                with self._lock:
                    self._open_writers()

    @contextlib.contextmanager
    def _writing(self, merge: bool = False) -> Iterator[tuple[list[tantivy.IndexWriter], set[int]]]:
        with self._lock:
            ready = self._own_writers()
            touched: set[int] = set()
            try:
                yield ready, touched
            except BaseException:
                for writer in ready:
                    writer.rollback()
                raise
            for i in sorted(touched):
                ready[i].commit()
            if merge:
                self._let_go_of_writers()  # waits for the merges; it ends the writers: take the lock again
                self._open_writers()
            self.reload()

    def _own_writers(self) -> list[tantivy.IndexWriter]:
        """This process's writers, one a shard; refused when the index is closed or read-only."""
        self._check_open()
        writers = [shard.writer for shard in self._shards]
        ready = [w for w in writers if w is not None]
        if len(ready) != len(writers):
            raise ReadOnlyStoreError(f"the search index in {self.path} is open read-only")
        return ready

    def _open_writers(self) -> None:
        threads = self._threads or min(os.cpu_count() or 1, 8)
        for shard in self._shards:
            shard.open_writer(self._heap_bytes // len(self._shards), max(1, threads // len(self._shards)))

    def _let_go_of_writers(self) -> None:
        """Wait for the merges under way; the writers end and their locks are free."""
        for shard in self._shards:
            if shard.writer is not None:
                with contextlib.suppress(ValueError):
                    shard.writer.wait_merging_threads()
                shard.writer = None

    # -- reading -----------------------------------------------------------------------------
    def search(self, query: SearchQuery) -> SearchPage:
        """One page of the entities that match ``query``, in its order (see :class:`SearchQuery`)."""
        searchers = self._searchers()
        compiled = compile_query(self._shards[0].index, query)
        hits, total = self._run(searchers, compiled, query)
        warnings = list(compiled.warnings)
        if total == 0 and compiled.text is not None and len(query.text.split()) > 1:
            relaxed = compile_query(self._shards[0].index, query, conjunction=False)
            hits, total = self._run(searchers, relaxed, query)
            if total:
                warnings = [*relaxed.warnings, _RELAXED]
        return SearchPage.of(hits, total, query, warnings)

    def _top(self, searchers: list[tantivy.Searcher], compiled: Compiled, q: SearchQuery, want: int,
             count: bool) -> tuple[list[tuple[Any, int, tantivy.DocAddress]], int]:
        """The first ``want`` hits of all shards in the query's order, as (order value, shard,
        address), and the number of matches (when ``count``)."""
        field, order = _order(q, compiled)
        schema = self._shards[0].index.schema

        def top(searcher: tantivy.Searcher) -> tuple[list[tuple[Any, tantivy.DocAddress]], int]:
            fetch = max(1, min(want, searcher.num_docs))  # never ask tantivy for more than there is
            if count and field in SORT_VALUES and order == tantivy.Order.Desc:
                total = searcher.num_docs if compiled.everything else match_count(_engine(lambda: searcher.search(
                    tantivy.Query.const_score_query(compiled.query, 0.0), 1, count=True)))
                if worth_narrowing(total, searcher.num_docs, fetch):
                    hits = _engine(lambda: narrowed(searcher, schema, None if compiled.everything else compiled.query,
                                                    field, fetch))
                    if hits is not None:
                        return hits, total
                return _engine(lambda: searcher.search(compiled.query, fetch, count=False, order_by_field=field,
                                                       order=order)).hits, total
            result = _engine(lambda: searcher.search(compiled.query, fetch, count=count, order_by_field=field,
                                                     order=order))
            return result.hits, match_count(result)

        results = self._map(top, searchers)
        merged = [(value, i, rank, address) for i, (hits, _) in enumerate(results)
                  for rank, (value, address) in enumerate(hits)]
        if field is None:  # by score, best first; equal scores by shard, then by rank in it
            merged.sort(key=lambda m: (-m[0], m[1], m[2]))
        else:  # "<value> <key>": unique, so one total order
            merged.sort(key=lambda m: m[0], reverse=order == tantivy.Order.Desc)
        return [(m[0], m[1], m[3]) for m in merged[:want]], sum(total for _, total in results)

    def _run(self, searchers: list[tantivy.Searcher], compiled: Compiled,
             q: SearchQuery) -> tuple[list[SearchHit], int]:
        in_index = sum(s.num_docs for s in searchers)
        want = min(q.offset + q.limit, in_index) if q.offset < in_index else 1
        top, total = self._top(searchers, compiled, q, want, count=True)
        if q.offset >= in_index:
            return [], total
        by_score = _order(q, compiled)[0] is None
        words = Words.of(q.text) if compiled.text is not None else None
        hits = []
        for value, shard, address in top[q.offset:]:
            doc = searchers[shard].doc(address)
            text = snippet(doc.get_first("readme") or "", words) if compiled.text is not None else ""
            hits.append(_hit(doc, float(value) if by_score else 0.0, text))
        return hits, total

    def keys(self, query: SearchQuery, *, at_most: int = 10_000) -> list[str]:
        """The keys ("model:org/name") of every match, in the query's order, at most ``at_most``;
        ``limit`` and ``page`` are ignored. For callers that filter or sort on their own (the older
        mirror's API); cheapest with a sort other than relevance (no document is read)."""
        searchers = self._searchers()
        compiled = compile_query(self._shards[0].index, query)
        top, _ = self._top(searchers, compiled, query, max(1, at_most), count=False)
        if _order(query, compiled)[0] is None:
            return [str(searchers[shard].doc(address).get_first("key")) for _, shard, address in top]
        return [str(value).partition(" ")[2] for value, _, _ in top]  # "<value> <key>"

    def matching_keys(self, query: SearchQuery, *, at_most: int = 10_000) -> set[str]:
        """The keys of every match, unordered, at most ``at_most`` (``limit``, ``page`` and the sort
        are ignored): a terms aggregation over a fast field, six times cheaper than :meth:`keys`,
        which collects and orders the hits. For callers that only filter (the older mirror's
        job search); a result the aggregation truncated falls back to :meth:`keys`."""
        searchers = self._searchers()
        compiled = compile_query(self._shards[0].index, query)
        wanted = max(1, at_most)
        agg = {"k": {"terms": {"field": SORT_FIELDS["trending_score"], "size": wanted, "segment_size": wanted}}}
        results = self._map(lambda searcher: _engine(lambda: searcher.aggregate(compiled.query, agg)), searchers)
        found: set[str] = set()
        for result in results:
            terms = result["k"]
            if terms.get("sum_other_doc_count", 0):
                return set(self.keys(query, at_most=at_most))
            found.update(str(bucket["key"]).partition(" ")[2] for bucket in terms["buckets"])  # "<value> <key>"
        return found if len(found) <= wanted else set(self.keys(query, at_most=at_most))

    def count(self) -> int:
        """Documents in the last commit."""
        return int(sum(s.num_docs for s in self._searchers()))

    # -- lifecycle ---------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"the search index in {self.path} is closed")

    def close(self) -> None:
        """Let go of the writer locks (after the merges under way end); reads are refused after."""
        with self._write_lock:
            if self._child is not None:
                self._child_users = 0
                self._stop_child(take_back=False)
        with self._lock:
            self._let_go_of_writers()
            if self._pool is not None:
                self._pool.shutdown(wait=True)
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
        "downloads", "likes", "mirrored")}
    entity_type, repo_id = split_node(values["key"])
    return SearchHit(
        entity_type=entity_type, id=repo_id, score=score, snippet=snippet, size_bytes=values["size_bytes"],
        trending_score=values["trending_score"], downloads=values["downloads"] or 0, likes=values["likes"] or 0,
        pipeline_tag=values["pipeline_tag"], library_name=values["library"], author=values["author"],
        gated=bool(values["gated"]), title=(values["title"] or "").replace(ZWSP, "") or None,
        mirrored=bool(values["mirrored"]),
    )


def _engine(call: Callable[[], T]) -> T:
    """Run a tantivy call; what it refuses about the query is the user's error, not a traceback."""
    try:
        return call()
    except ValueError as exc:
        raise InvalidInputError(f"the search engine cannot run this query: {exc}") from exc
