"""The unified Parquet export: one typed table of every entity, and its files, edges, trending
snapshots and runs, for pandas, DuckDB and polars.

Schema version 1 (``SCHEMA_VERSION``; also in each file's key-value metadata under
``hf_ipfs_scraper.schema_version``), snake_case, every column typed — timestamps are UTC, lists
are ``list<string>``, card data is a JSON string; nothing is ever a Python repr. ``ENTITY_SCHEMA``
and friends below are the schema; ARCHITECTURE.md describes each column.

How it is written, and why:

* **Streamed**: entities are read from the state store in key order (their README text joined in
  SQL) and merged with the provenance edges read in the same order, ``ROW_GROUP`` rows at a time,
  so memory stays flat at a million entities.
* **Atomic per file**: every file is written to a temporary name in the export directory and
  renamed over the old one only when complete, so a crash or a kill leaves the previous export's
  files whole and readable.
* **Merged**: rows of the previous ``all_entities.parquet`` whose entity this archive no longer
  has, or has an older state of (``updated_at``), are carried over (upsert by
  ``(entity_type, id)``, newest wins) — several archives can feed one export.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from operator import itemgetter
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from .errors import InvalidInputError
from .provenance.edges import BASE_RELATIONS
from .records import REPO_TYPES
from .state.rows import split_node

if TYPE_CHECKING:
    from .catalog import Catalog

SCHEMA_VERSION = "1"
ROW_GROUP = 10_000
_META = {b"hf_ipfs_scraper.schema_version": SCHEMA_VERSION.encode()}
_TS = pa.timestamp("us", tz="UTC")
_LIST = pa.list_(pa.string())

ENTITY_SCHEMA = pa.schema([
    ("entity_type", pa.string()), ("id", pa.string()), ("author", pa.string()), ("status", pa.string()),
    ("sha", pa.string()), ("root_cid", pa.string()), ("pinned", pa.bool_()),
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

ENTITY_FILES = {"model": "models.parquet", "dataset": "datasets.parquet", "space": "spaces.parquet"}
ALL_ENTITIES = "all_entities.parquet"


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What an export wrote: file name → rows, rows carried over from the previous export, and the
    directory's root CID (``pinned``: added to the store; else only computed, the store being busy)."""

    directory: Path
    rows: dict[str, int]
    carried_over: int
    cid: str | None = None
    pinned: bool = False


# -- entry point ---------------------------------------------------------------------------------
def export_catalog(catalog: Catalog, out_dir: str | os.PathLike[str], *, types: Iterable[str] | None = None,
                   merge: bool = True) -> ExportResult:
    """Write the export of ``catalog`` (entities of ``types``, default all) into ``out_dir``."""
    wanted = tuple(types) if types is not None else REPO_TYPES
    unknown = [t for t in wanted if t not in REPO_TYPES]
    if unknown or not wanted:
        raise InvalidInputError(f"unknown entity types {unknown}; expected some of {', '.join(REPO_TYPES)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows: dict[str, int] = {}
    previous = _previous_versions(out / ALL_ENTITIES) if merge else {}
    writers = {name: _AtomicParquet(out / name, ENTITY_SCHEMA) for name in (ALL_ENTITIES, *(ENTITY_FILES[t] for t in wanted))}
    carried = 0
    try:
        current: set[tuple[str, str]] = set()
        for batch in _batches(_entity_rows(catalog, wanted), ENTITY_SCHEMA):
            if previous:  # an entity the previous export holds in a newer state keeps that row
                keys = list(zip(batch.column("entity_type").to_pylist(), batch.column("id").to_pylist()))
                stamps = batch.column("updated_at").to_pylist()
                keep = [i for i, (key, stamp) in enumerate(zip(keys, stamps)) if not _older(stamp, previous.get(key))]
                current.update(keys)
                batch = batch.take(keep) if len(keep) != batch.num_rows else batch
            _write_entities(writers, batch)
        if merge and previous:
            for batch in _carried_over(out / ALL_ENTITIES, current, catalog, previous):
                carried += batch.num_rows
                _write_entities(writers, batch)
        for writer in writers.values():
            rows[writer.path.name] = writer.rows
            writer.commit()
    finally:
        for writer in writers.values():
            writer.abort()
    for name, schema, make in (
        ("files.parquet", FILE_SCHEMA, lambda: _file_rows(catalog, wanted)),
        ("provenance_edges.parquet", EDGE_SCHEMA, lambda: _edge_rows(catalog)),
        ("trending_snapshots.parquet", TRENDING_SCHEMA, lambda: _trending_rows(catalog, wanted)),
        ("runs.parquet", RUN_SCHEMA, lambda: _run_rows(catalog)),
    ):
        rows[name] = _write_table(out / name, schema, make())
    _write_text(out / "README.md", data_card(rows, wanted))
    return ExportResult(out, rows, carried, None)


def add_to_store(result: ExportResult, store_path: Path, profile: str) -> ExportResult:
    """Add the export directory to the embedded store and pin it (``ipfs add -r``), so its CID can be
    shared; when a running mirror holds the store, compute the same CID without storing (``-n``)."""
    from dataclasses import replace

    from .errors import StoreLockedError
    from .ipfs.options import ImportOptions
    from .storage.embedded import EmbeddedStore

    options = ImportOptions.profile(profile)
    try:
        with EmbeddedStore(store_path, options=options) as store:
            added = store.add_path(result.directory, recursive=True, pin_name="export")
        return replace(result, cid=str(added.cid), pinned=True)
    except StoreLockedError:
        from .ipfs.fsimport import add_path
        from .ipfs.sink import NullSink

        return replace(result, cid=str(add_path(result.directory, NullSink(), options, recursive=True).cid))


def _write_entities(writers: dict[str, _AtomicParquet], batch: pa.RecordBatch) -> None:
    writers[ALL_ENTITIES].write(batch)
    types = batch.column("entity_type").to_pylist()
    for type_, name in ENTITY_FILES.items():
        if name in writers:
            picked = [i for i, t in enumerate(types) if t == type_]
            if picked:
                writers[name].write(batch.take(picked))


# -- rows ------------------------------------------------------------------------------------------
_ENTITY_QUERY = (
    "SELECT e.type, e.id, e.author, e.status, e.sha, e.root_cid, e.size_bytes, e.total_bytes, e.file_count,"
    " r.text, e.readme_cid, e.trending_score, e.downloads, e.likes, e.tags, e.languages, e.license,"
    " e.pipeline_tag, e.library_name, e.task_categories, e.sdk, e.gated, e.private, e.card_data, e.metadata,"
    " e.created_at, e.last_modified, e.mirrored_at, e.first_seen, e.updated_at, r.cid"
    " FROM entities e LEFT JOIN readmes r ON r.type = e.type AND r.entity_id = e.id"
    " WHERE e.type = ? ORDER BY e.id"
)


def _entity_rows(catalog: Catalog, types: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    for type_ in types:
        ranks = {row.id: row.rank for row in catalog.trending(type_)}
        edges = _edges_by_src(catalog, type_)
        links = next(edges, None)
        for row in catalog.state.scan(_ENTITY_QUERY, (type_,)):
            (t, id_, author, status, sha, root, size, total, count, text, readme_cid, score, downloads, likes, tags,
             languages, license_, pipeline, library, tasks, sdk, gated, private, card, meta, created, modified,
             mirrored, first_seen, updated, readme_row_cid) = row
            key = f"{t}:{id_}"
            while links is not None and links[0] < key:
                links = next(edges, None)
            mine = links[1] if links is not None and links[0] == key else []
            metadata = json.loads(meta) if meta else {}
            if text is None and readme_row_cid is not None:  # over the state store's text cap
                text = catalog.readme(t, id_)
            bases = [(dst, rel) for dst, rel in mine if rel in BASE_RELATIONS]
            yield {
                "entity_type": t, "id": id_, "author": author, "status": status, "sha": sha, "root_cid": root,
                "pinned": root is not None, "size_bytes": size if size is not None else _files_size(catalog, t, id_, root),
                "total_bytes": total, "file_count": count, "readme": text, "readme_cid": readme_cid,
                "trending_score": score, "trending_rank": ranks.get(id_), "downloads": downloads, "likes": likes,
                "tags": _list(tags), "languages": _list(languages), "license": license_,
                "pipeline_tag": pipeline, "library_name": library,
                "base_models": [split_node(dst)[1] for dst, _ in bases],
                "base_model_relation": ",".join(sorted({rel for _, rel in bases})) or None,
                "datasets": [split_node(dst)[1] for dst, _ in mine if dst.startswith("dataset:")],
                "models": [split_node(dst)[1] for dst, rel in mine if rel == "uses" and dst.startswith("model:")],
                "task_categories": _list(tasks), "sdk": sdk, "gated": gated is not None, "gated_mode": gated,
                "private": bool(private) if private is not None else None,
                "title": metadata.get("title") or (json.loads(card).get("pretty_name") if card else None),
                "description": metadata.get("description"), "citation": metadata.get("citation"),
                "card_data": card, "created_at": _iso(created), "last_modified": _iso(modified),
                "mirrored_at": _epoch(mirrored), "first_seen": _epoch(first_seen), "updated_at": _epoch(updated),
            }


def _edges_by_src(catalog: Catalog, type_: str) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """``(src, [(dst, relation), ...])`` of one type's nodes, in the entities' key order."""
    prefix = f"{type_}:"
    current: str | None = None
    group: list[tuple[str, str]] = []
    # src >= 'type:' AND src < 'type;' : every key of the type (';' follows ':' in ASCII)
    for src, dst, relation in catalog.state.scan(
        "SELECT src, dst, relation FROM edges WHERE src >= ? AND src < ? ORDER BY src, dst", (prefix, f"{type_};")
    ):
        if src != current:
            if current is not None:
                yield current, group
            current, group = src, []
        group.append((dst, relation))
    if current is not None:
        yield current, group


def _files_size(catalog: Catalog, type_: str, id_: str, root: str | None) -> int | None:
    """For entities mirrored before sizes were recorded: the sum of their recorded files."""
    if root is None:
        return None
    return sum(f.size for f in catalog.files(type_, id_))


def _file_rows(catalog: Catalog, types: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    marks = ", ".join("?" * len(types))
    for row in catalog.state.scan(
        f"SELECT type, entity_id, path, size, sha256, oid, cid, tsize, recorded_at FROM files WHERE type IN ({marks})"
        " ORDER BY type, entity_id, path", types,
    ):
        t, entity, path, size, sha256, oid, cid, tsize, recorded = row
        yield {"entity_type": t, "entity_id": entity, "path": path, "size": size, "sha256": sha256, "oid": oid,
               "cid": cid, "tsize": tsize, "recorded_at": _epoch(recorded)}


def _edge_rows(catalog: Catalog) -> Iterator[dict[str, Any]]:
    for src, dst, relation, evidence in catalog.state.scan(
        "SELECT src, dst, relation, evidence FROM edges ORDER BY src, dst"
    ):
        (st, si), (dt_, di) = split_node(src), split_node(dst)
        yield {"src_type": st, "src_id": si, "dst_type": dt_, "dst_id": di, "relation": relation, "evidence": evidence}


def _trending_rows(catalog: Catalog, types: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    marks = ", ".join("?" * len(types))
    for run_id, t, rank, id_, score, likes, downloads, captured in catalog.state.scan(
        "SELECT run_id, type, rank, id, trending_score, likes, downloads, captured_at FROM trending"
        f" WHERE type IN ({marks}) ORDER BY run_id, type, rank", types,
    ):
        yield {"run_id": run_id, "entity_type": t, "rank": rank, "id": id_, "trending_score": score,
               "likes": likes, "downloads": downloads, "captured_at": _epoch(captured)}


def _run_rows(catalog: Catalog) -> Iterator[dict[str, Any]]:
    for run_id, key, status, started, ended, stats, log in catalog.state.scan(
        "SELECT id, key, status, started_at, ended_at, stats, log FROM runs ORDER BY id"
    ):
        yield {"run_id": run_id, "key": key, "status": status, "started_at": _epoch(started),
               "ended_at": _epoch(ended), "stats": stats, "log": log}


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


def _carried_over(path: Path, current: set[tuple[str, str]], catalog: Catalog,
                  previous: dict[tuple[str, str], Any]) -> Iterator[pa.RecordBatch]:
    """Rows of the previous export to keep: entities absent from this archive, or newer there."""
    updated = {}
    for t in REPO_TYPES:  # this archive's updated_at of the entities both have
        for entity in catalog.state.iter_entities(t):
            if (t, entity.id) in previous:
                updated[(t, entity.id)] = _epoch(entity.updated_at)
    for batch in pq.ParquetFile(path).iter_batches(batch_size=ROW_GROUP):
        keys = list(zip(batch.column("entity_type").to_pylist(), batch.column("id").to_pylist()))
        stamps = batch.column("updated_at").to_pylist()
        keep = [i for i, (key, stamp) in enumerate(zip(keys, stamps))
                if key not in current or _older(updated.get(key), stamp)]
        if keep:
            yield pa.RecordBatch.from_arrays(
                [batch.column(name) for name in ENTITY_SCHEMA.names], schema=ENTITY_SCHEMA
            ).take(keep)


# -- writing ---------------------------------------------------------------------------------------
class _AtomicParquet:
    """A Parquet file written to a temporary name, renamed over ``path`` by ``commit``."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        self._tmp = Path(name)
        self._writer: pq.ParquetWriter | None = pq.ParquetWriter(self._tmp, schema, compression="zstd")
        self.rows = 0

    def write(self, batch: pa.RecordBatch) -> None:
        assert self._writer is not None
        self._writer.write_batch(batch, row_group_size=ROW_GROUP)
        self.rows += batch.num_rows

    def commit(self) -> None:
        assert self._writer is not None
        self._writer.close()
        self._writer = None
        with open(self._tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._tmp.unlink(missing_ok=True)


def _batches(rows: Iterator[dict[str, Any]], schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """Rows as record batches of ``ROW_GROUP``, built column by column: each row becomes a tuple in
    the schema's order (``itemgetter``, in C) and a chunk is transposed with ``zip`` — several times
    cheaper than ``from_pylist``'s per-row, per-column lookups."""
    get = itemgetter(*schema.names)
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(get(row))
        if len(chunk) >= ROW_GROUP:
            yield _batch(chunk, schema)
            chunk = []
    if chunk:
        yield _batch(chunk, schema)


def _batch(chunk: list[tuple[Any, ...]], schema: pa.Schema) -> pa.RecordBatch:
    columns = zip(*chunk)
    return pa.RecordBatch.from_arrays([pa.array(col, type=f.type) for col, f in zip(columns, schema)], schema=schema)


def _write_table(path: Path, schema: pa.Schema, rows: Iterator[dict[str, Any]]) -> int:
    writer = _AtomicParquet(path, schema)
    try:
        for batch in _batches(rows, schema):
            writer.write(batch)
        writer.commit()
        return writer.rows
    finally:
        writer.abort()


def _write_text(path: Path, text: str) -> None:
    from .layout import write_text

    write_text(path, text)


# -- values ----------------------------------------------------------------------------------------
def _list(value: str | None) -> list[str]:
    parsed = json.loads(value) if value else []
    return [str(v) for v in parsed] if isinstance(parsed, list) else []


def _epoch(seconds: float | None) -> _dt.datetime | None:
    return None if seconds is None else _dt.datetime.fromtimestamp(seconds, _dt.timezone.utc)


def _iso(text: str | None) -> _dt.datetime | None:
    """The Hub's ISO 8601 text (``2024-11-01T10:26:30.000Z``) as an aware UTC datetime."""
    if not text:
        return None
    try:
        value = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)


def data_card(rows: dict[str, int], types: tuple[str, ...]) -> str:
    """The export's README.md: a Hub dataset card whose configs name the files, then the schema."""
    configs = [("all_entities", ALL_ENTITIES)] + [(ENTITY_FILES[t][:-8], ENTITY_FILES[t]) for t in types] + [
        ("files", "files.parquet"), ("provenance_edges", "provenance_edges.parquet"),
        ("trending_snapshots", "trending_snapshots.parquet"), ("runs", "runs.parquet")]
    front = "".join(f"- config_name: {name}\n  data_files: {file}\n" for name, file in configs)
    lines = [
        "---", "configs:", front.rstrip("\n"), "tags:", "- hf-ipfs-scraper", "---", "",
        "# Hugging Face Hub archive export", "",
        f"Written by hf-ipfs-scraper, export schema version {SCHEMA_VERSION}. Every file is Parquet (zstd);",
        "timestamps are UTC, lists are `list<string>`, `card_data` is JSON text.", "",
        "| file | rows |", "|---|---:|",
        *(f"| `{name}` | {n} |" for name, n in rows.items()), "",
        "## Columns", "",
    ]
    for name, schema in (("entities (all_entities, models, datasets, spaces)", ENTITY_SCHEMA), ("files", FILE_SCHEMA),
                         ("provenance_edges", EDGE_SCHEMA), ("trending_snapshots", TRENDING_SCHEMA), ("runs", RUN_SCHEMA)):
        lines += [f"- **{name}**: " + ", ".join(f"`{f.name}` {f.type}" for f in schema), ""]
    return "\n".join(lines)

