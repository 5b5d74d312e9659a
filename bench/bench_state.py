"""Benchmark: the state store under a million entity updates, against a JSON state file.

    python bench/bench_state.py                                  # 1,000,000 updates (about 13 min)
    python bench/bench_state.py --updates 20000 --baseline-budget 20   # smoke size, the runner's --quick (15 s)
    python bench/bench_state.py --updates 100000 --no-baseline   # the store alone (a scaling point)
    python bench/bench_state.py --dir /tmp/st                    # keep state.sqlite and state.json

An **entity update** is what a mirror run does to the state store for one repo it lists and
mirrors (``pipeline.py``): ``upsert_discovered`` with the listing's metadata (a run lists
``--batch`` repos first, then mirrors them), then ``claim``, ``get`` (the previous root, to unpin
it) and ``mark_done`` with what was archived (sizes, file count, the README's CID and text, a real
model card of ``../shared/data/model_cards`` when present) — or ``mark_failed`` with a Hub error
and a retry time for ``--fail`` of them. A listing holds ``--revisit`` repos mirrored before, at a
new revision (reset to ``pending`` and mirrored again); every listing after the first has them.
Each listing is one run (``start_run`` ... ``finish_run``). A re-listed repo at an unchanged
revision (one ``upsert_discovered``, nothing else) is left out, so every update is the same
calls and the first and last tenth compare like with like; the files table (``record_file`` per
file) is left out too: it is no entity's state. The sequence is deterministic from ``--seed``
and made again, identically, in each child process, outside the timed calls.

1. **Store** (child process): ``--updates`` updates into a fresh ``state.sqlite``, single-threaded;
   the time of the store's calls per listing gives the cost per update of the first and last
   tenth (flat is the goal), and by decile; the CPU time (user + system) beside it is less moved
   by other processes on the cores (the load average at the start and end is printed).
2. **Kill** (child process): the next listing's run, half of it mirrored, ``--workers`` repos
   claimed (workers mid-download), then ``kill -9`` from this process: a run left ``running``,
   entities left ``in_progress``.
3. **Resume** (child process): ``StateStore(path)`` (which marks the dead run ``interrupted`` and
   puts its claims back to ``pending``), then what the pipeline does to decide what is left: the
   same listing upserted again, repo by repo, ``done`` at the listed revision → unchanged, the rest
   to do. Then, store-wide, every ``pending`` and ``failed`` entity listed (``iter_entities``).
4. **Baseline**, the approach the store replaces (child process): the same updates on a dict
   ``{"type:id": {status, head_sha, sha, root_cid, attempts, ..., metadata}}`` (the entity row's
   fields; not the README texts, which files beside it would keep: the file carries less than the store), rewritten whole at every checkpoint
   (every ``--checkpoint-every`` updates): ``json.dumps``, write a temp file, ``fsync``,
   ``os.replace``. Its cost grows with the state, so it stops checkpointing when
   ``--baseline-budget`` seconds are spent; the rest of the updates are applied without
   checkpoints and the file written once at the end (timed: a measured checkpoint at N). The
   checkpoints it skipped are extrapolated from a straight line fitted to the measured ones
   (checkpoint seconds against entities held); those figures are labelled *extrapolated*.
   Its resume (child process): ``json.load``, claims back to ``pending``, the same listing decided
   against the dict, every pending or failed entity listed. A kill between checkpoints loses what
   was done since the last one: the half listing mirrored is to do again.

Durability, matched: the store runs WAL with ``synchronous=NORMAL`` (its own settings): every call
commits, so a ``kill -9`` loses nothing, and the WAL is fsynced at each WAL checkpoint (about every
1,000 pages written); a power cut may lose the last commits. The JSON file is fsynced at each of
its checkpoints, so it is as durable as its last checkpoint against both a kill and a power cut
(the directory is not fsynced: a power cut right after ``os.replace`` may bring back the previous
file, as SQLite NORMAL may lose its last commits).

Target (state/store.py: "an update costs the same at a thousand entities or a million"): the last
tenth's cost per update ≤ 1.2 × the first tenth's. Printed as PASS/MISS; the exit status never
depends on timings. ``--json`` alone prints every number as JSON on stdout (the report goes to
stderr); ``--json FILE`` writes them to FILE.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple, TextIO

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _child import run_child, write_numbers  # noqa: E402 - bench/ is the script's folder, first on sys.path
from _table import Row  # noqa: E402

QUICK = ["--updates", "20000", "--baseline-budget", "20"]
FULL = ["--updates", "1000000"]
TARGET_FLATNESS = 1.2  # last tenth ÷ first tenth, cost per update
CHILD_TIMEOUT_S = 6 * 3600
CARDS = ROOT.parent / "shared" / "data" / "model_cards"
RUN_KEY = "models"
HUB_ERROR = "HubError: 503 Server Error: Service Unavailable for url: https://huggingface.co/api/models/{id}/tree/main"
RETRY_S = 3600.0
STEMS = ("llama", "mistral", "qwen", "gemma", "phi", "bert", "t5", "falcon", "olmo", "smol")
TAGS = ("transformers", "pytorch", "safetensors", "gguf", "text-generation", "conversational", "fill-mask",
        "text-classification", "autotrain_compatible", "endpoints_compatible", "region:us", "en", "fr", "de",
        "zh", "lora", "peft", "8-bit", "4-bit", "mlx", "onnx", "tensorboard", "generated_from_trainer", "trl",
        "sft", "dataset:wikipedia", "dataset:c4", "arxiv:2307.09288", "base_model:finetune", "custom_code")
LICENSES = ("apache-2.0", "mit", "llama3.1", "cc-by-4.0", "other", "openrail", None)
PIPELINES = ("text-generation", "fill-mask", "text-classification", "feature-extraction", "translation", None)
LIBRARIES = ("transformers", "peft", "gguf", "sentence-transformers", "diffusers", None)


# -- the update sequence ----------------------------------------------------------------------
class _Repo(NamedTuple):
    """One listed repo and what its mirror will record."""

    type: str
    id: str
    sha: str
    metadata: dict[str, Any]
    fail: bool
    size: int
    total: int
    files: int
    readme: int  # index into the README texts
    root_cid: str
    readme_cid: str


def _readmes() -> list[str]:
    """Real model cards as README texts (generated words without ../shared/data)."""
    texts = []
    index = CARDS / "INDEX.tsv"
    if index.is_file():
        for line in index.read_text(encoding="utf-8").splitlines()[1:]:
            texts.append((CARDS / line.split("\t")[1]).read_text(encoding="utf-8", errors="replace"))
    rng = random.Random(0)
    words = "model archive tensor layer token weight vector corpus train eval sample batch shard".split()
    while len(texts) < 50:
        texts.append(" ".join(rng.choice(words) for _ in range(rng.randint(150, 900))))
    return texts


def _cid(rng: random.Random, prefix: str) -> str:
    """A CIDv1-shaped string (base32, 59 characters)."""
    return prefix + base64.b32encode(rng.getrandbits(320).to_bytes(40, "big")).decode().lower()[: 59 - len(prefix)]


class _Sequence:
    """The update sequence: listings of ``batch`` repos, the same in every child process. Listing
    ``b`` draws from a generator seeded by (seed, b) alone, and entity ``j``'s type and id follow
    from ``j``, so any listing is made without the ones before it."""

    def __init__(self, updates: int, seed: int, batch: int, revisit: float, fail: float, readmes: int) -> None:
        self.updates, self.seed, self.batch, self.revisit, self.fail = updates, seed, batch, revisit, fail
        self.readme_count = readmes
        self.sizes = [min(batch, updates - start) for start in range(0, updates, batch)]
        self.sizes.append(batch)  # the listing after the last: the run that is killed
        self.orgs = max(50, updates // 25)
        self.first: list[int] = []  # entity number of each listing's first new repo
        entities = 0
        for b, size in enumerate(self.sizes):
            self.first.append(entities)
            entities += size - self._revisits(b, size, entities)

    @property
    def listings(self) -> int:
        """The listings of the measured updates (the killed run's listing comes after them)."""
        return len(self.sizes) - 1

    def _revisits(self, b: int, size: int, known: int) -> int:
        return 0 if b == 0 else min(known, round(size * self.revisit))

    def entity(self, j: int) -> tuple[str, str]:
        """Type and id of entity number ``j``: 80 % models, 15 % datasets, 5 % Spaces, in orgs
        scattered over the id space (inserts land all over the primary key, as the Hub's do)."""
        kind = "model" if j % 20 < 16 else "dataset" if j % 20 < 19 else "space"
        return kind, f"org{(j * 7919) % self.orgs:05d}/{STEMS[j % len(STEMS)]}-{kind}-{j}"

    def listing(self, b: int) -> list[_Repo]:
        rng = random.Random(self.seed * 1_000_003 + b)
        size = self.sizes[b]
        known = self.first[b]
        old = rng.sample(range(known), self._revisits(b, size, known))
        numbers = old + list(range(known, known + size - len(old)))
        rng.shuffle(numbers)
        return [self._repo(rng, j, b) for j in numbers]

    def _repo(self, rng: random.Random, j: int, b: int) -> _Repo:
        kind, repo_id = self.entity(j)
        sha = f"{rng.getrandbits(160):040x}"
        day = 1_600_000_000 + j * 40 + rng.randrange(86_400)
        size = int(rng.lognormvariate(19, 2.5))
        license_ = rng.choice(LICENSES)
        tags = rng.sample(TAGS, rng.randint(3, 12)) + ([f"license:{license_}"] if license_ else [])
        metadata: dict[str, Any] = {
            "type": kind, "id": repo_id, "sha": sha, "private": False, "gated": "auto" if rng.random() < 0.05 else False,
            "disabled": False, "author": repo_id.split("/")[0], "tags": tags,
            "trending_score": rng.randint(0, 300) if rng.random() < 0.3 else None,
            "likes": int(3 * rng.paretovariate(1.2)) - 3, "downloads": int(10 * rng.paretovariate(0.8)) - 10,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(day)),
            "last_modified": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(day + b * 3600)),
            "used_storage": size, "license": license_, "languages": [t for t in tags if len(t) == 2],
            "card_data": {"license": license_, "language": [t for t in tags if len(t) == 2],
                          "tags": tags[:3], "datasets": ["wikipedia"] if "dataset:wikipedia" in tags else []},
        }
        if kind == "model":
            metadata |= {"pipeline_tag": rng.choice(PIPELINES), "library_name": rng.choice(LIBRARIES),
                         "base_models": [], "base_model_relation": None}
        elif kind == "dataset":
            metadata |= {"description": "A corpus of " + " ".join(rng.sample(STEMS, 4)),
                         "task_categories": ["text-generation"], "size_categories": ["10K<n<100K"]}
        else:
            metadata |= {"sdk": rng.choice(("gradio", "streamlit", "docker", "static")), "models": []}
        return _Repo(kind, repo_id, sha, metadata, rng.random() < self.fail, size, size + rng.randrange(1 << 20),
                     rng.randint(3, 30), rng.randrange(self.readme_count), _cid(rng, "bafybei"), _cid(rng, "bafkrei"))


def _sequence(args: argparse.Namespace) -> tuple[_Sequence, list[str]]:
    """The update sequence and the README texts it points into."""
    readmes = _readmes()
    return _Sequence(args.updates, args.seed, args.batch, args.revisit, args.fail, len(readmes)), readmes


# -- the store --------------------------------------------------------------------------------
def _mirror(state: Any, repo: _Repo, archived: Any) -> bool:
    """The state calls of one repo's mirror after discovery; False if the claim was refused."""
    if not state.claim(repo.type, repo.id):
        return False
    state.get(repo.type, repo.id)  # the previous root, which the pipeline unpins when it changed
    if repo.fail:
        state.mark_failed(repo.type, repo.id, HUB_ERROR.format(id=repo.id), retry_at=time.time() + RETRY_S)
    else:
        state.mark_done(repo.type, repo.id, repo.sha, repo.root_cid, archived=archived)
    return True


def _archived(repos: list[_Repo], readmes: list[str]) -> list[Any]:
    from hf_ipfs_scraper.state.rows import Archived

    return [Archived(size_bytes=r.size, total_bytes=r.total, file_count=r.files, readme_cid=r.readme_cid,
                     readme_size=len(readmes[r.readme].encode()), readme_text=readmes[r.readme], root_tsize=r.size + 64)
            for r in repos]


def child_store(args: argparse.Namespace) -> dict[str, Any]:
    """The measured updates into a fresh store: per listing, seconds of discovery and of the mirror calls."""
    from hf_ipfs_scraper.state import StateStore

    seq, readmes = _sequence(args)
    db = Path(args.dir) / "state.sqlite"
    listings: list[tuple[int, float, float, float]] = []  # updates, seconds of discovery, of the mirror, CPU
    refused = 0
    with StateStore(db) as state:
        for b in range(seq.listings):
            repos = seq.listing(b)
            archived = _archived(repos, readmes)
            cpu0, t0 = time.process_time(), time.perf_counter()
            run = state.start_run(RUN_KEY)
            for repo in repos:
                state.upsert_discovered(repo.type, repo.id, repo.sha, metadata=repo.metadata)
            t1 = time.perf_counter()
            for repo, done in zip(repos, archived):
                refused += not _mirror(state, repo, done)
            state.finish_run(run.id, "completed", {"discovered": len(repos)})
            listings.append((len(repos), t1 - t0, time.perf_counter() - t1, time.process_time() - cpu0))
        counts = dict(state.counts())
    return {"listings": listings, "claims_refused": refused, "counts": counts, "entities": sum(counts.values()),
            "db_bytes": db.stat().st_size, "wal_bytes": _size(Path(f"{db}-wal")), "rss_kib": _rss_kib()}


def child_interrupt(args: argparse.Namespace) -> None:
    """The next listing's run, cut short: half mirrored, ``--workers`` claims held; then it says
    so on stdout and waits to be killed."""
    from hf_ipfs_scraper.state import StateStore

    seq, readmes = _sequence(args)
    repos = seq.listing(seq.listings)
    half = len(repos) // 2
    state = StateStore(Path(args.dir) / "state.sqlite")
    run = state.start_run(RUN_KEY)
    for repo in repos:
        state.upsert_discovered(repo.type, repo.id, repo.sha, metadata=repo.metadata)
    for repo, done in zip(repos[:half], _archived(repos[:half], readmes)):
        _mirror(state, repo, done)
    held = sum(state.claim(r.type, r.id) for r in repos[half : half + args.workers])
    print(json.dumps({"run": run.id, "pid": os.getpid(), "mirrored": half, "held": held}), flush=True)
    time.sleep(3600)


def child_resume_store(args: argparse.Namespace) -> dict[str, Any]:
    """Open the store after the kill, and decide what is left as the pipeline's discovery does."""
    from hf_ipfs_scraper.state import StateStore

    seq, _ = _sequence(args)
    repos = seq.listing(seq.listings)  # the listing comes from the Hub: made before the clock starts
    t0 = time.perf_counter()
    state = StateStore(Path(args.dir) / "state.sqlite")
    t1 = time.perf_counter()
    todo = unchanged = waiting = 0
    for repo in repos:
        entity = state.upsert_discovered(repo.type, repo.id, repo.sha, metadata=repo.metadata)
        if entity.status == "done" and entity.sha == repo.sha:
            unchanged += 1
        elif entity.status == "failed" and entity.retry_at is not None and entity.retry_at > time.time():
            waiting += 1
        else:
            todo += 1
    t2 = time.perf_counter()
    left = {status: sum(1 for _ in state.iter_entities(status=status, metadata=False)) for status in ("pending", "failed")}
    t3 = time.perf_counter()
    result = {"open_s": t1 - t0, "decide_s": t2 - t1, "scan_s": t3 - t2, "interrupted_runs": state.interrupted_runs,
              "recovered": state.recovered, "listed": len(repos), "todo": todo, "unchanged": unchanged,
              "waiting": waiting, "left": left, "entities": sum(state.counts().values()), "rss_kib": _rss_kib()}
    state.close()
    return result


# -- the baseline: a JSON state file ----------------------------------------------------------
def _json_upsert(state: dict[str, dict[str, Any]], repo: _Repo, now: float) -> dict[str, Any]:
    """``upsert_discovered`` on the dict, with the store's rules."""
    key = f"{repo.type}:{repo.id}"
    entity = state.get(key)
    if entity is None:
        entity = state[key] = {"status": "pending", "head_sha": repo.sha, "sha": None, "root_cid": None, "attempts": 0,
                               "last_error": None, "reason": None, "first_seen": now, "updated_at": now,
                               "owner_pid": None, "claimed_sha": None, "retry_at": None, "metadata": repo.metadata}
        return entity
    if entity["head_sha"] != repo.sha:
        if entity["status"] != "in_progress":
            entity.update(status="pending", attempts=0, last_error=None, reason=None)
        entity["head_sha"] = repo.sha
    entity.update(metadata=repo.metadata, updated_at=now)
    return entity


def _json_mirror(state: dict[str, dict[str, Any]], repo: _Repo, readme_size: int, pid: int) -> bool:
    """``claim``, ``get`` and ``mark_done``/``mark_failed`` on the dict."""
    now = time.time()
    entity = state.get(f"{repo.type}:{repo.id}")
    if entity is None or not (entity["status"] == "pending" or (entity["status"] == "failed"
                              and (entity["retry_at"] is None or entity["retry_at"] <= now))):
        return False
    entity.update(status="in_progress", attempts=entity["attempts"] + 1, claimed_sha=entity["head_sha"],
                  owner_pid=pid, updated_at=now)
    entity = state[f"{repo.type}:{repo.id}"]  # get
    if repo.fail:
        entity.update(status="failed", last_error=HUB_ERROR.format(id=repo.id), retry_at=now + RETRY_S,
                      owner_pid=None, claimed_sha=None)
    else:
        entity.update(status="done", head_sha=repo.sha, sha=repo.sha, root_cid=repo.root_cid, last_error=None,
                      reason=None, retry_at=None, owner_pid=None, claimed_sha=None, size_bytes=repo.size,
                      total_bytes=repo.total, file_count=repo.files, readme_cid=repo.readme_cid,
                      readme_size=readme_size, mirrored_at=now, root_tsize=repo.size + 64)
    return True


def _checkpoint(state: dict[str, dict[str, Any]], path: Path) -> tuple[float, float]:
    """Rewrite the whole file: temp + fsync + os.replace. Seconds in all, and of the fsync."""
    t0 = time.perf_counter()
    temp = path.with_name(path.name + ".tmp")
    with open(temp, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(state, separators=(",", ":")))
        fh.flush()
        t1 = time.perf_counter()
        os.fsync(fh.fileno())
        t2 = time.perf_counter()
    os.replace(temp, path)
    return time.perf_counter() - t0, t2 - t1


def child_baseline(args: argparse.Namespace) -> dict[str, Any]:
    """The same updates on a dict, checkpointed every ``--checkpoint-every`` until the budget is spent."""
    seq, readmes = _sequence(args)
    sizes = [len(t.encode()) for t in readmes]
    path = Path(args.dir) / "state.json"
    pid = os.getpid()
    state: dict[str, dict[str, Any]] = {}
    listings: list[tuple[int, float, float]] = []  # updates, seconds of the dict's work, of checkpoints
    # updates done, entities held, seconds, of which fsync, seconds spent since the start
    checkpoints: list[tuple[int, int, float, float, float]] = []
    skipped: list[tuple[int, int, int]] = []  # listing, updates done, entities held: a checkpoint not written
    spent = 0.0
    done = refused = 0
    for b in range(seq.listings):
        repos = seq.listing(b)
        ops = ckpt = 0.0
        t0 = time.perf_counter()
        now = time.time()
        for repo in repos:
            _json_upsert(state, repo, now)
        for repo in repos:
            refused += not _json_mirror(state, repo, sizes[repo.readme], pid)
            done += 1
            if done % args.checkpoint_every == 0:
                if spent + ops + (time.perf_counter() - t0) <= args.baseline_budget:
                    ops += time.perf_counter() - t0
                    seconds, fsync_s = _checkpoint(state, path)
                    ckpt += seconds
                    checkpoints.append((done, len(state), seconds, fsync_s, spent + ops + ckpt))
                    t0 = time.perf_counter()
                else:
                    skipped.append((b, done, len(state)))
        ops += time.perf_counter() - t0
        spent += ops + ckpt
        listings.append((len(repos), ops, ckpt))
    rss_before_final = _rss_kib()
    final = _checkpoint(state, path)  # the file at N, for the resume (and a checkpoint measured at N)
    return {"listings": listings, "checkpoints": checkpoints, "skipped": skipped, "claims_refused": refused,
            "final_checkpoint": {"entities": len(state), "seconds": final[0], "fsync_s": final[1]},
            "entities": len(state), "file_bytes": path.stat().st_size, "rss_kib_before_final": rss_before_final,
            "rss_kib": _rss_kib()}


def child_resume_baseline(args: argparse.Namespace) -> dict[str, Any]:
    """Load the file the last checkpoint left and decide what is left, as the store's resume does."""
    seq, _ = _sequence(args)
    repos = seq.listing(seq.listings)
    t0 = time.perf_counter()
    with open(Path(args.dir) / "state.json", encoding="utf-8") as fh:
        state: dict[str, dict[str, Any]] = json.load(fh)
    t1 = time.perf_counter()
    recovered = 0
    for entity in state.values():  # claims of the dead process back to pending
        if entity["status"] == "in_progress":
            entity.update(status="pending", owner_pid=None, claimed_sha=None)
            recovered += 1
    t2 = time.perf_counter()
    todo = unchanged = waiting = 0
    now = time.time()
    for repo in repos:
        entity = _json_upsert(state, repo, now)
        if entity["status"] == "done" and entity["sha"] == repo.sha:
            unchanged += 1
        elif entity["status"] == "failed" and entity["retry_at"] is not None and entity["retry_at"] > now:
            waiting += 1
        else:
            todo += 1
    t3 = time.perf_counter()
    left = {status: sum(1 for e in state.values() if e["status"] == status) for status in ("pending", "failed")}
    t4 = time.perf_counter()
    return {"load_s": t1 - t0, "recover_s": t2 - t1, "open_s": t2 - t0, "decide_s": t3 - t2, "scan_s": t4 - t3,
            "recovered": recovered, "listed": len(repos), "todo": todo, "unchanged": unchanged, "waiting": waiting,
            "left": left, "entities": len(state), "rss_kib": _rss_kib()}


# -- helpers ----------------------------------------------------------------------------------
def _rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _child_args(args: argparse.Namespace, step: str) -> list[str]:
    return ["--child", step, "--dir", str(args.dir), "--updates", str(args.updates), "--seed", str(args.seed),
            "--batch", str(args.batch), "--revisit", str(args.revisit), "--fail", str(args.fail),
            "--workers", str(args.workers), "--checkpoint-every", str(args.checkpoint_every),
            "--baseline-budget", str(args.baseline_budget)]


def _run(args: argparse.Namespace, step: str) -> dict[str, Any]:
    return run_child(__file__, _child_args(args, step), timeout=CHILD_TIMEOUT_S)


def _run_killed(args: argparse.Namespace) -> dict[str, Any]:
    """The interrupted run in a child, ``kill -9``'d once it says it holds its claims."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), *_child_args(args, "interrupt")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    line = proc.stdout.readline()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    if not line:
        raise RuntimeError(f"the interrupted run failed before its claims:\n{proc.stderr.read()[-4000:]}")
    result: dict[str, Any] = json.loads(line)
    result["returncode"] = proc.returncode
    return result


def _window(listings: list[tuple[int, float]], lo: float, hi: float) -> float:
    """Seconds per update over updates [lo, hi), each listing's seconds spread evenly over its updates."""
    seconds, start = 0.0, 0
    for updates, spent in listings:
        overlap = min(hi, start + updates) - max(lo, start)
        if overlap > 0:
            seconds += spent * overlap / updates
        start += updates
    return seconds / (hi - lo)


def _fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares line y = a + c·x."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    var = sum((x - mx) ** 2 for x, _ in points)
    c = sum((x - mx) * (y - my) for x, y in points) / var if var else 0.0
    return my - c * mx, c


def _summarize(store: dict[str, Any], base: dict[str, Any] | None, n: int) -> dict[str, Any]:
    """The figures the report and the headline show, from the children's raw numbers."""
    s_list = [(u, a + b) for u, a, b, _ in store["listings"]]
    cpu = [(u, c) for u, _, _, c in store["listings"]]
    total_s = sum(t for _, t in s_list)
    tenth = n / 10
    out: dict[str, Any] = {
        "store_seconds": total_s, "store_rate": n / total_s, "store_us_per_update": total_s / n * 1e6,
        "store_first_us": _window(s_list, 0, tenth) * 1e6, "store_last_us": _window(s_list, n - tenth, n) * 1e6,
        "store_deciles_us": [_window(s_list, k * tenth, (k + 1) * tenth) * 1e6 for k in range(10)],
        "store_discover_us": sum(a for _, a, _, _ in store["listings"]) / n * 1e6,
        "store_mirror_us": sum(b for _, _, b, _ in store["listings"]) / n * 1e6,
        "store_cpu_first_us": _window(cpu, 0, tenth) * 1e6, "store_cpu_last_us": _window(cpu, n - tenth, n) * 1e6,
        "store_cpu_deciles_us": [_window(cpu, k * tenth, (k + 1) * tenth) * 1e6 for k in range(10)],
    }
    out["store_flatness"] = out["store_last_us"] / out["store_first_us"]
    out["store_cpu_flatness"] = out["store_cpu_last_us"] / out["store_cpu_first_us"]
    if base is None:
        return out
    checkpointed = base["checkpoints"][-1][0] if base["checkpoints"] else 0
    complete = not base["skipped"]
    a, c = _fit([(float(e), s) for _, e, s, _, _ in base["checkpoints"]] or [(0.0, 0.0)])
    extra: dict[int, float] = {}  # listing -> fitted seconds of the checkpoints it skipped
    for b, _, entities in base["skipped"]:
        extra[b] = extra.get(b, 0.0) + a + c * entities
    b_list = [(u, ops + ckpt + extra.get(b, 0.0)) for b, (u, ops, ckpt) in enumerate(base["listings"])]
    measured = [(u, ops + ckpt) for u, ops, ckpt in base["listings"]]
    b_total = sum(t for _, t in b_list)
    last_lo = max(0.0, checkpointed - tenth)
    out |= {
        "base_complete": complete, "base_checkpointed": checkpointed,
        "base_checkpointed_s": base["checkpoints"][-1][4] if base["checkpoints"] else 0.0,
        "base_fit": {"a_s": a, "s_per_entity": c},
        "base_final_predicted_s": a + c * base["final_checkpoint"]["entities"],
        "base_seconds": b_total, "base_rate": n / b_total,
        "base_first_us": _window(b_list, 0, tenth) * 1e6,
        "base_first_measured": checkpointed >= tenth or complete,
        "base_last_measured_us": _window(measured, last_lo, checkpointed) * 1e6 if checkpointed else None,
        "base_last_measured_range": [last_lo, checkpointed],
        "base_last_us": _window(b_list, n - tenth, n) * 1e6,
        "base_deciles_us": [_window(b_list, k * tenth, (k + 1) * tenth) * 1e6 for k in range(10)],
        "base_fsync_s": sum(f for _, _, _, f, _ in base["checkpoints"]),
        "base_checkpoint_s": sum(s for _, _, s, _, _ in base["checkpoints"]),
    }
    out["base_flatness"] = out["base_last_us"] / out["base_first_us"]
    return out


def _check(numbers: dict[str, Any]) -> None:
    """What the measurement relies on held: every claim taken, the kill a real SIGKILL, the dead
    run and its claims found on open, the two resumes agreeing on what the store kept."""
    killed, res, bres = numbers["interrupt"], numbers["resume"], numbers.get("baseline_resume")
    problems = []
    for name in ("store", "baseline"):
        if numbers.get(name, {}).get("claims_refused"):
            problems.append(f"{name}: {numbers[name]['claims_refused']} claims refused")
    if killed["returncode"] != -signal.SIGKILL:
        problems.append(f"the interrupted run ended with {killed['returncode']}, not SIGKILL")
    if res["interrupted_runs"] != [killed["run"]] or res["recovered"] != killed["held"]:
        problems.append(f"resume found runs {res['interrupted_runs']} and {res['recovered']} claims, not "
                        f"[{killed['run']}] and {killed['held']}")
    if res["todo"] != res["listed"] - killed["mirrored"]:
        problems.append(f"resume: {res['todo']} to do, not {res['listed'] - killed['mirrored']}")
    if bres is not None and bres["todo"] != bres["listed"]:
        problems.append(f"JSON resume: {bres['todo']} to do, not the whole listing")
    if problems:
        raise RuntimeError("the benchmark's own checks failed: " + "; ".join(problems))


# -- report -----------------------------------------------------------------------------------
def _s(seconds: float) -> str:
    """Seconds, to three significant figures (milliseconds below a second)."""
    if seconds >= 1:
        return f"{seconds:,.3g} s" if seconds < 1000 else f"{seconds:,.0f} s"
    return f"{seconds * 1000:.3g} ms"


def _us(value: float) -> str:
    return f"{value:,.0f} µs" if value >= 100 else f"{value:.1f} µs"


def _understated(predicted: float, measured: float, complete: bool) -> str:
    """A note when the line fitted to the checkpoints within the budget predicts less than the
    checkpoint measured at N: then the extrapolated figures are a lower bound of the baseline's."""
    if complete or predicted >= measured:
        return ""
    return f"; {1 - predicted / measured:.0%} short, so the extrapolated figures understate the baseline's cost"


def _x(value: float, baseline: float | None, shown: str) -> str:
    """The ``× JSON baseline`` cell: the ratio, and the baseline's own figure."""
    if baseline is None or not baseline:
        return ""
    ratio = value / baseline
    return f"{ratio:.3g} (JSON: {shown})" if ratio >= 0.01 else f"1/{1 / ratio:,.0f} (JSON: {shown})"


def _report(args: argparse.Namespace, numbers: dict[str, Any], out: TextIO) -> None:
    def say(line: str = "") -> None:
        print(line, file=out)

    st, s = numbers["store"], numbers["summary"]
    killed, res = numbers["interrupt"], numbers["resume"]
    base, bres = numbers.get("baseline"), numbers.get("baseline_resume")
    n = args.updates
    ext = "" if base is None or s["base_complete"] else " *"
    say(f"updates: {n:,} ({args.batch:,} a listing, one run each; {args.revisit:.0%} of each listing after the first "
        f"re-mirrored at a new revision, {args.fail:.0%} failed); {st['entities']:,} entities at the end "
        f"({', '.join(f'{k} {v:,}' for k, v in sorted(st['counts'].items()))}); "
        f"{os.cpu_count()} cores, Python {sys.version.split()[0]}; load average (1 min) at the start / end "
        f"{numbers['load'][0]:.1f} / {numbers['load'][1]:.1f}")
    say("an update: upsert_discovered (listing metadata), claim, get, mark_done (sizes, README CID + text) "
        "or mark_failed — each call its own commit (WAL, synchronous=NORMAL)")
    if base is not None:
        say(f"JSON baseline: the same updates on a dict, the whole file rewritten (temp + fsync + os.replace) every "
            f"{args.checkpoint_every:,} updates; budget {args.baseline_budget:g} s"
            + ("" if s["base_complete"] else
               f": it checkpointed {s['base_checkpointed']:,} of {n:,} updates within it; * = extrapolated"))
    say()
    flat_ok = s["store_flatness"] <= TARGET_FLATNESS
    disk = st["db_bytes"] + st["wal_bytes"]
    resume_s = res["open_s"] + res["decide_s"]
    cells = dict.fromkeys(("rate", "first", "last", "flat", "rss", "disk", "open", "resume", "scan", "lost"), "")
    if base is not None and bres is not None:
        first_ext = "" if s["base_first_measured"] else " *"
        bresume = bres["open_s"] + bres["decide_s"]
        cells = {
            "rate": _x(s["store_rate"], s["base_rate"], f"{s['base_rate']:,.0f}/s{ext}"),
            "first": _x(s["store_first_us"], s["base_first_us"], _us(s["base_first_us"]) + first_ext),
            "last": _x(s["store_last_us"], s["base_last_us"], _us(s["base_last_us"]) + ext),
            "flat": _x(s["store_flatness"], s["base_flatness"], f"{s['base_flatness']:.1f}{ext}"),
            "rss": _x(st["rss_kib"], base["rss_kib"], f"{base['rss_kib'] / 1024:,.0f} MB"),
            "disk": _x(disk, base["file_bytes"], f"{base['file_bytes'] / 2**20:,.0f} MB"),
            "open": _x(res["open_s"], bres["open_s"], f"{_s(bres['open_s'])}: json.load + claims back"),
            "resume": _x(resume_s, bresume, f"{_s(bresume)}, {bres['todo']:,} to do"),
            "scan": _x(res["scan_s"], bres["scan_s"], _s(bres["scan_s"])),
            "lost": f"JSON: {bres['todo'] - res['todo']:,} repos mirrored since its last checkpoint, to do again",
        }
    say("| measure | value | × JSON baseline | target |")
    say("|---|---:|---:|---|")
    say(f"| rate, {n:,} updates | {s['store_rate']:,.0f} updates/s ({_s(s['store_seconds'])}) | {cells['rate']} | |")
    say(f"| cost per update, first 10 % | {_us(s['store_first_us'])} | {cells['first']} | |")
    say(f"| cost per update, last 10 % | {_us(s['store_last_us'])} | {cells['last']} | |")
    say(f"| last 10 % ÷ first 10 % | {s['store_flatness']:.2f} | {cells['flat']} | "
        f"≤ {TARGET_FLATNESS} {'PASS' if flat_ok else 'MISS'} |")
    say(f"| CPU per update (user + system), first / last 10 % (less moved by other processes) | "
        f"{_us(s['store_cpu_first_us'])} / {_us(s['store_cpu_last_us'])}: {s['store_cpu_flatness']:.2f} | | |")
    say(f"| of an update: discovery (upsert_discovered) / mirror calls | {_us(s['store_discover_us'])} / "
        f"{_us(s['store_mirror_us'])} | | |")
    say(f"| peak RSS | {st['rss_kib'] / 1024:,.0f} MB | {cells['rss']} | |")
    wal = f" ({st['wal_bytes'] / 2**20:.0f} MB of it the WAL)" if st["wal_bytes"] else ""
    say(f"| on disk: state.sqlite, closed{wal} | {disk / 2**20:,.0f} MB | {cells['disk']} | |")
    say(f"| resume: open the store (the killed run → interrupted, its {res['recovered']} claims → pending) | "
        f"{_s(res['open_s'])} | {cells['open']} | |")
    say(f"| resume: open + decide the killed run's listing ({res['listed']:,} repos: {res['todo']:,} to do, "
        f"{res['unchanged']:,} done before the kill, {res['waiting']:,} failed and waiting) | {_s(resume_s)} | {cells['resume']} | |")
    say(f"| every pending / failed entity, store-wide ({res['left']['pending']:,} / {res['left']['failed']:,}) | "
        f"{_s(res['scan_s'])} | {cells['scan']} | |")
    say(f"| work lost to the kill -9 | none | {cells['lost']} | |")
    if base is not None and bres is not None:
        say()
        say("The JSON baseline on its own:")
        say()
        say("| measure | value |")
        say("|---|---:|")
        say(f"| updates checkpointed within the budget | {s['base_checkpointed']:,} of {n:,} "
            f"({len(base['checkpoints']):,} checkpoints, {_s(s['base_checkpointed_s'])}) |")
        say(f"| cost per update, first 10 % (updates 0–{n // 10:,}) | {_us(s['base_first_us'])}"
            f"{'' if s['base_first_measured'] else ' (extrapolated)'} |")
        if s["base_last_measured_us"] is not None:
            lo, hi = s["base_last_measured_range"]
            say(f"| cost per update, last measured 10 % of N (updates {lo:,.0f}–{hi:,.0f}) | "
                f"{_us(s['base_last_measured_us'])} ({s['base_last_measured_us'] / s['base_first_us']:.2f} × the "
                "first 10 %) |")
        if not s["base_complete"]:
            say(f"| cost per update, last 10 % of N (extrapolated) | {_us(s['base_last_us'])} |")
            hours = f" ({s['base_seconds'] / 3600:.1f} h)" if s["base_seconds"] >= 3600 else ""
            say(f"| whole run of {n:,} updates (extrapolated) | {_s(s['base_seconds'])}{hours} |")
        else:
            say(f"| whole run of {n:,} updates | {_s(s['base_seconds'])} |")
        fit = s["base_fit"]
        final = base["final_checkpoint"]
        say(f"| one checkpoint at {final['entities']:,} entities, measured (fitted line predicts "
            f"{_s(s['base_final_predicted_s'])}: {_s(fit['a_s'])} + {fit['s_per_entity'] * 1e6:.2f} µs "
            f"an entity{_understated(s['base_final_predicted_s'], final['seconds'], s['base_complete'])}) | "
            f"{_s(final['seconds'])} (fsync {_s(final['fsync_s'])}) |")
        if s["base_checkpoint_s"]:
            say(f"| of the measured checkpoints' time, fsync | {s['base_fsync_s'] / s['base_checkpoint_s']:.0%} |")
        say(f"| resume: json.load / claims back / decide / pending+failed scan | {_s(bres['load_s'])} / "
            f"{_s(bres['recover_s'])} / {_s(bres['decide_s'])} / {_s(bres['scan_s'])} |")
        say(f"| peak RSS (at N, before the final write) / resume | {base['rss_kib_before_final'] / 1024:,.0f} / "
            f"{bres['rss_kib'] / 1024:,.0f} MB |")
    say()
    say("Cost per update by tenth of the updates, µs" + (" (* = the JSON figure extrapolated)" if ext else ""))
    say()
    head = "| | " + " | ".join(f"{k * 10}–{k * 10 + 10} %" for k in range(10)) + " |"
    say(head)
    say("|---|" + "---:|" * 10)
    say("| store | " + " | ".join(f"{v:,.0f}" for v in s["store_deciles_us"]) + " |")
    say("| store, CPU | " + " | ".join(f"{v:,.0f}" for v in s["store_cpu_deciles_us"]) + " |")
    if base is not None:
        reached = s["base_checkpointed"]
        row = [f"{v:,.0f}" + ("" if s["base_complete"] or (k + 1) * n / 10 <= reached else " *")
               for k, v in enumerate(s["base_deciles_us"])]
        say("| JSON | " + " | ".join(row) + " |")


# -- the runner's interface -------------------------------------------------------------------
def headline(numbers: dict[str, Any]) -> list[Row]:
    """Rate, flatness and resume, each beside the JSON file's figure of the same run."""
    s, res, bres = numbers["summary"], numbers["resume"], numbers.get("baseline_resume")
    n = numbers["params"]["updates"]
    has_base = "base_rate" in s
    ext = "" if not has_base or s["base_complete"] else " (extrapolated)"
    resume_s = res["open_s"] + res["decide_s"]
    bresume = bres["open_s"] + bres["decide_s"] if bres else None
    return [
        Row("state store", f"entity updates/s at {n:,}", f"{s['store_rate']:,.0f}/s",
            f"JSON file: {s['base_rate']:,.0f}/s{ext}" if has_base else "",
            s["store_rate"] / s["base_rate"] if has_base else None),
        Row("state store", "cost per update, last 10 % ÷ first 10 %", f"{s['store_flatness']:.2f}",
            f"JSON file: {s['base_flatness']:.1f}{ext}" if has_base else "",
            s["store_flatness"] / s["base_flatness"] if has_base else None,
            f"≤ {TARGET_FLATNESS}", s["store_flatness"] <= TARGET_FLATNESS),
        Row("state store", "resume after kill -9 (open + decide the listing)", _s(resume_s),
            f"JSON file: {_s(bresume)}" if bresume is not None else "",
            resume_s / bresume if bresume else None),
    ]


def scale_args(n: int) -> list[str]:
    """The store alone at ``n`` updates (the baseline is quadratic: not a scaling curve); at least
    10 listings, so the quick scales shrink the listing rather than fail."""
    return ["--updates", str(n), "--batch", str(min(1000, n // 10)), "--no-baseline"]


def per_item(numbers: dict[str, Any]) -> dict[str, float]:
    """µs per update (all, first and last tenth) and µs per entity of the resume."""
    s, res = numbers["summary"], numbers["resume"]
    return {"update": s["store_us_per_update"], "update_first_10pct": s["store_first_us"],
            "update_last_10pct": s["store_last_us"],
            "resume": (res["open_s"] + res["decide_s"]) / max(1, res["entities"]) * 1e6}


# -- main -------------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--updates", type=int, default=1_000_000, help="entity updates (repos listed and mirrored)")
    parser.add_argument("--batch", type=int, default=1000, help="repos a listing (a run of --limit BATCH)")
    parser.add_argument("--revisit", type=float, default=0.1, help="share of a listing mirrored before, new revision")
    parser.add_argument("--fail", type=float, default=0.02, help="share of the mirrors that fail (mark_failed)")
    parser.add_argument("--workers", type=int, default=4, help="claims the killed run holds (scrape.workers)")
    parser.add_argument("--checkpoint-every", type=int, default=1000, help="updates between JSON rewrites")
    parser.add_argument("--baseline-budget", type=float, default=120.0,
                        help="seconds the JSON baseline may spend checkpointing before it is extrapolated")
    parser.add_argument("--no-baseline", action="store_true", help="the store alone")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dir", default=None, help="folder for state.sqlite and state.json, kept "
                        "(default: a temp dir, removed; its contents are replaced)")
    parser.add_argument("--json", nargs="?", const="-", default=None, metavar="FILE",
                        help="also write every number as JSON into FILE; alone: JSON on stdout, report on stderr")
    parser.add_argument("--child", choices=("store", "interrupt", "resume-store", "baseline", "resume-baseline"),
                        help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    children = {"store": child_store, "resume-store": child_resume_store, "baseline": child_baseline,
                "resume-baseline": child_resume_baseline}
    if args.child == "interrupt":
        child_interrupt(args)
        return 0
    if args.child:
        print(json.dumps(children[args.child](args)))
        return 0
    if args.updates < 10 * args.batch:
        raise SystemExit(f"--updates must be at least 10 listings (10 × --batch {args.batch})")
    wall0 = time.perf_counter()
    log = sys.stderr if args.json == "-" else sys.stdout
    print(f"$ {shlex.join(['python', os.path.relpath(__file__, os.getcwd()), *argv])}\n", file=log)
    temp = None if args.dir else Path(tempfile.mkdtemp(prefix="hfipfs-bench-state-"))
    args.dir = temp or Path(args.dir)
    try:
        args.dir.mkdir(parents=True, exist_ok=True)
        for name in ("state.sqlite", "state.sqlite-wal", "state.sqlite-shm", "state.json", "state.json.tmp"):
            (args.dir / name).unlink(missing_ok=True)
        numbers: dict[str, Any] = {"argv": argv, "params": {k: v for k, v in vars(args).items()
                                                            if k not in ("json", "child", "dir")},
                                   "load": [os.getloadavg()[0]]}
        numbers["store"] = _run(args, "store")
        numbers["interrupt"] = _run_killed(args)
        numbers["resume"] = _run(args, "resume-store")
        if not args.no_baseline:
            numbers["baseline"] = _run(args, "baseline")
            numbers["baseline_resume"] = _run(args, "resume-baseline")
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
    numbers["load"].append(os.getloadavg()[0])  # other processes on the cores move every timing
    _check(numbers)
    numbers["summary"] = _summarize(numbers["store"], numbers.get("baseline"), args.updates)
    _report(args, numbers, log)
    numbers["wall_s"] = time.perf_counter() - wall0
    print(f"\nwall time of the whole script: {numbers['wall_s']:.1f} s", file=log)
    if args.json:
        write_numbers(numbers, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
