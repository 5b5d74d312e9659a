"""``prune`` on a three-run history: exactly what the policy says goes, nothing a kept snapshot
links, and the store verifies afterwards."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hf_ipfs_scraper import Mirror, load_config
from hf_ipfs_scraper.config import Config
from hf_ipfs_scraper.ipfs.cid import CID
from hf_ipfs_scraper.state import StateStore
from hf_ipfs_scraper.storage.embedded import EmbeddedStore
from tests.hubemu import HubEmulator, Repo, RepoFile

CLI = [sys.executable, "-m", "hf_ipfs_scraper.cli.main"]
NAMES = ["a", "b", "c", "d", "e"]


def _model(name: str, score: int) -> Repo:
    files = [RepoFile("README.md", f"# {name}\n".encode()), RepoFile("config.json", b"{}\n"),  # config shared
             RepoFile("weights.bin", name.encode() * 200_000, lfs=True)]  # 200 KB of its own
    return Repo("model", f"org/{name}", files, trending_score=score, likes=1, downloads=1)


@pytest.fixture
def emu(hf_env, hub_factory) -> HubEmulator:
    return hf_env.use(hub_factory([_model(n, 50 - i) for i, n in enumerate(NAMES)]))


def _trend(emu: HubEmulator, order: str) -> None:
    """Make the Hub list the models in this order (the rest below)."""
    for rank, name in enumerate(order + "".join(n for n in NAMES if n not in order)):
        emu.set_trending(f"org/{name}", 100 - rank)


def _history(emu: HubEmulator, out: Path) -> Config:
    """Run 1 lists a, b, c; run 2 d, e, a; run 3 d, e, a; a snapshot after each."""
    config = load_config(env={}, overrides={"hub.endpoint": emu.endpoint, "output_dir": str(out)})
    for order in ("abc", "dea", "dea"):
        _trend(emu, order)
        with Mirror(config) as mirror:
            assert mirror.scrape_models(limit=3).status == "completed"
            mirror.snapshot()
    return config


def _state(config: Config) -> dict[str, str]:
    with StateStore(config.output_dir / "state.sqlite") as state:
        return {e.id: e.status for e in state.iter_entities("model")}


def _pinned_roots(config: Config) -> set[str]:
    with EmbeddedStore(config.store_path, readonly=True, create=False) as store:
        return {str(p.cid) for p in store.pins()}


def test_keep_runs_unpins_what_left_the_lists_and_the_snapshots_of_dropped_runs_only(emu, tmp_path) -> None:
    config = _history(emu, tmp_path / "out")
    with StateStore(config.output_dir / "state.sqlite") as state:
        roots = {e.id: e.root_cid for e in state.iter_entities("model")}
        snapshots = {s.id: s.cid for s in state.snapshots()}
        weights = {e.id: next(f.cid for f in state.files("model", e.id) if f.path == "weights.bin")
                   for e in state.iter_entities("model")}
    assert set(snapshots) == {1, 2, 3}

    with Mirror(config) as mirror:
        dry = mirror.prune(keep_runs=2, dry_run=True)
    assert sorted(e.id for e in dry.plan.unpin) == ["org/b", "org/c"]
    assert _state(config) == {f"org/{n}": "done" for n in "abcde"}  # a dry run changes nothing

    with Mirror(config) as mirror:
        result = mirror.prune(keep_runs=2)
    assert sorted(e.id for e in result.plan.unpin) == ["org/b", "org/c"]
    assert [s.id for s in result.plan.dropped_snapshots] == [1]  # it follows run 1 only
    assert _state(config) == {"org/a": "done", "org/b": "pending", "org/c": "pending", "org/d": "done", "org/e": "done"}
    pinned = _pinned_roots(config)
    assert roots["org/b"] not in pinned and roots["org/c"] not in pinned and snapshots[1] not in pinned
    assert {roots[f"org/{n}"] for n in "ade"} | {snapshots[2], snapshots[3]} <= pinned
    # what only b and c held is gone; what others share (config.json) stays
    assert result.freed_bytes is not None and result.freed_bytes >= 2 * 200_000
    with EmbeddedStore(config.store_path, readonly=True, create=False) as store:
        assert not store.has(CID.parse(weights["org/b"])) and not store.has(CID.parse(weights["org/c"]))
        assert store.has(CID.parse(weights["org/a"]))
        assert store.verify().ok
    with Mirror(config) as mirror:
        assert mirror.search is not None and {h.id for h in mirror.search.search(_all()).hits} == {"org/a", "org/d", "org/e"}
        assert [s.id for s in mirror.state.snapshots()] == [3, 2]


def _all():  # type: ignore[no-untyped-def]
    from hf_ipfs_scraper.search import SearchQuery

    return SearchQuery(text="")


def test_the_newest_snapshot_holds_its_repos_even_when_no_run_is_kept(emu, tmp_path) -> None:
    config = _history(emu, tmp_path / "out")
    with Mirror(config) as mirror:
        result = mirror.prune(keep_days=1e-9)  # no run is that recent
    assert sorted(e.id for e in result.plan.held) == ["org/a", "org/d", "org/e"]  # the newest snapshot's
    assert sorted(e.id for e in result.plan.unpin) == ["org/b", "org/c"]
    assert [s.id for s in result.plan.kept_snapshots] == [3]


def test_a_budget_unpins_oldest_out_and_the_cli_reports_what_it_freed(emu, hf_env, tmp_path) -> None:
    config = _history(emu, tmp_path / "out")
    env = hf_env.subprocess_env(emu)
    keep_all = subprocess.run([*CLI, "--output-dir", str(config.output_dir), "prune", "--keep-runs", "3"],
                              env=env, capture_output=True, text=True, timeout=120)
    assert keep_all.returncode == 0, keep_all.stderr
    assert "unpin 0 repos" in keep_all.stdout
    tiny = subprocess.run([*CLI, "--output-dir", str(config.output_dir), "prune", "--max-store-size", "1KB"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert tiny.returncode == 0, tiny.stderr
    # over budget: the oldest runs go, and the snapshots that follow only them, never the newest
    # snapshot's repos (a, d, e)
    assert "  unpin model org/b " in tiny.stdout and "  unpin model org/c " in tiny.stdout
    assert "  unpin snapshot 1 " in tiny.stdout and "  unpin snapshot 2 " in tiny.stdout
    assert "snapshot 3 " not in tiny.stdout
    assert not any(f"org/{n} " in tiny.stdout for n in "ade") and "freed " in tiny.stdout
    assert _state(config) == {"org/a": "done", "org/b": "pending", "org/c": "pending", "org/d": "done", "org/e": "done"}
    bad = subprocess.run([*CLI, "--output-dir", str(config.output_dir), "prune"], env=env, capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 1 and "say what to keep" in bad.stderr and "Traceback" not in bad.stderr


def test_a_pruned_repo_a_catalog_walk_listed_goes_back_to_listed_and_stays_searchable(emu, tmp_path) -> None:
    """Pruning lets go of a repo's content, not of what the catalog knows of it: a repo a walk
    listed is catalog-only again (``listed``, still in the index, not mirrored); one no walk
    listed goes back to ``pending`` and leaves the index (the test above)."""
    from hf_ipfs_scraper.search import SearchQuery

    config = _history(emu, tmp_path / "out")
    with Mirror(config) as mirror:
        mirror.catalog(["model"])  # every model listed; b and c mirrored but off the kept lists
        result = mirror.prune(keep_runs=2)
        assert sorted(e.id for e in result.plan.unpin) == ["org/b", "org/c"]
        assert mirror.search is not None
        hits = {h.id: h for h in mirror.search.search(SearchQuery(text="")).hits}
    assert _state(config) == {"org/a": "done", "org/b": "listed", "org/c": "listed", "org/d": "done", "org/e": "done"}
    assert set(hits) == {f"org/{n}" for n in NAMES} and not hits["org/b"].mirrored and hits["org/a"].mirrored
