"""The Kubo backend against a real IPFS daemon: the JavaScript IPFS node here (``kubo_api``'s
"js-ipfs"), and a real Kubo too when ``KUBO_API_URL`` is set (its "kubo" parameter).

The Hub is the project's emulator, driven through the real ``huggingface_hub`` client; the daemon
is asked, over its own RPC API, what it holds: nothing here trusts the mirror's word for it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hf_ipfs_scraper import Mirror, load_config
from hf_ipfs_scraper.config import Config
from hf_ipfs_scraper.errors import BackendUnavailableError
from hf_ipfs_scraper.ipfs.cid import CID
from hf_ipfs_scraper.pipeline import RepoFinished
from hf_ipfs_scraper.state import StateStore
from hf_ipfs_scraper.storage.embedded import EmbeddedStore
from hf_ipfs_scraper.storage.kubo import KuboRemote, api_url
from tests.hubemu import HubEmulator, Repo, RepoFile

pytestmark = pytest.mark.kubo
CLI = [sys.executable, "-m", "hf_ipfs_scraper.cli.main"]


def _model(repo_id: str, score: int) -> Repo:
    files = [
        RepoFile("README.md", f"# {repo_id}\n\nA model card.\n".encode()),
        RepoFile("config.json", b'{"hidden_size": 8}\n'),  # the same blob in every repo
        RepoFile("model.safetensors", (repo_id.encode() + bytes(range(256))) * 3000, lfs=True),  # ~780 KB, 3+ chunks
    ]
    return Repo("model", repo_id, files, trending_score=score, likes=score, downloads=10 * score)


CORPUS = [_model(f"org/model-{i}", 100 - i) for i in range(5)]


def _config(emu: HubEmulator, out: Path, api: str, **extra: Any) -> Config:
    values = {"hub.endpoint": emu.endpoint, "output_dir": str(out), "storage.backend": "kubo", "kubo.api": api,
              "kubo.timeout": "20s"} | extra
    return load_config(env={}, overrides=values)


def _daemon(api: str) -> KuboRemote:
    return KuboRemote(api, timeout=20)


@pytest.fixture
def emu(hf_env, hub_factory) -> HubEmulator:
    return hf_env.use(hub_factory(CORPUS))


def test_mirror_pins_every_repo_by_name_in_the_daemon_and_every_file_cats_back(emu, kubo_api, tmp_path) -> None:
    config = _config(emu, tmp_path / "out", kubo_api.url)
    with Mirror(config) as mirror:
        summary = mirror.scrape_models(limit=5)
        assert summary.status == "completed" and summary.mirrored == 5, summary
        remote = mirror._remote
        assert remote is not None
        pushes = remote.pushes
        requests = remote.remote.requests  # type: ignore[attr-defined]
        snapshot = mirror.snapshot()
    daemon = _daemon(kubo_api.url)
    pins = {str(p.cid): p.name for p in daemon.pins()}
    with StateStore(config.output_dir / "state.sqlite") as state:
        done = list(state.iter_entities("model", status="done"))
        assert len(done) == 5
        for entity in done:
            assert pins.get(entity.root_cid or "") == f"model:{entity.id}"
            repo = next(r for r in CORPUS if r.id == entity.id)
            for record in state.files("model", entity.id):
                want = next(f.data for f in repo.files if f.path == record.path)
                assert b"".join(daemon.cat(CID.parse(record.cid))) == want, record.path
    # one CAR per repo, and a constant number of requests per repo (no block/put per block)
    assert pushes == 5
    assert requests <= 5 * 3 + 3, requests
    # the spool kept nothing: the daemon holds the archive
    with EmbeddedStore(config.output_dir / "spool", readonly=True, create=False) as spool:
        assert sum(1 for _ in spool.blocks.iter_multihashes()) == 0
    # the snapshot resolves through the daemon to every repo
    assert pins.get(snapshot.cid, "").startswith("snapshot:")
    for entity in done:
        path = f"{snapshot.cid}/meta/models/{entity.id.replace('/', '__')}/ipfs_cid.txt"
        assert b"".join(daemon._client.cat(path, stream=True)).decode().strip() == entity.root_cid
        listed = daemon._client.ls(f"{snapshot.cid}/models")["Objects"][0]["Links"]
        assert {link["Name"]: link["Hash"] for link in listed}[entity.id.replace("/", "__")] == entity.root_cid
    daemon.close()


def test_an_unchanged_rerun_sends_nothing_and_a_new_revision_reuses_what_the_daemon_has(emu, kubo_api, tmp_path) -> None:
    config = _config(emu, tmp_path / "out", kubo_api.url)
    with Mirror(config) as mirror:
        assert mirror.scrape_models(limit=2).mirrored == 2
    emu.update_file("org/model-0", "README.md", b"# org/model-0\n\nA new card.\n")
    emu.reset_counts()
    with Mirror(config) as mirror:
        summary = mirror.scrape_models(limit=2)
        assert (summary.mirrored, summary.unchanged) == (1, 1), summary
        # only the changed file came from the Hub; the others were found in the daemon
        assert summary.files_downloaded == 1 and summary.files_reused == 2
        assert mirror._remote is not None and mirror._remote.pushes == 1
    daemon = _daemon(kubo_api.url)
    with StateStore(config.output_dir / "state.sqlite") as state:
        entity = state.get("model", "org/model-0")
        assert entity is not None and {str(p.cid): p.name for p in daemon.pins()}[entity.root_cid or ""] == "model:org/model-0"
    daemon.close()


def test_the_daemon_down_at_start_is_one_line_and_records_nothing(emu, hf_env, tmp_path) -> None:
    from tests.ipfsnode import _free_ports

    port = _free_ports(1)[0]
    env = hf_env.subprocess_env(emu)
    out = tmp_path / "out"
    result = subprocess.run(
        [*CLI, "--output-dir", str(out), "models", "--limit", "2", "--backend", "kubo",
         "--kubo-api", f"/ip4/127.0.0.1/tcp/{port}"], env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert lines == [f"Error: the IPFS daemon at http://127.0.0.1:{port} is not reachable (connection refused); "
                     "is the daemon running?"], result.stderr
    with StateStore(out / "state.sqlite") as state:
        assert state.runs() == [] and list(state.iter_entities()) == []


def test_the_daemon_killed_mid_run_leaves_nothing_recorded_pinned_that_is_not_and_the_next_run_resumes(
    emu, fresh_js_ipfs_node, tmp_path
) -> None:
    node = fresh_js_ipfs_node
    config = _config(emu, tmp_path / "out", node.api_url, **{"scrape.workers": 1})

    def kill_after_two(event: object) -> None:
        if isinstance(event, RepoFinished) and event.outcome == "mirrored":
            finished.append(event.id)
            if len(finished) == 2:
                node.kill()

    finished: list[str] = []
    with Mirror(config, progress=kill_after_two) as mirror:
        summary = mirror.scrape_models(limit=5)
    assert summary.status == "failed" and finished == ["org/model-0", "org/model-1"]
    assert summary.error is not None and "is not reachable" in summary.error and "stay pending" in summary.error
    with StateStore(config.output_dir / "state.sqlite") as state:
        by_status = {e.id: e.status for e in state.iter_entities("model")}
        recorded = {e.id: e.root_cid for e in state.iter_entities("model", status="done")}
    assert set(recorded) == {"org/model-0", "org/model-1"}
    assert {by_status[f"org/model-{i}"] for i in (2, 3, 4)} == {"pending"}  # not failed: nothing to retry against

    node.restart()
    daemon = _daemon(node.api_url)
    pinned = {str(p.cid) for p in daemon.pins()}
    assert set(recorded.values()) <= pinned  # what was recorded as pinned is pinned

    downloaded_before = emu.counts["resolve_get"]
    with Mirror(config) as mirror:
        resumed = mirror.scrape_models(limit=5)
    assert resumed.status == "completed" and resumed.mirrored == 3 and resumed.unchanged == 2, resumed
    # the repo cut off mid-push had its files in the spool: they were not downloaded again
    assert emu.counts["resolve_get"] - downloaded_before == resumed.files_downloaded
    with StateStore(config.output_dir / "state.sqlite") as state:
        roots = {e.root_cid for e in state.iter_entities("model", status="done")}
    assert len(roots) == 5 and roots <= {str(p.cid) for p in daemon.pins()}
    daemon.close()


def test_rpc_addresses_as_multiaddr_or_url() -> None:
    assert api_url("/ip4/127.0.0.1/tcp/5001") == "http://127.0.0.1:5001"
    assert api_url("/ip4/10.0.0.2/tcp/5001/https") == "https://10.0.0.2:5001"
    assert api_url("/dns/kubo/tcp/5001/http") == "http://kubo:5001"
    assert api_url("/ip6/::1/tcp/5001") == "http://[::1]:5001"
    assert api_url("http://127.0.0.1:5001/") == "http://127.0.0.1:5001"
    assert api_url("localhost:5001") == "http://localhost:5001"
    for bad in ("/ip4/127.0.0.1/udp/5001", "ftp://host:1", "http://host"):
        with pytest.raises(Exception, match="not a Kubo RPC address"):
            api_url(bad)


def test_a_daemon_that_does_not_answer_is_unavailable_after_the_timeout(tmp_path) -> None:
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts connections, never answers
    try:
        with pytest.raises(BackendUnavailableError, match="did not answer within 1s"):
            KuboRemote(f"/ip4/127.0.0.1/tcp/{listener.getsockname()[1]}", timeout=1)
    finally:
        listener.close()


def test_publish_points_the_keys_ipns_name_at_the_new_snapshot(emu, hf_env, kubo_api, tmp_path) -> None:
    env = hf_env.subprocess_env(emu)
    out = tmp_path / "out"
    result = subprocess.run(
        [*CLI, "--output-dir", str(out), "models", "--limit", "2", "--backend", "kubo", "--kubo-api", kubo_api.url,
         "--publish", "self"], env=env, capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stderr
    line = result.stdout.splitlines()[-1]
    assert line.startswith("snapshot 1: ") and ", published as /ipns/" in line, result.stdout
    snapshot, name = line.split()[2], line.rsplit("/ipns/", 1)[1]
    daemon = _daemon(kubo_api.url)
    resolved = daemon._client.name.resolve(f"/ipns/{name}", opts={"offline": "true"})
    assert resolved["Path"] == f"/ipfs/{snapshot}"
    daemon.close()
    with StateStore(out / "state.sqlite") as state:
        assert state.snapshots()[0].published == name

    embedded = subprocess.run([*CLI, "--output-dir", str(tmp_path / "e"), "models", "--limit", "1", "--publish", "self"],
                              env=env, capture_output=True, text=True, timeout=60)
    assert embedded.returncode == 1 and "needs the Kubo backend" in embedded.stderr and "Traceback" not in embedded.stderr


def test_serve_reads_an_archive_pinned_in_the_daemon(emu, kubo_api, tmp_path) -> None:
    import httpx2

    from hf_ipfs_scraper.storage.remote import RemoteReader
    from hf_ipfs_scraper.web.app import create_app
    from tests.test_web_hub import ServerThread

    config = _config(emu, tmp_path / "out", kubo_api.url)
    with Mirror(config) as mirror:
        assert mirror.scrape_models(limit=2).mirrored == 2
    assert not (config.output_dir / "ipfs").exists()  # nothing local: the daemon holds it
    app = create_app(config.output_dir, remote=lambda: RemoteReader(_daemon(kubo_api.url)))
    repo = CORPUS[0]
    with ServerThread(app) as server, httpx2.Client(base_url=server.url, timeout=30) as client:
        for f in repo.files:
            got = client.get(f"/{repo.id}/resolve/main/{f.path}")
            assert got.status_code == 200 and got.content == f.data, f.path
        part = client.get(f"/{repo.id}/resolve/main/model.safetensors", headers={"Range": "bytes=300000-300099"})
        wanted = next(f.data for f in repo.files if f.path == "model.safetensors")[300000:300100]
        assert part.status_code == 206 and part.content == wanted
    with pytest.raises(Exception, match="trustless gateway reads blocks from the embedded store"):
        create_app(config.output_dir, gateway=True, remote=lambda: RemoteReader(_daemon(kubo_api.url)))


def test_cidv1_roots_are_the_daemons_too_whatever_base_it_answers_in(emu, kubo_api, tmp_path) -> None:
    """The JavaScript node names CIDv1 in base58btc (zb2r...), Kubo in base32: both parse to ours."""
    config = _config(emu, tmp_path / "out", kubo_api.url, **{"store.profile": "unixfs-v1-2025"})
    with Mirror(config) as mirror:
        assert mirror.scrape_models(limit=2).mirrored == 2
    daemon = _daemon(kubo_api.url)
    pinned = {p.cid: p.name for p in daemon.pins()}
    with StateStore(config.output_dir / "state.sqlite") as state:
        for entity in state.iter_entities("model", status="done"):
            root = CID.parse(entity.root_cid or "")
            assert root.version == 1 and pinned[root] == f"model:{entity.id}"
            for record in state.files("model", entity.id):
                assert CID.parse(record.cid).version == 1 and daemon.has(CID.parse(record.cid))
    daemon.close()


def test_a_daemon_that_reports_another_pinned_root_is_an_error_and_nothing_is_recorded(
    emu, kubo_api, tmp_path, monkeypatch
) -> None:
    """No real daemon misreports its pins; the answer is replaced to check what the mirror does."""
    config = _config(emu, tmp_path / "out", kubo_api.url)
    with Mirror(config) as mirror:
        remote = mirror._remote
        assert remote is not None
        other = "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"  # the empty directory
        monkeypatch.setattr(remote.remote._client.pin, "add", lambda *a, **k: {"Pins": [other]})  # type: ignore[attr-defined]
        summary = mirror.scrape_models(limit=1)
    assert summary.failed == 1 and f"reports pinning {other} for the DAG whose root is" in summary.failures[0][1]
    with StateStore(config.output_dir / "state.sqlite") as state:
        assert state.get("model", CORPUS[0].id).status == "failed"  # type: ignore[union-attr]


def test_prune_unpins_from_the_daemon_what_left_the_lists(emu, kubo_api, tmp_path) -> None:
    config = _config(emu, tmp_path / "out", kubo_api.url)
    for top in ("org/model-4", "org/model-0"):  # run 1 lists model-4 first, run 2 model-0
        emu.set_trending(top, 1000)
        with Mirror(config) as mirror:
            assert mirror.scrape_models(limit=1).status == "completed"
            mirror.snapshot()
        emu.set_trending(top, 0)
    with StateStore(config.output_dir / "state.sqlite") as state:
        gone = state.get("model", "org/model-4")
        assert gone is not None and gone.root_cid
        first_snapshot = state.snapshots()[-1].cid
    with Mirror(config) as mirror:
        result = mirror.prune(keep_runs=1)
    assert [e.id for e in result.plan.unpin] == ["org/model-4"] and result.notes  # the daemon's gc frees it
    daemon = _daemon(kubo_api.url)
    pinned = {str(p.cid) for p in daemon.pins()}
    assert gone.root_cid not in pinned and first_snapshot not in pinned
    with StateStore(config.output_dir / "state.sqlite") as state:
        kept = state.get("model", "org/model-0")
        assert kept is not None and kept.root_cid in pinned
    daemon.close()
