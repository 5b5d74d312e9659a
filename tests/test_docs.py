"""The docs stay true: README's test command is what CI runs; every CLI command is documented."""

from __future__ import annotations

import re
from pathlib import Path

from hf_ipfs_scraper.cli.main import build_parser

ROOT = Path(__file__).resolve().parent.parent


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    setup = text.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", setup, flags=re.S)


def test_readme_starts_with_two_setup_commands_and_ci_runs_the_test_one() -> None:
    commands = _readme_commands()
    assert len(commands) == 2
    test_command = commands[1].strip()
    assert "pytest" in test_command
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_command in ci.splitlines()


def test_every_ipfs_subcommand_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    parser = build_parser()
    groups = next(a for a in parser._actions if a.dest == "group").choices  # noqa: SLF001
    ipfs = next(a for a in groups["ipfs"]._actions if a.dest == "ipfs_cmd").choices  # noqa: SLF001
    for name, sub in ipfs.items():
        nested = [a for a in sub._actions if getattr(a, "choices", None) and a.dest.endswith("_cmd")]  # noqa: SLF001
        names = [f"ipfs {name} {child}" for a in nested for child in a.choices] or [f"ipfs {name}"]
        for full in names:
            head, _, child = full.rpartition(" ")
            assert full in readme or (child and re.search(rf"{re.escape(head)} [^\n]*\b{child}\b", readme)), full


def test_every_top_level_command_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    groups = next(a for a in build_parser()._actions if a.dest == "group").choices  # noqa: SLF001
    assert set(groups) >= {"models", "status", "trending", "sync", "ipfs"}
    for name in groups:
        assert f"hf-ipfs-scraper {name}" in readme or f"`{name} " in readme, name


def test_architecture_names_only_modules_that_exist() -> None:
    text = (ROOT / "ARCHITECTURE.md").read_text()
    for ref in set(re.findall(r"`((?:[a-z_]+/)*[a-z_]+\.py)", text)):
        matches = list((ROOT / "hf_ipfs_scraper").glob(f"**/{ref}")) + list((ROOT / "hf_ipfs_scraper").glob(ref))
        matches += [ROOT / ref] if (ROOT / ref).is_file() else []  # bench/..., examples/...
        assert matches, f"ARCHITECTURE.md names {ref}, which does not exist"
