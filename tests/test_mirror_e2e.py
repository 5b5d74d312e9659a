"""The mirror end to end: the real ``huggingface_hub`` client, the pipeline, the state store and the
embedded block store, against the Hub emulator (``tests/hubemu``).

Every CID is checked against one computed here independently from the emulator's original bytes
(``FileImporter`` / ``add_path`` over a ``NullSink``, which equal Kubo's ``ipfs add [-r -H]``), and
every request count is read from the emulator's own counters, never from the mirror's.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote

import pytest

from hf_ipfs_scraper import load_config
from hf_ipfs_scraper.hub import retry
from hf_ipfs_scraper.config import Config
from hf_ipfs_scraper.ipfs.cid import CID
from hf_ipfs_scraper.ipfs.fsimport import add_path
from hf_ipfs_scraper.ipfs.importer import FileImporter
from hf_ipfs_scraper.ipfs.options import ImportOptions
from hf_ipfs_scraper.ipfs.sink import MemorySink, NullSink
from hf_ipfs_scraper.mirror import Mirror
from hf_ipfs_scraper.pipeline import RunSummary
from hf_ipfs_scraper.state import StateStore
from hf_ipfs_scraper.storage.embedded import EmbeddedStore
from tests.hubemu import ACCESS_TOKEN, MINILM_ID, NO_ACCESS_TOKEN, HubEmulator, Repo, RepoFile, build_corpus
from tests.hubemu.fixtures import HfEnv
from tests.hubemu.repo import iso

_RESOLVE = re.compile(r"^/(?P<id>[^/?]+/[^/?]+)/resolve/(?P<rev>[^/?]+)/(?P<path>[^?]+)")
_TREE = re.compile(r"^/api/models/(?P<id>[^/?]+/[^/?]+)/tree/")
_CDN = re.compile(r"^/repos/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}/(?P<sha256>[0-9a-f]{64})")


# -- helpers -----------------------------------------------------------------------------------
def make_config(emu: HubEmulator, out: Path, **overrides: Any) -> Config:
    """The mirror's configuration for one test: the emulator, ``out``, and dotted-key overrides."""
    values = {"hub.endpoint": emu.endpoint, "output_dir": str(out)}
    values.update({key.replace("__", "."): value for key, value in overrides.items()})
    return load_config(env={}, overrides=values)


def options(config: Config) -> ImportOptions:
    return ImportOptions.profile(config.store_profile)


def file_cid(data: bytes, opts: ImportOptions) -> str:
    """The CID Kubo's ``ipfs add`` gives these bytes, computed without any store."""
    return str(FileImporter(NullSink(), opts).add(io.BytesIO(data)).cid)


def write_files(files: Iterable[RepoFile], folder: Path) -> Path:
    folder.mkdir(parents=True)
    for f in files:
        target = folder / f.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(f.data)
    return folder


def dir_cid(files: Iterable[RepoFile], folder: Path, opts: ImportOptions, sink: Any = None) -> str:
    """``ipfs add -r -H`` of the files written to ``folder``: the repo directory's CID."""
    write_files(files, folder)
    return str(add_path(folder, sink or NullSink(), opts, recursive=True, hidden=True).cid)


def resolves(requests: Iterable[tuple[str, str, int]]) -> list[tuple[str, str, int]]:
    """(repo id, file path, status) of every ``/resolve/`` request."""
    out = []
    for _method, target, status in requests:
        m = _RESOLVE.match(target)
        if m:
            out.append((unquote(m["id"]), unquote(m["path"]), status))
    return out


def trees(requests: Iterable[tuple[str, str, int]]) -> list[str]:
    return [unquote(m["id"]) for _m, target, _s in requests if (m := _TREE.match(target))]


def cdn_gets(requests: Iterable[tuple[str, str, int]]) -> list[tuple[str, int]]:
    return [(m["sha256"], s) for meth, t, s in requests if meth == "GET" and (m := _CDN.match(t))]


def expected_trending(corpus: Iterable[Repo], limit: int) -> list[Repo]:
    """What the Hub lists to an anonymous client: public models by trendingScore, ties by id."""
    public = [r for r in corpus if r.type == "model" and not r.private]
    return sorted(public, key=lambda r: (-r.trending_score, r.id))[:limit]


def entities(state: StateStore) -> dict[str, tuple[str, str | None, str | None, str | None]]:
    return {e.id: (e.status, e.sha, e.root_cid, e.reason) for e in state.iter_entities("model")}


def state_files(state: StateStore) -> dict[tuple[str, str], tuple[Any, ...]]:
    out = {}
    for e in state.iter_entities("model"):
        for f in state.files("model", e.id):
            out[(e.id, f.path)] = (f.size, f.oid, f.sha256, f.cid, f.tsize)
    return out


def block_set(store_path: Path) -> set[bytes]:
    with EmbeddedStore(store_path, readonly=True, create=False) as store:
        return set(store.blocks.iter_multihashes())


def run_mirror(config: Config, *, limit: int, workers: int = 4) -> RunSummary:
    with Mirror(config) as mirror:
        return mirror.scrape_models(limit=limit, workers=workers)


def repo_out(config: Config, repo_id: str) -> Path:
    return config.output_dir / "models" / repo_id.replace("/", "__")


def custom_repo(repo_id: str, files: list[RepoFile], score: int, **fields: Any) -> Repo:
    return Repo("model", repo_id, files, trending_score=score, likes=10, downloads=100, **fields)


def corrupt(emu: HubEmulator, repo_file: RepoFile, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the emulator's CDN serve ``repo_file`` with one byte flipped, while the tree still
    lists its true oid/sha256 and size (the CDN keeps LFS blobs by sha256: ``emu._lfs``)."""
    assert repo_file.lfs
    bad = bytearray(repo_file.data)
    bad[len(bad) // 2] ^= 0xFF
    with emu._lock:
        monkeypatch.setitem(emu._lfs, repo_file.sha256, bytes(bad))


def corrupted_regular_file(path: str, data: bytes) -> RepoFile:
    """A regular (non-LFS) file listed with the git oid of ``data`` but served with a byte flipped."""
    f = RepoFile(path, data)
    _ = f.blob_id, f.sha256  # cached from the true bytes: what the tree lists
    bad = bytearray(data)
    bad[0] ^= 0xFF
    object.__setattr__(f, "data", bytes(bad))
    return f


@pytest.fixture(scope="module")
def module_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HfEnv]:
    """``hf_env`` for module-scoped emulators: an isolated huggingface_hub environment."""
    with pytest.MonkeyPatch.context() as mp:
        env = HfEnv(mp, tmp_path_factory.mktemp("hf-home"))
        yield env
    from huggingface_hub.utils import close_session

    close_session()


# -- 1 + 2: the top 50 trending, mirrored once, then again with nothing changed ------------------
TOP = 50
PAGE = 20  # the emulator's page size: the listing takes ceil(50 / 20) = 3 pages


@pytest.fixture(scope="module")
def top50(module_env: HfEnv, minilm: Repo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    corpus = build_corpus(n_models=66, seed=0, n_datasets=0, n_spaces=0)
    assert any(r.id == MINILM_ID for r in corpus)
    emu = HubEmulator(corpus, page_size=PAGE).start()
    try:
        config = make_config(emu, tmp_path_factory.mktemp("top50"))
        with Mirror(config) as mirror:
            first = mirror.scrape_models(limit=TOP, workers=4)
            first_counts, first_requests = emu.counts, emu.requests
            emu.reset_counts()
            second = mirror.scrape_models(limit=TOP, workers=4)
            second_counts, second_requests = emu.counts, emu.requests
            snapshot = mirror.trending()
        yield SimpleNamespace(
            corpus=corpus, emu=emu, config=config, first=first, second=second, snapshot=snapshot,
            first_counts=first_counts, first_requests=first_requests,
            second_counts=second_counts, second_requests=second_requests,
            top=expected_trending(corpus, TOP),
        )
    finally:
        emu.stop()


def test_top50_trending_snapshot_follows_trending_score_and_skips_gated_and_hides_private(top50) -> None:
    s, top = top50.first, top50.top
    assert s.status == "completed" and s.discovered == TOP and s.failed == 0, str(s)
    assert top[0].id == MINILM_ID  # the real repo is the most trending one
    # the recorded snapshot is the Hub's ranking: ids, scores, likes and downloads, rank 1..50
    assert [(r.rank, r.id, r.trending_score, r.likes, r.downloads) for r in top50.snapshot] == [
        (i, r.id, r.trending_score, r.likes, r.downloads) for i, r in enumerate(top, start=1)
    ]
    scores = [r.trending_score for r in top50.snapshot]
    assert scores == sorted(scores, reverse=True)

    gated = {r.id for r in top if r.gated}
    private = {r.id for r in top50.corpus if r.private}
    assert gated and private  # the corpus exercises both
    assert s.mirrored == TOP - len(gated) and s.skipped == len(gated)
    assert {repo for repo, _ in s.skips} == gated
    assert all(why.startswith("gated:") for _, why in s.skips)
    with StateStore(top50.config.output_dir / "state.sqlite") as state:
        known = entities(state)
        runs = state.runs()
    for repo_id in gated:
        status, sha, root, reason = known[repo_id]
        assert (status, sha, root) == ("skipped", None, None) and reason.startswith("gated:")
        assert not repo_out(top50.config, repo_id).exists()
    # private: not in the snapshot, the state, the output folders, the pins or any request
    assert set(known) == {r.id for r in top}
    assert not private & {r.id for r in top50.snapshot}
    folders = {p.name for p in (top50.config.output_dir / "models").iterdir()}
    assert folders == {r.id.replace("/", "__") for r in top if not r.gated}
    with EmbeddedStore(top50.config.store_path, readonly=True, create=False) as store:
        pins = {p.name for p in store.pins()}
    assert pins == {f"model:{r.id}" for r in top if not r.gated}
    touched = set(trees(top50.first_requests)) | {repo for repo, _, _ in resolves(top50.first_requests)}
    assert not touched & (private | gated)
    # the run and its summary are in the state
    assert runs[1].status == "completed" and runs[1].stats["mirrored"] == s.mirrored


def test_top50_every_file_cid_and_root_cid_equal_independent_kubo_cids(top50, tmp_path) -> None:
    config, opts = top50.config, options(top50.config)
    mirrored = [r for r in top50.top if not r.gated]
    with StateStore(config.output_dir / "state.sqlite") as state, EmbeddedStore(
        config.store_path, readonly=True, create=False
    ) as store:
        for repo in mirrored:
            folder = repo_out(config, repo.id)
            entity = state.get("model", repo.id)
            assert entity is not None and entity.status == "done" and entity.sha == repo.sha
            recorded = {f.path: f for f in state.files("model", repo.id)}
            listed = {e["path"]: e for e in json.loads((folder / "files.json").read_text())}
            assert set(recorded) == set(listed) == {f.path for f in repo.files}
            for f in repo.files:
                want = file_cid(f.data, opts)
                assert recorded[f.path].cid == listed[f.path]["cid"] == want, (repo.id, f.path)
                assert (recorded[f.path].size, recorded[f.path].oid) == (f.size, f.blob_id)
                assert listed[f.path]["oid"] == f.blob_id and listed[f.path]["size"] == f.size
                assert listed[f.path]["sha256"] == (f.sha256 if f.lfs else None)
                assert store.read_bytes(want) == f.data, (repo.id, f.path)
            root = dir_cid(repo.files, tmp_path / repo.id.replace("/", "__"), opts)
            assert (folder / "ipfs_cid.txt").read_text() == f"{root}\n"
            assert entity.root_cid == root
            assert store.read_bytes(f"{root}/config.json") == repo.file("config.json").data
        assert store.verify().ok


def test_top50_metadata_json_is_normalized(top50) -> None:
    for repo in (r for r in top50.top if not r.gated):
        meta = json.loads((repo_out(top50.config, repo.id) / "metadata.json").read_text())
        total = sum(f.size for f in repo.files)
        root = (repo_out(top50.config, repo.id) / "ipfs_cid.txt").read_text().strip()
        assert {k: meta[k] for k in (
            "type", "id", "sha", "author", "private", "gated", "disabled", "pipeline_tag", "library_name",
            "tags", "likes", "downloads", "trending_score", "created_at", "last_modified", "card_data",
        )} == {
            "type": "model", "id": repo.id, "sha": repo.sha, "author": repo.author, "private": False,
            "gated": False, "disabled": False, "pipeline_tag": repo.pipeline_tag,
            "library_name": repo.library_name, "tags": repo.tags, "likes": repo.likes,
            "downloads": repo.downloads, "trending_score": repo.trending_score,
            "created_at": iso(repo.created_at).replace(".000Z", "Z"),
            "last_modified": iso(repo.last_modified).replace(".000Z", "Z"),
            # the client's CardData.to_dict(): the README's YAML front matter, null values left out
            "card_data": {k: v for k, v in repo.card_data.items() if v is not None} if repo.card_data else None,
        }, repo.id
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["created_at"])
        assert meta["ipfs"] == {"root_cid": root, "files": len(repo.files), "bytes": total, "excluded": {}}
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["mirrored_at"])


def test_top50_requests_are_listing_pages_one_tree_per_repo_one_resolve_per_file(top50) -> None:
    counts, requests, s = top50.first_counts, top50.first_requests, top50.first
    mirrored = [r for r in top50.top if not r.gated]
    files = [f for r in mirrored for f in r.files]
    distinct = {f.blob_id: f for f in files}  # identical blobs across repos: downloaded once
    assert counts["list"] == math.ceil(TOP / PAGE) == 3
    assert counts["tree"] == len(mirrored) and sorted(trees(requests)) == sorted(r.id for r in mirrored)
    for kind in ("info", "paths_info", "refs", "commits", "resolve_head", "cdn_head", "other", "429"):
        assert counts[kind] == 0, kind
    fetched = resolves(requests)
    assert len(fetched) == counts["resolve_get"] == s.files_downloaded == len(distinct)
    assert len(set(fetched)) == len(fetched)  # no file asked twice
    assert all(status in (200, 302) for _, _, status in fetched)
    lfs = {f.sha256 for f in distinct.values() if f.lfs}
    assert sorted(sha for sha, _ in cdn_gets(requests)) == sorted(lfs) and counts["cdn_get"] == len(lfs)
    assert s.files_downloaded + s.files_reused == len(files)
    assert s.bytes_downloaded == sum(f.size for f in distinct.values())
    # the limiter's count (the summary) equals the emulator's, bucket by bucket
    assert dict(s.requests) == {"api": counts["list"] + counts["tree"], "resolvers": len(fetched), "pages": 0}
    assert s.responses_429 == 0
    print(f"\nfirst run: {len(mirrored)} repos, {len(files)} files: "
          f"{dict((k, v) for k, v in counts.items() if v)}")


def test_top50_unchanged_rerun_makes_only_the_listing_requests(top50) -> None:
    counts, s = top50.second_counts, top50.second
    assert counts["list"] == 3
    assert sum(counts.values()) == 3, dict(counts)  # no tree, no resolve, no CDN, nothing else
    gated = {r.id for r in top50.top if r.gated}
    assert (s.discovered, s.unchanged, s.mirrored, s.failed) == (TOP, TOP - len(gated), 0, 0)
    assert s.skipped == len(gated) and {repo for repo, _ in s.skips} == gated
    assert (s.files_downloaded, s.files_reused, s.bytes_downloaded) == (0, 0, 0)
    assert dict(s.requests) == {"api": 3, "resolvers": 0, "pages": 0}
    print(f"\nunchanged rerun: {dict((k, v) for k, v in counts.items() if v)}")


# -- 3: incremental runs and identical blobs ---------------------------------------------------------
def _blob(seed: int, size: int) -> bytes:
    import random

    return random.Random(seed).randbytes(size)


def test_incremental_run_fetches_only_the_changed_file_and_identical_blobs_are_fetched_and_stored_once(
    hf_env, hub_factory, tmp_path
) -> None:
    weights, notes = _blob(1, 700_000), b"the same notes in both repos\n" * 50  # weights: 3 chunks of 256 KiB
    twin_a = custom_repo("twins/a", [RepoFile("weights.bin", weights, lfs=True), RepoFile("notes.txt", notes),
                                     RepoFile("README.md", b"# twin a\n")], 100)
    twin_b = custom_repo("twins/b", [RepoFile("model/weights.bin", weights, lfs=True), RepoFile("notes.txt", notes),
                                     RepoFile("README.md", b"# twin b\n")], 99)
    corpus = [twin_a, twin_b, *build_corpus(n_models=10, seed=5, with_real_minilm=False, n_datasets=0, n_spaces=0)]
    emu = hf_env.use(hub_factory(corpus))
    config, opts = make_config(emu, tmp_path / "out"), options(make_config(emu, tmp_path / "out"))
    top = expected_trending(corpus, 12)
    mirrored = [r for r in top if not r.gated]

    first = run_mirror(config, limit=12, workers=4)
    assert first.failed == 0 and first.mirrored == len(mirrored), str(first)
    requests = emu.requests
    # the twins' shared LFS blob: one CDN download; their shared regular file: one resolve
    assert [s for sha, s in cdn_gets(requests) if sha == twin_a.file("weights.bin").sha256] == [200]
    assert [(r, p) for r, p, _ in resolves(requests) if p.endswith("weights.bin")] in (
        [("twins/a", "weights.bin")], [("twins/b", "model/weights.bin")]
    )
    assert len([1 for _r, p, _ in resolves(requests) if p == "notes.txt"]) == 1
    distinct = {f.blob_id for r in mirrored for f in r.files}
    assert emu.counts["resolve_get"] == first.files_downloaded == len(distinct)
    # stored once: the store holds exactly the union of the blocks of every repo's `ipfs add -r -H`
    union = MemorySink()
    for repo in mirrored:
        dir_cid(repo.files, tmp_path / "expected" / repo.id.replace("/", "__"), opts, sink=union)
    expected_blocks = {cid.multihash for cid in union.blocks}
    assert block_set(config.store_path) == expected_blocks
    with EmbeddedStore(config.store_path, readonly=True, create=False) as store:
        stat = store.stat()
    assert stat.blocks == len(expected_blocks)
    assert stat.logical_bytes_added == first.bytes_downloaded  # each blob was added once

    # one file of one repo changes: one tree request, one resolver request, every other CID reused
    target = next(r for r in mirrored if r.id not in ("twins/a", "twins/b"))
    with StateStore(config.output_dir / "state.sqlite") as state:
        before = {f.path: f.cid for f in state.files("model", target.id)}
        old_root = state.get("model", target.id).root_cid
    new_config = b'{"architectures": ["Changed"], "hidden_size": 128}\n'
    new_sha = emu.update_file(target.id, "config.json", new_config)
    emu.reset_counts()
    second = run_mirror(config, limit=12, workers=4)
    counts = emu.counts
    assert (counts["list"], counts["tree"], counts["resolve_get"]) == (1, 1, 1), dict(counts)
    assert sum(counts.values()) == 3, dict(counts)
    assert trees(emu.requests) == [target.id]
    assert resolves(emu.requests) == [(target.id, "config.json", 200)]
    assert (second.mirrored, second.unchanged, second.files_downloaded, second.files_reused) == (
        1, len(mirrored) - 1, 1, len(target.files) - 1
    ), str(second)
    updated = emu.repo(target.id)
    with StateStore(config.output_dir / "state.sqlite") as state:
        after = {f.path: f.cid for f in state.files("model", target.id)}
        entity = state.get("model", target.id)
    assert after == {**before, "config.json": file_cid(new_config, opts)}
    root = dir_cid(updated.files, tmp_path / "updated", opts)
    assert (entity.status, entity.sha, entity.root_cid) == ("done", new_sha, root)
    assert (repo_out(config, target.id) / "ipfs_cid.txt").read_text() == f"{root}\n"
    meta = json.loads((repo_out(config, target.id) / "metadata.json").read_text())
    assert (meta["sha"], meta["ipfs"]["root_cid"]) == (new_sha, root)
    with EmbeddedStore(config.store_path, readonly=True, create=False) as store:
        pinned = {str(p.cid): p.name for p in store.pins()}
        assert store.read_bytes(f"{root}/config.json") == new_config
    assert pinned.get(root) == f"model:{target.id}" and old_root not in pinned
    print(f"\nincremental run after one changed file: {dict((k, v) for k, v in counts.items() if v)}")


# -- 4: kill -9 of the CLI, then resume ------------------------------------------------------------
def _recorded(db: Path) -> set[tuple[str, str]]:
    """(repo, path) of the files the state database holds, read as another process would."""
    if not db.exists():
        return set()
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    except sqlite3.OperationalError:
        return set()
    try:
        return set(conn.execute("SELECT entity_id, path FROM files").fetchall())
    except sqlite3.OperationalError:  # the schema is not there yet
        return set()
    finally:
        conn.close()


def test_kill_9_mid_run_then_resume_refetches_nothing_and_ends_like_an_uninterrupted_run(
    hf_env, hub_factory, tmp_path
) -> None:
    corpus = build_corpus(n_models=14, seed=11, with_real_minilm=False, n_datasets=0, n_spaces=0)
    emu = hub_factory(corpus, latency=0.04)
    env = hf_env.subprocess_env(emu)

    def command(out: Path) -> list[str]:  # no snapshot: its run.json and state copy differ by when
        return [sys.executable, "-m", "hf_ipfs_scraper.cli.main", "--output-dir", str(out),
                "models", "--limit", "10", "--workers", "2", "--no-snapshot"]

    killed = tmp_path / "killed"
    proc = subprocess.Popen(command(killed), env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while len(_recorded(killed / "state.sqlite")) < 10:
            assert proc.poll() is None, f"the run ended before the kill: {proc.communicate()}"
            assert time.monotonic() < deadline, "no file recorded within 60 s"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
    assert proc.returncode == -signal.SIGKILL
    time.sleep(0.2)  # requests the killed process had in flight are logged by now
    mark = len(emu.requests)
    done_before = _recorded(killed / "state.sqlite")
    with StateStore(killed / "state.sqlite") as state:  # opening it puts the dead run's claims back
        repos_done_before = {e.id for e in state.iter_entities("model", "done")}
        assert state.recovered >= 1 and state.interrupted_runs == [1]
    total_files = sum(len(r.files) for r in expected_trending(corpus, 10) if not r.gated)
    assert 10 <= len(done_before) < total_files

    emu.latency = 0.0
    resumed = subprocess.run(command(killed), env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    after_kill = emu.requests[mark:]
    refetched = {(repo, path) for repo, path, _ in resolves(after_kill)} & done_before
    assert not refetched, f"downloaded again after the resume: {sorted(refetched)}"
    assert not set(trees(after_kill)) & repos_done_before
    assert "0 failed" in resumed.stdout

    fresh = tmp_path / "fresh"
    plain = subprocess.run(command(fresh), env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert plain.returncode == 0, plain.stderr
    with StateStore(killed / "state.sqlite") as a, StateStore(fresh / "state.sqlite") as b:
        ents_a, ents_b = entities(a), entities(b)
        assert ents_a == ents_b and any(status == "done" for status, *_ in ents_a.values())
        assert state_files(a) == state_files(b)
        assert [r.status for r in a.runs()] == ["completed", "interrupted"]
    assert block_set(killed / "ipfs") == block_set(fresh / "ipfs")
    with EmbeddedStore(killed / "ipfs", readonly=True, create=False) as sa, EmbeddedStore(
        fresh / "ipfs", readonly=True, create=False
    ) as sb:
        assert {(str(p.cid), p.name) for p in sa.pins()} == {(str(p.cid), p.name) for p in sb.pins()}
        assert sa.verify().ok
    for repo_id, (status, _sha, root, _reason) in ents_a.items():
        if status == "done":
            assert (repo_out(load_config(env={}, overrides={"output_dir": str(killed)}), repo_id)
                    / "ipfs_cid.txt").read_text() == f"{root}\n"


# -- 5: a tight quota ------------------------------------------------------------------------------
QUOTAS = {"api": 5, "resolvers": 20, "pages": 5}
WINDOW = 2.0


def _quota_floor(counts: Counter[str], ours: int, files: int) -> float:
    """The least time the server's quotas allow for ``ours`` api and ``files`` resolver requests."""
    windows = max(math.ceil(ours / QUOTAS["api"]), math.ceil(files / QUOTAS["resolvers"]))
    return (windows - 1) * WINDOW


def test_tight_quota_is_paced_within_the_windows_and_the_run_completes(hf_env, hub_factory, tmp_path) -> None:
    corpus = build_corpus(n_models=8, seed=2, with_real_minilm=False, n_datasets=0, n_spaces=0)
    emu = hf_env.use(hub_factory(corpus, quotas=QUOTAS, window=WINDOW))
    config = make_config(emu, tmp_path / "out")
    mirrored = [r for r in expected_trending(corpus, 6) if not r.gated]
    started = time.monotonic()
    summary = run_mirror(config, limit=6, workers=4)
    elapsed = time.monotonic() - started
    assert summary.status == "completed" and summary.failed == 0 and summary.mirrored == len(mirrored), str(summary)
    counts = emu.counts
    api, files = counts["list"] + counts["tree"] - counts["429"], counts["resolve_get"] - counts["429"]
    assert files == summary.files_downloaded
    # the quota was honoured: the run took at least as many windows as the server allows, waiting
    floor = _quota_floor(counts, api, files)
    assert floor >= WINDOW and elapsed >= 0.9 * floor, (elapsed, floor)
    assert summary.seconds_waited > 0
    # learning the quota from the RateLimit headers keeps 429s to the first burst at most
    assert summary.responses_429 == counts["429"] <= 4
    print(f"\ntight quota: {elapsed:.1f}s, {counts['429']} 429s, waited {summary.seconds_waited:.1f}s, "
          f"{dict((k, v) for k, v in counts.items() if v)}")


def test_tight_quota_shared_with_a_noisy_neighbour_forces_429s_that_are_waited_out_and_bounded(
    hf_env, hub_factory, tmp_path
) -> None:
    """Another client spends part of the same quota (as on the Hub: one quota per IP or token), so the
    limiter's budget is wrong and the server answers 429: each is waited out and retried."""
    import threading

    import httpx2

    corpus = build_corpus(n_models=8, seed=2, with_real_minilm=False, n_datasets=0, n_spaces=0)
    emu = hf_env.use(hub_factory(corpus, quotas=QUOTAS, window=WINDOW))
    config = make_config(emu, tmp_path / "out")
    mirrored = [r for r in expected_trending(corpus, 4) if not r.gated]
    stop = threading.Event()

    def neighbour() -> None:  # 2 api + ~8 resolver requests per window, at its own pace
        with httpx2.Client(base_url=emu.endpoint) as client:
            n = 0
            while not stop.wait(0.25):
                n += 1
                client.head("/neighbour/noise/resolve/main/x.bin")
                if n % 4 == 0:
                    client.get("/api/models", params={"search": "neighbour-noise", "limit": 1})

    emu.reset_quotas()  # a fresh window starts now
    with httpx2.Client(base_url=emu.endpoint) as client:  # it spent the api quota of this window already
        spent = [client.get("/api/models", params={"search": "neighbour-noise"}).status_code for _ in range(5)]
    assert spent == [200] * 5
    thread = threading.Thread(target=neighbour, daemon=True)
    thread.start()
    try:
        started = time.monotonic()
        summary = run_mirror(config, limit=4, workers=4)
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        thread.join(timeout=5)
    assert summary.status == "completed" and summary.failed == 0 and summary.mirrored == len(mirrored), str(summary)
    with StateStore(config.output_dir / "state.sqlite") as state:
        assert {e.id for e in state.iter_entities("model", "done")} == {r.id for r in mirrored}
    ours = [(t, status) for m, t, status in emu.requests if "neighbour" not in t and not _CDN.match(t)]
    ours_429 = sum(1 for _t, status in ours if status == 429)
    assert ours_429 >= 1 and summary.responses_429 == ours_429
    assert summary.seconds_waited > 0
    windows = math.ceil(elapsed / WINDOW) + 1
    # a 429 blocks its bucket until the reset: per window and bucket, at most the requests in flight
    assert ours_429 <= windows * 2 * 4, (ours_429, windows)
    print(f"\nnoisy neighbour: {elapsed:.1f}s, our 429s {ours_429} over {windows} windows, "
          f"waited {summary.seconds_waited:.1f}s, requests {len(ours)}")


# -- 6: downloads: dropped connections, corrupt bytes, gated, renamed and deleted repos -------------
def after_listing(mirror: Mirror, action: Any) -> None:
    """Run ``action`` right after the run's listing: a change between discovery and fetch."""
    listing = mirror.client.trending

    def trending(*args: Any, **kwargs: Any) -> Iterator[Any]:
        yield from listing(*args, **kwargs)
        action()

    mirror.client.trending = trending  # type: ignore[method-assign]


def test_dropped_connections_resume_with_range_and_the_files_verify(hf_env, hub_factory, tmp_path) -> None:
    big, text = _blob(3, 600_000), (b"0123456789abcdef" * 20_000)  # LFS via the CDN; a regular 320 kB file
    repo = custom_repo("drops/repo", [RepoFile("weights.bin", big, lfs=True), RepoFile("data.txt", text),
                                      RepoFile("README.md", b"# drops\n")], 50)
    emu = hf_env.use(hub_factory([repo]))
    emu.drop_connection(repo.id, "weights.bin", after_bytes=250_000)
    emu.drop_connection(repo.id, "data.txt", after_bytes=100_000)
    config = make_config(emu, tmp_path / "out")
    summary = run_mirror(config, limit=5)
    assert (summary.mirrored, summary.failed, summary.files_downloaded) == (1, 0, 3), str(summary)
    requests = emu.requests
    # the regular file: GET 200 cut after 100 kB, then GET with Range -> 206: two resolver requests
    assert [s for r, p, s in resolves(requests) if p == "data.txt"] == [200, 206]
    # the LFS file: one resolver request (302); the resume goes straight to the CDN URL: 200 then 206
    assert [s for r, p, s in resolves(requests) if p == "weights.bin"] == [302]
    assert [s for sha, s in cdn_gets(requests) if sha == repo.file("weights.bin").sha256] == [200, 206]
    opts = options(config)
    with StateStore(config.output_dir / "state.sqlite") as state, EmbeddedStore(
        config.store_path, readonly=True, create=False
    ) as store:
        for f in repo.files:
            recorded = state.file("model", repo.id, f.path)
            assert recorded is not None and recorded.cid == file_cid(f.data, opts)
            assert store.read_bytes(recorded.cid) == f.data
        assert state.get("model", repo.id).root_cid == dir_cid(repo.files, tmp_path / "expected", opts)


def test_a_cdn_url_that_expires_mid_download_is_signed_again_and_the_file_resumes_at_its_byte(
    hf_env, hub_factory, tmp_path, monkeypatch
) -> None:
    """The connection drops mid-file and, by the time of the resume, the signed URL has expired
    (the CDN's clock jumps two hours at the drop): the resume's 403 sends the download back to the
    Hub for a new URL, and the Range request there completes the same bytes."""
    from tests.hubemu import cdn as cdn_module

    big = _blob(6, 600_000)
    repo = custom_repo("expiry/repo", [RepoFile("weights.bin", big, lfs=True), RepoFile("README.md", b"# expiry\n")], 50)
    emu = hf_env.use(hub_factory([repo]))
    emu.drop_connection(repo.id, "weights.bin", after_bytes=250_000)
    offset = [0.0]
    monkeypatch.setattr(cdn_module, "time", SimpleNamespace(time=lambda: time.time() + offset[0]))
    take_drop = emu.take_drop

    def drop_then_expire(sha256: str) -> int | None:
        after = take_drop(sha256)
        if after is not None:
            offset[0] = 2 * cdn_module.URL_TTL_S  # every URL signed so far is past its Expires
        return after

    monkeypatch.setattr(emu, "take_drop", drop_then_expire)
    config = make_config(emu, tmp_path / "out")
    summary = run_mirror(config, limit=5)
    assert (summary.mirrored, summary.failed) == (1, 0), str(summary)
    requests = emu.requests
    sha = repo.file("weights.bin").sha256
    # cut at 250 kB; the resume to the signed URL is refused as expired; a fresh resolve; Range -> 206
    assert [s for sha_, s in cdn_gets(requests) if sha_ == sha] == [200, 403, 206]
    assert [s for _, p, s in resolves(requests) if p == "weights.bin"] == [302, 302]
    # the resume asked for the rest only: 250 kB + 350 kB of the file, plus the 403's short error body
    assert len(big) <= emu.bytes_by_kind["cdn_get"] < len(big) + 1_000, emu.bytes_by_kind
    with StateStore(config.output_dir / "state.sqlite") as state:
        recorded = state.file("model", repo.id, "weights.bin")
    assert recorded is not None and recorded.cid == file_cid(big, options(config))


def test_corrupt_bytes_fail_that_repo_with_integrity_error_record_nothing_of_the_file_and_the_run_goes_on(
    hf_env, hub_factory, tmp_path, monkeypatch
) -> None:
    good = custom_repo("good/repo", [RepoFile("weights.bin", _blob(4, 300_000), lfs=True),
                                     RepoFile("README.md", b"# good\n")], 30)
    bad_lfs = custom_repo("bad/lfs", [RepoFile("README.md", b"# bad lfs\n"),
                                      RepoFile("weights.bin", _blob(5, 300_000), lfs=True)], 20)
    bad_regular = custom_repo("bad/regular", [RepoFile("README.md", b"# bad regular\n"),
                                              corrupted_regular_file("vocab.txt", b"token\n" * 5_000)], 10)
    emu = hf_env.use(hub_factory([good, bad_lfs, bad_regular]))
    corrupt(emu, bad_lfs.file("weights.bin"), monkeypatch)
    monkeypatch.setattr(retry, "FIRST", 0.01)
    config = make_config(emu, tmp_path / "out", scrape__retries=2, scrape__retry_spacing="0.01s")
    summary = run_mirror(config, limit=5, workers=2)
    assert summary.status == "completed" and (summary.mirrored, summary.failed) == (1, 2), str(summary)
    assert summary.retries == 4  # each bad file asked 1 + 2 times: corrupted on the way would come right
    failures = dict(summary.failures)
    assert set(failures) == {"bad/lfs", "bad/regular"}
    assert "IntegrityError" in failures["bad/lfs"] and "weights.bin: sha256" in failures["bad/lfs"]
    assert "IntegrityError" in failures["bad/regular"] and "vocab.txt: git blob sha1" in failures["bad/regular"]
    opts = options(config)
    with StateStore(config.output_dir / "state.sqlite") as state, EmbeddedStore(
        config.store_path, readonly=True, create=False
    ) as store:
        for repo_id, path in (("bad/lfs", "weights.bin"), ("bad/regular", "vocab.txt")):
            entity = state.get("model", repo_id)
            assert (entity.status, entity.root_cid, entity.attempts) == ("failed", None, 1)
            assert entity.last_error == failures[repo_id]
            assert state.file("model", repo_id, path) is None  # never recorded
            assert not repo_out(config, repo_id).exists()
        assert state.file("model", "bad/lfs", "README.md") is not None  # verified files before it are kept
        assert state.get("model", "good/repo").status == "done"
        # the corrupt bytes' DAG is pinned nowhere (its blocks, if any, go at the next `repo gc`)
        bad_bytes = emu.lfs_blob(bad_lfs.file("weights.bin").sha256)
        bad_cid = CID.parse(file_cid(bad_bytes, opts))
        pinned = {cid for pin in store.pins() for cid in store.blocks.walk(pin.cid)}
        assert bad_cid not in pinned and store.verify().ok
    # the next run, once they are due, retries the failed repos (and only them): their trees, their files
    time.sleep(0.05)
    emu.reset_counts()
    again = run_mirror(config, limit=5, workers=2)
    assert (again.unchanged, again.failed) == (1, 2)
    assert sorted(trees(emu.requests)) == ["bad/lfs", "bad/regular"]  # the files' retries spent, not the repos'
    assert sorted(p for _r, p, _s in resolves(emu.requests)) == ["vocab.txt"] * 3 + ["weights.bin"] * 3
    assert {p for _r, p, _s in resolves(emu.requests)} == {"weights.bin", "vocab.txt"}  # README reused


def test_gated_repo_mirrored_with_an_access_token_skipped_without_access_and_private_never_mirrored(
    hf_env, hub_factory, tmp_path
) -> None:
    gated = custom_repo("gate/keeper", [RepoFile("README.md", b"# gated\n"), RepoFile("config.json", b"{}\n"),
                                        RepoFile("weights.bin", _blob(6, 50_000), lfs=True)], 40, gated="manual")
    public = custom_repo("open/repo", [RepoFile("README.md", b"# open\n")], 30)
    private = custom_repo("secret/repo", [RepoFile("README.md", b"# private\n")], 50, private=True)
    emu = hf_env.use(hub_factory([gated, public, private]))
    opts = options(make_config(emu, tmp_path / "x"))

    # anonymous: gated skipped before any request; the private repo is not even listed
    anon = make_config(emu, tmp_path / "anon")
    s = run_mirror(anon, limit=5)
    assert (s.discovered, s.mirrored, s.skipped) == (2, 1, 1) and s.skips[0][0] == "gate/keeper", str(s)
    assert s.skips[0][1].startswith("gated: needs an access token")
    assert "gate/keeper" not in set(trees(emu.requests)) | {r for r, _p, _s in resolves(emu.requests)}

    # a valid token without access: one tree request, the first file answers 403 GatedRepo: skipped
    emu.reset_counts()
    no_access = make_config(emu, tmp_path / "no-access", hub__token=NO_ACCESS_TOKEN)
    s = run_mirror(no_access, limit=5)
    assert (s.mirrored, s.skipped, s.failed) == (1, 1, 0), str(s)
    assert s.skips == [("gate/keeper", "gated: the token has no access to this gated repo")]
    assert [st for r, _p, st in resolves(emu.requests) if r == "gate/keeper"] == [403]
    with StateStore(no_access.output_dir / "state.sqlite") as state:
        entity = state.get("model", "gate/keeper")
        assert (entity.status, entity.reason) == ("skipped", "gated: the token has no access to this gated repo")
        assert state.files("model", "gate/keeper") == []

    # a token with access: mirrored; the private repo it can see is listed, and skipped as private
    emu.reset_counts()
    full = make_config(emu, tmp_path / "full", hub__token=ACCESS_TOKEN)
    s = run_mirror(full, limit=5)
    assert (s.discovered, s.mirrored, s.skipped, s.failed) == (3, 2, 1, 0), str(s)
    assert s.skips == [("secret/repo", "private: a private repo is not mirrored")]
    assert "secret/repo" not in set(trees(emu.requests)) | {r for r, _p, _s in resolves(emu.requests)}
    assert not repo_out(full, "secret/repo").exists()
    with StateStore(full.output_dir / "state.sqlite") as state:
        assert state.get("model", "gate/keeper").root_cid == dir_cid(gated.files, tmp_path / "gated", opts)
        assert {f.path: f.cid for f in state.files("model", "gate/keeper")} == {
            f.path: file_cid(f.data, opts) for f in gated.files
        }

    # the anonymous mirror given a token later: the gated repo (same revision) is mirrored now
    emu.reset_counts()
    s = run_mirror(make_config(emu, tmp_path / "anon", hub__token=ACCESS_TOKEN), limit=5)
    assert (s.mirrored, s.unchanged, s.skipped) == (1, 1, 1), str(s)
    assert trees(emu.requests) == ["gate/keeper"]
    with StateStore(anon.output_dir / "state.sqlite") as state:
        assert state.get("model", "gate/keeper").status == "done"


def test_renamed_repo_is_followed_through_307_and_a_repo_deleted_after_listing_is_skipped_not_found(
    hf_env, hub_factory, tmp_path
) -> None:
    moving = custom_repo("old-org/moving", [RepoFile("README.md", b"# moving\n"),
                                            RepoFile("weights.bin", _blob(7, 40_000), lfs=True)], 30)
    doomed = custom_repo("gone/doomed", [RepoFile("README.md", b"# doomed\n")], 20)
    emu = hf_env.use(hub_factory([moving, doomed]))
    config = make_config(emu, tmp_path / "out")

    def change() -> None:
        emu.rename_repo("old-org/moving", "new-org/moved")
        emu.remove_repo("gone/doomed")

    with Mirror(config) as mirror:
        after_listing(mirror, change)
        s = mirror.scrape_models(limit=5, workers=1)
    assert (s.discovered, s.mirrored, s.skipped, s.failed) == (2, 1, 1, 0), str(s)
    assert s.skips == [("gone/doomed", "not_found: not found (deleted, or private to others)")]
    tree_hits = [(m[1], st) for _x, t, st in emu.requests if (m := _TREE.match(t))]
    assert tree_hits == [("old-org/moving", 307), ("new-org/moved", 200), ("gone/doomed", 401)]
    assert sorted((r, p, st) for r, p, st in resolves(emu.requests)) == [
        ("new-org/moved", "README.md", 200), ("new-org/moved", "weights.bin", 302),
        ("old-org/moving", "README.md", 307), ("old-org/moving", "weights.bin", 307),
    ]
    opts = options(config)
    with StateStore(config.output_dir / "state.sqlite") as state:
        assert state.get("model", "old-org/moving").root_cid == dir_cid(moving.files, tmp_path / "moving", opts)
        doomed_state = state.get("model", "gone/doomed")
        assert (doomed_state.status, doomed_state.reason) == ("skipped", s.skips[0][1])
    # the next listing names the new id: a new entity, one tree request, every file reused
    emu.reset_counts()
    again = run_mirror(config, limit=5)
    assert (again.mirrored, again.files_downloaded, again.files_reused) == (1, 0, 2), str(again)
    assert trees(emu.requests) == ["new-org/moved"] and resolves(emu.requests) == []


# -- 7: file and entity filters ----------------------------------------------------------------------
def test_file_filters_keep_only_matching_files_and_excluded_files_cost_no_request(hf_env, hub_factory, tmp_path) -> None:
    files = [
        RepoFile("config.json", b'{"model_type": "bert"}\n'),
        RepoFile("small.safetensors", _blob(8, 5_000), lfs=True),
        RepoFile("big.safetensors", _blob(9, 300_000), lfs=True),
        RepoFile("onnx/model.onnx", _blob(10, 8_000), lfs=True),
        RepoFile("onnx/config.json", b"{}\n"),
        RepoFile("README.md", b"# filtered\n"),
    ]
    repo = custom_repo("filters/files", files, 10)
    emu = hf_env.use(hub_factory([repo]))
    config = make_config(emu, tmp_path / "out", filters__include=["*.json", "*.safetensors"],
                         filters__exclude=["onnx/*"], filters__max_file_size="100kB")
    summary = run_mirror(config, limit=5)
    assert (summary.mirrored, summary.files_downloaded) == (1, 2), str(summary)
    kept = [repo.file("config.json"), repo.file("small.safetensors")]
    assert sorted(p for _r, p, _s in resolves(emu.requests)) == ["config.json", "small.safetensors"]
    assert emu.counts["cdn_get"] == 1
    folder = repo_out(config, repo.id)
    assert [e["path"] for e in json.loads((folder / "files.json").read_text())] == ["config.json", "small.safetensors"]
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["ipfs"]["excluded"] == {
        "README.md": "not matched by filters.include",
        "big.safetensors": "300000 bytes > filters.max_file_size",
        "onnx/config.json": "matched by filters.exclude",
        "onnx/model.onnx": "not matched by filters.include",
    }
    assert (meta["ipfs"]["files"], meta["ipfs"]["bytes"]) == (2, sum(f.size for f in kept))
    root = dir_cid(kept, tmp_path / "kept", options(config))
    assert (folder / "ipfs_cid.txt").read_text() == f"{root}\n"


def test_max_repo_size_skips_a_too_large_repo_after_its_tree_without_downloading(hf_env, hub_factory, tmp_path) -> None:
    large = custom_repo("size/large", [RepoFile("weights.bin", _blob(11, 200_000), lfs=True),
                                       RepoFile("README.md", b"# large\n")], 20)
    small = custom_repo("size/small", [RepoFile("README.md", b"# small\n")], 10)
    emu = hf_env.use(hub_factory([large, small]))
    config = make_config(emu, tmp_path / "out", filters__max_repo_size="100kB")
    s = run_mirror(config, limit=5)
    assert (s.mirrored, s.skipped) == (1, 1), str(s)
    assert s.skips == [("size/large", "too_large: 200008 bytes of kept files > filters.max_repo_size 100000")]
    assert sorted(trees(emu.requests)) == ["size/large", "size/small"]
    assert {r for r, _p, _s in resolves(emu.requests)} == {"size/small"} and emu.counts["cdn_get"] == 0
    with StateStore(config.output_dir / "state.sqlite") as state:
        entity = state.get("model", "size/large")
        assert (entity.status, entity.reason) == ("skipped", s.skips[0][1])
    emu.reset_counts()
    again = run_mirror(config, limit=5)  # same revision: stays skipped, no request but the listing
    assert (again.skipped, again.unchanged) == (1, 1) and sum(emu.counts.values()) == 1
    # the limit raised above the repo's size: the next run mirrors it
    raised = make_config(emu, tmp_path / "out", filters__max_repo_size="1MB")
    third = run_mirror(raised, limit=5)
    assert (third.mirrored, third.unchanged, third.skipped) == (1, 1, 0), str(third)
    with StateStore(config.output_dir / "state.sqlite") as state:
        assert state.get("model", "size/large").root_cid == dir_cid(large.files, tmp_path / "large", options(config))


def _entity_corpus() -> list[Repo]:
    def repo(repo_id: str, score: int, tag: str, library: str, likes: int) -> Repo:
        return Repo("model", repo_id, [RepoFile("README.md", f"# {repo_id}\n".encode())], trending_score=score,
                    likes=likes, downloads=likes * 10, pipeline_tag=tag, library_name=library,
                    tags=[library, tag])

    return [
        repo("alpha/fill", 90, "fill-mask", "transformers", 500),
        repo("alpha/embed", 80, "sentence-similarity", "sentence-transformers", 50),
        repo("beta/gen", 70, "text-generation", "transformers", 5),
        repo("beta/embed", 60, "sentence-similarity", "sentence-transformers", 900),
        repo("gamma/image", 50, "text-to-image", "diffusers", 300),
        repo("gamma/fill", 40, "fill-mask", "transformers", 1),
    ]


@pytest.mark.parametrize(
    ("filters", "expected", "listing_param"),
    [
        ({"models__pipeline_tags": ["sentence-similarity"]}, ["alpha/embed", "beta/embed"], "pipeline_tag=sentence-similarity"),
        ({"models__pipeline_tags": ["fill-mask", "text-to-image"]}, ["alpha/fill", "gamma/image", "gamma/fill"], None),
        ({"models__libraries": ["transformers"]}, ["alpha/fill", "beta/gen", "gamma/fill"], None),
        ({"filters__authors": ["beta"]}, ["beta/gen", "beta/embed"], "author=beta"),
        ({"filters__authors": ["alpha", "gamma"]}, ["alpha/fill", "alpha/embed", "gamma/image", "gamma/fill"], None),
        ({"filters__min_likes": 100}, ["alpha/fill", "beta/embed", "gamma/image"], None),
        ({"models__libraries": ["transformers"], "filters__min_likes": 2}, ["alpha/fill", "beta/gen"], None),
    ],
    ids=["one-pipeline-tag", "two-pipeline-tags", "library", "one-author", "two-authors", "min-likes", "combined"],
)
def test_entity_filters_pick_repos_from_the_listing_and_filtered_repos_cost_no_request(
    hf_env, hub_factory, tmp_path, filters, expected, listing_param
) -> None:
    emu = hf_env.use(hub_factory(_entity_corpus()))
    config = make_config(emu, tmp_path / "out", **filters)
    with Mirror(config) as mirror:
        s = mirror.scrape_models(limit=10)
        snapshot = [row.id for row in mirror.trending()]
    assert s.discovered == s.mirrored == len(expected) and s.failed == 0, str(s)
    assert snapshot == expected  # in trending order, ranked 1..n among the repos kept
    assert trees(emu.requests) and set(trees(emu.requests)) == set(expected)
    assert {r for r, _p, _s in resolves(emu.requests)} == set(expected)
    assert emu.counts["list"] == 1
    listing = next(t for _m, t, _s in emu.requests if t.startswith("/api/models?"))
    if listing_param:
        assert listing_param in unquote(listing)  # filtered by the Hub itself
    with StateStore(config.output_dir / "state.sqlite") as state:
        assert set(entities(state)) == set(expected)


# -- sync ------------------------------------------------------------------------------------------------
def test_sync_survives_a_run_whose_listing_fails_and_runs_again_at_the_next_interval(
    hf_env, hub_factory, tmp_path
) -> None:
    emu = hf_env.use(hub_factory([custom_repo("sync/repo", [RepoFile("README.md", b"# sync\n")], 10)]))
    token = "hf_not_valid_yet"  # the Hub answers 401 to the first listing, then knows the token
    config = make_config(emu, tmp_path / "out", hub__token=token)
    slept: list[float] = []
    seen: list[RunSummary] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        emu.grant(token)

    with Mirror(config) as mirror:
        summaries = mirror.sync(every=60, runs=2, sleep=sleep, on_run=seen.append)
    assert seen == summaries and [s.status for s in summaries] == ["failed", "completed"]
    assert summaries[0].error.startswith("listing trending models failed: ")
    assert "401" in summaries[0].error and "Invalid credentials" in summaries[0].error
    assert str(summaries[0]).startswith("run 1 (models) failed after ")
    assert (summaries[1].run_id, summaries[1].mirrored) == (2, 1)
    assert len(slept) == 1 and 59 < slept[0] <= 60
    with StateStore(config.output_dir / "state.sqlite") as state:
        runs = state.runs()
        assert [r.status for r in runs] == ["completed", "failed"] and runs[1].stats["error"] == summaries[0].error


def test_client_side_filter_scans_past_the_first_listing_page_up_to_1000_candidates(hf_env, hub_factory, tmp_path) -> None:
    """limit 2 with min_likes: the first listing asks for 100 repos; none passes, so the listing is
    asked again for 1000 and the two liked repos ranked 110th and 115th are found."""
    corpus = [
        Repo("model", f"many/repo-{i:03d}", [RepoFile("README.md", f"# {i}\n".encode())],
             trending_score=1000 - i, likes=10 if i in (110, 115) else 0)
        for i in range(1, 131)
    ]
    emu = hf_env.use(hub_factory(corpus))
    config = make_config(emu, tmp_path / "out", filters__min_likes=5)
    with Mirror(config) as mirror:
        s = mirror.scrape_models(limit=2)
        snapshot = [(row.rank, row.id) for row in mirror.trending()]
    assert (s.discovered, s.mirrored) == (2, 2), str(s)
    assert snapshot == [(1, "many/repo-110"), (2, "many/repo-115")]
    listings = [t for _m, t, _s in emu.requests if t.startswith("/api/models?")]
    assert ["limit=100" in listings[0], "limit=1000" in listings[1], len(listings)] == [True, True, 2]
    assert sorted(trees(emu.requests)) == ["many/repo-110", "many/repo-115"]
