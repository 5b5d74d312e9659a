"""Benchmark: this mirror vs the naive ``list_models`` + ``snapshot_download`` + ``add`` script.

    python bench/bench_mirror.py --repeat 3     # = --repos 30 --latency 0.03 --bandwidth-mb 50 --limit 30

Both ways mirror the same top-``limit`` trending models of one Hub emulator (``tests/hubemu``, run
in this process with ``latency`` seconds of sleep before every answer, and every body, all
connections together, sent at ``--bandwidth-mb`` MB/s) into an embedded IPFS store,
twice each: a FIRST run into an empty output directory and an UNCHANGED RERUN over the same
directory. Every run is its own child process (its peak RSS is its own, the emulator's is not in it).

* **mirror**: ``Mirror(load_config(...)).scrape_models(limit=N, workers=W)``, default embedded store,
  ``W`` = ``--workers`` or the config default (``scrape.workers``).
* **naive**: ``HfApi.list_models(sort="trending_score", limit=N)``, then for each repo, one after the
  other, ``snapshot_download(repo_id, endpoint=..., cache_dir=...)`` with its own default thread pool
  (8 file downloads at a time; ``--naive-workers`` changes it), ``GatedRepoError`` caught and the repo
  skipped; then every downloaded file is added with ``EmbeddedStore.add_file`` and the repo directory
  built and pinned. (Not ``add_path(snapshot_dir, recursive=True)``: the HF cache's snapshot folder
  holds symlinks into ``blobs/``, which ``ipfs add -r`` stores as UnixFS symlinks, not content.)
  Each repo's root CID is then the one the mirror records, which this script checks.

Requests are the emulator's counters (``emu.counts`` by kind, ``emu.bytes_served``); wall time is
measured in the child around the work (imports excluded, opening the store included). Timings on
this VM vary by +-20 %: compare ratios within one run. ``--log DIR`` writes every request of every
run as JSON lines (time since the run's first request, kind, method, target, status, body bytes).
Each run is also set against the bound the emulator's latency and bandwidth set (``_bound``: its
bytes through the link, and a listing, a tree and a download one after another; the plan's quotas
do not bind at these sizes). The issue's targets are printed as PASS/FAIL; the exit status never
depends on timings.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _table import Row  # noqa: E402 - bench/ is the script's folder, first on sys.path

QUICK = ["--repos", "8", "--no-minilm", "--latency", "0.01"]
FULL = ["--repeat", "3"]

WAYS = ("mirror", "naive")
RUNS = ("first", "rerun")
CHILD_TIMEOUT_S = 900
BOUND_ROUND_TRIPS = 3  # listing, tree, download: the shortest chain of requests a mirror of a repo needs



# -- children ----------------------------------------------------------------------------------
def _rss_kib() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _hwm_kib() -> int:
    """VmHWM (this address space's own peak, reset by exec): a cross-check of ru_maxrss."""
    try:
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return 0


def child_mirror(endpoint: str, work: Path, limit: int, workers: int | None, plan: str = "auto") -> dict[str, Any]:
    """``plan``: the limiter's ``hub.plan`` (auto = anonymous here: no token)."""
    from hf_ipfs_scraper import Mirror, load_config

    config = load_config(
        env={},
        overrides={"output_dir": str(work / "mirror-out"), "hub.endpoint": endpoint, "scrape.limit": limit,
                   "hub.plan": plan},
    )
    t0 = time.perf_counter()
    with Mirror(config) as mirror:
        summary = mirror.scrape_models(limit=limit, workers=workers)
        roots = {e.id: e.root_cid for e in mirror.state.iter_entities("model", "done")}
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "rss_kib": _rss_kib(),
        "workers": workers or config.scrape_workers,
        "listed": summary.discovered,
        "mirrored": summary.mirrored,
        "unchanged": summary.unchanged,
        "skipped": summary.skipped,
        "failed": summary.failed,
        "failures": summary.failures,
        "files_downloaded": summary.files_downloaded,
        "files_reused": summary.files_reused,
        "bytes_downloaded": summary.bytes_downloaded,
        "roots": roots,
        "status": summary.status,
    }


def child_naive(endpoint: str, work: Path, limit: int, workers: int | None) -> dict[str, Any]:
    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.errors import GatedRepoError

    from hf_ipfs_scraper import EmbeddedStore, ImportOptions

    cache_dir = work / "naive-hf-cache"
    kwargs: dict[str, Any] = {} if workers is None else {"max_workers": workers}
    t0 = time.perf_counter()
    t_download = t_store = 0.0
    roots: dict[str, str] = {}
    skipped: list[str] = []
    failures: list[tuple[str, str]] = []
    n_files = 0
    with EmbeddedStore(work / "naive-ipfs", options=ImportOptions.profile("unixfs-v0-2015")) as store:
        api = HfApi(endpoint=endpoint, token=False)
        listed = [m.id for m in api.list_models(sort="trending_score", limit=limit)]
        for repo_id in listed:
            t1 = time.perf_counter()
            try:
                folder = Path(snapshot_download(repo_id, endpoint=endpoint, cache_dir=cache_dir, token=False, **kwargs))
            except GatedRepoError:
                skipped.append(repo_id)
                t_download += time.perf_counter() - t1
                continue
            except Exception as exc:  # noqa: BLE001 - a user's script would log and go on too
                failures.append((repo_id, f"{type(exc).__name__}: {exc}"))
                t_download += time.perf_counter() - t1
                continue
            t2 = time.perf_counter()
            t_download += t2 - t1
            nodes = {}
            with store.writing():
                for path in sorted(p for p in folder.rglob("*") if p.is_file()):  # is_file follows the symlink
                    with open(path, "rb") as fh:
                        nodes[path.relative_to(folder).as_posix()] = store.add_file(fh)
                root = store.add_directory(nodes)
                store.pin(root.cid, f"model:{repo_id}")
            n_files += len(nodes)
            roots[repo_id] = str(root.cid)
            t_store += time.perf_counter() - t2
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "rss_kib": _rss_kib(),
        "workers": workers or 8,
        "listed": len(listed),
        "mirrored": len(roots),
        "skipped": len(skipped),
        "failed": len(failures),
        "failures": failures,
        "files_added": n_files,
        "seconds_download": t_download,
        "seconds_store": t_store,
        "roots": roots,
    }


def _child_main(argv: list[str]) -> int:
    way, endpoint, work, limit, workers, plan = argv
    if way == "mirror":
        result = child_mirror(endpoint, Path(work), int(limit), int(workers) or None, plan)
    else:
        result = child_naive(endpoint, Path(work), int(limit), int(workers) or None)
    result["hwm_kib"] = _hwm_kib()
    print(json.dumps(result))
    return 0


# -- the emulator, with a timestamped request log ----------------------------------------------
def _timed_emulator(corpus: list[Any], latency: float, bandwidth: float = 0.0) -> Any:
    """The emulator with ``latency`` seconds before each answer and ``bandwidth`` bytes/s for all
    bodies together (0: unlimited)."""
    from tests.hubemu import HubEmulator

    class TimedEmulator(HubEmulator):
        """``HubEmulator`` that also keeps (monotonic time, kind, method, target, status, bytes)."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.timeline: list[tuple[float, str, str, str, int, int]] = []
            self._timeline_lock = threading.Lock()

        def _record(self, request: Any, response: Any, body_bytes: int) -> None:
            super()._record(request, response, body_bytes)
            with self._timeline_lock:
                self.timeline.append(
                    (time.monotonic(), response.kind, request.method, request.target, response.status, body_bytes)
                )

        def reset_counts(self) -> None:
            super().reset_counts()
            with self._timeline_lock:
                self.timeline.clear()

    return TimedEmulator(corpus, latency=latency, bandwidth=bandwidth).start()


def _child_env(home: Path, endpoint: str) -> dict[str, str]:
    from tests.hubemu.clientenv import client_env

    env = client_env(endpoint, str(home))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


class Launcher:
    """A small process, started before the corpus is built, that starts every measured child.

    On Linux a process's ``ru_maxrss`` survives ``execve`` and a forked child starts with its
    parent's resident set as its high-water mark: children forked from this process (which holds
    the emulator and its ~100 MB corpus) would all report >= that. Forking from this launcher, which
    stays at the size of a bare interpreter, keeps each child's peak RSS its own.
    """

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--launcher"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )

    def run(self, cmd: list[str], env: dict[str, str]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"cmd": cmd, "env": env}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the launcher process died")
        return json.loads(line)

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


def _launcher_main() -> int:
    for line in sys.stdin:
        request = json.loads(line)
        try:
            proc = subprocess.run(request["cmd"], capture_output=True, text=True, env=request["env"],
                                  timeout=CHILD_TIMEOUT_S, check=False)
            answer = {"returncode": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}
        except subprocess.TimeoutExpired as exc:
            answer = {"returncode": -1, "stdout": "", "stderr": f"timed out after {exc.timeout} s"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    return 0


def _run_child(
    launcher: Launcher, way: str, emu: Any, work: Path, limit: int, workers: int | None, plan: str = "auto"
) -> dict[str, Any]:
    emu.reset_counts()
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", way, emu.endpoint, str(work), str(limit),
           str(workers or 0), plan]
    proc = launcher.run(cmd, _child_env(work / "hf-home", emu.endpoint))
    if proc["returncode"] != 0:
        raise RuntimeError(f"{way} child failed (exit {proc['returncode']}):\n{proc['stderr'][-4000:]}")
    result = json.loads(proc["stdout"].strip().splitlines()[-1])
    counts = {k: v for k, v in emu.counts.items() if v}
    result["counts"] = counts
    result["requests"] = sum(v for k, v in counts.items() if k != "429")
    result["bytes"] = emu.bytes_served
    result["bytes_by_kind"] = dict(emu.bytes_by_kind)
    timeline = list(emu.timeline)
    t_first = timeline[0][0] if timeline else 0.0
    result["timeline"] = [(round(t - t_first, 4), *rest) for t, *rest in timeline]
    return result


def _write_log(path: Path, timeline: list[list[Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fields = ("t", "kind", "method", "target", "status", "bytes")
    with open(path, "w") as fh:
        fh.writelines(json.dumps(dict(zip(fields, row))) + "\n" for row in timeline)


# -- report ------------------------------------------------------------------------------------
def _kinds(counts: dict[str, int]) -> str:
    order = ("list", "info", "tree", "paths_info", "refs", "commits", "resolve_head", "resolve_get",
             "cdn_head", "cdn_get", "other", "429")
    parts = [f"{k} {counts[k]}" for k in order if counts.get(k)]
    return ", ".join(parts) or "none"


def _ratio(a: float, b: float) -> str:
    if b == 0:
        return "n/a" if a == 0 else "inf"
    return f"{a / b:.2f}"


def _profile_line(r: dict[str, Any], latency: float) -> str:
    """Requests in flight on average = sum of per-request latency / wall (latency-bound share)."""
    n = r["requests"]
    busy = n * latency
    span = r["timeline"][-1][0] if r["timeline"] else 0.0
    return (f"{n} requests x {latency * 1000:.0f} ms = {busy:.2f} s of pure latency in {r['seconds']:.2f} s wall "
            f"(avg {busy / r['seconds']:.2f} in flight; first-to-last request {span:.2f} s)")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return _child_main(argv[1:])
    if argv[:1] == ["--launcher"]:
        return _launcher_main()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repos", type=int, default=30, help="synthetic models in the corpus (build_corpus(n_models=))")
    parser.add_argument("--no-minilm", action="store_true", help="leave the real all-MiniLM-L6-v2 out of the corpus")
    parser.add_argument("--limit", type=int, default=None, help="top trending repos each way mirrors (default: --repos)")
    parser.add_argument("--latency", type=float, default=0.03, help="seconds the emulator sleeps before each answer")
    parser.add_argument("--bandwidth-mb", type=float, default=50.0,
                        help="MB/s the emulator sends, every body together (0: unlimited)")
    parser.add_argument("--workers", type=int, default=None, help="mirror workers (default: the config's scrape.workers)")
    parser.add_argument("--naive-workers", type=int, default=None,
                        help="snapshot_download max_workers (default: its own default, 8)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per way; the fastest first run and rerun are reported")
    parser.add_argument("--ways", default="mirror,naive", help="comma-separated subset of mirror,naive")
    parser.add_argument("--workdir", default=None, help="where outputs go (default: a temp dir, removed at the end)")
    parser.add_argument("--log", default=None, help="write each run's request timeline as JSON lines into this folder")
    parser.add_argument("--json", default=None, help="also write every measured number into this JSON file")
    args = parser.parse_args(argv)
    limit = args.limit or args.repos
    ways = [w for w in args.ways.split(",") if w]
    if not ways or any(w not in WAYS for w in ways):
        parser.error("--ways takes mirror, naive or both")

    command = shlex.join(["python", os.path.relpath(__file__, os.getcwd()), *argv])
    print(f"$ {command}")
    print()

    launcher = Launcher()  # before the corpus exists: see Launcher
    from tests.hubemu import MINILM_ID, build_corpus

    corpus = build_corpus(n_models=args.repos, with_real_minilm=not args.no_minilm)
    has_minilm = any(r.id == MINILM_ID for r in corpus)
    emu = _timed_emulator(corpus, args.latency, args.bandwidth_mb * 1e6)
    work_root = Path(args.workdir or tempfile.mkdtemp(prefix="hfipfs-bench-mirror-"))
    work_root.mkdir(parents=True, exist_ok=True)
    best: dict[tuple[str, str], dict[str, Any]] = {}
    try:
        for rep in range(args.repeat):
            for way in ways:
                work = work_root / f"{way}-{rep}"
                shutil.rmtree(work, ignore_errors=True)
                work.mkdir(parents=True)
                workers = args.workers if way == "mirror" else args.naive_workers
                for run in RUNS:
                    result = _run_child(launcher, way, emu, work, limit, workers)
                    print(f"  [{rep + 1}/{args.repeat}] {way:6} {run:5}: {result['seconds']:.2f} s, "
                          f"{result['requests']} requests, {result['bytes'] / 1e6:.1f} MB, "
                          f"RSS {result['rss_kib'] / 1024:.0f} MB (VmHWM {result['hwm_kib'] / 1024:.0f})", file=sys.stderr)
                    if args.log:
                        _write_log(Path(args.log) / f"{way}-{run}-{rep + 1}.jsonl", result["timeline"])
                    key = (way, run)
                    if key not in best or result["seconds"] < best[key]["seconds"]:
                        best[key] = result
                shutil.rmtree(work, ignore_errors=True)
    finally:
        emu.stop()
        launcher.close()
        if args.workdir is None:
            shutil.rmtree(work_root, ignore_errors=True)

    n_public = sum(1 for r in corpus if r.type == "model" and not r.private)
    print(f"corpus: build_corpus(n_models={args.repos}) "
          f"({'with' if has_minilm else 'WITHOUT'} the real {MINILM_ID}; {n_public} public models), "
          f"latency {args.latency * 1000:.0f} ms/request, bandwidth "
          f"{f'{args.bandwidth_mb:g} MB/s' if args.bandwidth_mb else 'unlimited'}, --limit {limit}, best of {args.repeat}, "
          f"{os.cpu_count()} cores, Python {sys.version.split()[0]}")
    for way in ways:
        r = best[(way, "first")]
        if way == "mirror":
            print(f"mirror: Mirror(config).scrape_models(limit={limit}, workers={r['workers']}), default embedded "
                  f"store; first run: {r['mirrored']} mirrored, {r['skipped']} skipped (gated), {r['failed']} failed")
        else:
            print(f"naive: list_models + sequential snapshot_download (max_workers={r['workers']} per repo) + "
                  f"EmbeddedStore.add_file per file; first run: {r['mirrored']} mirrored, {r['skipped']} skipped "
                  f"(GatedRepoError), {r['failed']} failed")
        for rid, why in r["failures"]:
            print(f"  FAILED {way} {rid}: {why}")
    print()
    print("| way | run | wall (s) | repos/s | requests | per repo | requests by kind | MB downloaded | peak RSS (MB) |")
    print("|---|---|---:|---:|---:|---:|---|---:|---:|")
    for way in ways:
        for run in RUNS:
            r = best[(way, run)]
            listed = r["listed"] or 1
            print(f"| {way} | {run} | {r['seconds']:.2f} | {r['listed'] / r['seconds']:.1f} | {r['requests']} | "
                  f"{r['requests'] / listed:.2f} | {_kinds(r['counts'])} | {r['bytes'] / 1e6:.1f} | "
                  f"{r['rss_kib'] / 1024:.0f} |")
    if set(ways) == set(WAYS):
        print()
        print("| mirror / naive | wall | repos/s | requests | MB downloaded | peak RSS |")
        print("|---|---:|---:|---:|---:|---:|")
        for run in RUNS:
            m, n = best[("mirror", run)], best[("naive", run)]
            print(f"| {run} | {_ratio(m['seconds'], n['seconds'])} | "
                  f"{_ratio(m['listed'] / m['seconds'], n['listed'] / n['seconds'])} | "
                  f"{_ratio(m['requests'], n['requests'])} | {_ratio(m['bytes'], n['bytes'])} | "
                  f"{_ratio(m['rss_kib'], n['rss_kib'])} |")
        # Same bytes in, same CIDs out: the naive roots must equal the mirror's.
        mr, nr = best[("mirror", "first")]["roots"], best[("naive", "first")]["roots"]
        differ = sorted(k for k in set(mr) | set(nr) if mr.get(k) != nr.get(k))
        print()
        print(f"root CIDs: {len(set(mr) & set(nr)) - len([k for k in differ if k in mr and k in nr])} repos "
              f"identical both ways" + (f"; DIFFERENT or missing on one side: {', '.join(differ)}" if differ else ""))
        print()
        print("Targets (issue 3; reported, never asserted):")
        mf, nf = best[("mirror", "first")], best[("naive", "first")]
        speedup = nf["seconds"] / mf["seconds"]
        req_ratio = mf["requests"] / nf["requests"] if nf["requests"] else float("inf")
        rerun = best[("mirror", "rerun")]["counts"]
        extra = {k: v for k, v in rerun.items() if k != "list"}
        print(f"  {'PASS' if speedup >= 2 else 'FAIL'}  first run >= 2x faster than naive: {speedup:.2f}x")
        print(f"  {'PASS' if req_ratio <= 0.6 else 'FAIL'}  first run <= 0.6x the naive requests: {req_ratio:.2f}x "
              f"({mf['requests']} vs {nf['requests']})")
        print(f"  {'PASS' if not extra else 'FAIL'}  unchanged rerun sends only listing pages: "
              f"{_kinds(rerun)}" + (f" (extra: {extra})" if extra else ""))
    print()
    print(f"The bound (the least any client could take: every byte through the link, and a listing, a tree and "
          f"a download one after another, {BOUND_ROUND_TRIPS} x latency):")
    for way in ways:
        for run in RUNS:
            r = best[(way, run)]
            bound = _bound(r, args.latency, args.bandwidth_mb)
            print(f"  {way} {run}: {r['seconds']:.2f} s = {r['seconds'] / bound:.2f}x the bound ({bound:.2f} s)")
    print()
    print("Where the time goes (requests x latency vs wall):")
    for way in ways:
        for run in RUNS:
            r = best[(way, run)]
            line = f"  {way} {run}: {_profile_line(r, args.latency)}"
            if way == "naive":
                line += f"; snapshot_download {r['seconds_download']:.2f} s, store adds {r['seconds_store']:.2f} s"
            print(line)
    if args.json:
        with open(args.json, "w") as fh:
            numbers: dict[str, Any] = {f"{w}/{r}": {k: v for k, v in best[(w, r)].items() if k != "timeline"}
                                       for w, r in best}
            numbers["setup"] = {"latency_s": args.latency, "bandwidth_mb_s": args.bandwidth_mb, "limit": limit,
                                "bound_s": {f"{w}/{r}": _bound(best[(w, r)], args.latency, args.bandwidth_mb)
                                            for w, r in best}}
            json.dump(numbers, fh, indent=1)
    return 0


def _bound(r: dict[str, Any], latency: float, bandwidth_mb: float) -> float:
    """Seconds no client can beat on this emulator: the bytes it sent through the link, and at
    least a listing, a tree and a download one after another."""
    return max(r["bytes"] / (bandwidth_mb * 1e6) if bandwidth_mb else 0.0, BOUND_ROUND_TRIPS * latency)


def headline(numbers: dict[str, Any]) -> list[Row]:
    """Issue 3's targets: first run >= 2x faster and <= 0.6x the requests; a rerun only lists."""
    m, n, rerun = numbers["mirror/first"], numbers["naive/first"], numbers["mirror/rerun"]
    naive = f"snapshot_download + add {n['seconds']:.2f} s"
    setup = numbers["setup"]
    bound = setup["bound_s"]["mirror/first"]
    link = f"{setup['bandwidth_mb_s']:g} MB/s" if setup["bandwidth_mb_s"] else "unlimited"
    return [
        Row("mirror", f"first mirror, wall vs the bound ({link}, {setup['latency_s'] * 1000:.0f} ms a request)",
            f"{m['seconds']:.2f} s", f"bound {bound:.2f} s", m["seconds"] / bound),
        Row("mirror", f"first mirror of {m['listed']} trending repos, wall", f"{m['seconds']:.2f} s", naive,
            m["seconds"] / n["seconds"], "≤ 0.5×", m["seconds"] <= 0.5 * n["seconds"]),
        Row("mirror", "first mirror, repos/s", f"{m['mirrored'] / m['seconds']:.1f}",
            f"naive {n['mirrored'] / n['seconds']:.1f}", (m["mirrored"] / m["seconds"]) / (n["mirrored"] / n["seconds"])),
        Row("mirror", "first mirror, requests", f"{m['requests']} ({m['requests'] / max(1, m['mirrored']):.1f}/repo)",
            f"naive {n['requests']}", m["requests"] / n["requests"], "≤ 0.6×", m["requests"] <= 0.6 * n["requests"]),
        Row("mirror", "first mirror, MB downloaded", f"{m['bytes'] / 1e6:.1f}", f"naive {n['bytes'] / 1e6:.1f}",
            m["bytes"] / n["bytes"]),
        Row("mirror", "first mirror, peak RSS", f"{m['hwm_kib'] / 1024:.0f} MB", f"naive {n['hwm_kib'] / 1024:.0f} MB",
            m["hwm_kib"] / n["hwm_kib"]),
        Row("mirror", "unchanged rerun, requests", _kinds(rerun["counts"]),
            f"naive {numbers['naive/rerun']['requests']}", rerun["requests"] / numbers["naive/rerun"]["requests"],
            "the listing only", set(rerun["counts"]) == {"list"}),
    ]


if __name__ == "__main__":
    sys.exit(main())
