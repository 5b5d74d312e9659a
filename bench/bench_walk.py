"""Benchmark: the whole-Hub catalog (issue 9), ``Mirror.catalog`` walking a generated Hub.

    python bench/bench_walk.py                      # 200,000 entities: walk, refresh, read-ahead, projection (~2.5 min)
    python bench/bench_walk.py --scale 2000000      # a catalog of 2M models, 450k datasets, 550k Spaces,
                                                    # then provenance and search from it (~35 min, 10 GB disk)
    python bench/bench_walk.py --entities 6000      # smoke size (seconds)

The Hub is ``tests.hubemu.GeneratedHub`` (entities made lazily from ``--seed``, listings O(page))
served by ``tests.hubemu.HubEmulator`` in a process of its own; the real ``huggingface_hub``
client talks to it (``HF_ENDPOINT``, ``HF_HUB_DISABLE_XET=1``, as ``tests/conftest.py`` sets up).
Every measured step runs in a fresh child process started by this small parent, so each peak RSS
is that step's own (``ru_maxrss``, with the address space's own ``VmHWM`` beside it); the
emulator's RSS is reported on its own row.

1. **Full walk**: ``--entities`` split 75 / 15 / 10 % into models, datasets and Spaces (default
   150k / 30k / 20k: about the real Hub's proportions; ``--models`` etc. set them one by one),
   walked by ``Mirror(config).catalog()`` into an empty output directory. The walker's own rate
   limiter is given an unlimited ``api`` quota (``hub.quota_api``): what is measured is the
   client and the state store, not the anonymous quota, which step 3 applies. Reported per type:
   Hub requests (the emulator's counters and the limiter's, which must agree), entities listed,
   seconds, entities/s; and the split of each page's time into the listing's HTTP GET (the
   emulator making 1000 entities, JSON, loopback), the rest of fetching it (parsing, records: in
   the read-ahead thread) and the writer's (provenance edges, the page's transaction; each of the
   parts walk.py calls on the Mirror's objects is timed, and how much the peak RSS rose inside
   each is shown). The types walk at once, so these times include waiting for each other; each
   listing has fewer than ``walk._BACK_LANE_AFTER`` (400) pages, so it is one lane, as it would be
   on the Hub. Target: requests <= 1.01 x ceil(N/1000), N what an anonymous listing shows of the type.
2. **Refresh** (a new child, as a daily ``hf-ipfs-scraper catalog`` would be): in the emulator's
   process ``GeneratedHub.touch(--touch)`` gives 1 % of each type's entities a new commit (new
   sha, ``lastModified``, counters); then ``Mirror.catalog()`` again, which is a refresh. What it
   must ask: ceil(changed/1000) pages with changed entries, plus the one all unchanged that stops
   it. Target: <= 5 requests per 1,000 changed entities.
1b. **Read-ahead and the types at once, against a baseline**: a second generated Hub
   (``--latency-entities``, default 50k) whose emulator waits ``--latency`` s (default 0.25)
   before every answer, a stand-in for the Hub's time to answer. Walked twice into fresh
   directories: the baseline, the walk as it was before (the types one after another, each page
   asked for once the one before is written, the search documents made at the end), then
   ``Mirror.catalog`` as it is, each listing longer than ``--back-lane-after`` pages (default 3)
   from both ends, as the Hub's 2,000-page models listing would be: the requests include what
   the lanes ask where they meet, which step 3 adds to its lanes. Seconds, the
   ratio, and what step 3's simulation predicts for both from the baseline's own seconds a page
   (a check of the simulation against a measurement; it leaves out the fixed costs: opening the
   Mirror, the search index's commit and merges).
3. **Projection to the real Hub** (no measurement of the Hub: arithmetic and a simulation).
   ``--hub-models 2000000 --hub-datasets 450000 --hub-spaces 550000`` are estimates of the real
   Hub's size as of late 2026 (flags: change them). Requests = ceil(N/1000) per type. Minutes are
   simulated (``simulate``) with the project's own ``RateLimiter`` (``hf_ipfs_scraper.ratelimit``)
   on a virtual clock as ``Mirror.catalog`` walks: the types at once, parts of one scraper in the
   limiter, unpaced, each page's successor asked for when the writer takes the page, a listing
   of more than 400 pages from both ends with step 1b's pages where the lanes meet; every page taking
   ``--server-seconds-per-page`` (an ASSUMPTION: the real Hub's time to answer and send one
   1000-entry page with the scrapers' ``expand`` fields cannot be measured offline; default a
   guess of 1.0 s) plus step 1b's baseline's client seconds a page of that type (and its share of
   the search documents made at the walk's end), the client's CPU work of all threads queued on
   one shared CPU (the GIL). The walk as it was first (one type after the other, no read-ahead)
   and as it was before the lanes (paced, one lane a type) are simulated beside it. The quotas
   are ``ratelimit.PLANS``, from https://huggingface.co/docs/hub/rate-limits: the ``api`` bucket
   (``/api/...``, which the listing is) allows 500 requests per fixed 5-minute window anonymously and
   1,000 with a free account's token (``Mirror`` picks plan ``free`` when a token is set; ``pro``
   2,500 is shown too). The simulation assumes a fresh window and nothing else spending the
   quota. A table shows how the projection moves with the server time. Target: the full-Hub walk
   in < 30 min anonymously (3,000 requests are six windows: the last one's may start at 25 min).
4. **--scale N** (instead of ``--entities``): the generated Hub gets N models and datasets and
   Spaces in the projection's proportions (at 2,000,000: 450k and 550k), and the catalog is
   filled the honest way: steps 1-2 walk it through the emulator (so the walk at scale is
   measured too). Then, each in a fresh child, the emulator stopped:
   * **search index**: when the walk filled the search index itself (``SearchIndex.count()``
     after the walk covers what was listed) it is used as is; otherwise it is built here with
     ``SearchIndex.rebuild`` over ``SearchDoc.from_entity(entity, None)`` of every entity the
     index should hold, timed, and the report says which happened;
   * **provenance**, as ``bench/bench_provenance.py`` measures it: ``ProvenanceTracker`` over
     ``StateStore(readonly=True)``; the baseline is scanning the two tables with the tracker's own
     SELECTs; build seconds, peak RSS, then ``--queries`` keys (a tenth the ten most derived bases,
     the rest random derivatives, random models and datasets): ``lineage``,
     ``descendants(max_nodes=200)``, ``family(max_nodes=200)``, ``children``: p50 / p95;
   * **search** over the catalog (``SearchIndex.search``, a fresh read-only reader as ``serve``
     opens it): words of the ids (the commonest, a medium one, a rare one, two together), tags,
     a ``pipeline_tag`` filter, size filters, an author, a type filter with a sort, no text;
     picked from the catalog's own ids and tags; ``--passes`` passes after a warm-up one. The
     baseline is the bare SQLite way, the same question as a scan of ``state.sqlite`` (``id
     LIKE``, ``tags LIKE``, the filters, the sort, a count), timed on the first passes.
   Targets (bench_provenance's and bench_search's, at a million): build <= 60 s, RSS <= 2 GB,
   query p95 <= 50 ms; search p95 <= 20 ms.

Targets are printed as PASS/MISS beside the numbers; the exit status never depends on timings.
``--json`` alone prints every number as JSON on stdout (the report goes to stderr); ``--json
FILE`` writes them to FILE. Timings on this VM move by +-20 % between runs.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import json
import math
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TextIO

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _child import run_child, timed_scans, write_numbers  # noqa: E402 - bench/ is the script's folder, first on sys.path
from _table import Row  # noqa: E402

QUICK = ["--scale", "2500", "--queries", "20", "--passes", "1", "--baseline-passes", "1", "--hub-models", "1500",
         "--hub-datasets", "1001", "--hub-spaces", "0", "--latency-entities", "3000", "--latency", "0.01"]
FULL: list[str] = []

TYPES = ("model", "dataset", "space")
CHILD_TIMEOUT_S = 4 * 3600
PAGE = 1000  # the Hub's largest listing page, what the walk asks for
MIX = {"model": 0.75, "dataset": 0.15, "space": 0.10}
UNLIMITED = 1_000_000_000  # the walker's api quota: the emulator has none, step 3 applies the Hub's
TARGET_REQUESTS_X = 1.01
TARGET_REFRESH_PER_1000 = 5.0
TARGET_ANONYMOUS_MIN = 30.0
TARGET_BUILD_S, TARGET_RSS_MB, TARGET_PROV_P95_MS = 60.0, 2048.0, 50.0  # bench_provenance's
TARGET_SEARCH_P95_MS = 20.0  # bench_search's at a million documents
SERVER_S_TABLE = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0)
START_MOMENTS = 20  # starting moments within a window the Hub's clock opened, for the projection
MAX_NODES = 200
# The tracker's own SELECTs (ProvenanceTracker._load), as bench_provenance's baseline.
ENTITY_SCAN = "SELECT type, id, root_cid IS NOT NULL FROM entities"
EDGE_SCAN = "SELECT src, dst, relation FROM edges"
KEY_CLASSES = (("base", 0.1), ("derived", 0.4), ("random model", 0.4), ("dataset", 0.1))


# -- small helpers, in every process ------------------------------------------------------------
def _memory() -> dict[str, float]:
    """MB: ``ru_maxrss`` (survives exec; the parent stays small so it is the child's own) and
    this address space's VmHWM / VmRSS."""
    import resource

    found = {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
             # the largest ended child's: in the walking process, the search index's writer process
             "children_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                name, _, value = line.partition(":")
                if name in ("VmHWM", "VmRSS"):
                    found[name.lower() + "_mb"] = int(value.split()[0]) / 1024
    except OSError:
        pass
    return found


def _cpu_s() -> float:
    """This process's CPU seconds and its ended children's (the search index's writer process)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime + _children_cpu_s()


def _children_cpu_s() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _writer_start_cpu_s() -> float:
    """CPU seconds of the search writer process that start and end alone cost (imports, opening
    an empty index), taken off a walk's writer CPU so that a page's share is the pages' own."""
    import tempfile

    from hf_ipfs_scraper.search import SearchIndex

    with tempfile.TemporaryDirectory() as folder, SearchIndex(folder, writable=True) as index:
        before = _children_cpu_s()
        with index.writer_process():
            pass
        return _children_cpu_s() - before


def _pct(values: list[float], p: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)] if ordered else float("nan")


def _stats(ms: list[float]) -> dict[str, float]:
    return {"n": len(ms), "p50": _pct(ms, 0.5), "p95": _pct(ms, 0.95), "max": max(ms) if ms else float("nan")}


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def _pages(n: int) -> int:
    """Requests a listing of ``n`` entities takes: ceil(n/1000), and one even when empty."""
    return max(1, math.ceil(n / PAGE))


# -- the emulator's process ---------------------------------------------------------------------
def child_emulator(sizes: dict[str, int], seed: int, home: str) -> int:
    """A GeneratedHub behind a HubEmulator; JSON lines in (commands) and out (answers)."""
    from tests.hubemu import GeneratedHub, HubEmulator
    from tests.hubemu.clientenv import client_env

    t0 = time.perf_counter()
    hub = GeneratedHub(models=sizes["model"], datasets=sizes["dataset"], spaces=sizes["space"], seed=seed)
    build_s = time.perf_counter() - t0
    emu = HubEmulator(generated=hub).start()
    env = client_env(emu.endpoint, home)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)

    def answer(data: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(data) + "\n")
        sys.stdout.flush()

    answer({"endpoint": emu.endpoint, "env": env, "build_s": build_s, "memory": _memory(),
            "visible": {t: hub.count(t) for t in TYPES}, "made": sizes})
    try:
        for line in sys.stdin:
            command = json.loads(line)
            op = command["op"]
            if op == "reset":
                emu.reset_counts()
                answer({"cpu_s": _cpu_s()})
            elif op == "stats":
                answer({"requests": _requests_by_type(emu.requests), "counts": dict(emu.counts),
                        "bytes_by_kind": dict(emu.bytes_by_kind), "memory": _memory(), "cpu_s": _cpu_s(),
                        "visible": {t: hub.count(t) for t in TYPES}})
            elif op == "touch":
                t1 = time.perf_counter()
                before = hub.now
                touched = hub.touch(command["fraction"], command["seed"])
                visible = {t: len(hub.changed_since(t, before)) for t in TYPES}  # what a listing shows
                answer({"touched": {t: len(ids) for t, ids in touched.items()}, "visible_changed": visible,
                        "seconds": time.perf_counter() - t1})
            elif op == "latency":
                emu.latency = float(command["seconds"])
                answer({"latency": emu.latency})
            elif op == "stop":
                break
    finally:
        emu.stop()
    return 0


def _requests_by_type(requests: list[tuple[str, str, int]]) -> dict[str, dict[str, int]]:
    """``{type: {"list": n, "info": n, "other": n}}`` from the emulator's request log."""
    out: dict[str, Counter[str]] = {t: Counter() for t in TYPES}
    for _method, target, _status in requests:
        path = target.split("?", 1)[0]
        match = re.match(r"^/api/(models|datasets|spaces)(/.*)?$", path)
        if match is None:
            out.setdefault("other", Counter())["other"] += 1
            continue
        out[match.group(1)[:-1]]["info" if match.group(2) else "list"] += 1
    return {t: dict(c) for t, c in out.items()}


class Emulator:
    """The emulator's process, driven from the parent (which stays small)."""

    def __init__(self, sizes: dict[str, int], seed: int, home: Path) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--child-emulator", json.dumps(sizes), str(seed),
             str(home)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
        )
        self.started = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the emulator's process died (exit {self.proc.wait()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def ask(self, op: str, **args: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write(json.dumps({"op": "stop"}) + "\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=60)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


# -- the walker's process -----------------------------------------------------------------------
def child_walk(out_dir: Path, endpoint: str, mode: str = "catalog", back_after: str = "") -> dict[str, Any]:
    """``Mirror(config).catalog()`` over ``out_dir``: a full walk the first time, then refreshes.

    ``mode="sequential"`` is the baseline, the walk as it was before the read-ahead: the types one
    after another (``Mirror.catalog([t])`` each), each page fetched only once the one before is
    written (``walk._read_ahead`` replaced by the listing itself), and the search documents all
    made at the walk's end (``walk._BATCH`` too big to be reached)."""
    import hf_ipfs_scraper.hub.client as hub_client
    import hf_ipfs_scraper.mirror as mirror_module
    import hf_ipfs_scraper.walk as walk_module
    from hf_ipfs_scraper import Mirror, load_config

    memory_start = _memory()
    http_s: defaultdict[str, float] = defaultdict(float)
    fetch_s: defaultdict[str, float] = defaultdict(float)  # inside next() of the listing: GET + parse
    handle_s: defaultdict[str, float] = defaultdict(float)  # the writer's time with each page
    real_session = hub_client.get_session

    class TimedSession:
        """The shared session, with the time inside each listing GET added up per type: waiting
        for the answer (the emulator's work, loopback) and reading its body."""

        def __init__(self, session: Any) -> None:
            self._session = session

        def get(self, url: str, *args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return self._session.get(url, *args, **kwargs)
            finally:
                match = re.search(r"/api/(models|datasets|spaces)(?:\?|$)", str(url))
                http_s[match.group(1)[:-1] if match else "other"] += time.perf_counter() - t

        def __getattr__(self, name: str) -> Any:
            return getattr(self._session, name)

    setattr(hub_client, "get_session", lambda: TimedSession(real_session()))
    # Where the client side goes, per type: the parts walk.py calls on the Mirror's objects. The
    # types walk in threads of their own: each thread says which type it walks.
    parts: dict[str, defaultdict[str, float]] = {t: defaultdict(float) for t in TYPES}
    current = threading.local()
    real_walk_hub = mirror_module.walk_hub
    real_listing = hub_client.HubClient.listing_pages
    read_ahead = walk_module._read_ahead if mode == "catalog" else (lambda pages, last=None: pages)

    def walk_hub(repo_type: str, **kwargs: Any) -> Any:
        current.type = repo_type
        return real_walk_hub(repo_type, **kwargs)

    def listing_pages(self: Any, repo_type: str, **kwargs: Any) -> Any:
        pages = real_listing(self, repo_type, **kwargs)
        while True:  # in the thread that fetches (the read-ahead's, or the writer's in "sequential")
            t = time.perf_counter()
            page = next(pages, None)
            fetch_s[repo_type] += time.perf_counter() - t
            if page is None:
                return
            yield page

    def timed_read_ahead(pages: Any, last: Any = None) -> Any:
        for page in read_ahead(pages, last):
            t = time.perf_counter()
            yield page  # the writer has it until it asks for the next one
            handle_s[getattr(current, "type", "other")] += time.perf_counter() - t

    grew: defaultdict[str, float] = defaultdict(float)  # MB the peak RSS rose by inside each part

    def timed(part: str, call: Callable[..., Any], clock: Callable[[], float] = time.perf_counter) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            t, peak = clock(), _memory().get("vmhwm_mb", 0.0)
            try:
                return call(*args, **kwargs)
            finally:
                parts.setdefault(getattr(current, "type", "other"), defaultdict(float))[part] += clock() - t
                grew[part] += _memory().get("vmhwm_mb", 0.0) - peak
        return run

    setattr(mirror_module, "walk_hub", walk_hub)
    setattr(hub_client.HubClient, "listing_pages", listing_pages)
    setattr(walk_module, "_read_ahead", timed_read_ahead)
    if mode == "sequential":  # and, as it was, the search documents all made at the walk's end, one lane
        setattr(walk_module, "_BATCH", 10**12)
        setattr(walk_module, "_BACK_LANE_AFTER", 10**12)
    if back_after:  # the emulator's listings are short: the back lane opens sooner, to be measured too
        setattr(walk_module, "_BACK_LANE_AFTER", int(back_after))
    config = load_config(env={}, overrides={"output_dir": str(out_dir), "hub.endpoint": endpoint,
                                            "hub.quota_api": UNLIMITED})
    t0, cpu0 = time.perf_counter(), _cpu_s()
    with Mirror(config) as mirror:
        t1 = time.perf_counter()
        memory_open = _memory()
        targets: list[tuple[Any, str, str]] = [(mirror.state, "walk_page", "state transaction"),
                                               (mirror.provenance, "record_many", "provenance edges"),
                                               (mirror.search, "upsert", "search upsert")]
        indexer = walk_module._Indexer  # the walk's search documents, made in a thread of its own
        real_run = indexer._run

        def run_as_its_type(self: Any) -> None:
            current.type = self.repo_type
            real_run(self)

        setattr(indexer, "_run", run_as_its_type)
        for obj, name, part in targets:
            setattr(obj, name, timed(part, getattr(obj, name)))
        # The indexing thread's own CPU (what the projection queues behind the GIL): a full walk's
        # documents go into tantivy in the index's writer process, on the other core.
        setattr(indexer, "_index", timed("search documents", indexer._index, time.thread_time))
        writer_cpu: dict[str, float] = {}  # the search writer process's CPU, less its start (one a walk here)
        if mode == "sequential":
            start_cpu = _writer_start_cpu_s()
            summaries = []
            for t in TYPES:
                before = _children_cpu_s()
                summaries += mirror.catalog([t])
                writer_cpu[t] = max(0.0, _children_cpu_s() - before - start_cpu)
        else:
            summaries = mirror.catalog()
        t2, cpu2 = time.perf_counter(), _cpu_s()
        assert mirror.search is not None
        search_docs = mirror.search.count()
        counts = {t: dict(mirror.state.counts(t)) for t in TYPES}
    t3 = time.perf_counter()
    walks = {}
    for s in summaries:
        walks[s.repo_type] = {
            "kind": s.kind, "status": s.status, "error": s.error, "pages": s.pages, "listed": s.listed,
            "changed": s.changed, "gone": len(s.gone), "renamed": len(s.renamed), "requests": s.requests,
            "seconds": s.seconds, "http_s": http_s[s.repo_type], "parts_s": dict(parts[s.repo_type]),
            "fetch_s": fetch_s[s.repo_type], "handle_s": handle_s[s.repo_type],
            "writer_cpu_s": writer_cpu.get(s.repo_type, 0.0),
        }
    db = out_dir / "state.sqlite"
    return {
        "mode": mode, "walks": walks, "open_s": t1 - t0, "catalog_s": t2 - t1, "close_s": t3 - t2, "cpu_s": cpu2 - cpu0,
        "memory_start": memory_start, "memory_open": memory_open, "memory_end": _memory(),
        "search_docs": search_docs, "state_counts": counts, "other_http_s": http_s["other"],
        "peak_rss_grew_mb": dict(grew),
        "state_bytes": sum(p.stat().st_size for p in out_dir.glob("state.sqlite*") if p.is_file()) if db.exists() else 0,
    }


def _run_walk(out_dir: Path, emu: Emulator, mode: str = "catalog", back_after: int | None = None) -> dict[str, Any]:
    emu.ask("reset")
    before = emu.ask("stats")
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child-walk", str(out_dir),
                           emu.started["endpoint"], mode, "" if back_after is None else str(back_after)],
                          capture_output=True, text=True, env=emu.started["env"],
                          timeout=CHILD_TIMEOUT_S, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"the walk failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    after = emu.ask("stats")
    result["emulator"] = {"requests": after["requests"], "counts": after["counts"],
                          "bytes_by_kind": after["bytes_by_kind"], "memory": after["memory"],
                          "cpu_s": after["cpu_s"] - before["cpu_s"], "visible": after["visible"]}
    return result


# -- step 3: the projection ---------------------------------------------------------------------
@dataclass(frozen=True)
class Stream:
    """One type's listing in the simulation: its pages, and the client's CPU seconds per page in
    the thread that fetches (JSON, records: ``parse_s``) and in the one that writes (``handle_s``)."""

    pages: int
    parse_s: float
    handle_s: float
    index_s: float = 0.0  # the indexing thread's CPU (the documents made and sent), a page's share
    writer_s: float = 0.0  # the search writer process's CPU (tantivy's documents, the commit), a page's share
    server_s: float | None = None  # the Hub's answer time for this type's pages, when not simulate()'s


def simulate(plan: str, streams: list[Stream], server_s: float, *, concurrent: bool = True,
             quota: int | None = None, paced: bool = False, back_after: int | None = None,
             meeting: int = 0, first_window_s: float | None = None) -> float:
    """Seconds for ``streams`` through ``RateLimiter(plan)`` on a virtual clock, each request
    answered in ``server_s``, nobody else spending the quota, no 429 (``quota`` overrides the plan's
    ``api`` quota). The first window is fresh: it opens with the walk's first request, the worst
    case for fixed windows; ``first_window_s`` is the seconds left of a window the Hub's clock
    opened before the walk began, which the limiter learns from the first answer's ``RateLimit``
    header (``t``), as it does on the Hub.

    ``concurrent=False`` is the walk as it was first: one type after the other, paced, each page
    fetched, then parsed, then written, before the next is asked for. ``concurrent=True`` is
    ``Mirror.catalog``: every type at once (parts of one scraper in the limiter, unpaced as it
    registers them; ``paced=True`` as it was before), and each page's successor asked for as soon
    as the writer takes the page (the read-ahead). A listing longer than ``back_after`` pages
    (``walk._BACK_LANE_AFTER``; 0: never) gets its second lane, from the newest end, once the front
    one has that many: the lanes share the listing's pages, each with its own read-ahead and
    writer, plus ``meeting`` pages both fetch where they meet. The client's CPU work of every thread is one
    FIFO resource (the GIL, and the state store's one writer), each job whole in turn (the
    indexing thread's batch of twenty pages too; the search writer process's work on that batch
    is a second resource, the other core): a conservative model, since SQLite's own work
    does not hold the GIL and the GIL slices a long job finely (a run of step 1b at 30 pages:
    measured 18.6 s, predicted 18.7 s as it is, 16.6 s with the batches queued a page at a time).
    The limiter is asked without blocking (its ``_delay``/``_grant`` at the event's virtual time)
    so that one stream's wait does not stop the clock of the others."""
    from hf_ipfs_scraper import walk
    from hf_ipfs_scraper.ratelimit import RateLimiter

    back_after = walk._BACK_LANE_AFTER if back_after is None else back_after
    batch_pages = max(1, walk._BATCH // PAGE)  # the indexing thread commits this many pages at a time
    now = [0.0]
    kwargs: dict[str, Any] = {} if quota is None else {"quotas": {"api": quota}}

    def sleep(seconds: float) -> None:  # acquire()'s naps (the sequential walk's only)
        now[0] += seconds

    limiter = RateLimiter(plan, clock=lambda: now[0], sleep=sleep, **kwargs)
    if first_window_s is not None:
        api = limiter._state("api")
        limiter.observe("api", 200, {"RateLimit": f'"api";r={api.quota};t={first_window_s:g}',
                                     "RateLimit-Policy": f'"fixed window";"api";q={api.quota};w={api.window:g}'})
    if not concurrent:
        for st in streams:
            handle = limiter.register("catalog")
            for _ in range(st.pages):
                limiter.acquire("api", scraper=handle).release()  # alone: blocking is right here
                now[0] += _server(st, server_s) + st.parse_s + st.handle_s
            now[0] += st.pages * (st.index_s + st.writer_s)  # the walk as it was indexed all of it at its end
            limiter.unregister(handle)
        return now[0]
    share = limiter.register("catalog", paced=paced)  # Mirror.catalog's one scraper, the types its parts
    handles = [limiter.register(f"catalog:{i}", within=share) for i in range(len(streams))]
    to_ask = [st.pages - 1 for st in streams]  # pages no lane has asked for yet (the first is asked at 0)
    left = [st.pages for st in streams]  # pages not written yet
    lane_of: list[int] = list(range(len(streams)))  # lane -> its stream; lane i < len(streams) is the front
    writer_free, taken = [0.0] * len(streams), [0] * len(streams)
    ended = [0.0] * len(streams)
    cpu_free, writer_busy, seq = 0.0, 0.0, 0
    events: list[tuple[float, int, int, str]] = []

    def push(t: float, lane: int, kind: str) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(events, (t, seq, lane, kind))

    def ask(lane: int) -> None:
        handles[lane_of[lane]]._waiting["api"] += 1
        push(now[0], lane, "ask")

    for i in range(len(streams)):
        ask(i)
    while events:
        t, _, lane, kind = heapq.heappop(events)
        now[0] = max(now[0], t)
        i = lane_of[lane]
        st = streams[i]
        if kind == "ask":
            with limiter._cond:
                bucket = limiter._state("api")
                delay = limiter._delay("api", bucket, handles[i], now[0])
                if delay <= 0:
                    handles[i]._waiting["api"] -= 1
                    limiter._grant("api", bucket, handles[i], now[0])
                    bucket.in_flight -= 1  # the permit's release (its slot is never the limit here)
            if delay > 0:
                push(now[0] + min(delay, 5.0), lane, "ask")  # as acquire() naps and looks again
            else:
                push(now[0] + _server(st, server_s), lane, "answered")
        elif kind == "answered":  # the fetching thread parses it
            cpu_free = max(now[0], cpu_free) + st.parse_s
            push(cpu_free, lane, "parsed")
        elif kind == "parsed":  # the lane's writer takes it when done with the one before
            push(max(now[0], writer_free[lane]), lane, "taken")
        else:  # taken: the read-ahead asks for the next page; the writer writes this one
            left[i] -= 1
            taken[lane] += 1
            if to_ask[i] > 0:
                to_ask[i] -= 1
                ask(lane)
            if lane < len(streams) and back_after and taken[lane] == back_after and to_ask[i] > 0:
                lane_of.append(i)  # the back lane opens, and the lanes will overlap where they meet
                writer_free.append(0.0)
                taken.append(0)
                to_ask[i] += meeting - 1
                left[i] += meeting
                ask(len(lane_of) - 1)
            cpu_free = max(now[0], cpu_free) + st.handle_s
            writer_free[lane], ended[i] = cpu_free, max(ended[i], cpu_free)
            done = st.pages - left[i]
            if done % batch_pages == 0 or left[i] == 0:  # the indexing thread's commit: CPU, not the writer's
                batch = (done - 1) % batch_pages + 1  # the pages since the last one
                cpu_free += batch * st.index_s
                # then the writer process, on a core of its own, one batch at a time (all types')
                writer_busy = max(cpu_free, writer_busy) + batch * st.writer_s
                ended[i] = writer_busy
            if left[i] == 0:
                limiter.unregister(handles[i])
    return max(ended)


def _server(stream: Stream, server_s: float) -> float:
    return server_s if stream.server_s is None else stream.server_s


def _meeting(walk: dict[str, Any], back_after: int) -> dict[str, Any]:
    """Step 1b's pages asked beyond ceil(N/1000) (``walk``: its ``Mirror.catalog`` run), per
    listing walked from both ends: what the projection adds where the Hub's lanes meet (the mean,
    rounded up)."""
    visible, requests = walk["emulator"]["visible"], walk["emulator"]["requests"]
    laned = [t for t in TYPES if _pages(visible[t]) > back_after]
    extra = [sum(requests[t].values()) - _pages(visible[t]) for t in laned]
    return {"listings": len(laned), "extra": extra,
            "pages": math.ceil(sum(extra) / len(extra)) if extra else 0}


def projection(args: argparse.Namespace, client: dict[str, dict[str, float]], meeting: dict[str, Any]) -> dict[str, Any]:
    """``client``: per type, ``parse_s`` and ``handle_s`` a page (step 1b's walk one type after
    another, where nothing else competes for the CPU); ``meeting``: ``_meeting`` of step 1."""
    from hf_ipfs_scraper.ratelimit import PLANS

    hub = {"model": args.hub_models, "dataset": args.hub_datasets, "space": args.hub_spaces}
    requests = {t: _pages(n) for t, n in hub.items()}
    streams = [Stream(requests[t], client[t]["parse_s"], client[t]["handle_s"], client[t]["index_s"],
                      client[t]["writer_s"]) for t in TYPES]
    plans = {"anonymous": "anonymous", "token (free)": "free", "token (pro)": "pro"}
    servers = sorted({*SERVER_S_TABLE, args.server_seconds_per_page})
    table = []
    for s in servers:
        m = meeting["pages"]
        row: dict[str, Any] = {"server_s": s,
                               "unlimited_min": simulate("anonymous", streams, s, quota=UNLIMITED, meeting=m) / 60}
        row["anonymous, one type after another"] = simulate("anonymous", streams, s, concurrent=False) / 60
        for label, plan in plans.items():
            row[label] = simulate(plan, streams, s, meeting=m) / 60
        row["anonymous, paced, one lane"] = simulate("anonymous", streams, s, paced=True, back_after=0) / 60
        table.append(row)
    from hf_ipfs_scraper.walk import _BACK_LANE_AFTER

    # When the Hub's windows follow its own clock, a walk starts at a random moment of one: the
    # projection for as many starting moments spread evenly over the window (the first window's
    # seconds left), at the flag's server time.
    window_s = 300.0
    starts = [window_s * (k + 0.5) / START_MOMENTS for k in range(START_MOMENTS)]
    by_start = sorted(simulate("anonymous", streams, args.server_seconds_per_page, meeting=meeting["pages"],
                               first_window_s=left) / 60 for left in starts)
    total = sum(requests.values())
    asked = total + meeting["pages"] * sum(n > _BACK_LANE_AFTER for n in requests.values())
    return {
        "hub": hub, "requests": requests, "total_requests": total, "client": client, "meeting": meeting,
        "server_s": args.server_seconds_per_page,
        "quotas": {label: dict(PLANS[plan]) for label, plan in plans.items()}, "table": table,
        "at_flag": next(r for r in table if r["server_s"] == args.server_seconds_per_page),
        # the Hub's windows are fixed: the last window's requests may start after the ones before it
        "by_start": {"moments": START_MOMENTS, "min": by_start[0], "median": by_start[len(by_start) // 2],
                     "max": by_start[-1], "under_target": sum(m < TARGET_ANONYMOUS_MIN for m in by_start) / len(by_start)},
        "asked": asked, "anonymous_floor_min": (math.ceil(asked / PLANS["anonymous"]["api"]) - 1) * 5,
    }


# -- step 4: index, provenance, search ----------------------------------------------------------
def child_index(out_dir: Path) -> dict[str, Any]:
    """Build the search index from the state: every entity the index should hold, no README."""
    from hf_ipfs_scraper.search import SearchDoc, SearchIndex
    from hf_ipfs_scraper.state import StateStore

    holds: Callable[[Any], bool] = getattr(SearchDoc, "indexes", lambda entity: True)
    memory_before = _memory()
    t0 = time.perf_counter()
    with StateStore(out_dir / "state.sqlite", readonly=True) as state, \
            SearchIndex(out_dir / "search", writable=True) as index:
        count = index.rebuild(SearchDoc.from_entity(e, None) for e in state.iter_entities() if holds(e))
    seconds = time.perf_counter() - t0
    disk = sum(p.stat().st_size for p in (out_dir / "search").rglob("*") if p.is_file())
    return {"docs": count, "seconds": seconds, "memory_before": memory_before, "memory_after": _memory(),
            "disk_bytes": disk, "way": "SearchIndex.rebuild(SearchDoc.from_entity(e, None) ...)"}


def child_provenance(out_dir: Path, queries: int, seed: int) -> dict[str, Any]:
    from hf_ipfs_scraper.provenance.tracker import ProvenanceTracker
    from hf_ipfs_scraper.state import StateStore

    db = out_dir / "state.sqlite"
    _read_through(db)
    state = StateStore(db, readonly=True)
    entities_s, edges_s = timed_scans(state, ENTITY_SCAN, EDGE_SCAN)
    before = _memory()
    tracker = ProvenanceTracker(state)
    t3 = time.perf_counter()
    graph = tracker.graph
    t4 = time.perf_counter()
    after = _memory()
    m0 = time.perf_counter()
    top = tracker.most_derived(10)
    most_derived_ms = (time.perf_counter() - m0) * 1000
    rng = random.Random(seed)
    models = [n for n in graph.nodes if n.startswith("model:")]
    datasets = [n for n in graph.nodes if n.startswith("dataset:")]
    pools = {
        "base": [key for key, _ in top],
        "derived": [n for n in rng.sample(models, min(len(models), 20_000)) if graph.out_degree(n) > 0][:5000],
        "random model": rng.sample(models, min(len(models), 5000)),
        "dataset": rng.sample(datasets, min(len(datasets), 1000)),
    }
    keys: list[tuple[str, str]] = []
    for cls, share in KEY_CLASSES:
        pool = pools[cls] or pools["random model"]
        count = max(1, round(queries * share))
        keys += [(cls, pool[q % len(pool)] if cls == "base" else rng.choice(pool)) for q in range(count)]
    rng.shuffle(keys)
    keys = keys[:queries]
    calls: dict[str, Callable[[str], Any]] = {
        "lineage": tracker.lineage,
        "descendants": lambda key: tracker.descendants(key, max_nodes=MAX_NODES),
        "family": lambda key: tracker.family(key, max_nodes=MAX_NODES),
        "children": tracker.children,
    }
    latencies: dict[str, list[tuple[str, float, int]]] = {}
    for kind, call in calls.items():
        rows = latencies[kind] = []
        for cls, key in keys:
            q0 = time.perf_counter()
            result = call(key)
            ms = (time.perf_counter() - q0) * 1000
            rows.append((cls, ms, result.number_of_nodes() if kind == "family" else len(result)))
    state.close()
    edges_by_relation = Counter(d.get("relation") for _, _, d in graph.edges(data=True))
    return {
        "scan_entities_s": entities_s, "scan_edges_s": edges_s, "scan_s": entities_s + edges_s, "build_s": t4 - t3,
        "memory_before": before, "memory_after": after, "memory_end": _memory(),
        "graph_nodes": graph.number_of_nodes(), "graph_edges": graph.number_of_edges(),
        "edges_by_relation": dict(edges_by_relation.most_common()), "most_derived": top,
        "most_derived_ms": most_derived_ms, "queries": len(keys),
        "summary": {kind: _stats([r[1] for r in rows]) for kind, rows in latencies.items()},
        "by_class": {kind: {cls: _stats([r[1] for r in rows if r[0] == cls]) for cls, _ in KEY_CLASSES}
                     for kind, rows in latencies.items()},
        "answer_size_max": {kind: max(r[2] for r in rows) for kind, rows in latencies.items()},
    }


def _read_through(db: Path) -> None:
    """Into the page cache: time the work, not the disk."""
    for path in (db, Path(f"{db}-wal")):
        if path.exists():
            with open(path, "rb", buffering=0) as fh:
                while fh.read(1 << 20):
                    pass


def _search_plan(db: Path) -> list[tuple[str, str, dict[str, Any]]]:
    """Queries from the catalog itself: id words by how many ids hold them, tags, the commonest
    pipeline tag and author (read from the state, untimed)."""
    import sqlite3

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    words: Counter[str] = Counter()
    tags: Counter[str] = Counter()
    pipelines: Counter[str] = Counter()
    authors: Counter[str] = Counter()
    n = 0
    for n, (repo_id, tag_json, pipeline, author) in enumerate(
            conn.execute("SELECT id, tags, pipeline_tag, author FROM entities"), start=1):
        name = repo_id.split("/", 1)[-1].lower()
        words.update(set(re.findall(r"[a-z]{3,}", name)))
        if n % 5 == 0 and tag_json:
            tags.update(json.loads(tag_json))
        if pipeline:
            pipelines[pipeline] += 1
        if author:
            authors[author] += 1
    conn.close()
    if not words:
        return []
    ranked = words.most_common()
    common, second = ranked[0][0], ranked[min(1, len(ranked) - 1)][0]
    medium = min(ranked, key=lambda wc: abs(wc[1] - n / 1000))[0]  # in about 0.1 % of the ids
    rare = next((w for w, c in reversed(ranked) if 1 <= c <= 3 and len(w) >= 5), ranked[-1][0])
    plain_tags = [t for t, _ in tags.most_common() if ":" not in t]
    top_tag = plain_tags[0] if plain_tags else "transformers"
    mid_tag = plain_tags[min(len(plain_tags) - 1, 20)] if plain_tags else top_tag
    pipeline = pipelines.most_common(1)[0][0] if pipelines else "text-generation"
    author = authors.most_common(1)[0][0] if authors else None
    plan: list[tuple[str, str, dict[str, Any]]] = [
        ("id word, commonest", common, {}), ("id word, medium", medium, {}), ("id word, rare", rare, {}),
        ("id words, two", f"{common} {second}", {}),
        ("tag", "", {"tags": (top_tag,)}), ("tag", "", {"tags": (mid_tag,)}), ("tag", medium, {"tags": (top_tag,)}),
        ("pipeline_tag filter", "", {"pipeline_tag": pipeline}),
        ("pipeline_tag filter", second, {"pipeline_tag": pipeline}),
        ("size filter", "", {"size_gte": 1_000_000_000}), ("size filter", common, {"size_lte": 100_000_000}),
        ("type filter, sorted", "", {"types": ("dataset",), "sort": "downloads"}),
        ("no text, sorted", "", {"sort": "likes"}), ("no text, the page's default order", "", {}),
    ]
    if author is not None:
        plan.append(("author", "", {"author": author}))
    return plan


def _sql_for(text: str, filters: dict[str, Any]) -> tuple[str, list[Any], str]:
    """The same question as a bare scan of the state's ``entities`` table: WHERE, args, ORDER."""
    where, params = [], []
    for word in text.split():
        where.append("id LIKE ?")
        params.append(f"%{word}%")
    for tag in filters.get("tags", ()):
        where.append("tags LIKE ?")
        params.append(f'%"{tag}"%')
    for column, key in (("pipeline_tag", "pipeline_tag"), ("author", "author")):
        if filters.get(key) is not None:
            where.append(f"{column} = ?")
            params.append(filters[key])
    if filters.get("size_gte") is not None:
        where.append("size_bytes >= ?")
        params.append(filters["size_gte"])
    if filters.get("size_lte") is not None:
        where.append("size_bytes <= ?")
        params.append(filters["size_lte"])
    if filters.get("types"):
        where.append(f"type IN ({', '.join('?' * len(filters['types']))})")
        params += list(filters["types"])
    sort = {"downloads": "downloads", "likes": "likes"}.get(filters.get("sort", ""), "trending_score")
    return " AND ".join(where) or "1", params, f"{sort} DESC, type, id"


def child_search(out_dir: Path, passes: int, baseline_passes: int) -> dict[str, Any]:
    import sqlite3

    from hf_ipfs_scraper.search import SearchIndex, SearchQuery

    db = out_dir / "state.sqlite"
    plan = _search_plan(db)
    _read_through(db)
    before = _memory()
    t0 = time.perf_counter()
    index = SearchIndex(out_dir / "search")
    open_ms = (time.perf_counter() - t0) * 1000
    docs = index.count()
    rows: list[tuple[str, str, float, int]] = []  # class, label, ms, total (after the warm-up pass)
    for n in range(passes + 1):
        for cls, text, filters in plan:
            q0 = time.perf_counter()
            total = index.search(SearchQuery(text, **filters)).total
            ms = (time.perf_counter() - q0) * 1000
            if n:
                rows.append((cls, _label(text, filters), ms, total))
    plain: list[tuple[str, str, float, int]] = []  # the same passes, popularity sorts not narrowed
    with _narrowing_off():
        for n in range(passes + 1):
            for cls, text, filters in plan:
                q0 = time.perf_counter()
                total = index.search(SearchQuery(text, **filters)).total
                if n:
                    plain.append((cls, _label(text, filters), (time.perf_counter() - q0) * 1000, total))
    floor = _visit_all_ms(index, passes)
    segments = [int(shard.index.searcher().num_segments) for shard in index._shards]
    index.close()
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    conn.execute("PRAGMA cache_size=-262144")
    baseline: list[tuple[str, str, float, int]] = []
    for _ in range(baseline_passes):
        for cls, text, filters in plan:
            where, params, order = _sql_for(text, filters)
            q0 = time.perf_counter()
            conn.execute(f"SELECT type, id FROM entities WHERE {where} ORDER BY {order} LIMIT 20", params).fetchall()
            (total,) = conn.execute(f"SELECT count(*) FROM entities WHERE {where}", params).fetchone()
            baseline.append((cls, _label(text, filters), (time.perf_counter() - q0) * 1000, total))
    conn.close()
    return {"docs": docs, "open_ms": open_ms, "rows": rows, "plain": plain, "baseline": baseline,
            "memory_before": before,
            "visit_all_ms": floor, "segments": segments,
            "memory_after": _memory(), "plan": [[c, t, {k: list(v) if isinstance(v, tuple) else v
                                                        for k, v in f.items()}] for c, t, f in plan]}


@contextlib.contextmanager
def _narrowing_off() -> Iterator[None]:
    """Searches as they were before ``search/_narrow.py``: every sort visits every match."""
    from hf_ipfs_scraper.search import _narrow

    saved = _narrow.NARROW_FROM
    _narrow.NARROW_FROM = 2**62
    try:
        yield
    finally:
        _narrow.NARROW_FROM = saved


def _visit_all_ms(index: Any, passes: int) -> dict[str, float]:
    """What a collector's visit of every document costs: tantivy counting a match-all query
    (``count=True``, one hit asked), every shard at once as ``SearchIndex`` runs them, with no
    sort, no merge and no document read. A plain sorted search of everything cost more than this;
    a narrowed one (``search/_narrow.py``) visits a range instead, and a broad filter's count still
    visits each of its matches."""
    import tantivy

    query = tantivy.Query.all_query()
    searchers = index._searchers()
    ms = []
    for n in range(passes + 1):
        q0 = time.perf_counter()
        index._map(lambda searcher: searcher.search(query, 1, count=True), searchers)
        if n:
            ms.append((time.perf_counter() - q0) * 1000)
    return _stats(ms)


def _label(text: str, filters: dict[str, Any]) -> str:
    extra = ", ".join(f"{k}={'/'.join(v) if isinstance(v, (tuple, list)) else v}" for k, v in filters.items())
    return (text or "(no text)") + (f" [{extra}]" if extra else "")


# -- report -------------------------------------------------------------------------------------
def _client(w: dict[str, Any]) -> dict[str, float]:
    """Seconds a page of one type's walk: inside the listing's GET (``http_s``: the emulator, or
    the Hub), the rest of fetching it (``parse_s``: JSON, records), the writer's (``handle_s``)."""
    pages = max(1, w["pages"])
    return {"http_s": w["http_s"] / pages, "parse_s": max(0.0, w["fetch_s"] - w["http_s"]) / pages,
            "handle_s": w["handle_s"] / pages, "index_s": w["parts_s"].get("search documents", 0.0) / pages,
            "writer_s": w.get("writer_cpu_s", 0.0) / pages}


def report_walk(title: str, walk: dict[str, Any], sizes: dict[str, int], out: TextIO) -> dict[str, Any]:
    """Step 1's table; returns the numbers the JSON and the projection use."""
    def say(line: str = "") -> None:
        print(line, file=out)

    visible = walk["emulator"]["visible"]
    by_type = walk["emulator"]["requests"]
    list_bytes = walk["emulator"]["bytes_by_kind"].get("list", 0)
    total_pages = sum(w["pages"] for w in walk["walks"].values())
    say(f"{title}: {sum(w['listed'] for w in walk['walks'].values()):,} entities in "
        f"{walk['catalog_s']:.1f} s ({', '.join(f'{visible[t]:,} {t}s' for t in TYPES)} listed anonymously, of "
        f"{sum(sizes.values()):,} made); {list_bytes / max(1, total_pages) / 1e6:.2f} MB a page on the wire")
    say()
    say("| type | entities | Hub requests | ceil(N/1000) | × | target ≤ 1.01× | seconds | entities/s | "
        "s a page: emulator, parse, write | walk status |")
    say("|---|---:|---:|---:|---:|---|---:|---:|---:|---|")
    numbers: dict[str, Any] = {}
    all_requests = 0
    for t in TYPES:
        w = walk["walks"][t]
        requests = sum(by_type[t].values())
        limiter = w["requests"].get("api", 0)
        need = _pages(visible[t])
        all_requests += requests
        client = _client(w)["handle_s"]
        numbers[t] = {"entities": w["listed"], "visible": visible[t], "requests": requests, "limiter_requests": limiter,
                      "list_requests": by_type[t].get("list", 0), "info_requests": by_type[t].get("info", 0),
                      "needed": need, "ratio": requests / need, "seconds": w["seconds"],
                      "entities_per_s": w["listed"] / w["seconds"] if w["seconds"] else 0.0,
                      "emulator_s_per_page": w["http_s"] / max(1, w["pages"]), "client_s_per_page": client,
                      "parse_s_per_page": _client(w)["parse_s"],
                      "status": w["status"], "kind": w["kind"], "changed": w["changed"], "pages": w["pages"]}
        agree = "" if limiter == requests else f" (limiter counted {limiter})"
        say(f"| {t}s | {w['listed']:,} | {requests:,}{agree} | {need:,} | {requests / need:.3f} | "
            f"{_verdict(requests <= TARGET_REQUESTS_X * need)} | {w['seconds']:.1f} | {numbers[t]['entities_per_s']:,.0f} | "
            f"{numbers[t]['emulator_s_per_page']:.3f}, {numbers[t]['parse_s_per_page']:.3f}, {client:.3f} | "
            f"{w['kind']} {w['status']} |")
    need_all = sum(_pages(visible[t]) for t in TYPES)
    listed = sum(w["listed"] for w in walk["walks"].values())
    say(f"| **all** | {listed:,} | {all_requests:,} | {need_all:,} | {all_requests / need_all:.3f} | "
        f"{_verdict(all_requests <= TARGET_REQUESTS_X * need_all)} | {walk['catalog_s']:.1f} | "
        f"{listed / walk['catalog_s']:,.0f} | | |")
    say()
    say("The writer's side of a page, seconds (what the walking process does with each 1000-entry page once "
        "fetched and parsed; the types walk at once, so these include waiting for each other):")
    say()
    say("| type | writer, a page | provenance edges | state transaction | the rest of the loop | "
        "search documents (the indexing thread, a page's share) |")
    say("|---|---:|---:|---:|---:|---:|")
    for t in TYPES:
        w, n = walk["walks"][t], numbers[t]
        got = {k: v / max(1, w["pages"]) for k, v in w.get("parts_s", {}).items()}
        rest = n["client_s_per_page"] - got.get("provenance edges", 0.0) - got.get("state transaction", 0.0)
        n["client_parts_s_per_page"] = {**got, "rest of the loop": rest}
        say(f"| {t}s | {n['client_s_per_page']:.3f} | {got.get('provenance edges', 0):.3f} | "
            f"{got.get('state transaction', 0):.3f} | {rest:.3f} | {got.get('search documents', 0):.3f} |")
    mem, emu_mem = walk["memory_end"], walk["emulator"]["memory"]
    say()
    say(f"walking process: peak RSS {mem['peak_rss_mb']:.0f} MB (VmHWM {mem.get('vmhwm_mb', 0):.0f}; "
        f"{walk['memory_open']['peak_rss_mb']:.0f} MB once the Mirror was open, before the walk); its search "
        f"writer process's peak RSS {mem.get('children_peak_rss_mb', 0):.0f} MB; CPU of both "
        f"{walk['cpu_s']:.1f} s ({walk['cpu_s'] / max(1, total_pages):.3f} s a page); state.sqlite {walk['state_bytes'] / 2**20:,.0f} MiB; search index "
        f"{walk['search_docs']:,} documents after the walk")
    grew = walk.get("peak_rss_grew_mb", {})
    if grew:
        say("  the peak RSS rose by, inside: " + ", ".join(f"{part} {mb:,.0f} MB" for part, mb in grew.items()))
    say(f"emulator's process (reported apart): peak RSS {emu_mem['peak_rss_mb']:.0f} MB (now "
        f"{emu_mem.get('vmrss_mb', 0):.0f}), CPU during the walk {walk['emulator']['cpu_s']:.1f} s")
    return {"by_type": numbers, "requests": all_requests, "needed": need_all, "entities": listed,
            "listable": sum(visible[t] for t in TYPES),  # distinct; `listed` counts where two lanes met twice
            "seconds": walk["catalog_s"], "entities_per_s": listed / walk["catalog_s"],
            "peak_rss_mb": mem["peak_rss_mb"], "vmhwm_mb": mem.get("vmhwm_mb"),
            "writer_process_peak_rss_mb": mem.get("children_peak_rss_mb"), "cpu_s": walk["cpu_s"],
            "cpu_s_per_page": walk["cpu_s"] / max(1, total_pages),
            "emulator_peak_rss_mb": emu_mem["peak_rss_mb"], "search_docs": walk["search_docs"],
            "state_bytes": walk["state_bytes"], "list_bytes_per_page": list_bytes / max(1, total_pages)}


def report_overlap(before: dict[str, Any], now: dict[str, Any], latency: float, back_after: int,
                   out: TextIO) -> dict[str, Any]:
    """Step 1b: the walk as it was (one type after another, no read-ahead) and as it is, on one
    Hub answering each request after ``latency`` s; and what the projection's simulation predicts
    for both from the first run's own seconds a page (its check against a measurement)."""
    def say(line: str = "") -> None:
        print(line, file=out)

    client = {t: _client(before["walks"][t]) for t in TYPES}
    pages = {t: before["walks"][t]["pages"] for t in TYPES}
    streams = [Stream(pages[t], client[t]["parse_s"], client[t]["handle_s"], client[t]["index_s"],
                      client[t]["writer_s"], server_s=client[t]["http_s"]) for t in TYPES]
    predicted = {mode: simulate("anonymous", streams, 0.0, concurrent=mode == "catalog", quota=UNLIMITED,
                                back_after=back_after) for mode in ("sequential", "catalog")}
    say(f"Read-ahead and the types at once (step 1b): a generated Hub of {sum(pages.values())} pages "
        f"({', '.join(f'{pages[t]} of {t}s' for t in TYPES)}), the emulator waiting {latency:g} s before each answer")
    say()
    say("| walk | seconds | × the baseline | the simulation predicted | requests | peak RSS (MB) |")
    say("|---|---:|---:|---:|---:|---:|")
    rows = {}
    for label, mode, walk in (("one type after another, no read-ahead (baseline)", "sequential", before),
                              (f"Mirror.catalog: types at once, read-ahead, a back lane after {back_after} pages", "catalog", now)):
        requests = sum(sum(walk["emulator"]["requests"][t].values()) for t in TYPES)
        rows[mode] = {"seconds": walk["catalog_s"], "predicted_s": predicted[mode], "requests": requests,
                      "peak_rss_mb": walk["memory_end"]["peak_rss_mb"]}
        say(f"| {label} | {walk['catalog_s']:.1f} | {before['catalog_s'] / walk['catalog_s']:.2f}× faster | "
            f"{predicted[mode]:.1f} | {requests} | {walk['memory_end']['peak_rss_mb']:.0f} |")
    say()
    say("seconds a page in the baseline (uncontended; the projection's client side): "
        + "; ".join(f"{t}s: emulator {c['http_s']:.3f}, parse {c['parse_s']:.3f}, write {c['handle_s']:.3f}, "
                    f"search at the end {c['index_s']:.3f} + its writer process {c['writer_s']:.3f}"
                    for t, c in client.items()))
    return {"rows": rows, "client": client, "latency": latency, "pages": pages,
            "speedup": before["catalog_s"] / now["catalog_s"]}


def report_refresh(refresh: dict[str, Any], touch: dict[str, Any], fraction: float, out: TextIO) -> dict[str, Any]:
    def say(line: str = "") -> None:
        print(line, file=out)

    visible = refresh["emulator"]["visible"]
    by_type = refresh["emulator"]["requests"]
    say(f"Refresh after GeneratedHub.touch({fraction}) (a new commit for {sum(touch['touched'].values()):,} "
        f"entities, {sum(touch['visible_changed'].values()):,} of them in the anonymous listings), in a new process:")
    say()
    say("| type | changed (truth) | found changed | Hub requests | expected | seconds |")
    say("|---|---:|---:|---:|---:|---:|")
    numbers: dict[str, Any] = {}
    for t in TYPES:
        w = refresh["walks"][t]
        k = touch["visible_changed"][t]
        expected = min(math.ceil(k / PAGE) + 1, _pages(visible[t]))
        requests = sum(by_type[t].values())
        numbers[t] = {"changed_truth": k, "changed": w["changed"], "requests": requests, "expected": expected,
                      "seconds": w["seconds"], "kind": w["kind"], "status": w["status"],
                      "limiter_requests": w["requests"].get("api", 0)}
        say(f"| {t}s | {k:,} | {w['changed']:,} | {requests} | {expected} | {w['seconds']:.2f} |")
    changed = sum(touch["visible_changed"].values())
    requests = sum(n["requests"] for n in numbers.values())
    per_1000 = requests / (changed / 1000) if changed else float("inf")
    seconds = sum(n["seconds"] for n in numbers.values())
    say(f"| **all** | {changed:,} | {sum(n['changed'] for n in numbers.values()):,} | {requests} | "
        f"{sum(n['expected'] for n in numbers.values())} | {seconds:.2f} |")
    say()
    say(f"refresh: {per_1000:.2f} requests per 1,000 changed entities (target ≤ {TARGET_REFRESH_PER_1000:g}: "
        f"{_verdict(per_1000 <= TARGET_REFRESH_PER_1000)}); {seconds:.2f} s of walking, the process "
        f"{refresh['open_s'] + refresh['catalog_s'] + refresh['close_s']:.2f} s open to close")
    return {"by_type": numbers, "requests": requests, "changed": changed, "requests_per_1000_changed": per_1000,
            "seconds": seconds}


def report_projection(p: dict[str, Any], out: TextIO) -> None:
    def say(line: str = "") -> None:
        print(line, file=out)

    hub, req = p["hub"], p["requests"]
    say(f"Projection to the real Hub (estimated size, late 2026: {', '.join(f'{hub[t]:,} {t}s' for t in TYPES)}): "
        f"{' + '.join(f'{req[t]:,}' for t in TYPES)} = {p['total_requests']:,} listing requests (ceil(N/1000) each)")
    quotas = p["quotas"]
    say(f"quota of the api bucket (hf_ipfs_scraper.ratelimit.PLANS, the Hub's documented plans): anonymous "
        f"{quotas['anonymous']['api']}, token (free) {quotas['token (free)']['api']}, token (pro) "
        f"{quotas['token (pro)']['api']} requests per fixed 5-minute window; anonymously the last window's "
        f"requests ({p['asked']:,} in all, where the lanes meet included) may start after "
        f"{p['anonymous_floor_min']:.0f} min (the quota's floor)")
    say("client seconds a page (step 1b's baseline): "
        + ", ".join(f"{t}s parse {c['parse_s']:.3f} + write {c['handle_s']:.3f} + search {c['index_s']:.3f} (+ {c['writer_s']:.3f} in the writer process)"
                    for t, c in p["client"].items()))
    m = p["meeting"]
    say(f"where two lanes meet: {m['pages']} page(s) asked beyond ceil(N/1000) (step 1b: its {m['listings']} "
        f"listings walked from both ends asked {', '.join(map(str, m['extra']))} beyond theirs; the mean, rounded up)")
    say(f"server seconds a page (the Hub answering and sending one 1000-entry expanded page): ASSUMED "
        f"{p['server_s']:g} s (--server-seconds-per-page; not measurable offline)")
    say()
    say("| server s a page | no quota (min) | anonymous, one type after another, no read-ahead (before) (min) | "
        "anonymous, paced, one lane a type (before) (min) | anonymous (min) | token, free (min) | token, pro (min) |")
    say("|---:|---:|---:|---:|---:|---:|---:|")
    for row in p["table"]:
        mark = " **(flag)**" if row["server_s"] == p["server_s"] else ""
        say(f"| {row['server_s']:g}{mark} | {row['unlimited_min']:.1f} | "
            f"{row['anonymous, one type after another']:.1f} | {row['anonymous, paced, one lane']:.1f} | "
            f"{row['anonymous']:.1f} | {row['token (free)']:.1f} | {row['token (pro)']:.1f} |")
    at = p["at_flag"]
    say()
    say(f"full-Hub walk, anonymous, at {p['server_s']:g} s a page: {at['anonymous']:.1f} min (target < "
        f"{TARGET_ANONYMOUS_MIN:g} min: {_verdict(at['anonymous'] < TARGET_ANONYMOUS_MIN)}; the quota's floor "
        f"{p['anonymous_floor_min']:.1f} min; before the read-ahead {at['anonymous, one type after another']:.1f} min); "
        f"with a token {at['token (free)']:.1f} min")
    b = p["by_start"]
    say(f"if the Hub's fixed windows follow its clock rather than open with the walk's first request, the walk "
        f"starts somewhere in one; over {b['moments']} starting moments spread over the window, anonymous, at "
        f"{p['server_s']:g} s a page: {b['min']:.2f} / {b['median']:.2f} / {b['max']:.2f} min (min / median / max), "
        f"{b['under_target']:.0%} of them under {TARGET_ANONYMOUS_MIN:g} min")
    say(f"the models' listing is two chains of about {req['model'] // 2:,} pages (from both ends), each page asked "
        f"for once the one before it is in: at {p['server_s']:g} s a page they alone take "
        f"{req['model'] / 2 * p['server_s'] / 60:.1f} min, whatever the quota")


def report_scale(index: dict[str, Any], prov: dict[str, Any], search: dict[str, Any], out: TextIO) -> dict[str, Any]:
    def say(line: str = "") -> None:
        print(line, file=out)

    say()
    if index.get("way") == "walk":
        say(f"Search index: filled by the walk itself ({index['docs']:,} documents)")
    else:
        say(f"Search index: NOT filled by the walk ({index.get('walk_docs', 0):,} documents after it); built from the "
            f"state with {index['way']}: {index['docs']:,} documents in {index['seconds']:.1f} s "
            f"({index['docs'] / index['seconds']:,.0f} docs/s), peak RSS {index['memory_after']['peak_rss_mb']:.0f} MB, "
            f"{index['disk_bytes'] / 2**20:,.0f} MiB on disk")
    say()
    say(f"Provenance from the catalog: {prov['graph_nodes']:,} nodes, {prov['graph_edges']:,} edges ("
        + ", ".join(f"{k} {v:,}" for k, v in prov["edges_by_relation"].items()) + f"); {prov['queries']} query keys ("
        + ", ".join(f"{share:.0%} {cls}" for cls, share in KEY_CLASSES) + f"), max_nodes={MAX_NODES}")
    say()
    say("| measure | value | × scan | target | result |")
    say("|---|---:|---:|---|---|")
    say(f"| scan both tables (baseline) | {prov['scan_s']:.2f} s | 1.00 | | |")
    say(f"| build `tracker.graph` | {prov['build_s']:.2f} s | {prov['build_s'] / prov['scan_s']:.2f} | "
        f"≤ {TARGET_BUILD_S:.0f} s | {_verdict(prov['build_s'] <= TARGET_BUILD_S)} |")
    rss = prov["memory_after"]["peak_rss_mb"]
    say(f"| peak RSS after the build ({prov['memory_before']['peak_rss_mb']:.0f} MB before) | {rss:.0f} MB | | "
        f"≤ {TARGET_RSS_MB / 1024:.0f} GB | {_verdict(rss <= TARGET_RSS_MB)} |")
    for kind, s in prov["summary"].items():
        say(f"| {kind} p50 / p95 (max {s['max']:.1f}) | {s['p50']:.2f} / {s['p95']:.2f} ms | | "
            f"p95 ≤ {TARGET_PROV_P95_MS:.0f} ms | {_verdict(s['p95'] <= TARGET_PROV_P95_MS)} |")
    say(f"| most_derived(10), once | {prov['most_derived_ms']:.0f} ms | | | |")
    say()
    say("most derived: " + ", ".join(f"{key} {count:,}" for key, count in prov["most_derived"][:5]))
    say()
    say(f"Search over the catalog: {search['docs']:,} documents; reader opened in {search['open_ms']:.0f} ms; "
        f"p50 / p95 / max ms over the passes after a warm-up; the baseline is the same question as a scan of "
        f"state.sqlite")
    say()
    say("| query | hits | search p50 / p95 / max | not narrowed p50 / p95 | SQLite scan p50 (baseline) | p50 × scan |")
    say("|---|---:|---|---|---:|---:|")
    labels = list(dict.fromkeys(r[1] for r in search["rows"]))
    per_query = {}
    for label in labels:
        mine = [r for r in search["rows"] if r[1] == label]
        base = [r[2] for r in search["baseline"] if r[1] == label]
        s = _stats([r[2] for r in mine])
        b = _pct(base, 0.5) if base else float("nan")
        p = _stats([r[2] for r in search.get("plain", []) if r[1] == label])
        per_query[label] = {**s, "hits": mine[0][3], "baseline_p50": b, "class": mine[0][0], "plain": p}
        say(f"| `{label}` | {mine[0][3]:,} | {s['p50']:.2f} / {s['p95']:.2f} / {s['max']:.1f} | "
            f"{p['p50']:.2f} / {p['p95']:.2f} | {b:.1f} ms | {s['p50'] / b:.4f} |")
    overall = _stats([r[2] for r in search["rows"]])
    plain_all = _stats([r[2] for r in search.get("plain", [])])
    base_all = _stats([r[2] for r in search["baseline"]])
    say(f"| **all** | | {overall['p50']:.2f} / **{overall['p95']:.2f}** / {overall['max']:.1f} | "
        f"{plain_all['p50']:.2f} / {plain_all['p95']:.2f} | {base_all['p50']:.1f} ms | "
        f"{overall['p50'] / base_all['p50']:.4f} |")
    say()
    floor = search.get("visit_all_ms")
    if floor:
        say(f"a visit of every document (match-all, count only, the shards at once; a narrowed sort skips it): p50 / p95 "
            f"{floor['p50']:.2f} / {floor['p95']:.2f} ms; segments a shard: {search.get('segments')}")
    say(f"search p95 {overall['p95']:.2f} ms (target ≤ {TARGET_SEARCH_P95_MS:g} ms, bench_search's at 1M: "
        f"{_verdict(overall['p95'] <= TARGET_SEARCH_P95_MS)}); reader peak RSS "
        f"{search['memory_after']['peak_rss_mb']:.0f} MB")
    return {"search_all": overall, "search_plain_all": plain_all, "search_baseline_all": base_all,
            "search_per_query": per_query,
            "search_floor": floor, "search_segments": search.get("segments")}


# -- main ---------------------------------------------------------------------------------------
def _sizes(args: argparse.Namespace) -> dict[str, int]:
    if args.scale:
        return {"model": args.scale, "dataset": round(args.scale * args.hub_datasets / args.hub_models),
                "space": round(args.scale * args.hub_spaces / args.hub_models)}
    sizes = {t: round(args.entities * MIX[t]) for t in TYPES}
    for t, value in (("model", args.models), ("dataset", args.datasets), ("space", args.spaces)):
        if value is not None:
            sizes[t] = value
    return sizes


def _child_main(argv: list[str]) -> int:
    mode, rest = argv[0], argv[1:]
    if mode == "--child-emulator":
        return child_emulator(json.loads(rest[0]), int(rest[1]), rest[2])
    if mode == "--child-walk":
        result = child_walk(Path(rest[0]), rest[1], *rest[2:4])
    elif mode == "--child-index":
        result = child_index(Path(rest[0]))
    elif mode == "--child-provenance":
        result = child_provenance(Path(rest[0]), int(rest[1]), int(rest[2]))
    else:
        result = child_search(Path(rest[0]), int(rest[1]), int(rest[2]))
    print(json.dumps(result))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] and argv[0].startswith("--child-"):
        return _child_main(argv)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entities", type=int, default=200_000,
                        help="entities of the generated Hub, 75 %% models, 15 %% datasets, 10 %% Spaces")
    parser.add_argument("--models", type=int, default=None, help="models (instead of --entities' share)")
    parser.add_argument("--datasets", type=int, default=None, help="datasets (instead of --entities' share)")
    parser.add_argument("--spaces", type=int, default=None, help="Spaces (instead of --entities' share)")
    parser.add_argument("--scale", type=int, default=None, metavar="MODELS",
                        help="a Hub of MODELS models (datasets and Spaces in the --hub-* proportions), walked, "
                             "then provenance and search from the catalog (step 4)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated Hub and of the query keys")
    parser.add_argument("--touch", type=float, default=0.01, help="share of each type changed before the refresh")
    parser.add_argument("--hub-models", type=int, default=2_000_000, help="the real Hub's models (estimate, late 2026)")
    parser.add_argument("--hub-datasets", type=int, default=450_000, help="the real Hub's datasets (estimate)")
    parser.add_argument("--hub-spaces", type=int, default=550_000, help="the real Hub's Spaces (estimate)")
    parser.add_argument("--server-seconds-per-page", type=float, default=1.0,
                        help="ASSUMED seconds the real Hub takes to answer and send one 1000-entry expanded listing "
                             "page (a guess: not measurable offline)")
    parser.add_argument("--back-lane-after", type=int, default=3,
                        help="pages before a full walk's back lane opens, in steps 1 and 1b (walk._BACK_LANE_AFTER "
                             "is 400, for the Hub's 2,000-page models listing; the emulator's listings are short)")
    parser.add_argument("--latency", type=float, default=0.25,
                        help="seconds the emulator waits before each answer in step 1b (the Hub's answer time, "
                             "scaled down)")
    parser.add_argument("--latency-entities", type=int, default=50_000,
                        help="entities of step 1b's generated Hub (75/15/10 %%), walked twice")
    parser.add_argument("--queries", type=int, default=1000, help="provenance query keys (step 4)")
    parser.add_argument("--passes", type=int, default=20, help="search passes after a warm-up one (step 4)")
    parser.add_argument("--baseline-passes", type=int, default=3, help="passes of the SQLite-scan baseline (step 4)")
    parser.add_argument("--workdir", default=None, help="keep the output directory here (default: a temp dir)")
    parser.add_argument("--json", nargs="?", const="-", default=None, metavar="FILE",
                        help="also write every number as JSON into FILE; alone: JSON on stdout, report on stderr")
    args = parser.parse_args(argv)
    log: TextIO = sys.stderr if args.json == "-" else sys.stdout
    wall0 = time.perf_counter()
    load0 = os.getloadavg()
    print(f"$ {shlex.join(['python', os.path.relpath(__file__, os.getcwd()), *argv])}", file=log)
    print(f"{os.cpu_count()} cores, Python {sys.version.split()[0]}", file=log)
    print(file=log)
    sizes = _sizes(args)
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="hfipfs-bench-walk-"))
    out_dir = work / "out"
    if out_dir.exists():
        shutil.rmtree(out_dir)
    work.mkdir(parents=True, exist_ok=True)
    numbers: dict[str, Any] = {"argv": argv, "sizes": sizes}
    try:
        t0 = time.perf_counter()
        emu = Emulator(sizes, args.seed, work / "hf-home")
        numbers["emulator_start_s"] = time.perf_counter() - t0
        numbers["emulator_build_s"] = emu.started["build_s"]
        try:
            print(f"generated Hub built in {emu.started['build_s']:.1f} s "
                  f"({', '.join(f'{sizes[t]:,} {t}s' for t in TYPES)}, seed {args.seed}); walking...", file=log)
            walk = _run_walk(out_dir, emu)
            print(file=log)
            numbers["walk"] = report_walk("Full walk", walk, sizes, log)
            numbers["walk_raw"] = walk
            touch = emu.ask("touch", fraction=args.touch, seed=args.seed)
            refresh = _run_walk(out_dir, emu)
            print(file=log)
            numbers["refresh"] = report_refresh(refresh, touch, args.touch, log)
            numbers["refresh_raw"], numbers["touch"] = refresh, touch
        finally:
            emu.stop()
        lat = Emulator({t: round(args.latency_entities * MIX[t]) for t in TYPES}, args.seed, work / "hf-home-1b")
        try:
            lat.ask("latency", seconds=args.latency)
            before = _run_walk(work / "out-1b-sequential", lat, "sequential")
            now = _run_walk(work / "out-1b-catalog", lat, "catalog", args.back_lane_after)
        finally:
            lat.stop()
        print(file=log)
        numbers["overlap"] = report_overlap(before, now, args.latency, args.back_lane_after, log)
        numbers["overlap_raw"] = {"sequential": before, "catalog": now}
        if args.scale:
            walk_docs = numbers["walk"]["search_docs"]
            if walk_docs >= numbers["walk"]["listable"]:  # the walk's own index holds every repo
                index: dict[str, Any] = {"way": "walk", "docs": walk_docs}
            else:
                index = run_child(__file__, ["--child-index", str(out_dir)], timeout=CHILD_TIMEOUT_S)
                index["walk_docs"] = walk_docs
            prov = run_child(__file__, ["--child-provenance", str(out_dir), str(args.queries), str(args.seed)],
                             timeout=CHILD_TIMEOUT_S)
            search = run_child(__file__, ["--child-search", str(out_dir), str(args.passes), str(args.baseline_passes)],
                               timeout=CHILD_TIMEOUT_S)
            numbers["scale"] = {"index": index, "provenance": prov,
                                "search": {k: v for k, v in search.items() if k not in ("rows", "baseline")}}
            numbers["scale"].update(report_scale(index, prov, search, log))
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    # Last, in this process (its RSS no longer matters: every child has run): the projection.
    print(file=log)
    meeting = _meeting(numbers["overlap_raw"]["catalog"], args.back_lane_after)
    numbers["projection"] = projection(args, numbers["overlap"]["client"], meeting)
    report_projection(numbers["projection"], log)
    load = os.getloadavg()
    wall = time.perf_counter() - wall0
    numbers["wall_s"] = wall
    numbers["load"] = {"start": load0, "end": load}
    print(f"\nload average (1, 5, 15 min) at the start {', '.join(f'{x:.1f}' for x in load0)}, at the end "
          f"{', '.join(f'{x:.1f}' for x in load)}; wall time of the whole script: {wall:.1f} s", file=log)
    if args.json:
        write_numbers(numbers, args.json)
    return 0


def headline(numbers: dict[str, Any]) -> list[Row]:
    """The catalog issue's targets: pages asked <= 1.01x the pages needed, a refresh <= 5 requests
    per 1,000 changed repos, the whole Hub walked anonymously in < 30 minutes (projected)."""
    walk, refresh, p = numbers["walk"], numbers["refresh"], numbers["projection"]
    anonymous = p["at_flag"]["anonymous"]
    overlap = numbers["overlap"]["rows"]
    return [
        Row("walk", f"full walk of {walk['entities']:,} entities, Hub requests", f"{walk['requests']:,}",
            f"pages needed {walk['needed']:,}", walk["requests"] / walk["needed"], f"≤ {TARGET_REQUESTS_X}×",
            walk["requests"] <= TARGET_REQUESTS_X * walk["needed"]),
        Row("walk", "full walk, entities/s (peak RSS)", f"{walk['entities_per_s']:,.0f} ({walk['peak_rss_mb']:.0f} MB)"),
        Row("walk", "types in parallel lanes, wall", f"{overlap['catalog']['seconds']:.2f} s",
            f"one type after another {overlap['sequential']['seconds']:.2f} s",
            overlap["catalog"]["seconds"] / overlap["sequential"]["seconds"]),
        Row("walk", f"refresh after {refresh['changed']:,} changes, requests per 1,000 changed",
            f"{refresh['requests_per_1000_changed']:.2f}", target=f"≤ {TARGET_REFRESH_PER_1000:g}",
            met=refresh["requests_per_1000_changed"] <= TARGET_REFRESH_PER_1000),
        Row("walk", "whole Hub, anonymous, projected", f"{anonymous:.1f} min",
            f"no rate limit {p['at_flag']['unlimited_min']:.1f} min", anonymous / max(p["at_flag"]["unlimited_min"], 1e-9),
            f"< {TARGET_ANONYMOUS_MIN:g} min", anonymous < TARGET_ANONYMOUS_MIN),
    ]


if __name__ == "__main__":
    sys.exit(main())
