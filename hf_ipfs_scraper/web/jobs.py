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
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, HTTPException, Path, Query

from ..state import EntityState, FileRecord, Run, RunMember
from .app import CatalogDep

router = APIRouter(tags=["jobs (the older mirror's API)"])
_MAX_ID = 2**63 - 1  # SQLite's INTEGER: a bigger id is a 422, not an overflow

# sort keys of the older API → how to read them from a run's member; "-" in front: descending
_SORTS: dict[str, Callable[[RunMember], Any]] = {
    "trendingScore": lambda m: m.trending_score or 0.0,
    "rank": lambda m: m.rank,
    "likes": lambda m: m.likes or 0,
    "downloads": lambda m: m.downloads or 0,
    "size": lambda m: m.size_bytes or 0,
    "createdAt": lambda m: m.created_at or "",
    "lastModified": lambda m: m.last_modified or "",
    "id": lambda m: m.id,
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


def model_item(entity: EntityState, row: RunMember | None, files: list[FileRecord]) -> dict[str, Any]:
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
    # Filter and sort on narrow rows of the whole run (one query); read full entities and their
    # files for the page alone: a run of thousands of repos costs one scan, not thousands of reads.
    members = catalog.state.run_members(repo_type, job_id)
    if search:
        found = catalog.search_ids(search, repo_type, [m.id for m in members])
        members = [m for m in members if m.id in found]
    if size_gte is not None:
        members = [m for m in members if m.size_bytes is not None and m.size_bytes >= size_gte]
    if size_lte is not None:
        members = [m for m in members if m.size_bytes is not None and m.size_bytes <= size_lte]
    key = _SORTS[name]
    members.sort(key=lambda m: (key(m), m.rank), reverse=sort.startswith("-"))
    chosen = members[(page - 1) * limit: page * limit]
    ids = [m.id for m in chosen]
    entities, files = catalog.state.get_many(repo_type, ids), catalog.state.files_many(repo_type, ids)
    data = [model_item(entities[m.id], m, files[m.id]) for m in chosen if m.id in entities]
    return {"data": data, "pagination": _pagination(len(members), page, limit)}
