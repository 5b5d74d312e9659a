"""Draw a repo's family tree (sources above, derivatives below) as an SVG or PNG with matplotlib.

The caller picks the family (``"type:id"`` node keys with ``type``/``id``/``mirrored`` attributes,
edges from the derived repo to its source); this module decides what fits and where it goes:

1. **Select.** Past ``max_nodes`` keep the focus, its ancestors (nearest first), then the nearest
   other members by undirected BFS distance, ties by key; the rest is counted in a note.
2. **Layer.** A node's layer is its longest path to a sink (cycles condensed first), so bases and
   training datasets sit on top and Spaces below the models they use. An edge that skips layers
   gets a bend point in each layer it crosses, so it runs between boxes, not behind them.
3. **Order.** Barycenter sweeps down and up the layers reduce crossings.
4. **Place.** All boxes have one width (ids shortened in the middle with "…"). A layer wider than
   the row limit wraps column by column, so order still reads left to right; bend points and the
   focus's lineage get columns of their own, so the lines through them cross no box of that layer.
   Then each layer slides sideways toward its neighbours (weighted isotonic regression), which
   straightens chains.
5. **Render.** networkx's ``draw_networkx_nodes/edges/labels`` on a private ``Figure``: type by
   colour and box shape, archived (filled) vs only referenced (hollow, dashed), the focus outlined
   in red and its lineage drawn thick. Edges are coloured and dashed by relation with a legend;
   only a small family also gets the relation in words on each edge: on hundreds of edges the
   words would bury the names.

Sizes are layout points; a drawing past ``_MAX_INCHES`` (in width, height or area: a long chain
may be tall, not huge) is scaled down as a whole. Output is deterministic (sorted keys, fixed
``svg.hashsalt``, no date), and each SVG label carries the full node key as its ``id``, so a
shortened name is still findable.
"""

from __future__ import annotations

import dataclasses
import math
import os
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import networkx as nx
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import BoxStyle, Patch
from matplotlib.path import Path as MplPath
from matplotlib.textpath import text_to_path
from matplotlib.transforms import Bbox

from ..errors import InvalidInputError
from ..layout import temp_beside

__all__ = ["FORMATS", "DrawResult", "draw_family"]

FORMATS: Mapping[str, str] = {".svg": "svg", ".png": "png"}

# type -> (fill, outline, singular, plural, legend text)
_TYPES: Mapping[str, tuple[str, str, str, str, str]] = {
    "model": ("#d6e6f5", "#2b6cb0", "model", "models", "model (rounded box)"),
    "dataset": ("#fde3c8", "#c05621", "dataset", "datasets", "dataset (square box)"),
    "space": ("#d9f0d9", "#2f855a", "Space", "Spaces", "Space (pointed box)"),
}
# relation -> (colour, dashes): Okabe-Ito colours and a dash pattern each, for colour-blind readers
_RELATIONS: Mapping[str, tuple[str, Any]] = {
    "finetune": ("#0072b2", "solid"),
    "adapter": ("#009e73", (0, (5, 2))),
    "quantized": ("#e69f00", (0, (1.5, 1.5))),
    "merge": ("#cc79a7", (0, (6, 2, 1.5, 2))),
    "unknown": ("#7f7f7f", (0, (3, 3))),
    "trained_on": ("#d55e00", (0, (4, 2, 1.5, 2, 1.5, 2))),
    "derived_from": ("#8c6d31", (0, (6, 2))),
    "uses": ("#56b4e9", "solid"),
}
_FOCUS_COLOUR = "#c00000"
_REFERENCED_DASHES = (0, (4, 2))

_FONT_PT = 9.0
_LABEL_CHARS = 34  # longer ids are shortened in the middle
_PAD_X, _PAD_Y = 6.0, 4.5  # label to box outline
_BEND_W = 14.0  # the room a long edge takes in each layer it crosses
_H_GAP, _ROW_GAP, _LAYER_GAP = 12.0, 10.0, 46.0  # between boxes, rows of one layer, layers
_MARGIN = 16.0
_MAX_INCHES = (56.0, 200.0, 56.0 * 56.0)  # width, height, area of the drawing; title and legend add a little
_MIN_COLUMNS = 8  # a layer of up to this many boxes never wraps
_ASPECT = 1.6  # width / height a wrapped drawing aims at
_ORDER_SWEEPS, _STRAIGHTEN_SWEEPS = 6, 8
_SMALL_FAMILY_EDGES = 24  # up to this many edges, each also carries its relation in words
_PNG_DPI = 100
_FONT = "DejaVu Sans"  # ships with matplotlib: the same metrics everywhere
_SALT = "hf-ipfs-scraper"  # svg.hashsalt: the same clip-path ids on every run
_LOCK = threading.Lock()  # rc_context swaps the global rcParams: one drawing at a time

_Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class DrawResult:
    """What was written; ``nodes_omitted`` members did not fit under ``max_nodes``."""

    path: Path
    format: str  # "svg" | "png"
    nodes_drawn: int
    nodes_omitted: int


@dataclass(frozen=True, slots=True)
class _Node:
    key: str
    type: str
    id: str
    mirrored: bool


def draw_family(
    graph: nx.DiGraph,
    focus: str,
    path: str | os.PathLike[str],
    *,
    max_nodes: int = 200,
    title: str | None = None,
) -> DrawResult:
    """Draw ``graph`` around ``focus`` into ``path`` (.svg or .png) and say how much was left out.

    Raises InvalidInputError for another suffix, a focus not in ``graph``, ``max_nodes`` < 1 or a
    missing directory. Thread-safe; drawings made at the same time are made one after the other.
    """
    out = Path(path)
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise InvalidInputError(f"cannot draw to {out.name!r}: the file name must end in .svg or .png")
    if not isinstance(graph, nx.DiGraph) or graph.is_multigraph():
        raise InvalidInputError("a family graph must be a networkx DiGraph (edges point to the source)")
    if focus not in graph:
        raise InvalidInputError(f"{focus!r} is not a node of the family graph")
    if max_nodes < 1:
        raise InvalidInputError(f"max_nodes must be at least 1, not {max_nodes}")
    if not out.parent.is_dir():
        raise InvalidInputError(f"cannot draw to {out}: {out.parent} is not a directory")

    kept, omitted = _select(graph, focus, max_nodes)
    nodes = {key: _node(graph, key) for key in kept}
    family = nx.DiGraph()
    family.add_nodes_from(kept)
    family.add_edges_from(
        (u, v, {"relation": _relation(data.get("relation"), nodes[u], nodes[v])})
        for u, v, data in sorted(graph.subgraph(kept).edges(data=True), key=lambda e: e[:2])
        if u != v
    )
    # the caller may have left out members already (ProvenanceTracker.family counts them here)
    earlier = int(graph.graph.get("omitted", 0))
    note = _omitted_note([_node(graph, key) for key in omitted], max_nodes, earlier)
    heading = title if title is not None else f"Family of {nodes[focus].id}"
    # svg.fonttype "none": text stays <text>, so ids are searchable; a fixed salt: the same ids each run
    style = matplotlib.rc_context(
        {"svg.fonttype": "none", "svg.hashsalt": _SALT, "font.family": "sans-serif", "font.sans-serif": [_FONT]}
    )
    with _LOCK, style:
        figure, box = _render(family, nodes, focus, heading, note)
        _save(figure, box, out, fmt, heading)
    return DrawResult(path=out, format=fmt, nodes_drawn=len(kept), nodes_omitted=len(omitted) + earlier)


# -- 1. select -----------------------------------------------------------------------------------
def _select(graph: nx.DiGraph, focus: str, max_nodes: int) -> tuple[list[str], list[str]]:
    """Focus, its ancestors (its sources, nearest first), then the nearest relatives."""
    up = nx.single_source_shortest_path_length(graph, focus)
    near = nx.single_source_shortest_path_length(graph.to_undirected(as_view=True), focus)
    far = len(graph) + 1  # members the focus does not reach come last
    order = sorted(graph, key=lambda n: (n not in up, up.get(n, 0), near.get(n, far), n))
    return order[:max_nodes], sorted(order[max_nodes:])


def _node(graph: nx.DiGraph, key: str) -> _Node:
    """A node's attributes, else what its key says: a referenced-only node may carry none."""
    data = graph.nodes[key]
    prefix, _, rest = key.partition(":")
    kind = str(data.get("type") or prefix)
    repo_id = str(data.get("id") or rest or key)
    return _Node(key, kind if kind in _TYPES else "model", repo_id, bool(data.get("mirrored")))


def _relation(given: object, source: _Node, target: _Node) -> str:
    if isinstance(given, str) and given in _RELATIONS:
        return given
    if source.type == "space":
        return "uses"
    if target.type == "dataset":
        return "derived_from" if source.type == "dataset" else "trained_on"
    return "unknown"


def _omitted_note(omitted: list[_Node], max_nodes: int, earlier: int = 0) -> str | None:
    if not omitted and not earlier:
        return None
    counts = Counter(n.type for n in omitted)
    kinds = [f"{counts[t]} {names[3 if counts[t] > 1 else 2]}" for t, names in _TYPES.items() if counts[t]]
    if earlier:
        kinds.append(f"{earlier} more derivatives")
    return f"+ {len(omitted) + earlier} more family members not shown ({', '.join(kinds)}; max_nodes={max_nodes})"


# -- 2.-4. layer, order, place -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Grid:
    """Box size, boxes per row, and the nodes a wrapped layer treats specially."""

    box_w: float
    box_h: float
    columns: int
    down: frozenset[str]  # linked to a lower layer: at the bottom of its column
    alone: frozenset[str]  # bend points and the focus's lineage: a column of their own

    def width(self, n: str) -> float:
        return _BEND_W if _is_bend(n) else self.box_w


def _is_bend(n: str) -> bool:
    return n.startswith("\0")


def _layers(family: nx.DiGraph) -> dict[str, int]:
    """Longest path to a sink; the members of a cycle share a layer."""
    dag = nx.condensation(family)
    depth: dict[int, int] = {}
    for c in reversed(list(nx.lexicographical_topological_sort(dag))):
        depth[c] = 1 + max((depth[s] for s in dag.successors(c)), default=-1)
    return {n: depth[c] for n, c in dag.graph["mapping"].items()}


def _route(family: nx.DiGraph) -> tuple[nx.DiGraph, dict[tuple[str, str], list[str]], list[list[str]]]:
    """The graph with a bend point wherever an edge crosses a layer; each edge's path; the layers."""
    layer_of = _layers(family)
    routed = nx.DiGraph()
    routed.add_nodes_from(sorted(family))
    paths: dict[tuple[str, str], list[str]] = {}
    for u, v in sorted(family.edges()):
        bends = [f"\0{u}\0{v}\0{k:04d}" for k in range(1, layer_of[u] - layer_of[v])]
        layer_of.update((b, layer_of[u] - k) for k, b in enumerate(bends, 1))
        paths[u, v] = [u, *bends, v]
        routed.add_edges_from(zip(paths[u, v], paths[u, v][1:]))
    layers: list[list[str]] = [[] for _ in range(max(layer_of.values()) + 1)]
    for n in sorted(routed):
        layers[layer_of[n]].append(n)
    return routed, paths, layers


def _pack(layer: Sequence[str], grid: _Grid, columns: int) -> tuple[list[tuple[int, int]], int, list[float]]:
    """(column, row) of each node, the rows, each column's width.

    A layer wider than ``columns`` boxes fills columns top to bottom, so order still reads left to
    right. ``grid.alone`` nodes get a column of their own, in the bottom row (placed after the
    shared column in progress, which leaves no holes); in a shared column the nodes linked further
    down go to the bottom, so their lines down cross no box of this layer.
    """
    step = grid.box_w + _H_GAP
    if sum(grid.width(n) + _H_GAP for n in layer) <= columns * step:
        return [(k, 0) for k in range(len(layer))], 1, [grid.width(n) for n in layer]
    alone = [n in grid.alone for n in layer]
    spare = columns - sum(grid.width(n) + _H_GAP for n, a in zip(layer, alone) if a) / step
    rows = max(1, math.ceil(alone.count(False) / max(1, math.floor(spare), math.ceil(columns / 2))))
    groups: list[list[int]] = []  # indices into layer, one list per column
    shared: list[int] = []
    waiting: list[list[int]] = []
    for k, a in enumerate(alone):
        if a:
            (waiting if shared else groups).append([k])
            continue
        shared.append(k)
        if len(shared) == rows:
            groups += [shared, *waiting]
            shared, waiting = [], []
    groups += [shared, *waiting] if shared else waiting
    slots = [(0, 0)] * len(layer)
    for col, group in enumerate(groups):
        ups = [k for k in group if layer[k] not in grid.down and not alone[k]]
        downs = [k for k in group if layer[k] in grid.down or alone[k]]
        for row, k in enumerate(ups):
            slots[k] = (col, row)
        for row, k in enumerate(reversed(downs)):
            slots[k] = (col, rows - 1 - row)
    return slots, rows, [grid.width(layer[group[0]]) for group in groups]


def _centres(widths: Sequence[float]) -> list[float]:
    """x of each column, the whole row centred on 0."""
    left = -(sum(widths) + _H_GAP * (len(widths) - 1)) / 2
    xs = []
    for w in widths:
        xs.append(left + w / 2)
        left += w + _H_GAP
    return xs


def _xs(layer: Sequence[str], grid: _Grid) -> list[float]:
    slots, _, widths = _pack(layer, grid, grid.columns)
    centres = _centres(widths)
    return [centres[col] for col, _ in slots]


def _links(routed: nx.DiGraph) -> dict[str, list[str]]:
    return {n: sorted(set(nx.all_neighbors(routed, n))) for n in routed}


def _order(routed: nx.DiGraph, layers: list[list[str]], grid: _Grid) -> None:
    """Barycenter sweeps: each node moves toward the mean x of its neighbours in the layers passed."""
    layer_of = {n: i for i, layer in enumerate(layers) for n in layer}
    links = _links(routed)
    x: dict[str, float] = {}
    for layer in layers:
        x.update(zip(layer, _xs(layer, grid)))
    for _ in range(_ORDER_SWEEPS):
        for indices, above in ((range(1, len(layers)), True), (range(len(layers) - 2, -1, -1), False)):
            for i in indices:

                def key(n: str) -> tuple[float, float]:
                    seen = [x[m] for m in links[n] if layer_of[m] != i and (layer_of[m] < i) == above]
                    return (sum(seen) / len(seen) if seen else x[n], x[n])

                layers[i].sort(key=key)
                x.update(zip(layers[i], _xs(layers[i], grid)))


def _place(routed: nx.DiGraph, layers: list[list[str]], grid: _Grid) -> dict[str, _Point]:
    """Rows from the top, then sideways moves toward the neighbours (see _straighten)."""
    x: dict[str, float] = {}
    y: dict[str, float] = {}
    wrapped: set[int] = set()
    top = 0.0
    for i, layer in enumerate(layers):
        slots, rows, widths = _pack(layer, grid, grid.columns)
        centres = _centres(widths)
        for n, (col, row) in zip(layer, slots):
            x[n], y[n] = centres[col], top - row * (grid.box_h + _ROW_GAP)
        if rows > 1:
            wrapped.add(i)
        top -= rows * (grid.box_h + _ROW_GAP) - _ROW_GAP + _LAYER_GAP
    _straighten(routed, layers, wrapped, x, grid)
    return {n: (x[n], y[n]) for n in routed}


def _straighten(
    routed: nx.DiGraph, layers: list[list[str]], wrapped: AbstractSet[int], x: dict[str, float], grid: _Grid
) -> None:
    """Slide nodes under the weighted mean of their neighbours, keeping order and spacing.

    A node weighs its degree cubed, both as a neighbour and as a mover, so a chain stays straight
    and the Space beside it gives way. In a one-row layer the move is a weighted isotonic
    regression of x minus the minimal offsets (pool adjacent violators); a wrapped layer moves as
    one block. Sweeps go down (looking up) and up (looking down); the last two look both ways.
    """
    layer_of = {n: i for i, layer in enumerate(layers) for n in layer}
    weight = {n: float(routed.degree(n)) ** 3 for n in routed}
    links = _links(routed)
    down, up = range(1, len(layers)), range(len(layers) - 2, -1, -1)
    for indices, look in [(down, -1), (up, 1)] * (_STRAIGHTEN_SWEEPS // 2 - 1) + [(down, 0), (up, 0)]:
        for i in indices:
            layer = layers[i]
            targets, movers = [], []
            for n in layer:
                seen = [m for m in links[n] if layer_of[m] != i and (not look or (layer_of[m] > i) == (look > 0))]
                total = sum(weight[m] for m in seen)
                targets.append(sum(weight[m] * x[m] for m in seen) / total if seen else x[n])
                movers.append(weight[n] if seen else 1e-6)
            if i in wrapped:
                shift = sum(w * (t - x[n]) for n, t, w in zip(layer, targets, movers)) / sum(movers)
                x.update((n, x[n] + shift) for n in layer)
                continue
            offsets = [0.0]
            for a, b in zip(layer, layer[1:]):
                offsets.append(offsets[-1] + (grid.width(a) + grid.width(b)) / 2 + _H_GAP)
            fitted = _pool_adjacent_violators([t - o for t, o in zip(targets, offsets)], movers)
            x.update((n, v + o) for n, v, o in zip(layer, fitted, offsets))


def _pool_adjacent_violators(values: Sequence[float], weights: Sequence[float]) -> list[float]:
    """The non-decreasing sequence closest to ``values`` in weighted least squares."""
    blocks: list[tuple[float, float, int]] = []  # (mean, weight, length)
    for v, w in zip(values, weights):
        mean, weight, length = v, w, 1
        while blocks and blocks[-1][0] > mean:
            m0, w0, n0 = blocks.pop()
            mean, weight, length = (m0 * w0 + mean * weight) / (w0 + weight), w0 + weight, n0 + length
        blocks.append((mean, weight, length))
    return [mean for mean, _, length in blocks for _ in range(length)]


def _shorten(text: str, limit: int = _LABEL_CHARS) -> str:
    if len(text) <= limit:
        return text
    head = (limit - 1) // 2
    return text[:head] + "…" + text[len(text) - (limit - 1 - head) :]


def _grid(labels: Iterable[str], layers: list[list[str]], down: AbstractSet[str], alone: AbstractSet[str]) -> _Grid:
    """Boxes as wide as the widest label; columns so that a wrapped drawing is about _ASPECT wide."""
    bold = FontProperties(family=_FONT, size=_FONT_PT, weight="bold")
    width = max(text_to_path.get_text_width_height_descent(s, bold, ismath=False)[0] for s in labels)
    box_w, box_h = math.ceil(width + 2 * _PAD_X), math.ceil(_FONT_PT * 1.2 + 2 * _PAD_Y)
    grid = _Grid(box_w, box_h, 1, frozenset(down), frozenset(alone))
    fit = max(1, int((_MAX_INCHES[0] * 72 - 2 * _MARGIN + _H_GAP) // (box_w + _H_GAP)))
    best: tuple[float, int] | None = None
    for columns in range(min(_MIN_COLUMNS, fit), fit + 1):
        packed = [_pack(layer, grid, columns) for layer in layers]
        wide = max(sum(widths) + _H_GAP * len(widths) for _, _, widths in packed)
        tall = sum(rows * (box_h + _ROW_GAP) + _LAYER_GAP for _, rows, _ in packed)
        score = abs(math.log(wide / tall / _ASPECT))
        if best is None or score < best[0] - 1e-9:
            best = (score, columns)
        if all(rows == 1 for _, rows, _ in packed):
            break  # nothing wraps any more
    assert best is not None
    return dataclasses.replace(grid, columns=best[1])


# -- 5. render -----------------------------------------------------------------------------------
def _render(
    family: nx.DiGraph, nodes: Mapping[str, _Node], focus: str, heading: str, note: str | None
) -> tuple[Figure, Bbox]:
    """The figure, and the part of it to save (inches)."""
    labels = {n: _shorten(nodes[n].id) for n in family}
    routed, paths, layers = _route(family)
    layer_of = {n: i for i, layer in enumerate(layers) for n in layer}
    lineage = {focus, *nx.descendants(family, focus)}  # the focus and its sources
    down = {n for n in routed if any(layer_of[m] > layer_of[n] for m in routed.predecessors(n))}
    grid = _grid(labels.values(), layers, down, lineage | {n for n in routed if _is_bend(n)})
    _order(routed, layers, grid)
    pos = _place(routed, layers, grid)
    xs, ys = [x for x, _ in pos.values()], [y for _, y in pos.values()]  # bend points too
    x0, x1 = min(xs) - grid.box_w / 2 - _MARGIN, max(xs) + grid.box_w / 2 + _MARGIN
    y0, y1 = min(ys) - grid.box_h / 2 - _MARGIN, max(ys) + grid.box_h / 2 + _MARGIN
    wide, tall = (x1 - x0) / 72, (y1 - y0) / 72
    scale = min(1.0, _MAX_INCHES[0] / wide, _MAX_INCHES[1] / tall, math.sqrt(_MAX_INCHES[2] / (wide * tall)))
    figure = Figure(figsize=(wide * scale, tall * scale))  # scale: display points per layout point
    ax = figure.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_axis_off()
    _draw_edges(ax, family, routed, paths, pos, grid, scale, lineage)
    _draw_boxes(ax, family, nodes, pos, grid, scale, focus, labels)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    extras = _decorate(ax, family, nodes, heading, note)
    # the bounding box by hand: bbox_inches="tight" would draw every artist once more to find it
    renderer = FigureCanvasAgg(figure).get_renderer()
    box = Bbox.union([ax.bbox, *(artist.get_window_extent(renderer) for artist in extras)])
    return figure, box.transformed(figure.dpi_scale_trans.inverted()).padded(0.25)


def _shape(kind: str, aspect: float) -> MplPath:
    """A box one unit wide, as a marker (scatter sizes a marker by its width)."""
    h = aspect / 2
    if kind == "dataset":
        return MplPath([(-0.5, -h), (0.5, -h), (0.5, h), (-0.5, h), (-0.5, -h)], closed=True)
    if kind == "space":
        c = h * 0.9
        corners = [(-0.5 + c, -h), (0.5 - c, -h), (0.5, 0), (0.5 - c, h), (-0.5 + c, h), (-0.5, 0), (-0.5 + c, -h)]
        return MplPath(corners, closed=True)
    return BoxStyle.Round(pad=0, rounding_size=h * 0.7)(-0.5, -h, 1.0, 2 * h, 1.0)


def _draw_boxes(
    ax: Any, family: nx.DiGraph, nodes: Mapping[str, _Node], pos: Mapping[str, _Point],
    grid: _Grid, scale: float, focus: str, labels: Mapping[str, str],
) -> None:  # fmt: skip
    size = (grid.box_w * scale) ** 2
    shapes = {kind: _shape(kind, grid.box_h / grid.box_w) for kind in _TYPES}
    for kind, (fill, outline, *_) in _TYPES.items():
        for mirrored in (True, False):
            group = [n for n in sorted(family) if nodes[n].type == kind and nodes[n].mirrored == mirrored]
            if not group:
                continue
            boxes = nx.draw_networkx_nodes(
                family, pos, nodelist=group, node_size=size, node_shape="s", ax=ax,
                node_color=fill if mirrored else "white", edgecolors=outline, linewidths=1.1 * scale,
            )  # fmt: skip
            boxes.set_paths([shapes[kind]])  # networkx cannot take a Path marker (it np.unique()s them)
            boxes.set_linestyle("solid" if mirrored else _REFERENCED_DASHES)
    halo = nx.draw_networkx_nodes(
        family, pos, nodelist=[focus], node_size=size, node_shape="s", node_color="none",
        edgecolors=_FOCUS_COLOUR, linewidths=3.0 * scale, ax=ax,
    )  # fmt: skip
    halo.set_paths([shapes[nodes[focus].type]])
    halo.set_zorder(3)
    styles = [(True, "#111111", "normal"), (False, "#4a4a4a", "normal"), (None, _FOCUS_COLOUR, "bold")]
    for archived, colour, weight in styles:  # None: the focus
        chosen = {n: labels[n] for n in sorted(family) if (nodes[n].mirrored if n != focus else None) == archived}
        texts = nx.draw_networkx_labels(
            family, pos, labels=chosen, ax=ax, font_size=_FONT_PT * scale, font_color=colour,
            font_weight=weight, font_family="sans-serif",
        )  # fmt: skip
        for n, text in texts.items():
            text.set_gid(n)  # the full "type:id" stays in the SVG however short the label
            text.set_zorder(4)


def _outline_gap(dx: float, dy: float, grid: _Grid) -> float:
    """Distance from a box centre to its outline in direction (dx, dy)."""
    t = min(grid.box_w / 2 / abs(dx) if dx else math.inf, grid.box_h / 2 / abs(dy) if dy else math.inf)
    return t * math.hypot(dx, dy)


def _draw_edges(
    ax: Any, family: nx.DiGraph, routed: nx.DiGraph, paths: Mapping[tuple[str, str], list[str]],
    pos: Mapping[str, _Point], grid: _Grid, scale: float, lineage: AbstractSet[str],
) -> None:  # fmt: skip
    """Each edge as segments through its bend points, the arrowhead on the last, at the source's box.

    Segments start at box centres (the opaque boxes cover them), so only arrowheads need a margin
    and the segments without one are a single cheap LineCollection.
    """
    edges = sorted(family.edges(data="relation"))
    small = len(edges) <= _SMALL_FAMILY_EDGES
    for relation, (colour, style) in _RELATIONS.items():
        for thick in (False, True):
            group = [(u, v) for u, v, r in edges if r == relation and (u in lineage and v in lineage) == thick]
            if not group:
                continue
            common: dict[str, Any] = {
                "ax": ax, "edge_color": colour, "style": style, "alpha": 1.0 if small or thick else 0.75,
                "width": (2.4 if thick else 1.3 if small else 0.8) * scale,
            }  # fmt: skip
            segments = [list(zip(paths[e], paths[e][1:])) for e in group]
            heads = [segs[-1] for segs in segments]
            gaps = [_outline_gap(pos[a][0] - pos[b][0], pos[a][1] - pos[b][1], grid) for a, b in heads]
            arrows = nx.draw_networkx_edges(
                routed, pos, edgelist=heads, arrows=True, arrowstyle="-|>", node_size=0,
                min_target_margin=[(g + 1.5) * scale for g in gaps],
                arrowsize=(10 if thick else 9 if small else 7) * scale, **common,
            )  # fmt: skip
            for arrow in arrows:
                arrow.set_zorder(1.5 if thick else 1)
            tails = [seg for segs in segments for seg in segs[:-1]]
            if tails:
                lines = nx.draw_networkx_edges(routed, pos, edgelist=tails, arrows=False, **common)
                lines.set_zorder(1.5 if thick else 1)
            if small:
                nx.draw_networkx_edge_labels(
                    routed, pos, edge_labels={segs[len(segs) // 2]: relation for segs in segments}, ax=ax,
                    node_size=0, rotate=False, font_size=(_FONT_PT - 1.5) * scale, font_color=colour,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.9},
                )  # fmt: skip


def _decorate(ax: Any, family: nx.DiGraph, nodes: Mapping[str, _Node], heading: str, note: str | None) -> list[Any]:
    """Title, the note on omitted members and the legend, outside the axes, never scaled down."""
    lines = [(note, _FONT_PT + 1, {"color": _FOCUS_COLOUR, "style": "italic"})] if note else []
    lines.append((heading, 16, {"weight": "bold"}))
    extras: list[Any] = []
    top = 4.0
    for text, size, style in lines:  # bottom up
        extras.append(ax.annotate(
            text, (0.0, 1.0), xycoords="axes fraction", xytext=(_MARGIN, top), textcoords="offset points",
            fontsize=size, va="bottom", ha="left", **style,
        ))  # fmt: skip
        top += size * 1.6
    kinds = {nodes[n].type for n in family}
    relations = {r for _, _, r in family.edges(data="relation")}
    handles: list[Any] = [Patch(facecolor=t[0], edgecolor=t[1], label=t[4]) for k, t in _TYPES.items() if k in kinds]
    handles += [
        Patch(facecolor="#eeeeee", edgecolor="#555555", label="archived here (filled)"),
        Patch(facecolor="white", edgecolor="#555555", linestyle=_REFERENCED_DASHES, label="only referenced (dashed)"),
        Patch(facecolor="white", edgecolor=_FOCUS_COLOUR, linewidth=2.5, label="focus (red outline)"),
        Line2D([], [], color="#555555", linewidth=2.4, label="the focus's lineage (thick)"),
    ]
    handles += [
        Line2D([], [], color=colour, linestyle=dashes, linewidth=1.6, label=relation)
        for relation, (colour, dashes) in _RELATIONS.items()
        if relation in relations
    ]
    legend = ax.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(0.0, 0.0), ncols=min(4, math.ceil(len(handles) / 3)),
        fontsize=_FONT_PT, frameon=False, borderaxespad=0.4, handlelength=3.0, alignment="left",
        title="edges point from the derived repo to its source", title_fontsize=_FONT_PT,
    )  # fmt: skip
    return [*extras, legend]


def _save(figure: Figure, box: Bbox, out: Path, fmt: str, heading: str) -> None:
    """Write through a temporary file, so a reader never sees half a picture."""
    if fmt == "svg":
        options: dict[str, Any] = {"metadata": {"Date": None, "Title": heading}}
    else:  # zlib level 3: much faster than the default 6 and hardly bigger on flat drawings
        options = {"metadata": {"Title": heading}, "pil_kwargs": {"compress_level": 3}}
    fd, tmp = temp_beside(out)
    try:
        with os.fdopen(fd, "wb") as fh:
            figure.savefig(fh, format=fmt, dpi=_PNG_DPI, bbox_inches=box, **options)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
