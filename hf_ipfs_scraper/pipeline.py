"""discover → filter → fetch → store → record: the one pipeline every scraper plugs into.

1. **discover**: the scraper's trending listing (one request per page, all fields via ``expand``);
   the ranking is recorded as a trending snapshot of the run.
2. **filter**: entity filters reject repos before any request for them; the state store says which
   repos are unchanged (same sha, done: no request at all), new, changed or worth retrying.
3. **fetch**: per repo, one recursive tree request; file filters; then one GET per file whose bytes
   are not already stored (a known oid reuses its CID), streamed and verified.
4. **store**: each file goes through the ``Storage`` seam (embedded store, later Kubo/Cluster);
   the repo directory is built and pinned.
5. **record**: every verified file is recorded as it lands (resume skips it), then the layout
   files, the scraper's extra artefacts, and — in one transaction — the entity's root CID, sizes
   and README; a failure is recorded with its reason and the run goes on.

Every listed repo's metadata and provenance edges are recorded at discovery, mirrored or not: a
gated base model that is skipped still has its place in the family tree.
"""

from __future__ import annotations

import contextlib
import fnmatch
import logging
import sqlite3
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Callable

import tenacity

from .config import Config
from .errors import (
    ArchiveWriteError,
    BackendError,
    BackendUnavailableError,
    BlockNotFoundError,
    CodecError,
    HubError,
    InvalidInputError,
    RepoUnavailableError,
    StoreError,
    TransientHubError,
)
from .hub.client import HubClient
from .hub.download import Cancelled
from .hub.retry import transient_retrying
from .ipfs.cid import CID
from .ipfs.importer import Node
from .layout import repo_dir, unsafe_path, write_json, write_text
from .provenance.tracker import ProvenanceTracker
from .ratelimit import RateLimiter, ScraperHandle
from .records import RepoFile, RepoRecord
from .scrapers.base import RepoScraper
from .search import SearchDoc, SearchIndex
from .state import FileRecord, StateStore, StoredBlob, TrendingRow
from .state.rows import Archived, node_key
from .storage.base import Storage

logger = logging.getLogger(__name__)

README_TEXT_MAX = 1 << 20  # a README's text is kept in the state store up to this size (else its CID)
_SPACING_CAP = 7 * 86_400.0  # a repo that keeps failing is still tried at least once a week


@dataclass(frozen=True, slots=True)
class RunStarted:
    """Discovery is done: ``repos`` of the ``discovered`` trending repos will be mirrored."""

    repo_type: str
    repos: int
    discovered: int


@dataclass(frozen=True, slots=True)
class RepoFinished:
    repo_type: str
    id: str
    outcome: str  # "mirrored" | "skipped" | "failed" | "interrupted"


@dataclass(frozen=True, slots=True)
class BytesReceived:
    n: int


ProgressEvent = RunStarted | RepoFinished | BytesReceived
ProgressCallback = Callable[[ProgressEvent], None]

# Why a repo is skipped before any request for it (decided again at each run from the listing).
_PRIVATE = "a private repo is not mirrored"
_DISABLED = "the Hub has disabled this repo"
_GATED_NO_TOKEN = "needs an access token with accepted terms (set HF_TOKEN)"


@dataclass
class RunSummary:
    """What one run did; ``str()`` is the human summary the CLI prints."""

    run_id: int
    repo_type: str
    status: str = "running"
    discovered: int = 0
    mirrored: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0
    other_shards: int = 0  # listed, but left to the other machines (--shard i/n)
    files_downloaded: int = 0
    files_reused: int = 0
    bytes_downloaded: int = 0
    retries: int = 0  # files and repo steps asked again within the run after a failure a retry may cure
    waiting: int = 0  # failed in earlier runs and not yet due again (scrape.retry_spacing)
    requests: dict[str, int] = field(default_factory=dict)
    responses_429: int = 0
    seconds_waited: float = 0.0
    seconds: float = 0.0
    skips: list[tuple[str, str]] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (id, why): listing entries not taken
    error: str | None = None  # why the run itself failed (the listing could not be fetched...)

    def as_dict(self) -> dict[str, object]:
        return {k: (list(map(list, v)) if k in ("skips", "failures", "refused") else v) for k, v in self.__dict__.items()}

    def __str__(self) -> str:
        if self.error is not None:
            return f"run {self.run_id} ({self.repo_type}s) failed after {self.seconds:.1f}s: {self.error}"
        lines = [
            f"run {self.run_id} ({self.repo_type}s) {self.status} in {self.seconds:.1f}s: "
            f"{self.discovered} trending, {self.mirrored} mirrored, {self.unchanged} unchanged, "
            f"{self.skipped} skipped, {self.failed} failed"
            + (f", {self.waiting} waiting to be retried" if self.waiting else "")
            + (f", {self.other_shards} on other shards" if self.other_shards else ""),
            f"files: {self.files_downloaded} downloaded ({self.bytes_downloaded / 1e6:.1f} MB), "
            f"{self.files_reused} reused; Hub requests: "
            + ", ".join(f"{k} {v}" for k, v in sorted(self.requests.items()))
            + f"; 429s: {self.responses_429}, waited {self.seconds_waited:.1f}s"
            + (f"; {self.retries} retries" if self.retries else ""),
        ]
        lines += [f"  skipped {repo}: {why}" for repo, why in self.skips]
        lines += [f"  failed  {repo}: {why}" for repo, why in self.failures]
        lines += [f"  refused {repo[:100]!r}: {why}" for repo, why in self.refused]
        return "\n".join(lines)


class Pipeline:
    """Runs a scraper end to end over shared state, storage, client and limiter."""

    def __init__(
        self,
        config: Config,
        *,
        storage: Storage,
        state: StateStore,
        client: HubClient,
        limiter: RateLimiter,
        provenance: ProvenanceTracker,
        search: SearchIndex | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        self.config = config
        self.storage = storage
        self.state = state
        self.client = client
        self.limiter = limiter
        self.provenance = provenance
        self.search = search
        self.progress = progress or (lambda event: None)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._inflight: dict[str, threading.Event] = {}  # oid -> set when its download ends
        self._active = 0  # runs in progress (``Mirror.scrape_all`` runs several at once)
        self._unavailable: BackendUnavailableError | None = None  # the backend went down: runs stop

    def stop(self) -> None:
        """Ask the runs to stop soon: no new repo starts, downloads in flight are abandoned."""
        self._stop.set()

    # -- the run -----------------------------------------------------------------------------
    def run(self, scraper: RepoScraper, *, limit: int | None = None, workers: int | None = None) -> RunSummary:
        """Mirror the top ``limit`` trending repos of the scraper's type. A listing the Hub does not
        give (unreachable, 5xx) ends the run as ``failed`` with ``error`` set; it is not raised."""
        limit = limit or self.config.scrape_limit
        workers = workers or self.config.scrape_workers
        started = time.monotonic()
        handle = self.limiter.register(scraper.run_key)  # concurrent scrapers split the quota fairly
        run = self.state.start_run(scraper.run_key)
        summary = RunSummary(run.id, scraper.repo_type)
        with self._lock:
            if not self._active:
                self._stop.clear()  # a new start after an interrupted one
                self._unavailable = None
            self._active += 1
        status = "failed"
        try:
            with handle.bind():
                todo = self._discover(scraper, limit, run.id, summary)
            self.progress(RunStarted(scraper.repo_type, len(todo), summary.discovered))
            self._mirror_all(scraper, todo, workers, summary, handle)
            status = "interrupted" if self._stop.is_set() else "completed"
            if self._unavailable is not None:
                status = "failed"
                summary.error = f"{self._unavailable}; repos not yet pinned stay pending for the next run"
        except KeyboardInterrupt:
            self._stop.set()
            status = "interrupted"
            raise
        except HubError as exc:  # the listing: nothing of this run can happen
            summary.error = str(exc)
        except Exception as exc:
            summary.error = str(exc)
            raise
        finally:
            with self._lock:
                self._active -= 1
            self.limiter.unregister(handle)
            summary.status = status
            summary.seconds = time.monotonic() - started
            # the run's own requests (the handle's), not the process's: other runs may be going on
            summary.requests = dict(handle.requests)
            summary.responses_429 = handle.responses_429
            summary.seconds_waited = handle.seconds_waited
            self.state.finish_run(run.id, status, summary.as_dict())
        return summary

    def _discover(self, scraper: RepoScraper, limit: int, run_id: int, summary: RunSummary) -> list[RepoRecord]:
        def trending() -> list[tuple[int, RepoRecord]]:
            summary.refused.clear()  # a retried listing tells them again
            return list(self.client.trending(
                scraper.repo_type, limit=limit, expand=scraper.expand, record=scraper.record,
                accept=(lambda r: scraper.rejection(r) is None) if scraper.filters_client_side else None,
                refused=lambda repo_id, why: summary.refused.append((repo_id, why)),
                **scraper.listing_params(),
            ))

        listed = transient_retrying(self.config.scrape_retries, lambda: f"listing trending {scraper.repo_type}s")(trending)
        summary.discovered = len(listed)
        self.state.record_trending(
            run_id,
            scraper.repo_type,
            [
                TrendingRow(rank=i, id=r.id, trending_score=r.trending_score, likes=r.likes, downloads=r.downloads)
                for i, (_rank, r) in enumerate(listed, start=1)
            ],
        )
        todo: list[RepoRecord] = []
        shard = self.config.scrape_shard
        for _rank, record in listed:
            if shard is not None and not shard.owns(record.type, record.id):
                summary.other_shards += 1  # another machine's: not even recorded here
                continue
            entity = self.state.upsert_discovered(record.type, record.id, record.sha, metadata=record.metadata())
            self.provenance.record(record)
            if entity.status == "done" and record.sha is not None and entity.sha == record.sha:
                summary.unchanged += 1
                continue
            if entity.status == "skipped":  # same revision (a new one resets the entity to pending)
                if self._still_skipped(record, entity.reason or ""):
                    summary.skipped += 1
                    summary.skips.append((record.id, entity.reason or "skipped"))
                    continue
                self.state.reopen(record.type, record.id)
            if entity.status == "failed" and entity.retry_at is not None and entity.retry_at > time.time():
                summary.waiting += 1  # `status` says when, and why
                continue
            todo.append(record)
        return todo

    def _mirror_all(
        self, scraper: RepoScraper, todo: list[RepoRecord], workers: int, summary: RunSummary, handle: ScraperHandle
    ) -> None:
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hf-ipfs-mirror")
        pending: dict[Future[None], RepoRecord] = {}
        queue = list(reversed(todo))
        try:
            while queue or pending:
                while queue and len(pending) < workers and not self._stop.is_set():
                    record = queue.pop()
                    pending[pool.submit(self._mirror_bound, handle, scraper, record, summary)] = record
                if not pending:
                    break
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    del pending[future]
                    future.result()  # _mirror_one records entity failures itself; this re-raises bugs
        except BaseException:
            self._stop.set()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    # -- one repo ----------------------------------------------------------------------------
    def _mirror_bound(self, handle: ScraperHandle, scraper: RepoScraper, record: RepoRecord, summary: RunSummary) -> None:
        with handle.bind():  # this worker's requests count against the scraper's share
            self._mirror_one(scraper, record, summary)

    def _mirror_one(self, scraper: RepoScraper, record: RepoRecord, summary: RunSummary) -> None:
        state = self.state
        if self._stop.is_set() or not state.claim(record.type, record.id):
            return
        outcome = "failed"
        try:
            self._check_available(record)
            self._retrying(record, summary)(self._mirror_files, scraper, record, summary)
            outcome = "mirrored"
        except RepoUnavailableError as exc:
            state.mark_skipped(record.type, record.id, f"{exc.reason}: {exc}")
            outcome = "skipped"
            with self._lock:
                summary.skipped += 1
                summary.skips.append((record.id, f"{exc.reason}: {exc}"))
        except Cancelled:
            state.release(record.type, record.id)
            outcome = "interrupted"
        except BackendUnavailableError as exc:  # every repo after it would fail the same way
            state.release(record.type, record.id)
            outcome = "interrupted"
            with self._lock:
                self._unavailable = self._unavailable or exc
            self._stop.set()
        except (HubError, BackendError, InvalidInputError, CodecError) as exc:  # this repo's: recorded, the run goes on
            message = f"{type(exc).__name__}: {exc}"
            logger.warning("%s %s failed: %s", record.type, record.id, message)
            state.mark_failed(record.type, record.id, message, retry_at=self._next_try(record))
            with self._lock:
                summary.failed += 1
                summary.failures.append((record.id, message))
        except (OSError, sqlite3.Error, StoreError) as exc:  # the archive's, not this repo's: stop the run
            self._let_go(record)
            raise ArchiveWriteError(f"writing the archive in {self.config.output_dir} failed: {exc}; the run "
                                    f"stopped, and repos not finished stay pending for the next run") from exc
        except BaseException:  # a bug: its traceback, and the repo back to pending, not left in_progress
            self._let_go(record)
            raise
        else:
            with self._lock:
                summary.mirrored += 1
        self.progress(RepoFinished(record.type, record.id, outcome))

    def _retrying(self, record: RepoRecord, summary: RunSummary, file: RepoFile | None = None) -> tenacity.Retrying:
        """A repo's step (or one ``file`` of it) retried after a :class:`TransientHubError`
        (``hub/retry.py``), ``scrape.retries`` times; a stop ends the wait at once. A file has its
        own retries, so a repo of many files is not failed by one file's bad luck; the repo's step
        again reuses the files already verified and stored."""

        def sleep(seconds: float) -> None:
            if self._stop.wait(seconds):
                raise Cancelled(f"{record.id}: stopping")

        def counted() -> None:
            with self._lock:
                summary.retries += 1

        what = f"{record.type} {record.id}" + (f" {file.path}" if file is not None else "")
        return transient_retrying(self.config.scrape_retries, lambda: what, sleep=sleep, on_retry=counted)

    def _next_try(self, record: RepoRecord) -> float:
        """When a later run may try a repo that just failed: ``scrape.retry_spacing`` after its first
        failure at this revision, twice as long after each next one, at most a week."""
        held = self.state.get(record.type, record.id)
        failures = held.attempts if held is not None else 1  # this claim counted: 1 on a first failure
        return time.time() + min(self.config.scrape_retry_spacing * 2 ** max(0, failures - 1), _SPACING_CAP)

    def _let_go(self, record: RepoRecord) -> None:
        """Put a repo this worker holds back to pending, when the state store can still be written."""
        with contextlib.suppress(OSError, sqlite3.Error, StoreError):
            self.state.release(record.type, record.id)

    def _check_available(self, record: RepoRecord) -> None:
        """Skip what the listing already says cannot be mirrored, before any request for it."""
        if record.private:
            raise RepoUnavailableError("private", _PRIVATE)
        if record.disabled:
            raise RepoUnavailableError("disabled", _DISABLED)
        if record.gated and not self.client.token:
            raise RepoUnavailableError("gated", _GATED_NO_TOKEN)

    def _still_skipped(self, record: RepoRecord, reason: str) -> bool:
        """Whether a repo skipped at this revision stays skipped, without a request.

        A skip the listing alone decided (private, disabled, gated without a token) is decided
        again from this listing: a token set since, or a repo made public, mirrors it now. A repo
        too large for ``filters.max_repo_size`` is tried again once the limit is raised above its
        size. A skip a request decided (not found, a token without access) holds until a new revision.
        """
        kind, _, message = reason.partition(": ")
        if kind == "too_large":
            size = message.split(" ", 1)[0]
            limit = self.config.filters_max_repo_size
            return not size.isdigit() or (limit != 0 and int(size) > limit)
        if message not in (_PRIVATE, _DISABLED, _GATED_NO_TOKEN):
            return True
        try:
            self._check_available(record)
        except RepoUnavailableError:
            return True
        return False

    def _keep(self, file: RepoFile) -> str | None:
        """Why a file is left out (None: kept)."""
        unsafe = unsafe_path(file.path)
        if unsafe is not None:
            return unsafe
        cfg = self.config
        if cfg.filters_include and not any(fnmatch.fnmatch(file.path, g) for g in cfg.filters_include):
            return "not matched by filters.include"
        if any(fnmatch.fnmatch(file.path, g) for g in cfg.filters_exclude):
            return "matched by filters.exclude"
        if cfg.filters_max_file_size and file.size > cfg.filters_max_file_size:
            return f"{file.size} bytes > filters.max_file_size"
        return None

    def _mirror_files(self, scraper: RepoScraper, record: RepoRecord, summary: RunSummary) -> None:
        state, storage, cfg = self.state, self.storage, self.config
        files = self.client.tree(record)
        reasons = {f.path: self._keep(f) for f in files}
        reasons |= scraper.select_files([f for f in files if reasons[f.path] is None])
        kept = [f for f in files if reasons[f.path] is None]
        excluded = {path: why for path, why in reasons.items() if why is not None}
        total = sum(f.size for f in kept)
        if cfg.filters_max_repo_size and total > cfg.filters_max_repo_size:
            raise RepoUnavailableError(
                "too_large", f"{total} bytes of kept files > filters.max_repo_size {cfg.filters_max_repo_size}"
            )
        known = {f.path: f for f in state.files(record.type, record.id)}
        nodes: dict[str, Node] = {}
        entries: list[dict[str, object]] = []
        with storage.writing():
            for file in kept:
                if self._stop.is_set():
                    raise Cancelled(f"{record.id}: stopping")
                node, downloaded = self._fetch(record, file, known.get(file.path), summary)
                with self._lock:
                    if downloaded:
                        summary.files_downloaded += 1
                        summary.bytes_downloaded += file.size
                    else:
                        summary.files_reused += 1
                nodes[file.path] = node
                entries.append({"path": file.path, "size": file.size, "oid": file.oid,
                                "sha256": file.lfs_sha256, "cid": str(node.cid)})
            root = storage.add_directory(nodes)
            readme_cid, readme_size, readme_text = self._readme(nodes)  # before a remote pin drops the spool
            storage.pin(root.cid, f"{record.type}:{record.id}")
        previous = state.get(record.type, record.id)
        if previous is not None and previous.root_cid and previous.root_cid != str(root.cid):
            self._unpin_quietly(previous.root_cid)
        out = repo_dir(cfg.output_dir, record)
        metadata = record.metadata() | {
            "ipfs": {"root_cid": str(root.cid), "files": len(kept), "bytes": total, "excluded": excluded},
            "mirrored_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        for name, data in scraper.extras(record, self.client).items():
            write_json(out / name, data)
        write_json(out / "metadata.json", metadata)
        write_json(out / "files.json", entries)
        write_text(out / "ipfs_cid.txt", f"{root.cid}\n")
        state.forget_files(record.type, record.id, keep_paths=[f.path for f in kept])
        archived = Archived(size_bytes=total, total_bytes=sum(f.size for f in files), file_count=len(kept),
                            readme_cid=readme_cid, readme_size=readme_size, readme_text=readme_text,
                            root_tsize=root.tsize)
        done = state.mark_done(record.type, record.id, record.sha or "", str(root.cid), archived=archived)
        self.provenance.mark_mirrored(node_key(record.type, record.id))
        if self.search is not None:  # searchable as soon as it is mirrored
            text = readme_text if readme_text is not None or readme_cid is None else self._cat_text(readme_cid)
            self.search.upsert([SearchDoc.from_entity(done, text)])

    def _cat_text(self, cid: str) -> str:
        """A long README's first ``README_TEXT_MAX`` bytes: what search indexes of it."""
        return b"".join(self.storage.cat(CID.parse(cid), length=README_TEXT_MAX)).decode("utf-8", "replace")

    def _readme(self, nodes: dict[str, Node]) -> tuple[str | None, int, str | None]:
        """The root README's CID, size and text (the text up to ``README_TEXT_MAX``), read back
        from the store: the bytes that were verified and archived."""
        path = next((p for p in sorted(nodes) if p.lower() == "readme.md"), None)
        if path is None:
            return None, 0, None
        node = nodes[path]
        text = None
        if node.size <= README_TEXT_MAX:
            text = b"".join(self.storage.cat(node.cid)).decode("utf-8", "replace")
        return str(node.cid), node.size, text

    def _fetch(self, record: RepoRecord, file: RepoFile, known: FileRecord | None,
               summary: RunSummary) -> tuple[Node, bool]:
        """The file's DAG, recorded for this repo: reused when its bytes are stored, else downloaded
        (True). Workers never fetch one blob twice at once: a second one waits for the first."""
        while True:
            node = self._reuse(file, known)
            if node is not None:
                if known is None or (known.oid, known.cid) != (file.oid, str(node.cid)):
                    self._record(record, file, node)
                return node, False
            with self._lock:
                busy = self._inflight.get(file.oid)
                mine = busy is None
                if busy is None:
                    busy = self._inflight[file.oid] = threading.Event()
            if not mine:
                while not busy.wait(0.2):
                    if self._stop.is_set():
                        raise Cancelled(f"{record.id}: stopping")
                continue  # stored by the other worker now (or it failed: try ourselves)
            try:
                return self._retrying(record, summary, file)(self._download, record, file), True
            except TransientHubError as exc:
                exc.retried = True  # its own retries are spent: the repo's step does not start them over
                raise
            finally:
                with self._lock:
                    del self._inflight[file.oid]
                busy.set()

    def _reuse(self, file: RepoFile, known: FileRecord | None) -> Node | None:
        """A stored DAG for these exact bytes: this repo's earlier revision, or any repo's same blob."""
        candidates: list[FileRecord | StoredBlob | None] = [
            known if known is not None and known.oid == file.oid else None,
            self.state.cid_for_oid(file.oid),
        ]
        for hit in candidates:
            if hit is None:
                continue
            cid = CID.parse(hit.cid)
            if self.storage.has(cid):
                return Node(cid, hit.tsize, hit.size)
        return None

    def _download(self, record: RepoRecord, file: RepoFile) -> Node:
        def on_bytes(n: int) -> None:
            self.progress(BytesReceived(n))

        with self.client.open_file(file, record, on_bytes=on_bytes, cancel=self._stop.is_set) as stream:
            node = self.storage.add_file(stream)
        self._record(record, file, node)
        return node

    def _record(self, record: RepoRecord, file: RepoFile, node: Node) -> None:
        """The file is verified and stored: a resumed run skips it."""
        self.state.record_file(
            record.type, record.id, file.path, size=file.size, oid=file.oid, sha256=file.lfs_sha256,
            cid=str(node.cid), tsize=node.tsize,
        )

    def _unpin_quietly(self, cid_text: str) -> None:
        """Drop the pin of a repo's previous revision; its blocks go at the next ``repo gc``."""
        try:
            self.storage.unpin(CID.parse(cid_text))
        except (InvalidInputError, BlockNotFoundError) as exc:
            logger.info("previous root %s was not pinned: %s", cid_text, exc)

