"""``provenance show|lineage|descendants|export``: the family tree of a repo, as a picture, a table
or files. Each reads the archive through the read-only ``Catalog``.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from ..config import Config
from ..errors import InvalidInputError
from ..state.keys import ENTITY_TYPES, node_key, split_node

if TYPE_CHECKING:
    from ..catalog import Catalog


def register(groups: Any) -> None:
    parser = groups.add_parser("provenance", help="base models, finetunes, datasets and Spaces of a repo")
    commands = parser.add_subparsers(dest="provenance_cmd", metavar="COMMAND", required=True)

    show = commands.add_parser(
        "show", help="draw the family tree (SVG or PNG)",
        epilog="example: hf-ipfs-scraper provenance show meta-llama/Llama-3.1-8B -o tree.svg",
    )
    _id_flags(show)
    show.add_argument("-o", "--output", required=True, metavar="FILE", help="tree.svg or tree.png")
    show.add_argument("--max-nodes", type=int, default=200, help="draw at most this many repos (default 200)")
    show.set_defaults(run=_show)

    for name, run, what in (("lineage", _lineage, "every path up to the root bases"),
                            ("descendants", _descendants, "everything derived from the repo")):
        sub = commands.add_parser(name, help=what, epilog=f"example: hf-ipfs-scraper provenance {name} org/name --json")
        _id_flags(sub)
        sub.add_argument("--json", action="store_true", help="machine-readable output")
        if name == "descendants":
            sub.add_argument("--limit", type=int, help="at most this many (nearest first)")
        sub.set_defaults(run=run)

    export = commands.add_parser("export", help="GraphML, node-link JSON and a Parquet edge table")
    export.add_argument("-o", "--output-dir", dest="export_dir", metavar="DIR",
                        help="where (default: <output_dir>/provenance)")
    export.set_defaults(run=_export)


def _id_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("repo", metavar="ID", help="repo id (org/name), or type:id such as dataset:squad")
    parser.add_argument("--type", default="model", choices=ENTITY_TYPES, help="repo type of ID (default: model)")


def _catalog(config: Config) -> Catalog:
    from ..catalog import Catalog  # networkx loads at the first catalog.provenance, in these commands only

    return Catalog.from_config(config)


def _key(args: argparse.Namespace, catalog: Catalog) -> str:
    type_, id_ = split_node(args.repo)
    key = args.repo if type_ in ENTITY_TYPES and id_ else node_key(args.type, args.repo)
    if not catalog.provenance.node(key)["known"]:
        raise InvalidInputError(f"{key} is not in the provenance graph of {catalog.output_dir}")
    return key


def _show(args: argparse.Namespace, config: Config) -> int:
    with _catalog(config) as catalog:
        result = catalog.draw_family(_key(args, catalog), args.output, max_nodes=args.max_nodes)
    note = f", {result.nodes_omitted} more not shown" if result.nodes_omitted else ""
    print(f"wrote {result.path} ({result.format}, {result.nodes_drawn} repos{note})")
    return 0


def _lineage(args: argparse.Namespace, config: Config) -> int:
    with _catalog(config) as catalog:
        key = _key(args, catalog)
        paths = catalog.provenance.lineage(key)
        datasets = sorted(catalog.provenance.datasets_behind(key))
    if args.json:
        print(json.dumps({"repo": key, "paths": [[[s.child, s.relation, s.parent] for s in p] for p in paths],
                          "datasets": datasets}, indent=2))
        return 0
    if not paths:
        print(f"{key}: no base recorded")
    for path in paths:
        print(" -> ".join([path[0].child] + [f"({s.relation}) {s.parent}" for s in path]))
    if datasets:
        print("trained on: " + ", ".join(datasets))
    return 0


def _descendants(args: argparse.Namespace, config: Config) -> int:
    with _catalog(config) as catalog:
        key = _key(args, catalog)
        tracker = catalog.provenance
        rows = [(child, tracker.parents(child)) for child in tracker.descendants(key, max_nodes=args.limit)]
        total = tracker.count_descendants(key)
    if args.json:
        print(json.dumps({"repo": key, "total": total,
                          "descendants": [{"repo": c, "parents": [[p, r] for p, r in ps]} for c, ps in rows]}, indent=2))
        return 0
    for child, parents in rows:
        print(f"{child}  " + ", ".join(f"{r} of {p}" for p, r in parents))
    print(f"{total} descendants" + (f" ({len(rows)} shown)" if len(rows) < total else ""))
    return 0


def _export(args: argparse.Namespace, config: Config) -> int:
    with _catalog(config) as catalog:
        paths = catalog.export_provenance(args.export_dir)
    for fmt, path in paths.items():
        print(f"{fmt}: {path}")
    return 0
