"""Benchmark: loading and querying the provenance graph of a million-model archive.

    python bench/bench_provenance.py                    # 1,000,000 models (several minutes)
    python bench/bench_provenance.py --models 20000     # smoke size (seconds)
    python bench/bench_provenance.py --db /tmp/prov.sqlite   # keep the corpus, reuse it next time

Measures :class:`hf_ipfs_scraper.provenance.ProvenanceTracker` over ``StateStore(path,
readonly=True)``, the way ``hf-ipfs-scraper provenance`` uses it:

1. **Corpus** (child process; deterministic from ``--seed``): ``--models`` models with the Hub's
   shape: five bases with tens of thousands of direct derivatives each (finetune / quantized /
   adapter), hundreds of chains 20-60 deep (a finetune of a finetune of ...), merges of 2-5 parents
   (~2 %, a quarter of their parents merges themselves), a long tail with zero or one base; ~5 %
   of the models ``trained_on`` one of a few thousand datasets (some ``derived_from`` another),
   a few thousand Spaces that ``uses`` models; ~70 % of the entities mirrored (``root_cid`` set).
   ``StateStore(path)`` creates the schema, then one ``executemany`` transaction fills ``entities``
   and ``edges``. Every edge points from a later node to an earlier one: no cycles. The shape and
   the query-key pools go to ``<db>.corpus.json``; with ``--db PATH`` an existing corpus is reused.
2. **Build** (a fresh child process, so its peak RSS is the graph's): the baseline is scanning
   both tables with the tracker's own SELECTs into nothing (``for _ in state.scan(...)``); then
   ``tracker.graph`` (the build). Peak RSS is ``ru_maxrss`` before and after (VmHWM beside it);
   the time the cyclic garbage collector takes inside the build is shown on its own row.
3. **Queries** (same child, after the build): ``--queries`` keys, a tenth the big bases, the rest
   in thirds chain tails (deep lineage), merge children and random models; for each key
   ``lineage``, ``descendants(max_nodes=200)``, ``family(max_nodes=200)`` (what the picture draws)
   and ``children``; then ``most_derived(10)`` once. The five bases come back twenty times each,
   so their first call per key has a column of its own (what a cache would not hide).

Targets are printed as PASS/MISS beside the numbers; the exit status never depends on timings.
``--json`` alone prints every number as JSON on stdout (the report goes to stderr); ``--json FILE``
writes them to FILE.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import random
import shlex
import shutil
import sqlite3
import sys
import tempfile
import time
from array import array
from pathlib import Path
from typing import Any, Callable, Sequence, TextIO

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _child import run_child, timed_scans, write_numbers  # noqa: E402 - bench/ is the script's folder, first on sys.path
from _table import Row  # noqa: E402

QUICK = ["--models", "3000", "--queries", "40"]
FULL = ["--models", "2000000"]

CORPUS_FORMAT = 1
CHILD_TIMEOUT_S = 3600
MAX_NODES = 200  # what the picture caps a family at (draw_family's default)
# The tracker's own SELECTs (ProvenanceTracker._load): the baseline reads exactly what it reads.
ENTITY_SCAN = "SELECT type, id, root_cid IS NOT NULL FROM entities"
EDGE_SCAN = "SELECT src, dst, relation FROM edges"
KEY_CLASSES = (("base", 0.1), ("chain_tail", 0.3), ("merge", 0.3), ("random", 0.3))
TARGET_BUILD_S = 60.0
TARGET_RSS_MB = 2048.0
TARGET_P95_MS = 50.0

BASES = ("meta-llama/Llama-3.1-8B", "mistralai/Mistral-7B-v0.1", "Qwen/Qwen2.5-7B", "google/gemma-2-9b",
         "microsoft/phi-2")
BASE_SHARES = (0.05, 0.04, 0.03, 0.02, 0.01)  # of --models: direct derivatives of each base
MERGE_SHARE = 0.02
TRAINED_ON_SHARE = 0.05
MIRRORED_SHARE = 0.70
STEMS = ("llama", "mistral", "qwen", "gemma", "phi", "bert", "t5", "falcon", "olmo", "smol")
SUFFIX = {"finetune": "-ft", "quantized": "-GGUF", "adapter": "-lora", "merge": "-merge", "unknown": ""}
DERIVATIVE_MIX = (("finetune", 0.55), ("quantized", 0.25), ("adapter", 0.20))
TAIL_MIX = (("finetune", 0.5), ("quantized", 0.2), ("adapter", 0.2), ("unknown", 0.1))
CHAIN_MIX = (("finetune", 0.8), ("adapter", 0.1), ("quantized", 0.1))


# -- the corpus --------------------------------------------------------------------------------
def _pick(rng: random.Random, mix: tuple[tuple[str, float], ...]) -> str:
    r = rng.random()
    for name, share in mix:
        r -= share
        if r < 0:
            return name
    return mix[-1][0]


class _Corpus:
    """Models, datasets and Spaces as node keys in creation order, and the edges between them
    (always later -> earlier, so the graph is acyclic), with the numbers the report shows."""

    def __init__(self, n_models: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.n_models = n_models
        self.orgs = max(50, n_models // 25)
        self.keys: list[str] = []
        self.edges: list[tuple[str, str, str]] = []
        self.depth = array("H")  # longest lineage path (edges) up from each model
        self.fanout = array("I")  # direct lineage children of each model
        self.pools: dict[str, list[str]] = {"base": [], "chain_tail": [], "merge": [], "random": []}
        self.derivatives: list[int] = []  # models with a base: what merges combine
        self.merges: list[int] = []
        self.n_model_nodes = 0

    def _model(self, name: str, parents: Sequence[int] = (), relation: str = "") -> int:
        index = len(self.keys)
        self.keys.append(f"model:{name}")
        depth = 0
        for parent in parents:
            self.edges.append((self.keys[index], self.keys[parent], relation))
            self.fanout[parent] += 1
            depth = max(depth, self.depth[parent] + 1)
        self.depth.append(depth)
        self.fanout.append(0)
        return index

    def _derived(self, parents: list[int], relation: str) -> int:
        rng = self.rng
        name = f"org{rng.randrange(self.orgs):05d}/{rng.choice(STEMS)}-{len(self.keys)}{SUFFIX[relation]}"
        index = self._model(name, parents, relation)
        self.derivatives.append(index)
        return index

    def build(self) -> None:
        rng, n = self.rng, self.n_models
        for name in BASES:
            self.pools["base"].append(self.keys[self._model(name)])
        n_chains = max(min(20, n // 250), n // 3000)  # fewer chains below 5,000 models (the quick scales)
        chain_depths = [rng.randint(20, 60) for _ in range(n_chains)]
        n_derivs = [int(share * n) for share in BASE_SHARES]
        n_merges = int(MERGE_SHARE * n)
        n_tail = n - len(BASES) - sum(chain_depths) - sum(n_derivs) - n_merges
        if n_tail < 0:
            raise SystemExit(f"--models {n} is too small for this corpus shape (try at least 1000)")
        plan = ["chain"] * n_chains + ["merge"] * n_merges + ["tail"] * n_tail
        for base, count in enumerate(n_derivs):
            plan += [f"base{base}"] * count
        rng.shuffle(plan)
        chains = iter(chain_depths)
        for step in plan:
            if step == "tail":
                self._tail()
            elif step == "merge":
                self._merge()
            elif step == "chain":
                self._chain(next(chains))
            else:
                self._derived([int(step[4:])], _pick(rng, DERIVATIVE_MIX))
        self.n_model_nodes = len(self.keys)
        self.pools["merge"] = [self.keys[i] for i in rng.sample(self.merges, min(2000, len(self.merges)))]
        self.pools["random"] = [self.keys[i] for i in rng.sample(range(self.n_model_nodes), min(2000, self.n_model_nodes))]
        self._datasets_and_spaces()

    def _tail(self) -> None:
        rng = self.rng
        if rng.random() < 0.5 or len(self.keys) <= len(BASES):
            self._model(f"org{rng.randrange(self.orgs):05d}/{rng.choice(STEMS)}-{len(self.keys)}")
        else:
            self._derived([rng.randrange(len(BASES), len(self.keys))], _pick(rng, TAIL_MIX))

    def _merge(self) -> None:
        rng = self.rng
        if len(self.derivatives) < 5:
            return self._tail()
        parents: set[int] = set()
        for _ in range(rng.randint(2, 5)):
            pool = self.merges if self.merges and rng.random() < 0.25 else self.derivatives
            parents.add(rng.choice(pool))
        self.merges.append(self._derived(sorted(parents), "merge"))

    def _chain(self, length: int) -> None:
        rng = self.rng
        if rng.random() < 0.5:
            parent = rng.choices(range(len(BASES)), weights=BASE_SHARES)[0]
        else:
            parent = rng.randrange(len(self.keys))
        for _ in range(length):
            parent = self._derived([parent], _pick(rng, CHAIN_MIX))
        self.pools["chain_tail"].append(self.keys[parent])

    def _datasets_and_spaces(self) -> None:
        rng, n = self.rng, self.n_models
        n_datasets = max(50, n // 300)
        datasets = [f"dataset:data{rng.randrange(self.orgs):05d}/corpus-{j}" for j in range(n_datasets)]
        for j, key in enumerate(datasets):
            self.keys.append(key)
            if j and rng.random() < 0.05:
                self.edges.append((key, datasets[rng.randrange(j)], "derived_from"))
        for i in range(self.n_model_nodes):
            if rng.random() < TRAINED_ON_SHARE:
                for j in {int(n_datasets * rng.random() ** 3) for _ in range(rng.randint(1, 3))}:
                    self.edges.append((self.keys[i], datasets[j], "trained_on"))
        popular = sorted(range(self.n_model_nodes), key=lambda i: -self.fanout[i])[:1000]
        for s in range(max(40, n // 500)):
            key = f"space:demo{rng.randrange(self.orgs):05d}/app-{s}"
            self.keys.append(key)
            used = {rng.choice(popular) if rng.random() < 0.5 else rng.randrange(self.n_model_nodes)
                    for _ in range(rng.randint(1, 3))}
            self.edges += [(key, self.keys[i], "uses") for i in used]
            if rng.random() < 0.2:
                self.edges.append((key, datasets[rng.randrange(n_datasets)], "uses"))

    def shape(self) -> dict[str, Any]:
        by_type: dict[str, int] = {}
        for key in self.keys:
            type_ = key.partition(":")[0]
            by_type[type_] = by_type.get(type_, 0) + 1
        by_relation: dict[str, int] = {}
        for _, _, relation in self.edges:
            by_relation[relation] = by_relation.get(relation, 0) + 1
        top = max(range(self.n_model_nodes), key=self.fanout.__getitem__)
        deepest = max(range(self.n_model_nodes), key=self.depth.__getitem__)
        return {
            "nodes": len(self.keys), "nodes_by_type": by_type, "edges": len(self.edges),
            "edges_by_relation": dict(sorted(by_relation.items(), key=lambda kv: -kv[1])),
            "largest_fanout": {"key": self.keys[top], "children": self.fanout[top]},
            "deepest_chain": {"key": self.keys[deepest], "edges": self.depth[deepest]},
            "chains": len(self.pools["chain_tail"]), "merges": len(self.merges),
        }


def child_generate(db: Path, n_models: int, seed: int) -> dict[str, Any]:
    from hf_ipfs_scraper.state import StateStore

    t0 = time.perf_counter()
    corpus = _Corpus(n_models, seed)
    corpus.build()
    t1 = time.perf_counter()
    StateStore(db).close()  # the schema at the current migration
    rng = random.Random(seed + 1)
    stamp = 1_700_000_000.0
    entities: list[tuple[str, str, str, float, float, str | None]] = []  # sorted by (type, id): unique
    mirrored = 0
    for i, key in enumerate(corpus.keys):
        type_, _, id_ = key.partition(":")
        if rng.random() < MIRRORED_SHARE:
            mirrored += 1
            entities.append((type_, id_, "done", stamp + i, stamp + i, f"bafybeig{i:051d}"))
        else:
            entities.append((type_, id_, "pending", stamp + i, stamp + i, None))
    entities.sort()
    corpus.edges.sort()
    db_conn = sqlite3.connect(db, isolation_level=None)
    try:
        db_conn.execute("PRAGMA journal_mode=DELETE")  # a bulk load into an empty file needs no WAL
        db_conn.execute("PRAGMA synchronous=OFF")
        db_conn.execute("PRAGMA cache_size=-524288")
        db_conn.execute("BEGIN")
        db_conn.executemany("INSERT INTO entities (type, id, status, first_seen, updated_at, root_cid) "
                            "VALUES (?, ?, ?, ?, ?, ?)", entities)
        db_conn.executemany("INSERT INTO edges (src, dst, relation, evidence) VALUES (?, ?, ?, 'bench')",
                            corpus.edges)
        db_conn.execute("COMMIT")
        db_conn.execute("PRAGMA journal_mode=WAL")  # as the StateStore leaves it
    finally:
        db_conn.close()
    t2 = time.perf_counter()
    shape = corpus.shape()
    shape["mirrored"] = mirrored
    return {
        "format": CORPUS_FORMAT, "models": n_models, "seed": seed, "shape": shape, "pools": corpus.pools,
        "seconds_generate": t1 - t0, "seconds_insert": t2 - t1, "db_bytes": db.stat().st_size,
    }


# -- the measurement ---------------------------------------------------------------------------
def _memory_kib() -> dict[str, int]:
    """``ru_maxrss`` (peak RSS; on Linux it survives exec, so children are started by a parent
    that stays small) and, from /proc, this address space's own VmHWM and current VmRSS."""
    import resource

    found = {"rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                name, _, value = line.partition(":")
                if name in ("VmHWM", "VmRSS"):
                    found[name.lower() + "_kib"] = int(value.split()[0])
    except OSError:
        pass
    return found


class _GcClock:
    """Time the cyclic garbage collector spends (every generation) and how many full collections
    (generation 2: those walk every tracked object, the loaded graph's dicts included) it runs."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.full = 0
        self._start = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
            return
        self.seconds += time.perf_counter() - self._start
        self.full += info["generation"] == 2

    def since(self, mark: tuple[float, int]) -> dict[str, float]:
        return {"seconds": self.seconds - mark[0], "full": self.full - mark[1]}

    def mark(self) -> tuple[float, int]:
        return self.seconds, self.full


def _draw_keys(pools: dict[str, list[str]], queries: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed + 2)
    keys: list[tuple[str, str]] = []
    for cls, share in KEY_CLASSES:
        count = max(1, round(queries * share))
        pool = pools[cls]
        keys += [(cls, pool[q % len(pool)] if cls == "base" else rng.choice(pool)) for q in range(count)]
    rng.shuffle(keys)
    return keys[:queries]


def _size(kind: str, result: Any) -> int:
    """How big an answer was: paths, nodes or children."""
    if kind == "family":
        return result.number_of_nodes()
    return len(result)


def child_measure(db: Path, corpus_json: Path, queries: int, seed: int) -> dict[str, Any]:
    from hf_ipfs_scraper.provenance.tracker import ProvenanceTracker
    from hf_ipfs_scraper.state import StateStore

    pools = json.loads(corpus_json.read_text())["pools"]
    keys = _draw_keys(pools, queries, seed)
    for path in (db, Path(f"{db}-wal")):  # into the page cache: time the work, not the disk
        if path.exists():
            with open(path, "rb", buffering=0) as fh:
                while fh.read(1 << 20):
                    pass
    state = StateStore(db, readonly=True)
    entities_s, edges_s = timed_scans(state, ENTITY_SCAN, EDGE_SCAN)
    before = _memory_kib()
    tracker = ProvenanceTracker(state)
    clock = _GcClock()
    mark = clock.mark()
    t3 = time.perf_counter()
    graph = tracker.graph
    t4 = time.perf_counter()
    after = _memory_kib()
    gc_build = clock.since(mark)
    mark = clock.mark()
    calls: dict[str, Callable[[str], Any]] = {
        "lineage": tracker.lineage,
        "descendants": lambda key: tracker.descendants(key, max_nodes=MAX_NODES),
        "family": lambda key: tracker.family(key, max_nodes=MAX_NODES),
        "children": tracker.children,
    }
    # (key class, ms, answer size, first call with this key): a cache would show in the first calls
    latencies: dict[str, list[tuple[str, float, int, bool]]] = {}
    for kind, call in calls.items():
        rows = latencies[kind] = []
        seen: set[str] = set()
        for cls, key in keys:
            q0 = time.perf_counter()
            result = call(key)
            rows.append((cls, (time.perf_counter() - q0) * 1000, _size(kind, result), key not in seen))
            seen.add(key)
    m0 = time.perf_counter()
    top = tracker.most_derived(10)
    most_derived_ms = (time.perf_counter() - m0) * 1000
    gc_queries = clock.since(mark)
    state.close()
    return {
        "scan_entities_s": entities_s, "scan_edges_s": edges_s, "scan_s": entities_s + edges_s, "build_s": t4 - t3,
        "memory_before": before, "memory_after": after, "memory_end": _memory_kib(),
        "gc_build": gc_build, "gc_queries": gc_queries, "gc_tracked_objects": len(gc.get_objects()),
        "graph_nodes": graph.number_of_nodes(), "graph_edges": graph.number_of_edges(),
        "queries": len(keys), "latencies": latencies, "most_derived_ms": most_derived_ms, "most_derived": top,
    }


# -- children, from a parent that stays small --------------------------------------------------
def _child(args: list[str]) -> dict[str, Any]:
    return run_child(__file__, args, timeout=CHILD_TIMEOUT_S)


def _child_main(argv: list[str]) -> int:
    mode, rest = argv[0], argv[1:]
    if mode == "--generate":
        result = child_generate(Path(rest[0]), int(rest[1]), int(rest[2]))
    else:
        result = child_measure(Path(rest[0]), Path(rest[1]), int(rest[2]), int(rest[3]))
    print(json.dumps(result))
    return 0


# -- report ------------------------------------------------------------------------------------
def _pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


def _verdict(value: float, target: float) -> str:
    return "PASS" if value <= target else "MISS"


def _summary(rows: list[tuple[str, float, int, bool]]) -> dict[str, float]:
    ms = [r[1] for r in rows]
    return {"n": len(ms), "p50": _pct(ms, 0.5), "p95": _pct(ms, 0.95), "max": max(ms),
            "size_p50": _pct([r[2] for r in rows], 0.5), "size_max": max(r[2] for r in rows)}


def _report(meta: dict[str, Any], m: dict[str, Any], out: TextIO) -> dict[str, Any]:
    def say(line: str = "") -> None:
        print(line, file=out)

    shape = meta["shape"]
    say(f"corpus: --models {meta['models']} --seed {meta['seed']}: {shape['nodes']:,} nodes "
        f"({', '.join(f'{v:,} {k}s' for k, v in shape['nodes_by_type'].items())}; {shape['mirrored']:,} mirrored), "
        f"{shape['edges']:,} edges ({', '.join(f'{k} {v:,}' for k, v in shape['edges_by_relation'].items())})")
    say(f"        largest fan-out {shape['largest_fanout']['children']:,} direct children "
        f"({shape['largest_fanout']['key']}); deepest chain {shape['deepest_chain']['edges']} edges "
        f"({shape['deepest_chain']['key']}); {shape['chains']} chains, {shape['merges']:,} merges; "
        f"state.sqlite {meta['db_bytes'] / 2**20:.0f} MB")
    say(f"graph loaded: {m['graph_nodes']:,} nodes, {m['graph_edges']:,} edges; {m['queries']} query keys "
        f"({', '.join(f'{share:.0%} {cls}' for cls, share in KEY_CLASSES)}), max_nodes={MAX_NODES}; "
        f"{os.cpu_count()} cores, Python {sys.version.split()[0]}")
    say()
    before, after = m["memory_before"]["rss_kib"] / 1024, m["memory_after"]["rss_kib"] / 1024
    summaries = {kind: _summary(rows) for kind, rows in m["latencies"].items()}
    say("| measure | value | × scan | target | result |")
    say("|---|---:|---:|---|---|")
    say(f"| scan both tables (baseline) | {m['scan_s']:.2f} s | 1.00 | | |")
    say(f"| build `tracker.graph` | {m['build_s']:.2f} s | {m['build_s'] / m['scan_s']:.2f} | "
        f"≤ {TARGET_BUILD_S:.0f} s | {_verdict(m['build_s'], TARGET_BUILD_S)} |")
    say(f"| of which cyclic GC ({m['gc_build']['full']} full collections) | {m['gc_build']['seconds']:.2f} s | "
        f"{m['gc_build']['seconds'] / m['scan_s']:.2f} | | |")
    say(f"| peak RSS before the build | {before:.0f} MB | | | |")
    say(f"| peak RSS after the build | {after:.0f} MB (VmHWM {m['memory_after'].get('vmhwm_kib', 0) / 1024:.0f}) | | "
        f"≤ {TARGET_RSS_MB / 1024:.0f} GB | {_verdict(after, TARGET_RSS_MB)} |")
    say(f"| RSS added by the build | {after - before:.0f} MB | | | |")
    say(f"| peak RSS after the queries | {m['memory_end']['rss_kib'] / 1024:.0f} MB | | "
        f"≤ {TARGET_RSS_MB / 1024:.0f} GB | {_verdict(m['memory_end']['rss_kib'] / 1024, TARGET_RSS_MB)} |")
    for kind, s in summaries.items():
        say(f"| {kind} p95 (p50 {s['p50']:.2f}, max {s['max']:.1f}) | {s['p95']:.2f} ms | | "
            f"≤ {TARGET_P95_MS:.0f} ms | {_verdict(s['p95'], TARGET_P95_MS)} |")
    say(f"| most_derived(10), once (× the edge scan) | {m['most_derived_ms']:.0f} ms | "
        f"{m['most_derived_ms'] / 1000 / m['scan_edges_s']:.2f} | | |")
    say(f"| cyclic GC during all the queries ({m['gc_queries']['full']} full collections; "
        f"{m['gc_tracked_objects']:,} objects left for it to walk) | {m['gc_queries']['seconds']:.2f} s | | | |")
    say()
    say("Latency by key class, ms: p50 / p95 / max (answer size: median / max paths, nodes or children)")
    say()
    # (column, key class, first calls only): bases repeat (5 keys), so their first calls are apart
    columns = [(cls, cls, False) for cls, _ in KEY_CLASSES]
    columns.insert(1, (f"{columns[0][0]}, 1st call per key", columns[0][1], True))
    say(f"| query | {' | '.join(name for name, _, _ in columns)} |")
    say(f"|---|{'---|' * len(columns)}")
    by_class: dict[str, dict[str, dict[str, float]]] = {}
    for kind, rows in m["latencies"].items():
        by_class[kind] = {name: _summary([r for r in rows if r[0] == cls and (r[3] or not first)])
                          for name, cls, first in columns}
        cells = [f"{s['p50']:.2f} / {s['p95']:.2f} / {s['max']:.1f} ({s['size_p50']:.0f} / {s['size_max']:.0f})"
                 for s in by_class[kind].values()]
        say(f"| {kind} | {' | '.join(cells)} |")
    say()
    say("most_derived(10): " + ", ".join(f"{key} {count:,}" for key, count in m["most_derived"]))
    return {"summary": summaries, "by_class": by_class}


def _corpus(args: argparse.Namespace, db: Path, sidecar: Path, log: TextIO) -> tuple[dict[str, Any], bool]:
    """The corpus description: the one beside an existing ``db``, or a new corpus generated."""
    if db.exists():
        if not sidecar.exists():
            raise SystemExit(f"{db} exists but {sidecar.name} does not: not a corpus of this script; "
                             "remove it or give another --db")
        meta = json.loads(sidecar.read_text())
        if meta.get("format") != CORPUS_FORMAT:
            raise SystemExit(f"{sidecar} is of another version of this script: remove {db} and it")
        if (meta["models"], meta["seed"]) != (args.models, args.seed):
            print(f"note: reusing {db}, generated with --models {meta['models']} --seed {meta['seed']} "
                  "(those are what is measured)", file=log)
        return meta, True
    db.parent.mkdir(parents=True, exist_ok=True)
    meta = _child(["--generate", str(db), str(args.models), str(args.seed)])
    sidecar.write_text(json.dumps(meta))
    return meta, False


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["--generate"], ["--measure"]):
        return _child_main(argv)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=1_000_000, help="models in the synthetic corpus")
    parser.add_argument("--queries", type=int, default=1000, help="query keys; each runs every query kind")
    parser.add_argument("--seed", type=int, default=0, help="seed of the corpus and of the query keys")
    parser.add_argument("--db", default=None,
                        help="state.sqlite to measure: reused when it exists (with its .corpus.json), else "
                             "generated there and kept (default: a temp dir, removed at the end)")
    parser.add_argument("--json", nargs="?", const="-", default=None, metavar="FILE",
                        help="also write every number as JSON into FILE; alone: JSON on stdout, report on stderr")
    args = parser.parse_args(argv)
    wall0 = time.perf_counter()
    log = sys.stderr if args.json == "-" else sys.stdout
    print(f"$ {shlex.join(['python', os.path.relpath(__file__, os.getcwd()), *argv])}", file=log)
    print(file=log)
    temp = None if args.db else Path(tempfile.mkdtemp(prefix="hfipfs-bench-prov-"))
    db = Path(args.db) if args.db else temp / "state.sqlite"  # type: ignore[operator]
    if db.is_dir():
        db = db / "state.sqlite"
    sidecar = Path(f"{db}.corpus.json")
    try:
        meta, reused = _corpus(args, db, sidecar, log)
        if reused:
            print(f"corpus: reused {db} (generated in {meta['seconds_generate'] + meta['seconds_insert']:.1f} s)",
                  file=log)
        else:
            print(f"corpus: generated {db} in {meta['seconds_generate'] + meta['seconds_insert']:.1f} s "
                  f"({meta['seconds_generate']:.1f} s in Python, {meta['seconds_insert']:.1f} s inserting)", file=log)
        measured = _child(["--measure", str(db), str(sidecar), str(args.queries), str(args.seed)])
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
    report = _report(meta, measured, log)
    wall = time.perf_counter() - wall0
    print(f"\nwall time of the whole script: {wall:.1f} s", file=log)
    if args.json:
        measured.pop("latencies")
        numbers = {"argv": argv, "corpus": {k: v for k, v in meta.items() if k != "pools"}, "reused": reused,
                   **measured, **report, "wall_s": wall}
        write_numbers(numbers, args.json)
    return 0


def headline(numbers: dict[str, Any]) -> list[Row]:
    """Issue 6's targets: build <= 60 s, <= 2 GB, every query kind p95 <= 50 ms."""
    rss = numbers["memory_after"]["rss_kib"] / 1024
    rows = [Row("provenance", f"build the graph, {numbers['graph_nodes']:,} nodes", f"{numbers['build_s']:.2f} s",
                f"scan both tables {numbers['scan_s']:.2f} s", numbers["build_s"] / numbers["scan_s"],
                f"≤ {TARGET_BUILD_S:.0f} s", numbers["build_s"] <= TARGET_BUILD_S),
            Row("provenance", "peak RSS after the build", f"{rss:.0f} MB",
                f"before {numbers['memory_before']['rss_kib'] / 1024:.0f} MB", None,
                f"≤ {TARGET_RSS_MB / 1024:.0f} GB", rss <= TARGET_RSS_MB)]
    for kind, s in numbers["summary"].items():
        rows.append(Row("provenance", f"{kind} p50 / p95", f"{s['p50']:.2f} / {s['p95']:.2f} ms",
                        target=f"p95 ≤ {TARGET_P95_MS:.0f} ms", met=s["p95"] <= TARGET_P95_MS))
    return rows


def scale_args(n: int) -> list[str]:
    return ["--models", str(n), "--queries", "200"]


def per_item(numbers: dict[str, Any]) -> dict[str, float]:
    """µs per graph node of the build and of the baseline scan; family queries in µs (p95)."""
    nodes = numbers["graph_nodes"]
    return {"build (per node)": numbers["build_s"] / nodes * 1e6,
            "scan, baseline (per node)": numbers["scan_s"] / nodes * 1e6,
            "family p95 (per query)": numbers["summary"]["family"]["p95"] * 1e3}


if __name__ == "__main__":
    sys.exit(main())
