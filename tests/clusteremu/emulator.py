"""``ClusterEmulator``: the stand-in cluster served by uvicorn on 127.0.0.1:<ephemeral>.

    peers = [Peer("peer-a"), Peer("peer-b", ["pin_queued", "pinning", "pinned"]),
             Peer("peer-c", ["pin_error: no space left on device"])]
    with ClusterEmulator(peers, users={"admin": "s3cret"}) as emu:
        ClusterAPI(emu.url, username="admin", password="s3cret").status(cid)
        emu.requests[-1].path  # -> "/pins/Qm..."

Like ``tests/hubemu/emulator.py``: ``start()``/``stop()`` or a ``with`` block, ``url`` once started,
every request recorded (``requests``: method, path, query, headers; ``reset_requests()``); state
(``pins``, ``blocks``) is shared with the server thread under one lock.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import uvicorn

from hf_ipfs_scraper.ipfs.cid import CID

from .app import Auth, build_app
from .state import ClusterState, Peer, PinEntry


@dataclass(frozen=True)
class Seen:
    """One request as the stand-in received it (``query``: first value per name; headers lower-case)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]


class ClusterEmulator:
    def __init__(
        self,
        peers: Iterable[Peer | str] = ("peer-a", "peer-b", "peer-c"),
        *,
        users: Mapping[str, str] | None = None,
        tokens: Iterable[str] = (),
        replication_min: int = -1,
        replication_max: int = -1,
        legacy: bool = False,
        ipfs_api: str | None = None,
    ) -> None:
        """``users`` (Basic) and/or ``tokens`` (Bearer) turn auth on: anything else gets 401.
        ``replication_min/max``: the cluster's configured factors, used when a request sends 0
        (ipfs-cluster's defaults are -1/-1, pin everywhere). ``legacy``: speak v0.x JSON (CIDs as
        ``{"/": ...}``, lists as one JSON array instead of NDJSON). ``ipfs_api``: an IPFS daemon's
        RPC URL (``http://127.0.0.1:5001``) that every added CAR is imported into before the add
        answers, as a peer's IPFS would hold the blocks; an add it fails answers 500 (see app.py)."""
        self.state = ClusterState((p if isinstance(p, Peer) else Peer(p) for p in peers),
                                  replication_min=replication_min, replication_max=replication_max, legacy=legacy)
        self._auth = Auth(users or {}, set(tokens))
        self.ipfs_api = ipfs_api
        self._requests: list[Seen] = []
        self._requests_lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> ClusterEmulator:
        if self._server is not None:
            return self
        app = build_app(self.state, self._auth, self.ipfs_api)

        async def recording(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                query: dict[str, str] = {}
                for key, value in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True):
                    query.setdefault(key, value)
                headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
                with self._requests_lock:
                    self._requests.append(Seen(scope["method"], scope["path"], query, headers))
            await app(scope, receive, send)

        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(recording, log_config=None, lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the cluster stand-in did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._sock is not None:
            self._sock.close()
        self._server = self._thread = self._sock = None

    def __enter__(self) -> ClusterEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._sock is None:
            raise RuntimeError("the cluster stand-in is not started")
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    # -- what happened -----------------------------------------------------------------------
    @property
    def requests(self) -> list[Seen]:
        with self._requests_lock:
            return list(self._requests)

    def reset_requests(self) -> None:
        with self._requests_lock:
            self._requests.clear()

    def requests_to(self, method: str, path_prefix: str) -> list[Seen]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    @property
    def pins(self) -> dict[CID, PinEntry]:
        with self.state.lock:
            return dict(self.state.pins)

    @property
    def blocks(self) -> dict[CID, bytes]:
        with self.state.lock:
            return dict(self.state.blocks)

    @property
    def ipfs_imports(self) -> list[CID]:
        """Roots of the CARs imported into ``ipfs_api``, in order."""
        with self.state.lock:
            return list(self.state.ipfs_imports)

    @property
    def ipfs_errors(self) -> list[str]:
        """Why imports into ``ipfs_api`` failed (the add answered ErrBlockAdder's text)."""
        with self.state.lock:
            return list(self.state.ipfs_errors)

    # -- what it says next -------------------------------------------------------------------
    def add_alert(self, peer: str, metric: str = "ping") -> None:
        """Report ``metric`` of ``peer`` as expired on ``/health/alerts`` (a "ping" alert is how
        the cluster says a peer went away)."""
        self.state.peer(peer)  # fail now on a peer name the cluster does not have
        with self.state.lock:
            self.state.alerts.append((metric, peer))

    def peer(self, name: str) -> Peer:
        return self.state.peer(name)
