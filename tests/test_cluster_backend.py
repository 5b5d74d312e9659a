"""The mirror end to end with ``storage.backend = "cluster"``: the project's Hub emulator, the IPFS
Cluster stand-in (``tests/clusteremu``, peers walking pin_queued → pinning → pinned) and a real
IPFS daemon behind it (the JavaScript IPFS node), which every CAR the stand-in accepts is
imported into, as a cluster peer's IPFS would hold it.

What the cluster holds is read from the stand-in's own record (its pinset, the requests it got)
and what the daemon holds from the daemon: nothing here trusts the mirror's word for it.
"""

from __future__ import annotations

import gc
import socket
import warnings
from pathlib import Path
from typing import Any

import pytest

from hf_ipfs_scraper import Mirror, load_config
from hf_ipfs_scraper.config import Config
from hf_ipfs_scraper.errors import BackendError, BackendUnavailableError
from hf_ipfs_scraper.ipfs.cid import CID
from hf_ipfs_scraper.pipeline import RepoFinished
from hf_ipfs_scraper.state import StateStore
from hf_ipfs_scraper.storage.cluster_api import ClusterAPI
from hf_ipfs_scraper.storage.kubo import KuboRemote
from tests.clusteremu import ClusterEmulator, Peer
from tests.hubemu import HubEmulator, Repo, RepoFile

pytestmark = pytest.mark.kubo

NO_SPACE = "pin_error: no space left on device"
SECRET = "s3cret-cluster-password"


def _model(repo_id: str, score: int) -> Repo:
    files = [
        RepoFile("README.md", f"# {repo_id}\n\nA model card.\n".encode()),
        RepoFile("config.json", b'{"hidden_size": 8}\n'),  # the same blob in every repo
        RepoFile("model.safetensors", (repo_id.encode() + bytes(range(256))) * 1500, lfs=True),  # ~390 KB, 2 chunks
    ]
    return Repo("model", repo_id, files, trending_score=score, likes=score, downloads=10 * score)


CORPUS = [_model(f"org/model-{i}", 100 - i) for i in range(4)]
IDS = [repo.id for repo in CORPUS]


def _peers(**by_name: list[str]) -> list[Peer]:
    """Three peers; peer-b walks every pin through the states a real peer reports on the way,
    or follows ``by_name`` (pin name → script) for the pins named there."""
    return [Peer("peer-a"), Peer("peer-b", ["pin_queued", "pinning", "pinned"], by_name=by_name), Peer("peer-c")]


def _config(hub: HubEmulator, out: Path, cluster_url: str, ipfs_api: str, **extra: Any) -> Config:
    values = {"hub.endpoint": hub.endpoint, "output_dir": str(out), "storage.backend": "cluster",
              "cluster.api": cluster_url, "cluster.ipfs_api": ipfs_api, "cluster.replication_min": "2",
              "cluster.replication_max": "2", "cluster.timeout": "10s", "cluster.pin_timeout": "15s"} | extra
    return load_config(env={}, overrides=values)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _by_status(out: Path) -> dict[str, str]:
    with StateStore(out / "state.sqlite") as state:
        return {e.id: e.status for e in state.iter_entities("model")}


@pytest.fixture
def hub(hf_env, hub_factory) -> HubEmulator:
    return hf_env.use(hub_factory(CORPUS))


@pytest.fixture
def daemon(js_ipfs_node):
    reader = KuboRemote(js_ipfs_node.api_url, timeout=20)
    yield reader
    reader.close()


def test_every_repo_is_pinned_by_name_with_the_configured_replication_and_cats_back_from_ipfs(
    hub, js_ipfs_node, daemon, tmp_path
) -> None:
    out = tmp_path / "out"
    with ClusterEmulator(_peers(), ipfs_api=js_ipfs_node.api_url) as cluster:
        config = _config(hub, out, cluster.url, js_ipfs_node.api_url)
        with Mirror(config) as mirror:
            summary = mirror.scrape_models(limit=len(CORPUS))
            assert summary.status == "completed" and summary.mirrored == len(CORPUS), summary
            snapshot = mirror.snapshot()
        pins = cluster.pins
        adds = cluster.requests_to("POST", "/add")
        imported = cluster.ipfs_imports
        with ClusterAPI(cluster.url) as api:
            statuses = {cid: api.status(cid) for cid in pins}

    with StateStore(out / "state.sqlite") as state:
        done = {e.id: e for e in state.iter_entities("model", status="done")}
        files = {repo_id: state.files("model", repo_id) for repo_id in done}
    assert sorted(done) == IDS
    # one CAR per repo and one for the snapshot, each with the name and the factors of the config
    assert len(adds) == len(CORPUS) + 1
    assert {a.query["name"] for a in adds} == {f"model:{i}" for i in IDS} | {pins[CID.parse(snapshot.cid)].name}
    assert {(a.query["format"], a.query["replication-min"], a.query["replication-max"]) for a in adds} == {("car", "2", "2")}
    for repo_id, entity in done.items():
        entry = pins[CID.parse(entity.root_cid or "")]
        assert (entry.name, entry.replication_min, entry.replication_max) == (f"model:{repo_id}", 2, 2)
        assert len(entry.allocations) == 2  # replication-max 2 of 3 peers: the third holds it "remote"
    snapshot_pin = pins[CID.parse(snapshot.cid)]
    assert snapshot_pin.name.startswith("snapshot:") and snapshot_pin.replication_min == 2
    # done means pinned on replication-min peers: peer-b got there through pin_queued and pinning
    for cid, status in statuses.items():
        assert status.pinned_count == 2, status.describe(2)

    # the cluster's IPFS holds every file (the stand-in imported each CAR it accepted into the
    # daemon; the mirror itself never writes there): each CID cats back its exact bytes
    assert sorted(map(str, imported)) == sorted(map(str, pins))
    for repo in CORPUS:
        for record in files[repo.id]:
            want = next(f.data for f in repo.files if f.path == record.path)
            assert b"".join(daemon.cat(CID.parse(record.cid))) == want, (repo.id, record.path)
    # and the snapshot links every repo's root, through the daemon too
    listed = daemon._client.ls(f"{snapshot.cid}/models")["Objects"][0]["Links"]
    assert {link["Name"]: link["Hash"] for link in listed} == {
        repo_id.replace("/", "__"): entity.root_cid for repo_id, entity in done.items()}


def test_a_pin_that_cannot_reach_replication_min_fails_that_repo_with_the_per_peer_report(
    hub, js_ipfs_node, tmp_path
) -> None:
    out = tmp_path / "out"
    broken = IDS[1]
    peers = _peers(**{f"model:{broken}": ["pin_queued", NO_SPACE]})
    with ClusterEmulator(peers, ipfs_api=js_ipfs_node.api_url) as cluster:
        with Mirror(_config(hub, out, cluster.url, js_ipfs_node.api_url)) as mirror:
            summary = mirror.scrape_models(limit=len(CORPUS))
        pinned = {str(cid) for cid in cluster.pins}

    assert summary.status == "completed" and (summary.mirrored, summary.failed) == (len(CORPUS) - 1, 1), summary
    assert _by_status(out) == {i: "failed" if i == broken else "done" for i in IDS}
    with StateStore(out / "state.sqlite") as state:
        failed = state.get("model", broken)
        roots = {e.root_cid for e in state.iter_entities("model", status="done")}
    assert failed is not None and failed.last_error is not None
    assert failed.last_error.startswith("ReplicationError: ")
    # where each peer stands: peer-a pinned it, peer-b failed, peer-c was never allocated it
    assert "pinned on 1 of replication-min 2 (peer-a pinned, peer-b pin_error: no space left on device, " \
           "peer-c remote)" in failed.last_error
    assert "2 pinned can no longer be reached" in failed.last_error
    assert roots <= pinned


def test_the_cluster_down_at_start_is_one_line(hub, js_ipfs_node, tmp_path) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(BackendUnavailableError) as caught:
        Mirror(_config(hub, tmp_path / "out", url, js_ipfs_node.api_url))
    assert str(caught.value) == f"IPFS Cluster at {url} is not reachable: connection refused"
    with StateStore(tmp_path / "out" / "state.sqlite") as state:
        assert state.runs() == [] and list(state.iter_entities()) == []


def _refused_open(config: Config, port: int) -> tuple[str, list[str]]:
    """``Mirror(config)`` failing with a BackendError: its message, and the ResourceWarnings of
    sockets to ``port`` left open by the failed open (collected here, so they cannot surface in
    whichever test the garbage collector happens to run in)."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always", ResourceWarning)
        try:
            Mirror(config)
        except BackendError as exc:
            assert not isinstance(exc, BackendUnavailableError), exc
            message = str(exc)
        else:
            pytest.fail("Mirror opened with wrong credentials")
        gc.collect()
    return message, [str(w.message) for w in seen if f"{port})" in str(w.message)]


def _wrong_credentials(auth: str) -> dict[str, str]:
    wrong = "wrong-" + SECRET
    return {"cluster.username": "admin", "cluster.password": wrong} if auth == "basic" else {"cluster.token": wrong}


@pytest.mark.parametrize("auth", ["basic", "bearer"])
def test_wrong_credentials_are_a_backend_error_naming_no_secret(hub, js_ipfs_node, tmp_path, auth: str) -> None:
    with ClusterEmulator(_peers(), users={"admin": SECRET}, tokens=[SECRET]) as cluster:
        url = cluster.url
        config = _config(hub, tmp_path / "out", url, js_ipfs_node.api_url, **_wrong_credentials(auth))
        message, _ = _refused_open(config, int(url.rsplit(":", 1)[1]))
    assert message.startswith(f"IPFS Cluster at {url} refused the credentials ({auth} auth)")
    assert SECRET not in message and "\n" not in message


def test_a_refused_open_leaves_no_connection_open(hub, js_ipfs_node, tmp_path) -> None:
    with ClusterEmulator(_peers(), users={"admin": SECRET}) as cluster:
        config = _config(hub, tmp_path / "out", cluster.url, js_ipfs_node.api_url, **_wrong_credentials("basic"))
        _, leaked = _refused_open(config, int(cluster.url.rsplit(":", 1)[1]))
    assert leaked == []


def test_the_cluster_going_away_mid_run_fails_the_run_and_leaves_the_rest_pending(
    hub, js_ipfs_node, tmp_path
) -> None:
    out = tmp_path / "out"
    cluster = ClusterEmulator(_peers(), ipfs_api=js_ipfs_node.api_url).start()
    url = cluster.url
    finished: list[str] = []

    def stop_after_the_first(event: object) -> None:
        if isinstance(event, RepoFinished) and event.outcome == "mirrored":
            finished.append(event.id)
            if len(finished) == 1:
                cluster.stop()

    try:
        config = _config(hub, out, url, js_ipfs_node.api_url, **{"scrape.workers": "1"})
        with Mirror(config, progress=stop_after_the_first) as mirror:
            summary = mirror.scrape_models(limit=len(CORPUS))
    finally:
        cluster.stop()

    assert summary.status == "failed" and finished == IDS[:1], summary
    assert summary.error is not None and summary.error.startswith(f"IPFS Cluster at {url} is not reachable")
    assert "stay pending" in summary.error
    assert _by_status(out) == {i: "done" if i == IDS[0] else "pending" for i in IDS}
    with StateStore(out / "state.sqlite") as state:
        recorded = {e.root_cid for e in state.iter_entities("model", status="done")}
    assert recorded and recorded <= {str(cid) for cid in cluster.pins}  # done only if the cluster pinned it


@pytest.mark.parametrize("low, high", [(1, -1), (-1, 2), (3, 2)])
def test_replication_factors_the_cluster_would_refuse_are_a_config_error_before_any_request(low, high) -> None:
    from hf_ipfs_scraper import load_config
    from hf_ipfs_scraper.errors import ConfigError
    from hf_ipfs_scraper.storage.cluster import ClusterRemote

    config = load_config(env={}, overrides={"cluster.api": "http://127.0.0.1:9", "cluster.replication_min": low,
                                            "cluster.replication_max": high})
    with pytest.raises(ConfigError, match="both as -1"):
        ClusterRemote.from_config(config)
