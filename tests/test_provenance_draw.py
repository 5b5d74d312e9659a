"""draw_family: a family tree a person can read, written deterministically as SVG or PNG."""

from __future__ import annotations

import stat
import struct
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import matplotlib.pyplot as plt
import networkx as nx
import pytest

from hf_ipfs_scraper.errors import InvalidInputError
from hf_ipfs_scraper.provenance.draw import DrawResult, draw_family

FOCUS = "model:acme/base-7b-instruct"
SVG = "{http://www.w3.org/2000/svg}"


def _add(graph: nx.DiGraph, key: str, *, mirrored: bool = True) -> str:
    kind, _, repo_id = key.partition(":")
    graph.add_node(key, type=kind, id=repo_id, mirrored=mirrored)
    return key


def small_family() -> nx.DiGraph:
    """A base, its finetune (the focus) and what grows around them: every kind of node and edge."""
    g = nx.DiGraph()
    base = _add(g, "model:acme/base-7b")
    focus = _add(g, FOCUS)
    deeper = _add(g, "model:someone/base-7b-instruct-roleplay-extended-context-32k-v2")
    gguf = _add(g, "model:quantizer/base-7b-instruct-GGUF")
    lora = _add(g, "model:tinkerer/base-7b-lora-medical")
    other = _add(g, "model:rival/other-7b")
    ghost = _add(g, "model:vanished/private-7b", mirrored=False)
    merged = _add(g, "model:mixer/triple-merge-7b")
    data = _add(g, "dataset:squad")
    space = _add(g, "space:acme/instruct-demo")
    g.add_edge(focus, base, relation="finetune")
    g.add_edge(deeper, focus, relation="finetune")
    g.add_edge(gguf, focus, relation="quantized")
    g.add_edge(lora, base, relation="adapter")
    for source in (focus, other, ghost):
        g.add_edge(merged, source, relation="merge")
    g.add_edge(base, data, relation="trained_on")
    g.add_edge(space, focus, relation="uses")
    return g


def big_family() -> nx.DiGraph:
    """600 members: one base with 599 derivatives: a 20-long chain, finetunes, quants, merges, Spaces."""
    g = nx.DiGraph()
    base = _add(g, "model:bigco/foundation-70b")
    _add(g, "dataset:bigco/pretraining-mix")
    g.add_edge(base, "dataset:bigco/pretraining-mix", relation="trained_on")
    parent = base
    for i in range(20):
        child = _add(g, f"model:chain/foundation-70b-step-{i:02d}", mirrored=i % 3 != 2)
        g.add_edge(child, parent, relation="finetune")
        parent = child
    kinds = ("finetune", "finetune", "quantized", "adapter", "unknown")
    for i in range(560):
        child = _add(g, f"model:user{i:03d}/foundation-70b-variant-{i:03d}", mirrored=i % 4 != 0)
        g.add_edge(child, base, relation=kinds[i % len(kinds)])
    for i in range(10):
        merged = _add(g, f"model:mixer/merge-{i}")
        for k in (i, i + 1, i + 2):
            g.add_edge(merged, f"model:user{k:03d}/foundation-70b-variant-{k:03d}", relation="merge")
    for i in range(8):
        space = _add(g, f"space:demo{i}/playground")
        g.add_edge(space, f"model:chain/foundation-70b-step-{i:02d}", relation="uses")
    assert len(g) == 600
    return g


def _ids(graph: nx.DiGraph) -> list[str]:
    return [graph.nodes[n]["id"] for n in graph]


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _assert_labels_apart(root: ET.Element, graph: nx.DiGraph) -> None:
    """No two node labels share a spot: a row apart, or a box width apart in one row."""
    spots = []
    for group in root.iter(f"{SVG}g"):
        if group.get("id") in graph:
            (text,) = group.iter(f"{SVG}text")
            spots.append((float(text.get("x", "nan")), float(text.get("y", "nan"))))
    assert len(spots) == len(set(spots)) > 0
    for i, (x1, y1) in enumerate(spots):
        for x2, y2 in spots[i + 1 :]:
            assert abs(y1 - y2) >= 15 or abs(x1 - x2) >= 120, ((x1, y1), (x2, y2))


def test_small_family_svg_names_every_member_relation_and_focus(tmp_path: Path) -> None:
    graph = small_family()
    result = draw_family(graph, FOCUS, tmp_path / "family.svg")
    assert result == DrawResult(tmp_path / "family.svg", "svg", nodes_drawn=len(graph), nodes_omitted=0)
    raw = result.path.read_text(encoding="utf-8")
    root = ET.fromstring(raw)
    assert root.tag == f"{SVG}svg"
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    shown = "\n".join(texts)
    for repo_id in _ids(graph):
        assert repo_id in raw  # the full id, even when the label is shortened
    assert "someone/base-7b-instruct-roleplay-extended-context-32k-v2" not in shown  # shortened …
    assert any("…" in t and t.startswith("someone/") for t in texts)
    assert any(el.get("id") == "model:someone/base-7b-instruct-roleplay-extended-context-32k-v2" for el in root.iter())
    for word in ("finetune", "adapter", "quantized", "merge", "trained_on", "uses"):
        assert word in shown
    assert "Family of acme/base-7b-instruct" in shown
    assert "focus" in shown and "only referenced" in shown
    (focus_group,) = [el for el in root.iter() if el.get("id") == FOCUS]
    (focus_label,) = focus_group.iter(f"{SVG}text")
    assert "font-weight: 700" in focus_label.get("style", "") and "#c00000" in focus_label.get("style", "")
    assert raw.count("stroke: #c00000") >= 2  # the outline round the focus box, and its legend entry
    assert "more family members not shown" not in shown
    _assert_labels_apart(root, graph)


def test_png_is_a_real_picture(tmp_path: Path) -> None:
    result = draw_family(small_family(), FOCUS, tmp_path / "family.PNG", title="Custom title")
    assert result.format == "png"
    width, height = _png_size(result.path)
    assert width > 400 and height > 300
    assert result.path.stat().st_size > 10_000
    assert stat.S_IMODE(result.path.stat().st_mode) == 0o644


def test_a_600_member_family_keeps_the_nearest_200_and_says_so(tmp_path: Path) -> None:
    graph = big_family()
    focus = "model:chain/foundation-70b-step-05"
    started = time.process_time()  # CPU time: other processes on a busy machine do not count
    result = draw_family(graph, focus, tmp_path / "big.svg")
    elapsed = time.process_time() - started
    assert result.nodes_drawn == 200 and result.nodes_omitted == 400
    assert elapsed < 5.0, f"drawing 200 nodes took {elapsed:.1f} s of CPU"
    raw = result.path.read_text(encoding="utf-8")
    ET.fromstring(raw)
    assert "+ 400 more family members not shown (400 models; max_nodes=200)" in raw
    for ancestor in ("chain/foundation-70b-step-04", "bigco/foundation-70b", "bigco/pretraining-mix"):
        assert ancestor in raw
    assert "chain/foundation-70b-step-12" in raw  # 7 steps down, as near as a sibling variant
    assert "chain/foundation-70b-step-13" not in raw
    _assert_labels_apart(ET.fromstring(raw), graph)
    png = draw_family(graph, focus, tmp_path / "big.png")
    width, height = _png_size(png.path)
    assert 1000 < width <= 62 * 100 and height <= 62 * 100


def test_ancestors_survive_a_tiny_max_nodes(tmp_path: Path) -> None:
    graph = small_family()
    result = draw_family(graph, "model:mixer/triple-merge-7b", tmp_path / "merge.svg", max_nodes=5)
    raw = result.path.read_text(encoding="utf-8")
    assert (result.nodes_drawn, result.nodes_omitted) == (5, len(graph) - 5)
    for ancestor in ("acme/base-7b-instruct", "rival/other-7b", "vanished/private-7b", "acme/base-7b"):
        assert ancestor in raw
    assert "more family members not shown" in raw


def test_same_graph_same_bytes_whatever_the_insertion_order(tmp_path: Path) -> None:
    graph = small_family()
    shuffled = nx.DiGraph()
    shuffled.add_nodes_from(sorted(graph.nodes(data=True), reverse=True))
    shuffled.add_edges_from(sorted(graph.edges(data=True), reverse=True))
    first = draw_family(graph, FOCUS, tmp_path / "a.svg").path.read_bytes()
    second = draw_family(graph, FOCUS, tmp_path / "b.svg").path.read_bytes()
    third = draw_family(shuffled, FOCUS, tmp_path / "c.svg").path.read_bytes()
    assert first == second == third


def test_bare_nodes_and_cycles_still_draw(tmp_path: Path) -> None:
    """Referenced-only nodes may carry no attributes; bad metadata may make a cycle."""
    graph = nx.DiGraph()
    graph.add_edge("model:a/x", "model:b/y", relation="finetune")
    graph.add_edge("model:b/y", "model:a/x", relation="finetune")
    graph.add_edge("model:a/x", "dataset:c/z")
    graph.add_edge("model:a/x", "model:a/x", relation="finetune")
    result = draw_family(graph, "model:a/x", tmp_path / "odd.svg")
    raw = result.path.read_text(encoding="utf-8")
    assert result.nodes_drawn == 3 and "c/z" in raw and "trained_on" in raw


@pytest.mark.parametrize("name", ["family.jpg", "family", "family.svg.gz"])
def test_a_bad_suffix_names_the_good_ones(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidInputError, match=r"\.svg or \.png"):
        draw_family(small_family(), FOCUS, tmp_path / name)


def test_bad_arguments_raise_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="model:nobody/nothing"):
        draw_family(small_family(), "model:nobody/nothing", tmp_path / "x.svg")
    with pytest.raises(InvalidInputError, match="max_nodes"):
        draw_family(small_family(), FOCUS, tmp_path / "x.svg", max_nodes=0)
    with pytest.raises(InvalidInputError, match="not a directory"):
        draw_family(small_family(), FOCUS, tmp_path / "missing" / "x.svg")
    with pytest.raises(InvalidInputError, match="DiGraph"):
        draw_family(nx.Graph(small_family().to_undirected()), FOCUS, tmp_path / "x.svg")  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_no_figure_is_left_open_and_threads_do_not_mix(tmp_path: Path) -> None:
    graph = small_family()
    expected = draw_family(graph, FOCUS, tmp_path / "one.svg").path.read_bytes()
    with ThreadPoolExecutor(max_workers=4) as pool:  # map() re-raises what a drawing raised
        list(pool.map(lambda i: draw_family(graph, FOCUS, tmp_path / f"t{i}.{'svg' if i % 2 else 'png'}"), range(4)))
    assert (tmp_path / "t1.svg").read_bytes() == (tmp_path / "t3.svg").read_bytes() == expected
    assert plt.get_fignums() == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.svg", "t0.png", "t1.svg", "t2.png", "t3.svg"]
