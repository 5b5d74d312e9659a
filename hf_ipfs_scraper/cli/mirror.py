"""``models``, ``datasets``, ``spaces``, ``all``, ``sync``, ``status``, ``trending``: the mirror's
commands, each one core call (``status`` and ``trending`` read through the read-only ``Catalog``).

Exit codes: 0 the run completed (skipped repos are fine), 3 it completed but some repos failed,
1 the run could not happen (listing failed, store locked...), 2 bad usage/config, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator

from ..config import BACKENDS, REPO_KINDS, Config
from ..errors import InvalidInputError, StoreError
from ..state.keys import ENTITY_TYPES

if TYPE_CHECKING:  # the Hub client and the rest load only in the commands that use them
    from ..mirror import Mirror
    from ..pipeline import ProgressEvent, RunSummary

EXIT_RUN_FAILED = 1
EXIT_SOME_FAILED = 3


def _scrape_flags(parser: argparse.ArgumentParser, *, limit: bool = True) -> None:
    if limit:
        parser.add_argument("--limit", type=int, help="how many top trending repos (default: scrape.limit)")
    parser.add_argument("--workers", type=int, help="repos mirrored in parallel (default: scrape.workers)")
    parser.add_argument("--token", help="Hub token (default: HF_TOKEN)")
    parser.add_argument("--include", action="append", metavar="GLOB", help="keep only matching files (repeatable)")
    parser.add_argument("--exclude", action="append", metavar="GLOB", help="leave out matching files (repeatable)")
    parser.add_argument("--max-file-size", metavar="SIZE", help="leave out files larger than this, e.g. 2GB")
    parser.add_argument("--backend", choices=BACKENDS, help="where to pin: embedded store, Kubo, IPFS Cluster (storage.backend)")
    parser.add_argument("--kubo-api", metavar="ADDR", help="Kubo RPC, e.g. /ip4/127.0.0.1/tcp/5001 (kubo.api, KUBO_API_URL)")
    parser.add_argument("--cluster-api", metavar="URL", help="IPFS Cluster REST API, e.g. http://127.0.0.1:9094 (cluster.api)")
    parser.add_argument("--shard", metavar="I/N", help="mirror only this machine's share, e.g. 1/3 (scrape.shard)")
    parser.add_argument("--no-snapshot", action="store_true", help="no archive snapshot after the run")
    parser.add_argument("--publish", metavar="KEY", help="point the IPNS name of this Kubo key at the new snapshot")


def parse_types(text: str) -> list[str]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [t for t in names if t not in REPO_KINDS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of {', '.join(REPO_KINDS)}")
    return names


def register(groups: Any) -> None:
    for kind in REPO_KINDS:
        parser = groups.add_parser(
            kind, help=f"mirror the top trending {kind} into IPFS", epilog=f"example: hf-ipfs-scraper {kind} --limit 10"
        )
        _scrape_flags(parser)
        if kind == "datasets":
            parser.add_argument("--full", action="store_true", default=None,
                                help="every file, not the default sample (datasets.full)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bars")
        parser.set_defaults(run=_one_type, repo_type=kind[:-1], overrides=_overrides)

    every = groups.add_parser(
        "all", help="mirror models, datasets and Spaces at once, sharing one rate limiter",
        epilog="example: hf-ipfs-scraper all --models 10 --datasets 5 --spaces 5",
    )
    _scrape_flags(every, limit=False)
    for kind in REPO_KINDS:
        every.add_argument(f"--{kind}", type=int, metavar="N", help=f"top N trending {kind} (default: scrape.limit; 0: none)")
    every.add_argument("--full", action="store_true", default=None, help="every file of each dataset (datasets.full)")
    every.set_defaults(run=_all, overrides=_overrides)

    sync = groups.add_parser(
        "sync", help="mirror periodically (each run records a trending snapshot)",
        epilog="example: hf-ipfs-scraper sync --every 24h --types models,datasets   (or cron: 0 3 * * * hf-ipfs-scraper models)",
    )
    _scrape_flags(sync)
    sync.add_argument("--types", type=parse_types, metavar="TYPES", help="e.g. models,datasets,spaces (default: sync.types)")
    sync.add_argument("--every", metavar="DURATION", help="interval, e.g. 24h, 30m (default: sync.every)")
    sync.add_argument("--runs", type=int, help="stop after this many rounds (default: run until interrupted)")
    sync.set_defaults(run=_sync, overrides=_overrides, no_progress=True)

    status = groups.add_parser("status", help="runs and repo counts by status")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(run=_status)

    trending = groups.add_parser("trending", help="the ranked list a run recorded")
    trending.add_argument("--type", default="model", choices=ENTITY_TYPES, help="repo type (default: model)")
    trending.add_argument("--run", type=int, dest="run_id", metavar="ID", help="run id (default: the latest)")
    trending.add_argument("--json", action="store_true", help="machine-readable output")
    trending.set_defaults(run=_trending)


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "scrape.limit": getattr(args, "limit", None),
        "scrape.workers": args.workers,
        "hub.token": args.token,
        "filters.include": args.include,
        "filters.exclude": args.exclude,
        "filters.max_file_size": args.max_file_size,
        "sync.every": getattr(args, "every", None),
        "sync.types": getattr(args, "types", None),
        "datasets.full": getattr(args, "full", None),
        "scrape.shard": args.shard,
        "storage.backend": args.backend,
        "kubo.api": args.kubo_api,
        "cluster.api": args.cluster_api,
    }


@contextmanager
def _progress(enabled: bool) -> Iterator[Any]:
    """tqdm bars for repos and bytes on an interactive terminal; nothing otherwise."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    from ..pipeline import BytesReceived, RepoFinished, RunStarted

    repos = tqdm(desc="repos", unit="repo", position=0, leave=True)
    data = tqdm(desc="download", unit="B", unit_scale=True, position=1, leave=True)

    def update(event: ProgressEvent) -> None:
        if isinstance(event, RunStarted):
            repos.reset(total=event.repos)
        elif isinstance(event, RepoFinished):
            repos.update(1)
        elif isinstance(event, BytesReceived):
            data.update(event.n)

    try:
        yield update
    finally:
        repos.close()
        data.close()


_FAILED_SHOWN = 20


def _when(epoch: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch)) if epoch else "-"


def _exit_code(summary: RunSummary) -> int:
    if summary.error is not None:
        return EXIT_RUN_FAILED
    return EXIT_SOME_FAILED if summary.failed else 0


def _snapshot(args: argparse.Namespace, mirror: Mirror, summaries: list[RunSummary]) -> None:
    """After the runs, one CID for the archive (unless a run could not happen, or told not to)."""
    if args.no_snapshot or any(s.error is not None for s in summaries):
        return
    row = mirror.snapshot(publish=args.publish)
    published = f", published as /ipns/{row.published}" if row.published else ""
    print(f"snapshot {row.id}: {row.cid} ({row.repos} repos){published}", flush=True)


def _check_publish(args: argparse.Namespace, config: Config) -> None:
    if args.publish and config.storage_backend != "kubo":
        raise InvalidInputError("--publish needs the Kubo backend (--backend kubo)")


def _one_type(args: argparse.Namespace, config: Config) -> int:
    from ..mirror import Mirror

    _check_publish(args, config)
    with _progress(not args.no_progress) as progress, Mirror(config, progress=progress) as mirror:
        summary = mirror.scrape(args.repo_type)
        if summary.error is not None:  # the run could not happen: one line, as for any expected failure
            print(f"Error: {summary.error}", file=sys.stderr)
            return EXIT_RUN_FAILED
        print(summary, flush=True)
        _snapshot(args, mirror, [summary])
    return _exit_code(summary)


def _worst(summaries: list[RunSummary]) -> int:
    codes = {_exit_code(s) for s in summaries}
    return EXIT_RUN_FAILED if EXIT_RUN_FAILED in codes else max(codes, default=0)


def _all(args: argparse.Namespace, config: Config) -> int:
    given = {kind[:-1]: getattr(args, kind) for kind in REPO_KINDS}
    limits = {t: n or config.scrape_limit for t, n in given.items() if n != 0}  # --spaces 0 leaves Spaces out
    if not limits:
        raise InvalidInputError("nothing to mirror: every type was given 0")
    from ..mirror import Mirror

    _check_publish(args, config)
    with Mirror(config) as mirror:
        summaries = mirror.scrape_all(limits)
        for summary in summaries:
            print(summary, flush=True)
        _snapshot(args, mirror, summaries)
    return _worst(summaries)


def _sync(args: argparse.Namespace, config: Config) -> int:
    from ..mirror import Mirror

    _check_publish(args, config)
    with Mirror(config) as mirror:
        def report(summary: RunSummary) -> None:  # as each run ends: a sync may run for days
            print(summary, flush=True)
            _snapshot(args, mirror, [summary])

        summaries = mirror.sync(runs=args.runs, on_run=report)
    return _worst(summaries)


def _status(args: argparse.Namespace, config: Config) -> int:
    from ..catalog import Catalog

    with Catalog.from_config(config) as catalog:
        runs = catalog.runs(limit=10)
        counts = catalog.counts()
        walks = catalog.state.walks(limit=6)
        failed = sorted(catalog.state.iter_entities(status="failed", metadata=False),
                        key=lambda e: (e.retry_at or 0.0, e.type, e.id))
    if args.json:
        print(json.dumps({"runs": [r.as_dict() for r in runs], "entities": counts,
                          "walks": [w.as_dict() for w in walks],
                          "failed": [{"type": e.type, "id": e.id, "failures": e.attempts, "retry_at": e.retry_at,
                                      "last_error": e.last_error} for e in failed]}, indent=2, default=str))
        return 0
    for repo_type, by_status in counts.items():
        if by_status:
            print(f"{repo_type}s: " + ", ".join(f"{k} {v}" for k, v in sorted(by_status.items())))
    for run in runs:
        print(f"run {run.id} {run.key} {run.status} started {_when(run.started_at)} ended {_when(run.ended_at)}")
    for walk in walks:
        print(f"catalog walk {walk.id} {walk.type}s {walk.kind} {walk.status} started {_when(walk.started_at)}: "
              f"{walk.pages} pages, {walk.listed} listed, {walk.changed} new or changed")
    for entity in failed[:_FAILED_SHOWN]:  # the soonest due first
        due = "due now" if not entity.retry_at or entity.retry_at <= time.time() else f"next try {_when(entity.retry_at)}"
        error = (entity.last_error or "").splitlines()[0][:200] if entity.last_error else "?"
        print(f"failed {entity.type} {entity.id}: {entity.attempts} failures, {due}: {error}")
    if len(failed) > _FAILED_SHOWN:
        print(f"... and {len(failed) - _FAILED_SHOWN} more failed (status --json lists them all)")
    return 0


def _trending(args: argparse.Namespace, config: Config) -> int:
    from ..catalog import Catalog

    with Catalog.from_config(config) as catalog:
        rows = catalog.trending(args.type, args.run_id)
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


