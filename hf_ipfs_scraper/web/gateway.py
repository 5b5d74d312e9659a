"""A read-only trustless gateway over the archive's block store: ``/ipfs/{cid}[/{path}]`` as raw
blocks and CARs, which any IPFS client can verify without trusting this server.

Spec: https://specs.ipfs.tech/http-gateways/trustless-gateway/ (headers from the path gateway's).
Routes (``GET`` and ``HEAD`` each):

``/ipfs/{cid}``          ``?format=raw`` or ``Accept: application/vnd.ipld.raw``: the block's bytes
``/ipfs/{cid}[/{path}]`` ``?format=car`` or ``Accept: application/vnd.ipld.car``: a CARv1 stream of
                         the blocks proving the path, then the terminus by ``dag-scope`` and
                         ``entity-bytes`` (block selection: :mod:`..ipfs.trustless`)

Strict trustless mode: nothing is ever deserialized, so a request that names neither format (no
``Accept``, or only ``*/*``) is a 400 saying how to ask, and an ``Accept`` of only other types a 406.
CARs are version 1, ``order=dfs`` (``unk`` is answered as dfs), ``dups=n`` unless ``y`` is asked
for. The root block missing is a 404 (412 with ``Cache-Control: only-if-cached``); a block missing
after the 200 has gone ends the stream early, as the spec says, and is logged. ``bafkqaaa`` (the
empty identity CID) answers the spec's probe. The gateway is mounted only by ``serve --gateway``.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from ..catalog import Catalog
from ..errors import BlockNotFoundError, HfIpfsError, InvalidInputError
from ..ipfs import trustless, varint
from ..ipfs.car import encode_header
from ..ipfs.cid import CID
from .app import CatalogDep
from .hub import traversal_like
from .streaming import in_thread

logger = logging.getLogger(__name__)

RAW_TYPE = "application/vnd.ipld.raw"
CAR_TYPE = "application/vnd.ipld.car"
IMMUTABLE = "public, max-age=29030400, immutable"
_WILDCARDS = ("*/*", "application/*")
_HOW_TO_ASK = (f"ask for a raw block (?format=raw or Accept: {RAW_TYPE}) "
               f"or a CAR (?format=car or Accept: {CAR_TYPE})")
_UNSAFE_FILENAME = re.compile(r'[^\x20-\x7e]|["\\]')


class GatewayError(HfIpfsError):
    """A request answered with an error status and ``{"error": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# -- content negotiation ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MediaRange:
    """One ``Accept`` entry: the lower-cased type, its parameters, its q-value."""

    mime: str
    params: tuple[tuple[str, str], ...]
    q: float

    def param(self, key: str) -> str | None:
        return next((value for name, value in self.params if name == key), None)

    def is_car_we_write(self) -> bool:
        """A CAR variant this gateway writes: version 1, dfs order (or unknown), either dups."""
        return (self.mime == CAR_TYPE and self.param("version") in (None, "1")
                and self.param("order") in (None, "dfs", "unk") and self.param("dups") in (None, "y", "n"))


def parse_accept(header: str) -> list[MediaRange]:
    """``Accept`` entries, highest q first (ties keep the client's order); a bad q counts as 0."""
    ranges = []
    for item in header.split(","):
        mime, *rest = item.split(";")
        params, q = [], 1.0
        for part in rest:
            key, _, value = part.partition("=")
            key, value = key.strip().lower(), value.strip().strip('"')
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
                q = q if 0.0 <= q <= 1.0 else 0.0  # also NaN
            elif key:
                params.append((key, value.lower()))
        if mime.strip():
            ranges.append(MediaRange(mime.strip().lower(), tuple(params), q))
    return sorted(ranges, key=lambda m: -m.q)


@dataclass(frozen=True, slots=True)
class Negotiated:
    """The response the request asked for; ``content_location``: the URL did not say its format,
    so the response names the URL that does (a cache keys on it)."""

    format: Literal["raw", "car"]
    dups: bool
    content_location: bool


def negotiate(accept: str | None, format_: str | None, car_version: str | None, car_order: str | None,
              car_dups: str | None) -> Negotiated:
    """``format`` over ``Accept``; the ``car-*`` query parameters over the ``Accept`` ones."""
    ranges = parse_accept(accept or "")
    acceptable = [m for m in ranges if m.q > 0]
    ours = [m for m in acceptable if m.mime == RAW_TYPE or m.is_car_we_write()]
    if format_ is not None:
        if format_.lower() not in ("raw", "car"):
            raise GatewayError(400, f"unsupported format {format_!r}: this trustless gateway serves only "
                                    "format=raw and format=car")
        chosen: Literal["raw", "car"] = "raw" if format_.lower() == "raw" else "car"
    elif ours:
        chosen = "raw" if ours[0].mime == RAW_TYPE else "car"
    elif not ranges or any(m.mime in _WILDCARDS for m in acceptable):  # no preference: no default here
        raise GatewayError(400, f"this is a trustless gateway, which never deserializes: {_HOW_TO_ASK}")
    else:
        raise GatewayError(406, f"none of the accepted types can be served: {_HOW_TO_ASK} "
                                "(CAR: version=1, order=dfs or unk, dups=y or n)")
    if car_version is not None and car_version != "1":
        raise GatewayError(400, f"unsupported car-version {car_version!r}: only 1")
    if car_order is not None and car_order not in ("dfs", "unk"):
        raise GatewayError(400, f"unsupported car-order {car_order!r}: dfs or unk")
    if car_dups is not None and car_dups not in ("y", "n"):
        raise GatewayError(400, f"invalid car-dups {car_dups!r}: y or n")
    car = next((m for m in ours if m.mime == CAR_TYPE), None)
    dups = car_dups or (car.param("dups") if car is not None else None) or "n"
    return Negotiated(chosen, dups == "y", format_ is None)


# -- requests -------------------------------------------------------------------------------------
def parse_cid(text: str) -> CID:
    try:
        return CID.parse(text)
    except InvalidInputError as exc:
        raise GatewayError(400, str(exc)) from None


def split_path(path: str) -> list[str]:
    """The link names of a content path (one trailing slash, a directory URL's, is allowed). Names
    only ever select links inside the DAG, but what only a traversal attempt sends is refused."""
    if not path:
        return []
    names = path[:-1] if path.endswith("/") else path
    if traversal_like(names):
        raise GatewayError(400, f"invalid content path {path!r}: no empty, '.' or '..' segments, NUL or backslash")
    return names.split("/")


def _etag_matches(header: str | None, etag: str) -> bool:
    """``If-None-Match`` compares weakly (RFC 9110 13.1.2): ``W/`` is ignored on both sides."""
    if not header:
        return False
    strong = etag.removeprefix("W/")
    return any(tag.strip() == "*" or tag.strip().removeprefix("W/") == strong for tag in header.split(","))


def _only_if_cached(header: str | None) -> bool:
    return any(part.strip().lower() == "only-if-cached" for part in (header or "").split(","))


def _disposition(filename: str) -> str:
    """``attachment`` with the name in ASCII (others replaced by ``_``) and, if it has any, UTF-8."""
    ascii_name = _UNSAFE_FILENAME.sub("_", filename)
    if ascii_name == filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


@dataclass(frozen=True, slots=True)
class GatewayQuery:
    """The query parameters the gateway reads (validated by :func:`negotiate` and the plan, so a
    bad value is the spec's 400, not FastAPI's 422)."""

    format: str | None
    filename: str | None
    dag_scope: str | None
    entity_bytes: str | None
    car_version: str | None
    car_order: str | None
    car_dups: str | None


def _query(
    format: Annotated[str | None, Query(description="raw or car (takes precedence over Accept)")] = None,
    filename: Annotated[str | None, Query(description="the name in Content-Disposition")] = None,
    dag_scope: Annotated[str | None, Query(alias="dag-scope", description="CAR: block, entity or all")] = None,
    entity_bytes: Annotated[str | None, Query(alias="entity-bytes", description="CAR: from:to (inclusive; "
                                              "negative from the end, * for the end)")] = None,
    car_version: Annotated[str | None, Query(alias="car-version", description="CAR: 1")] = None,
    car_order: Annotated[str | None, Query(alias="car-order", description="CAR: dfs or unk")] = None,
    car_dups: Annotated[str | None, Query(alias="car-dups", description="CAR: y or n (default n)")] = None,
) -> GatewayQuery:
    return GatewayQuery(format, filename, dag_scope, entity_bytes, car_version, car_order, car_dups)


QueryDep = Annotated[GatewayQuery, Depends(_query)]


# -- responses ------------------------------------------------------------------------------------
def serve(catalog: Catalog, request: Request, cid_text: str, path: str, query: GatewayQuery) -> Response:
    """The answer to one gateway request; every refusal is a JSON error with its status."""
    try:
        return _serve(catalog, request, cid_text, path, query)
    except GatewayError as exc:
        return JSONResponse({"error": str(exc)}, status_code=exc.status)


def _serve(catalog: Catalog, request: Request, cid_text: str, path: str, query: GatewayQuery) -> Response:
    cid = parse_cid(cid_text)
    names = split_path(path)
    wanted = negotiate(request.headers.get("Accept"), query.format, query.car_version, query.car_order,
                       query.car_dups)
    if wanted.format == "raw" and names:
        raise GatewayError(400, "a raw block is asked for by CID alone (/ipfs/{cid}?format=raw): for a path, "
                                "ask for a CAR (format=car)")
    car = None
    if wanted.format == "car":
        try:
            car = trustless.CarRequest.from_params(query.dag_scope, query.entity_bytes, wanted.dups)
        except InvalidInputError as exc:
            raise GatewayError(400, str(exc)) from None
    store = catalog.store
    if not store.has(cid):
        if _only_if_cached(request.headers.get("Cache-Control")):
            raise GatewayError(412, f"{cid} is not in this gateway's store (only-if-cached)")
        raise GatewayError(404, f"{cid} is not in this gateway's store")
    content_path = f"/ipfs/{cid}" + (f"/{quote('/'.join(names))}" if names else "")
    headers = {"Cache-Control": IMMUTABLE, "X-Content-Type-Options": "nosniff", "X-Ipfs-Path": content_path,
               "Vary": "Accept"}
    if car is None:
        headers["ETag"] = f'"{cid}.raw"'
    else:
        digest = hashlib.sha256(f"{'/'.join(names)}\0{car.tag()}\0v1.dfs".encode()).hexdigest()[:16]
        headers["ETag"] = f'W/"{cid}.car.{digest}"'
    if wanted.content_location:
        params = [*request.query_params.multi_items(), ("format", wanted.format)]
        if car is not None and query.car_dups is None:
            params.append(("car-dups", "y" if wanted.dups else "n"))
        headers["Content-Location"] = f"{content_path}?{urlencode(params)}"
    if _etag_matches(request.headers.get("If-None-Match"), headers["ETag"]):
        return Response(status_code=304, headers=headers)
    if car is None:
        return _raw(store.blocks.get, request, cid, query, headers)
    return _car(store.blocks.get, request, cid, names, car, query, headers)


def _raw(get_block: trustless.GetBlock, request: Request, cid: CID, query: GatewayQuery,
         headers: dict[str, str]) -> Response:
    try:
        data = trustless.load(get_block, cid)
    except BlockNotFoundError:  # collected since the check: the root is gone
        raise GatewayError(404, f"{cid} is not in this gateway's store") from None
    headers |= {"Content-Type": RAW_TYPE, "Content-Length": str(len(data)), "X-Ipfs-Roots": str(cid),
                "Content-Disposition": _disposition(query.filename or f"{cid}.bin")}
    return Response(b"" if request.method == "HEAD" else data, headers=headers)


def _car(get_block: trustless.GetBlock, request: Request, cid: CID, names: list[str], car: trustless.CarRequest,
         query: GatewayQuery, headers: dict[str, str]) -> Response:
    try:
        plan = trustless.plan(get_block, cid, names, car)
    except trustless.PathNotFoundError as exc:
        raise GatewayError(404, str(exc)) from None
    except trustless.RangeNotSatisfiableError as exc:
        raise GatewayError(400, str(exc)) from None
    except BlockNotFoundError as exc:  # a directory on the path is not here
        raise GatewayError(404, str(exc)) from None
    headers |= {"Content-Type": f"{CAR_TYPE}; version=1; order=dfs; dups={'y' if car.dups else 'n'}",
                "X-Ipfs-Roots": ",".join(str(root) for root in plan.roots), "Accept-Ranges": "none",
                "Content-Disposition": _disposition(query.filename or f"{cid}.car")}
    if request.method == "HEAD":
        response = Response(headers=headers)
        del response.headers["Content-Length"]  # a stream's length is not known before it is sent
        return response
    return StreamingResponse(in_thread(_car_chunks(cid, plan, headers["X-Ipfs-Path"])), headers=headers)


def _car_chunks(root: CID, plan: trustless.CarPlan, content_path: str) -> Iterator[bytes]:
    """The CARv1 bytes: the header (roots: the request's CID), then one section per block. A block
    that is missing or corrupt ends the stream there: the 200 has been sent, and a client that
    verifies the CAR sees it is incomplete (the spec's answer for streaming)."""
    yield encode_header([root])
    try:
        for cid, data in plan.blocks():
            cid_bytes = bytes(cid)
            yield varint.encode(len(cid_bytes) + len(data)) + cid_bytes
            if data:
                yield data
    except HfIpfsError as exc:
        logger.warning("CAR of %s ended early: %s", content_path, exc)


# -- routes ---------------------------------------------------------------------------------------
router = APIRouter(tags=["trustless gateway"])


def ipfs_cid(catalog: CatalogDep, request: Request, cid: str, query: QueryDep) -> Response:
    return serve(catalog, request, cid, "", query)


def ipfs_path(catalog: CatalogDep, request: Request, cid: str, path: str, query: QueryDep) -> Response:
    return serve(catalog, request, cid, path, query)


for _method in ("GET", "HEAD"):  # one method per route: unique OpenAPI operation ids
    router.add_api_route("/ipfs/{cid}", ipfs_cid, methods=[_method], name=f"ipfs_cid_{_method.lower()}",
                         summary="a raw block (format=raw) or a CAR of the DAG (format=car)")
    router.add_api_route("/ipfs/{cid}/{path:path}", ipfs_path, methods=[_method], name=f"ipfs_path_{_method.lower()}",
                         summary="a CAR of the blocks proving the path, then its terminus (dag-scope, entity-bytes)")
