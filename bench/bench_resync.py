"""Benchmark: an incremental resync after 5 % of the repos changed, vs a full resync of the same Hub.

    python bench/bench_resync.py                 # = --repos 200 --lfs-max-kib 4096 --changed 0.05 --latency 0.03

One Hub emulator (``tests/hubemu``, in this process, ``latency`` seconds of sleep before every
answer) holds ``--repos`` synthetic models (``build_corpus``; gated and private flags cleared so
every repo is mirrored; their LFS files log-uniform up to ``--lfs-max-kib``). Three runs of
``Mirror(config).scrape_models(limit=repos)``, each in its own child process (bench_mirror's
children and launcher):

1. **first**: the mirror of all repos into an empty output directory (setup);
2. then ``--changed`` of the repos get new commits on the running emulator: new bytes for
   ``model.safetensors`` (same size, LFS) and one added ``eval_results.json``. The repos are an
   even pick over the corpus ordered by size (a random few of heavy-tailed sizes can carry two or
   three times their share of the bytes), so the changed bytes are about that share too;
   **incremental**: the same mirror again over the same output directory — the state store's sha
   compare on the listing picks the changed repos, and their unchanged files reuse stored CIDs;
3. **full**: the same mirror of the same changed Hub into a fresh output directory — what a resync
   costs without the state store (the mirror has no "force" mode: this is the same cost).

Requests are the emulator's counters by kind, MB downloaded every body byte it sent (listing
included); wall is measured in the child around the work. The limiter runs the plan ``--plan``
(default ``auto``: anonymous, as ``sync`` without a token): its api quota (500 per 5 min, bursts of
100) paces a run of more tree requests than that, as the real Hub would make it; ``--plan pro``
shows the unpaced wall. Checked (exit status 1 when not): the incremental run re-mirrors exactly
the changed repos, downloads exactly their changed files' bytes, and ends with every root CID equal
to the full resync's (changed repos' roots new, others kept).
Targets (issue 11: a resync costs about what changed) are reported, never asserted on timings.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import shlex
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from _child import write_numbers
from _table import Row
from bench_mirror import Launcher, _kinds, _ratio, _run_child, _timed_emulator

QUICK = ["--repos", "40", "--lfs-max-kib", "256"]
FULL = ["--repos", "200", "--lfs-max-kib", "4096"]
RUNS = ("first", "incremental", "full")
TARGET = 0.1  # incremental ≤ 0.1× the full resync's requests and bytes: 5 % changed plus the listing
CHANGED_FILE = "model.safetensors"
ADDED_FILE = "eval_results.json"


def _corpus(repos: int, lfs_max: int, seed: int) -> list[Any]:
    """Synthetic models only, all mirrorable: a gated or private repo costs nothing either way."""
    from tests.hubemu import build_corpus

    built = build_corpus(n_models=repos, seed=seed, with_real_minilm=False, n_datasets=0, n_spaces=0,
                         lfs_max_size=lfs_max)
    return [dataclasses.replace(r, gated=False, private=False) for r in built]


def _pick(roots: dict[str, str], corpus: list[Any], fraction: float) -> list[str]:
    """``fraction`` of the mirrored repos, evenly spread over them ordered by size: the middle
    one of each of k equal slices."""
    sizes = {r.id: sum(f.size for f in r.files) for r in corpus}
    ordered = sorted(roots, key=lambda repo_id: (sizes[repo_id], repo_id))
    k = max(1, round(fraction * len(ordered)))
    return sorted(ordered[int((j + 0.5) * len(ordered) / k)] for j in range(k))


def _change(emu: Any, repo_ids: list[str], seed: int) -> dict[str, dict[str, Any]]:
    """New commits on each repo: new weights of the same size, one small file added. Returns, per
    repo, the new sha and the bytes an incremental run must download (those two files)."""
    from tests.hubemu.corpus import safetensors_bytes

    changed = {}
    for repo_id in repo_ids:
        rng = random.Random(f"{seed}:resync:{repo_id}")
        weights = safetensors_bytes(rng, emu.repo(repo_id).file(CHANGED_FILE).size)
        results = (json.dumps({"repo": repo_id, "accuracy": round(rng.random(), 6)}) + "\n").encode()
        emu.update_file(repo_id, CHANGED_FILE, weights, lfs=True)
        sha = emu.update_file(repo_id, ADDED_FILE, results)
        changed[repo_id] = {"sha": sha, "bytes": len(weights) + len(results)}
    return changed


def _checks(runs: dict[str, dict[str, Any]], changed: dict[str, dict[str, Any]]) -> dict[str, bool]:
    """What makes the incremental run correct, not only cheap."""
    first, inc, full = (runs[r] for r in RUNS)
    unchanged = set(first["roots"]) - set(changed)
    return {
        "remirrored_only_changed": (inc["mirrored"], inc["unchanged"]) == (len(changed), len(unchanged)),
        "downloaded_only_changed_files": (inc["files_downloaded"], inc["bytes_downloaded"])
        == (2 * len(changed), sum(c["bytes"] for c in changed.values())),
        "roots_equal_full_resync": inc["roots"] == full["roots"] and len(full["roots"]) == len(first["roots"]),
        "changed_roots_new": all(inc["roots"][r] != first["roots"][r] for r in changed),
        "unchanged_roots_kept": all(inc["roots"][r] == first["roots"][r] for r in unchanged),
    }


def _report(numbers: dict[str, Any], out: Any) -> None:
    runs, corpus = numbers["runs"], numbers["corpus"]
    print(f"corpus: {corpus['repos']} synthetic models, {corpus['files']} files, {corpus['mb']:.1f} MB "
          f"(LFS files up to {corpus['lfs_max_kib']} KiB); {len(numbers['changed'])} changed "
          f"({numbers['fraction']:.0%}): new {CHANGED_FILE} + added {ADDED_FILE}, "
          f"{numbers['changed_mb']:.2f} MB; latency {numbers['latency'] * 1000:.0f} ms/request, "
          f"{runs['first']['workers']} workers, {os.cpu_count()} cores, Python {sys.version.split()[0]}", file=out)
    print(file=out)
    print("| way | wall (s) | requests | requests by kind | MB downloaded | repos mirrored |", file=out)
    print("|---|---:|---:|---|---:|---:|", file=out)
    labels = {"first": "first mirror (setup)", "incremental": "incremental resync (same output dir)",
              "full": "full resync (fresh output dir, baseline)"}
    for run in RUNS:
        r = runs[run]
        print(f"| {labels[run]} | {r['seconds']:.2f} | {r['requests']} | {_kinds(r['counts'])} | "
              f"{r['bytes'] / 1e6:.2f} | {r['mirrored']} of {r['listed']} |", file=out)
    inc, full = runs["incremental"], runs["full"]
    print(file=out)
    print("| incremental / full | wall | requests | MB downloaded |", file=out)
    print("|---|---:|---:|---:|", file=out)
    print(f"| ratio | {_ratio(inc['seconds'], full['seconds'])} | {_ratio(inc['requests'], full['requests'])} | "
          f"{_ratio(inc['bytes'], full['bytes'])} |", file=out)
    print(file=out)
    listing = inc["bytes_by_kind"].get("list", 0)
    print(f"incremental: {inc['files_downloaded']} files downloaded ({inc['bytes_downloaded'] / 1e6:.2f} MB of "
          f"content), {inc['files_reused']} reused; the listing page{'s' if inc['counts'].get('list', 0) > 1 else ''} "
          f"{listing / 1e6:.2f} MB of the {inc['bytes'] / 1e6:.2f} MB", file=out)
    api = ", ".join(f"{run} {runs[run]['counts'].get('list', 0) + runs[run]['counts'].get('tree', 0)}" for run in RUNS)
    print(f"hub.plan {numbers['plan']}: api quota {numbers['api_quota']} / 5 min, and what passes the limiter's "
          f"burst is spread over the window, as on the real Hub; api requests (listing + trees): {api}", file=out)
    print("Checks:", file=out)
    for name, ok in numbers["checks"].items():
        print(f"  {'PASS' if ok else 'FAIL'}  {name.replace('_', ' ')}", file=out)
    print("Targets (issue 11: a resync costs what changed; reported, never asserted):", file=out)
    for row in headline(numbers):
        if row.met is not None:
            print(f"  {'PASS' if row.met else 'FAIL'}  {row.measure}: {row.ratio:.3f}x the full resync "
                  f"(target {row.target})", file=out)


def headline(numbers: dict[str, Any]) -> list[Row]:
    """Requests, bytes and wall of the incremental resync, each next to the full resync's."""
    inc, full = numbers["runs"]["incremental"], numbers["runs"]["full"]
    pct = f"{numbers['fraction']:.0%} changed"
    rows = []
    for measure, key, unit, scale, target in (
        ("requests", "requests", " requests", 1.0, f"≤ {TARGET}× full"),
        ("MB downloaded", "bytes", " MB", 1e6, f"≤ {TARGET}× full"),
        ("wall", "seconds", " s", 1.0, ""),
    ):
        value, base = inc[key] / scale, full[key] / scale
        ratio = value / base if base else None
        digits = 0 if key == "requests" else 2
        rows.append(Row(
            area="resync", measure=f"incremental resync {measure} ({pct})", value=f"{value:.{digits}f}{unit}",
            baseline=f"full resync {base:.{digits}f}{unit}", ratio=ratio, target=target,
            met=(ratio is not None and ratio <= TARGET) if target else None,
        ))
    return rows


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repos", type=int, default=200, help="synthetic models in the corpus, all mirrored")
    parser.add_argument("--lfs-max-kib", type=int, default=4096, help="largest synthetic LFS file (build_corpus)")
    parser.add_argument("--changed", type=float, default=0.05, help="share of the repos given a new commit")
    parser.add_argument("--latency", type=float, default=0.03, help="seconds the emulator sleeps before each answer")
    parser.add_argument("--workers", type=int, default=None, help="mirror workers (default: scrape.workers)")
    parser.add_argument("--plan", default="auto", choices=("auto", "anonymous", "free", "pro"),
                        help="the mirror's hub.plan (auto = anonymous: no token)")
    parser.add_argument("--seed", type=int, default=0, help="corpus and the changed files' new bytes")
    parser.add_argument("--workdir", default=None, help="where outputs go (default: a temp dir, removed at the end)")
    parser.add_argument("--json", default=None, help="write every measured number into this file (- = stdout)")
    args = parser.parse_args(argv)
    out = sys.stderr if args.json == "-" else sys.stdout
    print(f"$ {shlex.join(['python', os.path.relpath(__file__, os.getcwd()), *argv])}\n", file=out)

    launcher = Launcher()  # before the corpus exists: children's peak RSS stays their own
    corpus = _corpus(args.repos, args.lfs_max_kib << 10, args.seed)
    emu = _timed_emulator(corpus, args.latency)
    work_root = Path(args.workdir or tempfile.mkdtemp(prefix="hfipfs-bench-resync-"))
    runs: dict[str, dict[str, Any]] = {}

    def mirror(run: str, work: Path) -> None:
        result = _run_child(launcher, "mirror", emu, work, args.repos, args.workers, args.plan)
        del result["timeline"]
        runs[run] = result
        print(f"  {run:11}: {result['seconds']:.2f} s, {result['requests']} requests, "
              f"{result['bytes'] / 1e6:.2f} MB, {result['mirrored']} mirrored, {result['failed']} failed",
              file=sys.stderr)

    try:
        incremental, full = work_root / "incremental", work_root / "full"
        for work in (incremental, full):
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
        mirror("first", incremental)
        changed = _change(emu, _pick(runs["first"]["roots"], corpus, args.changed), args.seed)
        mirror("incremental", incremental)  # the same output directory: its state store
        mirror("full", full)  # a fresh one: no state store
    finally:
        emu.stop()
        launcher.close()
        if args.workdir is None:
            shutil.rmtree(work_root, ignore_errors=True)

    from hf_ipfs_scraper.ratelimit import PLANS

    plan = "anonymous" if args.plan == "auto" else args.plan  # auto without a token
    numbers: dict[str, Any] = {
        "corpus": {"repos": len(corpus), "files": sum(len(r.files) for r in corpus),
                   "mb": sum(f.size for r in corpus for f in r.files) / 1e6, "lfs_max_kib": args.lfs_max_kib},
        "latency": args.latency,
        "plan": plan,
        "api_quota": PLANS[plan]["api"],
        "fraction": len(changed) / len(runs["first"]["roots"]),
        "changed": changed,
        "changed_mb": sum(c["bytes"] for c in changed.values()) / 1e6,
        "runs": runs,
        "ratios": {key: runs["incremental"][key] / runs["full"][key] for key in ("seconds", "requests", "bytes")},
    }
    numbers["checks"] = _checks(runs, changed)
    _report(numbers, out)
    if args.json:
        write_numbers(numbers, args.json)
    return 0 if all(numbers["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
