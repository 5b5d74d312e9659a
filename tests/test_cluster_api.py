"""Contract tests of the IPFS Cluster REST client (``storage/cluster_api.py``) against the local
stand-in (``tests/clusteremu``), which speaks ipfs-cluster's documented wire format."""

from __future__ import annotations

import hashlib
import io
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hf_ipfs_scraper.errors import BackendError, BackendUnavailableError, ConfigError, ReplicationError
from hf_ipfs_scraper.ipfs import car
from hf_ipfs_scraper.ipfs.car import CarReader
from hf_ipfs_scraper.ipfs.cid import CID
from hf_ipfs_scraper.storage.cluster_api import ClusterAPI, PeerPin, PinState, PinStatus, http_url
from hf_ipfs_scraper.storage.embedded import EmbeddedStore
from tests.clusteremu import ClusterEmulator, Peer, peer_id_for

PROGRESS = ["pin_queued", "pinning", "pinned"]
POLL = 0.01


def _car(tmp_path: Path, size: int, seed: str = "car") -> tuple[CID, bytes]:
    """A CAR of ``size`` deterministic bytes made by our own importer, and its root."""
    data = b"".join(hashlib.sha256(f"{seed}{i}".encode()).digest() for i in range(size // 32 + 1))[:size]
    with EmbeddedStore(tmp_path / f"store-{seed}") as store:
        node = store.add_bytes(data)
        out = io.BytesIO()
        store.export_car(node.cid, out)
    return node.cid, out.getvalue()


@pytest.fixture
def small_car(tmp_path: Path) -> tuple[CID, bytes]:
    return _car(tmp_path, 10_000)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# -- content -----------------------------------------------------------------------------------
def test_a_streamed_car_lands_whole_and_the_cluster_reports_our_root(tmp_path: Path) -> None:
    root, data = _car(tmp_path, 3_000_000)
    pulled: list[int] = []

    def body() -> Iterator[bytes]:  # a generator: nothing tells the client the total size
        for offset in range(0, len(data), 256 << 10):
            pulled.append(offset)
            yield data[offset:offset + (256 << 10)]

    with ClusterEmulator() as emu, ClusterAPI(emu.url) as api:
        reported = api.add_car(body(), name="acme/bert-base", replication_min=2, replication_max=3)
        (upload,) = emu.requests_to("POST", "/add")
        stored = emu.blocks

    assert reported == root
    assert len(pulled) == -(-len(data) // (256 << 10))
    assert upload.headers.get("transfer-encoding") == "chunked" and "content-length" not in upload.headers
    assert upload.query["format"] == "car" and upload.query["name"] == "acme/bert-base"
    assert upload.headers["content-type"].startswith("multipart/form-data; boundary=")
    ours = dict(CarReader(io.BytesIO(data)))
    assert len(ours) > 10 and stored == ours  # every block, byte for byte


def test_a_car_from_a_file_object_and_its_pin_options(small_car: tuple[CID, bytes]) -> None:
    root, data = small_car
    with ClusterEmulator(["peer-a", "peer-b", "peer-c"]) as emu, ClusterAPI(emu.url) as api:
        assert api.add_car(io.BytesIO(data), name="org/x", replication_min=1, replication_max=2) == root
        pin = emu.pins[root]
    assert (pin.name, pin.replication_min, pin.replication_max) == ("org/x", 1, 2)
    assert pin.allocations == [peer_id_for("peer-a"), peer_id_for("peer-b")]


@pytest.mark.parametrize(("roots", "message"), [(2, "only CAR files with a single root are supported"),
                                                (0, "empty car, no roots")])
def test_a_car_without_exactly_one_root_is_refused_with_the_clusters_message(
        small_car: tuple[CID, bytes], roots: int, message: str) -> None:
    root, data = small_car
    blocks = list(CarReader(io.BytesIO(data)))
    out = io.BytesIO()
    car.write_car(out, [root, blocks[-1][0]][:roots], blocks)
    with ClusterEmulator() as emu, ClusterAPI(emu.url) as api:
        with pytest.raises(BackendError, match=message) as caught:
            api.add_car(io.BytesIO(out.getvalue()), name="r", replication_min=1, replication_max=1)
        assert not emu.pins
    assert type(caught.value) is BackendError and "POST /add failed with 500" in str(caught.value)


def test_a_corrupt_car_is_refused(small_car: tuple[CID, bytes]) -> None:
    _root, data = small_car
    broken = bytearray(data)
    broken[-5] ^= 0xFF  # inside the last block: its bytes no longer hash to its CID
    with ClusterEmulator() as emu, ClusterAPI(emu.url) as api:
        with pytest.raises(BackendError, match="500"):
            api.add_car([bytes(broken)], name="r", replication_min=1, replication_max=1)
        assert not emu.pins


def test_an_add_whose_ipfs_daemon_fails_is_the_clusters_block_adder_error(small_car: tuple[CID, bytes]) -> None:
    _root, data = small_car
    with ClusterEmulator(ipfs_api=f"http://127.0.0.1:{_free_port()}") as emu, ClusterAPI(emu.url) as api:
        with pytest.raises(BackendError) as caught:
            api.add_car([data], name="r", replication_min=1, replication_max=1)
        assert str(caught.value) == (f"IPFS Cluster at {emu.url}: POST /add failed with 500: "
                                     "failed to put block on all destinations")
        assert not emu.pins and not emu.blocks and emu.ipfs_imports == []
        assert len(emu.ipfs_errors) == 1 and "ConnectError" in emu.ipfs_errors[0]


# -- replication -------------------------------------------------------------------------------
def test_replication_factors_are_sent_and_honoured(small_car: tuple[CID, bytes]) -> None:
    root, _data = small_car
    with ClusterEmulator(["peer-a", "peer-b", "peer-c"]) as emu, ClusterAPI(emu.url) as api:
        allocation = api.pin(root, name="acme/model", replication_min=2, replication_max=2)
        (sent,) = emu.requests_to("POST", "/pins/")
        status = api.wait_pinned(root, replication_min=2, timeout=5, poll=POLL)

    assert sent.path == f"/pins/{root}"
    assert sent.query == {"name": "acme/model", "replication-min": "2", "replication-max": "2"}
    assert allocation.cid == root and (allocation.replication_min, allocation.replication_max) == (2, 2)
    assert allocation.allocations == (peer_id_for("peer-a"), peer_id_for("peer-b"))
    assert {p.peer_name: p.status for p in status.peers} == {
        "peer-a": PinState.PINNED, "peer-b": PinState.PINNED, "peer-c": PinState.REMOTE}
    assert status.name == "acme/model" and status.pinned_count == 2


def test_pin_everywhere_waits_for_every_peer(small_car: tuple[CID, bytes]) -> None:
    root, _data = small_car
    peers = [Peer("peer-a"), Peer("peer-b"), Peer("peer-c", ["pinning", "pinning", "pinning", "pinned"])]
    with ClusterEmulator(peers) as emu, ClusterAPI(emu.url) as api:
        assert api.pin(root, name="all", replication_min=-1, replication_max=-1).allocations == ()
        status = api.wait_pinned(root, replication_min=-1, timeout=5, poll=POLL)
        polls = len(emu.requests_to("GET", "/pins/"))
    assert status.pinned_count == 3 and polls == 4


def test_a_replication_the_cluster_cannot_allocate_is_its_error(small_car: tuple[CID, bytes]) -> None:
    root, _data = small_car
    with ClusterEmulator(["peer-a", "peer-b"]) as emu, ClusterAPI(emu.url) as api:
        with pytest.raises(BackendError, match="not enough peers to allocate CID. Needed at least: 3"):
            api.pin(root, name="x", replication_min=3, replication_max=3)


def test_polling_walks_pin_queued_pinning_pinned(small_car: tuple[CID, bytes]) -> None:
    root, _data = small_car
    with ClusterEmulator([Peer("peer-a", PROGRESS), Peer("peer-b", PROGRESS)]) as emu, ClusterAPI(emu.url) as api:
        api.pin(root, name="x", replication_min=2, replication_max=2)
        seen = [api.status(root).peers[0].status for _ in range(3)]
        api.unpin(root)
        api.pin(root, name="x", replication_min=2, replication_max=2)
        emu.reset_requests()
        status = api.wait_pinned(root, replication_min=2, timeout=5, poll=POLL)
        polls = len(emu.requests_to("GET", f"/pins/{root}"))
    assert seen == [PinState.PIN_QUEUED, PinState.PINNING, PinState.PINNED]
    assert status.pinned_count == 2 and polls == 3


def test_progress_by_time_not_polls(small_car: tuple[CID, bytes]) -> None:
    root, _data = small_car
    with ClusterEmulator([Peer("peer-a", PROGRESS, step_ms=100)]) as emu, ClusterAPI(emu.url) as api:
        api.pin(root, name="x", replication_min=1, replication_max=1)
        started = time.monotonic()
        status = api.wait_pinned(root, replication_min=1, timeout=5, poll=POLL)
        assert time.monotonic() - started >= 0.15
        assert len(emu.requests_to("GET", "/pins/")) > 3
    assert status.pinned_count == 1


def test_pin_error_on_one_peer_is_fine_while_enough_pin(small_car: tuple[CID, bytes]) -> None:
    root, _data = small_car
    peers = [Peer("peer-a"), Peer("peer-b", PROGRESS), Peer("peer-c", ["pin_queued", "pin_error: no space left"])]
    with ClusterEmulator(peers) as emu, ClusterAPI(emu.url) as api:
        api.pin(root, name="x", replication_min=2, replication_max=3)
        status = api.wait_pinned(root, replication_min=2, timeout=5, poll=POLL)
    assert status.pinned_count == 2
    assert [(p.peer_name, p.status, p.error) for p in status.errors] == [
        ("peer-c", PinState.PIN_ERROR, "no space left")]


def test_too_many_pin_errors_fail_at_once_with_the_per_peer_report(small_car: tuple[CID, bytes]) -> None:
    root, _data = small_car
    peers = [Peer("peer-a"), Peer("peer-b", ["pin_error: no space left"]),
             Peer("peer-c", ["pinning", "pin_error: context deadline exceeded"])]
    with ClusterEmulator(peers) as emu, ClusterAPI(emu.url) as api:
        api.pin(root, name="x", replication_min=2, replication_max=3)
        started = time.monotonic()
        with pytest.raises(ReplicationError) as caught:
            api.wait_pinned(root, replication_min=2, timeout=20, poll=POLL)
        elapsed = time.monotonic() - started
    message = str(caught.value)
    assert elapsed < 2  # not the 20 s timeout
    assert message.startswith(f"{root}: pinned on 1 of replication-min 2 (peer-a pinned, ")
    assert "peer-b pin_error: no space left" in message and "peer-c pin_error: context deadline exceeded" in message
    assert isinstance(caught.value.status, PinStatus) and caught.value.status.pinned_count == 1


def test_the_timeout_says_where_the_pin_stands(small_car: tuple[CID, bytes]) -> None:
    root, _data = small_car
    with ClusterEmulator([Peer("peer-a"), Peer("peer-b", ["pin_queued", "pinning"])]) as emu, \
            ClusterAPI(emu.url) as api:
        api.pin(root, name="x", replication_min=2, replication_max=2)
        started = time.monotonic()
        with pytest.raises(ReplicationError) as caught:
            api.wait_pinned(root, replication_min=2, timeout=0.4, poll=0.05)
        elapsed = time.monotonic() - started
    assert 0.4 <= elapsed < 3
    assert str(caught.value) == (f"{root}: pinned on 1 of replication-min 2 (peer-a pinned, peer-b pinning): "
                                 "still short after 0.4 s")


@pytest.mark.parametrize("dropout", ["gone", "cluster_error: dial backoff"])
def test_a_peer_that_drops_out_mid_poll(small_car: tuple[CID, bytes], dropout: str) -> None:
    root, _data = small_car
    peers = [Peer("peer-a"), Peer("peer-b", PROGRESS), Peer("peer-c", ["pin_queued", "pinning", dropout])]
    with ClusterEmulator(peers) as emu, ClusterAPI(emu.url) as api:
        api.pin(root, name="x", replication_min=2, replication_max=3)
        assert api.wait_pinned(root, replication_min=2, timeout=5, poll=POLL).pinned_count == 2
        api.unpin(root)
        api.pin(root, name="x", replication_min=3, replication_max=3)
        with pytest.raises(ReplicationError) as caught:  # a dropped peer may return: only the timeout ends it
            api.wait_pinned(root, replication_min=3, timeout=0.3, poll=POLL)
    last = caught.value.status
    assert isinstance(last, PinStatus)
    names = {p.peer_name: p for p in last.peers}
    if dropout == "gone":
        assert set(names) == {"peer-a", "peer-b"} and "peer-c" not in str(caught.value)
    else:
        assert names["peer-c"].status is PinState.CLUSTER_ERROR
        assert "peer-c cluster_error: dial backoff" in str(caught.value)
    assert "pinned on 2 of replication-min 3" in str(caught.value)


# -- the rest of the API -----------------------------------------------------------------------
def test_unpin_and_an_unknown_pin(small_car: tuple[CID, bytes]) -> None:
    root, _data = small_car
    with ClusterEmulator() as emu, ClusterAPI(emu.url) as api:
        api.pin(root, name="x", replication_min=1, replication_max=1)
        assert [s.cid for s in api.pins()] == [root]
        assert api.unpin(root) is True
        assert not emu.pins and api.pins() == []
        assert api.unpin(root) is False  # not in the pinset: no crash
        status = api.status(root)
        assert len(emu.requests_to("DELETE", f"/pins/{root}")) == 2
    assert status.pinned_count == 0 and {p.status for p in status.peers} == {PinState.UNPINNED}


def test_id_peers_and_alerts(small_car: tuple[CID, bytes]) -> None:
    with ClusterEmulator(["peer-a", "peer-b"]) as emu, ClusterAPI(emu.url) as api:
        assert api.alerts() == []  # the cluster writes `null`
        emu.add_alert("peer-b")
        (alert,) = api.alerts()
        me, peers = api.id(), api.peers()
    assert alert.name == "ping" and alert.peer_id == peer_id_for("peer-b")
    assert alert.triggered_at is not None and alert.expire is not None and alert.expire < alert.triggered_at
    assert (me.peer_name, me.peer_id, me.version) == ("peer-a", peer_id_for("peer-a"), "1.1.6")
    assert [p.peer_name for p in peers] == ["peer-a", "peer-b"]
    assert me.cluster_peers == (peer_id_for("peer-a"), peer_id_for("peer-b"))


def test_v0_wire_format_is_read_too(small_car: tuple[CID, bytes]) -> None:
    """v0.x wrote CIDs as {"/": ...} and lists as JSON arrays."""
    root, data = small_car
    with ClusterEmulator(legacy=True) as emu, ClusterAPI(emu.url) as api:
        assert api.add_car(io.BytesIO(data), name="x", replication_min=1, replication_max=1) == root
        assert api.status(root).cid == root
        assert [s.cid for s in api.pins()] == [root] and len(api.peers()) == 3


# -- auth --------------------------------------------------------------------------------------
SECRET = "hunter2-Sup3rS3cret"


@pytest.mark.parametrize("kind", ["basic", "bearer"])
def test_auth_right_wrong_and_missing(kind: str) -> None:
    def client(url: str, secret: str) -> ClusterAPI:
        if kind == "basic":
            return ClusterAPI(url, username="admin", password=secret)
        return ClusterAPI(url, token=secret)

    with ClusterEmulator(users={"admin": SECRET} if kind == "basic" else None,
                         tokens=[SECRET] if kind == "bearer" else ()) as emu:
        url = emu.url
        with client(url, SECRET) as api:
            assert api.id().peer_name == "peer-a"
            assert SECRET not in repr(api)
        sent = emu.requests[-1].headers["authorization"]
        assert sent.lower().startswith(kind)
        with client(emu.url, SECRET + "-wrong") as api, pytest.raises(BackendError) as wrong:
            api.pins()
        with ClusterAPI(emu.url) as api, pytest.raises(BackendError) as missing:
            api.pins()
    assert type(wrong.value) is BackendError
    assert f"IPFS Cluster at {url} refused the credentials ({kind} auth)" in str(wrong.value)
    assert "requires credentials" in str(missing.value) and "no auth provided" in str(missing.value)
    for text in (str(wrong.value), repr(wrong.value), str(missing.value)):
        assert SECRET not in text


def test_basic_and_bearer_together_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        ClusterAPI(username="admin", password=SECRET, token=SECRET)
    assert SECRET not in str(caught.value)


# -- reachability ------------------------------------------------------------------------------
def test_a_cluster_that_is_down_is_unavailable_fast() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    started = time.monotonic()
    with ClusterAPI(url) as api, pytest.raises(BackendUnavailableError) as caught:
        api.id()
    assert time.monotonic() - started < 2
    assert str(caught.value) == f"IPFS Cluster at {url} is not reachable: connection refused"


def test_a_cluster_that_never_answers_is_unavailable_after_the_timeout() -> None:
    with socket.socket() as silent:  # accepts connections (the backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        with ClusterAPI(url, timeout=0.3) as api, pytest.raises(BackendUnavailableError) as caught:
            api.id()
    assert 0.3 <= time.monotonic() - started < 3
    assert str(caught.value) == f"IPFS Cluster at {url} did not answer GET /id within 0.3 s"


@pytest.mark.parametrize(("address", "url"), [
    ("/ip4/127.0.0.1/tcp/9094", "http://127.0.0.1:9094"),
    ("/dns/cluster.example.org/tcp/443/https", "https://cluster.example.org:443"),
    ("/dns4/c.example/tcp/9094/tls/http", "https://c.example:9094"),
    ("/ip6/::1/tcp/9094/http", "http://[::1]:9094"),
    ("http://127.0.0.1:9094/", "http://127.0.0.1:9094"),
    ("https://proxy.example:443/cluster/", "https://proxy.example:443/cluster"),
    ("127.0.0.1:9094", "http://127.0.0.1:9094"),
])
def test_addresses(address: str, url: str) -> None:
    assert http_url(address) == url


@pytest.mark.parametrize("address", ["/unix/tmp/cluster.sock", "/ip4/127.0.0.1/udp/9094", "/ip4/127.0.0.1/tcp/0",
                                     "/dns/host/tcp/9094/ws", "https://proxy.example/cluster", "ftp://host:21/",
                                     "http://host:9094/?x=1", "http://host:99999", "http://admin:" + SECRET + "@host:9094",
                                     "admin:" + SECRET + "@host:notaport"])
def test_bad_addresses_are_config_errors_naming_the_api(address: str) -> None:
    with pytest.raises(ConfigError, match="^not an IPFS Cluster API address: ") as caught:
        http_url(address)
    assert SECRET not in str(caught.value)


def test_an_address_with_credentials_says_where_they_go_instead() -> None:
    with pytest.raises(ConfigError) as caught:
        ClusterAPI("https://admin:" + SECRET + "@cluster.example:9094")
    assert str(caught.value) == ("not an IPFS Cluster API address: it holds credentials, which do not belong in an "
                                 "address (set cluster.username and cluster.password, or cluster.token)")


def test_a_multiaddr_reaches_the_cluster() -> None:
    with ClusterEmulator() as emu:
        port = emu.url.rsplit(":", 1)[1]
        with ClusterAPI(f"/ip4/127.0.0.1/tcp/{port}") as api:
            assert api.id().peer_name == "peer-a"


# -- the typed values --------------------------------------------------------------------------
def test_describe_is_one_line_per_pin() -> None:
    cid = CID.parse("QmSLQayek683BTnEZx7vwnwtqAuNGfB38vRxvgTgXtWdSJ")
    status = PinStatus(cid, "x", (PeerPin("id-a", "peer-a", PinState.PINNED),
                                  PeerPin("id-b", "peer-b", PinState.PINNING),
                                  PeerPin("id-c", "", PinState.PIN_ERROR, "no space left")))
    assert status.describe(2) == (f"{cid}: pinned on 1 of replication-min 2 "
                                  "(peer-a pinned, peer-b pinning, id-c pin_error: no space left)")
    assert status.describe() == f"{cid}: pinned on 1 of 3 peers (peer-a pinned, peer-b pinning, " \
                                "id-c pin_error: no space left)"
    assert PinState("some_future_status") is PinState.UNDEFINED
