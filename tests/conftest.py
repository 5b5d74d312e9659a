"""Shared pytest fixtures.

Keep fixtures here generic (test data, external reference tools); test-specific helpers belong in
the test modules.

* ``require_component`` — skip a test whose external component (a tool, an npm install) is
  missing, but fail it under CI (``CI=true``), where every component must be installed.
* ``js_oracle`` — the reference JavaScript UnixFS importer (``tests/oracle/import.mjs``).
* ``kubo_bytes`` / ``kubo_file`` — Kubo's deterministic test bytes (ChaCha20 keystream).
"""

from __future__ import annotations

pytest_plugins = ["tests.hubemu.fixtures", "tests.ipfsnode_fixtures"]

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Callable, Iterator, NoReturn

import pytest

TESTS_DIR = Path(__file__).resolve().parent
ORACLE_DIR = TESTS_DIR / "oracle"
ORACLE_SCRIPT = ORACLE_DIR / "import.mjs"
ORACLE_PACKAGE = ORACLE_DIR / "node_modules" / "ipfs-unixfs-importer"
ORACLE_INSTALL = "npm ci --prefix tests/oracle"
ORACLE_TIMEOUT_S = 900


# -- components that tests need -------------------------------------------------------------
def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def missing_component(reason: str) -> NoReturn:
    """Skip locally; under CI a missing component is an error, never a silent skip."""
    if in_ci():
        pytest.fail(f"{reason} (required when CI=true)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def require_component() -> Callable[[str], NoReturn]:
    return missing_component


# -- the JavaScript UnixFS importer oracle --------------------------------------------------
class JsOracle:
    """Runs ``tests/oracle/import.mjs`` (npm ipfs-unixfs-importer) with ``node``.

    ``oracle(options, entries)`` imports one set of entries and returns
    ``{"results": [{"path", "cid", "size"}...], "blocks": [cid, ...]}``;
    ``oracle.batch([(options, entries), ...])`` runs many imports in one node process
    (each with its own blockstore) and returns the answers in order.

    ``entries`` are ``{"path": "root/a.txt", "file": "/abs/path"}`` for files and
    ``{"path": "root/empty"}`` for directories. See import.mjs for the options.
    """

    def __init__(self, node: str, script: Path) -> None:
        self.node = node
        self.script = script

    def __call__(self, options: dict[str, Any], entries: list[dict[str, Any]]) -> dict[str, Any]:
        return self._run({"options": options, "entries": entries})

    def batch(self, requests: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> list[dict[str, Any]]:
        if not requests:
            return []
        answer = self._run({"batch": [{"options": o, "entries": e} for o, e in requests]})
        answers = answer["batch"]
        assert len(answers) == len(requests)
        return answers

    def _run(self, request: dict[str, Any]) -> dict[str, Any]:
        proc = subprocess.run(
            [self.node, str(self.script)],
            input=json.dumps(request).encode("utf-8"),
            capture_output=True,
            cwd=self.script.parent,
            timeout=ORACLE_TIMEOUT_S,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"JS oracle failed (exit {proc.returncode}):\n{proc.stderr.decode('utf-8', 'replace')}"
            )
        return json.loads(proc.stdout)


@pytest.fixture(scope="session")
def js_oracle() -> JsOracle:
    node = shutil.which("node")
    if node is None:
        missing_component(f"node is not installed (needed for the JS UnixFS oracle; then run `{ORACLE_INSTALL}`)")
    if not ORACLE_PACKAGE.is_dir():
        missing_component(f"the JS UnixFS oracle is not installed: run `{ORACLE_INSTALL}`")
    return JsOracle(node, ORACLE_SCRIPT)


# -- Kubo's deterministic test bytes ---------------------------------------------------------
_STREAM_PIECE = 1 << 20


def _chacha_pieces(seed: str, size: int) -> Iterator[bytes]:
    """The ChaCha20 keystream (key = sha256(seed), all-zero 16-byte nonce), in 1 MiB pieces."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

    key = hashlib.sha256(seed.encode("utf-8")).digest()
    encryptor = Cipher(algorithms.ChaCha20(key, b"\0" * 16), mode=None).encryptor()
    zeros = bytes(_STREAM_PIECE)
    left = size
    while left > 0:
        n = min(left, _STREAM_PIECE)
        yield encryptor.update(zeros[:n])
        left -= n


def kubo_bytes(seed: str, size: int) -> bytes:
    """``size`` deterministic bytes as Kubo's tests make them (keep this for small sizes)."""
    return b"".join(_chacha_pieces(seed, size))


def write_kubo_bytes(path: Path, seed: str, size: int) -> Path:
    """Stream ``size`` deterministic bytes into ``path`` (any size, bounded memory)."""
    with open(path, "wb") as fh:
        for piece in _chacha_pieces(seed, size):
            fh.write(piece)
    return path


@pytest.fixture(scope="session", name="kubo_bytes")
def kubo_bytes_fixture() -> Callable[[str, int], bytes]:
    """``kubo_bytes(seed, size) -> bytes``."""
    return kubo_bytes


@pytest.fixture(scope="session")
def kubo_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str, int], Path]]:
    """``kubo_file(seed, size) -> Path``: a session-cached file of Kubo's deterministic bytes
    (removed at the end of the session: some are tens of MiB)."""
    directory = tmp_path_factory.mktemp("kubo-bytes")
    made: dict[tuple[str, int], Path] = {}

    def make(seed: str, size: int) -> Path:
        key = (seed, size)
        if key not in made:
            name = hashlib.sha256(f"{seed}\0{size}".encode("utf-8")).hexdigest()[:24]
            made[key] = write_kubo_bytes(directory / name, seed, size)
        return made[key]

    yield make
    shutil.rmtree(directory, ignore_errors=True)
