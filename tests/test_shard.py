"""``--shard i/n`` and ``export --merge``: two machines, each with its own embedded store, split a
run; merged, their archive equals the one a single machine makes of the same repos."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hf_ipfs_scraper import Catalog, Mirror, load_config
from hf_ipfs_scraper.config import Config
from hf_ipfs_scraper.errors import ConfigError
from hf_ipfs_scraper.shard import Shard, shard_of
from hf_ipfs_scraper.storage.embedded import EmbeddedStore
from tests.hubemu import HubEmulator, Repo, RepoFile

CLI = [sys.executable, "-m", "hf_ipfs_scraper.cli.main"]
IDS = [f"org/model-{i}" for i in range(8)]


def _model(repo_id: str, score: int) -> Repo:
    files = [RepoFile("README.md", f"# {repo_id}\n".encode()), RepoFile("config.json", b"{}\n"),
             RepoFile("weights.bin", repo_id.encode() * 20_000, lfs=True)]
    return Repo("model", repo_id, files, trending_score=score, likes=1, downloads=1)


@pytest.fixture
def emu(hf_env, hub_factory) -> HubEmulator:
    return hf_env.use(hub_factory([_model(repo_id, 100 - i) for i, repo_id in enumerate(IDS)]))


def _config(emu: HubEmulator, out: Path, shard: str = "") -> Config:
    return load_config(env={}, overrides={"hub.endpoint": emu.endpoint, "output_dir": str(out), "scrape.shard": shard})


def _mirror(config: Config) -> set[str]:
    with Mirror(config) as mirror:
        summary = mirror.scrape_models(limit=len(IDS))
        assert summary.status == "completed" and summary.failed == 0
    with Catalog(config.output_dir) as catalog:
        return {e.id for e in catalog.entities(status="done")}


def _archive(out: Path) -> dict[str, object]:
    with Catalog(out) as catalog:
        entities = sorted((e.type, e.id, e.status, e.sha, e.root_cid, e.root_tsize, e.size_bytes, e.file_count,
                           e.readme_cid) for e in catalog.entities())
        return {
            "entities": entities,
            "files": {e[1]: sorted((f.path, f.cid, f.size, f.oid) for f in catalog.files("model", e[1])) for e in entities},
            "trending": [(r.rank, r.id, r.trending_score) for r in catalog.trending("model")],
            "readmes": {e[1]: catalog.readme("model", e[1]) for e in entities},
            "search": sorted(h.id for h in catalog.search("").hits),
        }


def _snapshot_parts(config: Config) -> dict[str, str]:
    with Mirror(config) as mirror:
        cid = mirror.snapshot().cid
    with EmbeddedStore(config.store_path, readonly=True, create=False) as store:
        return {e.name: str(e.cid) for e in store.ls(cid)}


def test_two_shards_and_a_merge_equal_one_unsharded_run(emu, hf_env, tmp_path) -> None:
    single = _config(emu, tmp_path / "single")
    assert _mirror(single) == set(IDS)
    first, second = _config(emu, tmp_path / "m1", "1/2"), _config(emu, tmp_path / "m2", "2/2")
    mine, theirs = _mirror(first), _mirror(second)
    assert mine and theirs and not mine & theirs and mine | theirs == set(IDS)
    assert mine == {i for i in IDS if shard_of("model", i, 2) == 1}

    env = hf_env.subprocess_env(emu)
    merged = subprocess.run([*CLI, "--output-dir", str(first.output_dir), "export", "--merge", str(second.output_dir)],
                            env=env, capture_output=True, text=True, timeout=180)
    assert merged.returncode == 0, merged.stderr
    assert f"merged {len(theirs)} entities from {second.output_dir} ({len(theirs)} repos' blocks copied)" in merged.stdout
    assert _archive(first.output_dir) == _archive(single.output_dir)

    parts, reference = _snapshot_parts(first), _snapshot_parts(single)
    # the repo trees and the trending lists are the same CIDs; run.json, state.sqlite and the layout
    # files under meta/ record when and by which runs, so they (and the root) differ by design
    for name in ("models", "datasets", "spaces", "trending.json"):
        assert parts[name] == reference[name], name
    with EmbeddedStore(first.store_path, readonly=True, create=False) as store:
        assert store.verify().ok

    again = subprocess.run([*CLI, "--output-dir", str(first.output_dir), "export", "--merge", str(second.output_dir)],
                           env=env, capture_output=True, text=True, timeout=180)
    assert again.returncode == 0 and f"merged 0 entities from {second.output_dir}" in again.stdout
    with Catalog(first.output_dir) as catalog:
        assert len(catalog.runs()) == 2  # each machine's run once


def test_a_shard_keeps_its_repos_when_the_trending_list_shifts(emu, tmp_path) -> None:
    config = _config(emu, tmp_path / "m1", "1/2")
    first = _mirror(config)
    for rank, repo_id in enumerate(reversed(IDS)):  # the list turned upside down
        emu.set_trending(repo_id, 100 - rank)
    assert _mirror(config) == first
    with Catalog(config.output_dir) as catalog:
        assert [r.id for r in catalog.trending("model")] == list(reversed(IDS))  # the whole list, recorded


@given(st.text(min_size=1, max_size=40), st.integers(min_value=1, max_value=16))
def test_every_entity_has_exactly_one_shard(repo_id: str, count: int) -> None:
    owners = [i for i in range(1, count + 1) if Shard(i, count).owns("model", repo_id)]
    assert owners == [shard_of("model", repo_id, count)]


def test_a_bad_shard_is_a_config_error() -> None:
    for bad in ("0/2", "3/2", "1", "a/b", "1/0"):
        with pytest.raises(ConfigError, match="scrape.shard"):
            load_config(env={}, overrides={"scrape.shard": bad})
