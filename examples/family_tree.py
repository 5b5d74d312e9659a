"""Mirror trending models, datasets and Spaces at once, then ask the archive for a family tree.

    python examples/family_tree.py --models 20 --datasets 5 --spaces 5 [--output-dir ./hf_mirror] [-o tree.svg]

Uses the Hub at HF_ENDPOINT (default https://huggingface.co) and HF_TOKEN if set. The archive is read
back through a read-only Catalog, as a notebook running beside a `sync` would.
"""

from __future__ import annotations

import argparse

from hf_ipfs_scraper import Catalog, Mirror, load_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--datasets", type=int, default=5)
    parser.add_argument("--spaces", type=int, default=5)
    parser.add_argument("--output-dir", default=None)
    parser.add_argument("-o", "--picture", default="tree.svg", help="where to draw the family (.svg or .png)")
    args = parser.parse_args()

    config = load_config(overrides={"output_dir": args.output_dir})
    with Mirror(config) as mirror:
        for summary in mirror.scrape_all({"model": args.models, "dataset": args.datasets, "space": args.spaces}):
            print(str(summary).splitlines()[0])

    with Catalog(config.output_dir) as catalog:
        tracker = catalog.provenance
        print("\nprovenance:", tracker.stats())
        bases = tracker.most_derived(5)
        if not bases:
            print("no repo of this archive names a base model")
            return
        print("most derived bases:")
        for key, n in bases:
            print(f"  {key}: {n} direct derivatives")
        base = bases[0][0]
        for child in tracker.descendants(base, max_nodes=5):
            for path in tracker.lineage(child)[:1]:
                print("  " + " -> ".join([path[0].child] + [f"({s.relation}) {s.parent}" for s in path]))
        print(f"datasets behind {base}: {sorted(tracker.datasets_behind(base)) or 'none recorded'}")
        print(f"Spaces using {base}: {sorted(tracker.spaces_using(base)) or 'none recorded'}")
        result = catalog.draw_family(base, args.picture)
        print(f"family of {base} drawn to {result.path} ({result.nodes_drawn} repos)")


if __name__ == "__main__":
    main()
