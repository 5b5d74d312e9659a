"""``catalog``: the whole Hub's metadata, every repo of a type, no content (one core call)."""

from __future__ import annotations

import argparse
from typing import Any

from ..config import Config
from .mirror import parse_types

EXIT_WALK_STOPPED = 1


def register(groups: Any) -> None:
    parser = groups.add_parser(
        "catalog", help="every repo's metadata (no files): a full walk of the listings, then cheap refreshes",
        epilog="example: hf-ipfs-scraper catalog --types models   (again later: only what changed)",
    )
    parser.add_argument("--types", type=parse_types, metavar="TYPES", help="e.g. models,datasets (default: all three)")
    parser.add_argument("--full", action="store_true",
                        help="walk everything again (finds repos gone or renamed), not only what changed")
    parser.add_argument("--token", help="Hub token (default: HF_TOKEN)")
    parser.set_defaults(run=_catalog, overrides=lambda a: {"hub.token": a.token})


def _catalog(args: argparse.Namespace, config: Config) -> int:
    from ..mirror import Mirror

    types = [t[:-1] for t in args.types] if args.types else None
    with Mirror(config) as mirror:
        summaries = mirror.catalog(types, full=args.full)
    for summary in summaries:
        print(summary)
    return EXIT_WALK_STOPPED if any(s.status != "completed" for s in summaries) else 0
