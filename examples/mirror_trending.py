"""Mirror a few trending models into IPFS and look at what was archived — the notebook flow.

    python examples/mirror_trending.py --limit 5 [--output-dir ./hf_mirror]

Uses the Hub at HF_ENDPOINT (default https://huggingface.co) and HF_TOKEN if set. Running it again
is cheap: unchanged repos cost no request beyond the trending listing.
"""

from __future__ import annotations

import argparse
import json

from hf_ipfs_scraper import Mirror, load_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=5)
    parser.add_argument("--output-dir", default=None)
    args = parser.parse_args()

    config = load_config(overrides={"scrape.limit": args.limit, "output_dir": args.output_dir})
    with Mirror(config) as mirror:
        summary = mirror.scrape_models()
        print(summary)
        print("\ntrending snapshot of this run:")
        for row in mirror.trending("model"):
            print(f"  #{row.rank:<3} {row.id}  (score {row.trending_score})")

    print("\narchived repos (root CID = `ipfs add -r -H` of the repo's files):")
    for repo_dir in sorted((config.output_dir / "models").glob("*")):
        root = (repo_dir / "ipfs_cid.txt").read_text().strip()
        files = json.loads((repo_dir / "files.json").read_text())
        print(f"  {repo_dir.name}: {root}")
        for entry in files[:5]:
            print(f"      {entry['cid']}  {entry['size']:>10}  {entry['path']}")
        if len(files) > 5:
            print(f"      ... {len(files) - 5} more files")


if __name__ == "__main__":
    main()
