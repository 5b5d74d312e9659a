"""Serve an archive and download a mirrored repo from it with huggingface_hub, as from the Hub.

    python examples/download_from_archive.py org/name [--type model] [--output-dir ./hf_mirror] [--to DIR]

It starts the archive's server (what `hf-ipfs-scraper serve` runs) on a free loopback port, points
`snapshot_download` at it, then checks every downloaded file against the CID the archive recorded.
Anything that takes an endpoint — transformers, datasets, `hf download` with HF_ENDPOINT — works
the same way (set HF_HUB_DISABLE_XET=1: the archive serves plain HTTP).
"""

from __future__ import annotations

import argparse
import os
import socket
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_DISABLE_XET", "1")  # before huggingface_hub is imported

import uvicorn  # noqa: E402
from huggingface_hub import snapshot_download  # noqa: E402

from hf_ipfs_scraper import Catalog, ImportOptions, load_config  # noqa: E402
from hf_ipfs_scraper.ipfs.importer import FileImporter  # noqa: E402
from hf_ipfs_scraper.ipfs.sink import NullSink  # noqa: E402
from hf_ipfs_scraper.web.app import create_app  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("repo")
    parser.add_argument("--type", default="model", choices=("model", "dataset", "space"))
    parser.add_argument("--output-dir", default=None)
    parser.add_argument("--to", default=None, help="where to download (default: a temporary folder)")
    args = parser.parse_args()

    config = load_config(overrides={"output_dir": args.output_dir})
    sock = socket.create_server(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(create_app(config.output_dir, store_path=config.store_path),
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        target = Path(args.to or tempfile.mkdtemp(prefix="hf-archive-"))
        folder = Path(snapshot_download(args.repo, repo_type=args.type, endpoint=url, local_dir=target))
        print(f"downloaded {args.type} {args.repo} from {url} into {folder}")
    finally:
        server.should_exit = True
        thread.join(timeout=30)

    with Catalog(config.output_dir, store_path=config.store_path) as catalog:
        recorded = {f.path: f.cid for f in catalog.files(args.type, args.repo)}
    options = ImportOptions.profile(config.store_profile)
    for path, cid in sorted(recorded.items()):
        with open(folder / path, "rb") as fh:
            got = str(FileImporter(NullSink(), options).add(fh).cid)
        print(f"  {'ok ' if got == cid else 'BAD'} {cid}  {path}")
        if got != cid:
            raise SystemExit(f"{path}: the downloaded bytes hash to {got}, the archive recorded {cid}")
    print(f"all {len(recorded)} files match the archive's CIDs")


if __name__ == "__main__":
    main()
