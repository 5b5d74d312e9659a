"""The older mirror's endpoints, kept wire-compatible so its clients can point at this archive:
``GET /api/jobs`` (runs) and ``GET /api/jobs/{jobId}/models`` (the repos a run listed, with the
Hub's model fields plus size and CIDs), both in its ``{data, pagination}`` envelope.

A job is a run; its models are its trending snapshot (of whatever type the run mirrored), in rank
order unless sorted otherwise. ``search`` goes through the README search index, restricted to the
run's repos; size filters are inclusive, in bytes.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

from fastapi import APIRouter, HTTPException, Path, Query

from ..state import EntityState, Run, TrendingRow
from .app import CatalogDep

router = APIRouter(tags=["jobs (the older mirror's API)"])
_MAX_ID = 2**63 - 1  # SQLite's INTEGER: a bigger id is a 422, not an overflow

# sort keys of the older API → how to read them from a row; "-" in front means descending
_SORTS = {
    "trendingScore": lambda e, t: t.trending_score or 0.0,
    "rank": lambda e, t: t.rank,
    "likes": lambda e, t: e.likes or 0,
    "downloads": lambda e, t: e.downloads or 0,
    "size": lambda e, t: e.size_bytes or 0,
    "createdAt": lambda e, t: e.created_at or "",
    "lastModified": lambda e, t: e.last_modified or "",
    "id": lambda e, t: e.id,
}


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return _dt.datetime.fromtimestamp(epoch, _dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _pagination(total: int, page: int, limit: int) -> dict[str, int]:
    return {"total": total, "page": page, "limit": limit, "pages": math.ceil(total / limit) if total else 0}


def _job(run: Run) -> dict[str, Any]:
    return {"_id": str(run.id), "key": run.key, "status": run.status, "startTime": _iso(run.started_at),
            "endTime": _iso(run.ended_at), "log": run.log}


@router.get("/api/jobs", summary="Runs, newest first")
def jobs(
    catalog: CatalogDep,
    limit: int = Query(20, ge=1, le=50),
    page: int = Query(1, ge=1, le=1_000_000),
    key: str | None = Query(None, description="models, datasets or spaces"),
    status: str | None = Query(None, pattern="^(pending|running|completed|failed|interrupted)$"),
) -> dict[str, Any]:
    state = catalog.state
    total = state.count_runs(key, status=status)
    runs = state.runs(limit, key, status=status, offset=(page - 1) * limit)
    return {"data": [_job(r) for r in runs], "pagination": _pagination(total, page, limit)}


def model_item(entity: EntityState, row: TrendingRow | None, files: list[Any]) -> dict[str, Any]:
    """A repo in the Hub's listing shape (the older mirror passed the Hub's fields through), plus
    what the archive adds: ``size`` in bytes, the root CID and each file's CID."""
    meta = entity.metadata or {}
    return {
        "_id": meta.get("id", entity.id), "id": entity.id, "modelId": entity.id, "author": entity.author,
        "gated": entity.gated or False, "likes": entity.likes, "downloads": entity.downloads,
        "trendingScore": row.trending_score if row is not None else entity.trending_score,
        "private": bool(entity.private), "sha": entity.sha, "tags": list(entity.tags),
        "pipeline_tag": entity.pipeline_tag, "library_name": entity.library_name,
        "createdAt": entity.created_at, "lastModified": entity.last_modified,
        "siblings": [{"rfilename": f.path, "size": f.size, "cid": f.cid} for f in files],
        "rank": row.rank if row is not None else None, "status": entity.status,
        "size": entity.size_bytes, "cid": entity.root_cid,
    }


@router.get("/api/jobs/{job_id}/models", summary="The repos a run listed, with sizes and CIDs")
def job_models(
    catalog: CatalogDep,
    job_id: int = Path(ge=1, le=_MAX_ID),
    limit: int = Query(20, ge=1, le=50),
    page: int = Query(1, ge=1, le=1_000_000),
    search: str | None = Query(None, max_length=500),
    sort: str = Query("rank", description="a key of " + ", ".join(_SORTS) + "; '-' in front: descending"),
    size_gte: int | None = Query(None, alias="sizeGte", ge=0, le=_MAX_ID),
    size_lte: int | None = Query(None, alias="sizeLte", ge=0, le=_MAX_ID),
) -> dict[str, Any]:
    run = catalog.state.run(job_id)
    if run is None:
        raise HTTPException(404, f"there is no job {job_id}")
    name = sort.lstrip("-")
    if name not in _SORTS:
        raise HTTPException(400, f"unknown sort {sort!r}; expected one of {', '.join(_SORTS)} (with '-' for descending)")
    repo_type = run.key.rstrip("s") if run.key in ("models", "datasets", "spaces") else "model"
    rows = catalog.trending(repo_type, job_id)
    entities = {e.id: e for e in (catalog.entity(repo_type, r.id) for r in rows) if e is not None}
    wanted = [(entities[r.id], r) for r in rows if r.id in entities]
    if search:
        found = catalog.search_ids(search, repo_type, [e.id for e, _ in wanted])
        wanted = [(e, r) for e, r in wanted if e.id in found]
    if size_gte is not None:
        wanted = [(e, r) for e, r in wanted if e.size_bytes is not None and e.size_bytes >= size_gte]
    if size_lte is not None:
        wanted = [(e, r) for e, r in wanted if e.size_bytes is not None and e.size_bytes <= size_lte]
    wanted.sort(key=lambda pair: (_SORTS[name](*pair), pair[1].rank), reverse=sort.startswith("-"))
    chosen = wanted[(page - 1) * limit: page * limit]
    data = [model_item(e, r, catalog.files(repo_type, e.id)) for e, r in chosen]
    return {"data": data, "pagination": _pagination(len(wanted), page, limit)}
