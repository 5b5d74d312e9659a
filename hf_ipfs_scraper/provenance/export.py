"""The provenance graph as files other tools read: GraphML (Gephi, yEd, networkx), node-link JSON
(d3, networkx) and a Parquet edge table (pandas, DuckDB, polars).

Written under ``<output_dir>/provenance/`` atomically (a temp file, then a rename), so a reader never
sees half a file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

import networkx as nx
import pyarrow as pa
import pyarrow.parquet as pq

from ..layout import temp_beside
from ..state import StateStore
from ..state.rows import split_node
from .tracker import ProvenanceTracker

FILES = {"graphml": "provenance.graphml", "json": "provenance.json", "parquet": "edges.parquet"}


def export_provenance(tracker: ProvenanceTracker, state: StateStore, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write the three files; return their paths by format."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    graph = _attributed(tracker)
    paths = {fmt: out / name for fmt, name in FILES.items()}
    _atomic(paths["graphml"], lambda tmp: nx.write_graphml(graph, tmp))
    data = nx.node_link_data(graph, edges="edges")
    _atomic(paths["json"], lambda tmp: tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n"))
    table = _edge_table(state)
    _atomic(paths["parquet"], lambda tmp: pq.write_table(table, tmp))
    return paths


def _attributed(tracker: ProvenanceTracker) -> nx.DiGraph:
    """A copy with ``type``, ``id`` and ``mirrored`` on every node (GraphML wants them explicit)."""
    out = nx.DiGraph()
    with tracker.locked():
        graph = tracker.graph
        for node, mirrored in graph.nodes(data="mirrored"):
            type_, id_ = split_node(node)
            out.add_node(node, type=type_, id=id_, mirrored=bool(mirrored))
        out.add_edges_from(graph.edges(data=True))
    return out


def _edge_table(state: StateStore) -> pa.Table:
    columns: dict[str, list[str]] = {k: [] for k in ("src_type", "src_id", "dst_type", "dst_id", "relation", "evidence")}
    for src, dst, relation, evidence in state.scan("SELECT src, dst, relation, evidence FROM edges ORDER BY src, dst"):
        for prefix, key in (("src", src), ("dst", dst)):
            type_, id_ = split_node(key)
            columns[f"{prefix}_type"].append(type_)
            columns[f"{prefix}_id"].append(id_)
        columns["relation"].append(relation)
        columns["evidence"].append(evidence)
    return pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()})


def _atomic(path: Path, write: Callable[[Path], object]) -> None:
    fd, tmp = temp_beside(path)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
