"""HTTP plumbing shared by the Hub, CDN and dataset viewer servers: a threaded stdlib server that can be stopped
with its keep-alive connections, a ``Response`` value, and Range handling.

Each server has an ``app(Request) -> Response`` callable; the handler does the I/O: it sleeps the
configured latency, asks the app, records the request *before* writing (so counters are exact as
soon as the client holds the answer), then writes headers and body. A response with
``drop_after`` sends that many body bytes of a longer ``Content-Length`` and closes the connection.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

CHUNK = 1 << 20
_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


@dataclass
class Request:
    method: str
    target: str  # path?query as received
    path: str  # raw (still percent-encoded) path
    query: dict[str, list[str]]
    headers: Any  # email.message.Message: case-insensitive .get()
    body: bytes = b""

    @property
    def token(self) -> str | None:
        auth = self.headers.get("Authorization") or ""
        scheme, _, value = auth.partition(" ")
        return (value.strip() or None) if scheme.lower() == "bearer" else None


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | memoryview = b""
    kind: str = "other"
    drop_after: int | None = None


def json_response(status: int, payload: Any, **headers: str) -> Response:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Response(status, {"Content-Type": "application/json; charset=utf-8", **headers}, body)


def content_disposition(name: str) -> str:
    """The Hub's ``inline`` disposition of a file: its name in full, percent-encoded, in
    ``filename*`` (RFC 6266), and an ASCII one in ``filename`` (header values are Latin-1: a name
    like an NFD ``café`` could not be sent as it is)."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)
    return f"inline; filename*=UTF-8''{quote(name)}; filename=\"{fallback}\";"


def error_response(status: int, code: str, message: str, **headers: str) -> Response:
    """An error as the Hub sends it: JSON body, and the X-Error-Code / X-Error-Message headers."""
    response = json_response(status, {"error": message}, **headers)
    response.headers["X-Error-Code"] = code
    response.headers["X-Error-Message"] = message
    return response


def byte_range(header: str | None, size: int) -> tuple[int, int] | None | str:
    """``(start, end)`` inclusive for a satisfiable single range, None without a Range header,
    "unsatisfiable" for a range past the end. Malformed or multiple ranges are ignored (None)."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None or (not match.group(1) and not match.group(2)):
        return None
    first, last = match.groups()
    if first:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
        if start >= size or (last and int(last) < start):
            return "unsatisfiable"
    else:
        suffix = int(last)
        if suffix == 0:
            return "unsatisfiable"
        start, end = max(size - suffix, 0), size - 1
    return (start, end)


def content_response(request: Request, data: bytes, headers: dict[str, str], kind: str) -> Response:
    """200 with the whole ``data``, or 206/416 for a Range request."""
    size = len(data)
    headers = {"Accept-Ranges": "bytes", **headers}
    rng = byte_range(request.headers.get("Range"), size)
    if rng == "unsatisfiable":
        response = error_response(416, "RangeNotSatisfiable", "Requested range not satisfiable")
        response.headers["Content-Range"] = f"bytes */{size}"
        response.kind = kind
        return response
    if rng is None:
        return Response(200, headers, memoryview(data), kind)
    start, end = rng  # type: ignore[misc]
    headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return Response(206, headers, memoryview(data)[start : end + 1], kind)


class Link:
    """The client's one downlink, shared by every server of an emulator: response bodies go out no
    faster than ``bytes_per_s`` in all (0: unlimited), so a benchmark can set a bandwidth as well
    as a latency and compare a mirror's wall time with the bound the two set."""

    def __init__(self, bytes_per_s: float = 0.0) -> None:
        self.bytes_per_s = bytes_per_s
        self._free_at = 0.0  # when the link has sent everything handed to it so far
        self._lock = threading.Lock()

    def pace(self, n: int) -> None:
        """Wait until ``n`` more bytes could have crossed the link."""
        rate = self.bytes_per_s
        if rate <= 0 or n <= 0:
            return
        with self._lock:
            now = time.monotonic()
            self._free_at = max(now, self._free_at) + n / rate
            wait = self._free_at - now
        time.sleep(wait)


class Server(ThreadingHTTPServer):
    """A ThreadingHTTPServer that remembers its open connections so that ``stop`` can cut them."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        app: Callable[[Request], Response],
        record: Callable[[Request, Response, int], None],
        latency: Callable[[], float],
        link: Link | None = None,
    ) -> None:
        self.app, self.record, self.latency = app, record, latency
        self.link = link or Link()
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the body waits for the client's delayed
    # ACK (~40 ms per GET with a body), which would swamp the latency a test or benchmark sets.
    disable_nagle_algorithm = True
    server: Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence stderr logging
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = Request(
            self.command, self.path, parts.path, parse_qs(parts.query, keep_blank_values=True), self.headers, body
        )
        delay = self.server.latency()
        if delay > 0:
            threading.Event().wait(delay)
        try:
            response = self.server.app(request)
        except Exception as exc:  # an emulator bug: answer 500 like a broken server would
            response = error_response(500, "InternalError", f"emulator error: {exc!r}")
        body_view = memoryview(response.body)
        sent = 0 if self.command == "HEAD" else len(body_view)
        if response.drop_after is not None and self.command != "HEAD":
            sent = min(sent, response.drop_after)
        self.server.record(request, response, sent)
        headers = dict(response.headers)
        headers.setdefault("Content-Length", str(len(body_view)))
        if response.drop_after is not None and self.command != "HEAD":
            self.close_connection = True  # cut after `sent` bytes, unannounced like a real drop
        try:  # the client may be gone (it timed out while a slow answer was made)
            self.send_response(response.status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command == "HEAD":
                return
            for offset in range(0, sent, CHUNK):
                end = min(offset + CHUNK, sent)
                self.server.link.pace(end - offset)
                self.wfile.write(body_view[offset:end])
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
