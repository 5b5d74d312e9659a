"""The provenance benchmark still runs (at a smoke size: its numbers are not checked here, only
that it measures what it says against the tracker as it is)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_provenance_runs_at_a_smoke_size(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_provenance.py"), "--models", "3000", "--queries", "40",
         "--db", str(tmp_path / "prov.sqlite"), "--json", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    assert data["graph_nodes"] >= 3000 and data["graph_edges"] > 1000 and data["queries"] == 40
    assert set(data["summary"]) == {"lineage", "descendants", "family", "children"}
    assert data["build_s"] > 0 and data["memory_after"]["rss_kib"] >= data["memory_before"]["rss_kib"]
    # the biggest base of the corpus is the most derived, as the tracker counts it
    assert data["most_derived"][0][0] == "model:meta-llama/Llama-3.1-8B"
    assert "| build `tracker.graph` |" in result.stdout + result.stderr
