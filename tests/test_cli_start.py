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
    from hf_ipfs_scraper.state.store import StateStore

    StateStore(tmp_path / "state.sqlite").close()  # a state to report on: status reads it, as a user's would
    loaded = _loaded("--output-dir", str(tmp_path), "status")
    assert loaded & {"huggingface_hub", "httpx2", "networkx", "tantivy"} == set(), loaded
    assert {"hf_ipfs_scraper", "sqlite3"} <= loaded, loaded  # the probe does see what a command loads


def test_each_command_is_owned_by_the_module_that_registers_it() -> None:
    """A run builds only its command's module's parser; the owner table must name each module's
    commands exactly, or a command would vanish (or arrive with the wrong arguments)."""
    import argparse
    import importlib

    from hf_ipfs_scraper.cli import main as cli_main

    registered: dict[str, str] = {}
    for name in cli_main._MODULES:  # noqa: SLF001
        groups = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(f"hf_ipfs_scraper.cli.{name}").register(groups)
        registered |= {command: name for command in groups.choices}
    assert registered == cli_main._OWNER  # noqa: SLF001


@pytest.mark.parametrize("argv, command", [
    (["search", "bert"], "search"),
    (["--output-dir", "out", "status"], "status"),
    (["--output-dir=out", "--log-level", "debug", "ipfs", "cat", "x"], "ipfs"),
    (["--config", "search", "models"], "models"),  # an option's value is not the command
    (["--help", "search"], None),  # the top-level help lists every command
    (["--out", "x", "status"], None),  # abbreviated: argparse resolves it, on the whole parser
    (["nosuch"], None),
    ([], None),
])
def test_the_command_is_found_before_parsing(argv: list[str], command: str | None) -> None:
    from hf_ipfs_scraper.cli.main import _command

    assert _command(argv) == command


def test_a_partial_parser_parses_as_the_whole_one(tmp_path: Path) -> None:
    from hf_ipfs_scraper.cli.main import build_parser

    argv = ["--output-dir", str(tmp_path), "search", "bert", "--type", "model", "--size-lte", "2GB", "--limit", "5"]
    whole, partial = build_parser().parse_args(argv), build_parser("search").parse_args(argv)
    assert vars(whole) == vars(partial)
    assert partial.limit == 5  # the arguments really were parsed
