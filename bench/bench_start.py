"""Benchmark: how long the CLI takes to start, command by command, beside a bare Python start.

    python bench/bench_start.py                  # 15 runs of each command
    python bench/bench_start.py --runs 5         # smoke size

A small archive is made first (2,000 entities written into ``state.sqlite`` by the export
benchmark's generator, its search index built with ``reindex``, one file added to its block
store), so ``status`` and ``search`` do real work on real files. Each command is then run as a
whole process — the console script a user types — round after round in turns; the median wall
time of each is reported next to ``python -c pass`` (the floor: an interpreter that imports
nothing) and ``python -c "import huggingface_hub"`` (what every command paid before commands
imported only what they use). Commands run as from a user's shell: with bytecode caches, even
where the environment sets PYTHONDONTWRITEBYTECODE (``_child.user_env``).

Target (issue 11): ``ipfs …``, ``status`` and ``search`` start in ≤ 100 ms.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from _child import user_env, write_numbers  # noqa: E402
from _table import Row  # noqa: E402

QUICK = ["--runs", "5"]
FULL = ["--runs", "15"]
TARGET_MS = 100.0

# name -> (argv after the console script, held to the target)
COMMANDS: dict[str, tuple[list[str], bool]] = {
    "--help": (["--help"], False),
    "ipfs --help": (["ipfs", "--help"], True),
    "ipfs repo stat": (["ipfs", "repo", "stat"], True),
    "ipfs add -Q -n (4 KiB)": (["ipfs", "add", "-Q", "-n", "{small}"], True),
    "ipfs cat (4 KiB)": (["ipfs", "cat", "{cid}"], True),
    "status": (["status"], True),
    "search bert": (["search", "bert"], True),
    "search with filters": (["search", "model", "--type", "model", "--size-lte", "2GB", "--limit", "5"], True),
    "models --help": (["models", "--help"], False),
}
BASELINES: dict[str, list[str]] = {
    "python -c pass": ["-c", "pass"],
    "python -c 'import huggingface_hub'": ["-c", "import huggingface_hub"],
}


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("hf-ipfs-scraper")
    return [str(script)] if script.exists() else [sys.executable, "-m", "hf_ipfs_scraper.cli.main"]


def _run(cmd: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=user_env(), capture_output=True, check=False)  # bytes: `ipfs cat`
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed (exit {proc.returncode}): {proc.stderr[-2000:].decode(errors='replace')}")
    return seconds


def _archive(work: Path) -> dict[str, str]:
    """A small archive the commands can read; returns what the commands' placeholders stand for."""
    from bench_export import generate

    out = work / "out"
    out.mkdir(parents=True)
    generate(out / "state.sqlite", 2000, 0)
    small = work / "small.bin"
    small.write_bytes(os.urandom(4096))
    base = [*_cli(), "--output-dir", str(out)]
    subprocess.run([*base, "reindex"], cwd=work, env=user_env(), check=True, capture_output=True)
    cid = subprocess.run([*base, "ipfs", "add", "-Q", str(small)], cwd=work, env=user_env(), check=True, capture_output=True,
                         text=True).stdout.strip()
    return {"small": str(small), "cid": cid, "out": str(out)}


def measure(runs: int, work: Path) -> dict[str, Any]:
    values = _archive(work)
    base = [*_cli(), "--output-dir", values["out"]]
    cmds = {name: [*base, *(a.format(**values) for a in argv)] for name, (argv, _) in COMMANDS.items()}
    cmds.update({name: [sys.executable, *argv] for name, argv in BASELINES.items()})
    for cmd in cmds.values():  # one warm-up run each: the page cache, the bytecode caches
        _run(cmd, work)
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(runs):
        for name, cmd in cmds.items():
            times[name].append(_run(cmd, work))
    median_ms = {name: statistics.median(t) * 1000 for name, t in times.items()}
    return {"runs": runs, "times_s": times, "median_ms": median_ms,
            "held": [name for name, (_, held) in COMMANDS.items() if held]}


def headline(numbers: dict[str, Any]) -> list[Row]:
    ms = numbers["median_ms"]
    floor = ms["python -c pass"]
    rows = [Row("start", f"`hf-ipfs-scraper {name}`", f"{ms[name]:.0f} ms", f"python -c pass {floor:.0f} ms",
                ms[name] / floor, f"≤ {TARGET_MS:.0f} ms" if name in numbers["held"] else "",
                ms[name] <= TARGET_MS if name in numbers["held"] else None)
            for name in COMMANDS]
    hub = "python -c 'import huggingface_hub'"
    rows.append(Row("start", "`import huggingface_hub` alone", f"{ms[hub]:.0f} ms", f"python -c pass {floor:.0f} ms",
                    ms[hub] / floor))
    return rows


def _report(numbers: dict[str, Any]) -> None:
    ms = numbers["median_ms"]
    floor = ms["python -c pass"]
    print(f"median of {numbers['runs']} runs each, in turns; {os.cpu_count()} cores, Python {sys.version.split()[0]}\n")
    print("| command | median ms | min ms | × python -c pass | target |\n|---|---:|---:|---:|---|")
    for name, value in ms.items():
        target = ""
        if name in numbers["held"]:
            target = f"≤ {TARGET_MS:.0f} ms: {'PASS' if value <= TARGET_MS else 'MISS'}"
        print(f"| {name} | {value:.0f} | {min(numbers['times_s'][name]) * 1000:.0f} | {value / floor:.2f} | {target} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="runs of each command (after one warm-up)")
    parser.add_argument("--json", default=None, metavar="FILE", help="also write every number as JSON into FILE")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    work = Path(tempfile.mkdtemp(prefix="hfipfs-bench-start-"))
    try:
        numbers = measure(args.runs, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _report(numbers)
    if args.json:
        write_numbers(numbers, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
