"""Benchmark: CID-only hashing and full add of a large file, beside the limits of this machine.

    python bench/bench_add.py                          # 1 GiB, best of 3 (a few minutes)
    python bench/bench_add.py --size-mib 64 --repeat 1 --settle 0  # smoke size

Every step runs in a process of its own, so its peak RSS is its own; the steps take turns, round
after round, each round in another order (seeded, so the same from run to run; in a fixed order
the full adds always ran after the baselines' writes), so a slow moment of the machine does not
fall on one step only, and the best round of each is reported. The file (and a second one for the
parallel rows) is random and read from the page cache. The limits, measured in the same run:

* ``hashlib.sha256`` over the same bytes: the limit for a sha2-256 CID (one file, and two files
  in two threads — ``hashlib`` releases the GIL, so two cores can hash two files at once), read
  two ways: copied into a buffer with ``readinto``, and hashed in place from a memory map of the
  file, 16 MiB at a time, as the importer reads a regular file. The faster of the two is the
  limit each CID row is compared with;
* the disk's sequential write of the same bytes into one file in the store's folder, then one
  ``fsync`` — the same durability point the store reaches (its blocks are synced before the pin is
  recorded): the limit for a full add;
* the same bytes written as the store lays them out, one file per 256 KiB block (a temp file renamed
  into one of 256 folders; the store's flatfs keys spread over up to 1,024), then one ``syncfs``:
  what the layout itself costs, without hashing.
  This row shows how much of the full add's gap to the sequential write is the layout's.

And one pair that leaves this machine's write costs out: the same bytes copied over a file already
in the page cache (``pwritev``, nothing allocated, nothing synced), alone and as the sink of a v0
import. Where writing a block costs what copying it costs (a machine whose page cache is cheap to
grow), this is how much the importer's own pipeline — read ahead, hash, write behind — leaves of
``hashlib.sha256``'s rate.

Every writing step starts from the same state of the machine: a round's stores are kept until the
round ends (about 5x the file size on disk), then deleted, then the runner waits ``--settle``
seconds (35) before the next round. Two things in a VM like the one this was tuned on make a
deletion slow down the files written just after it, and neither touches the one-file baseline the
same way:

* on ext4 without a journal, allocating an inode skips every inode of its group deleted in the last
  30 s (``recently_deleted()``, 35 s while the inode table block is dirty), reading an inode table
  block for each: with the previous step's 4,096 block files just deleted, ``perf`` put 45% of a
  full add's samples there;
* with free page reporting (a VM handing freed memory back to its host), writing into memory freed
  more than ~2 s ago faults on the host: copying a GiB into the page cache then costs 2-4 s of
  system time instead of 0.3-0.4 s, so a step right after a deletion runs fast and one a few
  seconds later slow.

Through the API (``FileImporter`` into a null sink, ``EmbeddedStore.add_path``) the clock starts
after the imports; through the CLI (``hf-ipfs-scraper ipfs add -Q [-n]``) it is the whole process,
start-up included, as a user waits for it. The JS row is the reference importer
(``ipfs-unixfs-importer@17``, Kubo's defaults; needs ``npm ci --prefix tests/oracle``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from _child import user_env, write_numbers  # noqa: E402
from _table import Row  # noqa: E402

ORACLE = ROOT / "tests" / "oracle"
QUICK = ["--size-mib", "64", "--repeat", "1", "--settle", "0"]
FULL = ["--size-mib", "1024", "--repeat", "3"]
#: ext4's recently-deleted window (30 s, 35 s while the inode table is dirty) and more than the
#: ~2 s free page reporting waits before handing freed memory back to the host
SETTLE_SECONDS = 35.0
MIB = 1 << 20

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
console.log(JSON.stringify({ seconds: (performance.now() - t0) / 1000, cid: last.cid.toString() }))
"""

# step -> (what it is, files it reads, "api" | "cli" | "js" | "limit")
STEPS: dict[str, tuple[str, int, str]] = {
    "sha256": ("`hashlib.sha256` over the same bytes", 1, "limit"),
    "sha256-x2": ("`hashlib.sha256`, two files in two threads", 2, "limit"),
    "sha256-map": ("`hashlib.sha256` over a memory map of the file (16 MiB windows)", 1, "limit"),
    "sha256-map-x2": ("`hashlib.sha256` over memory maps, two files in two threads", 2, "limit"),
    "write": ("the disk's sequential write of the same bytes + fsync", 1, "limit"),
    "write-blocks": ("the same bytes as 256 KiB block files (the store's layout) + syncfs, no hashing", 1, "limit"),
    "copy-cached": ("the same bytes copied over a file already in the page cache, no hashing", 1, "limit"),
    "cid-api-v0": ("CID only, API (`FileImporter`, null sink), unixfs-v0-2015", 1, "api"),
    "cid-api-v1": ("CID only, API, unixfs-v1-2025", 1, "api"),
    "cid-api-x2": ("CID only, API, v0, two files in two threads", 2, "api"),
    "cid-api-1core": ("CID only, API, v0, one file on one core (no helper threads)", 1, "api"),
    "cid-cli-v0": ("CID only, CLI (`ipfs add -Q -n`), whole process", 1, "cli"),
    "add-api-v0": ("full add, API (`EmbeddedStore.add_path`), v0", 1, "api"),
    "add-api-v1": ("full add, API, v1", 1, "api"),
    "add-cli-v0": ("full add, CLI (`ipfs --store DIR add -Q`), whole process", 1, "cli"),
    "add-cached-v0": ("import, v0, each block copied over a file already in the page cache", 1, "api"),
    "js-v0": ("JS `ipfs-unixfs-importer@17`, CID only, Kubo's defaults", 1, "js"),
}


def _sha256(path: str) -> str:
    digest, buf = hashlib.sha256(), bytearray(MIB)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(buf):
            digest.update(view[:n])
    return digest.hexdigest()


def _sha256_mapped(path: str) -> str:
    import mmap

    digest, window = hashlib.sha256(), 16 * MIB
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        for offset in range(0, size, window):
            with mmap.mmap(fd, min(window, size - offset), access=mmap.ACCESS_READ, offset=offset) as mapped:
                digest.update(mapped)
    finally:
        os.close(fd)
    return digest.hexdigest()


def _write(path: str, target: str) -> str:
    buf = bytearray(MIB)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as src, open(target, "wb", buffering=0) as dst:
        while n := src.readinto(buf):
            dst.write(view[:n])
        os.fsync(dst.fileno())
    dirfd = os.open(os.path.dirname(target), os.O_RDONLY)
    try:
        os.fsync(dirfd)
    finally:
        os.close(dirfd)
    return "-"


def _write_blocks(path: str, target: str) -> str:
    """The bytes of ``path`` as one file per 256 KiB chunk, created the way the block store creates
    a block (temp file, then rename), in one of 256 folders where the store's keys spread over up to
    1,024, then one syncfs before returning."""
    from hf_ipfs_scraper.storage._durable import syncfs

    buf = bytearray(256 * 1024)
    view = memoryview(buf)
    root = os.path.join(target, "blocks")
    with open(path, "rb", buffering=0) as src:
        i = 0
        while n := src.readinto(buf):
            shard = os.path.join(root, f"{i % 256:02X}")
            if i < 256:
                os.makedirs(shard)
            tmp = os.path.join(shard, f".{i}.tmp")
            with open(tmp, "xb") as fh:
                fh.write(view[:n])
            os.replace(tmp, os.path.join(shard, f"{i}.data"))
            i += 1
    if not syncfs(Path(root)):
        os.sync()
    return "-"


def _overwritten(path: str) -> str:
    """The file the page-cache rows copy over: beside ``path``, made with it, kept in memory."""
    return os.path.join(os.path.dirname(path), "overwrite.bin")


class _CopySink:
    """Writes each block over the next bytes of a file already in the page cache: a write that is
    a memory copy and nothing else (no page allocated, no inode, no sync)."""

    def __init__(self, target: str) -> None:
        self._fd = os.open(target, os.O_WRONLY)
        self._size = os.fstat(self._fd).st_size
        self._offset = 0

    def put_block(self, cid: object, pieces: Any) -> None:
        length = sum(len(p) for p in pieces)
        if self._offset + length > self._size:
            self._offset = 0
        os.pwritev(self._fd, pieces, self._offset)
        self._offset += length

    def close(self) -> None:
        os.close(self._fd)


def _copy_cached(path: str) -> str:
    buf = bytearray(MIB)
    view = memoryview(buf)
    sink = _CopySink(_overwritten(path))
    try:
        with open(path, "rb", buffering=0) as src:
            while n := src.readinto(buf):
                sink.put_block(None, (view[:n],))
    finally:
        sink.close()
    return "-"


def _add_cached(path: str, profile: str) -> str:
    from hf_ipfs_scraper import ImportOptions
    from hf_ipfs_scraper.ipfs.importer import FileImporter

    sink = _CopySink(_overwritten(path))
    try:
        with open(path, "rb", buffering=0) as fh:
            return str(FileImporter(sink, ImportOptions.profile(profile)).add(fh).cid)
    finally:
        sink.close()


def _cid_only(path: str, profile: str) -> str:
    from hf_ipfs_scraper import ImportOptions
    from hf_ipfs_scraper.ipfs.importer import FileImporter
    from hf_ipfs_scraper.ipfs.sink import NullSink

    with open(path, "rb", buffering=0) as fh:
        return str(FileImporter(NullSink(), ImportOptions.profile(profile)).add(fh).cid)


def _add(path: str, store: str, profile: str) -> str:
    from hf_ipfs_scraper import EmbeddedStore, ImportOptions

    with EmbeddedStore(store, options=ImportOptions.profile(profile)) as s:
        return str(s.add_path(path).cid)


def _threads(fn: Callable[[str], str], paths: list[str]) -> str:
    """``fn`` over each path in a thread of its own; the CIDs joined (each is checked)."""
    results: dict[str, str] = {}
    threads = [threading.Thread(target=lambda p=p: results.__setitem__(p, fn(p))) for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return ",".join(results[p] for p in paths)


def _child(step: str, paths: list[str], store: str) -> dict[str, Any]:
    """One API or limit step, timed from after its imports."""
    profile = "unixfs-v1-2025" if step.endswith("-v1") else "unixfs-v0-2015"
    if step.startswith(("cid-api", "add-api", "add-cached")):
        import hf_ipfs_scraper.ipfs.importer  # noqa: F401 - imports are not what is timed
        import hf_ipfs_scraper.storage.embedded  # noqa: F401
    if step == "cid-api-1core":
        # as if the other core were busy importing another file: the caller hashes every leaf
        hf_ipfs_scraper.ipfs.importer._CORES = 1
    one: Callable[[str], str] = {
        "sha256": _sha256, "sha256-x2": _sha256, "sha256-map": _sha256_mapped, "sha256-map-x2": _sha256_mapped,
        "write": lambda p: _write(p, os.path.join(store, "sequential.bin")),
        "write-blocks": lambda p: _write_blocks(p, store),
        "copy-cached": _copy_cached, "add-cached-v0": lambda p: _add_cached(p, profile),
        "cid-api-v0": lambda p: _cid_only(p, profile), "cid-api-v1": lambda p: _cid_only(p, profile),
        "cid-api-x2": lambda p: _cid_only(p, profile), "cid-api-1core": lambda p: _cid_only(p, profile),
        "add-api-v0": lambda p: _add(p, store, profile), "add-api-v1": lambda p: _add(p, store, profile),
    }[step]
    os.makedirs(store, exist_ok=True)
    started = time.perf_counter()
    cid = _threads(one, paths) if len(paths) > 1 else one(paths[0])
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "cid": cid, "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("hf-ipfs-scraper")
    return [str(script)] if script.exists() else [sys.executable, "-m", "hf_ipfs_scraper.cli.main"]


def _timed_process(cmd: list[str], cwd: Path) -> dict[str, Any]:
    """Wall time and peak RSS of one whole process; its last stdout line is its result."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=user_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate()
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed (exit {proc.returncode}): {err[-2000:]}")
    return {"seconds": seconds, "out": out.strip().splitlines()[-1]}


def _measure(step: str, paths: list[str], work: Path) -> dict[str, Any]:
    """One step; what it writes stays in ``work`` until the round ends (see the module docstring)."""
    store = work / f"store-{step}"
    kind = STEPS[step][2]
    if kind == "cli":
        only_hash = ["-n"] if step.startswith("cid-") else []
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        r = _timed_process([*_cli(), "ipfs", "--store", str(store), "add", "-Q", *only_hash, paths[0]], work)
        after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        # RUSAGE_CHILDREN is the largest child so far: exact when this one is the largest
        return {"seconds": r["seconds"], "cid": r["out"], "rss_kib": after if after > before else None}
    if kind == "js":
        script = ORACLE / ".bench_js.mjs"
        script.write_text(_JS)
        try:
            r = _timed_process(["node", str(script), paths[0]], ORACLE)
        finally:
            script.unlink()
        return json.loads(r["out"])
    r = _timed_process([sys.executable, str(Path(__file__).resolve()), "--child", step, str(store), *paths], work)
    result: dict[str, Any] = json.loads(r["out"])
    return result


def _make_file(path: Path, size: int) -> None:
    if path.exists() and path.stat().st_size == size:
        return
    with open(path, "wb") as fh:
        for _ in range(size // MIB):
            fh.write(os.urandom(MIB))
        fh.write(os.urandom(size % MIB))


def _js_available() -> bool:
    return (ORACLE / "node_modules" / "ipfs-unixfs-importer").exists() and shutil.which("node") is not None


def measure(size_mib: int, repeat: int, work: Path, settle: float = SETTLE_SECONDS) -> dict[str, Any]:
    size = size_mib * MIB
    files = [work / "data.bin", work / "data2.bin"]
    for f in [*files, Path(_overwritten(str(files[0])))]:
        _make_file(f, size)
    steps = [s for s in STEPS if s != "js-v0" or _js_available()]
    runs: dict[str, list[dict[str, Any]]] = {s: [] for s in steps}
    for i in range(repeat):
        stores = work / f"round-{i}"
        shutil.rmtree(stores, ignore_errors=True)  # left by an interrupted run in the same --workdir
        time.sleep(settle)  # after the files' creation, or the previous round's deletion
        stores.mkdir()
        order = list(steps)
        random.Random(i).shuffle(order)  # each round in another order, the same from run to run
        for step in order:
            runs[step].append(_measure(step, [str(f) for f in files[:STEPS[step][1]]], stores))
        shutil.rmtree(stores)
    best = {s: min(r, key=lambda x: x["seconds"]) for s, r in runs.items()}
    mib_s = {s: STEPS[s][1] * size_mib / b["seconds"] for s, b in best.items()}
    v0 = ("cid-api-v0", "cid-cli-v0", "add-api-v0", "add-cli-v0", "add-cached-v0", "js-v0", "cid-api-x2", "cid-api-1core")
    cids = {s: best[s]["cid"].split(",")[0] for s in v0 if s in best}  # x2: data.bin's CID first
    return {"size_mib": size_mib, "repeat": repeat, "cores": os.cpu_count(), "runs": runs, "best": best,
            "mib_s": mib_s, "cids_v0": cids, "cids_agree": len(set(cids.values())) == 1,
            "parallel_ratio": mib_s["cid-api-x2"] / mib_s["cid-api-v0"],
            "parallel_of_one_core": mib_s["cid-api-x2"] / mib_s["cid-api-1core"],
            "parallel_of_limit": mib_s["cid-api-x2"] / _limit(mib_s, 2)[1],
            "sha256_parallel_ratio": _limit(mib_s, 2)[1] / _limit(mib_s, 1)[1]}


def _limit(mib_s: dict[str, float], files: int) -> tuple[str, float]:
    """The faster way to sha256 the bytes, ``files`` at a time: a CID can be no faster than that."""
    read, mapped = ("sha256", "sha256-map") if files == 1 else ("sha256-x2", "sha256-map-x2")
    if mib_s.get(mapped, 0.0) > mib_s[read]:
        return "sha256 mapped" if files == 1 else "sha256 mapped ×2", mib_s[mapped]
    return "sha256" if files == 1 else "sha256 ×2", mib_s[read]


def headline(numbers: dict[str, Any]) -> list[Row]:
    m, best = numbers["mib_s"], numbers["best"]
    (sha_name, sha), (sha2_name, sha2), write = _limit(m, 1), _limit(m, 2), m["write"]
    rss = max((best[s]["rss_kib"] or 0) for s in ("add-api-v0", "add-api-v1")) / 1024
    rows = [
        Row("add", "CID only, API (v0)", f"{m['cid-api-v0']:.0f} MiB/s", f"{sha_name} {sha:.0f} MiB/s",
            m["cid-api-v0"] / sha, "≥ 0.95×", m["cid-api-v0"] / sha >= 0.95),
        Row("add", "CID only, CLI `ipfs add -Q -n`, whole process", f"{m['cid-cli-v0']:.0f} MiB/s",
            f"{sha_name} {sha:.0f} MiB/s", m["cid-cli-v0"] / sha, "≥ 0.9×", m["cid-cli-v0"] / sha >= 0.9),
        Row("add", "full add, API (v0)", f"{m['add-api-v0']:.0f} MiB/s", f"disk write {write:.0f} MiB/s",
            m["add-api-v0"] / write, "≥ 0.8×", m["add-api-v0"] / write >= 0.8),
        Row("add", "full add, CLI, whole process", f"{m['add-cli-v0']:.0f} MiB/s", f"disk write {write:.0f} MiB/s",
            m["add-cli-v0"] / write),
        Row("add", "full add, API (v0), beside the layout's own write", f"{m['add-api-v0']:.0f} MiB/s",
            f"block files {m['write-blocks']:.0f} MiB/s", m["add-api-v0"] / m["write-blocks"]),
        Row("add", "import with page-cache-only writes (v0)", f"{m['add-cached-v0']:.0f} MiB/s",
            f"{sha_name} {sha:.0f} MiB/s", m["add-cached-v0"] / sha),
        Row("add", "full add, peak RSS", f"{rss:.0f} MB", target="≤ 100 MB", met=rss <= 100),
        Row("add", "CID only, two files in two threads", f"{m['cid-api-x2']:.0f} MiB/s",
            f"one file {m['cid-api-v0']:.0f} MiB/s", numbers["parallel_ratio"], "≥ 1.7×", numbers["parallel_ratio"] >= 1.7),
        Row("add", "CID only, two files, beside one file on one core", f"{m['cid-api-x2']:.0f} MiB/s",
            f"one core {m['cid-api-1core']:.0f} MiB/s", numbers["parallel_of_one_core"]),
        Row("add", "CID only, one file on one core (no helper threads)", f"{m['cid-api-1core']:.0f} MiB/s",
            f"{sha_name} {sha:.0f} MiB/s", m["cid-api-1core"] / sha),
        Row("add", f"{sha2_name.replace(' ×2', '')}, two files in two threads (the limit)", f"{sha2:.0f} MiB/s",
            f"one file {sha:.0f} MiB/s", numbers["sha256_parallel_ratio"]),
        Row("add", "CID only, two files, beside sha256 on two files", f"{m['cid-api-x2']:.0f} MiB/s",
            f"{sha2_name} {sha2:.0f} MiB/s", numbers["parallel_of_limit"]),
    ]
    if "js-v0" in m:
        rows.append(Row("add", "JS reference importer, CID only", f"{m['js-v0']:.0f} MiB/s", f"{sha_name} {sha:.0f} MiB/s",
                        m["js-v0"] / sha))
    return rows


def _report(numbers: dict[str, Any]) -> None:
    m, best = numbers["mib_s"], numbers["best"]
    sha = _limit(m, 1)[1]
    print(f"{numbers['size_mib']} MiB per file, best of {numbers['repeat']}, {numbers['cores']} cores, "
          f"Python {sys.version.split()[0]}\n")
    print("| step | MiB/s | × sha256 (the faster) | × disk write | peak RSS (MB) |\n|---|---:|---:|---:|---:|")
    for step, rate in m.items():
        rss = best[step].get("rss_kib")
        print(f"| {STEPS[step][0]} | {rate:.0f} | {rate / sha:.2f} | {rate / m['write']:.2f} | "
              f"{rss / 1024:.0f} |" if rss else f"| {STEPS[step][0]} | {rate:.0f} | {rate / sha:.2f} | "
              f"{rate / m['write']:.2f} | |")
    print(f"\ntwo files at once: {numbers['parallel_ratio']:.2f}× one file, {numbers['parallel_of_one_core']:.2f}× "
          f"one file on one core (sha256 alone: "
          f"{numbers['sha256_parallel_ratio']:.2f}×); v0 CIDs agree across steps: {numbers['cids_agree']}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        print(json.dumps(_child(argv[1], argv[3:], argv[2])))
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=1024, help="MiB per file")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best of each step is reported")
    parser.add_argument("--settle", type=float, default=SETTLE_SECONDS,
                        help="seconds to wait before each round, after the previous round's deletion")
    parser.add_argument("--workdir", default=None, help="where the files and stores go (default: a temp dir on disk)")
    parser.add_argument("--json", default=None, metavar="FILE", help="also write every number as JSON into FILE")
    args = parser.parse_args(argv)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="hfipfs-bench-add-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        numbers = measure(args.size_mib, args.repeat, work, args.settle)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    _report(numbers)
    if args.json:
        write_numbers(numbers, args.json)
    if not numbers["cids_agree"]:
        print("CID MISMATCH between steps:", numbers["cids_v0"], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
