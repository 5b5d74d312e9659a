"""Shared by the benchmarks: running a step in a child process of its own (so its timings and peak
RSS are its own), timing the bare reads that are their baselines, and writing the numbers a run
measured as JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def run_child(script: str | os.PathLike[str], args: list[str], *, timeout: float | None = None) -> dict[str, Any]:
    """``python script *args`` with the repo on ``PYTHONPATH``; its last stdout line, as JSON. A
    child that fails raises with the end of its stderr."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    proc = subprocess.run([sys.executable, str(Path(script).resolve()), *args], capture_output=True, text=True,
                          env=env, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"child {args[:2]} failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def user_env() -> dict[str, str]:
    """The environment a user's shell gives a command: this one without PYTHONDONTWRITEBYTECODE,
    which some sandboxes and CI images set. Without bytecode caches every start compiles the
    package from source (tens of milliseconds), which a user's install never pays twice."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def write_numbers(numbers: dict[str, Any], target: str) -> None:
    """``--json``: ``-`` prints the numbers on stdout (the report then goes to stderr), else they
    go to the file ``target``."""
    if target == "-":
        json.dump(numbers, sys.stdout, indent=1)
        print()
    else:
        with open(target, "w") as sink:
            json.dump(numbers, sink, indent=1)


def timed_scans(state: Any, *queries: str) -> list[float]:
    """Seconds to read each query's rows through ``state.scan`` (a ``StateStore``) into nothing:
    the bare-SQLite baseline the provenance build is measured against."""
    seconds = []
    for query in queries:
        started = time.perf_counter()
        for _ in state.scan(query):
            pass
        seconds.append(time.perf_counter() - started)
    return seconds
