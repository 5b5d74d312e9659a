"""A mirror through a Hub that fails the way real ones do (seeded faults, ``tests/hubemu/faults.py``):
every repo a retry can get is done within the run, and nothing recorded differs from the Hub's bytes."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path
from typing import Any

import pytest

from hf_ipfs_scraper.hub import retry
from hf_ipfs_scraper.ipfs.importer import FileImporter
from hf_ipfs_scraper.ipfs.options import ImportOptions
from hf_ipfs_scraper.ipfs.sink import NullSink
from hf_ipfs_scraper.mirror import Mirror
from hf_ipfs_scraper.state import StateStore
from hf_ipfs_scraper.storage.embedded import EmbeddedStore
from tests.hubemu import build_corpus
from tests.hubemu.faults import FaultPlan
from tests.test_cli_mirror import CLI
from tests.test_mirror_e2e import make_config

_FAULTS = dict(server_error=0.08, drop=0.05, truncate=0.05, corrupt=0.08, slow=0.02, cdn_expiry=0.03,
               rate_limit_storm=0.02, slow_seconds=0.02, retry_after=0)


@pytest.mark.parametrize("seed", [1, 2])
def test_a_mirror_through_injected_faults_completes_every_reachable_repo_and_records_only_true_bytes(
    seed: int, hf_env: Any, hub_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retry, "FIRST", 0.02)
    monkeypatch.setattr(retry, "CAP", 0.2)
    corpus = build_corpus(n_models=24, seed=seed, with_real_minilm=False, n_datasets=0, n_spaces=0,
                          lfs_max_size=300_000)
    emu = hf_env.use(hub_factory(corpus))
    emu.faults = FaultPlan(seed=seed, **_FAULTS)
    config = make_config(emu, tmp_path / "out")
    with Mirror(config) as mirror:
        summary = mirror.scrape_models(limit=30, workers=4)
    injected = emu.fault_counts()
    emu.faults = FaultPlan()  # off: what follows reads the truth
    reachable = [r for r in corpus if r.type == "model" and not r.private and not r.gated]
    assert summary.status == "completed", str(summary)
    assert (summary.mirrored, summary.failed) == (len(reachable), 0), str(summary)
    assert sum(injected.values()) >= 20 and {"server_error", "drop", "truncate", "corrupt"} <= set(injected), injected
    files = sum(len(r.files) for r in reachable)
    assert 0 < summary.retries <= (len(reachable) + files) * config.scrape_retries  # each repo's, each file's
    options = ImportOptions.profile(config.store_profile)
    with StateStore(config.output_dir / "state.sqlite") as state, EmbeddedStore(
        config.store_path, readonly=True, create=False
    ) as store:
        assert {e.status for e in state.iter_entities("model", "in_progress")} == set()
        for repo in reachable:
            assert state.get("model", repo.id).status == "done"
            for f in repo.files:  # every recorded file is the Hub's bytes, by CID
                recorded = state.file("model", repo.id, f.path)
                assert recorded is not None, (repo.id, f.path)
                assert recorded.cid == str(FileImporter(NullSink(), options).add(io.BytesIO(f.data)).cid)
        assert store.verify().ok


def test_a_100_repo_mirror_of_all_three_types_through_faults_and_a_tight_quota_completes(
    hf_env: Any, hub_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's run: models, datasets and Spaces at once (one quota), 100 repos, every kind of
    fault; each reachable repo done, each recorded file the Hub's bytes, the store verified."""
    from tests.test_mirror_types import make_config as make_typed_config

    monkeypatch.setattr(retry, "FIRST", 0.02)
    monkeypatch.setattr(retry, "CAP", 0.2)
    corpus = build_corpus(n_models=40, seed=5, with_real_minilm=False, n_datasets=35, n_spaces=25,
                          lfs_max_size=100_000)
    quotas, window = {"api": 150, "resolvers": 400}, 3.0  # the run needs several windows of each
    emu = hf_env.use(hub_factory(corpus, quotas=quotas, window=window))
    emu.faults = FaultPlan(seed=5, **_FAULTS)
    config = make_typed_config(emu, tmp_path / "out")
    limits = {t: sum(1 for r in corpus if r.type == t) for t in ("model", "dataset", "space")}
    with Mirror(config) as mirror:
        summaries = mirror.scrape_all(limits, workers=4)
    injected = emu.fault_counts()
    counts = emu.counts
    emu.faults = FaultPlan()
    assert sum(limits.values()) >= 100 and len(set(injected)) == 7, injected
    # the quota is learnt from the RateLimit headers: the server's own 429s (not the injected
    # storms) stay within a small margin, and every one was waited out
    own_429 = counts["429"] - injected["rate_limit_storm"]
    windows = (counts["list"] + counts["tree"]) / quotas["api"] + counts["resolve_get"] / quotas["resolvers"]
    assert 0 <= own_429 <= 4 + 2 * windows, (own_429, windows, dict(counts))
    assert sum(s.seconds_waited for s in summaries) > 0
    print(f"\n100 repos through faults: {dict(injected)}; server 429s {own_429} over {windows:.1f} windows' worth; "
          f"retries {sum(s.retries for s in summaries)}; waited {sum(s.seconds_waited for s in summaries):.1f}s")
    options = ImportOptions.profile(config.store_profile)
    with StateStore(config.output_dir / "state.sqlite") as state, EmbeddedStore(
        config.store_path, readonly=True, create=False
    ) as store:
        for summary in summaries:
            reachable = [r for r in corpus if r.type == summary.repo_type and not r.private and not r.gated]
            assert summary.status == "completed" and summary.failed == 0, str(summary)
            assert summary.mirrored == len(reachable), str(summary)
            for repo in reachable:
                assert state.get(repo.type, repo.id).status == "done"
                by_path = {f.path: f for f in repo.files}
                recorded = state.files(repo.type, repo.id)
                assert recorded, repo.id
                for f in recorded:  # what is recorded is the Hub's bytes, by CID
                    true = by_path[f.path].data
                    assert f.cid == str(FileImporter(NullSink(), options).add(io.BytesIO(true)).cid), (repo.id, f.path)
        assert store.verify().ok
    # and as a user checks it: `ipfs repo verify` re-hashes every block (exit 1 on a corrupt or missing one)
    verify = subprocess.run([*CLI, "--output-dir", str(config.output_dir), "ipfs", "repo", "verify"],
                            capture_output=True, text=True, timeout=300)
    assert verify.returncode == 0, verify.stdout + verify.stderr
