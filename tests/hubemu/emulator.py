"""``HubEmulator``: a local Hugging Face Hub (API + resolve), its LFS CDN and its dataset viewer.

    with HubEmulator(build_corpus(n_models=5)) as emu:
        HfApi(endpoint=emu.endpoint).model_info("sentence-transformers/all-MiniLM-L6-v2")
        emu.counts["info"]  # -> 1

Three threaded stdlib servers on 127.0.0.1 with ephemeral ports: ``endpoint`` (the Hub),
``cdn_endpoint`` (LFS downloads, reached through 302 redirects) and ``viewer_endpoint`` (the
dataset viewer API, ``viewer.py``; ``set_viewer(dataset_id, mode)`` picks how it answers for one
dataset, ``viewer_delay`` is the wait of the "slow" mode). Every mutation is thread-safe and
visible to the next request. Counters: ``counts`` (requests per kind: list, info, tree,
paths_info, refs, commits, resolve_head, resolve_get, cdn_get, cdn_head, viewer_is_valid,
viewer_splits, viewer_first_rows, other, plus "429" for refusals; a refused request also counts in
its kind), ``requests`` (method, path?query, status), ``bytes_served`` / ``bytes_by_kind`` (body
bytes sent), ``reset_counts()``. Faults (``faults.py``): ``faults`` (a ``FaultPlan``, settable while
running), ``fault_log`` ((kind, method, target) per injected fault) and ``fault_counts()``.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping

from .cdn import CdnApp
from .faults import FaultInjector, FaultPlan, FaultRecord
from .generated import GeneratedHub
from .hub import HubApp
from .listing import ASCENDING_SORTS
from .quota import RateLimiter
from .repo import DEFAULT_GITATTRIBUTES, Gated, Repo, RepoFile, is_lfs_path
from .state import HubState
from .viewer import MODES as VIEWER_MODES
from .viewer import ViewerApp
from .wire import Link, Request, Response, Server

KINDS = (
    "harnesses", "list", "info", "tree", "paths_info", "refs", "commits",
    "resolve_head", "resolve_get", "cdn_get", "cdn_head",
    "viewer_is_valid", "viewer_splits", "viewer_first_rows", "other", "429",
)


class HubEmulator:
    def __init__(
        self,
        corpus: Iterable[Repo] = (),
        *,
        latency: float = 0.0,
        bandwidth: float = 0.0,
        quotas: Mapping[str, int] | None = None,
        window: float = 300.0,
        tokens: Mapping[str, Iterable[str] | str] | None = None,
        page_size: int = 1000,
        tree_page_size: int = 1000,
        clock: Callable[[], float] = time.monotonic,
        generated: GeneratedHub | None = None,
        faults: FaultPlan | None = None,
    ) -> None:
        """``latency``: seconds each answer waits; ``bandwidth``: bytes per second of every body
        sent, all servers together (0: unlimited; ``wire.Link``). ``quotas``: requests per ``window`` seconds per bucket (api, resolvers, pages); None =
        unlimited and no RateLimit headers. ``tokens``: token -> repo ids it may read when gated or
        private, or "*" for all (default: ``ACCESS_TOKEN`` -> "*", ``NO_ACCESS_TOKEN`` -> none).
        ``page_size``: the most items a listing page holds (the Hub: 1000); ``tree_page_size``
        likewise for tree listings (the Hub: 1000, 50 with ``expand=true``). ``generated``: serve
        a ``GeneratedHub`` (``generated.py``) instead of a corpus: its listings, repo info, trees
        and files; ``rename_repo``/``remove_repo``/``set_private``... act on it, file edits are
        refused. ``faults``: a ``FaultPlan`` of Hub / CDN faults to inject (``faults.py``)."""
        self.latency = latency
        self.link = Link(bandwidth)
        self.page_size = page_size
        self.tree_page_size = tree_page_size
        self.generated = generated
        self.ascending_sorts = ASCENDING_SORTS  # a test may make it a Hub that ignores direction=1
        self.state = HubState(tokens, generated)
        self.limiter = RateLimiter(quotas, window, clock)
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._bytes: Counter[str] = Counter()
        self._requests: list[tuple[str, str, int]] = []
        self._request_seq = 0
        self._drops: dict[str, list[int]] = {}
        self._lfs: dict[str, bytes] = {}
        self._cdn_app = CdnApp(self)
        self._hub: Server | None = None
        self._cdn: Server | None = None
        self._viewer: Server | None = None
        self._viewer_modes: dict[str, str] = {}
        self._stopping = threading.Event()  # wakes "slow" viewer answers when the servers stop
        self._faults = FaultInjector(faults, lambda: self.limiter, self._stopping)
        #: Seconds a dataset in the viewer's "slow" mode waits before answering.
        self.viewer_delay = 5.0
        #: Rewrites each Hub answer before it is sent (``hostile.py``: a Hub sending what it should not).
        self.tamper: Callable[[Request, Response], Response] | None = None
        for repo in corpus:
            self.add_repo(repo)  # refused with a generated Hub

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> HubEmulator:
        if self._hub is None:
            self._stopping.clear()
            self._hub = Server(self._faults.wrap(HubApp(self), "hub"), self._record, lambda: self.latency, self.link)
            self._cdn = Server(self._faults.wrap(self._cdn_app, "cdn"), self._record, lambda: self.latency, self.link)
            self._viewer = Server(ViewerApp(self), self._record, lambda: self.latency, self.link)
            for server in (self._hub, self._cdn, self._viewer):
                server.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        for server in (self._hub, self._cdn, self._viewer):
            if server is not None:
                server.stop()
        self._hub = self._cdn = self._viewer = None

    def __enter__(self) -> HubEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        if self._hub is None:
            raise RuntimeError("the emulator is not started")
        return self._hub.url

    @property
    def cdn_endpoint(self) -> str:
        if self._cdn is None:
            raise RuntimeError("the emulator is not started")
        return self._cdn.url

    @property
    def viewer_endpoint(self) -> str:
        """The dataset viewer's base URL (what ``https://datasets-server.huggingface.co`` is)."""
        if self._viewer is None:
            raise RuntimeError("the emulator is not started")
        return self._viewer.url

    # -- content -----------------------------------------------------------------------------
    def add_repo(self, repo: Repo) -> None:
        self._not_generated("add_repo")
        self.state.add(repo)
        self._keep_lfs(repo.files)

    def repo(self, repo_id: str, repo_type: str | None = None) -> Repo:
        """The repo as now hosted (main branch)."""
        with self.state.lock:
            return self.state.find(repo_id, repo_type).repo

    def update_file(
        self,
        repo_id: str,
        path: str,
        data: bytes,
        *,
        lfs: bool | None = None,
        repo_type: str | None = None,
        message: str | None = None,
    ) -> str:
        """Add or replace one file in a new commit on main; returns the new commit sha. ``lfs``
        defaults to what the repo's .gitattributes (or the Hub's default one) and size say."""
        self._not_generated("update_file")
        if lfs is None:
            current = self.repo(repo_id, repo_type).file(".gitattributes")
            rules = current.data.decode("utf-8", "replace") if current else DEFAULT_GITATTRIBUTES
            lfs = is_lfs_path(path, len(data), rules)
        new = RepoFile(path, data, lfs)
        self._keep_lfs([new])
        return self.state.commit_files(repo_id, {path: new}, repo_type=repo_type, title=message or f"Upload {path}")

    def delete_file(self, repo_id: str, path: str, *, repo_type: str | None = None) -> str:
        self._not_generated("delete_file")
        return self.state.commit_files(repo_id, {path: None}, repo_type=repo_type, title=f"Delete {path}")

    def remove_repo(self, repo_id: str, repo_type: str | None = None) -> None:
        if self.generated is not None:
            return self.generated.delete(self._generated_type(repo_id, repo_type), repo_id)
        self.state.remove(repo_id, repo_type)

    def rename_repo(self, old: str, new: str, repo_type: str | None = None) -> None:
        """Move a repo; the old id then answers 307 to the new one (API and resolve URLs)."""
        if self.generated is not None:
            return self.generated.rename(self._generated_type(old, repo_type), old, new)
        self.state.rename(old, new, repo_type)

    def set_gated(self, repo_id: str, gated: Gated | bool = True, repo_type: str | None = None) -> None:
        """True means "auto"; "manual" and False as on the Hub."""
        if self.generated is not None:
            return self.generated.set_flags(self._generated_type(repo_id, repo_type), repo_id, gated=gated)
        self.state.set_gated(repo_id, gated, repo_type)

    def set_private(self, repo_id: str, private: bool = True, repo_type: str | None = None) -> None:
        if self.generated is not None:
            return self.generated.set_flags(self._generated_type(repo_id, repo_type), repo_id, private=private)
        self.state.update(repo_id, repo_type, private=private)

    def set_disabled(self, repo_id: str, disabled: bool = True, repo_type: str | None = None) -> None:
        if self.generated is not None:
            return self.generated.set_flags(self._generated_type(repo_id, repo_type), repo_id, disabled=disabled)
        self.state.update(repo_id, repo_type, disabled=disabled)

    def set_trending(self, repo_id: str, score: int, repo_type: str | None = None) -> None:
        self._not_generated("set_trending")
        self.state.update(repo_id, repo_type, trending_score=score)

    def update_repo(self, repo_id: str, repo_type: str | None = None, **fields: object) -> Repo:
        """Change metadata (likes, downloads, tags, ...); files and sha change via update_file."""
        self._not_generated("update_repo")
        if {"files", "sha", "id", "type"} & set(fields):
            raise ValueError("use update_file / rename_repo for files, sha and id")
        return self.state.update(repo_id, repo_type, **fields)

    def set_viewer(self, dataset_id: str, mode: str = "ok") -> None:
        """How the dataset viewer answers for ``dataset_id`` (see ``viewer.py``): "ok" (the default),
        "none" (it cannot process the dataset), "error" (500 JSON), "crash" (500 text/plain) or
        "slow" ("ok" after ``viewer_delay`` seconds)."""
        if mode not in VIEWER_MODES:
            raise ValueError(f"viewer mode must be one of {VIEWER_MODES}, not {mode!r}")
        with self._lock:
            self._viewer_modes[dataset_id] = mode

    def viewer_mode(self, dataset_id: str) -> str:
        with self._lock:
            return self._viewer_modes.get(dataset_id, "ok")

    def grant(self, token: str, repo_id: str | None = None) -> None:
        """Make ``token`` valid, and with ``repo_id`` let it read that gated or private repo."""
        self.state.grant(token, repo_id)

    def drop_connection(
        self, repo_id: str, path: str, *, after_bytes: int, times: int = 1, repo_type: str | None = None
    ) -> None:
        """Make the next ``times`` GETs of this file (resolve or CDN) send only ``after_bytes``
        body bytes of the announced length, then close the connection."""
        repo_file = self.repo(repo_id, repo_type).file(path)
        if repo_file is None:
            raise KeyError(f"{repo_id}: no file {path!r}")
        with self._lock:
            self._drops[repo_file.sha256] = [after_bytes, times]

    def _not_generated(self, what: str) -> None:
        if self.generated is not None:
            raise ValueError(f"{what}: this emulator serves a GeneratedHub (use its touch/create/rename/delete)")

    def _generated_type(self, repo_id: str, repo_type: str | None) -> str:
        assert self.generated is not None
        if repo_type is not None:
            return repo_type
        found = [t for t in ("model", "dataset", "space") if self.generated.index_of(t, repo_id) is not None]
        if len(found) != 1:
            raise KeyError(f"repo {repo_id!r}: {len(found)} matches")
        return found[0]

    # -- counters ----------------------------------------------------------------------------
    @property
    def counts(self) -> Counter[str]:
        with self._lock:
            out: Counter[str] = Counter(dict.fromkeys(KINDS, 0))
            out.update(self._counts)
            return out

    @property
    def requests(self) -> list[tuple[str, str, int]]:
        with self._lock:
            return list(self._requests)

    @property
    def bytes_served(self) -> int:
        with self._lock:
            return sum(self._bytes.values())

    @property
    def bytes_by_kind(self) -> Counter[str]:
        with self._lock:
            return Counter(self._bytes)

    def reset_counts(self) -> None:
        with self._lock:
            self._counts.clear()
            self._bytes.clear()
            self._requests.clear()
        self._faults.clear_log()

    def reset_quotas(self) -> None:
        self.limiter.reset()

    # -- faults ------------------------------------------------------------------------------
    @property
    def faults(self) -> FaultPlan:
        return self._faults.plan

    @faults.setter
    def faults(self, plan: FaultPlan | None) -> None:
        """A new plan (None: no faults) applies from the next request, with fresh occurrence counts."""
        self._faults.plan = plan

    @property
    def fault_log(self) -> list[FaultRecord]:
        return self._faults.log

    def fault_counts(self) -> Counter[str]:
        return self._faults.counts()

    # -- used by the servers -----------------------------------------------------------------
    def _record(self, request: Request, response: Response, body_bytes: int) -> None:
        with self._lock:
            self._counts[response.kind] += 1
            if response.status == 429:
                self._counts["429"] += 1
            self._bytes[response.kind] += body_bytes
            self._requests.append((request.method, request.target, response.status))

    def viewer_wait(self) -> None:
        """The "slow" viewer mode's wait (cut short when the emulator stops)."""
        self._stopping.wait(self.viewer_delay)

    def next_request_id(self) -> str:
        with self._lock:
            self._request_seq += 1
            return f"Root=1-{int(time.time()):08x}-{self._request_seq:024x}"

    def _keep_lfs(self, files: Iterable[RepoFile]) -> None:
        with self._lock:
            for f in files:
                if f.lfs:
                    self._lfs.setdefault(f.sha256, f.data)

    def lfs_blob(self, sha256: str) -> bytes | None:
        with self._lock:
            blob = self._lfs.get(sha256)
        if blob is None and self.generated is not None:
            return self.generated.lfs_blob(sha256)
        return blob

    def cdn_url(self, repo: Repo, repo_file: RepoFile) -> str:
        return self._cdn_app.url(self.cdn_endpoint, repo, repo_file)

    def take_drop(self, sha256: str) -> int | None:
        with self._lock:
            plan = self._drops.get(sha256)
            if plan is None:
                return None
            plan[1] -= 1
            if plan[1] <= 0:
                del self._drops[sha256]
            return plan[0]
