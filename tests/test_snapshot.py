"""One CID per archive snapshot: taken after each run, listed, and restored elsewhere.

The commands run as a user runs them (a subprocess of the CLI against the Hub emulator); the
restored directory is checked through the same ``Catalog`` a notebook would use.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hf_ipfs_scraper import Catalog
from hf_ipfs_scraper.storage.embedded import EmbeddedStore
from tests.hubemu import HubEmulator, Repo, RepoFile

CLI = [sys.executable, "-m", "hf_ipfs_scraper.cli.main"]


def _model(repo_id: str, score: int, text: str) -> Repo:
    files = [RepoFile("README.md", f"# {repo_id}\n\n{text}\n".encode()), RepoFile("config.json", b'{"a": 1}\n'),
             RepoFile("weights.bin", repo_id.encode() * 5000)]
    return Repo("model", repo_id, files, trending_score=score, likes=score, downloads=10 * score)


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=180)


@pytest.fixture
def emu(hf_env, hub_factory) -> HubEmulator:
    return hub_factory([_model("org/alpha", 50, "a llama finetune"), _model("org/beta", 40, "an embedding model"),
                        _model("org/gamma", 30, "speech recognition")])


@pytest.fixture
def env(hf_env, emu) -> dict[str, str]:
    return hf_env.subprocess_env(emu)


def _answers(out: Path) -> dict[str, object]:
    """What a user asks an archive: its repos, files, READMEs, trending list and searches."""
    with Catalog(out) as catalog:
        entities = sorted((e.type, e.id, e.status, e.root_cid, e.size_bytes, e.readme_cid) for e in catalog.entities())
        return {
            "entities": entities,
            "files": {e[1]: [(f.path, f.cid, f.size) for f in catalog.files("model", e[1])] for e in entities},
            "readmes": {e[1]: catalog.readme("model", e[1]) for e in entities},
            "trending": [(r.rank, r.id) for r in catalog.trending("model")],
            "search": [(h.id, h.entity_type, h.snippet) for h in catalog.search("embedding").hits],
            "search_all": sorted(h.id for h in catalog.search("").hits),
        }


def test_each_run_ends_with_a_snapshot_that_restores_elsewhere_with_the_same_answers(emu, env, tmp_path) -> None:
    out = tmp_path / "mirror"
    first = run(["--output-dir", str(out), "models", "--limit", "2"], env, tmp_path)
    assert first.returncode == 0, first.stderr
    line = first.stdout.splitlines()[-1]
    assert line.startswith("snapshot 1: ") and line.endswith(" (2 repos)"), first.stdout
    second = run(["--output-dir", str(out), "models", "--limit", "3"], env, tmp_path)
    assert second.returncode == 0, second.stderr
    cid = second.stdout.splitlines()[-1].split()[2]

    listed = run(["--output-dir", str(out), "snapshots", "--json"], env, tmp_path)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["id"], r["repos"]) for r in rows] == [(2, 3), (1, 2)] and rows[0]["cid"] == cid
    assert rows[0]["runs"] == [2]

    with EmbeddedStore(out / "ipfs", readonly=True, create=False) as store:
        names = {e.name for e in store.ls(cid)}
        assert {"models", "datasets", "spaces", "meta", "trending.json", "run.json", "state.sqlite"} <= names
        # each repo linked by its root, not copied: the same CID the mirror recorded
        with Catalog(out) as catalog:
            roots = {e.id.replace("/", "__"): e.root_cid for e in catalog.entities()}
        assert {e.name: str(e.cid) for e in store.ls(f"{cid}/models")} == roots
        trending = json.loads(store.read_bytes(f"{cid}/trending.json"))
        assert [r["id"] for r in trending["model"]] == ["org/alpha", "org/beta", "org/gamma"]
        assert store.read_bytes(f"{cid}/meta/models/org__beta/ipfs_cid.txt").decode().strip() == roots["org__beta"]

    car = tmp_path / "snapshot.car"
    exported = run(["--output-dir", str(out), "ipfs", "dag", "export", cid, "-o", str(car)], env, tmp_path)
    assert exported.returncode == 0, exported.stderr

    restored = tmp_path / "elsewhere"
    result = run(["--output-dir", str(restored), "restore", cid, "--car", str(car)], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"restored snapshot {cid} into {restored}: 3 repos")
    assert _answers(restored) == _answers(out)
    assert json.loads((restored / "models" / "org__alpha" / "metadata.json").read_text())["id"] == "org/alpha"
    verify = run(["--output-dir", str(restored), "ipfs", "repo", "verify"], env, tmp_path)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    # every repo is pinned in the restored store under its name, so a gc keeps it
    pins = run(["--output-dir", str(restored), "ipfs", "pin", "ls"], env, tmp_path)
    assert all(f"model:org/{n}" in pins.stdout for n in ("alpha", "beta", "gamma")), pins.stdout


def test_restore_refuses_a_cid_that_is_not_a_snapshot_and_a_directory_in_use(emu, env, tmp_path) -> None:
    out = tmp_path / "mirror"
    assert run(["--output-dir", str(out), "models", "--limit", "1"], env, tmp_path).returncode == 0
    with Catalog(out) as catalog:
        repo_root = next(iter(catalog.entities())).root_cid
    car = tmp_path / "repo.car"
    assert run(["--output-dir", str(out), "ipfs", "dag", "export", str(repo_root), "-o", str(car)], env, tmp_path).returncode == 0
    result = run(["--output-dir", str(tmp_path / "new"), "restore", str(repo_root), "--car", str(car)], env, tmp_path)
    assert result.returncode == 1 and "is not a snapshot" in result.stderr and "Traceback" not in result.stderr
    busy = run(["--output-dir", str(out), "restore", str(repo_root)], env, tmp_path)
    assert busy.returncode == 1 and "is not empty" in busy.stderr, busy.stderr


def test_no_snapshot_flag_and_a_failed_listing_take_none(emu, env, tmp_path) -> None:
    out = tmp_path / "mirror"
    result = run(["--output-dir", str(out), "models", "--limit", "1", "--no-snapshot"], env, tmp_path)
    assert result.returncode == 0 and "snapshot" not in result.stdout
    listed = run(["--output-dir", str(out), "snapshots"], env, tmp_path)
    assert "no snapshot" in listed.stdout
