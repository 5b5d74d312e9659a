"""Search kept current as repos are mirrored (Catalog and CLI), and the older mirror's job API
(``/api/jobs``, ``/api/jobs/{id}/models``) served over a real uvicorn server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import httpx2
import pytest

from hf_ipfs_scraper import Catalog, Mirror, load_config
from tests.hubemu import HubEmulator, Repo, RepoFile
from tests.hubemu.fixtures import HfEnv
from tests.test_web_hub import ServerThread

CLI = [sys.executable, "-m", "hf_ipfs_scraper.cli.main"]


def model(repo_id: str, score: int, text: str, size: int) -> Repo:
    files = [RepoFile("README.md", f"---\nlicense: mit\n---\n# {repo_id}\n\n{text}\n".encode()),
             RepoFile("weights.bin", bytes(size), lfs=True)]
    return Repo("model", repo_id, files, trending_score=score, likes=score, downloads=10 * score,
                pipeline_tag="fill-mask", library_name="transformers")


CORPUS = [
    model("ger/bert-deutsch", 50, "Ein deutsches Sprachmodell für Nachrichten und Wikipedia.", 20_000),
    model("eng/bert-news", 40, "An English language model for news articles.", 40_000),
    model("eng/tiny", 30, "A tiny model. The zebra phrase lives only here.", 1_000),
    model("fr/camembert", 20, "Un modèle de langue français.", 80_000),
]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("jobs-archive")
    with pytest.MonkeyPatch.context() as mp, HubEmulator(CORPUS) as emu:
        HfEnv(mp, root / "hf-home").use(emu)
        config = load_config(env={}, overrides={"hub.endpoint": emu.endpoint, "output_dir": str(root / "out")})
        with Mirror(config) as mirror:
            first = mirror.scrape_models(limit=4)
            emu.set_trending("fr/camembert", 99)
            second = mirror.scrape_models(limit=2)
        assert first.mirrored == 4 and second.unchanged == 2
        yield config.output_dir


@pytest.fixture(scope="module")
def server(archive: Path) -> Iterator[ServerThread]:
    from hf_ipfs_scraper.web.app import create_app

    with ServerThread(create_app(archive)) as running:
        yield running


def get(server: ServerThread, path: str, **params: Any) -> httpx2.Response:
    return httpx2.get(server.url + path, params=params, timeout=30)


def test_search_finds_what_was_mirrored_with_filters_and_sorts(archive: Path) -> None:
    with Catalog(archive) as catalog:
        assert [h.id for h in catalog.search("zebra phrase").hits] == ["eng/tiny"]
        assert catalog.search("deutsches Sprachmodell").hits[0].id == "ger/bert-deutsch"
        sizes = {h.id: h.size_bytes for h in catalog.search("", limit=50).hits}
        cut = sizes["ger/bert-deutsch"]
        assert {h.id for h in catalog.search("", size_lte=cut).hits} == {i for i, s in sizes.items() if s <= cut}
        assert {h.id for h in catalog.search("", size_gte=cut + 1).hits} == {i for i, s in sizes.items() if s > cut}
        by_likes = [h.id for h in catalog.search("", sort="likes", descending=False).hits]
        assert by_likes == ["fr/camembert", "eng/tiny", "eng/bert-news", "ger/bert-deutsch"]
        run2 = max(catalog.trending_runs("model"))
        assert {h.id for h in catalog.search("", run_id=run2).hits} == {"fr/camembert", "ger/bert-deutsch"}
        frame = catalog.search_frame("news")
        assert set(frame["id"]) >= {"eng/bert-news"}


def test_cli_search_and_reindex(archive: Path) -> None:
    result = subprocess.run([*CLI, "--output-dir", str(archive), "search", "bert", "--size-lte", "30KB",
                             "--sort", "-trending_score", "--json"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)["hits"]
    assert [h["id"] for h in hits] == ["ger/bert-deutsch"]
    odd = subprocess.run([*CLI, "--output-dir", str(archive), "search", '"unbalanced AND ('],
                         capture_output=True, text=True, timeout=60)
    assert odd.returncode == 0 and "Traceback" not in odd.stderr
    again = subprocess.run([*CLI, "--output-dir", str(archive), "reindex"], capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and again.stdout.startswith("indexed 4 repos"), again.stderr


def test_jobs_list_runs_in_the_older_mirrors_envelope(server: ServerThread) -> None:
    body = get(server, "/api/jobs", limit=1).json()
    assert body["pagination"] == {"total": 2, "page": 1, "limit": 1, "pages": 2}
    job = body["data"][0]
    assert set(job) == {"_id", "key", "status", "startTime", "endTime", "log"}
    assert (job["key"], job["status"]) == ("models", "completed") and job["startTime"].endswith("Z")
    assert get(server, "/api/jobs", page=2, limit=1).json()["data"][0]["_id"] != job["_id"]
    assert get(server, "/api/jobs", status="failed").json()["pagination"]["total"] == 0
    for bad in ({"limit": 0}, {"limit": 51}, {"page": 0}, {"status": "weird"}, {"limit": "x"}):
        assert get(server, "/api/jobs", **bad).status_code == 422, bad


def test_job_models_with_search_sort_and_size_filters(server: ServerThread) -> None:
    first = min(int(j["_id"]) for j in get(server, "/api/jobs").json()["data"])
    body = get(server, f"/api/jobs/{first}/models").json()
    assert [m["id"] for m in body["data"]] == ["ger/bert-deutsch", "eng/bert-news", "eng/tiny", "fr/camembert"]
    item = body["data"][0]
    assert {"id", "author", "gated", "likes", "trendingScore", "private", "sha", "downloads", "tags", "pipeline_tag",
            "library_name", "createdAt", "modelId", "siblings", "lastModified", "size", "cid"} <= set(item)
    assert item["size"] == sum(s["size"] for s in item["siblings"]) and item["cid"].startswith("Qm")
    assert all(s["cid"].startswith("Qm") for s in item["siblings"])
    ordered = get(server, f"/api/jobs/{first}/models", sort="-size").json()["data"]
    assert [m["id"] for m in ordered][0] == "fr/camembert"
    sizes = {m["id"]: m["size"] for m in body["data"]}
    cut = sizes["eng/bert-news"]
    small = get(server, f"/api/jobs/{first}/models", sizeLte=cut).json()
    assert {m["id"] for m in small["data"]} == {i for i, s in sizes.items() if s <= cut}
    assert {m["id"] for m in get(server, f"/api/jobs/{first}/models", sizeGte=cut).json()["data"]} == {
        i for i, s in sizes.items() if s >= cut}
    found = get(server, f"/api/jobs/{first}/models", search="zebra").json()
    assert [m["id"] for m in found["data"]] == ["eng/tiny"] and found["pagination"]["total"] == 1
    paged = [get(server, f"/api/jobs/{first}/models", limit=1, page=p).json()["data"][0]["id"] for p in (1, 2, 3, 4)]
    assert paged == [m["id"] for m in body["data"]]
    assert get(server, f"/api/jobs/{first}/models", sort="-bogus").status_code == 400
    assert get(server, "/api/jobs/999/models").status_code == 404
    assert get(server, "/api/jobs/abc/models").status_code == 422
    assert get(server, f"/api/jobs/{first}/models", sizeGte=-1).status_code == 422


def test_api_health_search_entity_and_provenance(server: ServerThread) -> None:
    health = get(server, "/api/health").json()
    assert health["status"] == "ok" and health["entities"]["model"]["done"] == 4
    found = get(server, "/api/search", q="zebra").json()
    assert [d["id"] for d in found["data"]] == ["eng/tiny"] and found["pagination"]["total"] == 1
    assert "<mark>" in found["data"][0]["snippet"] and found["data"][0]["root_cid"].startswith("Qm")
    ranked = get(server, "/api/search", sort="size", order="asc", limit=2).json()
    assert [d["id"] for d in ranked["data"]] == ["eng/tiny", "ger/bert-deutsch"] and ranked["pagination"]["pages"] == 2
    assert get(server, "/api/search", type="model", size_gte=40_001).json()["pagination"]["total"] == 2  # 40,000 + README
    for bad in ({"limit": 0}, {"limit": 51}, {"sort": "nope"}, {"type": "widget"}, {"size_gte": -1}, {"order": "up"}):
        assert get(server, "/api/search", **bad).status_code == 422, bad
    assert get(server, "/api/search", q='"unbalanced (').status_code == 200
    detail = get(server, "/api/entities/model/eng/tiny").json()
    assert detail["entity"]["id"] == "eng/tiny" and detail["entity"]["root_cid"].startswith("Qm")
    assert {f["path"] for f in detail["files"]} == {"README.md", "weights.bin"}
    assert [t["rank"] for t in detail["trending"]] == [3]
    assert detail["lineage"] == [] and detail["descendants"] == 0
    assert get(server, "/api/entities/model/nobody/here").status_code == 404
    assert get(server, "/api/entities/widget/x").status_code == 422
    svg = get(server, "/api/provenance/model/eng/tiny", format="svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml") and b"eng/tiny" in svg.content
    graph = get(server, "/api/provenance/model/eng/tiny").json()
    assert [n["id"] for n in graph["nodes"]] == ["model:eng/tiny"]
    assert get(server, "/api/provenance/model/../../etc/passwd").status_code in (404, 422)


def test_numbers_past_sqlites_range_are_422_not_500(server: ServerThread) -> None:
    """Found by the schemathesis run: a job id past 2**63 overflowed SQLite's INTEGER."""
    huge = str(2**70)
    assert get(server, f"/api/jobs/{huge}/models").status_code == 422
    assert get(server, "/api/jobs/1/models", sizeGte=huge).status_code == 422
    assert get(server, "/api/search", size_lte=huge).status_code == 422
    assert get(server, "/api/search", run=huge).status_code == 422
    assert get(server, "/api/jobs", page=huge).status_code == 422
    assert get(server, "/api/jobs/1/models", page=huge).status_code == 422
    assert get(server, "/api/search", page=huge).status_code == 422
