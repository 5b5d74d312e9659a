"""The unified Parquet export: one typed table of every entity, and its files, edges, trending
snapshots and runs, for pandas, DuckDB and polars.

Schema version 2 (``SCHEMA_VERSION``; also in each file's key-value metadata under
``hf_ipfs_scraper.schema_version``), snake_case, every column typed — timestamps are UTC, lists
are ``list<string>``, card data is a JSON string; nothing is ever a Python repr. ``ENTITY_SCHEMA``
and friends below are the schema; ARCHITECTURE.md describes each column. Version 2 added
``mirrored``, ``listed_at``, ``gone_at`` and ``renamed_to``.

Two scopes (``SCOPES``):

* ``mirror`` (default, into ``<output_dir>/export``): the entities the mirror handles — every
  status but ``listed`` — in ``all_entities.parquet`` and one file per type, with the files,
  provenance edges (those from these entities), trending snapshots and runs.
* ``catalog`` (into ``<output_dir>/catalog_export``): every entity of the chosen types whatever
  its status, the repos a catalog walk only listed and the gone ones too, in ``catalog.parquet``,
  with every provenance edge. Never merged: the state store deletes nothing, so the file is
  rewritten whole. Its own directory, so each directory has one data card naming exactly its
  files, and an archive snapshot (which carries ``export/``) does not carry the whole Hub.

How it is written, and why:

* **Streamed, column-wise**: entities and their READMEs are read from the state store in key
  order and merged with the provenance edges read in the same order, ``ROW_GROUP`` rows at a
  time, so memory stays flat at a million entities; see "rows" below for why it is fast.
* **Atomic per file**: every file is written to a temporary name in the export directory and
  renamed over the old one only when complete, so a crash or a kill leaves the previous export's
  files whole and readable.
* **Merged** (mirror scope): rows of the previous ``all_entities.parquet`` whose entity this
  archive no longer has, or has an older state of (``updated_at``), are carried over (upsert by
  ``(entity_type, id)``, newest wins) — several archives can feed one export.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import itertools
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from .errors import InvalidInputError, StoreError
from .layout import temp_beside, write_temp
from .staged import StagedFolder
from .provenance.edges import BASE_RELATIONS
from .records import REPO_TYPES
from .state.rows import ENTITY_STATUSES, split_node

if TYPE_CHECKING:
    from .catalog import Catalog

V = TypeVar("V")
SCHEMA_VERSION = "2"
PARALLEL_FROM = 50_000  # entities in scope: from here on the side tables are written by a second process
ROW_GROUP = 10_000
_META = {b"hf_ipfs_scraper.schema_version": SCHEMA_VERSION.encode()}
_TS = pa.timestamp("us", tz="UTC")
_LIST = pa.list_(pa.string())

ENTITY_SCHEMA = pa.schema([
    ("entity_type", pa.string()), ("id", pa.string()), ("author", pa.string()), ("status", pa.string()),
    ("mirrored", pa.bool_()), ("sha", pa.string()), ("root_cid", pa.string()), ("pinned", pa.bool_()),
    ("size_bytes", pa.int64()), ("total_bytes", pa.int64()), ("file_count", pa.int64()),
    ("readme", pa.string()), ("readme_cid", pa.string()),
    ("trending_score", pa.float64()), ("trending_rank", pa.int64()), ("downloads", pa.int64()), ("likes", pa.int64()),
    ("tags", _LIST), ("languages", _LIST), ("license", pa.string()),
    ("pipeline_tag", pa.string()), ("library_name", pa.string()),
    ("base_models", _LIST), ("base_model_relation", pa.string()), ("datasets", _LIST), ("models", _LIST),
    ("task_categories", _LIST), ("sdk", pa.string()), ("gated", pa.bool_()), ("gated_mode", pa.string()),
    ("private", pa.bool_()), ("title", pa.string()), ("description", pa.string()), ("citation", pa.string()),
    ("card_data", pa.string()),
    ("created_at", _TS), ("last_modified", _TS), ("mirrored_at", _TS), ("first_seen", _TS), ("updated_at", _TS),
    ("listed_at", _TS), ("gone_at", _TS), ("renamed_to", pa.string()),
], metadata=_META)
FILE_SCHEMA = pa.schema([
    ("entity_type", pa.string()), ("entity_id", pa.string()), ("path", pa.string()), ("size", pa.int64()),
    ("sha256", pa.string()), ("oid", pa.string()), ("cid", pa.string()), ("tsize", pa.int64()), ("recorded_at", _TS),
], metadata=_META)
EDGE_SCHEMA = pa.schema([
    ("src_type", pa.string()), ("src_id", pa.string()), ("dst_type", pa.string()), ("dst_id", pa.string()),
    ("relation", pa.string()), ("evidence", pa.string()),
], metadata=_META)
TRENDING_SCHEMA = pa.schema([
    ("run_id", pa.int64()), ("entity_type", pa.string()), ("rank", pa.int64()), ("id", pa.string()),
    ("trending_score", pa.float64()), ("likes", pa.int64()), ("downloads", pa.int64()), ("captured_at", _TS),
], metadata=_META)
RUN_SCHEMA = pa.schema([
    ("run_id", pa.int64()), ("key", pa.string()), ("status", pa.string()), ("started_at", _TS), ("ended_at", _TS),
    ("stats", pa.string()), ("log", pa.string()),
], metadata=_META)

SIDE_SCHEMAS = {"files.parquet": FILE_SCHEMA, "provenance_edges.parquet": EDGE_SCHEMA,
                "trending_snapshots.parquet": TRENDING_SCHEMA, "runs.parquet": RUN_SCHEMA}
ENTITY_FILES = {"model": "models.parquet", "dataset": "datasets.parquet", "space": "spaces.parquet"}
ALL_ENTITIES = "all_entities.parquet"
CATALOG_ENTITIES = "catalog.parquet"
SCOPES = ("mirror", "catalog")
EXPORT_DIRS = {"mirror": "export", "catalog": "catalog_export"}  # under the output directory, by default
_MIRROR_STATUSES = tuple(s for s in ENTITY_STATUSES if s != "listed")  # what the mirror handles
_TYPE_OF = {name: type_ for type_, name in ENTITY_FILES.items()}


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What an export wrote: file name → rows, rows carried over from the previous export, and the
    directory's root CID (``pinned``: added to the store; else only computed, the store being busy),
    and which of ``SCOPES`` it was."""

    directory: Path
    rows: dict[str, int]
    carried_over: int
    cid: str | None = None
    pinned: bool = False
    scope: str = "mirror"


# -- entry point ---------------------------------------------------------------------------------
def export_directory(output_dir: str | os.PathLike[str], scope: str = "mirror") -> Path:
    """Where an export of ``scope`` goes by default: ``<output_dir>/export`` or ``<output_dir>/catalog_export``."""
    _check_scope(scope)
    return Path(output_dir) / EXPORT_DIRS[scope]


def export_catalog(catalog: Catalog, out_dir: str | os.PathLike[str], *, types: Iterable[str] | None = None,
                   merge: bool = True, scope: str = "mirror") -> ExportResult:
    """Write the export of ``catalog`` (entities of ``types``, default all) into ``out_dir``: the
    mirror's entities (``scope="mirror"``, merged with the previous export unless ``merge`` is
    False) or the whole catalog (``scope="catalog"``, always rewritten whole)."""
    _check_scope(scope)
    wanted = tuple(types) if types is not None else REPO_TYPES
    unknown = [t for t in wanted if t not in REPO_TYPES]
    if unknown or not wanted:
        raise InvalidInputError(f"unknown entity types {unknown}; expected some of {', '.join(REPO_TYPES)}")
    out = Path(out_dir)
    other = CATALOG_ENTITIES if scope == "mirror" else ALL_ENTITIES
    if (out / other).exists():  # one directory, one data card: the scopes' shared tables differ
        raise InvalidInputError(f"{out} holds an export of the other scope ({other}): give each scope its own directory")
    with StagedFolder(out) as staged:  # every table replaced at once, or none: a crash leaves the old export
        rows, carried = _export_into(staged, catalog, wanted, merge, scope)
        staged.commit()
    return ExportResult(out, rows, carried, None, scope=scope)


def _export_into(staged: StagedFolder, catalog: Catalog, wanted: tuple[str, ...], merge: bool,
                 scope: str) -> tuple[dict[str, int], int]:
    """Write every table and the data card of the export to ``staged``: rows by file, rows carried over."""
    out = staged.folder
    rows: dict[str, int] = {}
    previous = _previous_versions(out / ALL_ENTITIES) if merge and scope == "mirror" else {}
    side = _SideProcess(catalog, out, wanted, scope) if _in_scope(catalog, scope) >= PARALLEL_FROM else None
    names = (ALL_ENTITIES, *(ENTITY_FILES[t] for t in wanted)) if scope == "mirror" else (CATALOG_ENTITIES,)
    writers = {name: _AtomicParquet(out / name, ENTITY_SCHEMA) for name in names}
    carried = 0
    try:
        both: dict[tuple[str, str], _dt.datetime | None] = {}  # in this archive and the previous export
        for batch in _entity_batches(catalog, wanted, scope):
            if previous:  # an entity the previous export holds in a newer state keeps that row
                batch = _not_older(batch, previous, both)
            _write_entities(writers, batch)
        if previous:
            for batch in _carried_over(out / ALL_ENTITIES, both):
                carried += batch.num_rows
                _write_entities(writers, batch)
        for writer in writers.values():
            rows[writer.path.name] = writer.rows
            staged.stage(writer.path, writer.finish())
    except BaseException:
        if side is not None:
            side.stop()
        raise
    finally:
        for writer in writers.values():
            writer.abort()
    tables = side.result() if side is not None else write_side_tables(catalog, out, wanted, scope)
    for name, (count, temporary) in tables.items():
        rows[name] = count
        staged.stage(out / name, temporary)
    staged.stage(out / "README.md", write_temp(out / "README.md", data_card(rows, scope)))
    return rows, carried


def _check_scope(scope: str) -> None:
    if scope not in SCOPES:
        raise InvalidInputError(f"unknown export scope {scope!r}; expected one of {', '.join(SCOPES)}")


def _in_scope(catalog: Catalog, scope: str) -> int:
    """How many entities (of every type) an export of ``scope`` reads."""
    counts = catalog.state.counts()
    return sum(n for status, n in counts.items() if scope == "catalog" or status != "listed")


def side_tables(scope: str) -> tuple[str, ...]:
    """The files besides the entities an export of ``scope`` writes: the catalog scope only the
    edges (the whole graph, which its ``base_models`` come from); files, trending snapshots and
    runs are the mirror's own, in its export already, and the files table alone is millions of rows."""
    return ("provenance_edges.parquet",) if scope == "catalog" else (
        "files.parquet", "provenance_edges.parquet", "trending_snapshots.parquet", "runs.parquet")


def write_side_tables(catalog: Catalog, out: Path, types: tuple[str, ...],
                      scope: str = "mirror") -> dict[str, tuple[int, Path]]:
    """Write the tables besides the entities (``side_tables``) to temporary files beside their
    names in ``out``: file name → (rows, temporary file), for the caller to commit."""
    batches: dict[str, Callable[[], Iterator[pa.RecordBatch]]] = {
        "files.parquet": lambda: _file_batches(catalog, types),
        "provenance_edges.parquet": lambda: _edge_batches(catalog, scope),
        "trending_snapshots.parquet": lambda: _trending_batches(catalog, types),
        "runs.parquet": lambda: _run_batches(catalog),
    }
    return {name: _write_table(out / name, SIDE_SCHEMAS[name], batches[name]()) for name in side_tables(scope)}


class _SideProcess:
    """``write_side_tables`` in a second Python process (``python -m hf_ipfs_scraper.export``), so
    a large export uses two cores: the files table alone is millions of rows, the whole Hub's edges
    as many. A process, not a thread: turning rows into Arrow arrays holds the GIL. Not
    multiprocessing: its spawn would import the caller's ``__main__`` again (a script without a
    main guard would run twice)."""

    def __init__(self, catalog: Catalog, out: Path, types: tuple[str, ...], scope: str) -> None:
        argv = [sys.executable, "-m", __name__, str(catalog.output_dir), str(out), ",".join(types), scope]
        self._proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._tables = side_tables(scope)

    def result(self) -> dict[str, tuple[int, Path]]:
        out, err = self._proc.communicate()
        if self._proc.returncode != 0:
            lines = err.strip().splitlines() or [f"exit status {self._proc.returncode}"]
            raise StoreError(f"writing the export's {', '.join(self._tables)} failed: {lines[-1]}")
        return {name: (rows, Path(temporary)) for name, (rows, temporary) in json.loads(out).items()}

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.communicate()


def _side_main(argv: list[str]) -> None:
    from .catalog import Catalog

    output_dir, out, types, scope = argv
    parent = os.getppid()

    def orphaned() -> None:  # the export was killed: stop too (the temporary files are left)
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=orphaned, daemon=True).start()
    with Catalog(output_dir) as catalog:
        tables = write_side_tables(catalog, Path(out), tuple(types.split(",")), scope)
        print(json.dumps({name: [rows, str(temporary)] for name, (rows, temporary) in tables.items()}))


def add_to_store(result: ExportResult, store_path: Path, profile: str) -> ExportResult:
    """Add the export directory to the embedded store and pin it (``ipfs add -r``; pin name
    ``export`` or ``catalog-export``), so its CID can be shared; when a running mirror holds the
    store, compute the same CID without storing (``-n``)."""
    from dataclasses import replace

    from .errors import StoreLockedError
    from .ipfs.options import ImportOptions
    from .storage.embedded import EmbeddedStore

    options = ImportOptions.profile(profile)
    try:
        with EmbeddedStore(store_path, options=options) as store:
            pin = "export" if result.scope == "mirror" else f"{result.scope}-export"
            added = store.add_path(result.directory, recursive=True, pin_name=pin)
        return replace(result, cid=str(added.cid), pinned=True)
    except StoreLockedError:
        from .ipfs.fsimport import add_path
        from .ipfs.sink import NullSink

        return replace(result, cid=str(add_path(result.directory, NullSink(), options, recursive=True).cid))


def _write_entities(writers: dict[str, _AtomicParquet], batch: pa.RecordBatch) -> None:
    """The batch into the every-type file, and its rows of each type into that type's file."""
    types = batch.column("entity_type").to_pylist()
    for name, writer in writers.items():
        type_ = _TYPE_OF.get(name)
        if type_ is None:
            writer.write(batch)
        elif picked := [i for i, t in enumerate(types) if t == type_]:
            writer.write(batch.take(picked))


# -- rows ------------------------------------------------------------------------------------------
# Read column-wise, never row by row into dicts: a million entities carry gigabytes of README text,
# so the text goes from SQLite to Arrow as bytes (CAST AS BLOB: no Python str is decoded, Arrow
# checks the UTF-8 in C), timestamps are converted as whole columns, and the few JSON fields the
# export needs from the metadata are extracted by SQLite. Entities and READMEs are two scans in
# key order merged here, not a JOIN: a JOIN looks every README up by key, three times slower. The
# mirror scope reads its statuses through the status index, one UNION ALL arm each, which SQLite
# merges in key order (no sort, one snapshot): the walk's millions of listed rows are never read.
def _json_text(column: str, key: str) -> str:
    """SQL for ``column``'s JSON member ``key`` as text (NULL when absent or the JSON is invalid)."""
    return f"CASE WHEN json_valid({column}) THEN CAST(json_extract({column}, '$.{key}') AS TEXT) END"


_ENTITY_SELECT = (
    "SELECT type, id, author, status, sha, root_cid, size_bytes, total_bytes, file_count, readme_cid,"
    " trending_score, downloads, likes, tags, languages, license, pipeline_tag, library_name, task_categories,"
    " sdk, gated, private, card_data, created_at, last_modified, mirrored_at, first_seen, updated_at,"
    " listed_at, gone_at, renamed_to,"
    f" {', '.join(_json_text('metadata', key) for key in ('title', 'description', 'citation'))},"
    f" {_json_text('card_data', 'pretty_name')}"
    " FROM entities WHERE type = ?1"
)
_ENTITY_QUERY = f"{_ENTITY_SELECT} ORDER BY id"  # the catalog scope: every entity of a type
_MIRROR_QUERY = " UNION ALL ".join(f"{_ENTITY_SELECT} AND status = '{s}'" for s in _MIRROR_STATUSES) + " ORDER BY id"
# an edge from a repo known only from a catalog walk (a covering index look-up a row)
_FROM_LISTED = ("SELECT 1 FROM entities INDEXED BY entities_by_status WHERE type = substr(src, 1, instr(src, ':') - 1)"
                " AND status = 'listed' AND id = substr(src, instr(src, ':') + 1)")
_README_QUERY = "SELECT entity_id, CAST(text AS BLOB), text IS NULL FROM readmes WHERE type = ? ORDER BY entity_id"


def _entity_batches(catalog: Catalog, types: tuple[str, ...], scope: str) -> Iterator[pa.RecordBatch]:
    query = _ENTITY_QUERY if scope == "catalog" else _MIRROR_QUERY
    for type_ in types:
        ranks = {row.id: row.rank for row in catalog.trending(type_)}
        edges = _Merge(_edges_by_src(catalog, type_, scope))
        readmes = _Merge((row[0], row) for row in catalog.state.scan(_README_QUERY, (type_,)))
        for chunk in _chunks(catalog.state.scan(query, (type_,))):
            yield _entity_batch(catalog, chunk, ranks, edges, readmes)


def _entity_batch(catalog: Catalog, chunk: list[tuple[Any, ...]], ranks: dict[str, int],
                  edges: _Merge[list[tuple[str, str]]], readmes: _Merge[tuple[Any, ...]]) -> pa.RecordBatch:
    (types, ids, author, status, sha, root, size, total, count, readme_cid, score, downloads, likes, tags,
     languages, license_, pipeline, library, tasks, sdk, gated, private, card, created, modified, mirrored,
     first_seen, updated, listed, gone, renamed, title, description, citation, pretty_name) = zip(*chunk)
    type_, prefix = types[0], f"{types[0]}:"  # one scan is one type
    found = readmes.take(ids)
    texts = [None if (r := found.get(i)) is None else r[1] if not r[2] else _long_readme(catalog, type_, i)
             for i in ids]
    linked = {key: _edge_columns(mine) for key, mine in edges.take([prefix + i for i in ids]).items()}
    bases, relations, datasets, models = zip(*(linked.get(prefix + i, _NO_EDGES) for i in ids)) if linked else (
        [_NONE] * len(ids), [None] * len(ids), [_NONE] * len(ids), [_NONE] * len(ids))
    sizes = size if None not in size else [  # entities mirrored before sizes were recorded (or never)
        s if s is not None or r is None else _files_size(catalog, t, i) for t, i, r, s in zip(types, ids, root, size)]
    roots, gated_modes = pa.array(root, pa.string()), pa.array(gated, pa.string())
    statuses = pa.array(status, pa.string())
    tag_lists, language_lists, task_lists = _list_arrays(tags, languages, tasks)
    columns: dict[str, Any] = {
        "entity_type": types, "id": ids, "author": author, "status": statuses, "mirrored": pc.equal(statuses, "done"),
        "sha": sha, "root_cid": roots,
        "pinned": pc.is_valid(roots), "size_bytes": sizes, "total_bytes": total, "file_count": count,
        "readme": pa.array(texts, pa.binary()).cast(pa.string()), "readme_cid": readme_cid,
        "trending_score": score, "trending_rank": [ranks.get(i) for i in ids], "downloads": downloads,
        "likes": likes, "tags": tag_lists, "languages": language_lists,
        "license": license_, "pipeline_tag": pipeline, "library_name": library, "base_models": bases,
        "base_model_relation": relations, "datasets": datasets, "models": models,
        "task_categories": task_lists, "sdk": sdk, "gated": pc.is_valid(gated_modes),
        "gated_mode": gated_modes, "private": [bool(p) if p is not None else None for p in private],
        "title": [a or b for a, b in zip(title, pretty_name)], "description": description, "citation": citation,
        "card_data": card, "created_at": _iso_array(created), "last_modified": _iso_array(modified),
        "mirrored_at": _epoch_array(mirrored), "first_seen": _epoch_array(first_seen),
        "updated_at": _epoch_array(updated), "listed_at": _epoch_array(listed), "gone_at": _epoch_array(gone),
        "renamed_to": renamed,
    }
    return _record_batch(columns, ENTITY_SCHEMA)


def _long_readme(catalog: Catalog, type_: str, id_: str) -> bytes | None:
    """A README over the state store's text cap, read from the block store."""
    text = catalog.readme(type_, id_)
    return text.encode("utf-8") if text is not None else None


def _edge_columns(mine: list[tuple[str, str]]) -> tuple[list[str], str | None, list[str], list[str]]:
    """``base_models``, ``base_model_relation``, ``datasets`` and ``models`` of an entity's edges."""
    base = [(dst, rel) for dst, rel in mine if rel in BASE_RELATIONS]
    return ([split_node(dst)[1] for dst, _ in base], ",".join(sorted({rel for _, rel in base})) or None,
            [split_node(dst)[1] for dst, _ in mine if dst.startswith("dataset:")],
            [split_node(dst)[1] for dst, rel in mine if rel == "uses" and dst.startswith("model:")])


_NONE: list[str] = []  # shared by every row without edges (read, never changed)
_NO_EDGES: tuple[list[str], None, list[str], list[str]] = (_NONE, None, _NONE, _NONE)


class _Merge(Generic[V]):
    """Values of a ``(key, value)`` stream in ascending key order, looked up by ascending keys:
    the merge half of a merge join of two scans in the same order."""

    def __init__(self, pairs: Iterator[tuple[str, V]]) -> None:
        self._pairs = pairs
        self._head = next(pairs, None)

    def take(self, keys: Sequence[str]) -> dict[str, V]:
        """The values of ``keys`` (ascending) that the stream has, read up to the last of them: a
        batch's worth at a time, so each row costs a dict look-up, not a call."""
        found: dict[str, V] = {}
        if not keys:
            return found
        wanted, last = set(keys), keys[-1]
        head, pairs = self._head, self._pairs
        while head is not None and head[0] <= last:
            if head[0] in wanted:
                found[head[0]] = head[1]
            head = next(pairs, None)
        self._head = head
        return found


def _edges_by_src(catalog: Catalog, type_: str, scope: str) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """``(src, [(dst, relation), ...])`` of one type's nodes in scope, in the entities' key order."""
    prefix = f"{type_}:"
    current: str | None = None
    group: list[tuple[str, str]] = []
    # src >= 'type:' AND src < 'type;' : every key of the type (';' follows ':' in ASCII)
    in_scope = "" if scope == "catalog" else f" AND NOT EXISTS ({_FROM_LISTED})"
    for src, dst, relation in catalog.state.scan(
        f"SELECT src, dst, relation FROM edges WHERE src >= ? AND src < ?{in_scope} ORDER BY src, dst",
        (prefix, f"{type_};"),
    ):
        if src != current:
            if current is not None:
                yield current, group
            current, group = src, []
        group.append((dst, relation))
    if current is not None:
        yield current, group


def _files_size(catalog: Catalog, type_: str, id_: str) -> int:
    """For entities mirrored before sizes were recorded: the sum of their recorded files."""
    return sum(f.size for f in catalog.files(type_, id_))


def _table_batches(rows: Iterator[tuple[Any, ...]], schema: pa.Schema,
                   convert: dict[str, Callable[[tuple[Any, ...]], Any]] | None = None) -> Iterator[pa.RecordBatch]:
    """Rows of a SELECT of ``schema``'s columns, in its order, as record batches; ``convert``
    maps a column name to a function of the whole column."""
    for chunk in _chunks(rows):
        columns = dict(zip(schema.names, zip(*chunk)))
        for name, function in (convert or {}).items():
            columns[name] = function(columns[name])
        yield _record_batch(columns, schema)


def _file_batches(catalog: Catalog, types: tuple[str, ...]) -> Iterator[pa.RecordBatch]:
    marks = ", ".join("?" * len(types))
    return _table_batches(catalog.state.scan(
        f"SELECT type, entity_id, path, size, sha256, oid, cid, tsize, recorded_at FROM files WHERE type IN ({marks})"
        " ORDER BY type, entity_id, path", types,
    ), FILE_SCHEMA, {"recorded_at": _epoch_array})


def _edge_batches(catalog: Catalog, scope: str) -> Iterator[pa.RecordBatch]:
    """Every edge (catalog scope), or those whose source the mirror handles (mirror scope)."""
    where = "" if scope == "catalog" else f" WHERE NOT EXISTS ({_FROM_LISTED})"
    rows = ((*split_node(src), *split_node(dst), relation, evidence) for src, dst, relation, evidence in
            catalog.state.scan(f"SELECT src, dst, relation, evidence FROM edges{where} ORDER BY src, dst"))
    return _table_batches(rows, EDGE_SCHEMA)


def _trending_batches(catalog: Catalog, types: tuple[str, ...]) -> Iterator[pa.RecordBatch]:
    marks = ", ".join("?" * len(types))
    return _table_batches(catalog.state.scan(
        "SELECT run_id, type, rank, id, trending_score, likes, downloads, captured_at FROM trending"
        f" WHERE type IN ({marks}) ORDER BY run_id, type, rank", types,
    ), TRENDING_SCHEMA, {"captured_at": _epoch_array})


def _run_batches(catalog: Catalog) -> Iterator[pa.RecordBatch]:
    return _table_batches(catalog.state.scan(
        "SELECT id, key, status, started_at, ended_at, stats, log FROM runs ORDER BY id"
    ), RUN_SCHEMA, {"started_at": _epoch_array, "ended_at": _epoch_array})


# -- merging ---------------------------------------------------------------------------------------
def _previous_versions(path: Path) -> dict[tuple[str, str], _dt.datetime | None]:
    """``(entity_type, id) → updated_at`` of the previous export (two columns read: cheap)."""
    if not path.is_file():
        return {}
    table = pq.read_table(path, columns=["entity_type", "id", "updated_at"])
    return dict(zip(zip(table.column("entity_type").to_pylist(), table.column("id").to_pylist()),
                    table.column("updated_at").to_pylist()))


def _older(mine: _dt.datetime | None, theirs: _dt.datetime | None) -> bool:
    return mine is not None and theirs is not None and mine < theirs


def _not_older(batch: pa.RecordBatch, previous: dict[tuple[str, str], _dt.datetime | None],
               both: dict[tuple[str, str], _dt.datetime | None]) -> pa.RecordBatch:
    """The batch less the rows the previous export holds in a newer state; records in ``both``
    this archive's ``updated_at`` of the entities the previous export has too."""
    keys = zip(batch.column("entity_type").to_pylist(), batch.column("id").to_pylist())
    keep = []
    for i, (key, stamp) in enumerate(zip(keys, batch.column("updated_at").to_pylist())):
        if key in previous:
            both[key] = stamp
            if _older(stamp, previous[key]):
                continue
        keep.append(i)
    return batch.take(keep) if len(keep) != batch.num_rows else batch


def _carried_over(path: Path, both: dict[tuple[str, str], _dt.datetime | None]) -> Iterator[pa.RecordBatch]:
    """Rows of the previous export to keep: entities absent from this export, or newer there (the
    very comparison ``_not_older`` made, so each entity is written once)."""
    for batch in pq.ParquetFile(path).iter_batches(batch_size=ROW_GROUP):
        keys = zip(batch.column("entity_type").to_pylist(), batch.column("id").to_pylist())
        stamps = batch.column("updated_at").to_pylist()
        keep = [i for i, (key, stamp) in enumerate(zip(keys, stamps)) if key not in both or _older(both[key], stamp)]
        if keep:
            yield _upgraded(batch.take(keep))


def _upgraded(batch: pa.RecordBatch) -> pa.RecordBatch:
    """A previous export's rows in this schema: the columns an older version lacked are derived
    (``mirrored``) or null."""
    arrays = []
    for field in ENTITY_SCHEMA:
        if field.name in batch.schema.names:
            arrays.append(batch.column(field.name))
        elif field.name == "mirrored":
            arrays.append(pc.equal(batch.column("status"), "done"))
        else:
            arrays.append(pa.nulls(batch.num_rows, field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=ENTITY_SCHEMA)


# -- writing ---------------------------------------------------------------------------------------
class _AtomicParquet:
    """A Parquet file written to a temporary name, renamed over ``path`` by ``commit``.

    Batches are compressed and written on a thread of the file's own (pyarrow lets go of the GIL
    there), one batch at a time: while it writes, the caller reads and converts the next batch,
    and the entity files are compressed side by side. At most one batch waits, so memory stays
    flat; an error in the writing thread is raised by the next ``write`` or ``commit``.
    """

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        fd, self._tmp = temp_beside(path)
        os.close(fd)
        self._writer: pq.ParquetWriter | None = pq.ParquetWriter(self._tmp, schema, compression="zstd", compression_level=3)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix=f"export-{path.stem}")
        self._pending: Future[None] | None = None
        self._finished = False
        self.rows = 0

    def write(self, batch: pa.RecordBatch) -> None:
        assert self._writer is not None
        self._wait()
        self._pending = self._thread.submit(self._writer.write_batch, batch, row_group_size=ROW_GROUP)
        self.rows += batch.num_rows

    def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def finish(self) -> Path:
        """Close the file; its temporary name, for ``StagedFolder.stage`` (it commits it)."""
        assert self._writer is not None
        self._wait()
        self._writer.close()
        self._writer = None
        self._finished = True
        return self._tmp

    def abort(self) -> None:
        with contextlib.suppress(Exception):  # the write's own error is already on its way up
            self._wait()
        self._thread.shutdown(wait=True)
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if not self._finished:  # a finished file is the caller's (staged)
            self._tmp.unlink(missing_ok=True)


def _chunks(rows: Iterator[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    """``rows`` ``ROW_GROUP`` at a time."""
    while chunk := list(itertools.islice(rows, ROW_GROUP)):
        yield chunk


def _record_batch(columns: dict[str, Any], schema: pa.Schema) -> pa.RecordBatch:
    """A batch of ``schema`` from whole columns: Arrow arrays as they are, sequences converted."""
    arrays = [col if isinstance(col := columns[f.name], pa.Array) else pa.array(col, type=f.type) for f in schema]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _write_table(path: Path, schema: pa.Schema, batches: Iterator[pa.RecordBatch]) -> tuple[int, Path]:
    writer = _AtomicParquet(path, schema)
    try:
        for batch in batches:
            writer.write(batch)
        return writer.rows, writer.finish()
    finally:
        writer.abort()


# -- values ----------------------------------------------------------------------------------------
_LISTS = pa.schema([("t", _LIST), ("l", _LIST), ("c", _LIST)])


def _list_arrays(tags: Sequence[str | None], languages: Sequence[str | None],
                 tasks: Sequence[str | None]) -> list[pa.Array]:
    """Three JSON list columns as ``list<string>`` arrays, parsed by Arrow's JSON reader in C++: a
    row of five tags costs 0.5 µs, against 2.8 µs splitting in Python and converting the lists
    (measured: the biggest per-row cost of a walked catalog's rows). A batch Arrow cannot read as
    lists of strings (a member that is not a string, a value that is not a list, a line break in a
    value) goes value by value through ``_list``."""
    data = "\n".join(f'{{"t":{t or "[]"},"l":{lang or "[]"},"c":{c or "[]"}}}'
                     for t, lang, c in zip(tags, languages, tasks)).encode()
    try:
        table = pa_json.read_json(pa.BufferReader(data), read_options=pa_json.ReadOptions(
            use_threads=False, block_size=len(data) + 1), parse_options=pa_json.ParseOptions(explicit_schema=_LISTS))
    except pa.ArrowInvalid:
        table = None
    if table is not None and table.num_rows == len(tags) and not any(
            column.null_count or pc.list_flatten(column).null_count for column in table.columns):
        return [column.combine_chunks() for column in table.columns]
    return [pa.array([_list(v) for v in column], _LIST) for column in (tags, languages, tasks)]


def _list(value: str | None) -> list[str]:
    """A JSON list column as strings (a member that is not a string keeps its JSON text).

    Three of them a row make this the export's hottest function: a list of plain strings as
    ``json.dumps`` writes it (no escapes, either separator) is split instead of parsed, five
    times faster; a quote count tells a split that went wrong, and anything else is parsed."""
    if not value or value == "[]":
        return []
    if value[:2] == '["' and value[-2:] == '"]' and "\\" not in value:
        inner = value[2:-2]
        items = inner.split('", "') if '", "' in inner else inner.split('","')
        if value.count('"') == 2 * len(items):
            return items
    parsed = json.loads(value)
    if not isinstance(parsed, list):
        return []
    return [v if isinstance(v, str) else json.dumps(v) for v in parsed]


def _epoch_array(seconds: Sequence[float | None]) -> pa.Array:
    """Epoch seconds (floats) as UTC microsecond timestamps, the whole column at once."""
    micros = pc.round(pc.multiply(pa.array(seconds, pa.float64()), 1e6))
    return pc.cast(micros, pa.int64()).cast(_TS)


def _iso_array(texts: Sequence[str | None]) -> pa.Array:
    """The Hub's ISO 8601 text (``2024-11-01T10:26:30.000Z``) as UTC timestamps; a column with a
    value Arrow cannot parse goes value by value, and that value becomes null."""
    try:
        return pa.array(texts, pa.string()).cast(_TS)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([_iso(t) for t in texts], _TS)


def _iso(text: str | None) -> _dt.datetime | None:
    if not text:
        return None
    try:
        value = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)


_SCOPE_TEXT = {
    "mirror": "The repos this archive mirrors or tracks (every status but `listed`); `mirrored` tells the ones "
              "whose files are archived.",
    "catalog": "Every repo this archive knows of, from its catalog walks of the Hub's listings and its mirror, "
               "gone ones included (`gone_at`); `mirrored` tells the ones whose files are archived.",
}


def data_card(rows: dict[str, int], scope: str = "mirror") -> str:
    """The export's README.md: a Hub dataset card whose configs name the files written (``rows``:
    file name → rows), then the schema."""
    front = "".join(f"- config_name: {name.removesuffix('.parquet')}\n  data_files: {name}\n" for name in rows)
    entity_files = [name.removesuffix(".parquet") for name in rows if name not in SIDE_SCHEMAS]
    lines = [
        "---", "configs:", front.rstrip("\n"), "tags:", "- hf-ipfs-scraper", "---", "",
        f"# Hugging Face Hub {'archive' if scope == 'mirror' else 'catalog'} export", "",
        f"Written by hf-ipfs-scraper (scope `{scope}`), export schema version {SCHEMA_VERSION}. {_SCOPE_TEXT[scope]}",
        "Every file is Parquet (zstd); timestamps are UTC, lists are `list<string>`, `card_data` is JSON text.", "",
        "| file | rows |", "|---|---:|",
        *(f"| `{name}` | {n} |" for name, n in rows.items()), "",
        "## Columns", "",
        _columns(f"entities ({', '.join(entity_files)})", ENTITY_SCHEMA), "",
    ]
    for name in rows:
        if name in SIDE_SCHEMAS:
            lines += [_columns(name.removesuffix(".parquet"), SIDE_SCHEMAS[name]), ""]
    return "\n".join(lines)


def _columns(name: str, schema: pa.Schema) -> str:
    return f"- **{name}**: " + ", ".join(f"`{f.name}` {f.type}" for f in schema)


if __name__ == "__main__":  # the side process of a large export (``_SideProcess``)
    _side_main(sys.argv[1:])
