"""The Hub emulator's datasets, Spaces, model lineage and dataset viewer, driven by real clients.

What is checked, as the real services answer (see tests/hubemu/*.py for the sources):

* Datasets carry the real cards of ``shared/data/dataset_cards`` with the Hub's derived tags and
  ``description`` / ``citation`` / ``paperswithcode_id`` / ``cardData``; ``list_datasets`` gives them
  to ``DatasetInfo``. Spaces carry the real READMEs of ``shared/data/space_cards`` and a ``runtime``
  in the recorded shapes; every 3rd Space is a demo Space using corpus models.
* ``baseModels`` / ``childrenModelCount`` are on ``model_info`` only: a model listing asking for them
  (or ``usedStorage``) is a 400 the client raises as ``BadRequestError``.
* The dataset viewer (``emu.viewer_endpoint``) answers /is-valid, /splits and /first-rows with the
  bodies, statuses and X-Error-Code headers of ``shared/data/dataset_viewer/openapi.json``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import BadRequestError

from tests.conftest import missing_component
from tests.hubemu import (
    ACCESS_TOKEN,
    NO_ACCESS_TOKEN,
    VIEWER_MODES,
    HubEmulator,
    Repo,
    RepoFile,
    build_corpus,
    demo_space,
)
from tests.hubemu.cardtext import citation, description
from tests.hubemu.datasets import DATASET_CARDS, dataset_tags
from tests.hubemu.fixtures import DEFAULT_CORPUS
from tests.hubemu.repo import is_lfs_path
from tests.hubemu.sources import SHARED_DATA
from tests.hubemu.spaces import SPACE_CARDS, runtime
from tests.hubemu.viewer import CAPABILITIES, NOT_ACCESSIBLE
from tests.hubemu.viewer_data import layout

SHARED = SHARED_DATA
RECORDED = SHARED / "hub_api"
VIEWER_EXAMPLES = SHARED / "dataset_viewer" / "examples"
BIG: dict[str, Any] = {"n_models": 8, "seed": 0, "n_datasets": 24, "n_spaces": 12}


def _need(path: Path) -> Path:
    if not path.exists():
        missing_component(f"{path} is absent (the shared reference data)")
    return path


def _of(corpus: list[Repo], repo_type: str, **where: object) -> list[Repo]:
    return [r for r in corpus if r.type == repo_type and all(getattr(r, k) == v for k, v in where.items())]


def _get(
    emu: HubEmulator, path: str, params: dict[str, str], token: str | None = None, timeout: float = 10
) -> httpx2.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx2.get(emu.viewer_endpoint + path, params=params, headers=headers, timeout=timeout)


def _viewer(emu: HubEmulator, path: str, token: str | None = None, **params: str) -> httpx2.Response:
    return _get(emu, path, params, token)


def _example(name: str) -> Any:
    path = _need(VIEWER_EXAMPLES) / name
    return json.loads(path.read_text()) if path.suffix == ".json" else path.read_text()


def _shape(value: Any) -> Any:
    """The structure of a JSON value: dict keys and element shapes, scalar types."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


# -- the corpus --------------------------------------------------------------------------------
def test_datasets_are_real_cards_with_hub_tags_and_shards() -> None:
    index = _need(DATASET_CARDS / "INDEX.tsv")
    cards = {row.split("\t")[0]: row.split("\t")[1] for row in index.read_text().splitlines()[1:]}
    corpus = build_corpus(**BIG)
    again = build_corpus(**BIG)
    assert [(r.id, r.sha) for r in corpus] == [(r.id, r.sha) for r in again]
    datasets = _of(corpus, "dataset")
    assert len(datasets) == 24 and all(d.id in cards for d in datasets)
    for d in datasets:
        assert d.file("README.md").data == (DATASET_CARDS / cards[d.id]).read_bytes()  # type: ignore[union-attr]
        assert d.tags[-1] == "region:us" and any(t.startswith("format:") for t in d.tags)
        assert all(f.lfs == is_lfs_path(f.path, f.size) for f in d.files)
        assert layout(f.path for f in d.files), d.id  # the viewer finds configs and splits
        for key in ("task_categories", "size_categories", "multilinguality"):
            value = (d.card_data or {}).get(key)
            if isinstance(value, list) and value and isinstance(value[0], str):
                assert f"{key}:{value[0]}" in d.tags, (d.id, key)
    assert {d.gated for d in datasets} == {False, "auto", "manual"}
    assert [d.private for d in datasets].count(True) >= 1
    assert sum(d.card_data is None for d in datasets) == 6  # every 4th slot: a card without front matter
    assert any(d.file(f"{d.id}.py") for d in datasets) and any(d.file("dataset_infos.json") for d in datasets)
    assert {f.path.rsplit(".", 1)[-1] for d in datasets for f in d.files} >= {"parquet", "csv", "jsonl"}
    assert any(f.path.endswith("-00001-of-00002.parquet") for d in datasets for f in d.files)
    assert any(len(layout(f.path for f in d.files)) > 1 for d in datasets)  # a card with named configs
    small = [r.id for r in _of(build_corpus(**DEFAULT_CORPUS), "dataset")]
    assert small == [d.id for d in datasets[:2]]  # a bigger corpus extends the small one


def test_spaces_are_real_readmes_and_demo_spaces() -> None:
    index = _need(SPACE_CARDS / "INDEX.tsv")
    corpus = build_corpus(**BIG)
    spaces = _of(corpus, "space")
    model_ids = {r.id for r in _of(corpus, "model")}
    demos, real = spaces[::3], [s for n, s in enumerate(spaces) if n % 3]
    assert all(s.id.split("/")[1].startswith("demo-space-") for s in demos)
    assert all(set(s.card_data["models"]) <= model_ids and s.file("app.py") for s in demos)  # type: ignore[index]
    readmes = {(SPACE_CARDS / row.split("\t")[1]).read_bytes() for row in index.read_text().splitlines()[1:]}
    assert all(s.file("README.md").data in readmes for s in real)  # type: ignore[union-attr]
    assert all(s.id.count("/") == 1 and "{" not in s.id for s in spaces)
    by_sdk = {s.sdk: s for s in spaces}
    assert set(by_sdk) >= {"gradio", "streamlit", "static"}
    assert by_sdk["static"].file("index.html") and by_sdk["static"].file("style.css")
    assert by_sdk["gradio"].file("requirements.txt") and by_sdk["gradio"].tags[0] == "gradio"
    assert any(s.stage == "SLEEPING" for s in spaces)
    made = demo_space("me/uses-it", ["a/model"], datasets=["a/data"], sdk="streamlit")
    card = made.card_data or {}
    assert (made.sdk, card["models"], card["datasets"]) == ("streamlit", ["a/model"], ["a/data"])


def test_dataset_tags_flatten_old_and_per_config_front_matter() -> None:
    card = {
        "languages": {"en-de": ["en", "de"], "en-zh": ["en", "zh"]},
        "licenses": ["cc-by-4.0"],
        "size_categories": {"a": ["1K<n<10K"], "b": ["1K<n<10K"]},
        "task_categories": ["text-classification"],
        "task_ids": ["sentiment-classification"],
        "multilinguality": ["translation"],
        "source_datasets": ["original"],
        "tags": ["emulated"],
    }
    readme = b"See https://arxiv.org/abs/1606.05250 for details."
    assert dataset_tags(card, readme, "parquet") == [
        "task_categories:text-classification", "task_ids:sentiment-classification", "multilinguality:translation",
        "source_datasets:original", "language:en", "language:de", "language:zh", "license:cc-by-4.0",
        "size_categories:1K<n<10K", "emulated", "format:parquet", "arxiv:1606.05250", "region:us",
    ]
    assert dataset_tags(None, b"", "jsonl") == ["format:json", "region:us"]


def test_card_description_and_citation_as_the_hub_renders_them() -> None:
    card = (
        b"---\nlicense: mit\n---\n\n# Dataset Card for \"toy\"\n\n## Table of Contents\n- [Summary](#summary)\n\n"
        b"## Dataset Description\n\n- **Homepage:** [site](https://example.org)\n\n### Dataset Summary\n\n"
        b"A **small** set of [reviews](https://example.org/r).\nTwo lines.\n\n```\ncode is not text\n```\n\n"
        b"### Citation Information\n\n```\n@misc{toy,\n  title = {Toy}\n}\n```\n"
    )
    # "Table of Contents", "Dataset Description" and "Citation Information" hold no text: left out
    assert description(card, "toy") == (
        "\n\t\n\t\t\n\t\tDataset Card for \"toy\"\n\t\n\n\n\t\n\t\t\n\t\tDataset Summary\n\t\n\n"
        "A small set of reviews.\nTwo lines.\n"
    )
    assert citation(card) == "@misc{toy,\n  title = {Toy}\n}"
    long = b"# T\n\n" + b"word " * 200
    cut = description(long, "org/long")
    assert cut is not None and len(cut) < 600
    assert cut.endswith("word… See the full description on the dataset page: https://huggingface.co/datasets/org/long.")
    assert description(b"", "x") is None
    assert citation(b"# T\n\n### Citation Information\n\n[More Information Needed]\n") is None


# -- listings and infos through the client -----------------------------------------------------
def test_list_datasets_expand_gives_description_citation_card_data(hf_env, hub_factory) -> None:
    emu = hub_factory(build_corpus(**BIG))
    api = HfApi(endpoint=emu.endpoint)
    expand = ["description", "citation", "cardData", "tags", "paperswithcode_id", "usedStorage", "gated"]
    expand.append("trendingScore")
    got = list(api.list_datasets(sort="trending_score", expand=expand))  # type: ignore[arg-type]
    public = [r for r in _of(build_corpus(**BIG), "dataset") if not r.private]
    assert [d.id for d in got] == [r.id for r in sorted(public, key=lambda r: (-r.trending_score, r.id))]
    by_id = {r.id: r for r in public}
    for d in got:
        repo = by_id[d.id]
        assert d.tags == repo.tags and d.gated == repo.gated and d.used_storage == sum(f.size for f in repo.files)
        assert (d.card_data is None) == (repo.card_data is None)
        assert d.description == description(repo.file("README.md").data, repo.id)  # type: ignore[union-attr]
        assert d.paperswithcode_id == (repo.card_data or {}).get("paperswithcode_id")
        assert d.downloads is None and d.likes is None  # only the expanded fields
    assert any(d.citation and d.citation.startswith("@") for d in got)
    if DATASET_CARDS.is_dir():  # the real cards are long enough to be cut
        assert any(d.description and "See the full description" in d.description for d in got)
    target = next(d for d in got if d.card_data is not None and d.citation)
    info = api.dataset_info(target.id)  # the default info fields include citation and description
    assert (info.citation, info.description, info.card_data) == (target.citation, target.description, target.card_data)
    assert emu.requests[0][1].startswith("/api/datasets?") and "expand=citation" in emu.requests[0][1]


def test_list_spaces_expand_gives_runtime_sdk_models(hf_env, hub_factory) -> None:
    corpus = build_corpus(**BIG)
    emu = hub_factory(corpus)
    api = HfApi(endpoint=emu.endpoint)
    expand = ["runtime", "sdk", "models", "datasets", "subdomain", "cardData", "usedStorage", "likes"]
    got = {s.id: s for s in api.list_spaces(expand=expand)}  # type: ignore[arg-type]
    spaces = _of(corpus, "space")
    assert set(got) == {s.id for s in spaces}
    for repo in spaces:
        s = got[repo.id]
        assert s.sdk == repo.sdk and s.runtime is not None and s.runtime.stage == repo.stage
        assert s.models == list((repo.card_data or {}).get("models") or []) and s.subdomain
        assert s.runtime.raw["replicas"]["requested"] == 1 and s.used_storage and s.likes is not None
        if repo.sdk == "static":
            assert s.runtime.hardware is None and s.runtime.requested_hardware is None
        else:
            assert s.runtime.requested_hardware == "cpu-basic" and s.runtime.sleep_time == 172800
            assert (s.runtime.hardware == "cpu-basic") == (repo.stage == "RUNNING")
            assert s.runtime.raw["domains"] == [{"domain": f"{s.subdomain}.hf.space", "stage": "READY"}]
    demo = got[spaces[0].id]
    assert demo.models and all(m in {r.id for r in corpus} for m in demo.models)
    assert any(set(got[s.id].datasets or []) & {r.id for r in _of(corpus, "dataset")} for s in spaces)
    info = api.space_info(spaces[0].id)  # the default info has runtime, host, models too
    assert info.runtime is not None and info.host == f"https://{info.subdomain}.hf.space" and info.models == demo.models


def test_space_runtime_keys_match_the_recorded_hub() -> None:
    recorded = {
        name: json.loads((_need(RECORDED) / f"GET_api__spaces__{name}__runtime.json").read_text())
        for name in ("user__tmp_test_space", "victor__static-space")
    }
    gradio = demo_space("u/g", [], sdk="gradio")
    static = Repo("space", "u/s", [RepoFile("README.md", b"---\nsdk: static\n---\n")], sdk="static")
    building = Repo("space", "u/b", [RepoFile("README.md", b"---\nsdk: docker\n---\n")], sdk="docker", stage="BUILDING")
    assert _shape(runtime(building, "u-b")) == _shape(recorded["user__tmp_test_space"])
    assert runtime(static, "u-s") == recorded["victor__static-space"]
    assert set(runtime(gradio, "u-g")) == set(recorded["user__tmp_test_space"])


def test_model_lineage_fields_and_tags(hf_env, hub_factory) -> None:
    emu = hub_factory()
    api = HfApi(endpoint=emu.endpoint)
    base = next(r for r in _of(build_corpus(**DEFAULT_CORPUS), "model", private=False) if "/" in r.id)

    def child(repo_id: str, front: str) -> Repo:
        return Repo("model", repo_id, [RepoFile("README.md", f"---\n{front}\n---\n# {repo_id}\n".encode())],
                    tags=["transformers", "license:mit", "region:us"])

    emu.add_repo(child("kid/ft-1", f"base_model: {base.id}"))
    emu.add_repo(child("kid/ft-2", f"base_model:\n- {base.id}\nbase_model_relation: finetune"))
    emu.add_repo(child("kid/q", f"base_model: {base.id}\nbase_model_relation: quantized"))
    emu.add_repo(child("kid/merge", f"base_model:\n- {base.id}\n- elsewhere/not-hosted"))
    hidden = child("kid/hidden", f"base_model: {base.id}")
    hidden.private = True
    emu.add_repo(hidden)

    parent = api.model_info(base.id, expand=["baseModels", "childrenModelCount"])
    assert parent.children_model_count == {"finetune": 2, "quantized": 1, "merge": 1}  # private children not counted
    assert parent.base_models is None  # no base: the field is left out
    merged = api.model_info("kid/merge", expand=["baseModels", "childrenModelCount", "tags"])
    base_id = emu.state.find(base.id, "model").object_id
    assert merged.base_models == {
        "relation": "merge",
        "models": [{"_id": base_id, "id": base.id}, {"id": "elsewhere/not-hosted"}],
    }
    assert merged.children_model_count == {}
    assert merged.tags == [
        "transformers", f"base_model:{base.id}", f"base_model:merge:{base.id}", "base_model:elsewhere/not-hosted",
        "base_model:merge:elsewhere/not-hosted", "license:mit", "region:us",
    ]
    plain = api.model_info("kid/q")  # the default info has neither field
    assert plain.base_models is None and plain.children_model_count is None
    listed = {m.id: m.tags or [] for m in api.list_models(author="kid")}
    assert f"base_model:quantized:{base.id}" in listed["kid/q"] and f"base_model:{base.id}" in listed["kid/q"]
    assert {m.id for m in api.list_models(filter=f"base_model:finetune:{base.id}")} == {"kid/ft-1", "kid/ft-2"}
    emu.update_file("kid/q", "README.md", b"---\nlicense: mit\n---\nno base any more\n")
    assert not any(t.startswith("base_model:") for t in api.model_info("kid/q").tags)  # type: ignore[union-attr]
    corpus_tags = {r.id: r.tags for r in build_corpus(**DEFAULT_CORPUS)}
    assert all(m.tags == corpus_tags[m.id] for m in api.list_models() if m.id in corpus_tags)  # unchanged


def test_model_listing_refuses_info_only_expands(hf_env, hub) -> None:
    api = HfApi(endpoint=hub.endpoint)
    for name in ("baseModels", "childrenModelCount", "usedStorage"):
        with pytest.raises(BadRequestError) as refused:
            list(api.list_models(expand=[name]))  # type: ignore[list-item,unused-ignore]
        response = refused.value.response
        assert response.status_code == 400 and response.headers["X-Error-Code"] and name in response.json()["error"]
    model = next(r for r in _of(build_corpus(**DEFAULT_CORPUS), "model", private=False) if "/" in r.id)
    assert api.model_info(model.id, expand=["usedStorage", "childrenModelCount"]).used_storage
    assert all(d.used_storage for d in api.list_datasets(expand=["usedStorage"]))
    assert all(s.used_storage for s in api.list_spaces(expand=["usedStorage"]))


# -- the dataset viewer ------------------------------------------------------------------------
def _viewer_emu(hub_factory) -> tuple[HubEmulator, Repo]:  # noqa: ANN001 - the fixture
    corpus = build_corpus(**DEFAULT_CORPUS)
    return hub_factory(corpus), _of(corpus, "dataset")[0]


def test_viewer_ok_answers(hub_factory) -> None:
    emu, dataset = _viewer_emu(hub_factory)
    configs = layout(f.path for f in dataset.files)
    config = next(iter(configs))
    valid = _viewer(emu, "/is-valid", dataset=dataset.id)
    assert valid.status_code == 200 and valid.json() == dict.fromkeys(CAPABILITIES, True)
    assert valid.headers["Content-Type"] == "application/json" and valid.headers["Access-Control-Allow-Origin"] == "*"
    assert valid.headers["X-Revision"] == dataset.sha and "RateLimit" not in valid.headers
    splits = _viewer(emu, "/splits", dataset=dataset.id).json()
    assert splits == {
        "splits": [{"dataset": dataset.id, "config": c, "split": s} for c in configs for s in configs[c]],
        "pending": [],
        "failed": [],
    }
    assert splits["splits"][0]["split"] == "train"
    assert set(_viewer(emu, "/splits", dataset=dataset.id, config=config).json()) == {"splits"}
    rows = _viewer(emu, "/first-rows", dataset=dataset.id, config=config, split="train").json()
    assert (rows["dataset"], rows["config"], rows["split"], rows["truncated"]) == (dataset.id, config, "train", False)
    assert [f["name"] for f in rows["features"]] == ["text", "label"] and 3 <= len(rows["rows"]) <= 5
    names = rows["features"][1]["type"]["names"]
    assert all(isinstance(r["row"]["text"], str) and 0 <= r["row"]["label"] < len(names) for r in rows["rows"])
    again = _viewer(emu, "/first-rows", dataset=dataset.id, config=config, split="train").json()
    assert again == rows  # deterministic
    assert _viewer(emu, "/is-valid", dataset=dataset.id, config=config, split="train").status_code == 200
    counts = emu.counts
    assert (counts["viewer_is_valid"], counts["viewer_splits"], counts["viewer_first_rows"]) == (2, 2, 2)
    assert counts["list"] == counts["info"] == 0  # a separate service


def test_viewer_shapes_match_the_spec_examples(hub_factory) -> None:
    emu, dataset = _viewer_emu(hub_factory)
    config = next(iter(layout(f.path for f in dataset.files)))
    imdb = _example("first-rows__200__a-simple-dataset-stanfordnlp-stanfordnlp-imdb-with-text-and.json")
    rows = _viewer(emu, "/first-rows", dataset=dataset.id, config=config, split="train").json()
    assert _shape(rows) == _shape(imdb) and _shape(rows["features"][1]) == _shape(imdb["features"][1])
    every = _example("splits__200__all-splits-in-a-dataset.json")
    assert _shape(_viewer(emu, "/splits", dataset=dataset.id).json()) == _shape(every)
    single = _viewer(emu, "/splits", dataset=dataset.id, config=config).json()
    assert _shape(single) == _shape(_example("splits__200__splits-for-a-single-subset.json"))
    assert _viewer(emu, "/is-valid", dataset=dataset.id).json() == _example("is-valid__200__all-the-capabilities.json")
    spec = json.loads((SHARED / "dataset_viewer" / "openapi.json").read_text())["components"]["schemas"]
    codes = {v["const"] for k, v in spec.items() if k.startswith("X-Error-Code-")}
    for path, params, token in [
        ("/splits", {"dataset": "nobody/nothing"}, None),
        ("/splits", {"dataset": "nobody/nothing"}, NO_ACCESS_TOKEN),
        ("/first-rows", {"dataset": dataset.id}, None),
        ("/first-rows", {"dataset": dataset.id, "config": "nope", "split": "train"}, None),
    ]:
        assert _viewer(emu, path, token, **params).headers["X-Error-Code"] in codes


ONE = "Parameter 'dataset' is required"
THREE = "Parameters 'dataset', 'config' and 'split' are required"
R422 = "first-rows__422__"
MISSING = [  # (path, params, the error, the spec's example of it)
    ("/is-valid", {}, ONE, "is-valid__422__missing-dataset-parameter.json"),
    ("/is-valid", {"dataset": ""}, ONE, "is-valid__422__empty-dataset-parameter.json"),
    ("/splits", {}, ONE, "splits__422__missing-dataset-parameter.json"),
    ("/splits", {"dataset": " "}, ONE, "splits__422__empty-dataset-parameter.json"),
    ("/first-rows", {"dataset": "x", "config": "c"}, THREE, R422 + "missing-required-parameter.json"),
    ("/first-rows", {"dataset": "x", "config": "c", "split": ""}, THREE, R422 + "empty-required-parameter.json"),
]


@pytest.mark.parametrize(("path", "params", "error", "example"), MISSING)
def test_viewer_422_for_missing_or_empty_parameters(
    hub_factory, path: str, params: dict[str, str], error: str, example: str
) -> None:
    emu = hub_factory([])
    got = _viewer(emu, path, **params)
    assert got.status_code == 422 and got.headers["X-Error-Code"] == "MissingRequiredParameter"
    assert got.json() == {"error": error}


def test_viewer_access_inexistent_private_gated(hub_factory) -> None:
    emu, dataset = _viewer_emu(hub_factory)
    emu.set_private(dataset.id)
    gated = _of(build_corpus(**DEFAULT_CORPUS), "dataset")[1]
    emu.set_gated(gated.id, "manual")

    def answer(dataset_id: str, token: str | None) -> tuple[int, str, str]:
        got = _viewer(emu, "/splits", token, dataset=dataset_id)
        return got.status_code, got.headers.get("X-Error-Code", ""), got.json().get("error", "")

    outside, inside = ("ExternalUnauthenticatedError", NOT_ACCESSIBLE), ("ExternalAuthenticatedError", NOT_ACCESSIBLE)
    assert answer("nobody/nothing", None) == (401, *outside)
    assert answer("nobody/nothing", "hf_unknown_token") == (401, *outside)
    assert answer("nobody/nothing", NO_ACCESS_TOKEN) == (404, *inside)
    assert answer(dataset.id, None) == (401, *outside)
    assert answer(dataset.id, NO_ACCESS_TOKEN) == (404, *inside)
    assert answer(dataset.id, ACCESS_TOKEN) == (401, "ExternalUnauthenticatedError", "Not found.")
    assert answer(gated.id, None) == (404, *inside)
    assert answer(gated.id, NO_ACCESS_TOKEN) == (404, *inside)
    assert answer(gated.id, ACCESS_TOKEN)[0] == 200
    emu.grant("hf_reader", gated.id)
    reader = _viewer(emu, "/first-rows", "hf_reader", dataset=gated.id, config="default", split="train")
    assert reader.status_code == 200


def test_viewer_unknown_config_or_split_is_404(hub_factory) -> None:
    emu, dataset = _viewer_emu(hub_factory)
    for path, params in [
        ("/splits", {"config": "nope"}),
        ("/first-rows", {"config": "nope", "split": "train"}),
        ("/first-rows", {"config": "default", "split": "nope"}),
        ("/is-valid", {"config": "default", "split": "nope"}),
    ]:
        got = _viewer(emu, path, dataset=dataset.id, **params)
        assert (got.status_code, got.headers["X-Error-Code"]) == (404, "ResponseNotFound")
        assert got.json() == {"error": "Not found."}
    assert _viewer(emu, "/nowhere", dataset=dataset.id).status_code == 404 and emu.counts["other"] == 1


def test_viewer_modes_none_error_crash(hub_factory) -> None:
    emu, dataset = _viewer_emu(hub_factory)
    first_rows = {"dataset": dataset.id, "config": "default", "split": "train"}
    emu.set_viewer(dataset.id, "none")
    assert _viewer(emu, "/is-valid", dataset=dataset.id).json() == dict.fromkeys(CAPABILITIES, False)
    splits = _viewer(emu, "/splits", dataset=dataset.id)
    assert (splits.status_code, splits.headers["X-Error-Code"]) == (500, "EmptyDatasetError")
    assert splits.json()["error"] == "The dataset is empty." and splits.json()["cause_exception"] == "EmptyDatasetError"
    assert dataset.id in splits.json()["cause_message"] and splits.json()["cause_traceback"][0].startswith("Traceback")
    rows = _viewer(emu, "/first-rows", **first_rows)
    assert (rows.status_code, rows.headers["X-Error-Code"]) == (500, "StreamingRowsError")
    assert rows.json()["error"] == "Cannot load the dataset split (in streaming mode) to extract the first rows."
    emu.set_viewer(dataset.id, "error")
    every = [("/is-valid", {"dataset": dataset.id}), ("/splits", {"dataset": dataset.id}), ("/first-rows", first_rows)]
    for path, params in every:
        got = _viewer(emu, path, **params)
        assert (got.status_code, got.headers["X-Error-Code"]) == (500, "UnexpectedError")
        assert got.json() == {"error": "Unexpected error."}
        emu.set_viewer(dataset.id, "crash")
        crashed = _viewer(emu, path, **params)
        assert (crashed.status_code, crashed.text) == (500, "Internal Server Error.")
        assert crashed.headers["Content-Type"].startswith("text/plain") and "X-Error-Code" not in crashed.headers
        emu.set_viewer(dataset.id, "error")
    emu.set_viewer(dataset.id, "ok")
    assert _viewer(emu, "/splits", dataset=dataset.id).status_code == 200
    with pytest.raises(ValueError):
        emu.set_viewer(dataset.id, "sometimes")
    assert set(VIEWER_MODES) == {"ok", "none", "error", "crash", "slow"}


def test_viewer_error_bodies_are_the_spec_examples(hub_factory) -> None:
    for _path, _params, error, example in MISSING:
        assert _example(example) == {"error": error}
    for endpoint in ("is-valid", "splits", "first-rows"):
        for status, name in [
            (401, "inexistent-dataset-and-not-authenticated"),
            (404, "inexistent-dataset-while-authenticated"),
            (404, "private-dataset-while-authenticated-and-authorized"),
            (404, "gated-dataset-and-not-authenticated-or-authorized"),
        ]:
            assert _example(f"{endpoint}__{status}__{name}.json") == {"error": NOT_ACCESSIBLE}
        private = _example(f"{endpoint}__401__private-dataset-and-not-authenticated-or-authorized.json")
        assert private == {"error": "Not found."}
    emu, dataset = _viewer_emu(hub_factory)
    emu.set_viewer(dataset.id, "error")
    assert _viewer(emu, "/splits", dataset=dataset.id).json() == _example("splits__500__unexpected-error.json")
    emu.set_viewer(dataset.id, "crash")
    assert _viewer(emu, "/is-valid", dataset=dataset.id).text == _example("is-valid__500__internal-server-error.txt")
    emu.set_viewer(dataset.id, "none")
    for path, params, name in [
        ("/splits", {}, "splits__500__error-in-the-dataset-itself.json"),
        ("/first-rows", {"config": "default", "split": "train"}, "first-rows__500__error-in-the-dataset-itself.json"),
    ]:
        ours, spec = _viewer(emu, path, dataset=dataset.id, **params).json(), _example(name)
        assert set(ours) == set(spec) and ours["error"] == spec["error"]
        assert ours["cause_traceback"][-1].split(":")[0].endswith(spec["cause_exception"])


def test_viewer_slow_mode_lets_a_client_time_out(hub_factory) -> None:
    emu, dataset = _viewer_emu(hub_factory)
    assert emu.viewer_delay == 5
    emu.viewer_delay = 1.0
    emu.set_viewer(dataset.id, "slow")
    started = time.monotonic()
    with pytest.raises(httpx2.TimeoutException):
        _get(emu, "/is-valid", {"dataset": dataset.id}, timeout=0.2)
    assert time.monotonic() - started < 1.0
    started = time.monotonic()
    assert _get(emu, "/splits", {"dataset": dataset.id}, timeout=5).status_code == 200
    assert time.monotonic() - started >= 1.0
    other = _of(build_corpus(**DEFAULT_CORPUS), "dataset")[1]
    assert _get(emu, "/splits", {"dataset": other.id}, timeout=0.5).status_code == 200  # only that one is slow


def test_viewer_follows_the_repo_files(hub_factory) -> None:
    files = [RepoFile("README.md", b"---\nlicense: mit\n---\n# t\n"), RepoFile("train.csv", b"text,label\na,0\n")]
    script_only = Repo("dataset", "me/script-only", [RepoFile("s.py", b"x = 1\n")])
    emu = hub_factory([Repo("dataset", "me/plain", files), script_only])
    plain = _viewer(emu, "/splits", dataset="me/plain").json()["splits"]
    assert plain == [{"dataset": "me/plain", "config": "default", "split": "train"}]
    emu.update_file("me/plain", "test.csv", b"text,label\nb,1\n")
    assert [s["split"] for s in _viewer(emu, "/splits", dataset="me/plain").json()["splits"]] == ["train", "test"]
    emu.update_file("me/plain", "sub/validation-00000-of-00001.parquet", b"PAR1" + b"\0" * 64 + b"PAR1")
    emu.update_file("me/plain", "sub/train-00000-of-00001.parquet", b"PAR1" + b"\0" * 64 + b"PAR1")
    assert {s["config"] for s in _viewer(emu, "/splits", dataset="me/plain").json()["splits"]} == {"sub"}
    assert _viewer(emu, "/is-valid", dataset="me/script-only").json()["viewer"] is False  # no data: "none"
    assert _viewer(emu, "/splits", dataset="me/script-only").headers["X-Error-Code"] == "EmptyDatasetError"
