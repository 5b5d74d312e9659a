"""Hub-compatible reads served from the archive, so the real ``huggingface_hub`` client works
against it unmodified (``HfApi(endpoint=url)``, ``hf_hub_download``, ``snapshot_download``).

Routes, for each type (``models`` / ``datasets`` / ``spaces``; resolve URLs: no prefix /
``datasets/`` / ``spaces/``), ``{id}`` being ``namespace/name`` or a one-segment legacy name:

``GET /api/{type}s/{id}[/revision/{rev}]``     info JSON (``blobs=true``: siblings' sizes and ids)
``GET /api/{type}s/{id}/tree/{rev}[/{path}]``  tree listing (``recursive=``), paged with ``Link``
``HEAD|GET /[{type}s/]{id}/resolve/{rev}/{path}``  the file's bytes, ``Range`` honoured

Wire facts the client relies on (``file_download.get_hf_file_metadata``): ``X-Repo-Commit``, an
``ETag`` — the git blob id of a regular file; for an LFS file the sha256 in ``X-Linked-Etag``
*and* ``ETag`` (the bytes are served directly, as the Hub's CDN would, so the representation's
tag is the content's sha256 and the client's cache key is the same either way) — and
``X-Linked-Size``/``Content-Length``. Errors carry ``X-Error-Code`` (``RepoNotFound``,
``RevisionNotFound``, ``EntryNotFound``), which ``hf_raise_for_status`` turns into its errors.

Only repos whose mirror is ``done`` exist here, at one revision: ``main`` and its mirrored sha.
Files are looked up by path in the state store, never on the filesystem, and bytes come from the
block store by CID, so no path can reach outside the archive; odd paths are refused anyway.
"""

from __future__ import annotations

import base64
import json
import mimetypes
import re
from typing import Annotated, Any, Callable
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.convertors import Convertor, register_url_convertor

from ..catalog import Catalog
from ..errors import HfIpfsError
from .hubview import blob_id, info_payload, listing, tree_listings
from ..ipfs.cid import CID
from ..state import EntityState, FileRecord
from .app import CatalogDep
from .streaming import in_thread

TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
RESOLVE_PREFIX = {"model": "", "dataset": "/datasets", "space": "/spaces"}
TREE_PAGE_SIZE = 1000  # the Hub's page size for a tree listing without expand
_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")
_UNSAFE_HEADER = re.compile(r"[^\x20-\x7e]")


class _RepoIdConvertor(Convertor[str]):
    """``namespace/name`` or ``name``: the regex backtracks to one segment when the route's next
    literal (``tree``, ``resolve``...) does not follow two, as the Hub resolves the ambiguity."""

    regex = r"[^/]+(?:/[^/]+)?"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("hf_repo_id", _RepoIdConvertor())


# -- errors, in the Hub's shape ----------------------------------------------------------------
class HubApiError(HfIpfsError):
    """A request the archive cannot answer, said as the Hub says it: JSON ``{"error": ...}``, the
    status, ``X-Error-Code`` and ``X-Error-Message`` (``create_app`` maps it at the boundary).

        HfIpfsError
        └── HubApiError                400 BadRequest (a bad path, a bad cursor)
            ├── RepoNotFoundError      404 RepoNotFound: not in the archive, or not mirrored (done)
            ├── RevisionNotFoundError  404 RevisionNotFound: neither main nor the mirrored sha
            ├── EntryNotFoundError     404 EntryNotFound (with X-Repo-Commit)
            ├── RangeNotSatisfiableError 416 (with Content-Range: bytes */size)
            └── ContentMissingError    500 ContentMissing: a recorded CID the block store lacks
    """

    status = 400
    code = "BadRequest"

    def __init__(self, message: str, *, commit: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.headers = dict(headers or {})
        if commit is not None:
            self.headers["X-Repo-Commit"] = commit


class RepoNotFoundError(HubApiError):
    status, code = 404, "RepoNotFound"


class RevisionNotFoundError(HubApiError):
    status, code = 404, "RevisionNotFound"


class EntryNotFoundError(HubApiError):
    status, code = 404, "EntryNotFound"


class RangeNotSatisfiableError(HubApiError):
    status, code = 416, "RangeNotSatisfiable"


class ContentMissingError(HubApiError):
    """The state store names a CID the block store lacks (a damaged or partly copied archive)."""

    status, code = 500, "ContentMissing"


def _header_text(text: str) -> str:
    """Printable ASCII only: a header value must not carry a user's CR/LF or non-latin-1 text."""
    return _UNSAFE_HEADER.sub("?", text)


def error_response(request: Request, exc: Exception) -> Response:
    """The exception handler ``create_app`` installs for :class:`HubApiError`."""
    assert isinstance(exc, HubApiError)
    message = str(exc)
    headers = {**exc.headers, "X-Error-Code": exc.code, "X-Error-Message": _header_text(message)}
    return JSONResponse({"error": message}, status_code=exc.status, headers=headers)


# -- the archive's view of one repo ------------------------------------------------------------
def mirrored(catalog: Catalog, repo_type: str, repo_id: str, rev: str) -> EntityState:
    """The entity if its mirror is done and ``rev`` names the mirrored revision."""
    entity = catalog.entity(repo_type, repo_id)
    if entity is None or entity.status != "done" or not entity.root_cid or not entity.sha:
        raise RepoNotFoundError("Repository not found")
    if rev not in ("main", entity.sha):
        raise RevisionNotFoundError(f"Invalid rev id: {rev}")
    return entity


def traversal_like(path: str) -> bool:
    """Whether ``path`` holds what only a traversal attempt sends: an empty, ``.`` or ``..``
    segment (a leading ``/`` makes an empty one), a NUL or a backslash. The routes look files up
    by key, never on a filesystem, so nothing would leak: such paths are refused anyway."""
    return "\\" in path or "\0" in path or any(p in ("", ".", "..") for p in path.split("/"))


def check_path(path: str) -> str:
    if traversal_like(path):
        raise HubApiError(f"Invalid path: {path!r}")
    return path


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([offset]).encode()).decode().rstrip("=")


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        (offset,) = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError):
        raise HubApiError("Invalid cursor") from None
    if not isinstance(offset, int) or offset < 0:
        raise HubApiError("Invalid cursor")
    return offset


# -- resolve -------------------------------------------------------------------------------------
def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(start, stop)`` (half-open) of a single satisfiable ``Range``; None for no header, a
    malformed or invalid one, or several ranges (then the whole file, as RFC 9110 allows)."""
    match = _RANGE.fullmatch(header.strip()) if header else None
    if match is None or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first:
        start = int(first)
        if last and int(last) < start:
            return None
        stop = min(int(last) + 1, size) if last else size
    else:  # a suffix: the last N bytes (N = 0 asks for nothing)
        start, stop = (max(size - int(last), 0), size) if int(last) else (size, size)
    if start >= size:
        raise RangeNotSatisfiableError("Requested range not satisfiable", headers={"Content-Range": f"bytes */{size}"})
    return start, stop


def file_headers(record: FileRecord, entity: EntityState, catalog: Catalog) -> dict[str, str]:
    name = record.path.rsplit("/", 1)[-1]
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if content_type.startswith("text/") or content_type == "application/json":
        content_type += "; charset=utf-8"
    headers = {"X-Repo-Commit": str(entity.sha), "Accept-Ranges": "bytes", "Content-Type": content_type}
    ascii_name = _header_text(name).replace('"', "?")
    headers["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(name)}; filename=\"{ascii_name}\";"
    if record.sha256:  # served directly, not redirected: the content's tag, and the linked one the client prefers
        tag = f'"{record.sha256}"'
        headers |= {"ETag": tag, "X-Linked-Etag": tag, "X-Linked-Size": str(record.size)}
    else:
        headers["ETag"] = f'"{blob_id(record, catalog)}"'
    return headers


def resolve(catalog: Catalog, request: Request, repo_type: str, repo_id: str, rev: str, path: str) -> Response:
    entity = mirrored(catalog, repo_type, repo_id, rev)
    record = catalog.state.file(repo_type, repo_id, check_path(path))
    if record is None:
        raise EntryNotFoundError("Entry not found", commit=entity.sha)
    cid = CID.parse(record.cid)
    if not catalog.content.has(cid):
        raise ContentMissingError(f"the archive lacks the blocks of {path} ({cid})", commit=entity.sha)
    headers = file_headers(record, entity, catalog)
    if headers["ETag"] in (tag.strip() for tag in (request.headers.get("If-None-Match") or "").split(",")):
        return Response(status_code=304, headers=headers)
    try:
        span = byte_range(request.headers.get("Range"), record.size)
    except RangeNotSatisfiableError as exc:
        exc.headers["X-Repo-Commit"] = str(entity.sha)
        raise
    start, stop = span or (0, record.size)
    headers["Content-Length"] = str(stop - start)
    if span is not None:
        headers["Content-Range"] = f"bytes {start}-{stop - 1}/{record.size}"
    status = 206 if span is not None else 200
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers)
    return StreamingResponse(in_thread(catalog.content.cat(cid, offset=start, length=stop - start)), status, headers)


# -- routes --------------------------------------------------------------------------------------
router = APIRouter(tags=["Hub-compatible"])
Expand = Annotated[list[str] | None, Query(description="only these fields (and _id, id)")]


def info(catalog: Catalog, repo_type: str, repo_id: str, rev: str, blobs: str | None,
         expand: list[str] | None) -> Response:
    entity = mirrored(catalog, repo_type, repo_id, rev)
    payload = info_payload(entity, catalog.files(repo_type, repo_id), catalog, blobs=_truthy(blobs))
    if expand:  # as the Hub: exactly the named fields, plus the two ids
        payload = {k: v for k, v in payload.items() if k in ("_id", "id", *expand)}
    return JSONResponse(payload)


def tree(catalog: Catalog, request: Request, repo_type: str, repo_id: str, rev: str, path: str,
         recursive: str | None, cursor: str | None) -> Response:
    entity = mirrored(catalog, repo_type, repo_id, rev)
    listings = tree_listings(catalog.files(repo_type, repo_id), catalog)
    path = check_path(path.strip("/")) if path.strip("/") else ""
    if path not in listings:
        raise EntryNotFoundError(f"Entry not found: {path}", commit=entity.sha)
    items = list(listing(listings, path, _truthy(recursive)))
    offset = _offset(cursor)
    response = JSONResponse(items[offset : offset + TREE_PAGE_SIZE])
    if offset + TREE_PAGE_SIZE < len(items):
        query = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
        query.append(("cursor", _cursor(offset + TREE_PAGE_SIZE)))
        response.headers["Link"] = f'<{request.url.replace(query=urlencode(query))}>; rel="next"'
    return response


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "true", "yes")


def _add_routes(plural: str, repo_type: str) -> None:
    """One type's routes (closures over ``repo_type``, so the OpenAPI schema lists each)."""
    base = f"/api/{plural}/{{repo_id:hf_repo_id}}"

    def info_main(catalog: CatalogDep, repo_id: str, blobs: str | None = None, expand: Expand = None) -> Response:
        return info(catalog, repo_type, repo_id, "main", blobs, expand)

    def info_rev(catalog: CatalogDep, repo_id: str, rev: str, blobs: str | None = None, expand: Expand = None) -> Response:
        return info(catalog, repo_type, repo_id, rev, blobs, expand)

    def tree_root(catalog: CatalogDep, request: Request, repo_id: str, rev: str, recursive: str | None = None,
                  cursor: str | None = None) -> Response:
        return tree(catalog, request, repo_type, repo_id, rev, "", recursive, cursor)

    def tree_path(catalog: CatalogDep, request: Request, repo_id: str, rev: str, path: str,
                  recursive: str | None = None, cursor: str | None = None) -> Response:
        return tree(catalog, request, repo_type, repo_id, rev, path, recursive, cursor)

    def resolve_file(catalog: CatalogDep, request: Request, repo_id: str, rev: str, path: str) -> Response:
        return resolve(catalog, request, repo_type, repo_id, rev, path)

    resolve_path = RESOLVE_PREFIX[repo_type] + "/{repo_id:hf_repo_id}/resolve/{rev}/{path:path}"
    routes: list[tuple[str, Callable[..., Response], str, str]] = [
        (base, info_main, "GET", "info at main"),
        (base + "/revision/{rev:path}", info_rev, "GET", "info at a revision (main or the mirrored sha)"),
        (base + "/tree/{rev}", tree_root, "GET", "tree listing"),
        (base + "/tree/{rev}/{path:path}", tree_path, "GET", "tree listing of a folder"),
        (resolve_path, resolve_file, "GET", "file download (Range: one span)"),
        (resolve_path, resolve_file, "HEAD", "file metadata (ETag, X-Repo-Commit, size)"),
    ]
    for path, endpoint, method, summary in routes:  # one method per route: unique OpenAPI operation ids
        router.add_api_route(path, endpoint, methods=[method], summary=f"{repo_type} {summary}",
                             name=f"{repo_type}_{endpoint.__name__}_{method.lower()}")


for _plural, _type in sorted(TYPES.items(), key=lambda kv: kv[1] == "model"):  # models' resolve URL last
    _add_routes(_plural, _type)
