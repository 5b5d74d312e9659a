"""Datasets and Spaces through the one pipeline, and ``all`` of them at once within one quota:
the real huggingface_hub client against the emulator (with its dataset viewer), CIDs checked
against ``ipfs add -r -H`` of the kept files computed here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hf_ipfs_scraper import Catalog, Mirror, load_config
from hf_ipfs_scraper.config import Config
from hf_ipfs_scraper.ipfs.fsimport import add_path
from hf_ipfs_scraper.ipfs.options import ImportOptions
from hf_ipfs_scraper.ipfs.sink import NullSink
from hf_ipfs_scraper.records import RepoFile as ListedFile
from hf_ipfs_scraper.scrapers.datasets import is_data_file
from tests.hubemu import ACCESS_TOKEN, HubEmulator, Repo, build_corpus

CLI = [sys.executable, "-m", "hf_ipfs_scraper.cli.main"]


def make_config(emu: HubEmulator, out: Path, **overrides: Any) -> Config:
    values = {"hub.endpoint": emu.endpoint, "output_dir": str(out), "datasets.viewer_endpoint": emu.viewer_endpoint}
    values.update({key.replace("__", "."): value for key, value in overrides.items()})
    return load_config(env={}, overrides=values)


def repos(corpus: list[Repo], type_: str, *, gated: bool | None = None) -> list[Repo]:
    out = [r for r in corpus if r.type == type_ and not r.private]
    return [r for r in out if gated is None or bool(r.gated) == gated]


def root_cid(files: list[Any], folder: Path) -> str:
    folder.mkdir(parents=True)
    for f in files:
        (folder / f.path).parent.mkdir(parents=True, exist_ok=True)
        (folder / f.path).write_bytes(f.data)
    return str(add_path(folder, NullSink(), ImportOptions(), recursive=True, hidden=True).cid)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


@pytest.fixture
def corpus() -> list[Repo]:
    return build_corpus(n_models=6, seed=3, n_datasets=8, n_spaces=6, lfs_max_size=64 << 10)


def test_datasets_keep_card_metadata_and_a_capped_sample_and_a_viewer_preview(
    hf_env, hub_factory, corpus, tmp_path: Path
) -> None:
    emu = hub_factory(corpus)
    public = repos(corpus, "dataset", gated=False)
    assert len(public) >= 3
    no_viewer, broken = public[1].id, public[2].id
    emu.set_viewer(no_viewer, "none")
    emu.set_viewer(broken, "error")
    cap = 40_000
    config = make_config(emu, tmp_path / "out", datasets__sample_size=str(cap))
    with Mirror(config) as mirror:
        summary = mirror.scrape_datasets(limit=len(repos(corpus, "dataset")))
    assert summary.status == "completed" and summary.failed == 0, str(summary)
    assert (summary.mirrored, summary.skipped) == (len(public), len(repos(corpus, "dataset", gated=True)))
    with Catalog(config.output_dir) as catalog:
        for repo in public:
            folder = config.output_dir / "datasets" / repo.id.replace("/", "__")
            meta = read_json(folder / "metadata.json")
            kept = {f["path"] for f in read_json(folder / "files.json")}
            listed = [ListedFile(f.path, f.size, f.blob_id) for f in repo.files]
            data = [f for f in listed if is_data_file(f)]
            # every non-data file (card, config, script) is kept; data files up to the cap
            assert {f.path for f in listed if not is_data_file(f)} <= kept
            assert "README.md" in kept
            assert sum(f.size for f in data if f.path in kept) <= cap
            left_out = {f.path for f in data} - kept
            assert set(meta["ipfs"]["excluded"]) == left_out
            assert all("datasets.sample_size" in why for why in meta["ipfs"]["excluded"].values())
            assert (folder / "ipfs_cid.txt").read_text().strip() == root_cid(
                [f for f in repo.files if f.path in kept], tmp_path / "cid" / repo.id.replace("/", "__"))
            entity = catalog.entity("dataset", repo.id)
            assert entity is not None and entity.status == "done"
            assert entity.task_categories == tuple(meta["task_categories"])
            assert entity.total_bytes == sum(f.size for f in repo.files)
            preview = read_json(folder / "preview_info.json")
            expected = {no_viewer: "no_viewer", broken: "error"}.get(repo.id, "ok")
            assert preview["status"] == expected, preview
            if expected == "ok":
                assert preview["splits"] and preview["first_rows"]
                assert {"features", "rows"} <= set(preview["first_rows"][0])
            if expected == "error":
                assert preview["errors"][0]["status"] == 500


def test_full_keeps_every_file_and_a_slow_viewer_times_out_into_the_preview(hf_env, hub_factory, corpus, tmp_path) -> None:
    emu = hub_factory(corpus)
    target = repos(corpus, "dataset", gated=False)[0]
    emu.set_viewer(target.id, "slow")
    emu.viewer_delay = 3.0
    config = make_config(emu, tmp_path / "out", datasets__full=True, datasets__viewer_timeout="0.5s")
    with Mirror(config) as mirror:
        summary = mirror.scrape_datasets(limit=len(repos(corpus, "dataset")))
    assert summary.mirrored == len(repos(corpus, "dataset", gated=False)), str(summary)
    folder = config.output_dir / "datasets" / target.id.replace("/", "__")
    assert {f["path"] for f in read_json(folder / "files.json")} == {f.path for f in target.files}
    preview = read_json(folder / "preview_info.json")
    assert preview["status"] == "error" and "timed out" in preview["errors"][0]["message"]


def test_a_gated_dataset_sends_the_token_to_the_viewer(hf_env, hub_factory, corpus, tmp_path) -> None:
    emu = hub_factory(corpus)
    gated = repos(corpus, "dataset", gated=True)
    assert gated, "the corpus needs a gated dataset"
    config = make_config(emu, tmp_path / "out", hub__token=ACCESS_TOKEN)
    with Mirror(config) as mirror:
        summary = mirror.scrape_datasets(limit=20)
    assert gated[0].id not in {repo_id for repo_id, _ in summary.skips}, str(summary)
    folder = config.output_dir / "datasets" / gated[0].id.replace("/", "__")
    assert read_json(folder / "preview_info.json")["status"] == "ok"


def test_spaces_mirror_their_app_files_and_record_looks_and_relationships(hf_env, hub_factory, corpus, tmp_path) -> None:
    emu = hub_factory(corpus)
    public = repos(corpus, "space")
    config = make_config(emu, tmp_path / "out")
    with Mirror(config) as mirror:
        summary = mirror.scrape_spaces(limit=len(public))
    assert summary.mirrored == len(public), str(summary)
    with Catalog(config.output_dir) as catalog:
        for repo in public:
            folder = config.output_dir / "spaces" / repo.id.replace("/", "__")
            assert {f["path"] for f in read_json(folder / "files.json")} == {f.path for f in repo.files}
            looks = read_json(folder / "thumbnail_info.json")
            card = repo.card_data or {}
            assert looks["sdk"] == repo.sdk
            assert (looks["title"], looks["emoji"], looks["colorFrom"]) == (
                card.get("title"), card.get("emoji"), card.get("colorFrom"))
            links = read_json(folder / "relationships.json")
            models = [m for m in card.get("models") or [] if isinstance(m, str)]
            assert set(models) <= set(links["models"])
            node = f"space:{repo.id}"
            assert {f"model:{m}" for m in links["models"]} <= {v for v, _ in catalog.provenance.parents(node)} | {
                dst for _, dst, r in catalog.provenance.graph.out_edges(node, data="relation") if r == "uses"}
            assert catalog.entity("space", repo.id).sdk == repo.sdk


def test_all_three_types_run_at_once_one_run_and_snapshot_each_within_one_quota(hf_env, hub_factory, corpus, tmp_path) -> None:
    quota = 60
    emu = hub_factory(corpus, quotas={"api": quota, "resolvers": 1000, "pages": 100})
    config = make_config(emu, tmp_path / "out", hub__quota_api=quota)
    with Mirror(config) as mirror:
        summaries = mirror.scrape_all({"model": 3, "dataset": 2, "space": 2})
    assert [s.repo_type for s in summaries] == ["model", "dataset", "space"]
    assert all(s.status == "completed" and s.failed == 0 for s in summaries), [str(s) for s in summaries]
    assert emu.counts["429"] == 0
    assert emu.counts["list"] == 3  # one listing request each
    api = sum(s.requests.get("api", 0) for s in summaries)
    assert api <= quota
    # each run counts its own requests, though they ran at once: together, exactly what the Hub saw
    assert api == sum(emu.counts[k] for k in ("list", "tree", "harnesses", "info"))
    assert sum(s.requests.get("resolvers", 0) for s in summaries) == emu.counts["resolve_get"]
    for s in summaries:
        assert s.requests["api"] - (1 + s.mirrored) in (0, 1), str(s)  # listing + trees (+ the agent registry)
        assert s.requests["resolvers"] == s.files_downloaded, str(s)
    with Catalog(config.output_dir) as catalog:
        for summary, n in zip(summaries, (3, 2, 2)):
            assert len(catalog.trending(summary.repo_type, summary.run_id)) == n
        assert {r.key for r in catalog.runs()} == {"models", "datasets", "spaces"}
    for kind in ("models", "datasets", "spaces"):
        assert any((config.output_dir / kind).iterdir())


def test_cli_all_and_sync_types(hf_env, hub_factory, corpus, tmp_path) -> None:
    emu = hub_factory(corpus)
    env = hf_env.subprocess_env(emu) | {"HF_IPFS_SCRAPER_DATASETS__VIEWER_ENDPOINT": emu.viewer_endpoint}
    out = tmp_path / "out"
    result = subprocess.run([*CLI, "--output-dir", str(out), "all", "--models", "2", "--datasets", "1", "--spaces", "1"],
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert [line.split(" ", 3)[2] for line in result.stdout.splitlines() if line.startswith("run ")] == [
        "(models)", "(datasets)", "(spaces)"]
    result = subprocess.run([*CLI, "--output-dir", str(out), "sync", "--types", "datasets,spaces", "--runs", "1",
                             "--limit", "1"], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert sum(line.startswith("run ") for line in result.stdout.splitlines()) == 2
    result = subprocess.run([*CLI, "--output-dir", str(out), "trending", "--type", "space", "--json"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and len(json.loads(result.stdout)) == 1
    result = subprocess.run([*CLI, "--output-dir", str(out), "status", "--json"], env=env, capture_output=True,
                            text=True, timeout=60)
    status = json.loads(result.stdout)
    assert status["entities"]["dataset"]["done"] >= 1 and status["entities"]["space"]["done"] >= 1
    bad = subprocess.run([*CLI, "sync", "--types", "models,widgets"], env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "expected a comma-separated list" in bad.stderr


def test_type_filters_go_to_the_hub_when_single_and_client_side_when_several(hf_env, hub_factory, corpus, tmp_path) -> None:
    from hf_ipfs_scraper.scrapers import DatasetsScraper, ModelsScraper, SpacesScraper

    one = load_config(env={}, overrides={"datasets.task_categories": ["translation"], "models.pipeline_tags": ["fill-mask"]})
    assert DatasetsScraper(one).listing_params() == {"task_categories": "translation"}
    assert ModelsScraper(one).listing_params() == {"pipeline_tag": "fill-mask"}
    assert not DatasetsScraper(one).filters_client_side
    two = load_config(env={}, overrides={"datasets.task_categories": ["translation", "summarization"]})
    assert DatasetsScraper(two).listing_params() == {} and DatasetsScraper(two).filters_client_side
    assert SpacesScraper(load_config(env={}, overrides={"spaces.sdks": ["static"]})).filters_client_side

    emu = hub_factory(corpus)
    wanted = "static"
    config = make_config(emu, tmp_path / "out", spaces__sdks=[wanted])
    with Mirror(config) as mirror:
        summary = mirror.scrape_spaces(limit=10)
    expected = {r.id for r in repos(corpus, "space") if r.sdk == wanted}
    assert expected and {p.name.replace("__", "/") for p in (config.output_dir / "spaces").iterdir()} == expected
    assert summary.discovered == len(expected)
    task = next(t for r in repos(corpus, "dataset", gated=False) for t in r.tags if t.startswith("task_categories:"))
    config = make_config(emu, tmp_path / "out2", datasets__task_categories=[task.split(":", 1)[1]])
    with Mirror(config) as mirror:
        mirror.scrape_datasets(limit=50)
    with Catalog(config.output_dir) as catalog:
        listed = [e for e in catalog.entities("dataset")]
    assert listed and all(task.split(":", 1)[1] in e.task_categories for e in listed)
    assert any(f"filter={task.replace(':', '%3A')}" in target for _m, target, _s in emu.requests)
