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
