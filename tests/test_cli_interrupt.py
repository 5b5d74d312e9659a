"""Ctrl-C: the CLI stops soon, exits 130 with one line, leaves resumable state, and a rerun completes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from hf_ipfs_scraper.state import StateStore
from tests.hubemu import build_corpus
from tests.test_mirror_e2e import _recorded


def test_ctrl_c_exits_130_and_the_next_run_resumes(hf_env, hub_factory, tmp_path: Path) -> None:
    corpus = build_corpus(n_models=12, seed=5, with_real_minilm=False, n_datasets=0, n_spaces=0)
    emu = hub_factory(corpus, latency=0.04)
    env = hf_env.subprocess_env(emu)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "hf_ipfs_scraper.cli.main", "--output-dir", str(out), "models",
               "--limit", "10", "--workers", "2"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while len(_recorded(out / "state.sqlite")) < 5:
        assert proc.poll() is None, f"the run ended before Ctrl-C: {proc.communicate()}"
        assert time.monotonic() < deadline, "no file recorded within 60 s"
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, (stdout, stderr)
    assert "Traceback" not in stderr and stderr.strip().splitlines()[-1] == "Interrupted."
    with StateStore(out / "state.sqlite") as state:
        assert state.runs(limit=1)[0].status == "interrupted"
        assert state.counts("model").get("in_progress", 0) == 0  # nothing left claimed
        recorded_before = len(list(state.iter_entities("model")))
    assert recorded_before >= 1

    emu.latency = 0.0
    resumed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert " completed " in resumed.stdout and " 0 failed" in resumed.stdout.splitlines()[0]
    with StateStore(out / "state.sqlite") as state:
        counts = state.counts("model")
        assert counts.get("pending", 0) == counts.get("in_progress", 0) == 0
        assert counts["done"] >= 1
