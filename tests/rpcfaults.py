"""A loopback proxy in front of an IPFS daemon's RPC API that makes it fail the way daemons fail.

``RpcFaultProxy(node.api_url)`` listens on a free 127.0.0.1 port and forwards every request to
the daemon byte for byte, except where the armed plan names a fault for that call — a call being
the n-th request (0-based) to one endpoint (``"dag/import"``, ``"pin/add"``...) since ``arm``:

* :class:`Delay` — the daemon's answer is held back ``seconds`` before its first byte (a slow
  or stalled daemon; the daemon still does the call);
* :class:`Refuse` — a 500 with Kubo's JSON error body ``{"Message", "Code": 0, "Type": "error"}``;
  the request body is read in full first, as a daemon does. ``forward=True``: the daemon does the
  call and its answer is replaced (a pin made, then reported as failed);
* :class:`Drop` — the daemon does the call; ``after`` bytes of its answer are relayed (counted
  from its first byte, or with ``in_body`` from the end of its head: status and headers whole,
  the body cut short), then the connection is reset;
* :class:`Hook` — ``action()`` runs once ``after_body`` bytes of the request body have gone to the
  daemon (``node.kill`` there: a daemon killed mid-``dag/import``, or as it starts a ``pin/add``).

Each request gets a connection of its own (``Connection: close`` both ways), so a fault never
leaks into the next call. ``injected`` lists what was done, ``calls`` counts requests per endpoint.
A daemon that is gone (killed, not yet restarted) makes the proxy reset the client's connection,
as a crashed daemon's socket would.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Mapping
from urllib.parse import urlsplit

_HEAD_MAX = 64 << 10
_PIECE = 64 << 10


@dataclass(frozen=True)
class Delay:
    seconds: float


@dataclass(frozen=True)
class Refuse:
    message: str
    status: int = 500
    forward: bool = False


@dataclass(frozen=True)
class Drop:
    after: int = 0
    in_body: bool = False  # ``after`` counts from the end of the answer's head


@dataclass(frozen=True)
class Hook:
    action: Callable[[], None]
    after_body: int = 0


Fault = Delay | Refuse | Drop | Hook
Plan = Mapping[tuple[str, int], Fault]


class _Conn:
    """A socket read through a buffer: the request head, then a body of known framing."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()

    def _fill(self) -> bool:
        piece = self.sock.recv(_PIECE)
        self.buffer += piece
        return bool(piece)

    def head(self) -> bytes | None:
        while b"\r\n\r\n" not in self.buffer:
            if len(self.buffer) > _HEAD_MAX or not self._fill():
                return None
        end = self.buffer.index(b"\r\n\r\n") + 4
        head = bytes(self.buffer[:end])
        del self.buffer[:end]
        return head

    def line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            if not self._fill():
                raise ConnectionError("body cut short")
        end = self.buffer.index(b"\r\n") + 2
        line = bytes(self.buffer[:end])
        del self.buffer[:end]
        return line

    def exactly(self, n: int) -> None:
        while len(self.buffer) < n:
            if not self._fill():
                raise ConnectionError("body cut short")
        del self.buffer[:n]

    def drain_body(self, headers: Mapping[str, str]) -> None:
        """Read (and forget) a Content-Length or chunked request body."""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            while True:
                size = int(self.line().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.line() != b"\r\n":  # trailers, then the blank line
                        pass
                    return
                self.exactly(size + 2)
        self.exactly(int(headers.get("content-length", "0") or 0))


def _parse_head(head: bytes) -> tuple[str, dict[str, str], list[bytes]]:
    lines = head.split(b"\r\n")[:-2]
    target = lines[0].split(b" ")[1].decode("latin-1")
    headers = {}
    for raw in lines[1:]:
        name, _, value = raw.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return target, headers, lines


def _endpoint(target: str) -> str:
    return urlsplit(target).path.removeprefix("/api/v0/").strip("/")


def _closing_head(lines: list[bytes]) -> bytes:
    kept = [line for line in lines if not line.lower().startswith((b"connection:", b"keep-alive:"))]
    return b"\r\n".join([*kept, b"Connection: close", b"", b""])


def kubo_error(fault: Refuse) -> bytes:
    """An error answer as Kubo's RPC writes one (cmds ``ErrNormal``: code 0, HTTP 500)."""
    body = json.dumps({"Message": fault.message, "Code": 0, "Type": "error"}).encode() + b"\n"
    reason = {400: "Bad Request", 500: "Internal Server Error"}.get(fault.status, "Error")
    head = (f"HTTP/1.1 {fault.status} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nVary: Origin\r\nConnection: close\r\n\r\n")
    return head.encode() + body


def _reset(sock: socket.socket) -> None:
    """Close with RST, as the socket of a process that died (``SHUT_RD`` first: it wakes the
    thread reading the request body, and sends nothing)."""
    try:
        sock.shutdown(socket.SHUT_RD)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def _finish(sock: socket.socket) -> None:
    """Close after a whole answer (``SHUT_RDWR``: a FIN, and the body thread wakes)."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


class RpcFaultProxy:
    """See the module docstring. ``url`` is the address to give the mirror (``kubo.api``)."""

    def __init__(self, upstream_url: str) -> None:
        parts = urlsplit(upstream_url)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 5001)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._lock = threading.Lock()
        self._plan: dict[tuple[str, int], Fault] = {}
        self._every: Fault | None = None
        self.calls: Counter[str] = Counter()
        self.injected: list[tuple[str, int, Fault]] = []
        self._closed = False
        self._thread = threading.Thread(target=self._accept, name="rpc-fault-proxy", daemon=True)
        self._thread.start()

    def arm(self, plan: Plan | None = None, *, every: Fault | None = None) -> None:
        """A new plan (the call counts start again); ``every``: that fault for every call not in it."""
        with self._lock:
            self._plan = dict(plan or {})
            self._every = every
            self.calls.clear()
            self.injected.clear()

    def _fault(self, endpoint: str) -> tuple[int, Fault | None]:
        with self._lock:
            index = self.calls[endpoint]
            self.calls[endpoint] += 1
            fault = self._plan.get((endpoint, index), self._every)
            if fault is not None:
                self.injected.append((endpoint, index, fault))
            return index, fault

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        conn = _Conn(client)
        try:
            head = conn.head()
            if head is None:
                client.close()
                return
            target, headers, lines = _parse_head(head)
            _index, fault = self._fault(_endpoint(target))
            if isinstance(fault, Refuse) and not fault.forward:
                conn.drain_body(headers)
                client.sendall(kubo_error(fault))
                _finish(client)
                return
            self._forward(conn, _closing_head(lines), fault)
        except OSError:
            _reset(client)

    def _forward(self, conn: _Conn, head: bytes, fault: Fault | None) -> None:
        client = conn.sock
        try:
            upstream = socket.create_connection(self._upstream, timeout=5)
        except OSError:  # the daemon is down: its port would refuse; the client sees a reset
            _reset(client)
            return
        upstream.settimeout(None)
        with upstream:
            upstream.sendall(head)
            hook = fault if isinstance(fault, Hook) else None
            if hook is not None and hook.after_body == 0:
                hook.action()
                hook = None
            pump = threading.Thread(target=self._pump_body, args=(conn, upstream, hook), daemon=True)
            pump.start()
            self._relay_answer(upstream, client, fault)

    def _pump_body(self, conn: _Conn, upstream: socket.socket, hook: Hook | None) -> None:
        """Client → daemon until the client closes (one request per connection)."""
        sent = 0
        try:
            pending = bytes(conn.buffer)
            conn.buffer.clear()
            while True:
                if not pending:
                    pending = conn.sock.recv(_PIECE)
                    if not pending:
                        return
                if hook is not None and sent + len(pending) >= hook.after_body:
                    cut = hook.after_body - sent
                    upstream.sendall(pending[:cut])
                    hook.action()
                    pending, sent, hook = pending[cut:], hook.after_body, None
                    continue
                upstream.sendall(pending)
                sent += len(pending)
                pending = b""
        except OSError:
            return

    def _relay_answer(self, upstream: socket.socket, client: socket.socket, fault: Fault | None) -> None:
        """Daemon → client, with the fault's delay, replacement or cut."""
        if isinstance(fault, Refuse):  # forward=True: the daemon did it; its answer is replaced
            try:
                while upstream.recv(_PIECE):
                    pass
            except OSError:
                pass
            client.sendall(kubo_error(fault))
            _finish(client)
            return
        if isinstance(fault, Delay):
            time.sleep(fault.seconds)
        budget = fault.after if isinstance(fault, Drop) else None
        try:
            if isinstance(fault, Drop) and fault.in_body:
                budget, head = None, bytearray()
                while b"\r\n\r\n" not in head:
                    piece = upstream.recv(_PIECE)
                    if not piece:
                        break
                    head += piece
                if b"\r\n\r\n" in head:
                    budget = head.index(b"\r\n\r\n") + 4 + fault.after
                pending: bytes | None = bytes(head)
            else:
                pending = None
            while True:
                piece = pending if pending is not None else upstream.recv(_PIECE)
                pending = None
                if not piece:
                    break
                if budget is not None:
                    client.sendall(piece[:budget])
                    budget -= min(budget, len(piece))
                    if budget == 0:
                        _reset(client)
                        return
                else:
                    client.sendall(piece)
        except OSError:  # the daemon died mid-answer, or the client gave up
            _reset(client)
            return
        if budget is not None:  # the answer was shorter than the cut
            _reset(client)
            return
        _finish(client)

    def close(self) -> None:
        """Stop listening: the address now refuses connections."""
        self._listener.close()

    def __enter__(self) -> RpcFaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
