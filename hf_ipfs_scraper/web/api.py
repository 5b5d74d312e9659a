"""The archive's own JSON API, which the web page reads: health, search across types, one entity
(metadata, files with CIDs, lineage, descendants, trending history) and its family tree.

Every handler is one ``Catalog`` call shaped for JSON; bad parameters are 422s (FastAPI's
validation) or 400s naming the parameter; an unknown repo is a 404.
"""

from __future__ import annotations

import datetime as _dt
import math
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

import networkx as nx
from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response

from ..errors import InvalidInputError
from ..search import MAX_LIMIT
from ..state.rows import node_key
from .app import CatalogDep

router = APIRouter(tags=["archive"])
_MAX_INT = 2**63 - 1  # what SQLite and the index's fast fields hold: a bigger number is a 422
RepoType = Literal["model", "dataset", "space"]
_ENTITY_FIELDS = ("entity_type", "id", "status", "sha", "root_cid", "size_bytes", "total_bytes", "file_count",
                  "license", "likes", "downloads", "trending_score", "pipeline_tag", "library_name", "sdk", "author",
                  "gated", "created_at", "last_modified", "languages", "tags", "task_categories", "readme_cid")


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return _dt.datetime.fromtimestamp(epoch, _dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


@router.get("/api/health", summary="Whether the archive can be read, and what it holds")
def health(catalog: CatalogDep) -> dict[str, Any]:
    return {"status": "ok", "entities": {t: dict(c) for t, c in catalog.counts().items()},
            "schema_version": catalog.state.schema_version}


@router.get("/api/search", summary="Full-text search of READMEs, ids, tags and titles across types")
def search(
    catalog: CatalogDep,
    q: str = Query("", max_length=1000),
    type: RepoType | None = Query(None),
    size_gte: int | None = Query(None, ge=0, le=_MAX_INT),
    size_lte: int | None = Query(None, ge=0, le=_MAX_INT),
    tag: list[str] = Query([]),
    pipeline_tag: str | None = None,
    library: str | None = None,
    author: str | None = None,
    gated: bool | None = None,
    mirrored: bool | None = Query(None, description="true: mirrored repos only; false: catalog-only ones"),
    run: int | None = Query(None, ge=1, le=_MAX_INT),
    sort: Literal["relevance", "trending_score", "downloads", "likes", "size"] = "relevance",
    order: Literal["desc", "asc"] = "desc",
    limit: int = Query(20, ge=1, le=MAX_LIMIT),
    page: int = Query(1, ge=1, le=1_000_000),
) -> dict[str, Any]:
    try:
        found = catalog.search(q, run_id=run, types=(type,) if type else (), size_gte=size_gte, size_lte=size_lte,
                               tags=tuple(tag), pipeline_tag=pipeline_tag, library=library, author=author,
                               gated=gated, mirrored=mirrored, sort=sort, descending=order == "desc", limit=limit, page=page)
    except InvalidInputError as exc:
        raise HTTPException(400, str(exc)) from exc
    ranks: dict[str, dict[str, int]] = {}
    data = []
    for hit in found.hits:
        if hit.entity_type not in ranks:
            ranks[hit.entity_type] = {row.id: row.rank for row in catalog.trending(hit.entity_type)}
        entity = catalog.entity(hit.entity_type, hit.id)
        data.append({**asdict(hit), "trending_rank": ranks[hit.entity_type].get(hit.id),
                     "root_cid": entity.root_cid if entity is not None else None})
    return {"data": data, "warnings": list(found.warnings),
            "pagination": {"total": found.total, "page": found.page, "limit": found.limit,
                           "pages": math.ceil(found.total / found.limit) if found.total else 0}}


def _known(catalog: CatalogDep, type_: str, id_: str) -> Any:
    entity = catalog.entity(type_, id_)
    if entity is None:
        raise HTTPException(404, f"the archive has no {type_} {id_!r}")
    return entity


@router.get("/api/entities/{type}/{id:path}", summary="One repo: metadata, files with CIDs, lineage, history")
def entity(catalog: CatalogDep, type: RepoType, id: str) -> dict[str, Any]:
    found = _known(catalog, type, id)
    values = {"entity_type": found.type, **{k: getattr(found, k) for k in _ENTITY_FIELDS[1:]}}
    key = node_key(type, id)
    tracker = catalog.provenance
    return {
        "entity": {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()} | {
            "metadata": found.metadata, "card_data": found.card_data, "mirrored_at": _iso(found.mirrored_at),
            "mirrored": found.mirrored, "listed_at": _iso(found.listed_at), "gone_at": _iso(found.gone_at),
            "renamed_to": found.renamed_to},
        "files": [{"path": f.path, "size": f.size, "cid": f.cid, "sha256": f.sha256, "oid": f.oid}
                  for f in catalog.files(type, id)],
        "lineage": [[[s.child, s.relation, s.parent] for s in path] for path in tracker.lineage(key)],
        "descendants": tracker.count_descendants(key),
        "trending": [{"run_id": run, "rank": row.rank, "trending_score": row.trending_score,
                      "captured_at": _iso(row.captured_at)} for run, row in catalog.trending_history(type, id)],
    }


@router.get("/api/provenance/{type}/{id:path}", summary="The family tree: node-link JSON, or a picture")
def provenance(
    catalog: CatalogDep, type: RepoType, id: str,
    format: Literal["json", "svg", "png"] = "json",
    max_nodes: int = Query(200, ge=1, le=1000),
) -> Any:
    key = node_key(type, id)
    if not catalog.provenance.node(key)["known"]:
        raise HTTPException(404, f"{key} is not in the provenance graph")
    if format == "json":
        family = catalog.provenance.family(key, max_nodes=max_nodes)
        return nx.node_link_data(family, edges="edges")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"family.{format}"
        catalog.draw_family(key, path, max_nodes=max_nodes)
        body = path.read_bytes()
    return Response(body, media_type="image/svg+xml" if format == "svg" else "image/png")

