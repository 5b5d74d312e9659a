"""The read-only ``Catalog``: what a mirror recorded (metadata columns, READMEs, files, trending
history, provenance), read while a mirror writes — in this process and from another one — and an
archive made before entity metadata lived in the state store, upgraded on the next open."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from hf_ipfs_scraper import Catalog, Mirror, load_config
from hf_ipfs_scraper.config import Config
from hf_ipfs_scraper.errors import StoreError
from hf_ipfs_scraper.hub import session
from hf_ipfs_scraper.state import StateStore
from hf_ipfs_scraper.state.schema import MIGRATIONS, migrate
from tests.hubemu import HubEmulator, Repo, RepoFile

CLI = [sys.executable, "-m", "hf_ipfs_scraper.cli.main"]


def card(text: str) -> RepoFile:
    return RepoFile("README.md", text.encode())


def corpus() -> list[Repo]:
    base = Repo("model", "lab/base", [card("---\nlicense: mit\nlanguage: [en, fr]\ndatasets: [lab/corpus]\n---\n# Base\n"),
                                      RepoFile("config.json", b"{}\n")],
                trending_score=50, likes=9, downloads=90, tags=["license:mit", "dataset:lab/corpus"])
    tuned = Repo("model", "lab/tuned", [card("---\nbase_model: lab/base\nlicense: apache-2.0\n---\n# Tuned\n")],
                 trending_score=40, likes=5, downloads=50,
                 tags=["base_model:lab/base", "base_model:finetune:lab/base", "license:apache-2.0"])
    quant = Repo("model", "lab/tuned-gguf", [card("---\nbase_model: lab/tuned\nbase_model_relation: quantized\n---\n")],
                 trending_score=30, likes=1, downloads=10)
    return [base, tuned, quant]


def config_for(emu: HubEmulator, out: Path, **overrides: Any) -> Config:
    return load_config(env={}, overrides={"hub.endpoint": emu.endpoint, "output_dir": str(out), **overrides})


def test_catalog_reads_metadata_readmes_files_history_and_provenance(hf_env, hub_factory, tmp_path: Path) -> None:
    emu = hub_factory(corpus())
    config = config_for(emu, tmp_path / "out")
    with Mirror(config) as mirror:
        first = mirror.scrape_models(limit=3)
        emu.set_trending("lab/tuned-gguf", 60)
        second = mirror.scrape_models(limit=3)
        # a Catalog opens beside the writing Mirror of this very process: no lock is taken
        with Catalog(config.output_dir) as catalog:
            assert catalog.entity("model", "lab/base").status == "done"
    assert first.mirrored == 3 and second.unchanged == 3
    with Catalog(config.output_dir) as catalog:
        base = catalog.entity("model", "lab/base")
        assert base is not None
        assert (base.license, base.languages, base.likes, base.downloads) == ("mit", ("en", "fr"), 9, 90)
        assert base.card_data == {"license": "mit", "language": ["en", "fr"], "datasets": ["lab/corpus"]}
        assert base.metadata is not None and base.metadata["id"] == "lab/base" and "card_data" not in base.metadata
        assert base.file_count == 2 and base.size_bytes == sum(f.size for f in corpus()[0].files)
        files = {f.path: f.cid for f in catalog.files("model", "lab/base")}
        assert base.readme_cid == files["README.md"]
        assert catalog.readme("model", "lab/base") == corpus()[0].files[0].data.decode()
        assert [r.id for r in catalog.trending("model")] == ["lab/tuned-gguf", "lab/base", "lab/tuned"]
        history = catalog.trending_history("model", "lab/tuned-gguf")
        assert [(run, row.rank) for run, row in history] == [(first.run_id, 3), (second.run_id, 1)]
        assert [e.id for e in catalog.entities("model", run_id=first.run_id)] == ["lab/base", "lab/tuned", "lab/tuned-gguf"]
        assert catalog.counts()["model"]["done"] == 3
        tracker = catalog.provenance
        assert [[(s.child, s.relation, s.parent) for s in p] for p in tracker.lineage("model:lab/tuned-gguf")] == [[
            ("model:lab/tuned-gguf", "quantized", "model:lab/tuned"), ("model:lab/tuned", "finetune", "model:lab/base")]]
        assert tracker.datasets_behind("model:lab/tuned-gguf") == {"dataset:lab/corpus"}
        assert tracker.node("dataset:lab/corpus")["mirrored"] is False


def test_two_mirrors_in_one_process_share_the_limiter_and_the_client(hf_env, hub_factory, tmp_path: Path) -> None:
    emu = hub_factory(corpus())
    one = Mirror(config_for(emu, tmp_path / "one"))
    two = Mirror(config_for(emu, tmp_path / "two"))
    try:
        assert one.limiter is two.limiter
        one.close()  # the first to close must not take the client away from the second
        assert two.scrape_models(limit=3).mirrored == 3
        assert two.limiter.stats().requests["api"] >= 1  # still counted by the shared limiter
    finally:
        one.close()
        two.close()
    assert not session._users  # the last one out restored huggingface_hub's default client


def test_a_catalog_reads_consistent_data_while_sync_writes_in_another_process(hf_env, hub_factory, tmp_path: Path) -> None:
    emu = hub_factory(corpus() + [Repo("model", f"crowd/m{i:02d}", [card(f"# m{i}\n")], trending_score=i)
                                  for i in range(12)], latency=0.02)
    out = tmp_path / "out"
    env = hf_env.subprocess_env(emu)
    writer = subprocess.Popen(
        [*CLI, "--output-dir", str(out), "sync", "--runs", "3", "--every", "0.5s", "--limit", "15", "--workers", "2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    reads = 0
    deadline = time.monotonic() + 120
    try:
        while writer.poll() is None and time.monotonic() < deadline:
            if not (out / "state.sqlite").exists():
                time.sleep(0.05)
                continue
            try:
                catalog = Catalog(out)
                catalog.state  # noqa: B018 - it opens at first use, and the very first open may race the schema's creation
            except StoreError as exc:
                assert "schema version" in str(exc) or "not a state database" in str(exc)
                continue
            with catalog:
                for entity in catalog.entities("model", status="done"):
                    # done means: root CID, sizes, README and every file recorded together
                    assert entity.root_cid and entity.file_count == len(catalog.files("model", entity.id))
                    assert entity.readme_cid == {f.path: f.cid for f in catalog.files("model", entity.id)}["README.md"]
                    assert catalog.readme("model", entity.id) is not None
                for run_id in catalog.trending_runs("model"):
                    ranks = [row.rank for row in catalog.trending("model", run_id)]
                    assert ranks == list(range(1, len(ranks) + 1))
                reads += 1
        out_text, err_text = writer.communicate(timeout=60)
    finally:
        if writer.poll() is None:
            writer.kill()
    assert writer.returncode == 0, err_text
    assert reads >= 3, "the catalog never read while sync ran"
    with Catalog(out) as catalog:
        assert catalog.counts()["model"]["done"] == 15
        assert len(catalog.trending_runs("model")) == 3


def test_an_archive_from_before_entity_metadata_is_upgraded_on_the_next_open(hf_env, hub_factory, tmp_path: Path) -> None:
    out = tmp_path / "old"
    out.mkdir()
    import sqlite3

    db = sqlite3.connect(out / "state.sqlite", isolation_level=None)
    migrate(db, "old", MIGRATIONS[:1])  # the schema version 1 release wrote
    now = time.time()
    db.execute("INSERT INTO entities (type, id, status, head_sha, sha, root_cid, first_seen, updated_at)"
               " VALUES ('model', 'old/tuned', 'done', 'abc', 'abc', 'bafyold', ?, ?)", (now, now))
    db.close()
    layout = out / "models" / "old__tuned"
    layout.mkdir(parents=True)
    (layout / "metadata.json").write_text(json.dumps({
        "type": "model", "id": "old/tuned", "sha": "abc", "likes": 4, "tags": ["base_model:finetune:old/base"],
        "card_data": {"base_model": "old/base", "license": "mit"}, "pipeline_tag": "fill-mask",
        "children_model_count": 0, "ipfs": {"root_cid": "bafyold"},
    }))
    with Catalog(out) as old, pytest.raises(StoreError, match="run a mirror command once to upgrade it"):
        old.entity("model", "old/tuned")  # the state store opens at its first use
    emu = hub_factory([])
    with Mirror(config_for(emu, out)):
        pass
    with Catalog(out) as catalog:
        entity = catalog.entity("model", "old/tuned")
        assert entity is not None and entity.status == "done" and entity.root_cid == "bafyold"
        assert (entity.likes, entity.license, entity.pipeline_tag) == (4, "mit", "fill-mask")
        assert catalog.provenance.parents("model:old/tuned") == [("model:old/base", "finetune")]
    with StateStore(out / "state.sqlite") as state:
        assert state.schema_version == MIGRATIONS[-1].version


def test_catalog_of_a_directory_without_a_mirror_says_so(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no mirror state"):
        Catalog(tmp_path)
