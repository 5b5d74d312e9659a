"""The provenance graph of a corpus with known lineage: exactly the expected edges, warnings and
query answers, written through the state store and read back by a fresh read-only tracker."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from hf_ipfs_scraper.provenance import ProvenanceTracker, Step, extract
from hf_ipfs_scraper.provenance.edges import repo_reference
from hf_ipfs_scraper.records import DatasetRecord, ModelRecord, RepoRecord, SpaceRecord
from hf_ipfs_scraper.state import StateStore


def model(id_: str, *, tags: tuple[str, ...] = (), **card: Any) -> ModelRecord:
    return ModelRecord(id=id_, sha="s", tags=tags, card_data=card or None)


CORPUS: list[RepoRecord] = [
    model("org/base-a", datasets=["squad"]),
    model("org/base-b"),
    model("org/base-c"),
    model("org/ft1", base_model="org/base-a", tags=("dataset:org/ds1",)),  # one card base: a finetune
    model("org/ft2", base_model="org/ft1", base_model_relation="finetune"),  # a finetune of a finetune
    model("org/q1", tags=("base_model:org/ft1", "base_model:quantized:org/ft1")),  # quantization of ft1
    model("org/ad1", base_model="org/base-a", base_model_relation="adapter"),
    model("org/merge1", base_model=["org/base-a", "org/base-b", "org/base-c"]),  # several bases: merge
    model("org/bare1", tags=("base_model:org/base-b",)),  # a bare tag only: relation unknown
    model("org/ext1", base_model="external/not-in-corpus"),  # a base that is not mirrored
    model("org/url1", base_model="https://huggingface.co/org/base-a"),  # a Hub URL names a repo too
    model("org/cyc-a", base_model="org/cyc-b"),
    model("org/cyc-b", base_model="org/cyc-a"),  # would close a cycle: dropped, warned
    model("org/self1", base_model="org/self1"),  # self-reference: dropped, warned
    model("org/bad1", base_model="bert base uncased (from google)"),  # not a repo id: dropped, warned
    DatasetRecord(id="org/ds1", sha="s", card_data={"source_datasets": ["extended|squad"]}),
    DatasetRecord(id="org/ds2", sha="s", card_data={"source_datasets": ["original", "extended|other-wiki", "org/ds1"]}),
    SpaceRecord(id="org/space1", sha="s", models=("org/ft1",), datasets=("org/ds1",)),
]

EXPECTED_EDGES = {
    ("model:org/base-a", "dataset:squad", "trained_on"),
    ("model:org/ft1", "model:org/base-a", "finetune"),
    ("model:org/ft1", "dataset:org/ds1", "trained_on"),
    ("model:org/ft2", "model:org/ft1", "finetune"),
    ("model:org/q1", "model:org/ft1", "quantized"),
    ("model:org/ad1", "model:org/base-a", "adapter"),
    ("model:org/merge1", "model:org/base-a", "merge"),
    ("model:org/merge1", "model:org/base-b", "merge"),
    ("model:org/merge1", "model:org/base-c", "merge"),
    ("model:org/bare1", "model:org/base-b", "unknown"),
    ("model:org/ext1", "model:external/not-in-corpus", "finetune"),
    ("model:org/url1", "model:org/base-a", "finetune"),
    ("model:org/cyc-a", "model:org/cyc-b", "finetune"),
    ("dataset:org/ds1", "dataset:squad", "derived_from"),
    ("dataset:org/ds2", "dataset:org/ds1", "derived_from"),
    ("space:org/space1", "model:org/ft1", "uses"),
    ("space:org/space1", "dataset:org/ds1", "uses"),
}


@pytest.fixture
def stored(tmp_path: Path) -> Path:
    """The corpus recorded the way the pipeline records it: discovered, edges, mirrored."""
    path = tmp_path / "state.sqlite"
    with StateStore(path) as state:
        tracker = ProvenanceTracker(state)
        for record in CORPUS:
            state.upsert_discovered(record.type, record.id, record.sha, metadata=record.metadata())
            tracker.record(record)
            if record.id != "org/base-c":  # one base seen but not mirrored (say it was gated)
                assert state.claim(record.type, record.id)
                state.mark_done(record.type, record.id, "s", "bafyroot")
    return path


def edges_of(tracker: ProvenanceTracker) -> set[tuple[str, str, str]]:
    return {(u, v, r) for u, v, r in tracker.graph.edges(data="relation")}


def test_the_corpus_gives_exactly_the_expected_graph(stored: Path) -> None:
    with StateStore(stored, readonly=True) as state:
        tracker = ProvenanceTracker(state)
        assert edges_of(tracker) == EXPECTED_EDGES
        graph = tracker.graph
        # every entity seen is a node, every referenced id too; mirrored ones are marked
        assert {f"{r.type}:{r.id}" for r in CORPUS} <= set(graph)
        assert {"dataset:squad", "model:external/not-in-corpus"} <= set(graph)
        assert tracker.node("model:org/ft1") == {"type": "model", "id": "org/ft1", "mirrored": True, "known": True}
        assert tracker.node("model:org/base-c")["mirrored"] is False  # seen, not mirrored
        assert tracker.node("dataset:squad")["mirrored"] is False  # only referenced
        assert tracker.node("model:nobody/x")["known"] is False
        warnings = dict(state.warnings())
        assert "would close a cycle" in warnings["model:org/cyc-b"]
        assert "names the repo itself" in warnings["model:org/self1"]
        assert "is not a repo id" in warnings["model:org/bad1"]
        assert "other-wiki" in warnings["dataset:org/ds2"]
        assert set(warnings) == {"model:org/cyc-b", "model:org/self1", "model:org/bad1", "dataset:org/ds2"}


def test_queries_answer_the_expected_sets(stored: Path) -> None:
    with StateStore(stored, readonly=True) as state:
        tracker = ProvenanceTracker(state)
        assert tracker.lineage("model:org/ft2") == [[
            Step("model:org/ft2", "finetune", "model:org/ft1"), Step("model:org/ft1", "finetune", "model:org/base-a"),
        ]]
        merge_paths = tracker.lineage("model:org/merge1")
        assert sorted(p[0].parent for p in merge_paths) == ["model:org/base-a", "model:org/base-b", "model:org/base-c"]
        assert all(len(p) == 1 and p[0].relation == "merge" for p in merge_paths)
        assert tracker.lineage("model:org/base-a") == []
        assert tracker.ancestors("model:org/q1") == {"model:org/ft1", "model:org/base-a"}
        assert set(tracker.descendants("model:org/base-a")) == {
            "model:org/ft1", "model:org/ad1", "model:org/merge1", "model:org/url1", "model:org/ft2", "model:org/q1"}
        assert tracker.descendants("model:org/base-a")[:4] == [  # nearest first, then by key
            "model:org/ad1", "model:org/ft1", "model:org/merge1", "model:org/url1"]
        assert tracker.count_descendants("model:org/base-a") == 6
        assert tracker.descendants("model:org/base-a", max_nodes=2) == ["model:org/ad1", "model:org/ft1"]
        assert tracker.children("model:org/ft1", "quantized") == [("model:org/q1", "quantized")]
        assert tracker.children("model:org/ft1") == [("model:org/ft2", "finetune"), ("model:org/q1", "quantized")]
        assert tracker.datasets_behind("model:org/ft2") == {"dataset:org/ds1", "dataset:squad"}
        assert tracker.spaces_using("model:org/ft1") == {"space:org/space1"}
        assert tracker.most_derived(3) == [("model:org/base-a", 4), ("model:org/base-b", 2), ("model:org/ft1", 2)]
        assert tracker.most_derived(1, relation="merge")[0][0] == "model:org/base-a"
        assert tracker.ancestors("dataset:org/ds2") == {"dataset:org/ds1", "dataset:squad"}


def test_family_graph_carries_what_a_picture_needs(stored: Path) -> None:
    with StateStore(stored, readonly=True) as state:
        tracker = ProvenanceTracker(state)
        family = tracker.family("model:org/ft1", max_nodes=3)
        capped = tracker.family("model:org/ft1", max_nodes=1)
    # ancestors, the descendants, the datasets behind, the Spaces using them
    assert {"model:org/ft1", "model:org/base-a", "model:org/ft2", "dataset:org/ds1", "dataset:squad",
            "space:org/space1"} <= set(family)
    # past max_nodes: the nearest descendant only, and as many datasets and Spaces, the rest counted
    related = {n for n in capped if not n.startswith("model:")}
    assert {"model:org/ft1", "model:org/base-a", "model:org/ft2"} <= set(capped) and len(related) == 1
    assert "model:org/q1" not in capped and capped.graph["omitted"] >= 2  # q1, and a dataset or Space at least
    assert family.nodes["dataset:squad"] == {"type": "dataset", "id": "squad", "mirrored": False}
    assert family.edges["model:org/ft2", "model:org/ft1"]["relation"] == "finetune"


def test_edges_are_replaced_per_entity_and_follow_a_new_card(tmp_path: Path) -> None:
    with StateStore(tmp_path / "s.sqlite") as state:
        tracker = ProvenanceTracker(state)
        tracker.graph  # noqa: B018 - loaded: later writes must update it in place
        for record in CORPUS[:4]:
            state.upsert_discovered(record.type, record.id, "s")
            tracker.record(record)
        assert ("model:org/ft1", "model:org/base-a", "finetune") in edges_of(tracker)
        tracker.record(model("org/ft1", base_model="org/base-b", base_model_relation="adapter"))
        out = {(v, r) for _, v, r in tracker.graph.out_edges("model:org/ft1", data="relation")}
        assert out == {("model:org/base-b", "adapter")}
        assert state.edges_from("model:org/ft1")[0].evidence == "cardData.base_model_relation"
        assert ProvenanceTracker(state).graph.out_degree("model:org/ft1") == 1  # as stored


def test_the_shared_attribute_dicts_keep_every_node_and_edge_its_own_values(stored: Path) -> None:
    """The loaded graph shares one dict per relation and one for every unmirrored node (memory at
    Hub scale): marking one node mirrored, or rewriting one repo's edges, changes nothing else."""
    with StateStore(stored) as state:
        tracker = ProvenanceTracker(state)
        graph = tracker.graph
        plain = [n for n, m in graph.nodes(data="mirrored") if not m]
        assert "model:org/base-c" in plain and len(plain) > 2  # base-c, and the bases only referenced
        tracker.mark_mirrored("model:org/base-c")
        assert tracker.node("model:org/base-c")["mirrored"] and graph.nodes["model:org/base-c"] == {"mirrored": True}
        assert all(not graph.nodes[n] for n in plain if n != "model:org/base-c")  # the others untouched
        before = edges_of(tracker)
        tracker.record(model("org/ft2", base_model="org/base-b", base_model_relation="adapter"))
        tracker.mark_mirrored("model:brand/new")  # not in the graph yet: added, alone mirrored
        assert edges_of(tracker) == (before - {("model:org/ft2", "model:org/ft1", "finetune")}) | {
            ("model:org/ft2", "model:org/base-b", "adapter")}
        assert tracker.stats()["mirrored"] == sum(1 for _, m in graph.nodes(data="mirrored") if m)
        assert {n for n, m in graph.nodes(data="mirrored") if not m} == set(plain) - {"model:org/base-c"}
        fresh = ProvenanceTracker(state)
        assert edges_of(fresh) == edges_of(tracker)  # the stored edges say the same


def test_two_writers_cannot_close_a_cycle_between_them(tmp_path: Path) -> None:
    """A → B and B → A written at once from two threads: the store's check keeps one."""
    with StateStore(tmp_path / "s.sqlite") as state:
        tracker = ProvenanceTracker(state)
        for _ in range(20):
            pair = [model("x/a", base_model="x/b"), model("x/b", base_model="x/a")]
            for r in pair:
                state.replace_edges(f"model:{r.id}", [])
            barrier = threading.Barrier(2)

            def write(record: RepoRecord) -> None:
                barrier.wait()
                tracker.record(record)

            threads = [threading.Thread(target=write, args=(r,)) for r in pair]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            stored = {(e.src, e.dst) for n in ("model:x/a", "model:x/b") for e in state.edges_from(n)}
            assert len(stored) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("org/name", ("model", "org/name")),
        ("gpt2", ("model", "gpt2")),
        ("https://huggingface.co/datasets/org/data", ("dataset", "org/data")),
        ("https://hf.co/org/name/tree/main", ("model", "org/name")),
        ("org/name with spaces", None),
        ("a/b/c", None),
        ("", None),
        (42, None),
    ],
)
def test_repo_references(text: object, expected: tuple[str, str] | None) -> None:
    assert repo_reference(text, "model") == expected


def test_extraction_prefers_explicit_relations_and_merges_sources() -> None:
    record = ModelRecord(
        id="org/m", tags=("base_model:org/a", "base_model:adapter:org/a", "base_model:org/b"),
        card_data={"base_model": "org/a"}, base_models=("org/c",), base_model_relation="quantized",
    )
    got = {(e.dst, e.relation, e.evidence) for e in extract(record).edges}
    assert got == {
        ("model:org/a", "adapter", "tags"),  # the tag's relation beats the single-base inference
        ("model:org/c", "quantized", "hub.baseModels"),
        ("model:org/b", "unknown", "tags"),
    }


def test_a_big_family_is_drawn_capped_with_a_note_counting_the_rest(tmp_path: Path) -> None:
    from hf_ipfs_scraper import Catalog

    out = tmp_path / "archive"
    with StateStore(out / "state.sqlite") as state:
        tracker = ProvenanceTracker(state)
        records = [model("big/base")] + [model(f"big/ft{i:03d}", base_model="big/base") for i in range(300)]
        for record in records:
            state.upsert_discovered(record.type, record.id, "s")
            tracker.record(record)
    with Catalog(out) as catalog:
        result = catalog.draw_family("model:big/base", tmp_path / "big.svg", max_nodes=50)
    assert (result.nodes_drawn, result.nodes_omitted) == (50, 251)  # the base and 49 of its 300
    text = (tmp_path / "big.svg").read_text()
    assert "+ 251 more family members not shown" in text
    assert "big/ft000" in text and "big/ft299" not in text  # the nearest, by id, are the ones drawn
