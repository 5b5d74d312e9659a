"""Benchmark: CID-only hashing and full add of a large file, beside sha256 and the JS importer.

    python bench/bench_add.py --size-mib 1024

Every step runs in its own child process so its peak RSS is its own. Throughputs are reported as
MiB/s and as a ratio to plain ``hashlib.sha256`` over the same bytes in the same run (the physical
limit for sha2-256 CIDs on this machine). Needs ``npm ci --prefix tests/oracle`` for the JS row.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ORACLE = ROOT / "tests" / "oracle"

_CHILD = r"""
import hashlib, json, resource, sys, time
mode, path, store = sys.argv[1], sys.argv[2], sys.argv[3]
t0 = time.perf_counter()
if mode == "sha256":
    h = hashlib.sha256(); buf = bytearray(1 << 20); view = memoryview(buf)
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(buf):
            h.update(view[:n])
    cid = h.hexdigest()
else:
    from hf_ipfs_scraper import EmbeddedStore, ImportOptions
    from hf_ipfs_scraper.ipfs.importer import FileImporter
    from hf_ipfs_scraper.ipfs.sink import NullSink
    profile = "unixfs-v1-2025" if mode.endswith("-v1") else "unixfs-v0-2015"
    opts = ImportOptions.profile(profile)
    if mode.startswith("cid-only"):
        with open(path, "rb", buffering=0) as fh:
            cid = str(FileImporter(NullSink(), opts).add(fh).cid)
    else:
        with EmbeddedStore(store, options=opts) as s:
            cid = str(s.add_path(path).cid)
elapsed = time.perf_counter() - t0
print(json.dumps({"seconds": elapsed, "cid": cid, "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""

_JS = r"""
import { importer } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'
import { createReadStream } from 'node:fs'
const bs = { put: async (c) => c, get: async () => { throw new Error('no') }, has: async () => false }
const t0 = performance.now()
let last
const opts = { cidVersion: 0, rawLeaves: false, chunker: fixedSize({ chunkSize: 262144 }), layout: balanced({ maxChildrenPerNode: 174 }) }
for await (const e of importer([{ path: 'f', content: createReadStream(process.argv[2], { highWaterMark: 1 << 20 }) }], bs, opts)) last = e
console.log(JSON.stringify({ seconds: (performance.now() - t0) / 1000, cid: last.cid.toString(), rss_kib: Math.round(process.resourceUsage().maxRSS) }))
"""


def _make_file(path: Path, size: int) -> None:
    block = 1 << 20
    with open(path, "wb") as fh:
        for _ in range(size // block):
            fh.write(os.urandom(block))
        fh.write(os.urandom(size % block))


def _run(cmd: list[str], cwd: Path | None = None) -> dict:
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=cwd).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--workdir", default=None, help="where the test file and store go (default: a temp dir)")
    parser.add_argument("--repeat", type=int, default=2, help="runs per step; the best is reported")
    args = parser.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="hfipfs-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    data = work / "data.bin"
    size = args.size_mib << 20
    if not data.exists() or data.stat().st_size != size:
        _make_file(data, size)
    rows: dict[str, dict] = {}
    steps = ["sha256", "cid-only-v0", "cid-only-v1", "add-v0", "add-v1"]
    for step in steps:
        best = None
        for _ in range(args.repeat):
            store = work / f"store-{step}"
            shutil.rmtree(store, ignore_errors=True)
            result = _run([sys.executable, "-c", _CHILD, step, str(data), str(store)])
            if best is None or result["seconds"] < best["seconds"]:
                best = result
        rows[step] = best  # type: ignore[assignment]
        shutil.rmtree(work / f"store-{step}", ignore_errors=True)
    if (ORACLE / "node_modules" / "ipfs-unixfs-importer").exists() and shutil.which("node"):
        script = ORACLE / ".bench_js.mjs"
        script.write_text(_JS)
        try:
            rows["js-importer-v0"] = min(
                (_run(["node", str(script), str(data)], cwd=ORACLE) for _ in range(args.repeat)),
                key=lambda r: r["seconds"],
            )
        finally:
            script.unlink()
    base = size / (1 << 20) / rows["sha256"]["seconds"]
    print(f"{args.size_mib} MiB, best of {args.repeat}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print("| step | MiB/s | × sha256 | peak RSS (MB) |")
    print("|---|---:|---:|---:|")
    for name, r in rows.items():
        mibs = size / (1 << 20) / r["seconds"]
        print(f"| {name} | {mibs:.0f} | {mibs / base:.2f} | {r['rss_kib'] / 1024:.0f} |")
    if rows["cid-only-v0"]["cid"] != rows["add-v0"]["cid"] or rows.get("js-importer-v0", rows["add-v0"])["cid"] != rows["add-v0"]["cid"]:
        print("CID MISMATCH between steps:", {k: v["cid"] for k, v in rows.items()})
        return 1
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
