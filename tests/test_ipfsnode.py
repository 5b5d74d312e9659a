"""The real-IPFS-daemon fixture (tests/ipfsnode.py) and the RPC facts the Kubo backend relies on.

``kubo_api`` tests run against the JS IPFS node and, when ``KUBO_API_URL`` is set, a real Kubo: they
assert only what both do. ``js_ipfs_node`` tests record what js-ipfs 0.18.1 does (quirks included);
the findings are summarised at the top of tests/ipfsnode.py.
"""

from __future__ import annotations

import functools
import io
import json
import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2
import ipfshttpclient
import ipfshttpclient.exceptions
import pytest

from hf_ipfs_scraper.ipfs import multibase
from hf_ipfs_scraper.ipfs.car import CarReader, write_car
from hf_ipfs_scraper.ipfs.cid import CID, RAW
from hf_ipfs_scraper.ipfs.options import ImportOptions
from hf_ipfs_scraper.storage.embedded import EmbeddedStore
from tests.ipfsnode import JSIPFS_VERSION, LOCK_NAME, JsIpfsNode, JsIpfsNodeError, _free_ports
from tests.ipfsnode_fixtures import IpfsApi

# ipfshttpclient 0.8 hands urllib3 2 a `strict` argument, which warns on every request
pytestmark = pytest.mark.filterwarnings("ignore:The 'strict' parameter is no longer needed:FutureWarning")

#: a block nobody has: asking for it makes a daemon search the (here absent) network
ABSENT = CID.hash_block(b"hf-ipfs-scraper: a block nobody has\n", version=0)


# -- helpers ----------------------------------------------------------------------------------
def rpc(
    api: str | IpfsApi, endpoint: str, params: dict[str, str] | None = None, *, timeout: float = 10.0, **kwargs: Any
) -> httpx2.Response:
    url = api.url if isinstance(api, IpfsApi) else api
    return httpx2.post(f"{url}/api/v0/{endpoint}", params=params, timeout=timeout, **kwargs)


def ndjson(response: httpx2.Response) -> list[dict[str, Any]]:
    return [json.loads(line) for line in response.text.splitlines() if line.strip()]


def car_bytes(store: EmbeddedStore, cid: CID) -> bytes:
    buf = io.BytesIO()
    store.export_car(cid, buf)
    return buf.getvalue()


def car_file(car: bytes, name: str = "dag.car") -> dict[str, tuple[str, bytes, str]]:
    return {"file": (name, car, "application/vnd.ipld.car")}


def is_pinned(api: str | IpfsApi, cid: CID | str) -> str | None:
    """The pin type of ``cid`` (``recursive``/``direct``/``indirect``), ``None`` when unpinned.

    No ``cid-base``: js-ipfs answers any ``cid-base=base32`` request that would print a CIDv0 with
    HTTP 500; the keys are parsed instead (js-ipfs prints CIDv1 in base58btc, Kubo in base32)."""
    r = rpc(api, "pin/ls", {"arg": str(cid)})
    if r.status_code == 500 and "is not pinned" in r.json()["Message"]:
        return None
    r.raise_for_status()
    keys = {CID.parse(k): v for k, v in r.json()["Keys"].items()}
    assert list(keys) == [CID.parse(str(cid))], keys
    return str(keys[CID.parse(str(cid))]["Type"])


def error_message(response: httpx2.Response) -> str:
    body = response.json()
    assert body["Type"] == "error" and "Code" in body, body
    return str(body["Message"])


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    with EmbeddedStore(tmp_path / "store") as s:
        yield s


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A directory with several files, one of them multi-chunk, and a subdirectory."""
    root = tmp_path / "tree"
    (root / "sub").mkdir(parents=True)
    for i in range(4):
        (root / f"f{i}.txt").write_bytes(f"{tmp_path.name} file {i}\n".encode() * 50)
    (root / "sub" / "big.bin").write_bytes(bytes(range(256)) * 2000 + tmp_path.name.encode())  # 2 chunks
    return root


def concurrently(calls: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """Run the calls at once (each a hang that ends in a timeout): outcome or exception, by name."""

    def outcome(call: Callable[[], Any]) -> Any:
        started = time.monotonic()
        try:
            result: Any = call()
        except Exception as exc:  # noqa: BLE001 - the exception is the outcome
            result = exc
        return result, time.monotonic() - started

    with ThreadPoolExecutor(len(calls)) as pool:
        futures = {name: pool.submit(outcome, call) for name, call in calls.items()}
        return {name: f.result() for name, f in futures.items()}


def raw_post(port: int, target: str, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes, dict[str, str]]:
    """POST with an empty body over a bare socket: (status, headers, de-chunked body, trailers) —
    httpx2, requests and so ipfshttpclient never show HTTP trailers."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        head_lines = [f"POST {target} HTTP/1.1", "Host: 127.0.0.1", "TE: trailers", "Content-Length: 0"]
        head_lines.append("Connection: close")
        sock.sendall(("\r\n".join(head_lines) + "\r\n\r\n").encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
    assert headers.get("transfer-encoding") == "chunked", headers
    body = b""
    while True:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        body, rest = body + rest[:size], rest[size + 2 :]
    trailers = {}
    for line in rest.decode("latin-1").split("\r\n"):
        if line:
            key, _, value = line.partition(":")
            trailers[key.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body, trailers


# -- 1. the fixture, version, and the ipfshttpclient path ----------------------------------------
def test_js_node_runs_offline_on_its_own_ports(js_ipfs_node: JsIpfsNode) -> None:
    node = js_ipfs_node
    assert node.running and isinstance(node.pid, int)
    port = node.ports["api"]
    assert node.api_multiaddr == f"/ip4/127.0.0.1/tcp/{port}"
    assert node.api_url == f"http://127.0.0.1:{port}"
    assert len(set(node.ports.values())) == 3

    version = rpc(node.api_url, "version").json()
    assert version["Version"] == JSIPFS_VERSION == "0.18.1"
    assert version["Repo"] == "12"
    get = httpx2.get(f"{node.api_url}/api/v0/version", timeout=10)  # the RPC API is POST only
    assert get.status_code == 405 and get.headers["allow"] == "OPTIONS, POST"

    ident = rpc(node.api_url, "id").json()
    assert ident["Addresses"] == []  # no swarm listener: Addresses.Swarm = []
    assert ident["AgentVersion"] == "js-ipfs/0.18.1"
    config = json.loads((node.repo_dir / "config").read_text())
    assert config["Addresses"]["Swarm"] == [] and config["Bootstrap"] == []
    assert config["Addresses"]["API"] == node.api_multiaddr


def test_js_node_repo_starts_empty_and_its_gateway_serves(js_ipfs_node: JsIpfsNode, store: EmbeddedStore) -> None:
    """``init --empty-repo``: no readme, no pins of its own (a pin/ls shows only what tests added)."""
    stat = rpc(js_ipfs_node.api_url, "repo/stat").json()
    assert set(stat) == {"NumObjects", "RepoSize", "RepoPath", "Version", "StorageMax"}
    assert stat["RepoPath"] == str(js_ipfs_node.repo_dir)
    for cid in ("QmRaaUwTNfwgFZpeUy8qrZwrp2dY4kCKmmB5xEqvH3vtD1", "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"):
        assert is_pinned(js_ipfs_node.api_url, cid) is None  # what a non-empty init pins

    node = store.add_bytes(b"served by the gateway\n")
    rpc(js_ipfs_node.api_url, "dag/import", files=car_file(car_bytes(store, node.cid))).raise_for_status()
    got = httpx2.get(f"{js_ipfs_node.gateway_url}/ipfs/{node.cid}", timeout=10)
    assert got.status_code == 200 and got.content == b"served by the gateway\n"


def _fake_jsipfs(tmp_path: Path, script: str) -> Path:
    binary = tmp_path / "fake-jsipfs"
    binary.write_text(f"#!/bin/sh\n{script}\n")
    binary.chmod(0o755)
    return binary


def test_start_reports_a_failed_init_a_dead_daemon_and_a_deadline(tmp_path: Path) -> None:
    """No daemon needed: a stand-in binary shows what ``start`` raises, with the daemon's stderr."""
    failing_init = JsIpfsNode(tmp_path / "a", binary=_fake_jsipfs(tmp_path, 'echo "init broke" >&2; exit 3'))
    with pytest.raises(JsIpfsNodeError, match=r"`jsipfs init` failed \(exit 3\):\ninit broke"):
        failing_init.start()

    configured = tmp_path / "b"
    configured.mkdir()
    (configured / "config").write_text(json.dumps({"Addresses": {"Swarm": ["/ip4/0.0.0.0/tcp/4002"]}}))
    dying = JsIpfsNode(configured, binary=_fake_jsipfs(tmp_path, 'echo "daemon broke: $IPFS_PATH" >&2; exit 4'))
    with pytest.raises(JsIpfsNodeError, match=r"exited \(code 4\)[\s\S]*daemon broke: " + str(configured)):
        dying.start()
    assert not dying.running
    config = json.loads((configured / "config").read_text())["Addresses"]
    gateway = f"/ip4/127.0.0.1/tcp/{dying.ports['gateway']}"
    assert config == {"Swarm": [], "API": dying.api_multiaddr, "Gateway": gateway}  # RPC only where init put one

    sleeper = _fake_jsipfs(tmp_path, 'echo "waiting" >&2; exec sleep 60')
    hanging = JsIpfsNode(configured, binary=sleeper, start_timeout=1)
    started = time.monotonic()
    with pytest.raises(JsIpfsNodeError, match=r"did not answer within 1s[\s\S]*waiting"):
        hanging.start()
    assert time.monotonic() - started < 10
    assert not hanging.running  # killed on the way out


def test_ipfshttpclient_client_works(kubo_api: IpfsApi, store: EmbeddedStore) -> None:
    if kubo_api.multiaddr is None:
        pytest.skip("no multiaddr for this API URL")
    client = ipfshttpclient.Client(kubo_api.multiaddr + "/http", timeout=10)
    version = client.version()
    if kubo_api.kind == "js-ipfs":
        assert version["Version"] == "0.18.1"
    data = f"ipfshttpclient path {time.time_ns()}\n".encode()
    ours = store.add_bytes(data).cid
    cid = client.add_bytes(data)
    assert cid == str(ours)  # plain `ipfs add`: CIDv0, the project's default profile
    assert client.cat(cid) == data
    assert cid in client.pin.ls(type="recursive")["Keys"]  # add pins
    assert client.pin.rm(cid)["Pins"] == [cid]
    assert cid not in client.pin.ls(type="recursive")["Keys"]
    assert client.pin.add(cid)["Pins"] == [cid]
    assert client.pin.ls(type="recursive")["Keys"][cid]["Type"] == "recursive"
    assert client.block.stat(cid) == {"Key": cid, "Size": len(store.blocks.get(ours))}
    assert client.block.get(cid) == store.blocks.get(ours)
    client.close()


def test_ipfshttpclient_also_takes_the_bare_multiaddr(js_ipfs_node: JsIpfsNode) -> None:
    assert ipfshttpclient.Client(js_ipfs_node.api_multiaddr, timeout=10).version()["Version"] == "0.18.1"


def test_ipfshttpclient_connect_rejects_the_version(js_ipfs_node: JsIpfsNode) -> None:
    """``connect()`` checks the version: outside 0.5.0 ≤ v < 0.9.0 it warns VersionMismatch (a
    Warning), which ``filterwarnings = error`` turns into a raise; use ``Client(addr)``."""
    with pytest.warns(ipfshttpclient.exceptions.VersionMismatch, match="Unsupported daemon version '0.18.1'"):
        ipfshttpclient.connect(js_ipfs_node.api_multiaddr + "/http").close()


# -- 2. dag/import ---------------------------------------------------------------------------------
def test_dag_import_pins_our_cidv0_root(kubo_api: IpfsApi, store: EmbeddedStore) -> None:
    data = f"dag import v0 {kubo_api.kind} {time.time_ns()}\n".encode()
    node = store.add_bytes(data)
    r = rpc(kubo_api, "dag/import", files=car_file(car_bytes(store, node.cid)))
    assert r.status_code == 200
    assert ndjson(r) == [{"Root": {"Cid": {"/": str(node.cid)}, "PinErrorMsg": ""}}]
    assert str(node.cid).startswith("Qm")
    assert is_pinned(kubo_api, node.cid) == "recursive"  # pin-roots defaults to true
    assert rpc(kubo_api, "cat", {"arg": str(node.cid)}).content == data


def test_dag_import_a_directory(kubo_api: IpfsApi, store: EmbeddedStore, tree: Path) -> None:
    added = store.add_path(tree, recursive=True)
    r = rpc(kubo_api, "dag/import", files=car_file(car_bytes(store, added.cid)))
    assert ndjson(r) == [{"Root": {"Cid": {"/": str(added.cid)}, "PinErrorMsg": ""}}]
    assert is_pinned(kubo_api, added.cid) == "recursive"
    links = rpc(kubo_api, "ls", {"arg": str(added.cid)}).json()["Objects"][0]["Links"]
    assert [link["Name"] for link in links] == ["f0.txt", "f1.txt", "f2.txt", "f3.txt", "sub"]
    big = rpc(kubo_api, "cat", {"arg": f"/ipfs/{added.cid}/sub/big.bin"}).content
    assert big == (tree / "sub" / "big.bin").read_bytes()


def test_dag_import_cidv1_root_is_reported_in_base32(kubo_api: IpfsApi, tmp_path: Path, tree: Path) -> None:
    with EmbeddedStore(tmp_path / "v1", options=ImportOptions.profile("unixfs-v1-2025")) as v1:
        file_node = v1.add_bytes(f"v1 file {time.time_ns()}\n".encode())
        dir_node = v1.add_path(tree, recursive=True)
        for cid in (file_node.cid, dir_node.cid):
            r = rpc(kubo_api, "dag/import", files=car_file(car_bytes(v1, cid)))
            assert ndjson(r) == [{"Root": {"Cid": {"/": str(cid)}, "PinErrorMsg": ""}}]
            assert str(cid).startswith("bafk" if cid.codec == RAW else "bafy")
            assert is_pinned(kubo_api, cid) == "recursive"
        if kubo_api.kind == "js-ipfs":  # js-ipfs's dag/import has no cid-base: the root stays base32
            r = rpc(kubo_api, "dag/import", {"cid-base": "base58btc"}, files=car_file(car_bytes(v1, file_node.cid)))
            assert ndjson(r)[0]["Root"]["Cid"]["/"] == str(file_node.cid)


def test_dag_import_takes_a_streamed_chunked_body(kubo_api: IpfsApi, store: EmbeddedStore) -> None:
    node = store.add_bytes(f"streamed {time.time_ns()}\n".encode() * 2000)
    car = car_bytes(store, node.cid)
    boundary = "hf-ipfs-scraper-boundary"

    def body() -> Iterator[bytes]:
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="s.car"\r\n'
            "Content-Type: application/vnd.ipld.car\r\n\r\n"
        ).encode()
        for i in range(0, len(car), 4096):
            yield car[i : i + 4096]
        yield f"\r\n--{boundary}--\r\n".encode()

    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    r = rpc(kubo_api, "dag/import", content=body(), headers=headers)
    assert r.request.headers["transfer-encoding"] == "chunked" and "content-length" not in r.request.headers
    assert ndjson(r) == [{"Root": {"Cid": {"/": str(node.cid)}, "PinErrorMsg": ""}}]
    assert is_pinned(kubo_api, node.cid) == "recursive"


def test_dag_import_pin_roots_false_stores_without_pinning(kubo_api: IpfsApi, store: EmbeddedStore) -> None:
    node = store.add_bytes(f"unpinned import {time.time_ns()}\n".encode())
    r = rpc(kubo_api, "dag/import", {"pin-roots": "false"}, files=car_file(car_bytes(store, node.cid)))
    assert r.status_code == 200
    if kubo_api.kind == "js-ipfs":
        assert r.text == ""  # no Root lines at all without pinning
    assert is_pinned(kubo_api, node.cid) is None
    assert rpc(kubo_api, "block/stat", {"arg": str(node.cid)}).json()["Key"] == str(node.cid)


def test_js_dag_import_response_headers_and_errors(js_ipfs_node: JsIpfsNode, store: EmbeddedStore) -> None:
    api = js_ipfs_node.api_url
    node = store.add_bytes(b"headers of dag/import\n")
    r = rpc(api, "dag/import", files=car_file(car_bytes(store, node.cid)))
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert r.headers["transfer-encoding"] == "chunked" and r.headers["x-chunked-output"] == "1"
    assert r.headers["trailer"] == "X-Stream-Error"

    no_file = rpc(api, "dag/import")
    assert no_file.status_code == 400
    assert error_message(no_file) == "Failed to import DAG: File argument 'data' is required."
    not_car = rpc(api, "dag/import", files=car_file(b"not a CAR"))
    assert not_car.status_code == 500 and error_message(not_car).startswith("Failed to import DAG: ")


def test_js_dag_import_does_not_verify_blocks(js_ipfs_node: JsIpfsNode, store: EmbeddedStore) -> None:
    """A block whose bytes do not hash to its CID is stored and served as is (Kubo rejects it):
    what reaches js-ipfs must be verified first."""
    node = store.add_bytes(f"to be corrupted {time.time_ns()}\n".encode())
    car = bytearray(car_bytes(store, node.cid))
    car[-3] ^= 0xFF
    r = rpc(js_ipfs_node.api_url, "dag/import", files=car_file(bytes(car)))
    assert ndjson(r) == [{"Root": {"Cid": {"/": str(node.cid)}, "PinErrorMsg": ""}}]
    served = rpc(js_ipfs_node.api_url, "block/get", {"arg": str(node.cid)}).content
    assert served != store.blocks.get(node.cid) and CID.hash_block(served, version=0) != node.cid


def test_js_dag_import_reports_a_root_missing_from_the_car(js_ipfs_node: JsIpfsNode, store: EmbeddedStore) -> None:
    node = store.add_bytes(f"a block {time.time_ns()}\n".encode())
    missing = CID.hash_block(f"the root, not in the CAR {time.time_ns()}".encode(), version=0)
    buf = io.BytesIO()
    write_car(buf, [missing], [(node.cid, store.blocks.get(node.cid))])
    r = rpc(js_ipfs_node.api_url, "dag/import", files=car_file(buf.getvalue()))
    assert r.status_code == 200
    assert ndjson(r) == [{"Root": {"Cid": {"/": str(missing)}, "PinErrorMsg": "blockstore: block not found"}}]
    assert is_pinned(js_ipfs_node.api_url, missing) is None


def test_js_dag_import_of_an_incomplete_dag_hangs_pinning_it(js_ipfs_node: JsIpfsNode, store: EmbeddedStore) -> None:
    """Root present, children absent: pinning the root walks the DAG and waits for the children
    forever; ``timeout=`` ends it (blocks stay, unpinned); ``pin-roots=false`` imports at once."""
    node = store.add_bytes(f"incomplete {time.time_ns()}".encode() + bytes(range(256)) * 2000)  # root + 2 unique leaves
    buf = io.BytesIO()
    write_car(buf, [node.cid], [(node.cid, store.blocks.get(node.cid))])
    api = js_ipfs_node.api_url
    started = time.monotonic()
    r = rpc(api, "dag/import", {"timeout": "1s"}, files=car_file(buf.getvalue()))
    assert 0.9 < time.monotonic() - started < 5
    assert r.status_code == 500 and error_message(r) == "Failed to import DAG: request timed out"
    assert is_pinned(api, node.cid) is None
    assert rpc(api, "block/stat", {"arg": str(node.cid)}).status_code == 200  # the root block was stored
    assert rpc(api, "dag/import", {"pin-roots": "false"}, files=car_file(buf.getvalue())).text == ""
    with pytest.raises(httpx2.ReadTimeout):
        rpc(api, "pin/add", {"arg": str(node.cid)}, timeout=1.0)
    assert rpc(api, "pin/add", {"arg": str(node.cid), "recursive": "false"}).json() == {"Pins": [str(node.cid)]}
    assert is_pinned(api, node.cid) == "direct"


# -- 3. pins ---------------------------------------------------------------------------------------
def test_pin_add_ls_rm(kubo_api: IpfsApi, store: EmbeddedStore) -> None:
    node = store.add_bytes(f"pin me {time.time_ns()}\n".encode())
    rpc(kubo_api, "dag/import", {"pin-roots": "false"}, files=car_file(car_bytes(store, node.cid))).raise_for_status()
    cid = str(node.cid)
    assert rpc(kubo_api, "pin/add", {"arg": cid, "recursive": "true"}).json()["Pins"] == [cid]
    listed = rpc(kubo_api, "pin/ls", {"arg": cid, "type": "recursive"}).json()
    assert listed["Keys"][cid]["Type"] == "recursive"
    everything = rpc(kubo_api, "pin/ls", {"type": "recursive"}).json()["Keys"]
    assert everything[cid]["Type"] == "recursive"
    assert rpc(kubo_api, "pin/rm", {"arg": cid}).json()["Pins"] == [cid]
    not_pinned = rpc(kubo_api, "pin/ls", {"arg": cid})
    assert not_pinned.status_code == 500 and "is not pinned" in error_message(not_pinned)
    again = rpc(kubo_api, "pin/rm", {"arg": cid})
    assert again.status_code == 500 and "not pinned" in error_message(again)


def test_js_pins_carry_metadata_not_names(js_ipfs_node: JsIpfsNode, store: EmbeddedStore) -> None:
    """Kubo's ``pin/add?name=`` is silently ignored (unknown query parameters are stripped);
    js-ipfs takes ``metadata=<JSON object>`` and returns it as ``Metadata`` from pin/ls."""
    api = js_ipfs_node.api_url
    named = store.add_bytes(f"named pin {time.time_ns()}\n".encode(), pin=False)
    tagged = store.add_bytes(f"tagged pin {time.time_ns()}\n".encode(), pin=False)
    for n in (named, tagged):
        rpc(api, "dag/import", {"pin-roots": "false"}, files=car_file(car_bytes(store, n.cid))).raise_for_status()
    assert rpc(api, "pin/add", {"arg": str(named.cid), "name": "my-name"}).status_code == 200
    assert rpc(api, "pin/ls", {"arg": str(named.cid), "names": "true"}).json() == {
        "Keys": {str(named.cid): {"Type": "recursive"}}
    }
    meta = {"name": "my-name", "repo": "org/model"}
    added = rpc(api, "pin/add", {"arg": str(tagged.cid), "metadata": json.dumps(meta)})
    assert added.json() == {"Pins": [str(tagged.cid)]}
    assert rpc(api, "pin/ls", {"arg": str(tagged.cid)}).json() == {
        "Keys": {str(tagged.cid): {"Type": "recursive", "Metadata": meta}}
    }
    assert rpc(api, "pin/ls", {"type": "recursive"}).json()["Keys"][str(tagged.cid)]["Metadata"] == meta
    # stream=true: NDJSON, one {"Type", "Cid"[, "Metadata"]} per pin
    r = rpc(api, "pin/ls", {"type": "recursive", "stream": "true"})
    assert r.headers["x-chunked-output"] == "1"
    rows = {row["Cid"]: row for row in ndjson(r)}
    assert rows[str(tagged.cid)] == {"Type": "recursive", "Cid": str(tagged.cid), "Metadata": meta}
    assert rows[str(named.cid)] == {"Type": "recursive", "Cid": str(named.cid)}
    bad = rpc(api, "pin/add", {"arg": "not-a-cid"})
    assert bad.status_code == 400 and error_message(bad) == "Invalid request query input"


def test_js_cidv1_output_is_base58btc_and_base32_fails_on_v0(js_ipfs_node: JsIpfsNode, store: EmbeddedStore) -> None:
    """pin/add, pin/rm, pin/ls, block/stat print CIDv1 in base58btc (``z...``; Kubo: base32), CIDv0
    as ``Qm...``; block/put and dag/import print CIDv1 in base32. ``cid-base=base32`` turns CIDv1
    into base32 but fails the whole request (HTTP 500) if a CIDv0 is to be printed: never send it,
    parse what comes back (``CID.parse`` reads all three forms)."""
    api = js_ipfs_node.api_url
    data = f"v1 bases {time.time_ns()}\n".encode()
    cid = CID.hash_block(data, codec=RAW)
    base58 = "z" + multibase.b58encode(bytes(cid))
    put = rpc(api, "block/put", {"format": "raw"}, files={"data": ("d", data)})
    assert put.json() == {"Key": str(cid), "Size": len(data)}
    assert rpc(api, "pin/add", {"arg": str(cid)}).json() == {"Pins": [base58]}
    assert rpc(api, "pin/add", {"arg": str(cid), "cid-base": "base32"}).json() == {"Pins": [str(cid)]}
    assert list(rpc(api, "pin/ls", {"arg": str(cid)}).json()["Keys"]) == [base58]
    assert list(rpc(api, "pin/ls", {"arg": str(cid), "cid-base": "base32"}).json()["Keys"]) == [str(cid)]
    assert rpc(api, "block/stat", {"arg": str(cid)}).json()["Key"] == base58
    assert rpc(api, "block/stat", {"arg": str(cid), "cid-base": "base32"}).json()["Key"] == str(cid)
    assert CID.parse(base58) == cid

    v0 = store.add_bytes(f"a v0 pin {time.time_ns()}\n".encode()).cid
    rpc(api, "dag/import", files=car_file(car_bytes(store, v0))).raise_for_status()
    for endpoint, params in (
        ("pin/ls", {"cid-base": "base32"}),  # (with stream=true: 200, cut where the first v0 comes)
        ("pin/ls", {"arg": str(v0), "cid-base": "base32"}),
        ("block/stat", {"arg": str(v0), "cid-base": "base32"}),
    ):
        r = rpc(api, endpoint, params)
        assert r.status_code == 500 and error_message(r) == "Cannot string encode V0 in base32 encoding", endpoint
    assert list(rpc(api, "pin/ls", {"arg": str(v0)}).json()["Keys"]) == [str(v0)]
    assert rpc(api, "pin/rm", {"arg": str(cid)}).json() == {"Pins": [base58]}


# -- 4. a CID the daemon lacks ---------------------------------------------------------------------
def test_js_absent_cid_hangs_and_offline_is_ignored(js_ipfs_node: JsIpfsNode) -> None:
    """An offline js-ipfs asked for a block it lacks waits forever (no "not found"); Kubo's
    ``offline=true`` is ignored. Only a timeout ends it."""
    api, arg = js_ipfs_node.api_url, str(ABSENT)
    client = ipfshttpclient.Client(js_ipfs_node.api_multiaddr + "/http")
    outcomes = concurrently(
        {
            "block/stat": lambda: rpc(api, "block/stat", {"arg": arg}, timeout=1.5),
            "block/stat offline": lambda: rpc(api, "block/stat", {"arg": arg, "offline": "true"}, timeout=1.5),
            "block/get": lambda: rpc(api, "block/get", {"arg": arg}, timeout=1.5),
            "cat": lambda: rpc(api, "cat", {"arg": arg}, timeout=1.5),
            "pin/add": lambda: rpc(api, "pin/add", {"arg": arg}, timeout=1.5),
            "ipfshttpclient": lambda: client.block.stat(arg, timeout=1.5),
        }
    )
    for name, (outcome, _elapsed) in outcomes.items():
        expected = ipfshttpclient.exceptions.TimeoutError if name == "ipfshttpclient" else httpx2.ReadTimeout
        assert isinstance(outcome, expected), (name, outcome)
    assert is_pinned(api, ABSENT) is None


def test_timeout_query_parameter_ends_the_wait(kubo_api: IpfsApi) -> None:
    """The global ``timeout=`` parameter works on both: HTTP 500 after it (js-ipfs: "...: request
    timed out"); via ipfshttpclient, ``opts={"timeout": "1s"}`` → ErrorResponse."""
    arg = str(ABSENT)
    calls: dict[str, Callable[[], Any]] = {
        ep: functools.partial(rpc, kubo_api, ep, {"arg": arg, "timeout": "1s"}, timeout=15)
        for ep in ("block/stat", "block/get", "cat", "pin/add")
    }
    if kubo_api.multiaddr is not None:
        client = ipfshttpclient.Client(kubo_api.multiaddr + "/http", timeout=15)
        calls["ipfshttpclient"] = lambda: client.block.stat(arg, opts={"timeout": "1s"})
    outcomes = concurrently(calls)
    js_messages = {
        "block/stat": "Failed to get block stats: request timed out",
        "block/get": "Failed to get block: request timed out",
        "cat": "Failed to cat file: request timed out",
        "pin/add": "Failed to add pin: request timed out",
    }
    for name, (outcome, elapsed) in outcomes.items():
        assert 0.9 < elapsed < 10, (name, elapsed)
        if name == "ipfshttpclient":
            assert isinstance(outcome, ipfshttpclient.exceptions.ErrorResponse), outcome
            if kubo_api.kind == "js-ipfs":
                assert str(outcome) == js_messages["block/stat"]
            continue
        assert isinstance(outcome, httpx2.Response) and outcome.status_code == 500, (name, outcome)
        if kubo_api.kind == "js-ipfs":
            assert error_message(outcome) == js_messages[name]


def test_js_asking_whether_a_block_is_here(js_ipfs_node: JsIpfsNode) -> None:
    """No offline "have" endpoint answers "no" at once. ``refs/local`` lists every block (NDJSON
    ``{"Ref": ...}``), each as a raw-codec CIDv1 of its multihash — so compare multihashes; or ask
    ``block/stat`` with a short ``timeout``: present answers in milliseconds, absent gives HTTP 500."""
    api = js_ipfs_node.api_url
    data = f"here {time.time_ns()}\n".encode()
    put = rpc(api, "block/put", files={"data": ("d", data)}).json()  # dag-pb v0 by default
    here = CID.parse(put["Key"])
    refs = ndjson(rpc(api, "refs/local"))
    assert all(set(row) == {"Ref"} for row in refs)
    multihashes = {CID.parse(row["Ref"]).multihash for row in refs}
    assert all(row["Ref"].startswith("bafkrei") for row in refs)
    assert str(CID(1, RAW, here.multihash)) in {row["Ref"] for row in refs}
    assert here.multihash in multihashes and ABSENT.multihash not in multihashes

    started = time.monotonic()
    stat = rpc(api, "block/stat", {"arg": str(here), "timeout": "500ms"})
    assert stat.json() == {"Key": str(here), "Size": len(data)}
    assert time.monotonic() - started < 0.5
    absent = rpc(api, "block/stat", {"arg": str(ABSENT), "timeout": "500ms"})
    assert absent.status_code == 500 and error_message(absent).endswith("request timed out")


# -- 5. blocks, dag/export, repo/stat, keys and names ------------------------------------------
def test_block_put_raw_and_get(kubo_api: IpfsApi) -> None:
    data = f"one raw block {time.time_ns()}\n".encode()
    cid = CID.hash_block(data, codec=RAW)
    put = rpc(kubo_api, "block/put", {"format": "raw"}, files={"data": ("block", data)})
    assert put.json() == {"Key": str(cid), "Size": len(data)}
    got = rpc(kubo_api, "block/get", {"arg": str(cid)})
    assert got.content == data
    stat = rpc(kubo_api, "block/stat", {"arg": str(cid)}).json()
    assert CID.parse(stat["Key"]) == cid and stat["Size"] == len(data)
    if kubo_api.kind == "js-ipfs":
        assert got.headers["content-type"] == "application/octet-stream" and got.headers["x-stream-output"] == "1"
        assert is_pinned(kubo_api, cid) is None  # pin defaults to false


def test_js_block_put_defaults_to_dag_pb_cidv0(js_ipfs_node: JsIpfsNode) -> None:
    """Without ``format``, js-ipfs files any bytes as dag-pb CIDv0 (Kubo's default is raw CIDv1);
    Kubo's newer ``cid-codec=raw`` is ignored: send ``format=raw``."""
    api = js_ipfs_node.api_url
    data = f"not dag-pb at all {time.time_ns()}\n".encode()
    v0 = CID.hash_block(data, version=0)
    assert rpc(api, "block/put", files={"data": ("d", data)}).json() == {"Key": str(v0), "Size": len(data)}
    assert rpc(api, "block/put", {"cid-codec": "raw"}, files={"data": ("d", data)}).json()["Key"] == str(v0)
    raw = rpc(api, "block/put", {"format": "raw"}, files={"data": ("d", data)}).json()
    assert raw["Key"] == str(CID(1, RAW, v0.multihash))


def test_dag_export_streams_our_car(kubo_api: IpfsApi, store: EmbeddedStore, tree: Path) -> None:
    added = store.add_path(tree, recursive=True)
    ours = car_bytes(store, added.cid)
    rpc(kubo_api, "dag/import", files=car_file(ours)).raise_for_status()
    r = rpc(kubo_api, "dag/export", {"arg": str(added.cid)})
    assert r.status_code == 200
    reader = CarReader(io.BytesIO(r.content))
    assert reader.roots == [added.cid]
    assert {cid for cid, _ in reader} == {cid for cid, _ in CarReader(io.BytesIO(ours))}
    if kubo_api.kind == "js-ipfs":
        assert r.content == ours  # same block order, byte for byte
        assert r.headers["content-type"] == "application/json; charset=utf-8"  # sic: it is a CAR
        assert r.headers["transfer-encoding"] == "chunked"


def test_js_a_stream_that_fails_midway_is_a_200_with_the_error_in_a_trailer(
    js_ipfs_node: JsIpfsNode, store: EmbeddedStore
) -> None:
    """Once a streamed answer (dag/export, dag/import, pin/ls?stream=true, refs...) has begun, an
    error can only go into the ``X-Stream-Error`` HTTP trailer: the client sees HTTP 200 and a body
    that just ends. Here dag/export of a DAG whose leaves are absent: header and root, then cut."""
    node = store.add_bytes(f"cut short {time.time_ns()}".encode() + bytes(range(256)) * 2000)  # root + 2 unique leaves
    root_block = store.blocks.get(node.cid)
    buf = io.BytesIO()
    write_car(buf, [node.cid], [(node.cid, root_block)])
    api = js_ipfs_node.api_url
    rpc(api, "dag/import", {"pin-roots": "false"}, files=car_file(buf.getvalue())).raise_for_status()

    r = rpc(api, "dag/export", {"arg": str(node.cid), "timeout": "1s"})
    assert r.status_code == 200 and r.headers["trailer"] == "X-Stream-Error"
    assert r.content == buf.getvalue()  # the header and the root block, nothing after
    target = f"/api/v0/dag/export?arg={node.cid}&timeout=1s"
    status, _headers, body, trailers = raw_post(js_ipfs_node.ports["api"], target)
    assert status == 200 and body == buf.getvalue()
    assert json.loads(trailers["x-stream-error"]) == {"Message": "Failed to export DAG: request timed out", "Code": 0}
    with pytest.raises(httpx2.ReadTimeout):  # and without a timeout it stops after the root, for ever
        rpc(api, "dag/export", {"arg": str(node.cid)}, timeout=1.0)


def test_repo_stat(kubo_api: IpfsApi) -> None:
    stat = rpc(kubo_api, "repo/stat").json()
    assert {"NumObjects", "RepoSize", "RepoPath", "Version", "StorageMax"} <= set(stat)
    if kubo_api.kind == "js-ipfs":  # numbers as decimal strings (Kubo: JSON numbers)
        assert all(isinstance(stat[k], str) and stat[k].isdigit() for k in ("NumObjects", "RepoSize", "StorageMax"))
        assert stat["Version"] == "12"
    assert int(stat["NumObjects"]) >= 0 and int(stat["RepoSize"]) > 0


def test_js_keys_and_names_work_offline(js_ipfs_node: JsIpfsNode, store: EmbeddedStore) -> None:
    api = js_ipfs_node.api_url
    node = store.add_bytes(f"published {time.time_ns()}\n".encode())
    rpc(api, "dag/import", files=car_file(car_bytes(store, node.cid))).raise_for_status()
    name = f"k{time.time_ns()}"
    key = rpc(api, "key/gen", {"arg": name, "type": "ed25519"}).json()
    assert set(key) == {"Name", "Id"} and key["Name"] == name and key["Id"].startswith("12D3KooW")
    listed = rpc(api, "key/list").json()["Keys"]
    assert listed.count({"Name": name, "Id": key["Id"]}) == 2  # sic: js-ipfs lists every key twice
    self_id = rpc(api, "id").json()["ID"]
    for key_name, key_id in ((name, key["Id"]), ("self", self_id)):
        published = rpc(api, "name/publish", {"arg": f"/ipfs/{node.cid}", "key": key_name, "allow-offline": "true"})
        assert published.json() == {"Name": key_id, "Value": f"/ipfs/{node.cid}"}
        for arg in (f"/ipns/{key_id}", key_id):
            assert rpc(api, "name/resolve", {"arg": arg}).json() == {"Path": f"/ipfs/{node.cid}"}
    no_arg = rpc(api, "name/resolve")
    assert no_arg.status_code == 500  # resolving "self" needs the /ipns/<id> form


def test_js_error_shapes(js_ipfs_node: JsIpfsNode) -> None:
    unknown = rpc(js_ipfs_node.api_url, "no/such/endpoint")
    assert unknown.status_code == 404 and unknown.json() == {"Message": "Not Found", "Code": 3, "Type": "error"}
    with pytest.raises(ipfshttpclient.exceptions.ErrorResponse, match="Invalid request query input"):
        ipfshttpclient.Client(js_ipfs_node.api_multiaddr + "/http", timeout=10).block.stat("not-a-cid")


# -- 6. a daemon that dies -------------------------------------------------------------------------
def test_killed_daemon_restarts_with_its_pins_and_blocks(
    fresh_js_ipfs_node: JsIpfsNode, store: EmbeddedStore, tree: Path
) -> None:
    node = fresh_js_ipfs_node
    api, ports, old_pid = node.api_url, dict(node.ports), node.pid
    added = store.add_path(tree, recursive=True)
    rpc(api, "dag/import", files=car_file(car_bytes(store, added.cid))).raise_for_status()
    raw = b"a raw block that survives\n"
    raw_cid = CID.hash_block(raw, codec=RAW)
    rpc(api, "block/put", {"format": "raw"}, files={"data": ("d", raw)}).raise_for_status()
    rpc(api, "pin/add", {"arg": str(raw_cid), "metadata": '{"name": "raw"}'}).raise_for_status()
    loose = CID.hash_block(b"an unpinned block\n", version=0)
    rpc(api, "block/put", files={"data": ("d", b"an unpinned block\n")}).raise_for_status()

    # requests in flight when the daemon dies end at once, as protocol errors
    client = ipfshttpclient.Client(node.api_multiaddr + "/http", timeout=20)
    with ThreadPoolExecutor(2) as pool:
        in_flight = {
            "httpx2": pool.submit(rpc, api, "block/stat", {"arg": str(ABSENT)}, timeout=20),
            "ipfshttpclient": pool.submit(client.block.stat, str(ABSENT)),
        }
        time.sleep(0.5)
        killed = time.monotonic()
        node.kill()
        errors = {name: f.exception(10) for name, f in in_flight.items()}
    assert time.monotonic() - killed < 5
    assert isinstance(errors["httpx2"], httpx2.RemoteProtocolError), errors
    assert isinstance(errors["ipfshttpclient"], ipfshttpclient.exceptions.ProtocolError), errors
    assert not node.running
    assert (node.repo_dir / LOCK_NAME).is_dir()  # left behind by SIGKILL

    # a killed daemon refuses connections at once
    started = time.monotonic()
    with pytest.raises(httpx2.ConnectError):
        rpc(api, "version")
    with pytest.raises(ipfshttpclient.exceptions.ConnectionError):
        client.version()
    assert time.monotonic() - started < 2

    node.restart()
    assert node.running and node.pid != old_pid and node.ports == ports and node.api_url == api
    assert is_pinned(api, added.cid) == "recursive"
    assert is_pinned(api, raw_cid) == "recursive"
    raw_pin = rpc(api, "pin/ls", {"arg": str(raw_cid)}).json()["Keys"]
    assert list(raw_pin.values()) == [{"Type": "recursive", "Metadata": {"name": "raw"}}]
    assert rpc(api, "cat", {"arg": f"/ipfs/{added.cid}/sub/big.bin"}).content == (tree / "sub" / "big.bin").read_bytes()
    assert rpc(api, "block/get", {"arg": str(raw_cid)}).content == raw
    assert rpc(api, "block/stat", {"arg": str(loose)}).status_code == 200  # unpinned blocks too (no GC ran)
    client.close()


def test_stop_is_clean_and_a_held_repo_is_refused(fresh_js_ipfs_node: JsIpfsNode) -> None:
    node = fresh_js_ipfs_node
    # a second node object on the repo reads the same ports from its config: refused before spawning
    same_ports = JsIpfsNode(node.repo_dir)
    assert same_ports.ports == node.ports
    with pytest.raises(JsIpfsNodeError, match="already in use"):
        same_ports.start()
    assert same_ports.pid is None
    # on ports of its own, js-ipfs refuses the held repo lock (and exits with code 0), and start says why
    intruder = JsIpfsNode(node.repo_dir, ports=dict(zip(("api", "gateway", "rpc"), _free_ports(3))), start_timeout=30)
    with pytest.raises(JsIpfsNodeError, match=r"exited \(code 0\)[\s\S]*Lock already being held"):
        intruder.start()
    assert not intruder.running
    assert rpc(node.api_url, "version").status_code == 200  # the first is untouched

    pid = node.pid
    node.stop()  # SIGTERM: a clean shutdown releases the lock and removes the api file
    assert not node.running and node.pid == pid
    assert not (node.repo_dir / LOCK_NAME).exists() and not (node.repo_dir / "api").exists()
    with pytest.raises(httpx2.ConnectError):
        rpc(node.api_url, "version")
    node.stop()  # idempotent
