"""Search an archive's READMEs with filters, as a notebook would: typed hits, then a DataFrame.

    python examples/search_archive.py "german bert" [--type model] [--size-lte 2GB] [--output-dir ./hf_mirror]
"""

from __future__ import annotations

import argparse

from hf_ipfs_scraper import Catalog, load_config
from hf_ipfs_scraper.config import parse_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("text")
    parser.add_argument("--type", choices=("model", "dataset", "space"))
    parser.add_argument("--size-lte", default=None, help="at most this size, e.g. 2GB")
    parser.add_argument("--output-dir", default=None)
    args = parser.parse_args()

    config = load_config(overrides={"output_dir": args.output_dir})
    filters = {"types": (args.type,) if args.type else (),
               "size_lte": parse_size(args.size_lte) if args.size_lte else None}
    with Catalog(config.output_dir) as catalog:
        page = catalog.search(args.text, **filters)
        print(f"{page.total} repos match {args.text!r}")
        for note in page.warnings:
            print(f"  note: {note}")
        for hit in page.hits:
            size = "?" if hit.size_bytes is None else f"{hit.size_bytes / 1e6:.1f} MB"
            print(f"  {hit.entity_type:<8} {hit.id:<50} {size:>10}  bm25={hit.score:.2f}")
        by_downloads = catalog.search_frame(args.text, sort="downloads", **filters)
        if len(by_downloads):
            print("\nthe same, most downloaded first (a pandas DataFrame):")
            print(by_downloads[["entity_type", "id", "downloads", "likes"]].to_string(index=False))


if __name__ == "__main__":
    main()
