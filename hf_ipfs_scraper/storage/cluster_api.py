"""A typed client of the IPFS Cluster REST API (``ipfs-cluster-service``, port 9094 by default).

The cluster backend makes CIDs and DAGs locally, sends one CAR per repo (``POST /add?format=car``),
then polls ``GET /pins/{cid}`` until enough peers hold it. What the cluster answers becomes frozen
values here (:class:`PinStatus`, :class:`PeerPin`, ...) and every failure one of ours:

* nothing listening, DNS, no answer in time → :class:`BackendUnavailableError` (retry later)
* 401/403 → :class:`BackendError` saying the credentials were refused (never what they were)
* any other non-2xx → :class:`BackendError` carrying the cluster's ``{"code", "message"}`` text
* not on ``replication-min`` peers in time → :class:`ReplicationError` with a per-peer report

Wire facts are taken from ipfs-cluster's sources: status strings and JSON shapes from
``api/types.go`` (``TrackerStatus``, ``GlobalPinInfo``, ``PinInfoShort``, ``Pin``, ``ID``,
``Alert``, ``Error``), add parameters and ``AddedOutput`` from ``api/add.go``, routes from
``api/rest/restapi.go``, auth and response framing from ``api/common/api.go``. Since v1.0 lists
(``/pins``, ``/peers``) stream as NDJSON and CIDs are JSON strings; v0.x sent JSON arrays and
``{"/": "Qm..."}`` CIDs. Both are read.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Any, BinaryIO, Callable, TypeVar

import httpx2

from ..errors import BackendError, BackendUnavailableError, ConfigError, ReplicationError
from ..ipfs.cid import CID
from . import _address

__all__ = [
    "DEFAULT_URL", "Alert", "Allocation", "ClusterAPI", "ClusterPeer", "PeerPin", "PinState", "PinStatus", "http_url",
]

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

DEFAULT_URL = "http://127.0.0.1:9094"
_CHUNK = 1 << 20  # upload read size: a CAR is streamed, never held whole
_NOT_IN_PINSET = "not part of the pinset"  # state.ErrNotFound's text, which the REST API maps to 404


class PinState(str, Enum):
    """One peer's status for one pin: ``TrackerStatus`` strings (ipfs-cluster ``api/types.go``).

    ``error`` and ``queued`` exist there too, but only as filters; no peer reports them."""

    UNDEFINED = "undefined"
    CLUSTER_ERROR = "cluster_error"  # the peer did not answer the status call: down or partitioned
    PIN_ERROR = "pin_error"
    UNPIN_ERROR = "unpin_error"
    PINNED = "pinned"
    PINNING = "pinning"
    UNPINNING = "unpinning"
    UNPINNED = "unpinned"
    REMOTE = "remote"  # tracked by the cluster, allocated to other peers
    PIN_QUEUED = "pin_queued"
    UNPIN_QUEUED = "unpin_queued"
    SHARDED = "sharded"
    UNEXPECTEDLY_UNPINNED = "unexpectedly_unpinned"

    @classmethod
    def _missing_(cls, value: object) -> PinState:
        return cls.UNDEFINED  # as TrackerStatusFromString: a name it does not know is "undefined"

    @property
    def is_error(self) -> bool:
        return self in (PinState.CLUSTER_ERROR, PinState.PIN_ERROR, PinState.UNPIN_ERROR)


@dataclass(frozen=True)
class PeerPin:
    """One entry of ``GlobalPinInfo.peer_map``: where a pin stands on one cluster peer."""

    peer_id: str
    peer_name: str
    status: PinState
    error: str = ""
    timestamp: datetime | None = None

    @property
    def label(self) -> str:
        return self.peer_name or self.peer_id

    def describe(self) -> str:
        text = f"{self.label} {self.status.value}"
        return f"{text}: {self.error}" if self.error else text


@dataclass(frozen=True)
class PinStatus:
    """``GET /pins/{cid}``: a pin's status on every peer (``peers`` sorted by name)."""

    cid: CID
    name: str
    peers: tuple[PeerPin, ...]

    @property
    def pinned_count(self) -> int:
        return sum(p.status is PinState.PINNED for p in self.peers)

    @property
    def errors(self) -> tuple[PeerPin, ...]:
        """Peers reporting pin_error, unpin_error or cluster_error."""
        return tuple(p for p in self.peers if p.status.is_error)

    def describe(self, replication_min: int | None = None) -> str:
        """One line, e.g. ``Qm...: pinned on 1 of replication-min 2 (a pinned, b pin_error: no space)``."""
        if replication_min is None:
            target = f"{len(self.peers)} peers"
        elif replication_min > 0:
            target = f"replication-min {replication_min}"
        else:
            target = f"{_needed(self, replication_min)} peers (replication everywhere)"
        report = ", ".join(p.describe() for p in self.peers) or "no peer reports it"
        return f"{self.cid}: pinned on {self.pinned_count} of {target} ({report})"

    @classmethod
    def from_api(cls, data: Mapping[str, Any], cid: CID | None = None) -> PinStatus:
        peers = [
            PeerPin(str(peer_id), str(info.get("peername") or ""), PinState(info.get("status") or "undefined"),
                    str(info.get("error") or ""), _time(info.get("timestamp")))
            for peer_id, info in (data.get("peer_map") or {}).items()
        ]
        found = data.get("cid")
        return cls(_cid(found) if found else _known(cid), str(data.get("name") or ""),
                   tuple(sorted(peers, key=lambda p: (p.label, p.peer_id))))


@dataclass(frozen=True)
class Allocation:
    """The pin the cluster recorded (``api.Pin``): its options and the peers it chose."""

    cid: CID
    name: str
    replication_min: int
    replication_max: int
    allocations: tuple[str, ...]

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Allocation:
        return cls(_cid(data["cid"]), str(data.get("name") or ""), int(data.get("replication_factor_min") or 0),
                   int(data.get("replication_factor_max") or 0), tuple(map(str, data.get("allocations") or ())))


@dataclass(frozen=True)
class ClusterPeer:
    """``GET /id`` or one item of ``GET /peers`` (``api.ID``); ``error`` is set for a peer that did not answer."""

    peer_id: str
    peer_name: str
    version: str
    addresses: tuple[str, ...]
    cluster_peers: tuple[str, ...]
    ipfs_id: str
    error: str

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> ClusterPeer:
        ipfs = data.get("ipfs") or {}
        return cls(str(data["id"]), str(data.get("peername") or ""), str(data.get("version") or ""),
                   tuple(map(str, data.get("addresses") or ())), tuple(map(str, data.get("cluster_peers") or ())),
                   str(ipfs.get("id") or ""), str(data.get("error") or ""))


@dataclass(frozen=True)
class Alert:
    """``GET /health/alerts`` (``api.Alert``): a peer's metric that expired, e.g. ``ping`` when it went away."""

    name: str
    peer_id: str
    value: str
    expire: datetime | None
    triggered_at: datetime | None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Alert:
        expire = int(data.get("expire") or 0)  # a UnixNano integer, unlike the RFC 3339 triggered_at
        return cls(str(data.get("name") or ""), str(data.get("peer") or ""), str(data.get("value") or ""),
                   datetime.fromtimestamp(expire / 1e9, timezone.utc) if expire > 0 else None,
                   _time(data.get("triggered_at")))


class ClusterAPI:
    """The REST API of one cluster peer. Basic auth when ``username`` is set, a Bearer token when
    ``token`` is (a JWT from the cluster's ``POST /token``); neither shows in ``repr()`` or errors."""

    def __init__(
        self, url: str = DEFAULT_URL, *, username: str = "", password: str = "", token: str = "", timeout: float = 30.0
    ) -> None:
        if username and token:
            raise ConfigError("IPFS Cluster: give either a username and password or a token, not both")
        if password and not username:
            raise ConfigError("IPFS Cluster: a password was given without a username")
        self.url = http_url(url)
        self.timeout = timeout
        self._auth = "basic" if username else "bearer" if token else ""
        self._client = httpx2.Client(
            base_url=self.url, timeout=timeout,
            auth=httpx2.BasicAuth(username, password) if username else None,
            headers={"Authorization": f"Bearer {token}"} if token else None,
        )

    def __repr__(self) -> str:
        return f"ClusterAPI({self.url!r}, auth={self._auth or None!r})"

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ClusterAPI:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- peers and health ---------------------------------------------------------------------
    def id(self) -> ClusterPeer:
        """The peer behind the URL (id, name, version): also the cheapest reachability check."""
        response = self._request("GET", "/id")
        return self._parse(response, lambda: ClusterPeer.from_api(response.json()))

    def peers(self) -> list[ClusterPeer]:
        response = self._request("GET", "/peers")
        return self._parse(response, lambda: [ClusterPeer.from_api(item) for item in _items(response)])

    def alerts(self) -> list[Alert]:
        response = self._request("GET", "/health/alerts")  # `null` when there are none (a nil Go slice)
        return self._parse(response, lambda: [Alert.from_api(item) for item in _items(response)])

    # -- content and pins ---------------------------------------------------------------------
    def add_car(
        self,
        stream: BinaryIO | Iterable[bytes],
        *,
        name: str,
        replication_min: int,
        replication_max: int,
        timeout: float | None = None,
    ) -> CID:
        """Upload one single-root CAR; the cluster stores its blocks and pins the root. Returns the
        root the cluster reports (compare it with yours). The body is streamed chunk by chunk.

        ``stream-channels=false`` is sent on purpose: with streaming on, the cluster reports a failed
        add (bad CAR, no peers to allocate) only in an HTTP trailer, which httpx cannot read; off, it
        answers 500 with the message, and the outputs as one JSON array (api/rest/restapi.go addHandler,
        adder/adderutils/adderutils.go). ``timeout`` overrides the client's for this call."""
        boundary = uuid.uuid4().hex
        params = {"format": "car", "name": name, "replication-min": str(replication_min),
                  "replication-max": str(replication_max), "stream-channels": "false"}
        response = self._request(
            "POST", "/add", params=params, content=_multipart(stream, boundary, _part_filename(name)),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}, timeout=timeout,
        )
        outputs = self._parse(response, lambda: [item for item in _items(response) if item.get("cid")])
        trailer = response.headers.get("X-Stream-Error", "")
        if trailer or not outputs:
            raise BackendError(f"IPFS Cluster at {self.url} reported no root for the CAR of {name!r}"
                               + (f": {trailer}" if trailer else ""))
        return self._parse(response, lambda: _cid(outputs[-1]["cid"]))

    def pin(self, cid: CID, *, name: str, replication_min: int, replication_max: int) -> Allocation:
        """Pin a DAG the cluster's IPFS daemons can already reach (``POST /pins/{cid}``)."""
        params = {"name": name, "replication-min": str(replication_min), "replication-max": str(replication_max)}
        response = self._request("POST", f"/pins/{cid}", params=params)
        if not response.content.strip():
            return Allocation(cid, name, replication_min, replication_max, ())
        return self._parse(response, lambda: Allocation.from_api(response.json()))

    def status(self, cid: CID) -> PinStatus:
        """Where ``cid`` stands on every peer; an unknown CID is ``unpinned`` everywhere, not an error."""
        response = self._request("GET", f"/pins/{cid}")
        return self._parse(response, lambda: PinStatus.from_api(response.json(), cid))

    def wait_pinned(self, cid: CID, *, replication_min: int, timeout: float, poll: float = 0.5) -> PinStatus:
        """Poll until ``replication_min`` peers report pinned (``-1``/``0``: every allocated peer).

        Raises :class:`ReplicationError` after ``timeout`` seconds, or at once when peers reporting
        pin_error leave fewer allocated peers than needed (the cluster does not reallocate on
        pin_error; ``remote`` peers are not allocated). A peer in cluster_error may come back, so it
        only costs the timeout."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.status(cid)
            need = _needed(status, replication_min)
            logger.debug("cluster pin %s", status.describe(replication_min))
            if status.pinned_count >= need:
                return status
            failed = sum(p.status is PinState.PIN_ERROR for p in status.peers)
            if failed and sum(p.status not in (PinState.PIN_ERROR, PinState.REMOTE) for p in status.peers) < need:
                raise ReplicationError(
                    f"{status.describe(replication_min)}: {failed} peer(s) report pin_error, "
                    f"{need} pinned can no longer be reached", status)
            left = deadline - time.monotonic()
            if left <= 0:
                raise ReplicationError(f"{status.describe(replication_min)}: still short after {timeout:g} s", status)
            time.sleep(min(poll, left))

    def unpin(self, cid: CID) -> bool:
        """``DELETE /pins/{cid}``; False (not an error) when the cluster has no such pin, so a retried
        cleanup cannot crash. Unpinning on the peers then happens in the background."""
        response = self._request("DELETE", f"/pins/{cid}", not_in_pinset_ok=True)
        return response.status_code != 404

    def pins(self) -> list[PinStatus]:
        """``GET /pins``: the status of every pin the cluster tracks."""
        response = self._request("GET", "/pins")
        return self._parse(response, lambda: [PinStatus.from_api(item) for item in _items(response)])

    # -- transport ----------------------------------------------------------------------------
    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        content: Iterator[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        not_in_pinset_ok: bool = False,
    ) -> httpx2.Response:
        seconds = self.timeout if timeout is None else timeout
        where = f"IPFS Cluster at {self.url}"
        try:
            response = self._client.request(method, path, params=params, content=content, headers=headers,
                                            timeout=seconds)
        except httpx2.ConnectTimeout as exc:
            raise BackendUnavailableError(f"{where} is not reachable: no connection within {seconds:g} s") from exc
        except httpx2.TimeoutException as exc:
            raise BackendUnavailableError(f"{where} did not answer {method} {path} within {seconds:g} s") from exc
        except httpx2.TransportError as exc:
            raise BackendUnavailableError(f"{where} is not reachable: {_address.unreachable(exc)}") from exc
        if response.status_code < 400:
            return response
        message = _error_message(response)
        if not_in_pinset_ok and response.status_code == 404 and _NOT_IN_PINSET in message:
            return response
        if response.status_code in (401, 403):
            if self._auth:
                raise BackendError(f"{where} refused the credentials ({self._auth} auth): {message}")
            raise BackendError(f"{where} requires credentials (set a username and password, or a token): {message}")
        if response.status_code in (502, 503, 504):  # a proxy in front of a cluster that is down
            raise BackendUnavailableError(f"{where} is not reachable: {method} {path} answered "
                                          f"{response.status_code}: {message}")
        raise BackendError(f"{where}: {method} {path} failed with {response.status_code}: {message}")

    def _parse(self, response: httpx2.Response, build: Callable[[], _T]) -> _T:
        """``build()``, with an answer of the wrong shape turned into one BackendError."""
        try:
            return build()
        except (KeyError, TypeError, ValueError, AttributeError) as exc:  # JSONDecodeError and bad CIDs are ValueErrors
            request = response.request
            raise BackendError(f"IPFS Cluster at {self.url} answered {request.method} {request.url.path} with "
                               f"something unexpected: {exc}") from exc


# -- addresses -------------------------------------------------------------------------------
def http_url(address: str) -> str:
    """The API's base URL from ``http(s)://host:port[/prefix]``, ``host:port`` or a multiaddr as the
    cluster's own config writes it: ``/ip4/127.0.0.1/tcp/9094``, ``/dns/host/tcp/N/https``."""
    return _address.http_url(address, what="an IPFS Cluster API", port=9094, prefix=True,
                             credentials="set cluster.username and cluster.password, or cluster.token")


# -- wire helpers ----------------------------------------------------------------------------
def _multipart(stream: BinaryIO | Iterable[bytes], boundary: str, filename: str) -> Iterator[bytes]:
    """One ``file`` part, as go-ipfs-files' MultiFileReader writes it, around the streamed CAR."""
    yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
           "Content-Type: application/octet-stream\r\n\r\n").encode()
    read = getattr(stream, "read", None)
    if callable(read):
        while chunk := read(_CHUNK):
            yield bytes(chunk)
    else:
        for piece in stream:
            if piece:
                yield bytes(piece)
    yield f"\r\n--{boundary}--\r\n".encode()


def _part_filename(name: str) -> str:
    """The part's filename: the cluster unescapes it and treats a '/' in it as a directory, which a
    CAR upload refuses (boxo files/multipartfile.go fileName), so only safe characters are kept."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return f"{safe or 'upload'}.car"


def _items(response: httpx2.Response) -> list[Any]:
    """A list answer: NDJSON (v1.x streams), a JSON array (v0.x, stream-channels=false), ``null`` or
    an empty 204 body (nothing to list)."""
    text = response.text.strip()
    if not text or text == "null":
        return []
    if text.startswith("["):
        items = json.loads(text)
        if not isinstance(items, list):
            raise ValueError("not a JSON array")
        return items
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _cid(value: Any) -> CID:
    """A CID as cluster JSON writes it: ``"Qm..."`` (v1.x) or ``{"/": "Qm..."}`` (v0.x, go-cid's own)."""
    if isinstance(value, Mapping):
        value = value.get("/")
    if not isinstance(value, str):
        raise ValueError(f"not a CID: {value!r}")
    return CID.parse(value)


def _known(cid: CID | None) -> CID:
    if cid is None:
        raise ValueError("a pin status without a cid")
    return cid


_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)")


def _time(value: Any) -> datetime | None:
    """Go's RFC 3339 (nanoseconds, ``Z``) as a UTC datetime; None for the zero time or anything else:
    a timestamp only informs, it never fails a status read."""
    match = _RFC3339.fullmatch(value) if isinstance(value, str) else None
    if match is None or match.group(1).startswith("0001-"):
        return None
    stamp, fraction, zone = match.groups()
    text = f"{stamp}.{(fraction or '0')[:6].ljust(6, '0')}{'+00:00' if zone == 'Z' else zone}"
    return datetime.fromisoformat(text).astimezone(timezone.utc)


def _needed(status: PinStatus, replication_min: int) -> int:
    """Peers that must report pinned: ``replication_min``, or for ``-1``/``0`` (everywhere / the
    cluster's default, usually everywhere) every peer that is not ``remote``."""
    if replication_min > 0:
        return replication_min
    return max(1, sum(p.status is not PinState.REMOTE for p in status.peers))


def _error_message(response: httpx2.Response) -> str:
    """The ``message`` of the cluster's ``{"code": .., "message": ..}`` error, else the body's start."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, Mapping) and data.get("message"):
        return str(data["message"])
    return response.text.strip()[:200] or response.reason_phrase or f"HTTP {response.status_code}"
