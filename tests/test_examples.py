"""The examples run as a user would run them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_archive_folder_example(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "archive_folder.py"), "--store", str(tmp_path / "s")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "QmWSgS32xQEcXMeqd3YPJLrNBLSdsfYCep2U7CFkyrjXwY" in lines[2] and lines[2].endswith("planets")
    assert "read back 'mars.txt': b'Hello Mars!\\n'" in result.stdout
    assert lines[-1].startswith("verify ok=True blocks=3 bytes=")
    assert lines[-1].endswith("root=QmWSgS32xQEcXMeqd3YPJLrNBLSdsfYCep2U7CFkyrjXwY")
    assert "exported 3 blocks" in result.stdout


def test_mirror_trending_example_against_the_emulator(tmp_path: Path, hub, hf_env) -> None:
    out = tmp_path / "mirror"
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "mirror_trending.py"), "--limit", "3", "--output-dir", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env=hf_env.subprocess_env(hub),
    )
    assert result.returncode == 0, result.stderr
    assert "trending snapshot of this run:" in result.stdout
    roots = {p.parent.name: p.read_text().strip() for p in (out / "models").glob("*/ipfs_cid.txt")}
    assert roots, result.stdout
    for name, root in roots.items():
        assert f"  {name}: {root}" in result.stdout
    ranked = [line.split()[1] for line in result.stdout.splitlines() if line.startswith("  #")]
    assert 1 <= len(ranked) <= 3
