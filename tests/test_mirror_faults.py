"""A mirror through a Hub that fails the way real ones do (seeded faults, ``tests/hubemu/faults.py``):
every repo a retry can get is done within the run, and nothing recorded differs from the Hub's bytes."""

from __future__ import annotations

import io
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
