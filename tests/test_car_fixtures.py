"""``dag import`` against the CAR fixtures of the reference Go implementation (tests/fixtures/go-car):
every valid CAR imports as into Kubo — blake2b-256 dag-cbor blocks included, partial DAGs with
``--pin-roots=false`` — and every corrupt one is refused with a line naming the problem, leaving the
store as it was. Plus the hash functions and link codecs on their own."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import blake3
import pytest

from hf_ipfs_scraper.errors import CarError, CodecError
from hf_ipfs_scraper.ipfs import ipld
from hf_ipfs_scraper.ipfs.car import CarReader, write_car
from hf_ipfs_scraper.ipfs.cid import BLAKE2B_256, BLAKE3, CID, DAG_CBOR, DAG_JSON, RAW, SHA2_256, SHA2_512, block_matches
from hf_ipfs_scraper.ipfs.varint import encode as varint
from hf_ipfs_scraper.storage.embedded import EmbeddedStore

FIXTURES = Path(__file__).parent / "fixtures" / "go-car"
SAMPLE_ROOT = "bafy2bzaced4ueelaegfs5fqu4tzsh6ywbbpfk3cxppupmxfdhbpbhzawfw5oy"  # Filecoin chain data, dag-cbor
COMPLETE = {  # fixture -> its roots, pinned on import
    "v2-sample-v1.car": [SAMPLE_ROOT],
    "v2-sample-v1-noidentity.car": [SAMPLE_ROOT],
    "v2-sample-v2-indexless.car": [SAMPLE_ROOT],
    "v2-sample-wrapped-v2.car": [SAMPLE_ROOT],
    "simple-unixfs.car": ["QmPLPpnptHc1DMhJAWNYMTqBTqqRQNy5WsY7F9pZgsBfMT"],
    "v2-sample-rw-bs-v2.car": ["bafkreifuosuzujyf4i6psbneqtwg2fhplc2wxptc5euspa2gn3bwhnihfu",
                               "bafkreifc4hca3inognou377hfhvu2xfchn2ltzi7yu27jkaeujqqqdbjju",
                               "bafkreig5lvr4l6b4fr3un4xvzeyt3scevgsqjgrhlnwxw2unwbn5ro276u"],
    "v2-sample-unixfs-v2.car": ["bafybeiakgrehdxxgy5kca72znt6jllrj2sqkehtqeojfuxlbeuqg3vfkwq"],
}
PARTIAL = {  # fixture -> (root, blocks): valid CARs of incomplete DAGs
    "simple-unixfs-missing-blocks.car": "QmPLPpnptHc1DMhJAWNYMTqBTqqRQNy5WsY7F9pZgsBfMT",
    "wikipedia-cryptographic-hash-function.car": "bafybeiaysi4s6lnjev27ln5icwm6tueaw2vdykrtjkwiphwekaywqhcjze",
}
CORRUPT = {  # fixture -> words of the refusal
    "badheaderlength.car": "bad CAR header length",
    "badsectionlength.car": "declares 216830324832 bytes",
    "v2-sample-corrupt-pragma.car": "truncated CAR header",
    "v2-sample-rootless-v42.car": "unsupported CAR version 42",
    "v2-sample-v1-tailing-corrupt-section.car": "truncated section",
    "v2-sample-v2-corrupt-data-and-index.car": "truncated CARv2",
    "v2-sample-v1-with-zero-len-section2.car": "zero-length section",
}


@pytest.fixture(autouse=True)
def _fixtures_present() -> None:
    assert FIXTURES.is_dir(), f"{FIXTURES} is part of the repository"


def test_every_fixture_is_classified() -> None:
    assert {p.name for p in FIXTURES.glob("*.car")} == {*COMPLETE, *PARTIAL, *CORRUPT}


@pytest.mark.parametrize("name", sorted(COMPLETE))
def test_a_valid_car_imports_pins_its_root_and_verifies(tmp_path: Path, name: str) -> None:
    with EmbeddedStore(tmp_path / "s") as store, open(FIXTURES / name, "rb") as fh:
        result = store.import_car(fh)
        assert [str(r) for r in result.roots] == COMPLETE[name]
        assert sorted(str(p.cid) for p in store.pins()) == sorted(COMPLETE[name])
        report = store.verify()
        assert report.ok and report.checked == result.new_blocks > 0, report


def test_the_blake2b_dag_cbor_sample_exports_back_byte_for_byte(tmp_path: Path) -> None:
    """go-car wrote v2-sample-v1.car depth-first, as `dag export` does: the round trip is exact, so
    every dag-cbor link was followed in the order the blocks hold them."""
    with EmbeddedStore(tmp_path / "s") as store, open(FIXTURES / "v2-sample-v1.car", "rb") as fh:
        store.import_car(fh)
        out = io.BytesIO()
        assert store.export_car(SAMPLE_ROOT, out) == 1049  # 1043 stored blocks and 6 identity CIDs
    assert out.getvalue() == (FIXTURES / "v2-sample-v1.car").read_bytes()


@pytest.mark.parametrize("name", sorted(PARTIAL))
def test_a_partial_dag_needs_pin_roots_false(tmp_path: Path, name: str) -> None:
    with EmbeddedStore(tmp_path / "s") as store:
        with open(FIXTURES / name, "rb") as fh, pytest.raises(CarError, match="incomplete"):
            store.import_car(fh)
        assert store.stat().blocks == 0 and store.pins() == []
        with open(FIXTURES / name, "rb") as fh:
            result = store.import_car(fh, pin_roots=False)
        assert [str(r) for r in result.roots] == [PARTIAL[name]] and store.pins() == []
        assert store.stat().blocks == result.blocks > 0
        assert store.has(CID.parse(PARTIAL[name]))


@pytest.mark.parametrize("name", sorted(CORRUPT))
def test_a_corrupt_car_is_refused_and_changes_nothing(tmp_path: Path, name: str) -> None:
    with EmbeddedStore(tmp_path / "s") as store:
        with open(FIXTURES / "simple-unixfs.car", "rb") as fh:
            store.import_car(fh)
        before = (store.stat().blocks, [p.cid for p in store.pins()])
        with open(FIXTURES / name, "rb") as fh, pytest.raises(CarError, match=CORRUPT[name]):
            store.import_car(fh, pin_roots=False)
        assert (store.stat().blocks, [p.cid for p in store.pins()]) == before


def test_cli_dag_import_of_fixtures(tmp_path: Path) -> None:
    def dag_import(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "hf_ipfs_scraper.cli.main", "ipfs", "--store", str(tmp_path / "s"),
                               "dag", "import", *args], capture_output=True, text=True, timeout=60)

    done = dag_import(str(FIXTURES / "v2-sample-wrapped-v2.car"))
    assert done.returncode == 0 and done.stdout.strip() == f"Pinned root\t{SAMPLE_ROOT}\tsuccess"
    partial = dag_import("--pin-roots=false", str(FIXTURES / "wikipedia-cryptographic-hash-function.car"))
    assert partial.returncode == 0 and partial.stdout.startswith("Imported root\t")
    bad = dag_import(str(FIXTURES / "badsectionlength.car"))
    assert bad.returncode != 0 and bad.stderr.count("\n") == 1 and bad.stderr.startswith("Error: ")


def _cid(code: int, digest: bytes, codec: int = RAW) -> CID:
    return CID(1, codec, varint(code) + varint(len(digest)) + digest)


@pytest.mark.parametrize("code, digest", [
    (SHA2_256, lambda d: hashlib.sha256(d).digest()),
    (SHA2_512, lambda d: hashlib.sha512(d).digest()),
    (BLAKE2B_256, lambda d: hashlib.blake2b(d, digest_size=32).digest()),
    (BLAKE3, lambda d: blake3.blake3(d).digest()),
])
def test_each_hash_kubo_verifies_is_verified_stored_and_checked(tmp_path: Path, code, digest) -> None:
    data = b"some block bytes"
    cid = _cid(code, digest(data))
    assert block_matches(cid, data) and not block_matches(cid, data + b"!")
    car = io.BytesIO()
    write_car(car, [cid], [(cid, data)])
    with EmbeddedStore(tmp_path / "s") as store:
        store.import_car(io.BytesIO(car.getvalue()))
        assert store.blocks.get(cid) == data and store.verify().ok
    tampered = io.BytesIO()
    write_car(tampered, [cid], [(cid, data + b"!")])
    with pytest.raises(CarError):
        list(CarReader(io.BytesIO(tampered.getvalue())))


def test_dag_cbor_and_dag_json_links_are_followed_to_pin_a_root(tmp_path: Path) -> None:
    import cbor2

    leaf = b"leaf"
    leaf_cid = _cid(SHA2_256, hashlib.sha256(leaf).digest())
    as_json = json.dumps({"a": [{"/": str(leaf_cid)}], "b": {"/": {"bytes": "AAE"}}}).encode()
    json_cid = _cid(SHA2_256, hashlib.sha256(as_json).digest(), DAG_JSON)
    as_cbor = cbor2.dumps({"child": cbor2.CBORTag(42, b"\x00" + bytes(json_cid)), "n": 1})
    cbor_cid = _cid(SHA2_256, hashlib.sha256(as_cbor).digest(), DAG_CBOR)
    assert ipld.links_of(json_cid, as_json) == [leaf_cid]  # {"/": {"bytes"}} is bytes, not a link
    assert ipld.links_of(cbor_cid, as_cbor) == [json_cid]
    with pytest.raises(CodecError, match="not valid dag-cbor"):
        ipld.links_of(cbor_cid, b"\xff\xff")
    car = io.BytesIO()
    write_car(car, [cbor_cid], [(cbor_cid, as_cbor), (json_cid, as_json)])  # the leaf is missing
    with EmbeddedStore(tmp_path / "s") as store:
        with pytest.raises(CarError, match=f"block {leaf_cid} is neither"):
            store.import_car(io.BytesIO(car.getvalue()))
        whole = io.BytesIO()
        write_car(whole, [cbor_cid], [(cbor_cid, as_cbor), (json_cid, as_json), (leaf_cid, leaf)])
        store.import_car(io.BytesIO(whole.getvalue()))
        assert list(store.blocks.walk(cbor_cid)) == [cbor_cid, json_cid, leaf_cid]
        assert store.verify().ok


def test_the_gateways_dag_scope_all_follows_dag_cbor_links_as_dag_export_does(tmp_path: Path) -> None:
    from hf_ipfs_scraper.ipfs import trustless

    with EmbeddedStore(tmp_path / "s") as store, open(FIXTURES / "v2-sample-v1.car", "rb") as fh:
        store.import_car(fh)
        root = CID.parse(SAMPLE_ROOT)
        plan = trustless.plan(store.blocks.get, root, [], trustless.CarRequest("all"))
        sent = [cid for cid, _ in plan.blocks()]
        assert sent == [cid for cid in store.blocks.walk(root) if cid.hash_code != 0]  # identity CIDs are never sent
        assert len(sent) == 1043
