"""The whole Hub's metadata, a listing page at a time: ``hf-ipfs-scraper catalog``.

A **full walk** lists every repo of a type with the largest page the Hub gives (1,000) and every
``expand`` field the scraper of that type records — two million models are about two thousand
requests, and no request per repo. Each page is written in one transaction together with the
walk's cursor (the page's ``Link: rel="next"`` URL), so a walk killed anywhere resumes at the page
after the last one written and asks no page twice but the one in flight.

A **refresh** (once a full walk has completed) lists by ``lastModified``, newest first, and stops
at the first page whose entries are all as recorded: a day's changes cost a few requests. A full
walk also finds what vanished: each repo it did not list is marked ``gone`` (never deleted), and
asked for once, since the Hub redirects a renamed repo's old id to its new one (``renamed_to``).

A full walk lists by creation date, which never changes (the default order, trending, moves under
the cursor), and a long listing from both ends (``_both_ends``): a cursor chain is one request at
a time, and the models' two thousand pages would otherwise set the walk's time whatever the
quota. Each lane reads ahead: its next page is fetched (in a thread of its own, as the same
scraper) while the current one is written, so a page costs the longer of the Hub's answer and the
client's work instead of their sum; at most one page is ahead, so a kill costs at most a lane's
page being written and the one being fetched. ``Mirror.catalog`` walks the types at once, all in
one unpaced share of the limiter (a part each; the Hub's windows are fixed, so a window's budget
is best spent as it opens). A refresh does not read ahead (it is a few pages, and the page it
stops at would make the read-ahead one wasted).

Repos known only from a walk are ``listed``: metadata, no content. A trending listing that names
one makes it a mirror candidate like any other. Walks share the process's rate limiter as one
scraper (``Mirror.catalog``'s, the types its parts), so a mirror running meanwhile keeps its share
and the types do not split the walk's between them: the models' long listing may take what the
short ones leave.

Each page also goes into the provenance graph, before the page's transaction (a walk killed in
between redoes it with the page). The search index takes what the walk listed, read back from the
state store (``mirrored`` false unless the repo is) in a thread of its own, twenty pages a commit,
while the walk goes on; a walk killed before all of it went in has that done by the walk that
resumes it, at its end.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .errors import HubError, RepoUnavailableError
from .hub.client import HubClient, ListingPage
from .provenance.tracker import ProvenanceTracker
from .ratelimit import RateLimiter, ScraperHandle
from .scrapers import SCRAPERS
from .scrapers.base import RepoScraper
from .search import SearchDoc, SearchIndex
from .state import EntityState, StateStore, WalkRow
from .state.rows import node_key

logger = logging.getLogger(__name__)
_BATCH = 20_000  # entities a search commit: 20 pages (a commit costs 25-100 ms)


@dataclass
class WalkSummary:
    """What one walk of one type did; ``str()`` is the line the CLI prints."""

    repo_type: str
    kind: str
    walk_id: int
    status: str = "running"
    resumed: bool = False
    pages: int = 0
    listed: int = 0
    changed: int = 0
    indexed: int = 0
    gone: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (id, why): listed entries that are not repos
    requests: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None

    def __str__(self) -> str:
        head = (f"catalog {self.repo_type}s: {self.kind} walk{' (resumed)' if self.resumed else ''} {self.status}"
                f" in {self.seconds:.1f}s: {self.pages} pages, {self.listed} listed, {self.changed} new or changed,"
                f" {len(self.gone)} gone, {len(self.renamed)} renamed, {self.indexed} indexed for search; Hub requests: "
                + (", ".join(f"{k} {v}" for k, v in sorted(self.requests.items())) or "none")
                + (f"; {len(self.refused)} listed entries refused (not repo ids)" if self.refused else ""))
        return head if self.error is None else f"{head}\n  error: {self.error}"


def walk_hub(
    repo_type: str,
    *,
    state: StateStore,
    client: HubClient,
    limiter: RateLimiter,
    provenance: ProvenanceTracker,
    search: SearchIndex | None = None,
    readme: Callable[[EntityState], str | None] | None = None,
    full: bool = False,
    page_size: int = 1000,
    stop: threading.Event | None = None,
    share: ScraperHandle | None = None,
) -> WalkSummary:
    """One walk of ``repo_type``'s listing (see the module docstring): full when asked, when no
    full walk has completed yet, or to finish a killed full walk; otherwise a refresh.

    ``search``, when given, is kept in step; ``readme`` gives a mirrored repo's README text for its
    document (a walk fetches none). ``stop``, once set (by another thread: ``Mirror.catalog`` on a
    Ctrl-C), ends the walk after the page it is writing, ``interrupted``, to resume next time.
    ``share``: the limiter's scraper whose share the walk spends (``Mirror.catalog``'s, one for
    every type); by default the walk registers as a scraper of its own."""
    scraper = SCRAPERS[repo_type]
    started = time.monotonic()
    unfinished = state.unfinished_walk(repo_type)
    if unfinished is not None and (unfinished.kind == "full" or not full):
        walk, resumed = unfinished, True
    else:
        if unfinished is not None:
            state.finish_walk(unfinished.id, "interrupted", "superseded by a full walk")
        kind = "full" if full or state.last_walk(repo_type, "full") is None else "refresh"
        walk, resumed = state.start_walk(repo_type, kind, ordered=kind == "full"), False
    summary = WalkSummary(repo_type, walk.kind, walk.id, resumed=resumed)
    handle = limiter.register(f"catalog:{repo_type}s", within=share, paced=False)
    index = (_Indexer(walk.type, state, search, readme, batched=not resumed, own_process=walk.kind == "full")
             if search is not None else None)
    status, listed = "failed", False  # listed: index what was listed (not after Ctrl-C or a bug)
    try:
        with handle.bind():
            _walk_pages(walk, scraper, state, client, provenance, summary, page_size, stop, index)
            if walk.kind == "full":
                _find_gone(walk, state, client, index, summary)
        status, listed = "completed", True
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    except _Stopped:
        status = "interrupted"
    except HubError as exc:  # the listing failed: the walk resumes at its page next time
        summary.error = str(exc)
        status, listed = "interrupted", True
    finally:
        try:
            if index is not None:  # a failure to index (a full disk) is raised, the walk recorded first
                summary.indexed = index.finish(walk.started_at) if listed else index.abandon()
        finally:
            limiter.unregister(handle)
            state.finish_walk(walk.id, status, summary.error)
            summary.status = status
            summary.requests = dict(handle.requests)
            summary.seconds = time.monotonic() - started
    return summary


class _Indexer:
    """A walk's search documents: what it listed, and the removal of what it found gone.

    The pages' documents are made and committed in a thread of their own, ``_BATCH`` entities at a
    time, while the walk goes on (at the whole Hub's size, indexing two million models at the end
    took minutes after the last page). A resumed walk is not ``batched``: it indexes everything
    listed since the walk began, when it ends, since nothing says how far the killed one came."""

    def __init__(self, repo_type: str, state: StateStore, search: SearchIndex,
                 readme: Callable[[EntityState], str | None] | None, *, batched: bool = True,
                 own_process: bool = False) -> None:
        self.repo_type, self.state, self.search, self.readme = repo_type, state, search, readme
        self._own_process = own_process
        self._queue: queue.SimpleQueue[list[str] | None] = queue.SimpleQueue()
        self._indexed = 0
        self._failure: BaseException | None = None
        self._abandoned = threading.Event()
        self._thread: threading.Thread | None = None
        if batched:
            self._thread = threading.Thread(target=self._run, name="hf-ipfs-catalog-index", daemon=True)
            self._thread.start()

    def page(self, ids: list[str]) -> None:
        """The ids of a page just written (a batched walk's; the others index at their end)."""
        if self._failure is not None:
            raise self._failure  # not one page more into a walk whose index cannot take them
        if self._thread is not None:
            self._queue.put(ids)

    def finish(self, since: float) -> int:
        """The walk is over: what is still queued goes in (or, not batched, every entity listed
        since ``since``, the walk's start). Returns how many documents the walk upserted."""
        if self._thread is None:
            with self._writer():
                return self._upsert(self.state.iter_entities(self.repo_type, listed_since=since, metadata=False))
        self._queue.put(None)
        self._thread.join()
        if self._failure is not None:
            raise self._failure
        return self._indexed

    def abandon(self) -> int:
        """Ctrl-C or a bug: stop without indexing what is queued (the walk that resumes this one
        indexes all of it); returns how many documents went in before."""
        if self._thread is not None:
            self._abandoned.set()
            self._queue.put(None)
            self._thread.join()
        return self._indexed

    def _writer(self) -> contextlib.AbstractContextManager[None]:
        """A full walk's writes go to the index's writer process: in this one, each document
        would wait for the GIL behind the listing threads (see ``search._writer``)."""
        return self.search.writer_process() if self._own_process else contextlib.nullcontext()

    def _run(self) -> None:
        batch: list[str] = []
        try:
            with self._writer():
                while not self._abandoned.is_set():
                    ids = self._queue.get()
                    if ids is not None:
                        batch.extend(ids)
                    if batch and (ids is None or len(batch) >= _BATCH) and not self._abandoned.is_set():
                        self._indexed += self._index(batch)
                        batch = []
                    if ids is None:
                        return
        except BaseException as exc:  # noqa: BLE001 - handed to the walk's thread, raised by finish()
            self._failure = exc

    def _index(self, ids: list[str]) -> int:
        """One batch: the documents of ``ids`` as the state store has them now, one commit."""
        return self._upsert(self.state.get_many(self.repo_type, ids, metadata=False).values())

    def _upsert(self, entities: Iterable[EntityState]) -> int:
        return self.search.upsert(SearchDoc.documents(entities, self.readme))

    def gone(self, ids: list[str]) -> None:
        """A mirrored repo stays searchable (its archive outlives it); a catalog-only one leaves."""
        known = self.state.get_many(self.repo_type, ids)
        self.search.delete(node_key(self.repo_type, i) for i in ids
                           if i not in known or not SearchDoc.indexes(known[i]))


class _Stopped(Exception):
    """The walk's ``stop`` event was set: end between pages."""


def _walk_pages(
    walk: WalkRow, scraper: type[RepoScraper], state: StateStore, client: HubClient, provenance: ProvenanceTracker,
    summary: WalkSummary, page_size: int, stop: threading.Event | None, index: _Indexer | None,
) -> None:
    writer = _PageWriter(walk, state, provenance, summary, index)

    def listing(*, sort: str | None, descending: bool, resume_url: str | None) -> Iterator[ListingPage]:
        return client.listing_pages(walk.type, expand=scraper.expand, record=scraper.record, page_size=page_size,
                                    sort=sort, descending=descending, resume_url=resume_url)

    if walk.kind == "refresh":  # no read-ahead: a few pages, and the one it stops at would be wasted
        for page in listing(sort="lastModified", descending=True, resume_url=walk.next_url):
            if stop is not None and stop.is_set():
                raise _Stopped
            if not writer.write(page):
                break  # newest first: every page after this one is unchanged too
        return
    if walk.covered or (walk.pages and walk.next_url is None and not walk.ordered):
        return  # killed after its last page: only the walk's end is left
    if not walk.ordered:  # begun before walks had lanes, or the Hub ignores the order: one chain
        for page in _read_ahead(listing(sort="createdAt", descending=False, resume_url=walk.next_url)):
            if stop is not None and stop.is_set():
                raise _Stopped
            writer.write(page)
        return
    _both_ends(walk, writer, stop, lambda back, url: listing(sort="createdAt", descending=back, resume_url=url))


class _PageWriter:
    """A page into the provenance graph, the state store (with its lane's progress) and the search
    queue, and into the walk's summary; two lanes write through one writer."""

    def __init__(self, walk: WalkRow, state: StateStore, provenance: ProvenanceTracker, summary: WalkSummary,
                 index: _Indexer | None) -> None:
        self.walk, self.state, self.provenance, self.summary, self.index = walk, state, provenance, summary, index
        self._lock = threading.Lock()

    def write(self, page: ListingPage, *, back: bool = False, key: str | None = None, covered: bool = False) -> int:
        """Returns how many of the page's repos were new or changed."""
        entries = [(r.id, r.sha, r.metadata()) for r in page.records]
        self.provenance.record_many(page.records)  # first: a kill before the cursor moves only redoes them
        changed = self.state.walk_page(self.walk, entries, page.next_url, back=back, key=key, covered=covered)
        if self.index is not None:
            self.index.page([e[0] for e in entries])
        with self._lock:
            self.summary.pages += 1
            self.summary.listed += len(entries)
            self.summary.changed += changed
            self.summary.refused += page.refused
        for repo_id, why in page.refused:
            logger.warning("catalog %ss: a listed entry %r was refused: %s", self.walk.type, repo_id, why)
        return changed


_BACK_LANE_AFTER = 400  # pages from the oldest end before the newest end is walked too


class _Lanes:
    """Where the two lanes of an ordered full walk stand. The front lane lists by creation date
    from the oldest repo, the back lane from the newest; each one's frontier is the creation date
    its written pages reached. A page that passes the other lane's frontier (strictly: a date
    both hold may have repos neither listed yet) closes the gap, so the walk is ``covered``. The
    back lane opens only once the front one has walked ``_BACK_LANE_AFTER`` pages: a shorter
    listing is not the one setting the walk's time. Where the lanes meet, neither asks for a page
    the other one's pages cover (``last``), but for a misjudged gap: at most one page.

    A creation date never changes, so the order holds while the walk goes on (a default-ordered
    listing is by trending score, which moves under the cursor). A repo created meanwhile lands
    behind the back lane's start and is the next refresh's. The Hub has dropped ascending order
    for other sort keys (huggingface_hub#3630), so each page is checked before it is written: a
    front page not in ascending order makes the walk one lane to the listing's end (``alone``),
    a back page not in descending order (or starting behind the front) ends the back lane."""

    def __init__(self, walk: WalkRow) -> None:
        self._cond = threading.Condition()
        self._front, self._back = _instant(walk.front_key), _instant(walk.back_key)  # written
        self._reached = {False: self._front, True: self._back}  # fetched, written or not
        self._span: dict[bool, float] = {}  # seconds of creation dates in each lane's last page fetched
        self.covered = walk.covered
        self.alone = False  # the listing is not in the order asked for: the front lane to its end
        self.back_ended = False
        self.halt = threading.Event()  # the other lane failed: end after the page in hand

    def in_order(self, back: bool, dates: list[dt.datetime]) -> bool:
        """Whether a page's creation dates (in listing order) run this lane's way from where it
        stands; the back lane's first page must start at or after the front's frontier."""
        if any((later > earlier) if back else (later < earlier) for earlier, later in zip(dates, dates[1:])):
            return False
        with self._cond:
            mine, other = (self._back, self._front) if back else (self._front, self._back)
        if not dates or (mine is None and not back):
            return True
        if mine is None:
            return other is None or dates[0] >= other
        return dates[0] <= mine if back else dates[0] >= mine

    def last(self, back: bool, page: ListingPage) -> bool:
        """A page this lane just fetched: whether the lane asks for no page after it. Where the
        lanes meet, a page fetched that the other lane's pages cover is a wasted request (a whole
        rate-limit window, when it is the one past the quota's edge), so: the back lane ends
        once the gap left is under one and a half pages (``_MEETING_PAGES``, from the two lanes'
        last pages' spans of dates), leaving it to the front lane; and the front lane ends at its
        page that passes the back lane's frontier, once the back lane's pages already fetched
        are written (so that it decides on what is in the state store)."""
        if page.next_url is None:
            return True
        dates = _dates(page)
        if not dates or self.alone:
            return False
        key = min(dates) if back else max(dates)
        with self._cond:
            self._reached[back] = key
            self._span[back] = (max(dates) - min(dates)).total_seconds()
            if back:
                return self._passes(True, key) or self._near()
            other = self._reached[True]
            if other is not None and key > other and not self._passes(False, key):
                self._cond.wait_for(lambda: self._passes(False, key) or self.back_ended or self.covered
                                    or self.halt.is_set(), timeout=_MEETING_WAIT_S)
            return self._passes(False, key)

    def _near(self) -> bool:
        front, back = self._reached[False], self._reached[True]
        spans = [s for s in self._span.values() if s > 0]
        if front is None or back is None or not spans:
            return False
        return (back - front).total_seconds() < _MEETING_PAGES * sum(spans) / len(spans)

    def passes(self, back: bool, key: dt.datetime | None) -> bool:
        """Whether a page of this lane reaching ``key`` passes the other lane's written frontier."""
        with self._cond:
            return self._passes(back, key)

    def _passes(self, back: bool, key: dt.datetime | None) -> bool:
        other = self._front if back else self._back
        return key is not None and other is not None and (key < other if back else key > other)

    def written(self, back: bool, key: dt.datetime | None, covered: bool) -> None:
        """A page of this lane is in the state store: its frontier is the other lane's to pass."""
        with self._cond:
            if key is not None:
                if back:
                    self._back = key
                else:
                    self._front = key
            self.covered = self.covered or covered
            self._cond.notify_all()

    def back_lane_ended(self) -> None:
        with self._cond:
            self.back_ended = True
            self._cond.notify_all()


_MEETING_PAGES = 1.5  # the gap, in pages, below which the back lane leaves the rest to the front
_MEETING_WAIT_S = 60.0  # at most, for the back lane's fetched pages to be written


def _dates(page: ListingPage) -> list[dt.datetime]:
    return [_order(r.created_at) for r in page.records if r.created_at is not None]


def _both_ends(walk: WalkRow, writer: _PageWriter, stop: threading.Event | None,
               listing: Callable[[bool, str | None], Iterator[ListingPage]]) -> None:
    """An ordered full walk: the front lane in this thread, the back lane in one of its own (run
    in this thread's context: the same scraper to the limiter). Either lane failing, or a Ctrl-C
    here, ends the other after its page; the error is raised here, the walk resumable."""
    lanes = _Lanes(walk)
    failed: list[BaseException] = []
    back: threading.Thread | None = None

    def open_back() -> None:
        nonlocal back
        context = contextvars.copy_context()

        def run() -> None:
            try:
                context.run(_lane, True, listing(True, walk.back_url), writer, lanes, stop, None)
            except (_Stopped, _Halted):
                pass  # the walk's stop, or the front lane's failure: the front raises it
            except BaseException as exc:  # noqa: BLE001 - handed to the walk's thread, raised below
                failed.append(exc)
                lanes.halt.set()
            finally:
                lanes.back_lane_ended()

        back = threading.Thread(target=run, name="hf-ipfs-catalog-back-lane", daemon=True)
        back.start()

    opened = walk.back_url is not None or walk.back_key is not None
    if opened:
        open_back()
    try:
        _lane(False, listing(False, walk.next_url), writer, lanes, stop,
              None if opened else (walk.pages, open_back))
    except _Halted:
        pass  # the back lane's error is raised below
    except BaseException:
        lanes.halt.set()
        if back is not None:
            back.join()
        raise
    if back is not None:
        back.join()
    if failed:
        raise failed[0]


def _lane(back: bool, pages: Iterator[ListingPage], writer: _PageWriter, lanes: _Lanes,
          stop: threading.Event | None, opener: tuple[int, Callable[[], None]] | None) -> None:
    """One lane's pages until the walk is covered. ``opener``: the front lane's pages so far and
    what opens the back lane once there are ``_BACK_LANE_AFTER`` of them."""
    walked = opener[0] if opener is not None else 0
    for page in _read_ahead(pages, lambda fetched: lanes.last(back, fetched)):
        if stop is not None and stop.is_set():
            raise _Stopped
        if lanes.halt.is_set():
            raise _Halted
        if lanes.covered or (back and lanes.alone):
            return  # the other lane passed this one's frontier: its page in flight is the overlap
        dates = _dates(page)
        if not lanes.in_order(back, dates):
            if back:
                logger.warning("the Hub's %ss newest first are not in creation order: walking from one end",
                               writer.walk.type)
                return
            if not lanes.alone:
                logger.warning("the Hub's %ss oldest first are not in creation order: walking from one end",
                               writer.walk.type)
                lanes.alone = True
                writer.state.walk_in_one_lane(writer.walk.id)
        key = None if not dates or lanes.alone else (min(dates) if back else max(dates))
        covered = page.next_url is None or lanes.passes(back, key)
        writer.write(page, back=back, key=None if key is None else key.isoformat(), covered=covered)
        lanes.written(back, key, covered)
        if covered:
            return
        walked += 1
        if opener is not None and walked >= _BACK_LANE_AFTER and key is not None:
            opener[1]()
            opener = None


def _order(date: str) -> dt.datetime:
    """A creation date as an instant (the Hub's are UTC; a naive one is taken as UTC)."""
    instant = dt.datetime.fromisoformat(date)
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=dt.timezone.utc)


def _instant(date: str | None) -> dt.datetime | None:
    return None if date is None else _order(date)


class _Halted(Exception):
    """The walk's other lane failed: this one ends between pages."""


def _read_ahead(pages: Iterator[ListingPage],
                last: Callable[[ListingPage], bool] | None = None) -> Iterator[ListingPage]:
    """``pages``, the next one fetched while the caller handles the current one (see the module
    docstring), up to the first one ``last`` says is the last wanted. The fetching thread runs in
    this thread's context, so its requests count as this walk's scraper in the limiter; an error
    fetching a page is raised when that page is asked for, after the pages before it were handled."""
    context = contextvars.copy_context()

    def fetch() -> ListingPage | None:
        return context.run(next, pages, None)

    pool = ThreadPoolExecutor(1, thread_name_prefix="hf-ipfs-catalog-read-ahead")
    try:
        ahead = pool.submit(fetch)
        while (page := ahead.result()) is not None:
            if last is not None and last(page):
                yield page
                return
            ahead = pool.submit(fetch)
            yield page
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _find_gone(walk: WalkRow, state: StateStore, client: HubClient, index: _Indexer | None,
               summary: WalkSummary) -> None:
    """After a completed full walk: what it did not list is gone; a renamed repo says where to."""
    gone = state.mark_gone(walk.type, walk.started_at)
    if index is not None and gone:
        index.gone(gone)
    for repo_id in gone:
        summary.gone.append(repo_id)
        try:
            now_id = client.current_id(walk.type, repo_id)
        except RepoUnavailableError:
            continue  # deleted, or made private: gone is all there is to say
        if now_id is not None and now_id != repo_id:
            state.set_renamed(walk.type, repo_id, now_id)
            summary.renamed.append((repo_id, now_id))
