"""The trustless gateway (``serve --gateway``, ``web/gateway.py`` over ``ipfs/trustless.py``), over a
real uvicorn server: every CAR is read back with the verifying ``CarReader`` and the file or
directory is read from the CAR's blocks alone, so what is checked is what a client that trusts
nobody could do with the answer.

The archive is an embedded store filled here (plus an empty state database, which ``Catalog``
needs): a 3 MB file (12 chunks of the default chunker), a deep DAG (1000-byte chunks, 4 links per
node), a file of zeros (identical leaves), a raw-leaves file, a nested directory holding a
HAMT-sharded one, and a file with a leaf deleted.
"""

from __future__ import annotations

import io
import random
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest

from hf_ipfs_scraper import CID, EmbeddedStore, ImportOptions
from hf_ipfs_scraper.ipfs import dagpb, reader, unixfs
from hf_ipfs_scraper.ipfs.car import CarReader
from hf_ipfs_scraper.ipfs.cid import DAG_PB, RAW, block_matches
from hf_ipfs_scraper.state import StateStore
from hf_ipfs_scraper.web.app import create_app
from tests.test_web_hub import CLI, ServerThread

CAR_N = "application/vnd.ipld.car; version=1; order=dfs; dups=n"
CAR_Y = "application/vnd.ipld.car; version=1; order=dfs; dups=y"
IMMUTABLE = "public, max-age=29030400, immutable"
HAMT_NAMES = [f"entry-{i:03d}.txt" for i in range(300)]


@dataclass
class Content:
    """What the archive holds, and what it should give back."""

    out: Path
    data: dict[str, bytes]  # the original bytes of each file, by name
    cids: dict[str, CID]  # files, directories and single blocks, by name
    walks: dict[str, list[CID]]  # ``BlockStore.walk`` of each: ``ipfs dag export`` order
    export: dict[str, bytes]  # ``EmbeddedStore.export_car`` of the directory and the big file
    hamt_nodes: set[CID]  # every shard node of the sharded directory
    shard_path: tuple[str, list[CID]]  # an entry under a sub-shard, and the shard nodes leading to it


@pytest.fixture(scope="module")
def content(tmp_path_factory: pytest.TempPathFactory) -> Content:
    out = tmp_path_factory.mktemp("gateway-archive")
    StateStore(out / "state.sqlite").close()
    rng = random.Random(7)
    data = {"big": rng.randbytes(3_000_000), "deep": rng.randbytes(100_000), "zeros": bytes(2_000_000),
            "rawleaves": rng.randbytes(600_000), "readme": b"hello gateway\n", "missing": rng.randbytes(800_000)}
    data |= {name: name.encode() * 3 for name in HAMT_NAMES}
    cids: dict[str, CID] = {}
    with EmbeddedStore(out / "ipfs") as store, store.writing():
        options = {"deep": ImportOptions(chunk_size=1000, max_links=4),
                   "rawleaves": ImportOptions(cid_version=1, raw_leaves=True)}
        nodes = {name: store.add_file(io.BytesIO(blob), options=options.get(name)) for name, blob in data.items()}
        cids |= {name: node.cid for name, node in nodes.items()}
        files = {"readme.txt": nodes["readme"], "sub/file.bin": nodes["big"], "sub/deep/deep.bin": nodes["deep"]}
        files |= {f"many/{name}": nodes[name] for name in HAMT_NAMES}
        directory = store.add_directory(files, options=ImportOptions(shard_threshold=1000))
        cids["dir"] = directory.cid
        cids["sub"] = store.resolve(f"{directory.cid}/sub")
        cids["many"] = store.resolve(f"{directory.cid}/many")
        cids["raw leaf"] = store.blocks.links(cids["rawleaves"])[0]
        for name in ("dir", "big", "deep", "zeros", "rawleaves", "readme", "missing"):
            store.pin(cids[name])
        walks = {name: list(store.blocks.walk(cids[name])) for name in ("dir", "big", "deep", "zeros", "many")}
        export = {}
        for name in ("dir", "big"):
            buf = io.BytesIO()
            store.export_car(cids[name], buf)
            export[name] = buf.getvalue()
        hamt_nodes = {cid for cid in walks["many"] if _unixfs_type(store.blocks.get(cid)) == unixfs.HAMT_SHARD}
        assert _unixfs_type(store.blocks.get(cids["many"])) == unixfs.HAMT_SHARD
        shard_path = ("", [])
        for name in HAMT_NAMES:  # the first entry whose lookup passes through a sub-shard
            read: list[CID] = []
            reader.resolve(recording(store.blocks.get, read), cids["many"], name)
            if len(read) > 1:
                shard_path = (name, read)
                break
        store.blocks.delete(store.blocks.links(cids["missing"])[1])  # its second leaf: a stream must stop there
    assert len(hamt_nodes) > 1 and len(set(walks["zeros"])) == 3  # sub-shards; root + 2 distinct leaves
    assert len(shard_path[1]) > 1
    return Content(out, data, cids, walks, export, hamt_nodes, shard_path)


def _unixfs_type(block: bytes) -> int | None:
    node = dagpb.decode(block)
    return unixfs.decode(node.data).type if node.data else None


@pytest.fixture(scope="module")
def server(content: Content) -> Iterator[ServerThread]:
    with ServerThread(create_app(content.out, gateway=True)) as running:
        yield running


@pytest.fixture
def client(server: ServerThread) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=server.url, timeout=30) as http:
        yield http


def read_car(body: bytes) -> tuple[list[CID], list[tuple[CID, bytes]]]:
    """Roots and blocks of a CAR, each block verified against its CID by ``CarReader``."""
    car = CarReader(io.BytesIO(body))
    return car.roots, list(car)


def car_of(client: httpx2.Client, url: str, **params: str) -> list[tuple[CID, bytes]]:
    response = client.get(url, params={"format": "car", **params})
    assert response.status_code == 200, (url, params, response.text)
    assert response.headers["Content-Type"] == (CAR_Y if params.get("car-dups") == "y" else CAR_N)
    roots, blocks = read_car(response.content)
    assert roots == [CID.parse(url.split("/")[2])]  # the request's CID, whatever the path
    return blocks


def read_range(blocks: list[tuple[CID, bytes]], cid: CID, start: int, length: int | None) -> bytes:
    """Bytes of a file read from these blocks only (a missing one is a KeyError)."""
    return b"".join(reader.iter_file(dict(blocks).__getitem__, cid, start, length))


def recording(get_block: Callable[[CID], bytes], read: list[CID]) -> Callable[[CID], bytes]:
    """``get_block`` that also appends each CID it is asked for to ``read``."""
    def get(cid: CID) -> bytes:
        read.append(cid)
        return get_block(cid)

    return get


def blocks_read_by_cat(content: Content, cid: CID, start: int, length: int | None) -> list[CID]:
    """The blocks ``ipfs cat -o -l`` reads, in order: the minimal set proving that span."""
    read: list[CID] = []
    with EmbeddedStore(content.out / "ipfs", readonly=True, create=False) as store:
        b"".join(reader.iter_file(recording(store.blocks.get, read), cid, start, length))
    return read


# -- raw blocks ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["big", "raw leaf"])
def test_raw_block_hashes_to_its_cid_with_the_specs_headers(content, client, name) -> None:
    cid = content.cids[name]
    assert cid.codec == (DAG_PB if name == "big" else RAW)
    response = client.get(f"/ipfs/{cid}", params={"format": "raw"})
    assert response.status_code == 200 and block_matches(cid, response.content)
    if name == "raw leaf":
        assert response.content == content.data["rawleaves"][:262_144]
    headers = response.headers
    assert headers["Content-Type"] == "application/vnd.ipld.raw"
    assert headers["Content-Disposition"] == f'attachment; filename="{cid}.bin"'
    assert headers["ETag"] == f'"{cid}.raw"'
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Cache-Control"] == IMMUTABLE
    assert headers["X-Ipfs-Path"] == f"/ipfs/{cid}" and headers["X-Ipfs-Roots"] == str(cid)
    assert headers["Vary"] == "Accept" and headers["Content-Length"] == str(len(response.content))
    assert "Content-Location" not in headers  # the URL says its format
    by_accept = client.get(f"/ipfs/{cid}", headers={"Accept": "application/vnd.ipld.raw"})
    assert by_accept.content == response.content
    assert by_accept.headers["Content-Location"] == f"/ipfs/{cid}?format=raw"
    named = client.get(f"/ipfs/{cid}", params={"format": "raw", "filename": "blöck \"1\".bin"})
    assert named.headers["Content-Disposition"] == (
        "attachment; filename=\"bl_ck _1_.bin\"; filename*=UTF-8''bl%C3%B6ck%20%221%22.bin")


# -- whole DAGs and paths --------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["dir", "big"])
def test_dag_scope_all_is_dag_export_byte_for_byte_and_imports_to_the_original(content, client, tmp_path,
                                                                                name) -> None:
    cid = content.cids[name]
    for params in ({"format": "car"}, {"format": "car", "dag-scope": "all", "car-dups": "n", "car-order": "dfs",
                                       "car-version": "1"}):
        response = client.get(f"/ipfs/{cid}", params=params)
        assert response.status_code == 200 and response.content == content.export[name]
    headers = response.headers
    assert headers["Content-Type"] == CAR_N and headers["Content-Disposition"] == f'attachment; filename="{cid}.car"'
    assert headers["ETag"].startswith(f'W/"{cid}.car.') and headers["Cache-Control"] == IMMUTABLE
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Ipfs-Roots"] == str(cid)
    with EmbeddedStore(tmp_path / "fresh") as fresh:
        assert fresh.import_car(io.BytesIO(response.content)).roots == [cid]
        path = f"{cid}/sub/file.bin" if name == "dir" else str(cid)
        assert fresh.read_bytes(path) == content.data["big"]
        if name == "dir":
            assert fresh.read_bytes(f"{cid}/many/entry-123.txt") == content.data["entry-123.txt"]


def test_a_path_car_holds_the_directories_on_the_path_then_the_file(content, client) -> None:
    root, sub, big = content.cids["dir"], content.cids["sub"], content.cids["big"]
    response = client.get(f"/ipfs/{root}/sub/file.bin", params={"format": "car"})
    assert response.headers["X-Ipfs-Roots"] == f"{root},{sub},{big}"
    assert response.headers["X-Ipfs-Path"] == f"/ipfs/{root}/sub/file.bin"
    _, blocks = read_car(response.content)
    assert [cid for cid, _ in blocks] == [root, sub, *content.walks["big"]]  # nothing of readme.txt or deep/
    get = dict(blocks).__getitem__
    assert b"".join(reader.iter_file(get, reader.resolve(get, root, "sub/file.bin"))) == content.data["big"]
    deeper = car_of(client, f"/ipfs/{root}/sub/deep/deep.bin", **{"entity-bytes": "0:99"})
    assert read_range(deeper, reader.resolve(dict(deeper).__getitem__, root, "sub/deep/deep.bin"), 0, 100) == (
        content.data["deep"][:100])


def test_a_path_through_a_hamt_directory_sends_only_the_shards_it_passes(content, client) -> None:
    root = content.cids["dir"]
    name, shards = content.shard_path
    blocks = car_of(client, f"/ipfs/{root}/many/{name}")
    assert [cid for cid, _ in blocks] == [root, *shards, content.cids[name]]
    assert shards[0] == content.cids["many"] and len(shards) < len(content.hamt_nodes)
    get = dict(blocks).__getitem__
    assert b"".join(reader.iter_file(get, reader.resolve(get, root, f"many/{name}"))) == content.data[name]


@pytest.mark.parametrize(("name", "scope", "expected"), [
    ("dir", "block", ["dir"]), ("dir", "entity", ["dir"]), ("big", "block", ["big"]),
    ("big", "entity", "walk"), ("many", "block", ["many"]), ("many", "entity", "shards"),
])
def test_dag_scope_block_and_entity(content, client, name, scope, expected) -> None:
    url = f"/ipfs/{content.cids['dir']}/many" if name == "many" else f"/ipfs/{content.cids[name]}"
    cids = [cid for cid, _ in car_of(client, url, **{"dag-scope": scope})]
    prefix = [content.cids["dir"]] if name == "many" else []  # the block proving the path segment
    if expected == "walk":
        assert cids == content.walks[name]
    elif expected == "shards":  # every shard node, no entry: enough to list the directory
        assert cids[:1] == prefix and set(cids[1:]) == content.hamt_nodes and len(cids) == len(content.hamt_nodes) + 1
        blocks = car_of(client, url, **{"dag-scope": scope})
        assert [e.name for e in reader.list_dir(dict(blocks).__getitem__, content.cids["many"])] == HAMT_NAMES
    else:
        assert cids == prefix + [content.cids[n] for n in expected]


# -- entity-bytes ----------------------------------------------------------------------------------
BIG, DEEP = 3_000_000, 100_000
RANGES = [  # (file, entity-bytes, the bytes [start, stop) it names)
    ("big", "0:0", 0, 1), ("big", "0:999", 0, 1000), ("big", "300000:300100", 300_000, 300_101),
    ("big", "-1:*", BIG - 1, BIG), ("big", "-1024:*", BIG - 1024, BIG), ("big", "0:*", 0, BIG),
    ("big", "499:-200000", 499, BIG - 199_999), ("big", "-500000:-400001", BIG - 500_000, BIG - 400_000),
    ("big", "2900000:200000000", 2_900_000, BIG), ("big", "-9000000:10", 0, 11),
    ("deep", "0:0", 0, 1), ("deep", "0:999", 0, 1000), ("deep", "50000:50100", 50_000, 50_101),
    ("deep", "-1:*", DEEP - 1, DEEP), ("deep", "-1024:*", DEEP - 1024, DEEP), ("deep", "0:*", 0, DEEP),
    ("deep", "1499:-1500", 1499, DEEP - 1499), ("deep", "-5000:-4001", DEEP - 5000, DEEP - 4000),
    ("deep", "90000:200000000", 90_000, DEEP),
]


@pytest.mark.parametrize(("name", "spec", "start", "stop"), RANGES)
def test_entity_bytes_sends_exactly_the_blocks_of_the_range(content, client, name, spec, start, stop) -> None:
    cid, data = content.cids[name], content.data[name]
    assert len(data) == {"big": BIG, "deep": DEEP}[name]
    blocks = car_of(client, f"/ipfs/{cid}", **{"entity-bytes": spec})
    assert read_range(blocks, cid, start, stop - start) == data[start:stop]
    assert [c for c, _ in blocks] == blocks_read_by_cat(content, cid, start, stop - start)  # minimal, in order
    if spec != "0:*":
        assert len(blocks) < len(content.walks[name])
        intermediate = [c for c, b in blocks if c != cid and dagpb.decode(b).links]
        assert name == "big" or intermediate  # the deep DAG's inner nodes come along
    else:
        assert [c for c, _ in blocks] == content.walks[name]


def test_entity_bytes_outside_the_file_is_400_and_an_empty_range_is_the_root_block(content, client) -> None:
    big = content.cids["big"]
    for spec in ("3000000:*", "3000000:3000005", "0:-3000001", "-9000000:-3000001"):
        response = client.get(f"/ipfs/{big}", params={"format": "car", "entity-bytes": spec})
        assert response.status_code == 400 and "outside" in response.json()["error"], spec
    assert [c for c, _ in car_of(client, f"/ipfs/{big}", **{"entity-bytes": "-10:5"})] == [big]
    for spec in ("", "abc", "5:1", "-1:-5", "1:2:3", "*:5", "0x10:*"):
        response = client.get(f"/ipfs/{big}", params={"format": "car", "entity-bytes": spec})
        assert response.status_code == 400 and "entity-bytes" in response.json()["error"], spec
    # a directory has no bytes: the parameter is ignored, as the spec says (= dag-scope=entity)
    root = content.cids["dir"]
    assert [c for c, _ in car_of(client, f"/ipfs/{root}", **{"entity-bytes": "0:10"})] == [root]


# -- dups ------------------------------------------------------------------------------------------
def test_dups_y_repeats_a_block_each_time_the_walk_meets_it(content, client) -> None:
    zeros = content.cids["zeros"]
    once = car_of(client, f"/ipfs/{zeros}")
    every = car_of(client, f"/ipfs/{zeros}", **{"car-dups": "y"})
    assert [c for c, _ in once] == content.walks["zeros"] and len(once) == 3
    assert len(every) == 1 + 8 and len({c for c, _ in every}) == 3
    assert [c for c, _ in every].count(every[1][0]) == 7  # the seven full 256 KiB leaves of zeros
    assert read_range(every, zeros, 0, None) == read_range(once, zeros, 0, None) == content.data["zeros"]
    ranged = car_of(client, f"/ipfs/{zeros}", **{"car-dups": "y", "entity-bytes": "262144:786431"})
    assert len(ranged) == 1 + 2 and read_range(ranged, zeros, 262_144, 524_288) == bytes(524_288)
    by_accept = client.get(f"/ipfs/{zeros}", headers={"Accept": "application/vnd.ipld.car; dups=y"})
    assert by_accept.headers["Content-Type"] == CAR_Y and by_accept.content == client.get(
        f"/ipfs/{zeros}", params={"format": "car", "car-dups": "y"}).content
    assert by_accept.headers["Content-Location"] == f"/ipfs/{zeros}?format=car&car-dups=y"
    query_wins = client.get(f"/ipfs/{zeros}", params={"format": "car", "car-dups": "n"},
                            headers={"Accept": "application/vnd.ipld.car; dups=y"})
    assert query_wins.headers["Content-Type"] == CAR_N and len(read_car(query_wins.content)[1]) == 3
    assert by_accept.headers["ETag"] != query_wins.headers["ETag"]


# -- negotiation, errors, caching ------------------------------------------------------------------
@pytest.mark.parametrize(("accept", "expected"), [
    ("application/vnd.ipld.raw;q=0.5, application/vnd.ipld.car", "car"),
    ("application/vnd.ipld.car;q=0.1, application/vnd.ipld.raw;q=0.9", "raw"),
    ("application/vnd.ipld.car;version=2, application/vnd.ipld.raw;q=0.2", "raw"),
    ("application/vnd.ipld.car;version=1;order=unk;dups=n", "car"),
    ('application/vnd.ipld.car; version="1"; order=dfs, */*', "car"),
    ("text/html, */*;q=0.8", 400), ("*/*", 400), (None, 400), ("application/*", 400),
    ("text/html", 406), ("application/vnd.ipld.car; version=2", 406), ("application/vnd.ipld.car;order=foo", 406),
    ("application/vnd.ipld.raw;q=0", 406), ("application/json, application/vnd.ipld.dag-json", 406),
])
def test_accept_negotiation_honours_q_values_and_car_parameters(content, client, accept, expected) -> None:
    cid = content.cids["readme"]
    response = client.get(f"/ipfs/{cid}", headers={"Accept": accept} if accept else {})
    if isinstance(expected, int):
        assert response.status_code == expected
        assert "format=raw" in response.json()["error"] and "format=car" in response.json()["error"]
        forced = client.get(f"/ipfs/{cid}", params={"format": "raw"}, headers={"Accept": accept} if accept else {})
        assert forced.status_code == 200  # format takes precedence over Accept
    else:
        assert response.status_code == 200
        assert response.headers["Content-Type"] == {"raw": "application/vnd.ipld.raw", "car": CAR_N}[expected]
        assert response.headers["Content-Location"] == f"/ipfs/{cid}?format={expected}" + (
            "&car-dups=n" if expected == "car" else "")


def test_format_overrides_accept(content, client) -> None:
    cid = content.cids["readme"]
    response = client.get(f"/ipfs/{cid}", params={"format": "car"}, headers={"Accept": "application/vnd.ipld.raw"})
    assert response.headers["Content-Type"] == CAR_N and read_car(response.content)[0] == [cid]
    response = client.get(f"/ipfs/{cid}", params={"format": "raw"}, headers={"Accept": "application/vnd.ipld.car"})
    assert response.content == dagpb.encode([], unixfs.UnixFSData(unixfs.FILE, b"hello gateway\n", 14).encode())


def test_errors_have_their_status_and_say_why(content, client) -> None:
    root, big = content.cids["dir"], content.cids["big"]
    absent = CID.hash_block(b"not in this archive")
    cases = [
        (f"/ipfs/{big}?format=tar", {}, 400, "format"),
        (f"/ipfs/{big}?format=", {}, 400, "format"),
        (f"/ipfs/{root}/readme.txt?format=raw", {}, 400, "CAR"),
        ("/ipfs/not-a-cid?format=raw", {}, 400, "invalid CID"),
        ("/ipfs/bafy?format=car", {}, 400, "invalid CID"),
        (f"/ipfs/{big}?format=car&car-version=2", {}, 400, "car-version"),
        (f"/ipfs/{big}?format=car&car-order=bfs", {}, 400, "car-order"),
        (f"/ipfs/{big}?format=car&car-dups=maybe", {}, 400, "car-dups"),
        (f"/ipfs/{big}?format=car&dag-scope=most", {}, 400, "dag-scope"),
        (f"/ipfs/{big}?format=car&dag-scope=all&entity-bytes=0:1", {}, 400, "entity-bytes"),
        (f"/ipfs/{absent}?format=raw", {}, 404, str(absent)),
        (f"/ipfs/{absent}?format=car", {}, 404, str(absent)),
        (f"/ipfs/{absent}?format=raw", {"Cache-Control": "max-age=0, only-if-cached"}, 412, "only-if-cached"),
        (f"/ipfs/{root}/nope?format=car", {}, 404, "nope"),
        (f"/ipfs/{root}/sub/file.bin/inside?format=car", {}, 404, "not a"),
        (f"/ipfs/{root}/many/entry-999.txt?format=car", {}, 404, "entry-999.txt"),
        (f"/ipfs/{content.cids['raw leaf']}/x?format=car", {}, 404, "not a"),
        (f"/ipfs/{root}/%2E%2E/%2E%2E/etc/passwd?format=car", {}, 400, "'..'"),
        (f"/ipfs/{root}/sub/%2E/file.bin?format=car", {}, 400, "'.'"),
        (f"/ipfs/{root}/sub//file.bin?format=car", {}, 400, "empty"),
        (f"/ipfs/{root}/sub%2F%2Ffile.bin?format=car", {}, 400, "empty"),
        (f"/ipfs/{root}/sub%5Cfile.bin?format=car", {}, 400, "backslash"),
        (f"/ipfs/{root}/readme.txt%00?format=car", {}, 400, "NUL"),
    ]
    for url, headers, status, said in cases:
        response = client.get(url, headers=headers)
        assert response.status_code == status, (url, response.status_code, response.text)
        assert said in response.json()["error"], (url, response.json())
        assert client.head(url, headers=headers).status_code == status, url
    present = client.get(f"/ipfs/{big}?format=raw", headers={"Cache-Control": "only-if-cached"})
    assert present.status_code == 200 and block_matches(big, present.content)
    slash = car_of(client, f"/ipfs/{root}/sub/")  # a directory URL's trailing slash is allowed
    assert [c for c, _ in slash][:2] == [root, content.cids["sub"]]


def test_the_probe_bafkqaaa_answers_raw_and_car_get_and_head(client) -> None:
    for params, headers in (({"format": "raw"}, {}), ({}, {"Accept": "application/vnd.ipld.raw"})):
        response = client.get("/ipfs/bafkqaaa", params=params, headers=headers)
        assert response.status_code == 200 and response.content == b""
        assert response.headers["Content-Length"] == "0"
        assert client.head("/ipfs/bafkqaaa", params=params, headers=headers).status_code == 200
    for params, headers in (({"format": "car"}, {}), ({}, {"Accept": "application/vnd.ipld.car"})):
        response = client.get("/ipfs/bafkqaaa", params=params, headers=headers)
        assert response.status_code == 200 and response.headers["Content-Type"] == CAR_N
        assert read_car(response.content) == ([CID.parse("bafkqaaa")], [])  # no identity block inside
        head = client.head("/ipfs/bafkqaaa", params=params, headers=headers)
        assert head.status_code == 200 and head.content == b"" and head.headers["Content-Type"] == CAR_N


def test_head_gives_gets_headers_and_no_body(content, client) -> None:
    big, root = content.cids["big"], content.cids["dir"]
    for url in (f"/ipfs/{big}?format=raw", f"/ipfs/{root}/sub/file.bin?format=car&entity-bytes=0:10"):
        get, head = client.get(url), client.head(url)
        assert head.status_code == get.status_code == 200 and head.content == b""
        for name in ("Content-Type", "ETag", "Cache-Control", "X-Ipfs-Path", "X-Ipfs-Roots", "Content-Disposition",
                     "X-Content-Type-Options", "Vary"):
            assert head.headers[name] == get.headers[name], name
    assert client.head(f"/ipfs/{big}?format=raw").headers["Content-Length"] == str(len(client.get(
        f"/ipfs/{big}?format=raw").content))
    assert "Content-Length" not in client.head(f"/ipfs/{big}?format=car").headers


def test_if_none_match_gives_304_and_etags_differ_by_request(content, client) -> None:
    big, root = content.cids["big"], content.cids["dir"]
    urls = [f"/ipfs/{big}?format=raw", f"/ipfs/{big}?format=car", f"/ipfs/{big}?format=car&dag-scope=block",
            f"/ipfs/{big}?format=car&entity-bytes=0:10", f"/ipfs/{big}?format=car&entity-bytes=0:11",
            f"/ipfs/{big}?format=car&car-dups=y", f"/ipfs/{root}/sub?format=car", f"/ipfs/{root}/readme.txt?format=car"]
    etags = [client.get(url).headers["ETag"] for url in urls]
    assert len(set(etags)) == len(urls), etags
    for url, etag in zip(urls, etags):
        for sent in (etag, f'"other", {etag}', etag.removeprefix("W/"), "*"):
            response = client.get(url, headers={"If-None-Match": sent})
            assert response.status_code == 304 and response.content == b"", (url, sent)
            assert response.headers["ETag"] == etag
        assert client.get(url, headers={"If-None-Match": '"something-else"'}).status_code == 200


def test_a_block_missing_mid_stream_ends_the_car_and_is_logged(content, client, caplog) -> None:
    cid = content.cids["missing"]
    with caplog.at_level("WARNING", logger="hf_ipfs_scraper.web.gateway"):
        response = client.get(f"/ipfs/{cid}", params={"format": "car"})
    assert response.status_code == 200  # the root is here: the 200 was sent before the gap was met
    roots, blocks = read_car(response.content)  # a well-formed, verified prefix of the DAG
    assert [c for c, _ in blocks] == [cid, dagpb.decode(blocks[0][1]).links[0].cid]
    assert "ended early" in caplog.text and str(cid) in caplog.text
    missing = dagpb.decode(blocks[0][1]).links[1].cid
    assert client.get(f"/ipfs/{missing}", params={"format": "raw"}).status_code == 404


# -- mounting ------------------------------------------------------------------------------------
def test_without_gateway_the_app_has_no_ipfs_routes(content) -> None:
    with ServerThread(create_app(content.out)) as plain, httpx2.Client(base_url=plain.url, timeout=30) as http:
        for url in ("/ipfs/bafkqaaa?format=raw", f"/ipfs/{content.cids['big']}?format=car",
                    f"/ipfs/{content.cids['dir']}/sub/file.bin?format=car"):
            assert http.get(url).status_code == 404, url
        assert "/ipfs/{cid}" not in http.get("/openapi.json").json()["paths"]


def _first_answer(proc: subprocess.Popen[str], url: str) -> httpx2.Response:
    """GET ``url`` once the server answers: its socket is bound before the app starts."""
    for _ in range(600):
        try:
            return httpx2.get(url, timeout=5)
        except httpx2.TransportError:
            assert proc.poll() is None, "the server exited"
            time.sleep(0.05)
    raise AssertionError(f"no answer from {url} in 30 s")


def test_cli_serve_gateway_answers_the_probe(content) -> None:
    proc = subprocess.Popen([*CLI, "--output-dir", str(content.out), "serve", "--port", "0", "--gateway"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith(f"serving {content.out} on http://") and "trustless gateway" in line, line
        url = line.split(" on ", 1)[1].split()[0]
        response = _first_answer(proc, f"{url}/ipfs/bafkqaaa?format=car")
        assert response.status_code == 200 and read_car(response.content) == ([CID.parse("bafkqaaa")], [])
        raw = httpx2.get(f"{url}/ipfs/{content.cids['readme']}", headers={"Accept": "application/vnd.ipld.raw"})
        assert raw.status_code == 200 and block_matches(content.cids["readme"], raw.content)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
