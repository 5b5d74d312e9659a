"""The Hub emulator (tests/hubemu) driven by the real huggingface_hub client.

What the client does, as observed here (huggingface_hub 2.4.0, httpx2 transport, Xet disabled):

* ``list_models/list_datasets/list_spaces(limit=N)`` send ``limit=N`` as the page size and follow
  ``Link: <absolute url>; rel="next"`` until they have N items (``islice``): ceil(N / page) GETs
  when the server caps pages below N, one GET when N <= 1000 on the real Hub. ``sort`` goes on the
  wire in camelCase (``trending_score`` -> ``trendingScore``); no ``direction`` is sent. Pages are
  fetched with ``http_backoff``: a 429 is retried (up to 5 times), sleeping ``t + 1`` seconds from
  ``RateLimit: ...;r=0;t=<t>`` (else ``Retry-After``).
* ``model_info``/``dataset_info``/``space_info`` = one GET ``/api/{type}s/{id}[/revision/{rev}]``
  (``?blobs=true`` for ``files_metadata``), through the plain session: a 429 is NOT retried, it
  raises ``HfHubHTTPError`` (status 429, message naming the bucket and the wait).
* ``list_repo_tree`` pages like listings (``recursive``/``expand`` always sent as true/false).
* ``hf_hub_download`` (fresh cache) = HEAD ``/resolve/{rev}/{path}`` (redirects followed only
  on the same origin: a 302 to the CDN port is not followed, its ``X-Linked-Etag``/
  ``X-Linked-Size``/``Location`` are the metadata) then one GET: to the same URL for a regular
  file, straight to the CDN URL for an LFS file. A cached file at ``main`` costs one HEAD; at a
  commit sha, nothing. A 429 on the HEAD is retried once more with backoff (sleeping as above);
  a 429 on the GET is retried by ``http_get``. A connection dropped mid-body is resumed after
  1 s with ``Range: bytes=<received>-``.
* ``snapshot_download`` = 1 info GET (``/revision/main``) + 1 tree GET (recursive, at the commit
  sha) + per file one HEAD (at the commit sha) and one GET (resolve or CDN), 8 threads.
* A 307 from a renamed repo is followed by the session (API) and by the HEAD helper (same host).
* Errors map by ``X-Error-Code``: RepoNotFound -> RepositoryNotFoundError, GatedRepo ->
  GatedRepoError, RevisionNotFound -> RevisionNotFoundError, EntryNotFound ->
  RemoteEntryNotFoundError; "Access to this resource is disabled." -> DisabledRepoError.
"""

from __future__ import annotations

import hashlib
import math
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import get_args

import httpx2
import pytest
from huggingface_hub import HfApi, hf_hub_download, snapshot_download
from huggingface_hub.errors import (
    BadRequestError,
    DisabledRepoError,
    GatedRepoError,
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.hf_api import (
    ExpandDatasetProperty_T,
    ExpandModelProperty_T,
    ExpandSpaceProperty_T,
    RepoFolder,
)
from huggingface_hub.hf_api import (
    RepoFile as ClientRepoFile,
)
from huggingface_hub.utils import parse_ratelimit_headers

from tests.hubemu import (
    ACCESS_TOKEN,
    MINILM_ID,
    NO_ACCESS_TOKEN,
    HubEmulator,
    Repo,
    RepoFile,
    build_corpus,
    git_blob_sha1,
)
from tests.hubemu.fixtures import DEFAULT_CORPUS, HfEnv, hf_env, hub, hub_env, hub_factory, minilm  # noqa: F401
from tests.hubemu.payloads import EXPAND, INFO_FIELDS, LIST_FIELDS
from tests.hubemu.repo import card_data_from_readme, is_lfs_path

RECORDED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "hub_api"


def _models(corpus: list[Repo], **where: object) -> list[Repo]:
    return [r for r in corpus if r.type == "model" and all(getattr(r, k) == v for k, v in where.items())]


def _public_model(emu: HubEmulator) -> Repo:
    """A public, ungated synthetic model with LFS files and a nested folder."""
    for repo in _models(build_corpus(**DEFAULT_CORPUS), private=False, gated=False):
        if repo.id != MINILM_ID and any(f.lfs for f in repo.files):
            return emu.repo(repo.id)
    raise AssertionError("the default corpus has no public model with LFS files")


def _raw(emu: HubEmulator, method: str, path: str, **kwargs: object) -> httpx2.Response:
    with httpx2.Client(follow_redirects=False) as client:
        return client.request(method, emu.endpoint + path, **kwargs)  # type: ignore[arg-type]


# -- corpus -----------------------------------------------------------------------------------
def test_build_corpus_is_deterministic_and_varied() -> None:
    a, b = build_corpus(n_models=10, seed=3), build_corpus(n_models=10, seed=3)
    assert [(r.id, r.sha, [(f.path, f.blob_id) for f in r.files]) for r in a] == [
        (r.id, r.sha, [(f.path, f.blob_id) for f in r.files]) for r in b
    ]
    assert [r.id for r in build_corpus(n_models=10, seed=4)] != [r.id for r in a]
    models = _models(a)
    assert {r.type for r in a} == {"model", "dataset", "space"}
    assert any(r.gated for r in models) and any(r.private for r in models)
    assert len({r.pipeline_tag for r in models}) >= 4 and len({r.author for r in models}) >= 5
    for repo in a:
        assert len(repo.sha) == 40 and repo.file(".gitattributes") is not None
        for f in repo.files:
            assert f.lfs == is_lfs_path(f.path, f.size), f.path
    assert any("/" in f.path for r in models for f in r.files)
    assert sum(r.card_data is not None for r in models) >= 3


def test_repo_file_git_facts() -> None:
    data = b"hello world\n"
    f = RepoFile("a.txt", data)
    assert f.blob_id == git_blob_sha1(data) == "3b18e512dba79e4c8300dd08aeb37f8e728b8dad"  # git hash-object
    big = RepoFile("w.bin", b"\0" * 100, lfs=True)
    assert big.pointer.startswith(b"version https://git-lfs.github.com/spec/v1\noid sha256:")
    assert big.blob_id == git_blob_sha1(big.pointer) and big.sha256 == hashlib.sha256(b"\0" * 100).hexdigest()
    assert is_lfs_path("x/model.safetensors", 10) and is_lfs_path("big.txt", 11 * 2**20)
    assert not is_lfs_path("config.json", 10)


def test_card_data_tolerates_bad_yaml() -> None:
    assert card_data_from_readme(b"---\nlicense: mit\ntags:\n- a\n---\n# x") == {"license": "mit", "tags": ["a"]}
    assert card_data_from_readme(b"---\nlicense: [unclosed\n---\ntext") is None
    assert card_data_from_readme(b"no front matter") is None
    assert card_data_from_readme(b"---\n- a list\n---\n") is None
    assert card_data_from_readme(b"---\ndate: 2020-01-02\n---\n") == {"date": "2020-01-02"}


def test_expand_names_match_the_client() -> None:
    assert set(EXPAND["model"]) == set(get_args(ExpandModelProperty_T))
    assert set(EXPAND["dataset"]) == set(get_args(ExpandDatasetProperty_T))
    assert set(EXPAND["space"]) == set(get_args(ExpandSpaceProperty_T))


# -- listings ---------------------------------------------------------------------------------
def test_list_models_trending_paginates_with_limit_as_page_size(hub_factory) -> None:  # noqa: F811
    emu = hub_factory(page_size=3)
    visible = [r for r in build_corpus(**DEFAULT_CORPUS) if r.type == "model" and not r.private]
    expected = [r.id for r in sorted(visible, key=lambda r: (-r.trending_score, r.id))][:7]
    api = HfApi(endpoint=emu.endpoint)

    got = list(api.list_models(sort="trending_score", limit=7, expand=["trendingScore", "likes", "author"]))

    assert [m.id for m in got] == expected
    assert [m.trending_score for m in got] == sorted((m.trending_score for m in got), reverse=True)
    assert all(m.likes is not None and m.author and m.downloads is None and m.tags is None for m in got)
    assert emu.counts["list"] == math.ceil(7 / 3)
    first, second = emu.requests[0][1], emu.requests[1][1]
    assert "sort=trendingScore" in first and "limit=7" in first and "expand=likes" in first
    assert "cursor=" in second and "limit=7" in second
    raw = _raw(emu, "GET", "/api/models", params=[("limit", "2"), ("expand", "likes"), ("expand", "sha")])
    assert all(set(item) == {"_id", "id", "likes", "sha"} for item in raw.json())
    assert raw.headers["Link"].startswith(f"<{emu.endpoint}/api/models?") and raw.headers["Link"].endswith('rel="next"')


def test_list_models_default_full_and_carddata_fields(hub) -> None:  # noqa: F811
    plain = _raw(hub, "GET", "/api/models", params={"limit": "50"}).json()
    assert plain and all(set(item) <= set(LIST_FIELDS["model"]) for item in plain)
    always = {"_id", "id", "modelId", "likes", "downloads", "tags", "createdAt", "trendingScore"}
    assert all(always <= set(item) for item in plain)
    api = HfApi(endpoint=hub.endpoint)
    full = list(api.list_models(full=True, cardData=True, limit=50))
    assert all(m.siblings and m.sha and m.last_modified for m in full)
    assert any(m.card_data is not None for m in full)
    assert all(s.size is None for m in full for s in m.siblings)  # listings never carry blobs


def test_list_filters_and_sorts(hub) -> None:  # noqa: F811
    api = HfApi(endpoint=hub.endpoint)
    corpus = [r for r in build_corpus(**DEFAULT_CORPUS) if r.type == "model" and not r.private]
    target = corpus[-1]
    assert [m.id for m in api.list_models(author=target.author)] == [
        r.id for r in sorted(corpus, key=lambda r: (-r.trending_score, r.id)) if r.author == target.author
    ]
    assert target.id in [m.id for m in api.list_models(search=target.id.split("/")[1][:6].upper())]
    assert {m.id for m in api.list_models(pipeline_tag=target.pipeline_tag)} == {
        r.id for r in corpus if r.pipeline_tag == target.pipeline_tag
    }
    assert {m.id for m in api.list_models(filter=[target.library_name, target.pipeline_tag])} == {
        r.id for r in corpus if {target.library_name, target.pipeline_tag} <= set(r.tags)
    }
    for sort in ("likes", "downloads", "created_at", "last_modified"):

        def newest_first(r: Repo, attr: str = sort) -> tuple[float, str]:
            value = getattr(r, attr)
            return (-(value.timestamp() if hasattr(value, "timestamp") else value), r.id)

        got = [m.id for m in api.list_models(sort=sort)]  # type: ignore[arg-type]
        assert got == [r.id for r in sorted(corpus, key=newest_first)], sort
    ignored = _raw(hub, "GET", "/api/models", params={"sort": "likes", "direction": "1", "expand": "likes"}).json()
    assert [i["likes"] for i in ignored] == sorted((r.likes for r in corpus), reverse=True)  # never ascending
    oldest = _raw(hub, "GET", "/api/models", params={"sort": "createdAt", "direction": "1", "expand": "createdAt"})
    assert [r.id for r in sorted(corpus, key=lambda r: (r.created_at, r.id))] == [i["id"] for i in oldest.json()]
    assert {d.id for d in api.list_datasets()} == {r.id for r in build_corpus(**DEFAULT_CORPUS) if r.type == "dataset"}
    spaces = list(api.list_spaces(expand=["sdk", "likes"]))
    assert spaces and all(s.sdk for s in spaces)


def test_list_rejects_unknown_expand_and_sort(hub) -> None:  # noqa: F811
    api = HfApi(endpoint=hub.endpoint)
    with pytest.raises(BadRequestError):
        list(api.list_models(expand=["notAField"]))  # type: ignore[list-item]
    with pytest.raises(BadRequestError):
        api.model_info(_public_model(hub).id, expand=["runtime"])  # a space-only name
    raw = _raw(hub, "GET", "/api/models", params={"sort": "stars"})
    assert raw.status_code == 400 and raw.headers["X-Error-Code"] and raw.headers["X-Error-Message"]


# -- repo info --------------------------------------------------------------------------------
def test_model_info_with_files_metadata(hub) -> None:  # noqa: F811
    repo = _public_model(hub)
    info = HfApi(endpoint=hub.endpoint).model_info(repo.id, files_metadata=True)
    assert (info.id, info.sha, info.author, info.private, info.gated) == (repo.id, repo.sha, repo.author, False, False)
    assert (info.likes, info.downloads, info.pipeline_tag, info.library_name) == (
        repo.likes, repo.downloads, repo.pipeline_tag, repo.library_name
    )
    assert info.created_at == repo.created_at and info.last_modified == repo.last_modified
    assert info.used_storage == sum(f.size for f in repo.files)
    assert info.safetensors is not None and info.safetensors.total > 0
    by_path = {f.path: f for f in repo.files}
    assert [s.rfilename for s in info.siblings] == sorted(by_path)
    for s in info.siblings:
        f = by_path[s.rfilename]
        assert (s.size, s.blob_id) == (f.size, f.blob_id)
        assert (s.lfs is not None) == f.lfs
        if f.lfs:
            assert (s.lfs.sha256, s.lfs.size, s.lfs.pointer_size) == (f.sha256, f.size, len(f.pointer))
    assert hub.counts["info"] == 1 and hub.requests[0][1].endswith("?blobs=true")


def test_info_shapes_match_recorded_hub_responses(hub) -> None:  # noqa: F811
    import json

    ours = _raw(hub, "GET", f"/api/models/{_public_model(hub).id}")
    recorded_files = sorted(RECORDED.glob("GET_api__models__*.json"))
    recorded_files = [p for p in recorded_files if not p.name.endswith(".headers.json")]
    if not recorded_files:
        pytest.skip(f"no recorded Hub responses in {RECORDED}")
    body = ours.json()
    for path in recorded_files:
        real = json.loads(path.read_text())
        for key, value in body.items():
            if key in real and real[key] is not None and value is not None:
                assert type(value) is type(real[key]), (path.name, key)
        common = {"_id", "id", "private", "tags", "downloads", "likes", "modelId", "author", "sha",
                  "lastModified", "gated", "disabled", "config", "siblings", "createdAt", "usedStorage"}
        assert common <= set(real) and common <= set(body)
        assert set(real["siblings"][0]) == set(body["siblings"][0]) == {"rfilename"}
    assert list(body)[:3] == ["_id", "id", "private"] and set(body) <= set(INFO_FIELDS["model"])
    assert ours.headers["Content-Type"] == "application/json; charset=utf-8"
    assert ours.headers["X-Powered-By"] == "huggingface-moon" and ours.headers["ETag"].startswith('W/"')


def test_dataset_and_space_info(hub) -> None:  # noqa: F811
    api = HfApi(endpoint=hub.endpoint)
    corpus = build_corpus(**DEFAULT_CORPUS)
    dataset = next(r for r in corpus if r.type == "dataset")
    space = next(r for r in corpus if r.type == "space")
    d = api.dataset_info(dataset.id, files_metadata=True)
    assert d.sha == dataset.sha and d.card_data is not None and d.description
    assert {s.rfilename for s in d.siblings if s.lfs} == {f.path for f in dataset.files if f.lfs}
    s = api.space_info(space.id)
    assert s.sdk == space.sdk and s.runtime is not None and s.runtime.stage == "RUNNING"
    assert s.host and s.subdomain and s.models == space.card_data["models"]
    assert hub.requests[0][1].startswith(f"/api/datasets/{dataset.id}")


def test_revisions_commits_and_refs(hub) -> None:  # noqa: F811
    repo = _public_model(hub)
    api = HfApi(endpoint=hub.endpoint)
    new_sha = hub.update_file(repo.id, "config.json", b'{"model_type": "changed"}\n')
    assert new_sha != repo.sha and hub.repo(repo.id).sha == new_sha
    assert api.model_info(repo.id).sha == new_sha
    old = api.model_info(repo.id, revision=repo.sha, expand=["sha", "lastModified"])
    assert old.sha == repo.sha and old.last_modified == repo.last_modified and old.likes is None
    refs = api.list_repo_refs(repo.id)
    assert [(b.name, b.target_commit) for b in refs.branches] == [("main", new_sha)]
    commits = api.list_repo_commits(repo.id)
    assert [c.commit_id for c in commits] == [new_sha, repo.sha]
    new_file = hub.update_file(repo.id, "weights/extra.pt", b"\x01" * 64)
    assert hub.repo(repo.id).file("weights/extra.pt").lfs  # type: ignore[union-attr]
    assert new_file != new_sha
    hub.delete_file(repo.id, "weights/extra.pt")
    assert "weights/extra.pt" not in api.list_repo_files(repo.id)


# -- trees ------------------------------------------------------------------------------------
def test_list_repo_tree_recursive_paginated_and_git_exact(hub_factory, tmp_path) -> None:  # noqa: F811
    emu = hub_factory(tree_page_size=4)
    repo = _public_model(emu)
    api = HfApi(endpoint=emu.endpoint)
    entries = list(api.list_repo_tree(repo.id, recursive=True))
    files = {e.path: e for e in entries if isinstance(e, ClientRepoFile)}
    folders = {e.path: e for e in entries if isinstance(e, RepoFolder)}
    assert set(files) == {f.path for f in repo.files}
    assert set(folders) == {"/".join(p.split("/")[:i]) for p in files for i in range(1, p.count("/") + 1)}
    for f in repo.files:
        got = files[f.path]
        assert (got.size, got.blob_id) == (f.size, f.blob_id)
        assert (got.lfs.sha256 if got.lfs else None) == (f.sha256 if f.lfs else None)
    assert emu.counts["tree"] == math.ceil(len(entries) / 4)
    top = list(api.list_repo_tree(repo.id))
    assert [e.path for e in top] == sorted((e.path for e in top), key=lambda p: p + "/" if p in folders else p)
    assert all("/" not in e.path for e in top)
    sub = next(iter(folders))
    assert {e.path for e in api.list_repo_tree(repo.id, path_in_repo=sub)} == {
        p for p in list(files) + list(folders) if p.startswith(sub + "/") and "/" not in p[len(sub) + 1 :]
    }
    expanded = list(api.list_repo_tree(repo.id, expand=True))
    assert all(e.last_commit is not None and e.last_commit.oid == repo.sha for e in expanded)
    # the folder oids are real git tree ids: rebuild the repo with git and compare
    work = tmp_path / "git"
    for f in repo.files:
        target = work / f.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(f.pointer if f.lfs else f.data)
    git = ["git", "-C", str(work), "-c", "core.autocrlf=false"]
    subprocess.run([*git[:3], "init", "-q"], check=True, capture_output=True)
    subprocess.run([*git, "add", "-A"], check=True, capture_output=True)
    for path, folder in folders.items():
        oid = subprocess.run([*git, "write-tree", f"--prefix={path}/"], check=True, capture_output=True, text=True)
        assert folder.tree_id == oid.stdout.strip(), path


def test_get_paths_info(hub) -> None:  # noqa: F811
    repo = _public_model(hub)
    lfs = next(f for f in repo.files if f.lfs)
    got = HfApi(endpoint=hub.endpoint).get_paths_info(repo.id, ["config.json", lfs.path, "missing.txt"])
    assert [g.path for g in got] == ["config.json", lfs.path]
    assert got[1].lfs is not None and got[1].lfs.sha256 == lfs.sha256
    assert hub.counts["paths_info"] == 1


# -- downloads --------------------------------------------------------------------------------
def test_hf_hub_download_regular_then_lfs_counts(hub, tmp_path) -> None:  # noqa: F811
    repo = _public_model(hub)
    lfs = max((f for f in repo.files if f.lfs), key=lambda f: f.size)
    cache = tmp_path / "cache"

    path = hf_hub_download(repo.id, "config.json", endpoint=hub.endpoint, cache_dir=cache)
    assert Path(path).read_bytes() == repo.file("config.json").data  # type: ignore[union-attr]
    assert (hub.counts["resolve_head"], hub.counts["resolve_get"], hub.counts["cdn_get"]) == (1, 1, 0)
    assert [r[0] for r in hub.requests] == ["HEAD", "GET"]

    hub.reset_counts()
    path = hf_hub_download(repo.id, lfs.path, endpoint=hub.endpoint, cache_dir=cache)
    assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == lfs.sha256
    assert [(m, s) for m, _, s in hub.requests] == [("HEAD", 302), ("GET", 200)]
    assert hub.requests[1][1].startswith("/repos/") and hub.counts["cdn_get"] == 1
    assert hub.bytes_by_kind["cdn_get"] == lfs.size == hub.bytes_served

    hub.reset_counts()  # cached: one HEAD at main, nothing at a commit sha
    hf_hub_download(repo.id, lfs.path, endpoint=hub.endpoint, cache_dir=cache)
    assert [r[0] for r in hub.requests] == ["HEAD"]
    hub.reset_counts()
    hf_hub_download(repo.id, lfs.path, revision=repo.sha, endpoint=hub.endpoint, cache_dir=cache)
    assert hub.requests == []


def test_resolve_headers_and_redirect_to_cdn(hub) -> None:  # noqa: F811
    repo = _public_model(hub)
    lfs = next(f for f in repo.files if f.lfs)
    regular = _raw(hub, "HEAD", f"/{repo.id}/resolve/main/config.json")
    data = repo.file("config.json").data  # type: ignore[union-attr]
    assert regular.status_code == 200 and regular.headers["ETag"] == f'"{git_blob_sha1(data)}"'
    assert regular.headers["X-Repo-Commit"] == repo.sha and regular.headers["Content-Length"] == str(len(data))
    assert regular.headers["Accept-Ranges"] == "bytes"
    moved = _raw(hub, "HEAD", f"/{repo.id}/resolve/{repo.sha}/{lfs.path}")
    assert moved.status_code == 302 and moved.headers["Location"].startswith(hub.cdn_endpoint + "/repos/")
    assert moved.headers["X-Linked-Etag"] == f'"{lfs.sha256}"' and moved.headers["X-Linked-Size"] == str(lfs.size)
    assert moved.headers["X-Repo-Commit"] == repo.sha and moved.headers["ETag"]
    with httpx2.Client(follow_redirects=True) as client:  # a plain GET follows the 302 to the other port
        body = client.get(f"{hub.endpoint}/{repo.id}/resolve/main/{lfs.path}")
    assert body.status_code == 200 and body.content == lfs.data
    assert [s for _, _, s in hub.requests[-2:]] == [302, 200] and hub.counts["cdn_get"] == 1
    forged = moved.headers["Location"].replace("Signature=", "Signature=0")
    assert httpx2.get(forged).status_code == 403


def test_snapshot_download_counts(hub, tmp_path) -> None:  # noqa: F811
    repo = _public_model(hub)
    folder = Path(snapshot_download(repo.id, endpoint=hub.endpoint, cache_dir=tmp_path))
    for f in repo.files:
        assert (folder / f.path).read_bytes() == f.data
    n_lfs = sum(f.lfs for f in repo.files)
    counts = hub.counts
    assert (counts["info"], counts["tree"]) == (1, 1)
    assert counts["resolve_head"] == len(repo.files)
    assert (counts["resolve_get"], counts["cdn_get"]) == (len(repo.files) - n_lfs, n_lfs)
    assert sum(counts.values()) == 2 + len(repo.files) * 2
    assert hub.requests[0][1] == f"/api/models/{repo.id}/revision/main"
    assert hub.bytes_by_kind["resolve_get"] + hub.bytes_by_kind["cdn_get"] == sum(f.size for f in repo.files)


def test_real_minilm_download(hub_factory, minilm, tmp_path) -> None:  # noqa: F811
    emu = hub_factory([minilm])
    api = HfApi(endpoint=emu.endpoint)
    info = api.model_info(MINILM_ID, files_metadata=True)
    weights = minilm.file("model.safetensors")
    assert weights is not None and weights.lfs and weights.size > 80_000_000
    assert info.safetensors is not None and info.safetensors.total == 22_713_728
    assert {s.rfilename: s.lfs is not None for s in info.siblings}["tokenizer.json"] is False
    path = hf_hub_download(MINILM_ID, "model.safetensors", endpoint=emu.endpoint, cache_dir=tmp_path)
    assert Path(path).stat().st_size == weights.size
    assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == weights.sha256
    assert emu.counts["cdn_get"] == 1


def test_dataset_and_space_downloads(hub, tmp_path) -> None:  # noqa: F811
    corpus = build_corpus(**DEFAULT_CORPUS)
    dataset = next(r for r in corpus if r.type == "dataset" and not r.gated)
    parquet = next(f for f in dataset.files if f.lfs)
    path = hf_hub_download(dataset.id, parquet.path, repo_type="dataset", endpoint=hub.endpoint, cache_dir=tmp_path)
    assert Path(path).read_bytes() == parquet.data
    assert hub.requests[0][1] == f"/datasets/{dataset.id}/resolve/main/{parquet.path}"
    space = next(r for r in corpus if r.type == "space")
    path = hf_hub_download(space.id, "app.py", repo_type="space", endpoint=hub.endpoint, cache_dir=tmp_path)
    assert Path(path).read_bytes() == space.file("app.py").data  # type: ignore[union-attr]


def test_range_requests_and_resume_after_dropped_connection(hub, tmp_path) -> None:  # noqa: F811
    repo = _public_model(hub)
    lfs = max((f for f in repo.files if f.lfs), key=lambda f: f.size)
    data = repo.file("vocab.txt").data  # type: ignore[union-attr]
    url = f"/{repo.id}/resolve/main/vocab.txt"
    part = _raw(hub, "GET", url, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == data[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{len(data)}"
    assert _raw(hub, "GET", url, headers={"Range": "bytes=-5"}).content == data[-5:]
    assert _raw(hub, "GET", url, headers={"Range": f"bytes={len(data)}-"}).status_code == 416

    # the raw way: a dropped regular-file GET, resumed with Range
    hub.drop_connection(repo.id, "vocab.txt", after_bytes=20)
    with httpx2.Client() as client:
        with pytest.raises(httpx2.RemoteProtocolError):
            client.get(hub.endpoint + url)
        rest = client.get(hub.endpoint + url, headers={"Range": "bytes=20-"})
    assert rest.status_code == 206 and data[:20] + rest.content == data

    # the client's way: http_get resumes from what it has written, in 10 MiB chunks
    # (constants.DOWNLOAD_CHUNK_SIZE): a drop inside the first chunk restarts at 0 without Range...
    hub.reset_counts()
    hub.drop_connection(repo.id, lfs.path, after_bytes=1000)
    path = hf_hub_download(repo.id, lfs.path, endpoint=hub.endpoint, cache_dir=tmp_path)
    assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == lfs.sha256
    assert [(m, s) for m, _, s in hub.requests] == [("HEAD", 302), ("GET", 200), ("GET", 200)]
    assert hub.bytes_by_kind["cdn_get"] == 1000 + lfs.size

    # ... and a drop after the first chunk resumes with Range: bytes=10485760-
    chunk = 10 * 1024 * 1024
    big = bytes(range(256)) * (12 * 1024 * 1024 // 256)
    hub.update_file(repo.id, "big/weights.bin", big)
    hub.reset_counts()
    hub.drop_connection(repo.id, "big/weights.bin", after_bytes=chunk + chunk // 10)
    path = hf_hub_download(repo.id, "big/weights.bin", endpoint=hub.endpoint, cache_dir=tmp_path)
    assert Path(path).read_bytes() == big
    assert [(m, s) for m, _, s in hub.requests] == [("HEAD", 302), ("GET", 200), ("GET", 206)]
    assert hub.bytes_by_kind["cdn_get"] == chunk + chunk // 10 + len(big) - chunk


# -- errors -----------------------------------------------------------------------------------
def test_errors_map_to_client_exceptions(hub, tmp_path) -> None:  # noqa: F811
    api = HfApi(endpoint=hub.endpoint)
    repo = _public_model(hub)
    raised: list[HfHubHTTPError] = []

    def expect(error: type[Exception], call, *args, status: int, **kwargs) -> None:  # noqa: ANN001
        with pytest.raises(error) as info:
            call(*args, **kwargs)
        assert isinstance(info.value, HfHubHTTPError) and info.value.response.status_code == status
        raised.append(info.value)

    expect(RepositoryNotFoundError, api.model_info, "nobody/nothing", status=401)  # anonymous: 401
    expect(RepositoryNotFoundError, api.model_info, "nobody/nothing", token=NO_ACCESS_TOKEN, status=404)
    expect(RevisionNotFoundError, api.model_info, repo.id, revision="no-such-branch", status=404)
    download = {"endpoint": hub.endpoint, "cache_dir": tmp_path}
    expect(RevisionNotFoundError, hf_hub_download, repo.id, "config.json", revision="0" * 40, status=404, **download)
    expect(RemoteEntryNotFoundError, hf_hub_download, repo.id, "nope.txt", status=404, **download)
    assert raised[-1].response.headers["X-Repo-Commit"] == repo.sha  # the client caches the miss by commit
    expect(RemoteEntryNotFoundError, lambda: list(api.list_repo_tree(repo.id, path_in_repo="no-dir")), status=404)
    expect(HfHubHTTPError, api.model_info, repo.id, token="hf_unknown", status=401)
    assert not isinstance(raised[-1], RepositoryNotFoundError)  # bad credentials are not "not found"
    hub.set_disabled(repo.id)
    expect(DisabledRepoError, api.model_info, repo.id, status=403)
    assert [s for _, _, s in hub.requests] == [401, 404, 404, 404, 404, 404, 401, 403]
    for error in raised:
        assert error.response.headers["X-Error-Code"] and error.response.headers["X-Error-Message"]


def test_private_repos(hub, tmp_path) -> None:  # noqa: F811
    api = HfApi(endpoint=hub.endpoint)
    repo = _public_model(hub)
    hub.set_private(repo.id)
    assert repo.id not in {m.id for m in api.list_models()}
    assert repo.id in {m.id for m in api.list_models(token=ACCESS_TOKEN)}
    with pytest.raises(RepositoryNotFoundError) as anonymous:
        api.model_info(repo.id)
    assert anonymous.value.response.status_code == 401
    with pytest.raises(RepositoryNotFoundError) as denied:
        hf_hub_download(repo.id, "config.json", endpoint=hub.endpoint, cache_dir=tmp_path, token=NO_ACCESS_TOKEN)
    assert denied.value.response.status_code == 404 and not isinstance(denied.value, GatedRepoError)
    assert api.model_info(repo.id, token=ACCESS_TOKEN).private is True
    hub.grant("hf_reader", repo.id)
    assert api.model_info(repo.id, token="hf_reader").id == repo.id


def test_gated_repos(hub, tmp_path) -> None:  # noqa: F811
    api = HfApi(endpoint=hub.endpoint)
    repo = _public_model(hub)
    hub.set_gated(repo.id, "manual")
    info = api.model_info(repo.id)  # metadata stays public
    assert info.gated == "manual" and info.siblings
    with pytest.raises(GatedRepoError) as anonymous:
        hf_hub_download(repo.id, "config.json", endpoint=hub.endpoint, cache_dir=tmp_path)
    assert anonymous.value.response.status_code == 401
    with pytest.raises(GatedRepoError) as no_access:
        hf_hub_download(repo.id, "config.json", endpoint=hub.endpoint, cache_dir=tmp_path, token=NO_ACCESS_TOKEN)
    assert no_access.value.response.status_code == 403
    assert "not in the authorized list" in no_access.value.response.headers["X-Error-Message"]
    path = hf_hub_download(repo.id, "config.json", endpoint=hub.endpoint, cache_dir=tmp_path, token=ACCESS_TOKEN)
    assert Path(path).read_bytes() == repo.file("config.json").data  # type: ignore[union-attr]
    assert [s for _, _, s in hub.requests] == [200, 401, 403, 200, 200]
    hub.set_gated(repo.id, False)
    assert api.model_info(repo.id).gated is False


def test_renamed_repo_answers_307(hub, tmp_path) -> None:  # noqa: F811
    api = HfApi(endpoint=hub.endpoint)
    repo = _public_model(hub)
    new_id = "renamed-org/" + repo.id.split("/")[1]
    hub.rename_repo(repo.id, new_id)
    raw = _raw(hub, "GET", f"/api/models/{repo.id}/revision/main")
    assert raw.status_code == 307 and raw.headers["Location"] == f"/api/models/{new_id}/revision/main"
    hub.reset_counts()
    info = api.model_info(repo.id)
    assert info.id == new_id and info.author == "renamed-org"
    assert [s for _, _, s in hub.requests] == [307, 200] and hub.counts["info"] == 2
    hub.reset_counts()
    path = hf_hub_download(repo.id, "config.json", endpoint=hub.endpoint, cache_dir=tmp_path)
    assert Path(path).read_bytes() == repo.file("config.json").data  # type: ignore[union-attr]
    # the HEAD helper follows the same-host 307 and the GET then goes straight to the new URL
    assert [(m, s) for m, _, s in hub.requests] == [("HEAD", 307), ("HEAD", 200), ("GET", 200)]
    assert hub.requests[2][1] == f"/{new_id}/resolve/main/config.json"


def test_removed_and_added_repos(hub) -> None:  # noqa: F811
    api = HfApi(endpoint=hub.endpoint)
    repo = _public_model(hub)
    hub.remove_repo(repo.id)
    with pytest.raises(RepositoryNotFoundError):
        api.model_info(repo.id)
    readme = RepoFile("README.md", b"---\nlicense: mit\n---\nhi\n")
    hub.add_repo(Repo("model", "fresh/new-model", [readme], trending_score=10_000))
    first = next(iter(api.list_models(sort="trending_score", limit=1)))
    assert first.id == "fresh/new-model"
    hub.set_trending("fresh/new-model", -1)
    assert next(iter(api.list_models(sort="trending_score", limit=1))).id != "fresh/new-model"
    assert api.model_info("fresh/new-model").card_data.license == "mit"  # type: ignore[union-attr]


# -- rate limits ------------------------------------------------------------------------------
class _WindowPerRefusal:
    """A limiter clock that moves to the next window after each 429 (as if the client waited)."""

    def __init__(self, window: float) -> None:
        self.window, self.emu = window, None

    def __call__(self) -> float:
        return 0.0 if self.emu is None else self.emu.counts["429"] * self.window


def test_rate_limit_headers_and_429(hub_factory, tmp_path) -> None:  # noqa: F811
    """On 429 the paginator sleeps t+1 s and retries; model_info raises at once; a download's
    GET is retried by http_get. Every Hub response carries RateLimit / RateLimit-Policy."""
    clock = _WindowPerRefusal(1.0)
    emu = hub_factory(quotas={"api": 3, "resolvers": 1}, window=1.0, page_size=1, clock=clock)
    clock.emu = emu
    api = HfApi(endpoint=emu.endpoint)

    ok = _raw(emu, "GET", "/api/models", params={"limit": "1"})
    assert ok.headers["RateLimit"] == '"api";r=2;t=1'
    assert ok.headers["RateLimit-Policy"] == '"fixed window";"api";q=3;w=1'
    info = parse_ratelimit_headers(ok.headers)
    assert info is not None
    assert (info.resource_type, info.remaining, info.limit, info.window_seconds) == ("api", 2, 3, 1)

    started = time.monotonic()
    models = list(api.list_models(limit=4))  # 2 pages fit the window, the 3rd gets 429, then retried
    assert len(models) == 4 and emu.counts["429"] == 1 and emu.counts["list"] == 6
    assert time.monotonic() - started >= 2.0  # slept t + 1

    emu.reset_counts()
    with pytest.raises(HfHubHTTPError) as refused:
        for _ in range(4):
            api.model_info(models[0].id)
    response = refused.value.response
    assert response.status_code == 429 and response.headers["Retry-After"] == "1"
    assert response.headers["RateLimit"].startswith('"api";r=0;') and response.headers["X-Error-Code"]
    assert "rate limit" in str(refused.value) and emu.counts["info"] == emu.counts["429"] + 3

    emu.reset_counts()
    repo = _public_model(emu)
    url = f"/{repo.id}/resolve/main/config.json"
    assert _raw(emu, "HEAD", url).headers["RateLimit"] == '"resolvers";r=0;t=1'  # uses the quota of 1
    path = hf_hub_download(repo.id, "config.json", endpoint=emu.endpoint, cache_dir=tmp_path)
    assert Path(path).read_bytes() == repo.file("config.json").data  # type: ignore[union-attr]
    # HEAD 429 -> the metadata call is made again with retries; GET 429 -> http_get retries
    statuses = [(m, s) for m, _, s in emu.requests]
    assert statuses == [("HEAD", 200), ("HEAD", 429), ("HEAD", 200), ("GET", 429), ("GET", 200)]
    assert "RateLimit" not in httpx2.get(emu.endpoint + "/").headers  # pages bucket: no quota set


# -- the environment --------------------------------------------------------------------------
def test_client_pointed_by_environment(hub_env, tmp_path) -> None:  # noqa: F811
    repo = _public_model(hub_env)
    assert HfApi().model_info(repo.id).sha == repo.sha  # no endpoint= anywhere
    path = hf_hub_download(repo.id, "config.json")
    assert path.startswith(str(tmp_path)) and Path(path).read_bytes() == repo.file("config.json").data  # type: ignore[union-attr]
    assert hub_env.counts["info"] == 1 and hub_env.counts["resolve_get"] == 1


def test_client_in_a_subprocess_uses_hf_endpoint(hf_env: HfEnv, hub) -> None:  # noqa: F811
    repo = _public_model(hub)
    code = (
        "import sys; from huggingface_hub import HfApi, hf_hub_download\n"
        f"print(HfApi().model_info({repo.id!r}).sha)\n"
        f"print(open(hf_hub_download({repo.id!r}, 'config.json'), 'rb').read().hex())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=hf_env.subprocess_env(hub), capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    sha, content = out.stdout.split()
    assert sha == repo.sha and bytes.fromhex(content) == repo.file("config.json").data  # type: ignore[union-attr]


# -- the emulator itself ----------------------------------------------------------------------
def test_latency_and_concurrent_mutation(hub_factory) -> None:  # noqa: F811
    emu = hub_factory(latency=0.2)
    repo = _public_model(emu)
    api = HfApi(endpoint=emu.endpoint)
    started = time.monotonic()
    api.model_info(repo.id)
    assert time.monotonic() - started >= 0.2
    emu.latency = 0.0
    emu.reset_counts()
    errors: list[BaseException] = []

    def read() -> None:
        try:
            for _ in range(10):
                assert api.model_info(repo.id).sha is not None
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    shas = {emu.update_file(repo.id, "counter.txt", str(i).encode()) for i in range(10)}
    for t in threads:
        t.join()
    assert errors == [] and len(shas) == 10 and emu.counts["info"] == 40
    assert api.model_info(repo.id).sha == emu.repo(repo.id).sha
    assert len(api.list_repo_commits(repo.id)) == 11


def test_bandwidth_caps_every_body_together(hub_factory, tmp_path) -> None:  # noqa: F811
    """Two downloads at once share the one link: 2 x 1 MB at 4 MB/s take at least 0.5 s in all."""
    emu = hub_factory(bandwidth=4_000_000)
    repo = _public_model(emu)
    payload = os.urandom(1_000_000)
    for name in ("a.bin", "b.bin"):
        emu.update_file(repo.id, name, payload)
    got: dict[str, bytes] = {}

    def fetch(name: str) -> None:
        got[name] = Path(hf_hub_download(repo.id, name, cache_dir=tmp_path / name, endpoint=emu.endpoint)).read_bytes()

    started = time.monotonic()
    threads = [threading.Thread(target=fetch, args=(name,)) for name in ("a.bin", "b.bin")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    capped = time.monotonic() - started
    assert capped >= 0.5 and got == {"a.bin": payload, "b.bin": payload}
    emu.link.bytes_per_s = 0  # and off again: one of them now goes at loopback speed
    started = time.monotonic()
    hf_hub_download(repo.id, "a.bin", cache_dir=tmp_path / "again", endpoint=emu.endpoint)
    assert time.monotonic() - started < capped


def test_counters_are_exact_and_reset(hub) -> None:  # noqa: F811
    repo = _public_model(hub)
    api = HfApi(endpoint=hub.endpoint)
    list(api.list_models(limit=2))
    api.model_info(repo.id)
    list(api.list_repo_tree(repo.id))
    _raw(hub, "GET", "/no/such/page")
    counts = hub.counts
    assert {k: v for k, v in counts.items() if v} == {"list": 1, "info": 1, "tree": 1, "other": 1}
    assert [s for _, _, s in hub.requests] == [200, 200, 200, 404]
    assert hub.bytes_served > 0
    hub.reset_counts()
    assert sum(hub.counts.values()) == 0 and hub.requests == [] and hub.bytes_served == 0
    stopped = HubEmulator([])
    with pytest.raises(RuntimeError):
        stopped.endpoint  # noqa: B018 - not started
    with stopped as running:
        assert running.endpoint.startswith("http://127.0.0.1:") and running.cdn_endpoint != running.endpoint
