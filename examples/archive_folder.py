"""Archive a folder into the embedded IPFS store, as a notebook user would.

    python examples/archive_folder.py [FOLDER] [--store DIR]

Adds FOLDER (default: a small demo folder it writes), prints every file's CID, reads one file
back, exports the DAG as a CAR that `ipfs dag import` accepts on any Kubo node, and verifies the
store. The CIDs are the ones `ipfs add -r FOLDER` gives.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from hf_ipfs_scraper import EmbeddedStore, ImportOptions


def _demo_folder(where: Path) -> Path:
    folder = where / "planets"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mars.txt").write_bytes(b"Hello Mars!\n")
    (folder / "venus.txt").write_bytes(b"Hello Venus!\n")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", nargs="?", type=Path)
    parser.add_argument("--store", type=Path, default=None, help="store directory (default: a temp dir)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hf-ipfs-example-"))
    folder = args.folder or _demo_folder(work)
    store_dir = args.store or work / "store"

    with EmbeddedStore(store_dir, options=ImportOptions.profile("unixfs-v0-2015")) as store:
        result = store.add_path(folder, recursive=True)
        for entry in result.entries:
            print(f"{entry.cid}  {entry.size:>10}  {entry.path}")
        first_file = next(e for e in result.entries if e.path != result.name)
        relative = first_file.path.split("/", 1)[1]
        print(f"read back {relative!r}: {store.read_bytes(f'{result.cid}/{relative}')[:60]!r}")
        car_path = work / f"{result.name}.car"
        with open(car_path, "wb") as fh:
            blocks = store.export_car(result.cid, fh)
        print(f"exported {blocks} blocks to {car_path}")
        report = store.verify()
        stat = store.stat()
        print(f"verify ok={report.ok} blocks={stat.blocks} bytes={stat.bytes_stored} root={result.cid}")


if __name__ == "__main__":
    main()
