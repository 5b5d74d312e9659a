"""``provenance lineage|descendants|show|export`` as a user runs them, over an archive whose state
holds the known-lineage corpus of ``test_provenance``."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import pyarrow.parquet as pq
import pytest

from hf_ipfs_scraper.provenance import ProvenanceTracker
from hf_ipfs_scraper.state import StateStore
from tests.test_provenance import CORPUS, EXPECTED_EDGES

CLI = [sys.executable, "-m", "hf_ipfs_scraper.cli.main"]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("archive")
    with StateStore(out / "state.sqlite") as state:
        tracker = ProvenanceTracker(state)
        for record in CORPUS:
            state.upsert_discovered(record.type, record.id, record.sha, metadata=record.metadata())
            tracker.record(record)
            assert state.claim(record.type, record.id)
            state.mark_done(record.type, record.id, "s", "bafyroot")
    return out


def cli(archive: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "--output-dir", str(archive), "provenance", *args],
                          capture_output=True, text=True, timeout=120)


def test_lineage_as_text_and_json(archive: Path) -> None:
    text = cli(archive, "lineage", "org/q1")
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[0] == "model:org/q1 -> (quantized) model:org/ft1 -> (finetune) model:org/base-a"
    assert "trained on: dataset:org/ds1, dataset:squad" in text.stdout
    data = json.loads(cli(archive, "lineage", "org/merge1", "--json").stdout)
    assert sorted(p[0][2] for p in data["paths"]) == ["model:org/base-a", "model:org/base-b", "model:org/base-c"]
    dataset = json.loads(cli(archive, "lineage", "dataset:org/ds2", "--json").stdout)
    assert dataset["paths"] == [[["dataset:org/ds2", "derived_from", "dataset:org/ds1"],
                                 ["dataset:org/ds1", "derived_from", "dataset:squad"]]]


def test_descendants_nearest_first_with_a_limit(archive: Path) -> None:
    data = json.loads(cli(archive, "descendants", "org/base-a", "--json").stdout)
    assert data["total"] == 6
    assert [d["repo"] for d in data["descendants"]][:4] == [
        "model:org/ad1", "model:org/ft1", "model:org/merge1", "model:org/url1"]
    limited = cli(archive, "descendants", "org/base-a", "--limit", "2")
    assert limited.stdout.splitlines()[-1] == "6 descendants (2 shown)"
    assert limited.stdout.splitlines()[0] == "model:org/ad1  adapter of model:org/base-a"


def test_show_draws_svg_and_png_naming_the_family(archive: Path, tmp_path: Path) -> None:
    svg = tmp_path / "tree.svg"
    result = cli(archive, "show", "org/ft1", "-o", str(svg))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"wrote {svg} (svg, ")
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    text = svg.read_text()
    for member in ("org/ft1", "org/base-a", "org/ft2", "org/q1", "org/ds1", "squad", "org/space1"):
        assert member in text, member
    png = tmp_path / "tree.png"
    assert cli(archive, "show", "org/ft1", "-o", str(png)).returncode == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_export_writes_graphml_node_link_json_and_a_parquet_edge_table(archive: Path, tmp_path: Path) -> None:
    result = cli(archive, "export", "-o", str(tmp_path / "prov"))
    assert result.returncode == 0, result.stderr
    graph = nx.read_graphml(tmp_path / "prov" / "provenance.graphml")
    assert {(u, v, d["relation"]) for u, v, d in graph.edges(data=True)} == EXPECTED_EDGES
    assert graph.nodes["dataset:squad"] == {"type": "dataset", "id": "squad", "mirrored": False}
    linked = nx.node_link_graph(json.loads((tmp_path / "prov" / "provenance.json").read_text()), edges="edges")
    assert set(linked.edges) == {(u, v) for u, v, _ in EXPECTED_EDGES}
    table = pq.read_table(tmp_path / "prov" / "edges.parquet").to_pylist()
    assert {(f"{r['src_type']}:{r['src_id']}", f"{r['dst_type']}:{r['dst_id']}", r["relation"]) for r in table} == EXPECTED_EDGES
    assert {r["evidence"] for r in table} >= {"cardData.base_model", "tags", "cardData.base_model_relation"}


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("lineage", "nobody/nothing"), "model:nobody/nothing is not in the provenance graph"),
        (("show", "org/ft1", "-o", "tree.gif"), ".svg"),
    ],
)
def test_bad_input_is_one_error_line(archive: Path, tmp_path: Path, args: tuple[str, ...], needle: str) -> None:
    result = subprocess.run([*CLI, "--output-dir", str(archive), "provenance", *args], capture_output=True,
                            text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and needle in errors[0], result.stderr
