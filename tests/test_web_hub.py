"""The archive served Hub-compatibly (``web/hub.py``): the REAL huggingface_hub client downloads
from it what the emulator served the mirror, byte for byte, with the Hub's shapes and errors.

One archive is mirrored per module from the emulator (all three types) and served by uvicorn in a
thread on an ephemeral port; the emulator stays up so its answers are the reference.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import uvicorn
from huggingface_hub import HfApi, hf_hub_download, snapshot_download
from huggingface_hub import errors as hf_errors

from hf_ipfs_scraper import CID, Catalog, EmbeddedStore, ImportOptions, Mirror, load_config
from hf_ipfs_scraper.cli.serve import is_loopback, listen
from hf_ipfs_scraper.ipfs import reader
from hf_ipfs_scraper.web import hub as web_hub
from hf_ipfs_scraper.web.app import create_app
from tests.hubemu import HubEmulator, Repo, build_corpus
from tests.hubemu.fixtures import HfEnv

CLI = [sys.executable, "-m", "hf_ipfs_scraper.cli.main"]
TYPES = ("model", "dataset", "space")


class Archive:
    """The mirrored archive, the emulator it came from and the corpus (the original bytes)."""

    def __init__(self, out: Path, emu: HubEmulator, corpus: list[Repo]) -> None:
        self.out, self.emu = out, emu
        self.repos = {(r.type, r.id): r for r in corpus}
        with Catalog(out) as catalog:
            self.done = {t: [e.id for e in catalog.entities(t, status="done")] for t in TYPES}
            self.kept = {(t, i): {f.path for f in catalog.files(t, i)} for t in TYPES for i in self.done[t]}
            self.not_mirrored = [(e.type, e.id) for e in catalog.entities() if e.status != "done"]

    def full(self, repo_type: str, *, folder: bool = False) -> Repo:
        """A mirrored repo whose every file is in the archive (with a folder, if asked)."""
        for repo_id in self.done[repo_type]:
            repo = self.repos[(repo_type, repo_id)]
            if self.kept[(repo_type, repo_id)] == {f.path for f in repo.files}:
                if not folder or any("/" in f.path for f in repo.files):
                    return repo
        raise AssertionError(f"no fully mirrored {repo_type} in the corpus")


class ServerThread:
    """uvicorn in a background thread on 127.0.0.1:<ephemeral>; records (method, path) it saw."""

    def __init__(self, app: Any) -> None:
        self.requests: list[tuple[str, str]] = []

        async def recording(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                self.requests.append((scope["method"], scope["path"]))
            await app(scope, receive, send)

        self.sock = listen("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(recording, log_config=None, lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.sock.close()
        assert not self.thread.is_alive()


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    corpus = build_corpus(n_models=4, seed=3, with_real_minilm=False, n_datasets=3, n_spaces=3,
                          lfs_max_size=64 << 10)
    root = tmp_path_factory.mktemp("web-archive")
    with pytest.MonkeyPatch.context() as mp, HubEmulator(corpus) as emu:
        HfEnv(mp, root / "hf-home").use(emu)
        config = load_config(env={}, overrides={"hub.endpoint": emu.endpoint, "output_dir": str(root / "out"),
                                                "datasets.viewer_endpoint": emu.viewer_endpoint})
        with Mirror(config) as mirror:
            summaries = mirror.scrape_all({t: 10 for t in TYPES})
        assert all(s.status == "completed" and s.failed == 0 for s in summaries), [str(s) for s in summaries]
        yield Archive(config.output_dir, emu, corpus)


@pytest.fixture(scope="module")
def server(archive: Archive) -> Iterator[ServerThread]:
    with ServerThread(create_app(archive.out)) as running:
        yield running


@pytest.fixture
def api(hf_env: HfEnv, server: ServerThread) -> HfApi:
    return HfApi(endpoint=server.url)


def _files(folder: str | Path) -> dict[str, bytes]:
    base = Path(folder)
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in base.rglob("*")
            if p.is_file() and ".cache" not in p.parts}


def _tree(api: HfApi, repo: Repo, **kwargs: Any) -> list[tuple[Any, ...]]:
    items = api.list_repo_tree(repo.id, repo_type=repo.type, **kwargs)
    return [(i.path, type(i).__name__, getattr(i, "blob_id", None) or getattr(i, "tree_id", None),
             getattr(i, "size", None), getattr(i, "lfs", None)) for i in items]


# -- downloads -----------------------------------------------------------------------------------
@pytest.mark.parametrize("repo_type", TYPES)
def test_snapshot_download_is_byte_identical_to_the_hubs_files(archive, server, hf_env, tmp_path, repo_type) -> None:
    repo = archive.full(repo_type, folder=repo_type != "space")
    folder = snapshot_download(repo.id, repo_type=repo_type, endpoint=server.url, cache_dir=tmp_path / "cache")
    assert _files(folder) == {f.path: f.data for f in repo.files}
    assert Path(folder).name == repo.sha  # the snapshot is named by the mirrored commit


def test_hf_hub_download_lfs_and_regular_then_a_second_call_is_a_cache_hit(archive, server, hf_env, tmp_path) -> None:
    repo = archive.full("model")
    lfs = next(f for f in repo.files if f.lfs)
    regular = next(f for f in repo.files if not f.lfs)
    for f, etag in ((lfs, lfs.sha256), (regular, regular.blob_id)):
        url_path = f"/{repo.id}/resolve/main/{f.path}"
        before = len(server.requests)
        path = hf_hub_download(repo.id, f.path, endpoint=server.url, cache_dir=tmp_path / "cache")
        assert Path(path).read_bytes() == f.data
        assert Path(path).resolve().name == etag  # the blob is cached under the ETag the client saw
        assert server.requests[before:].count(("GET", url_path)) == 1
        before = len(server.requests)
        again = hf_hub_download(repo.id, f.path, endpoint=server.url, cache_dir=tmp_path / "cache")
        assert again == path
        assert [m for m, p in server.requests[before:] if p == url_path] == ["HEAD"]  # no body fetched


def test_resolve_headers_are_the_hubs_without_xet(archive, server) -> None:
    repo = archive.full("model")
    lfs = next(f for f in repo.files if f.lfs)
    regular = next(f for f in repo.files if f.path == "config.json")
    with httpx2.Client(base_url=server.url) as client:
        head = client.head(f"/{repo.id}/resolve/main/{lfs.path}")
        assert head.status_code == 200
        assert head.headers["ETag"] == head.headers["X-Linked-Etag"] == f'"{lfs.sha256}"'
        assert head.headers["X-Linked-Size"] == head.headers["Content-Length"] == str(lfs.size)
        assert head.headers["X-Repo-Commit"] == repo.sha and head.headers["Accept-Ranges"] == "bytes"
        assert not any(name.lower().startswith("x-xet") for name in head.headers)
        get = client.get(f"/{repo.id}/resolve/{repo.sha}/{regular.path}")
        assert get.content == regular.data and get.headers["ETag"] == f'"{regular.blob_id}"'
        assert get.headers["Content-Type"] == "application/json; charset=utf-8"
        assert get.headers["Content-Disposition"] == "inline; filename*=UTF-8''config.json; filename=\"config.json\";"
        assert "X-Linked-Etag" not in get.headers
        cached = client.get(f"/{repo.id}/resolve/main/{regular.path}", headers={"If-None-Match": get.headers["ETag"]})
        assert cached.status_code == 304 and cached.content == b""


def test_single_range_requests_give_206_and_past_the_end_416(archive, server) -> None:
    repo = archive.full("dataset")
    f = max(repo.files, key=lambda f: f.size)
    size, url = f.size, f"/datasets/{repo.id}/resolve/main/{f.path}"
    cases = {"bytes=10-19": (10, 20), "bytes=100-": (100, size), f"bytes=-{size // 3}": (size - size // 3, size),
             f"bytes={size - 5}-{size + 100}": (size - 5, size), "bytes=0-0": (0, 1)}
    with httpx2.Client(base_url=server.url) as client:
        for header, (start, stop) in cases.items():
            response = client.get(url, headers={"Range": header})
            assert response.status_code == 206, header
            assert response.content == f.data[start:stop], header
            assert response.headers["Content-Range"] == f"bytes {start}-{stop - 1}/{size}"
            assert response.headers["Content-Length"] == str(stop - start)
        for header in (f"bytes={size}-", f"bytes={size + 10}-{size + 20}", "bytes=-0"):
            response = client.get(url, headers={"Range": header})
            assert response.status_code == 416, header
            assert response.headers["Content-Range"] == f"bytes */{size}"
            assert response.headers["X-Error-Code"] == "RangeNotSatisfiable"
        for header in ("bytes=5-2", "items=0-1", "bytes=0-1,4-5"):  # invalid or several: the whole file
            response = client.get(url, headers={"Range": header})
            assert (response.status_code, response.content) == (200, f.data), header
        head = client.head(url, headers={"Range": "bytes=1-2"})
        assert head.status_code == 206 and head.headers["Content-Length"] == "2"


def test_byte_ranges_of_a_multi_level_dag_read_only_the_span(tmp_path) -> None:
    data = os.urandom(20_000)
    with EmbeddedStore(tmp_path / "store") as store:
        for options in (ImportOptions(chunk_size=100, max_links=3),
                        ImportOptions(cid_version=1, raw_leaves=True, chunk_size=64, max_links=4)):
            cid = store.add_bytes(data, options=options).cid
            for offset, length in ((0, None), (0, 1), (99, 2), (150, 5000), (19_999, 10), (20_000, None), (7, 0)):
                got = b"".join(store.cat(cid, offset=offset, length=length))
                assert got == data[offset : None if length is None else offset + length], (offset, length)
            read: list[CID] = []
            get = store.blocks.get

            def counting(block: CID) -> bytes:
                read.append(block)
                return get(block)

            assert b"".join(reader.iter_file(counting, cid, 10_000, 100)) == data[10_000:10_100]
            assert len(read) < 15  # a handful of nodes down one path, not the file's ~300 blocks


# -- info and tree -----------------------------------------------------------------------------
def test_info_of_each_type_has_the_hubs_shape_and_values(archive, api) -> None:
    hub = HfApi(endpoint=archive.emu.endpoint)
    for repo_type, info_of in (("model", "model_info"), ("dataset", "dataset_info"), ("space", "space_info")):
        repo = archive.full(repo_type)
        ours = getattr(api, info_of)(repo.id, files_metadata=True)
        theirs = getattr(hub, info_of)(repo.id, files_metadata=True)
        assert type(ours) is type(theirs)
        for name in ("id", "author", "sha", "created_at", "last_modified", "private", "gated", "disabled", "likes",
                     "tags", "card_data", "siblings"):
            assert getattr(ours, name) == getattr(theirs, name), (repo_type, name)
        extra = {"model": ("downloads", "pipeline_tag", "library_name"), "dataset": ("downloads", "description",
                 "citation", "paperswithcode_id"), "space": ("sdk", "subdomain", "models", "datasets")}[repo_type]
        for name in extra:
            assert getattr(ours, name) == getattr(theirs, name), (repo_type, name)
        assert getattr(api, info_of)(repo.id, revision=repo.sha).sha == repo.sha
        assert [s.size for s in getattr(api, info_of)(repo.id).siblings] == [None] * len(repo.files)
    repo = archive.full("model")
    assert set(vars(api.model_info(repo.id, expand=["likes"]))) >= {"id", "likes"}
    assert api.model_info(repo.id, expand=["likes"]).sha is None


def test_list_repo_tree_matches_the_hub_item_for_item_with_git_tree_ids(archive, api, monkeypatch) -> None:
    hub = HfApi(endpoint=archive.emu.endpoint)
    for repo_type in ("model", "dataset"):
        repo = archive.full(repo_type, folder=True)
        folder = next(f.path for f in repo.files if "/" in f.path).rsplit("/", 1)[0]
        for kwargs in ({}, {"recursive": True}, {"path_in_repo": folder}, {"revision": repo.sha, "recursive": True}):
            assert _tree(api, repo, **kwargs) == _tree(hub, repo, **kwargs), (repo.id, kwargs)
    repo = archive.full("dataset", folder=True)
    monkeypatch.setattr(web_hub, "TREE_PAGE_SIZE", 2)
    assert _tree(api, repo, recursive=True) == _tree(hub, repo, recursive=True)  # followed page by page
    with httpx2.Client(base_url=api.endpoint) as client:
        first = client.get(f"/api/datasets/{repo.id}/tree/main", params={"recursive": "true"})
        assert len(first.json()) == 2 and first.links["next"]["url"].startswith(api.endpoint)
        assert "recursive=true" in first.links["next"]["url"]
        assert client.get(f"/api/datasets/{repo.id}/tree/main", params={"cursor": "!!"}).status_code == 400


# -- errors ------------------------------------------------------------------------------------
def test_missing_repos_files_and_revisions_raise_the_hubs_errors(archive, api, server, tmp_path) -> None:
    repo = archive.full("model")
    with pytest.raises(hf_errors.RepositoryNotFoundError):
        api.model_info("nobody/nothing")
    with pytest.raises(hf_errors.RepositoryNotFoundError):
        hf_hub_download("nobody/nothing", "config.json", endpoint=server.url, cache_dir=tmp_path)
    with pytest.raises(hf_errors.RepositoryNotFoundError):  # a model id asked for as a dataset
        api.dataset_info(repo.id)
    assert archive.not_mirrored, "the corpus should have a repo the mirror skipped (gated)"
    repo_type, skipped = archive.not_mirrored[0]
    with pytest.raises(hf_errors.RepositoryNotFoundError):
        api.repo_info(skipped, repo_type=repo_type)
    with pytest.raises(hf_errors.EntryNotFoundError):
        hf_hub_download(repo.id, "no/such/file.bin", endpoint=server.url, cache_dir=tmp_path)
    with pytest.raises(hf_errors.EntryNotFoundError):
        list(api.list_repo_tree(repo.id, path_in_repo="no-such-folder"))
    with pytest.raises(hf_errors.RevisionNotFoundError):
        api.model_info(repo.id, revision="v2.0")
    with pytest.raises(hf_errors.RevisionNotFoundError):
        hf_hub_download(repo.id, "config.json", revision="0" * 40, endpoint=server.url, cache_dir=tmp_path)
    with pytest.raises(hf_errors.RevisionNotFoundError):
        list(api.list_repo_tree(repo.id, revision="dev"))
    with httpx2.Client(base_url=server.url) as client:
        response = client.get(f"/{repo.id}/resolve/main/missing.txt")
        assert response.status_code == 404 and response.json() == {"error": "Entry not found"}
        assert response.headers["X-Error-Code"] == "EntryNotFound" and response.headers["X-Repo-Commit"] == repo.sha


def test_traversal_attempts_never_leak_a_file(archive, server, tmp_path) -> None:
    repo = archive.full("model")
    secret = archive.out.parent / "secret.txt"
    secret.write_text("TOP-SECRET")
    state_head = (archive.out / "state.sqlite").read_bytes()[:16]  # b"SQLite format 3\0"
    attempts = [
        f"/{repo.id}/resolve/main/%2E%2E/%2E%2E/secret.txt", f"/{repo.id}/resolve/main/..%2F..%2Fsecret.txt",
        f"/{repo.id}/resolve/main/%2Fetc%2Fpasswd", f"/{repo.id}/resolve/main//etc/passwd",
        f"/{repo.id}/resolve/main/a%5C..%5Csecret.txt", f"/{repo.id}/resolve/main/config.json%00.txt",
        "/%2E%2E/out/resolve/main/state.sqlite", "/api/models/%2E%2E/%2E%2E/tree/main",
        f"/api/models/{repo.id}/tree/main/%2E%2E", f"/api/models/{repo.id}/tree/main/%2E%2E%2F%2E%2E",
        "/datasets/%2E%2E/resolve/main/state.sqlite", f"/{repo.id}/resolve/main/%2E/config.json",
    ]
    with httpx2.Client(base_url=server.url) as client:
        for path in attempts:
            response = client.get(path)
            assert response.status_code in (400, 404), (path, response.status_code)
            assert b"TOP-SECRET" not in response.content and state_head not in response.content
            assert b"root:" not in response.content


# -- the serve command -------------------------------------------------------------------------
def _start_serve(archive: Archive, *args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([*CLI, "--output-dir", str(archive.out), "serve", "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith(f"serving {archive.out} on http://"), (line, proc.poll())
    return proc, line.split(" on ", 1)[1].split()[0]


def test_cli_serve_answers_and_exits_0_on_ctrl_c(archive) -> None:
    repo_id = archive.full("model").id
    proc, url = _start_serve(archive)
    try:
        assert url.startswith("http://127.0.0.1:")
        deadline = time.monotonic() + 30
        while True:  # the socket is bound before the app starts: the first answer may wait a little
            try:
                response = httpx2.get(f"{url}/api/models/{repo_id}", timeout=5)
                break
            except httpx2.TransportError:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.05)
        assert response.status_code == 200 and response.json()["id"] == repo_id
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr and "warning" not in stderr


def test_cli_serve_warns_on_a_non_loopback_host_and_fails_cleanly_without_an_archive(archive, tmp_path) -> None:
    proc, url = _start_serve(archive, "--host", "0.0.0.0")
    try:
        assert proc.stderr is not None
        assert "non-loopback" in proc.stderr.readline()
    finally:
        proc.kill()
        proc.communicate(timeout=30)
    assert [is_loopback(h) for h in ("127.0.0.1", "::1", "localhost", "0.0.0.0", "192.168.1.2", "example.org")] == [
        True, True, True, False, False, False]
    empty = subprocess.run([*CLI, "--output-dir", str(tmp_path), "serve"], capture_output=True, text=True, timeout=60)
    assert empty.returncode == 1 and empty.stderr.startswith("Error: no mirror state")
