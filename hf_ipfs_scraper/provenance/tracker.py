"""``ProvenanceTracker``: the provenance graph, written edge by edge into the state store and read as
a networkx ``DiGraph``.

Writes go to the state store's ``edges`` table one entity at a time (its outgoing edges replaced
in one transaction, so nothing ever rewrites the whole graph). The in-memory graph is built from
that table on the first query (a million models in about 7 s: ``bench/bench_provenance.py``)
and kept up to date with this process's writes; one lock makes the tracker safe to share between
threads. Node keys are ``"type:id"``; a node carries ``mirrored=True`` when this archive holds a
mirror of it, and nothing otherwise; edges carry ``relation``.

At Hub scale (three million nodes, as many edges) a dict per edge and per node is most of the
graph's memory, so the graph shares them: every edge of one relation has the same attribute dict,
every node without a mirror the same empty one, every mirrored node the same ``{"mirrored": True}``
(``_EDGE_DATA``, ``_NOT_MIRRORED``, ``_MIRRORED``). The graph is
therefore read-only to everyone but the tracker: change nothing in its attribute dicts.
"""

from __future__ import annotations

import gc
import threading
import heapq
from collections import deque
from dataclasses import dataclass
from typing import Iterable, Iterator

import networkx as nx

from ..records import RepoRecord
from ..state import StateStore
from ..state.rows import EdgeRow, node_key, split_node
from .edges import BASE_RELATIONS, extract

LINEAGE_RELATIONS = frozenset(BASE_RELATIONS) | {"derived_from"}
_OUT_OF_FAMILY = frozenset({"trained_on", "uses"})  # what a member points at outside the lineage: drawn too
_EDGE_DATA: dict[str, dict[str, str]] = {}  # relation -> the one attribute dict of its edges
_NOT_MIRRORED: dict[str, object] = {}  # the attribute dict of every node without a mirror: keep it empty
_MIRRORED: dict[str, object] = {"mirrored": True}


def _edge_data(relation: str) -> dict[str, str]:
    data = _EDGE_DATA.get(relation)
    if data is None:
        data = _EDGE_DATA.setdefault(relation, {"relation": relation})
    return data


@dataclass(frozen=True, slots=True)
class Step:
    """One edge of a lineage path: ``child`` is a ``relation`` of ``parent``."""

    child: str
    relation: str
    parent: str


class ProvenanceTracker:
    """Provenance of everything the archive has seen. Thread-safe; the graph loads lazily.

    >>> tracker = Catalog("hf_mirror").provenance          # doctest: +SKIP
    >>> tracker.lineage("model:org/finetune")                # doctest: +SKIP
    """

    def __init__(self, state: StateStore) -> None:
        self._state = state
        self._lock = threading.RLock()
        self._graph: nx.DiGraph | None = None
        self._counts: dict[str, int] = {}  # count_descendants answers for the graph as it is

    # -- writing -----------------------------------------------------------------------------
    def record(self, record: RepoRecord) -> list[EdgeRow]:
        """Extract and store the edges of one listed repo; return those kept (cycles dropped)."""
        return self.record_many([record])[0]

    def record_many(self, records: Iterable[RepoRecord]) -> list[list[EdgeRow]]:
        """:meth:`record` for a whole listing page, in one transaction."""
        extractions = [(node_key(r.type, r.id), extract(r)) for r in records]
        kept_all = self._state.replace_edges_many((src, x.edges, x.warnings) for src, x in extractions)
        with self._lock:
            if self._graph is not None:
                graph = self._graph
                for (src, _x), kept in zip(extractions, kept_all):
                    _add_node(graph, src)
                    graph.remove_edges_from(list(graph.out_edges(src)))
                    for e in kept:
                        _add_edge(graph, e.src, e.dst, e.relation)
                nx._clear_cache(graph)
                self._counts.clear()
        return kept_all

    def mark_mirrored(self, node: str) -> None:
        with self._lock:
            if self._graph is not None:
                _add_node(self._graph, node, mirrored=True)

    # -- the graph ---------------------------------------------------------------------------
    @property
    def graph(self) -> nx.DiGraph:
        """The whole graph (loaded on first use). Hold :meth:`locked` while iterating it if
        another thread may be writing."""
        with self._lock:
            if self._graph is None:
                self._graph = self._load()
            return self._graph

    def locked(self) -> threading.RLock:
        return self._lock

    def reload(self) -> None:
        """Forget the loaded graph: the next query reads the edges table again (another process
        may have written since)."""
        with self._lock:
            if self._graph is not None:
                gc.unfreeze()  # let the collector see (and free) what the load froze
            self._graph = None
            self._counts.clear()

    def _load(self) -> nx.DiGraph:
        graph = nx.DiGraph()
        # Millions of new dicts and no cycles among them: the cyclic GC would walk the growing graph
        # again and again (half the build at a million models: bench/bench_provenance.py), and once
        # more, for seconds, in whatever query comes first after it. Off while loading; then frozen
        # (moved out of the collector's sight; refcounting still frees them on reload()).
        collecting = gc.isenabled()
        gc.disable()
        try:
            for type_, id_, has_root in self._state.scan("SELECT type, id, root_cid IS NOT NULL FROM entities"):
                _add_node(graph, node_key(type_, id_), mirrored=bool(has_root))
            for src, dst, relation in self._state.scan("SELECT src, dst, relation FROM edges"):
                _add_edge(graph, src, dst, relation)
        finally:
            if collecting:
                gc.freeze()
                gc.enable()
        return graph

    # -- queries -----------------------------------------------------------------------------
    def node(self, key: str) -> dict[str, object]:
        """``{type, id, mirrored, known}`` of a node (known: the graph has it)."""
        with self._lock:
            graph = self.graph
            type_, id_ = split_node(key)
            known = key in graph
            return {"type": type_, "id": id_, "mirrored": known and bool(graph.nodes[key].get("mirrored")),
                    "known": known}

    def parents(self, key: str) -> list[tuple[str, str]]:
        """``(parent, relation)`` of the lineage edges out of ``key``, by parent."""
        with self._lock:
            graph = self.graph
            if key not in graph:
                return []
            return sorted((dst, d["relation"]) for _, dst, d in graph.out_edges(key, data=True)
                          if d["relation"] in LINEAGE_RELATIONS)

    def children(self, key: str, relation: str | None = None) -> list[tuple[str, str]]:
        """``(child, relation)`` of what derives directly from ``key`` (one relation, or any
        lineage relation), by child."""
        with self._lock:
            graph = self.graph
            if key not in graph:
                return []
            return sorted(
                (src, d["relation"]) for src, _, d in graph.in_edges(key, data=True)
                if (d["relation"] == relation if relation else d["relation"] in LINEAGE_RELATIONS)
            )

    def lineage(self, key: str, *, max_paths: int = 1000) -> list[list[Step]]:
        """Every path from ``key`` up to a root (a repo that derives from nothing), with the
        relation of each step; at most ``max_paths`` paths (merges multiply them). A repo with
        no base gives ``[]``."""
        paths: list[list[Step]] = []
        with self._lock:
            self.graph  # noqa: B018 - load under the lock
            stack: list[tuple[str, list[Step]]] = [(key, [])]
            while stack and len(paths) < max_paths:
                node, path = stack.pop()
                ups = self.parents(node)
                if not ups and path:
                    paths.append(path)
                for parent, relation in reversed(ups):
                    stack.append((parent, [*path, Step(node, relation, parent)]))
        return paths

    def ancestors(self, key: str) -> set[str]:
        return {step.parent for path in self.lineage(key) for step in path}

    def descendants(self, key: str, *, max_nodes: int | None = None) -> list[str]:
        """What derives from ``key``, directly or not, nearest first (breadth-first, by key within
        a level); at most ``max_nodes`` of them."""
        return list(self._walk_down(key, max_nodes))

    def count_descendants(self, key: str) -> int:
        """How many repos derive from ``key``, directly or not (no ordering work: cheaper; kept
        until the graph changes, as a base with 100,000 descendants takes most of a second)."""
        with self._lock:
            graph = self.graph
            if key not in graph:
                return 0
            if key in self._counts:
                return self._counts[key]
            pred = graph._pred  # the adjacency dicts themselves: in_edges() builds a view per node
            seen = {key}
            stack = [key]
            while stack:
                for child, data in pred[stack.pop()].items():
                    if child not in seen and data["relation"] in LINEAGE_RELATIONS:
                        seen.add(child)
                        stack.append(child)
            count = self._counts[key] = len(seen) - 1
            return count

    def _walk_down(self, key: str, limit: int | None) -> Iterator[str]:
        with self._lock:
            graph = self.graph
            if key not in graph:
                return
            seen = {key}
            queue = deque([key])
            found = 0
            while queue:
                node = queue.popleft()
                kids = (src for src, data in graph._pred[node].items()
                        if data["relation"] in LINEAGE_RELATIONS and src not in seen)
                # A base with 50,000 finetunes: take the first few in order without sorting them all.
                ordered = sorted(kids) if limit is None else heapq.nsmallest(limit - found, kids)
                for child in ordered:
                    if child in seen:
                        continue
                    seen.add(child)
                    yield child
                    found += 1
                    if limit is not None and found >= limit:
                        return
                    queue.append(child)

    def datasets_behind(self, key: str) -> set[str]:
        """The datasets ``key`` and its ancestors were trained on, and what those derive from."""
        with self._lock:
            graph = self.graph
            models = {key, *self.ancestors(key)}
            datasets = {dst for m in models if m in graph
                        for _, dst, r in graph.out_edges(m, data="relation") if r == "trained_on"}
            for dataset in list(datasets):
                datasets |= self.ancestors(dataset)
            return datasets

    def spaces_using(self, key: str) -> set[str]:
        with self._lock:
            graph = self.graph
            if key not in graph:
                return set()
            return {src for src, _, r in graph.in_edges(key, data="relation")
                    if r == "uses" and src.startswith("space:")}

    def most_derived(self, n: int = 10, *, relation: str | None = None) -> list[tuple[str, int]]:
        """The bases with the most direct derivatives (of one relation, or any base relation)."""
        wanted = {relation} if relation else set(BASE_RELATIONS)
        counts: list[tuple[str, int]] = []
        with self._lock:
            for dst, parents in self.graph._pred.items():
                if parents:
                    count = sum(data["relation"] in wanted for data in parents.values())
                    if count:
                        counts.append((dst, count))
        return heapq.nsmallest(n, counts, key=lambda kv: (-kv[1], kv[0]))

    def family(self, key: str, *, max_nodes: int | None = None) -> nx.DiGraph:
        """The family tree of ``key`` as a graph ready to draw: its ancestors, its descendants (at
        most ``max_nodes`` of them), the datasets they were trained on, what a Space uses, and the
        Spaces that use them (at most ``max_nodes`` of those too, the nearest members' first), with
        ``type``/``id``/``mirrored`` on every node. ``graph.graph["omitted"]`` counts the family
        members left out past ``max_nodes`` (a base of the whole Hub has tens of thousands of Spaces
        using its derivatives: uncapped, its family was 75,000 nodes and two seconds to make)."""
        with self._lock:
            graph = self.graph
            down = self.descendants(key, max_nodes=max_nodes)
            omitted = self.count_descendants(key) - len(down) if max_nodes is not None else 0
            ordered = [key, *sorted(self.ancestors(key)), *down]  # nearest first: descendants come in BFS order
            members = set(ordered)
            extra: dict[str, None] = {}
            succ, pred = graph._succ, graph._pred
            for member in ordered:
                if member not in graph:
                    continue
                extra.update(dict.fromkeys(sorted(dst for dst, data in succ[member].items()
                                                  if data["relation"] in _OUT_OF_FAMILY and dst not in members)))
                extra.update(dict.fromkeys(sorted(src for src, data in pred[member].items()
                                                  if data["relation"] == "uses" and src not in members)))
                if max_nodes is not None and len(extra) > max_nodes:
                    break  # enough to draw; what is left is counted below, not gathered
            if max_nodes is not None and len(extra) > max_nodes:
                omitted += len(extra) - max_nodes  # at least; the members after this one are not looked at
                extra = dict.fromkeys(list(extra)[:max_nodes])
            family = nx.DiGraph(omitted=omitted)
            for node in sorted(members | extra.keys()):
                type_, id_ = split_node(node)
                mirrored = node in graph and bool(graph.nodes[node].get("mirrored"))
                family.add_node(node, type=type_, id=id_, mirrored=mirrored)
            nodes = set(family)
            family.add_edges_from(
                (u, v, {"relation": r}) for u in sorted(nodes) if u in graph
                for _, v, r in graph.out_edges(u, data="relation") if v in nodes
            )
            return family

    def stats(self) -> dict[str, int]:
        with self._lock:
            graph = self.graph
            mirrored = sum(1 for _, m in graph.nodes(data="mirrored") if m)
            return {"nodes": graph.number_of_nodes(), "edges": graph.number_of_edges(), "mirrored": mirrored,
                    "referenced_only": graph.number_of_nodes() - mirrored}


def _add_node(graph: nx.DiGraph, node: str, *, mirrored: bool = False) -> None:
    """``graph.add_node`` with the shared attribute dicts (see the module docstring): networkx's
    own would update the node's dict in place, which here may be everyone's."""
    if node not in graph._succ:
        graph._succ[node], graph._pred[node] = {}, {}
        graph._node[node] = _MIRRORED if mirrored else _NOT_MIRRORED
    elif mirrored:
        graph._node[node] = _MIRRORED


def _add_edge(graph: nx.DiGraph, src: str, dst: str, relation: str) -> None:
    """``graph.add_edge`` with the relation's shared attribute dict."""
    for node in (src, dst):
        if node not in graph._succ:
            _add_node(graph, node)
    data = _edge_data(relation)
    graph._succ[src][dst] = data
    graph._pred[dst][src] = data
