"""``export``: the unified Parquet export of an archive, added to the store with its CID printed."""

from __future__ import annotations

import argparse
from typing import Any

from ..config import Config
from .mirror import parse_types


def register(groups: Any) -> None:
    parser = groups.add_parser(
        "export", help="unified Parquet export (entities, files, edges, trending, runs) for pandas/DuckDB/polars",
        epilog="example: hf-ipfs-scraper export --output ./export --types models,datasets",
    )
    # export.SCOPES, spelt out: importing export.py (pyarrow) would slow every command's start
    parser.add_argument("--scope", choices=("mirror", "catalog"), default="mirror",
                        help="mirror (default): the repos the mirror handles (all_entities.parquet and one file a type);"
                             " catalog: every repo known, the catalog walks' listed and gone ones too (catalog.parquet)")
    parser.add_argument("--output", metavar="DIR",
                        help="where (default: <output_dir>/export, with --scope catalog <output_dir>/catalog_export)")
    parser.add_argument("--types", type=parse_types, metavar="TYPES", help="e.g. models,datasets (default: all)")
    parser.add_argument("--no-merge", action="store_true",
                        help="replace the previous export instead of merging into it (the catalog scope never merges)")
    parser.add_argument("--no-ipfs", action="store_true", help="do not add the export directory to the store")
    parser.add_argument("--merge", nargs="+", metavar="DIR", default=[],
                        help="first fold these output directories (other machines' --shard i/n) into this one")
    parser.set_defaults(run=_export)


def _export(args: argparse.Namespace, config: Config) -> int:
    from ..catalog import Catalog
    from ..mirror import Mirror

    types = [t[:-1] for t in args.types] if args.types else None
    if args.merge:
        with Mirror(config) as mirror:
            for source in args.merge:
                merged = mirror.merge(source)
                print(f"merged {merged.entities} entities from {merged.source} ({merged.copied_roots} repos' blocks copied)")
    with Catalog.from_config(config) as catalog:
        result = catalog.export(args.output, types=types, merge=not args.no_merge, add_to_store=not args.no_ipfs,
                                store_profile=config.store_profile, scope=args.scope)
    for name, rows in result.rows.items():
        print(f"{rows:>10}  {result.directory / name}")
    if result.carried_over:
        print(f"{result.carried_over} entities carried over from the previous export")
    if result.cid is not None:
        how = "pinned in the store" if result.pinned else "not stored: a running mirror holds the store"
        print(f"export CID {result.cid} ({how})")
    return 0
