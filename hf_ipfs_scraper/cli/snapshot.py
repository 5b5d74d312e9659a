"""``snapshots``, ``restore``, ``prune``: the archive's snapshots (one CID each), rebuilding an
output directory from one (on another machine, from its blocks or a CAR of them), and retention."""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from typing import Any

from ..config import BACKENDS, Config, parse_duration, parse_size
from ..errors import InvalidInputError


def register(groups: Any) -> None:
    listing = groups.add_parser("snapshots", help="the archive snapshots, newest first (one CID each)")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(run=_snapshots)

    restore = groups.add_parser(
        "restore", help="rebuild a working output directory from a snapshot CID",
        epilog="example: hf-ipfs-scraper --output-dir restored restore bafy... --car archive.car",
    )
    restore.add_argument("cid", help="the snapshot's CID")
    restore.add_argument("--car", metavar="FILE", help="import the snapshot's blocks from this CAR first "
                         "(`ipfs dag export CID > FILE` on a machine that has them)")
    restore.set_defaults(run=_restore)

    prune = groups.add_parser(
        "prune", help="unpin repos that left the trending lists (never what a kept snapshot links)",
        epilog="example: hf-ipfs-scraper prune --keep-runs 7 --dry-run",
    )
    prune.add_argument("--keep-runs", type=int, metavar="N", help="keep the repos of the newest N trending runs of each type")
    prune.add_argument("--keep-days", metavar="D", help="keep the repos of the runs of the last D days (e.g. 30, 30d, 12h)")
    prune.add_argument("--max-store-size", metavar="SIZE", help="then unpin oldest-out while the store is over SIZE (e.g. 500GB)")
    prune.add_argument("--dry-run", action="store_true", help="say what would be unpinned; change nothing")
    prune.add_argument("--backend", choices=BACKENDS, help="where the archive is pinned (storage.backend)")
    prune.add_argument("--kubo-api", metavar="ADDR", help="Kubo RPC address (kubo.api)")
    prune.set_defaults(run=_prune, overrides=lambda a: {"storage.backend": a.backend, "kubo.api": a.kubo_api})


def _snapshots(args: argparse.Namespace, config: Config) -> int:
    from ..state import StateStore

    path = config.output_dir / "state.sqlite"
    if not path.exists():
        raise InvalidInputError(f"no archive in {config.output_dir}: run a mirror command first")
    with StateStore(path) as state:
        rows = state.snapshots()
    if args.json:
        print(json.dumps([r.as_dict() for r in rows], indent=2))
        return 0
    if not rows:
        print(f"no snapshot in {config.output_dir} yet: each mirror run ends with one")
    for row in rows:
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(row.created_at))
        runs = ",".join(map(str, row.runs)) or "-"
        published = f"  /ipns/{row.published}" if row.published else ""
        print(f"{row.id:>4}  {row.cid}  {when}  {row.repos} repos  runs {runs}{published}")
    return 0


def _restore(args: argparse.Namespace, config: Config) -> int:
    from ..mirror import Mirror
    from ..snapshot import restore_snapshot
    from ..storage.embedded import EmbeddedStore

    with EmbeddedStore(config.store_path) as store:
        if args.car:
            with open(args.car, "rb") as fh:
                store.import_car(fh, pin_roots=False)
        result = restore_snapshot(store, args.cid, config.output_dir)
    # open it once as a mirror: the search index is built from the restored state
    with Mirror(dataclasses.replace(config, storage_backend="embedded")):
        pass
    print(f"restored snapshot {result.snapshot} into {result.output_dir}: {result.repos} repos, {result.files} files")
    return 0


def _prune(args: argparse.Namespace, config: Config) -> int:
    try:
        days = None if args.keep_days is None else parse_duration(
            f"{args.keep_days}d" if args.keep_days.isdigit() else args.keep_days) / 86400  # a bare number is days
        budget = None if args.max_store_size is None else parse_size(args.max_store_size)
    except ValueError as exc:
        raise InvalidInputError(f"prune: {exc}") from None
    from ..mirror import Mirror

    with Mirror(config) as mirror:
        result = mirror.prune(keep_runs=args.keep_runs, keep_days=days, max_store_size=budget, dry_run=args.dry_run)
    for line in result.plan.describe():
        print(line)
    if args.dry_run:
        print("dry run: nothing changed")
    elif result.freed_bytes is not None:
        print(f"freed {result.freed_bytes / 1e6:.1f} MB ({result.removed_blocks} blocks)")
    for note in result.notes:
        print(note)
    return 0
