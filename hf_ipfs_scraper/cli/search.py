"""``search`` and ``reindex``: README search from the command line, and rebuilding its index."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import Any

from ..config import Config, parse_size
from ..state.keys import ENTITY_TYPES


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _sort(text: str) -> str:
    from ..search import SORTS

    if text.lstrip("-") not in SORTS:
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(SORTS)}, '-' in front for descending")
    return text


def register(groups: Any) -> None:
    search = groups.add_parser(
        "search", help="full-text search of READMEs, ids, tags and titles, with size filters",
        epilog='example: hf-ipfs-scraper search "german bert" --type model --size-lte 2GB --sort -trending_score',
    )
    search.add_argument("text", nargs="?", default="", help='words, "a phrase", OR, -word, field:word')
    search.add_argument("--type", action="append", choices=ENTITY_TYPES, help="entity type (repeatable; default all)")
    search.add_argument("--size-gte", type=_size, metavar="SIZE", help="at least this size, e.g. 100MB")
    search.add_argument("--size-lte", type=_size, metavar="SIZE", help="at most this size, e.g. 2GB")
    search.add_argument("--tag", action="append", help="must have this tag (repeatable)")
    search.add_argument("--pipeline-tag", help="e.g. text-generation")
    search.add_argument("--library", help="e.g. transformers")
    search.add_argument("--author", help="owner or organisation")
    content = search.add_mutually_exclusive_group()
    content.add_argument("--mirrored", dest="mirrored", action="store_const", const=True,
                         help="only mirrored repos (README and content archived)")
    content.add_argument("--catalog-only", dest="mirrored", action="store_const", const=False,
                         help="only repos a catalog walk listed and the mirror did not archive (metadata)")
    search.add_argument("--run", type=int, dest="run_id", metavar="ID", help="only repos this run's snapshot listed")
    search.add_argument("--sort", type=_sort, default="relevance",
                        help="relevance (default), trending_score, downloads, likes, size; '-' in front: descending")
    search.add_argument("--limit", type=int, default=20, help="hits per page (at most 50)")
    search.add_argument("--page", type=int, default=1)
    search.add_argument("--json", action="store_true", help="machine-readable output")
    search.set_defaults(run=_search)

    reindex = groups.add_parser("reindex", help="rebuild the search index from the state store")
    reindex.set_defaults(run=_reindex)


def _search(args: argparse.Namespace, config: Config) -> int:
    from ..catalog import Catalog

    descending = args.sort.startswith("-") or args.sort == "relevance"
    with Catalog.from_config(config) as catalog:
        page = catalog.search(
            args.text, run_id=args.run_id, types=tuple(args.type or ()), size_gte=args.size_gte,
            size_lte=args.size_lte, tags=tuple(args.tag or ()), pipeline_tag=args.pipeline_tag,
            library=args.library, author=args.author, mirrored=args.mirrored, sort=args.sort.lstrip("-"), descending=descending,
            limit=args.limit, page=args.page,
        )
    if args.json:
        print(json.dumps({"hits": [asdict(h) for h in page.hits], "total": page.total, "page": page.page,
                          "pages": page.pages, "warnings": list(page.warnings)}, indent=2))
        return 0
    for warning in page.warnings:
        print(f"note: {warning}")
    for n, hit in enumerate(page.hits, start=(page.page - 1) * page.limit + 1):
        size = "-" if hit.size_bytes is None else f"{hit.size_bytes / 1e6:.1f} MB"
        catalog_only = "" if hit.mirrored else "  (catalog only)"
        print(f"{n:>4}  {hit.entity_type}:{hit.id}  {size}  score={hit.trending_score}  downloads={hit.downloads}"
              f"{catalog_only}")
        if hit.snippet:
            print(f"      {hit.snippet}")
    print(f"{page.total} found; page {page.page} of {max(page.pages, 1)}")
    return 0


def _reindex(args: argparse.Namespace, config: Config) -> int:
    from ..mirror import Mirror

    with Mirror(config) as mirror:
        count = mirror.reindex()
    print(f"indexed {count} repos (mirrored ones and those catalog walks listed) into {config.output_dir / 'search'}")
    return 0
