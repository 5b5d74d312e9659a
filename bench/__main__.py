"""One runner for every benchmark: ``python -m bench [NAME...] [--quick] [--json FILE]``.

Each benchmark runs as its own process (``bench/bench_<name>.py``, its own report streamed as it
goes); the runner then prints one table of the figures a reader compares — each beside the
baseline measured in the same run and the issue's target — and, for the areas whose cost should
not grow with the archive (state store, export, search, provenance), the cost per item at three
sizes. ``--quick`` runs everything at smoke sizes (CI runs it: it checks the runner works, never
the speed); without it the sizes are the README's and the whole run takes about an hour.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from types import ModuleType
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from _table import Row  # noqa: E402

#: name -> what it measures, in the issue's order
AREAS: dict[str, str] = {
    "add": "1. CID and store: CID-only and full add vs sha256, the disk's write and the JS importer",
    "start": "1. CLI start, command by command, vs a bare Python start",
    "mirror": "2. mirror on the emulator vs snapshot_download + add",
    "resync": "3. incremental resync with 5% of repos changed vs a full resync",
    "state": "4. state store: entity updates vs a JSON state file rewritten at each checkpoint",
    "walk": "5. catalog walk and refresh of the whole Hub",
    "export": "6. Parquet export of an archive, DuckDB over it",
    "search": "7. search: build, p50/p95 with and without filters",
    "provenance": "8. provenance graph: build, RSS, query p50/p95",
    "serve": "9. API under 16 concurrent clients; resolve vs a direct store read",
    "backends": "the Kubo backend (JS IPFS node) vs the embedded store",
}
SCALED = ("state", "export", "search", "provenance")
SCALES = (10_000, 100_000, 1_000_000)
QUICK_SCALES = (1_000, 3_000, 10_000)


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"bench_{name}")


def _run(name: str, args: list[str], log: Any) -> tuple[dict[str, Any] | None, float, str]:
    """``bench_<name>.py *args --json F``: its numbers, its wall time, and its error (empty when ok).
    Its report goes to ``log`` as it runs."""
    script = BENCH / f"bench_{name}.py"
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        target = Path(f.name)
    cmd = [sys.executable, str(script), *args, "--json", str(target)]
    log.write(f"\n$ {shlex.join(['python', os.path.relpath(script, os.getcwd()), *args])}\n")
    log.flush()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p))
    started = time.perf_counter()
    proc = subprocess.run(cmd, stdout=log, stderr=subprocess.PIPE, text=True, env=env, check=False)
    seconds = time.perf_counter() - started
    try:
        if proc.returncode != 0:
            return None, seconds, f"exit {proc.returncode}: {proc.stderr.strip()[-3000:]}"
        if proc.stderr:
            log.write(proc.stderr)
        numbers: dict[str, Any] = json.loads(target.read_text())
        return numbers, seconds, ""
    finally:
        target.unlink(missing_ok=True)


def _machine() -> dict[str, Any]:
    cpu = ""
    try:
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), "")
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") if hasattr(os, "sysconf") else 0
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem / (1 << 30), 1),
            "python": platform.python_version(), "system": f"{platform.system()} {platform.release()}",
            "load_before": os.getloadavg()}


def _fmt_ratio(row: Row) -> str:
    return "" if row.ratio is None else f"{row.ratio:.2f}×"


def _verdict(met: bool | None) -> str:
    return "" if met is None else ("PASS" if met else "MISS")


def table(rows: list[Row]) -> str:
    lines = ["| area | measure | value | baseline (same run) | ratio | target | result |",
             "|---|---|---:|---|---:|---|---|"]
    lines += [f"| {r.area} | {r.measure} | {r.value} | {r.baseline} | {_fmt_ratio(r)} | {r.target} | {_verdict(r.met)} |"
              for r in rows]
    return "\n".join(lines)


def scaling_table(curves: dict[str, dict[int, dict[str, float]]], scales: tuple[int, ...]) -> str:
    head = " | ".join(f"µs/item at {n:,}" for n in scales)
    lines = [f"| area | stage | {head} | last ÷ first |", "|---|---|" + "---:|" * (len(scales) + 1)]
    for name, by_n in curves.items():
        stages = list(next(iter(by_n.values()), {}))
        for stage in stages:
            values = [by_n.get(n, {}).get(stage) for n in scales]
            cells = " | ".join("" if v is None else f"{v:.2f}" for v in values)
            growth = f"{values[-1] / values[0]:.2f}" if values[0] and values[-1] is not None else ""
            lines.append(f"| {name} | {stage} | {cells} | {growth} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"areas to run (default: all): {', '.join(AREAS)}, scaling")
    parser.add_argument("--quick", action="store_true", help="smoke sizes (a few minutes; CI runs this)")
    parser.add_argument("--json", default=None, metavar="FILE", help="write every number of every area into FILE")
    args = parser.parse_args(argv)
    known = [*AREAS, "scaling"]
    unknown = [n for n in args.names if n not in known]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(known)}")
    names = args.names or known
    log = sys.stdout
    machine = _machine()
    began = time.perf_counter()
    results: dict[str, Any] = {}
    rows: list[Row] = []
    failed: list[str] = []
    for name in (n for n in names if n != "scaling"):
        module = _module(name)
        numbers, seconds, error = _run(name, module.QUICK if args.quick else module.FULL, log)
        results[name] = {"seconds": seconds, "numbers": numbers, "error": error}
        if numbers is None:
            failed.append(name)
            log.write(f"\n{name} FAILED: {error}\n")
            continue
        area_rows = module.headline(numbers)
        results[name]["rows"] = [asdict(r) for r in area_rows]
        rows += area_rows
    curves: dict[str, dict[int, dict[str, float]]] = {}
    scales = QUICK_SCALES if args.quick else SCALES
    if "scaling" in names:
        for name in SCALED:
            module = _module(name)
            for n in scales:
                numbers, seconds, error = _run(name, module.scale_args(n), log)
                if numbers is None:
                    failed.append(f"scaling {name} {n}")
                    log.write(f"\nscaling {name} at {n:,} FAILED: {error}\n")
                    continue
                curves.setdefault(name, {})[n] = module.per_item(numbers)
    wall = time.perf_counter() - began
    machine["load_after"] = os.getloadavg()
    print(f"\n## Summary ({'--quick' if args.quick else 'full sizes'}; {wall / 60:.1f} min)\n")
    print(f"machine: {machine['cpu'] or 'unknown CPU'}, {machine['cores']} cores, {machine['memory_gib']} GiB, "
          f"{machine['system']}, Python {machine['python']}\n")
    if rows:
        print(table(rows))
    if curves:
        print("\nCost per item as the archive grows (flat is the goal):\n")
        print(scaling_table(curves, scales))
    if failed:
        print(f"\nFAILED: {', '.join(failed)}")
    if args.json:
        scaling = {name: {str(n): v for n, v in by_n.items()} for name, by_n in curves.items()}
        Path(args.json).write_text(json.dumps({"quick": args.quick, "machine": machine, "wall_s": wall,
                                               "areas": results, "scaling": scaling, "failed": failed}, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
