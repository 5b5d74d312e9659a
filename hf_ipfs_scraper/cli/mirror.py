"""``models``, ``status``, ``trending``, ``sync``: the mirror's commands, each one core call.

Exit codes: 0 the run completed (skipped repos are fine), 3 it completed but some repos failed,
1 the run could not happen (listing failed, store locked...), 2 bad usage/config, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from ..config import Config
from ..errors import InvalidInputError, StoreError
from ..mirror import Mirror
from ..pipeline import RunSummary
from ..records import REPO_TYPES
from ..state import StateStore

EXIT_RUN_FAILED = 1
EXIT_SOME_FAILED = 3


def _scrape_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", type=int, help="how many top trending repos (default: scrape.limit)")
    parser.add_argument("--workers", type=int, help="repos mirrored in parallel (default: scrape.workers)")
    parser.add_argument("--token", help="Hub token (default: HF_TOKEN)")
    parser.add_argument("--include", action="append", metavar="GLOB", help="keep only matching files (repeatable)")
    parser.add_argument("--exclude", action="append", metavar="GLOB", help="leave out matching files (repeatable)")
    parser.add_argument("--max-file-size", metavar="SIZE", help="leave out files larger than this, e.g. 2GB")


def register(groups: Any) -> None:
    models = groups.add_parser(
        "models", help="mirror the top trending models into IPFS", epilog="example: hf-ipfs-scraper models --limit 10"
    )
    _scrape_flags(models)
    models.add_argument("--no-progress", action="store_true", help="no progress bars")
    models.set_defaults(run=_models, overrides=_overrides)

    sync = groups.add_parser(
        "sync", help="mirror periodically (each run records a trending snapshot)",
        epilog="example: hf-ipfs-scraper sync --every 24h   (or cron: 0 3 * * * hf-ipfs-scraper models)",
    )
    _scrape_flags(sync)
    sync.add_argument("--every", metavar="DURATION", help="interval, e.g. 24h, 30m (default: sync.every)")
    sync.add_argument("--runs", type=int, help="stop after this many runs (default: run until interrupted)")
    sync.set_defaults(run=_sync, overrides=_overrides, no_progress=True)

    status = groups.add_parser("status", help="runs and repo counts by status")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(run=_status)

    trending = groups.add_parser("trending", help="the ranked list a run recorded")
    trending.add_argument("--type", default="model", choices=REPO_TYPES)
    trending.add_argument("--run", type=int, dest="run_id", metavar="ID", help="run id (default: the latest)")
    trending.add_argument("--json", action="store_true", help="machine-readable output")
    trending.set_defaults(run=_trending)


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "scrape.limit": args.limit,
        "scrape.workers": args.workers,
        "hub.token": args.token,
        "filters.include": args.include,
        "filters.exclude": args.exclude,
        "filters.max_file_size": args.max_file_size,
        "sync.every": getattr(args, "every", None),
    }


@contextmanager
def _progress(enabled: bool) -> Iterator[Any]:
    """tqdm bars for repos and bytes on an interactive terminal; nothing otherwise."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    repos = tqdm(desc="repos", unit="repo", position=0, leave=True)
    data = tqdm(desc="download", unit="B", unit_scale=True, position=1, leave=True)

    def update(kind: str, info: dict[str, Any]) -> None:
        if kind == "start":
            repos.reset(total=int(info["repos"]))
        elif kind == "repo":
            repos.update(1)
        elif kind == "bytes":
            data.update(int(info["n"]))

    try:
        yield update
    finally:
        repos.close()
        data.close()


def _when(epoch: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch)) if epoch else "-"


def _exit_code(summary: RunSummary) -> int:
    if summary.error is not None:
        return EXIT_RUN_FAILED
    return EXIT_SOME_FAILED if summary.failed else 0


def _models(args: argparse.Namespace, config: Config) -> int:
    with _progress(not args.no_progress) as progress, Mirror(config, progress=progress) as mirror:
        summary = mirror.scrape_models()
    print(summary)
    return _exit_code(summary)


def _sync(args: argparse.Namespace, config: Config) -> int:
    def report(summary: RunSummary) -> None:  # as each run ends: a sync may run for days
        print(summary, flush=True)

    with Mirror(config) as mirror:
        summaries = mirror.sync(runs=args.runs, on_run=report)
    codes = {_exit_code(s) for s in summaries}
    return EXIT_RUN_FAILED if EXIT_RUN_FAILED in codes else max(codes, default=0)


def _state_path(config: Config) -> Path:
    path = config.output_dir / "state.sqlite"
    if not path.exists():
        raise StoreError(f"no mirror state in {config.output_dir} yet (run `hf-ipfs-scraper models` first)")
    return path


def _status(args: argparse.Namespace, config: Config) -> int:
    with StateStore(_state_path(config)) as state:
        runs = state.runs(limit=10)
        counts = {t: state.counts(t) for t in REPO_TYPES}
    if args.json:
        print(json.dumps({"runs": [r.as_dict() for r in runs], "entities": counts}, indent=2, default=str))
        return 0
    for repo_type, by_status in counts.items():
        if by_status:
            print(f"{repo_type}s: " + ", ".join(f"{k} {v}" for k, v in sorted(by_status.items())))
    for run in runs:
        print(f"run {run.id} {run.key} {run.status} started {_when(run.started_at)} ended {_when(run.ended_at)}")
    return 0


def _trending(args: argparse.Namespace, config: Config) -> int:
    with StateStore(_state_path(config)) as state:
        rows = state.trending(args.type, args.run_id)
    if not rows and args.run_id is not None:
        raise InvalidInputError(f"run {args.run_id} recorded no trending list of {args.type}s")
    if not rows:
        raise StoreError(f"no run recorded a trending list of {args.type}s in {config.output_dir} yet")
    if args.json:
        print(json.dumps([r.as_dict() for r in rows], indent=2, default=str))
        return 0
    for row in rows:
        score = "-" if row.trending_score is None else f"{row.trending_score:g}"  # stored as REAL: 50, not 50.0
        print(f"{row.rank:>4}  {row.id}  score={score}  likes={row.likes}  downloads={row.downloads}")
    return 0


