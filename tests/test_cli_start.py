"""Commands import only what they use (issue 11, CLI start): the Hub client, the graph library and
the search engine load for the commands that need them, not at every command's start. Checked by
module names, not by timing (the benchmarks measure the time)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("huggingface_hub", "httpx2", "networkx", "tantivy", "pyarrow", "yaml")
_PROBE = """
import sys
from hf_ipfs_scraper.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print("LOADED " + " ".join(sorted({m.split('.')[0] for m in sys.modules})), file=sys.stderr)
"""


def _loaded(*args: str) -> set[str]:
    result = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, timeout=120)
    line = next(line for line in result.stderr.splitlines() if line.startswith("LOADED "))
    return set(line.split()[1:])


@pytest.mark.parametrize("args", [("--help",), ("ipfs", "--help"), ("status", "--help"), ("search", "--help")])
def test_help_loads_none_of_the_heavy_libraries(args: tuple[str, ...]) -> None:
    assert _loaded(*args) & set(HEAVY) == set()


def test_ipfs_add_and_status_load_neither_the_hub_client_nor_the_graph(tmp_path: Path) -> None:
    data = tmp_path / "a.txt"
    data.write_bytes(b"hello\n")
    assert _loaded("--output-dir", str(tmp_path), "ipfs", "add", "-Q", str(data)) & set(HEAVY) == set()
    loaded = _loaded("--output-dir", str(tmp_path), "status")
    assert loaded & {"huggingface_hub", "httpx2", "networkx", "tantivy"} == set(), loaded
    assert {"hf_ipfs_scraper", "sqlite3"} <= loaded, loaded  # the probe does see what a command loads
