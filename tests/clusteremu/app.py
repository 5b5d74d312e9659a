"""The stand-in's HTTP side: the REST routes, auth, and ``POST /add?format=car``.

Routes and handlers follow ipfs-cluster ``api/rest/restapi.go``; auth, the error body
``{"code", "message"}``, NDJSON streams (204 when empty) from ``api/common/api.go``
(``authHandler``, ``SendResponse``, ``StreamResponse``); the add parameters from ``api/add.go``
(``AddParamsFromQuery``); the CAR adder from ``adder/adder.go`` (``carAdder.Add``) and the
response framing from ``adder/adderutils/adderutils.go``. One deviation: errors the real cluster
sends in an ``X-Stream-Error`` HTTP *trailer* are sent here as a header (uvicorn has no trailers).

With an IPFS daemon behind it (``ipfs_api``), an accepted CAR is also imported into that daemon
(``dag/import``, roots not pinned: the cluster's pin tracker pins, not the adder) before the add
answers, as a real peer streams the blocks into its IPFS (``adder/util.go`` ``BlockStreamer``); a
daemon that refuses or is down fails the add with the real cluster's ``ErrBlockAdder`` text. One
daemon stands for every peer's IPFS, and only blocks go there: pins and unpins stay cluster-side.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import posixpath
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

import httpx2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hf_ipfs_scraper.errors import CodecError, InvalidInputError
from hf_ipfs_scraper.ipfs import dagpb, unixfs
from hf_ipfs_scraper.ipfs.car import CarReader
from hf_ipfs_scraper.ipfs.cid import DAG_PB, CID

from .state import ApiError, ClusterState, parse_bool, pin_options

REALM = 'realm="Restricted IPFS Cluster API"'
BLOCK_ADDER_FAILED = "failed to put block on all destinations"  # adder/util.go ErrBlockAdder
IPFS_TIMEOUT_S = 30.0


def json_response(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(json.dumps(payload) + "\n", status, headers=headers, media_type="application/json")


def error_response(exc: ApiError, headers: Mapping[str, str] | None = None) -> Response:
    return json_response({"code": exc.status, "message": exc.message}, exc.status, headers)


def stream_response(items: list[Any], legacy: bool) -> Response:
    """StreamResponse: one JSON object per line, 204 when there is none (v0.x: one JSON array)."""
    if legacy:
        return json_response(items)
    if not items:
        return Response(status_code=204)
    body = "".join(json.dumps(item) + "\n" for item in items)
    return Response(body, 200, headers={"Trailer": "X-Stream-Error"}, media_type="application/json")


class Auth:
    """authHandler: Basic checked against ``users``; a Bearer token against ``tokens`` (the real one
    verifies a JWT signed with a user's password; a literal token stands in for it here)."""

    def __init__(self, users: Mapping[str, str], tokens: set[str]) -> None:
        self.users, self.tokens = dict(users), tokens

    def refusal(self, request: Request) -> Response | None:
        if not (self.users or self.tokens):
            return None
        if request.method == "OPTIONS" or (request.method == "GET" and request.url.path == "/health"):
            return None
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "basic" and value:
            try:
                user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user = password = ""
            if not (user and password and self.users.get(user) == password):
                return error_response(ApiError(401, "unauthorized: access denied"),
                                      {"WWW-Authenticate": f"Basic {REALM}"})
            return None
        if scheme.lower() == "bearer":
            if value not in self.tokens:
                return error_response(ApiError(401, "unauthorized: invalid token"),
                                      {"WWW-Authenticate": f'Bearer {REALM}, error="invalid_token"'})
            return None
        return error_response(ApiError(401, "unauthorized: no auth provided"),
                              {"WWW-Authenticate": f"Bearer {REALM}, Basic {REALM}"})


def build_app(state: ClusterState, auth: Auth, ipfs_api: str | None = None) -> Starlette:
    def guarded(handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            refused = auth.refusal(request)
            if refused is not None:
                return refused
            try:
                result: Response = await handler(request)
            except ApiError as exc:
                return error_response(exc)
            return result
        return endpoint

    async def id_(request: Request) -> Response:
        return json_response(state.id_json(state.peers[0]))

    async def peers(request: Request) -> Response:
        return stream_response([state.id_json(p) for p in state.peers], state.legacy)

    async def alerts(request: Request) -> Response:
        return json_response(state.alerts_json())

    async def health(request: Request) -> Response:
        return Response(status_code=204)

    async def pins(request: Request) -> Response:
        with state.lock:
            cids = list(state.pins)
        return stream_response([state.status(c, advance=False) for c in cids], state.legacy)

    async def status(request: Request) -> Response:
        return json_response(state.status(_path_cid(request), advance=True))

    async def pin(request: Request) -> Response:
        return json_response(state.pin_json(state.pin(_path_cid(request), _query(request))))

    async def unpin(request: Request) -> Response:
        return json_response(state.pin_json(state.unpin(_path_cid(request))))

    async def add(request: Request) -> Response:
        return await _add(state, request, ipfs_api)

    async def not_found(request: Request) -> Response:
        return error_response(ApiError(404, "not found"))

    routes = [
        Route("/id", guarded(id_), methods=["GET"]),
        Route("/peers", guarded(peers), methods=["GET"]),
        Route("/health/alerts", guarded(alerts), methods=["GET"]),
        Route("/health", guarded(health), methods=["GET"]),
        Route("/pins", guarded(pins), methods=["GET"]),
        Route("/pins/{hash}", guarded(status), methods=["GET"]),
        Route("/pins/{hash}", guarded(pin), methods=["POST"]),
        Route("/pins/{hash}", guarded(unpin), methods=["DELETE"]),
        Route("/add", guarded(add), methods=["POST"]),
        Route("/{rest:path}", guarded(not_found), methods=["GET", "POST", "DELETE", "PUT"]),
    ]
    return Starlette(routes=routes)


def _query(request: Request) -> dict[str, str]:
    """url.Values.Get: the first value of each parameter."""
    query: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        query.setdefault(key, value)
    return query


def _path_cid(request: Request) -> CID:
    """ParseCidOrFail (api/common/api.go)."""
    try:
        return CID.parse(request.path_params["hash"])
    except InvalidInputError as exc:
        raise ApiError(400, f"error decoding Cid: {exc}") from None


# -- POST /add ---------------------------------------------------------------------------------
async def _add(state: ClusterState, request: Request, ipfs_api: str | None) -> Response:
    boundary = _boundary(request.headers.get("content-type", ""))
    query = _query(request)
    if query.get("format", "") not in ("car", "unixfs", ""):
        raise ApiError(400, "format parameter is invalid")
    pin_options(query)  # bad replication values are a 400 before anything is read
    streaming = parse_bool(query, "stream-channels", True)
    no_pin = parse_bool(query, "no-pin", False)
    if query.get("format") != "car":
        raise ApiError(500, "this stand-in adds CARs only (format=car)")
    filename, content = _first_part(await request.body(), boundary)
    output: dict[str, Any] | None = None
    error = ""
    try:
        root, output, blocks = _read_car(state, filename, content)
        if ipfs_api is not None:
            await _import_into_ipfs(state, ipfs_api, root, content)
        with state.lock:
            state.blocks.update(blocks)
        if not no_pin:  # single/dag_service.go Finalize: pin the root with the add's options
            entry = state.pin(root, query, shard_size=100 * 1024 * 1024)
            if entry.allocations:
                output["allocations"] = entry.allocations
    except ApiError as exc:
        error = exc.message
    headers = {"Cache-Control": "no-cache", "Connection": "close"}
    if not streaming:  # buffered: one JSON array, or a 500 with the message
        if error:
            return json_response({"code": 500, "message": error}, 500, headers)
        return json_response([output], 200, headers)
    headers.update({"X-Chunked-Output": "1", "Trailer": "X-Stream-Error"})
    if error:
        headers["X-Stream-Error"] = error  # a trailer in the real cluster
    # single/dag_service.go allocates at the first block, before the CAR's one output is sent
    body = json.dumps(output) + "\n" if output is not None and not error else ""
    return Response(body, 200, headers=headers, media_type="application/json")


def _boundary(content_type: str) -> str:
    kind, _, params = content_type.partition(";")
    if kind.strip().lower() != "multipart/form-data":
        raise ApiError(400, "request Content-Type isn't multipart/form-data")
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.lower() == "boundary" and value:
            return value.strip('"')
    raise ApiError(400, "no multipart boundary param in Content-Type")


def _first_part(body: bytes, boundary: str) -> tuple[str, bytes]:
    """The first part's filename and bytes (the CAR adder reads one file and stops)."""
    delimiter = b"--" + boundary.encode()
    start = body.find(delimiter)
    head_end = body.find(b"\r\n\r\n", start)
    end = body.find(b"\r\n" + delimiter, head_end)
    if start < 0 or head_end < 0 or end < 0:
        raise ApiError(500, "multipart: NextPart: EOF")
    filename = ""
    for line in body[start + len(delimiter):head_end].decode("utf-8", "replace").split("\r\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-disposition":
            for param in value.split(";"):
                key, _, val = param.strip().partition("=")
                if key == "filename":
                    filename = val.strip('"')
    return filename, body[head_end + 4:end]


def _read_car(state: ClusterState, filename: str, content: bytes) -> tuple[CID, dict[str, Any], dict[CID, bytes]]:
    """carAdder.Add: a file part holding a CARv1 with exactly one root; its blocks, and the output."""
    name = posixpath.normpath("/" + unquote(filename)).lstrip("/")  # boxo files/multipartfile.go fileName
    if "/" in name:
        raise ApiError(500, "expected CAR file is not of type file")  # a '/' made it a directory
    try:
        reader = CarReader(io.BytesIO(content))
        if reader.version != 1:
            raise ApiError(500, f"invalid car version: {reader.version}")
        if not reader.roots:
            raise ApiError(500, "empty car, no roots")
        if len(reader.roots) != 1:
            raise ApiError(500, "only CAR files with a single root are supported")
        root, total, size = reader.roots[0], 0, 0
        blocks: dict[CID, bytes] = {}
        for cid, data in reader:
            blocks[cid] = data
            total += len(data)
            if cid == root and cid.codec == DAG_PB:
                node = dagpb.decode(data)
                size = (unixfs.decode(node.data).filesize or 0) if node.data else 0
    except CodecError as exc:  # a corrupt CAR (CarError) or root block
        raise ApiError(500, str(exc)) from None
    output: dict[str, Any] = {"name": name, "cid": state.cid_json(root), "bytes": total}
    if size:
        output["size"] = size
    return root, output, blocks


async def _import_into_ipfs(state: ClusterState, ipfs_api: str, root: CID, content: bytes) -> None:
    """The CAR into the daemon, uploaded as ipfshttpclient does (one multipart ``file`` part). Any
    failure, an error object in a 200 stream included, is the add's ``ErrBlockAdder``; the reason
    is kept in ``state.ipfs_errors`` (the real cluster logs it)."""
    url = f"{ipfs_api.rstrip('/')}/api/v0/dag/import"
    files = {"file": ("upload.car", content, "application/octet-stream")}
    try:
        async with httpx2.AsyncClient(timeout=IPFS_TIMEOUT_S) as client:
            response = await client.post(url, params={"pin-roots": "false"}, files=files)
        failure = "" if response.status_code == 200 else f"HTTP {response.status_code}: {response.text[:200]}"
        failure = failure or response.headers.get("X-Stream-Error", "") or _stream_error(response.text)
    except httpx2.HTTPError as exc:
        failure = f"{type(exc).__name__}: {exc}"
    with state.lock:
        if failure:
            state.ipfs_errors.append(failure)
        else:
            state.ipfs_imports.append(root)
    if failure:
        raise ApiError(500, BLOCK_ADDER_FAILED)


def _stream_error(text: str) -> str:
    """An error object a daemon streamed after its 200 (Kubo's ``{"Message", "Type": "error"}``)."""
    for line in text.splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict) and item.get("Type") == "error":
            return str(item.get("Message") or line)
    return ""
