"""The generated Hub (tests/hubemu/generated.py) walked by the real huggingface_hub client.

One 200,000-entity Hub (140k models, 30k datasets, 30k Spaces) is built once for the module (about
2 s) and walked whole once (about 200 listing pages; most of this file's time); the tests that
mutate use small hubs of their own, except ``touch``, which moves only dates and counters.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from huggingface_hub import HfApi, hf_hub_download, snapshot_download
from huggingface_hub.errors import HFValidationError, RepositoryNotFoundError
from huggingface_hub.utils import validate_repo_id

from tests.hubemu import ACCESS_TOKEN, GeneratedHub, HubEmulator, cardtext
from tests.hubemu.datasets import dataset_tags
from tests.hubemu.gendata import dataset_card_tags
from tests.hubemu.generated import recorded_models
from tests.hubemu.gentables import FIXED
from tests.hubemu.repo import card_data_from_readme
from tests.hubemu.sources import SHARED_DATA

BIG = {"model": 140_000, "dataset": 30_000, "space": 30_000}
PAGE = 1000
# what the scrapers ask for (hf_ipfs_scraper/scrapers/*.py), per type
EXPAND = {
    "model": ["author", "sha", "private", "disabled", "tags", "cardData", "trendingScore", "likes", "lastModified",
              "createdAt", "gated", "downloads", "library_name", "pipeline_tag"],
    "dataset": ["author", "sha", "private", "disabled", "tags", "cardData", "trendingScore", "likes", "lastModified",
                "createdAt", "gated", "downloads", "usedStorage", "description", "citation", "paperswithcode_id"],
    "space": ["author", "sha", "private", "disabled", "tags", "cardData", "trendingScore", "likes", "lastModified",
              "createdAt", "usedStorage", "sdk", "models", "datasets", "runtime", "subdomain"],
}
RECORDED = SHARED_DATA / "hub_api"


def _lister(api: HfApi, repo_type: str):  # noqa: ANN202 - the client's bound method
    return {"model": api.list_models, "dataset": api.list_datasets, "space": api.list_spaces}[repo_type]


def _raw(emu: HubEmulator, path: str, **params: object) -> httpx2.Response:
    with httpx2.Client(follow_redirects=False) as client:
        return client.get(emu.endpoint + path, params=params)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def big() -> Iterator[tuple[GeneratedHub, HubEmulator]]:
    hub = GeneratedHub(models=BIG["model"], datasets=BIG["dataset"], spaces=BIG["space"], seed=0)
    with HubEmulator(generated=hub) as emu:
        yield hub, emu


@pytest.fixture
def small(hf_env, hub_factory) -> tuple[GeneratedHub, HubEmulator]:  # noqa: ANN001 - fixtures
    hub = GeneratedHub(models=3000, datasets=800, spaces=600, seed=5)
    return hub, hf_env.use(hub_factory([], generated=hub))


# -- the whole Hub, walked once -----------------------------------------------------------------
def test_a_full_walk_lists_every_entity_once_with_its_fields(big) -> None:
    hub, emu = big
    api = HfApi(endpoint=emu.endpoint)
    emu.reset_counts()
    for repo_type in ("model", "dataset", "space"):
        ids, carded, derived = [], 0, 0
        for info in _lister(api, repo_type)(limit=None, expand=EXPAND[repo_type]):
            ids.append(info.id)
            assert info.sha and info.last_modified and info.created_at and info.author and info.tags
            assert info.likes is not None and info.private is False and info.disabled is not None
            assert info.trending_score is not None
            assert info.last_modified >= info.created_at
            if repo_type != "space":
                assert info.downloads is not None and info.gated in (False, "auto", "manual")
            else:
                assert info.sdk and info.runtime is not None and info.subdomain
            carded += info.card_data is not None
            derived += any(t.startswith("base_model:") for t in info.tags)
        expected = hub.ids(repo_type)
        assert len(ids) == len(set(ids)) == len(expected) and set(ids) == set(expected)
        assert len(expected) > 0.95 * BIG[repo_type]  # the private ones are not listed anonymously
        assert carded > 0.6 * len(ids)
        if repo_type == "model":
            assert 0.3 * len(ids) < derived < 0.5 * len(ids)
    assert emu.counts["list"] == sum(math.ceil(hub.count(t) / PAGE) for t in BIG)


def test_every_generated_id_is_one_the_hub_allows() -> None:
    """The Hub's naming rule (huggingface_hub's ``validate_repo_id``: no ``--`` or ``..``, 96
    characters a part...): a generated Hub holding an id the real one would refuse made the
    mirror's refusal of such ids look like a lost repo."""
    hub = GeneratedHub(models=82_000, datasets=72_000, spaces=56_000, seed=7)  # test_walk_scale's Hub
    for repo_type in ("model", "dataset", "space"):
        refused = []
        for repo_id in hub.ids(repo_type, private=True):
            try:
                validate_repo_id(repo_id)
            except HFValidationError as exc:
                refused.append(str(exc))
        assert not refused, refused[:3]


def test_a_page_costs_a_page_not_a_sort(big) -> None:
    """A page draws exactly the entities it shows: the order comes from a sorted index (built once
    per sort key and direction, then kept up to date), the cursor is a bisect into it."""
    hub, emu = big
    cursor = None
    for _ in range(3):
        before = hub.entities_built
        params = {"limit": PAGE, "sort": "likes", "expand": "likes"} | ({"cursor": cursor} if cursor else {})
        page = _raw(emu, "/api/models", **params)
        assert page.status_code == 200 and len(page.json()) == PAGE
        assert hub.entities_built - before == PAGE
        cursor = page.links["next"]["url"].split("cursor=")[1]
        likes = [item["likes"] for item in page.json()]
        assert likes == sorted(likes, reverse=True)


def test_the_lineage_fans_out_from_a_few_popular_bases(big) -> None:
    hub, emu = big
    api = HfApi(endpoint=emu.endpoint)
    top = FIXED[0].id  # meta-llama/Llama-3.1-8B-Instruct
    derivatives = hub.derivatives(top)
    counted = api.model_info(top, expand=["childrenModelCount"]).children_model_count
    assert counted == {r: len(ids) for r, ids in derivatives.items()}
    assert set(counted) == {"finetune", "adapter", "quantized", "merge"} and sum(counted.values()) > 10_000
    quantized = random.Random(0).sample(derivatives["quantized"], 20)
    for model_id in quantized:
        info = api.model_info(model_id, expand=["tags", "cardData", "baseModels", "trendingScore"])
        assert f"base_model:quantized:{top}" in info.tags and f"base_model:{top}" in info.tags
        assert top in ([info.card_data.base_model] if isinstance(info.card_data.base_model, str)
                       else info.card_data.base_model)
        assert {"_id": hub.entity("model", top).object_id, "id": top} in info.base_models["models"]
    trending = [m.id for m in api.list_models(sort="trending_score", limit=PAGE, expand=["trendingScore"])]
    assert top in trending[:20]
    not_trending = [i for ids in derivatives.values() for i in ids if hub.entity("model", i).trending == 0]
    assert len(not_trending) > 0.95 * sum(counted.values())  # a trending-only mirror never sees them
    # chains: some derivatives derive from generated models, which then count children too
    second = [m for m in random.Random(1).sample(hub.ids("model"), 3000) if hub.children_count(hub.index_of("model", m))]
    assert any(hub.fixed_spec("model", hub.index_of("model", m)) is None for m in second)


def test_after_a_touch_the_touched_come_first_newest_first(big) -> None:
    hub, emu = big
    before = hub.clock
    touched = hub.touch(0.01, seed=1)
    api = HfApi(endpoint=emu.endpoint)
    for repo_type in ("model", "dataset", "space"):
        visible = set(touched[repo_type]) & set(hub.ids(repo_type))
        assert visible == hub.changed_since(repo_type, before) and len(visible) > 0.009 * BIG[repo_type]
        emu.reset_counts()
        # the incremental refresh: newest first, page by page, until a page holds nothing new
        seen = []
        for info in _lister(api, repo_type)(sort="last_modified", expand=["sha", "lastModified"]):
            seen.append((info.id, info.last_modified))
            if len(seen) % PAGE == 0 and all(when <= before for _, when in seen[-PAGE:]):
                break
        assert emu.counts["list"] == math.ceil(len(visible) / PAGE) + 1
        dates = [when for _, when in seen]
        assert dates == sorted(dates, reverse=True)
        assert {i for i, _ in seen[: len(visible)]} == visible  # every touched one, before the rest
        assert all(when <= before for when in dates[len(visible):])


# -- mutations ----------------------------------------------------------------------------------
def _by_object_id(emu: HubEmulator, repo_type: str) -> dict[str, str]:
    """``_id -> id`` over a whole raw listing (following the Link header)."""
    out: dict[str, str] = {}
    url: str | None = f"{emu.endpoint}/api/{repo_type}s?limit={PAGE}&expand=sha"
    with httpx2.Client() as client:
        while url:
            page = client.get(url)
            out.update({item["_id"]: item["id"] for item in page.json()})
            url = page.links.get("next", {}).get("url")
    return out


def test_renames_and_deletions_show_in_the_next_walk(small, tmp_path) -> None:
    hub, emu = small
    api = HfApi(endpoint=emu.endpoint)
    models, datasets = hub.ids("model"), hub.ids("dataset")
    renamed, deleted = models[1234], datasets[17]
    entity = hub.entity("model", renamed)
    new_id = "moved-org/" + renamed.split("/")[1]
    before = _by_object_id(emu, "model")

    emu.rename_repo(renamed, new_id, repo_type="model")
    emu.remove_repo(deleted, repo_type="dataset")

    walked = [m.id for m in api.list_models(expand=["sha"])]
    assert renamed not in walked and walked.count(new_id) == 1 and len(walked) == len(models)
    after = _by_object_id(emu, "model")  # the same _id under a new name: a rename, not delete + create
    assert {k: v for k, v in after.items() if before.get(k) != v} == {entity.object_id: new_id}
    moved = hub.entity("model", new_id)
    assert (moved.object_id, moved.sha, moved.created, moved.modified) == (
        entity.object_id, entity.sha, entity.created, entity.modified)  # a move is no commit
    assert deleted not in [d.id for d in api.list_datasets()] and hub.count("dataset") == len(datasets) - 1
    # the old id answers 307 to the new one (API and resolve); the client follows it
    answer = _raw(emu, f"/api/models/{renamed}/revision/main")
    assert answer.status_code == 307 and answer.headers["Location"] == f"/api/models/{new_id}/revision/main"
    assert api.model_info(renamed).id == new_id
    path = hf_hub_download(renamed, "README.md", endpoint=emu.endpoint, cache_dir=tmp_path)
    assert card_data_from_readme(Path(path).read_bytes()) == moved.card
    # a deleted repo is not found: 401 anonymous, 404 with a token, for info and tree alike
    with pytest.raises(RepositoryNotFoundError):
        api.dataset_info(deleted)
    assert _raw(emu, f"/api/datasets/{deleted}").status_code == 401
    with pytest.raises(RepositoryNotFoundError):
        list(api.list_repo_tree(deleted, repo_type="dataset", token=ACCESS_TOKEN))
    # and back: the name answers again, the intermediate one now redirects to it
    hub.rename("model", new_id, renamed)
    assert api.model_info(renamed).id == renamed
    assert _raw(emu, f"/api/models/{new_id}").headers["Location"] == f"/api/models/{renamed}"


def test_created_entities_are_newest_and_private_ones_need_a_token(small) -> None:
    hub, emu = small
    api = HfApi(endpoint=emu.endpoint)
    made = [s for s in hub.create("space", 4) if s in set(hub.ids("space"))]
    newest = [s.id for s in api.list_spaces(sort="last_modified", limit=len(made))]
    assert newest == made[::-1]  # made a second apart, the last one newest
    everything = [m.id for m in api.list_models(token=ACCESS_TOKEN)]
    anonymous = [m.id for m in api.list_models()]
    assert len(everything) == hub.count("model", private=True) > len(anonymous) == hub.count("model")
    hidden = sorted(set(everything) - set(anonymous))[0]
    with pytest.raises(RepositoryNotFoundError):
        api.model_info(hidden)
    assert api.model_info(hidden, token=ACCESS_TOKEN).private is True
    emu.set_private(hidden, False, repo_type="model")
    assert api.model_info(hidden).private is False and hidden in {m.id for m in api.list_models()}
    with pytest.raises(ValueError, match="GeneratedHub"):  # its files come from the entity, not edits
        emu.update_file(hidden, "README.md", b"hi")


def test_a_touched_repo_keeps_its_old_revision(small) -> None:
    hub, emu = small
    api = HfApi(endpoint=emu.endpoint)
    model_id = hub.ids("model")[42]
    old = api.model_info(model_id)
    hub.touch(1.0, types=["model"])
    new = api.model_info(model_id)
    assert new.sha != old.sha and new.last_modified > old.last_modified
    assert api.model_info(model_id, revision=old.sha).sha == old.sha
    commits = api.list_repo_commits(model_id)
    assert [c.commit_id for c in commits] == [new.sha, old.sha]
    readme_old = hf_hub_download(model_id, "README.md", revision=old.sha, endpoint=emu.endpoint)
    assert b"revision 1" not in Path(readme_old).read_bytes()


# -- serving repos -------------------------------------------------------------------------------
def test_top_trending_generated_repos_mirror_with_snapshot_download(small, tmp_path) -> None:
    hub, emu = small
    api = HfApi(endpoint=emu.endpoint)
    top = [m.id for m in api.list_models(sort="trending_score", limit=40) if hub.fixed_spec("model", hub.index_of("model", m.id)) is None][:3]
    assert len(top) == 3
    for model_id in top:
        entity = hub.entity("model", model_id)
        folder = Path(snapshot_download(model_id, endpoint=emu.endpoint, cache_dir=tmp_path / "cache",
                                        token=ACCESS_TOKEN))
        assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == list(entity.paths)
        assert card_data_from_readme((folder / "README.md").read_bytes()) == entity.card
        info = api.model_info(model_id, files_metadata=True, token=ACCESS_TOKEN)
        assert [s.rfilename for s in info.siblings] == list(entity.paths)
        assert all(s.size == (folder / s.rfilename).stat().st_size for s in info.siblings)
        tree = {f.path: f for f in api.list_repo_tree(model_id, recursive=True, token=ACCESS_TOKEN) if hasattr(f, "size")}
        assert {p: f.size for p, f in tree.items()} == {s.rfilename: s.size for s in info.siblings}


def test_the_mirror_archives_the_top_trending_generated_models(small, tmp_path) -> None:
    from hf_ipfs_scraper import load_config
    from hf_ipfs_scraper.mirror import Mirror

    hub, emu = small
    config = load_config(env={}, overrides={"hub.endpoint": emu.endpoint, "output_dir": str(tmp_path / "out")})
    top = [m.id for m in HfApi(endpoint=emu.endpoint).list_models(sort="trending_score", limit=6)]
    gated = {m for m in top if hub.entity("model", m).gated}
    emu.reset_counts()
    with Mirror(config) as mirror:
        summary = mirror.scrape_models(limit=6, workers=2)
    assert summary.status == "completed" and summary.failed == 0, str(summary)
    assert summary.mirrored == 6 - len(gated) and {repo for repo, _ in summary.skips} == gated
    files = [f.sha256 for m in top if m not in gated for f in hub.hosted("model", m).head.files.values()]  # type: ignore[union-attr]
    assert emu.counts["list"] == 1 and emu.counts["tree"] == 6 - len(gated)
    # one GET per file (an LFS one: a 302 to the CDN, then the CDN's 200), less blobs it already
    # holds (every repo has the Hub's same .gitattributes)
    fetched = [t for method, t, status in emu.requests if method == "GET" and status == 200
               and ("/resolve/" in t or t.startswith("/repos/"))]
    assert len(set(files)) <= len(fetched) <= len(files)


def test_listing_items_agree_with_repo_info(small) -> None:
    hub, emu = small
    for repo_type, names in (("model", EXPAND["model"] + ["config", "safetensors", "siblings"]),
                             ("dataset", EXPAND["dataset"] + ["siblings"]), ("space", EXPAND["space"] + ["siblings"])):
        listed = _raw(emu, f"/api/{repo_type}s", limit=300, expand=names).json()
        for item in random.Random(2).sample([i for i in listed if not i.get("disabled")], 12):
            info = _raw(emu, f"/api/{repo_type}s/{item['id']}", expand=names).json()
            assert info == item


def test_same_seed_same_hub_other_seed_other_hub() -> None:
    def page(hub: GeneratedHub) -> list[bytes]:
        with HubEmulator(generated=hub) as emu:
            return [_raw(emu, f"/api/{t}s", limit=200, expand=EXPAND[t], sort="lastModified").content
                    for t in ("model", "dataset", "space")]

    a, b = GeneratedHub(2000, 500, 500, seed=3), GeneratedHub(2000, 500, 500, seed=3)
    assert page(a) == page(b)
    assert [a.entity("model", i).sha for i in range(0, 2000, 97)] == [b.entity("model", i).sha for i in range(0, 2000, 97)]
    a.touch(0.05, seed=9)
    b.touch(0.05, seed=9)
    assert page(a) == page(b)
    kept = [(e.id, e.card, e.tags) for e in (a.entity(t, i) for t in ("model", "space") for i in range(0, 500, 7))]
    a.create("dataset", 20)
    a.create("model", 5)  # what exists does not change with what is added
    assert kept == [(e.id, e.card, e.tags) for e in (a.entity(t, i) for t in ("model", "space") for i in range(0, 500, 7))]
    other = GeneratedHub(2000, 500, 500, seed=4)
    assert set(other.ids("model")[20:]).isdisjoint(a.ids("model")[20:])


def test_listing_filters_work_on_a_generated_hub(small) -> None:
    hub, emu = small
    api = HfApi(endpoint=emu.endpoint)
    base = FIXED[2].id  # Qwen/Qwen2.5-7B-Instruct
    quantized = {m.id for m in api.list_models(filter=f"base_model:quantized:{base}")}
    assert quantized == set(hub.derivatives(base).get("quantized", [])) and quantized
    author = hub.entity("model", hub.ids("model")[100]).author
    assert {m.id for m in api.list_models(author=author)} == {i for i in hub.ids("model") if i.split("/")[0] == author}
    gguf = list(api.list_models(filter="gguf", limit=5, expand=["tags"]))
    assert gguf and all("gguf" in m.tags for m in gguf)


# -- the data: shapes and distributions ---------------------------------------------------------
def test_recorded_models_answer_as_recorded() -> None:
    if not RECORDED.is_dir() or not recorded_models():
        pytest.skip("shared/data/hub_api is not here")
    hub = GeneratedHub(models=len(FIXED) + len(recorded_models()))
    with HubEmulator(generated=hub) as emu:
        for spec in recorded_models():
            recorded = json.loads((RECORDED / f"GET_api__models__{spec.id.replace('/', '__')}.json").read_text())
            served = _raw(emu, f"/api/models/{spec.id}").json()
            same = ("_id", "id", "private", "pipeline_tag", "library_name", "tags", "downloads", "likes", "author",
                    "sha", "lastModified", "gated", "disabled", "cardData", "config", "siblings", "createdAt",
                    "safetensors", "usedStorage")
            assert {k: served.get(k) for k in same} == {k: recorded.get(k) for k in same}, spec.id
        # the Hub moved bert-base-uncased to google-bert/; the old id answers 307 (hub_api/README.md)
        moved = _raw(emu, "/api/models/bert-base-uncased")
        assert moved.status_code == 307 and moved.headers["Location"] == "/api/models/google-bert/bert-base-uncased"


def test_files_and_fields_agree() -> None:
    hub = GeneratedHub(models=2000, datasets=600, spaces=400, seed=7)
    hub.touch(0.5, seed=2)  # a new README revision changes neither the card nor the description
    for repo_type in ("model", "dataset", "space"):
        for i in range(0, len(hub.stores[repo_type]), 37):
            entity = hub.entity(repo_type, i)
            hosted = hub.hosted(repo_type, entity.id)
            assert hosted is not None and tuple(sorted(hosted.head.files)) == entity.paths
            readme = hosted.head.files.get("README.md")
            if readme is None:
                assert entity.card is None and entity.description is None
                continue
            assert card_data_from_readme(readme.data) == entity.card
            if repo_type == "dataset":
                assert cardtext.description(readme.data, entity.id) == entity.description
                assert cardtext.citation(readme.data) == entity.citation
                ext = {"parquet": "parquet", "json": "jsonl", "csv": "csv"}[entity.traits[4]]
                assert dataset_card_tags(entity.card, ext) == dataset_tags(entity.card, readme.data, ext)


def _share(values: list[bool]) -> float:
    return sum(values) / len(values)


def test_distributions_look_like_the_hub() -> None:
    hub = GeneratedHub(models=20_000, datasets=5000, spaces=5000, seed=11)
    models = [hub.entity("model", i) for i in range(0, 20_000, 4)]
    assert 0.6 < _share([m.likes == 0 for m in models]) < 0.8 and max(m.likes for m in models) > 500
    assert 0.35 < _share([m.downloads == 0 for m in models]) < 0.6
    assert 0.005 < _share([bool(m.gated) for m in models]) < 0.04 and 0.01 < _share([m.private for m in models]) < 0.06
    assert len({m.pipeline_tag for m in models}) > 15 and len({m.library_name for m in models}) > 8
    authors = Counter(m.author for m in models)
    assert len(authors) > 1000 and 0.005 < authors.most_common(1)[0][1] / len(models) < 0.05  # Zipf
    quantizers = Counter(m.author for m in models if m.relation == "quantized")
    assert quantizers.most_common(1)[0][0] == "mradermacher"
    relations = Counter(m.relation for m in models if m.relation)
    assert set(relations) == {"finetune", "adapter", "quantized", "merge"}
    assert any(m.card and str(m.card.get("base_model", "")).startswith("https://") for m in models)  # a quirk
    created = sorted(m.created for m in models)
    assert created[len(created) // 2] > created[0] + 2 * 365 * 86_400  # growth: the median is recent
    assert sum(m.created in (1646263744, 1646263745) for m in models) > 0.01 * len(models)  # the 2022 migration
    spaces = [hub.entity("space", i) for i in range(0, 5000, 2)]
    sdks = Counter(s.sdk for s in spaces)
    assert sdks.most_common(1)[0][0] == "gradio" and set(sdks) == {"gradio", "docker", "static", "streamlit"}
    assert Counter(s.stage for s in spaces).most_common(1)[0][0] == "SLEEPING"
    assert all(s.stage == "RUNNING" for s in spaces if s.sdk == "static")
    datasets = [hub.entity("dataset", i) for i in range(0, 5000, 2)]
    licenses = Counter(d.card.get("license") for d in datasets if d.card)
    assert {"cc-by-4.0", "mit", "apache-2.0", "unknown"} <= set(licenses)


def test_tables_still_agree_with_the_shared_cards() -> None:
    """The card-field tables of gentables carry the shared cards' values (the D: ones)."""
    from tests.hubemu import gentables as t
    from tests.hubemu.sources import index_files

    if not (SHARED_DATA / "space_cards").is_dir():
        pytest.skip("shared/data is not here")

    parsed: dict[str, list] = {}

    def counted(folder: str, key: str) -> Counter[str]:
        if folder not in parsed:  # some dataset cards hold a megabyte of YAML: parse each once
            parsed[folder] = [card_data_from_readme(data) for _, data in index_files(SHARED_DATA / folder)]
        values = (c.get(key) for c in parsed[folder] if c)
        return Counter(x for v in values for x in ([v] if isinstance(v, str) else v or []) if isinstance(x, str))

    def common(counts: Counter[str]) -> set[str]:
        return {v for v, n in counts.items() if n >= 2 and v}

    assert common(counted("model_cards", "license")) <= set(t.MODEL_LICENSES.values)
    assert {v for v, _ in counted("model_cards", "language").most_common(10)} <= set(t.MODEL_LANGUAGES.values)
    assert common(counted("dataset_cards", "license")) <= set(t.DATASET_LICENSES.values)
    assert common(counted("dataset_cards", "size_categories")) <= set(t.DATASET_SIZES.values)
    assert {v for v, _ in counted("dataset_cards", "task_categories").most_common(15)} <= set(t.DATASET_TASKS.values)
    assert common(counted("dataset_cards", "multilinguality")) <= set(t.MULTILINGUALITY.values)
    assert common(counted("dataset_cards", "annotations_creators")) <= set(t.ANNOTATIONS.values)
    assert set(counted("space_cards", "sdk")) == set(t.SPACE_SDKS.values)
    assert common(counted("space_cards", "colorFrom")) <= set(t.SPACE_COLORS.values)
    assert common(counted("space_cards", "sdk_version")) <= set(t.GRADIO_VERSIONS.values) | set(t.STREAMLIT_VERSIONS.values)
    assert counted("space_cards", "colorFrom").most_common(1) == [("blue", 26)]
