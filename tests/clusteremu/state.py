"""The stand-in cluster's state: peers with scripted behaviour, the pinset, the blocks, the alerts.

Every JSON shape written here is the one ipfs-cluster's Go types marshal to (ipfs-cluster
``api/types.go``): ``GlobalPinInfo`` + ``PinInfoShort`` for statuses, ``Pin`` (with ``PinOptions``
inlined) for pin/unpin answers, ``ID`` for peers, ``Alert`` (``Metric`` inlined). Validation and
allocation follow ``cluster.go`` (``setupReplicationFactor``), ``cluster_config.go``
(``isReplicationFactorValid``) and ``allocate.go`` (``allocate``, ``allocationError``), simplified:
the allocator picks the first peers in the order they were given.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from hf_ipfs_scraper.ipfs import multibase
from hf_ipfs_scraper.ipfs.cid import CID

GO_ZERO_TIME = "0001-01-01T00:00:00Z"
VERSION = "1.1.6"  # the release whose sources these shapes were read from
NOT_IN_PINSET = "pin is not part of the pinset"  # state/interface.go ErrNotFound


class ApiError(Exception):
    """An answer ``{"code": status, "message": message}`` (api.Error, written by SendResponse)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def go_time(moment: datetime) -> str:
    """Go's RFC3339Nano: UTC with 'Z', trailing zeros of the fraction dropped."""
    text = moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
    return text + "Z"


def peer_id_for(name: str) -> str:
    """A well-formed libp2p peer id (identity multihash of an ed25519 public key, "12D3KooW..."),
    derived from the name so that tests and failures read the same every run."""
    public_key = hashlib.sha256(name.encode()).digest()
    return multibase.b58encode(b"\x00\x24\x08\x01\x12\x20" + public_key)


@dataclass
class Peer:
    """One cluster peer. ``script``: the statuses each new pin takes on this peer, one step per
    ``GET /pins/{cid}`` of that pin, or one per ``step_ms`` milliseconds since it was pinned; the
    last one stays. ``"pin_error: no space left"`` carries an error message; ``"gone"`` drops the
    peer out of that pin's peer_map (as after it left the cluster); ``"cluster_error: ..."`` is how
    the real cluster reports a peer it could not ask. ``by_name``: other scripts for the pins of
    these names (``{"model:org/x": ["pin_error: no space left on device"]}``), to fail one pin of
    many."""

    name: str
    script: Sequence[str] = ("pinned",)
    step_ms: float | None = None
    peer_id: str = ""
    by_name: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.peer_id = self.peer_id or peer_id_for(self.name)
        self.script = tuple(self.script) or ("pinned",)
        self.by_name = {name: tuple(script) or ("pinned",) for name, script in self.by_name.items()}
        self.ipfs_id = peer_id_for(f"ipfs:{self.name}")

    def script_for(self, pin_name: str) -> Sequence[str]:
        return self.by_name.get(pin_name, self.script)


@dataclass
class PinEntry:
    cid: CID
    name: str
    replication_min: int
    replication_max: int
    allocations: list[str]  # peer ids; empty when pinned everywhere
    shard_size: int = 0
    created: float = field(default_factory=time.monotonic)
    timestamp: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    polls: int = 0

    @property
    def everywhere(self) -> bool:
        return self.replication_min == -1 and self.replication_max == -1


class ClusterState:
    def __init__(self, peers: Iterable[Peer], *, replication_min: int = -1, replication_max: int = -1,
                 legacy: bool = False) -> None:
        self.peers = list(peers)
        if not self.peers:
            raise ValueError("a cluster needs at least one peer")
        self.default_min, self.default_max = replication_min, replication_max
        self.legacy = legacy  # v0.x wire: CIDs as {"/": ...}, lists as JSON arrays
        self.lock = threading.Lock()
        self.pins: dict[CID, PinEntry] = {}
        self.blocks: dict[CID, bytes] = {}
        self.alerts: list[tuple[str, str]] = []  # (metric name, peer name)
        self.ipfs_imports: list[CID] = []  # roots of the CARs imported into the IPFS daemon
        self.ipfs_errors: list[str] = []  # why an import into it failed

    def cid_json(self, cid: CID | None) -> Any:
        if cid is None:
            return None
        return {"/": str(cid)} if self.legacy else str(cid)

    def peer(self, name: str) -> Peer:
        return next(p for p in self.peers if p.name == name)

    # -- pinset --------------------------------------------------------------------------------
    def pin(self, cid: CID, query: Mapping[str, str], *, shard_size: int = 0) -> PinEntry:
        """POST /pins/{cid} (and the pin /add makes): options parsed as PinOptions.FromQuery does."""
        name, rmin, rmax = pin_options(query)
        rmin = rmin or self.default_min  # 0 means "the cluster's configured factor"
        rmax = rmax or self.default_max
        _check_factors(rmin, rmax)
        with self.lock:
            existing = self.pins.get(cid)
            if existing is not None:  # a re-pin updates options and keeps valid allocations
                existing.name, existing.replication_min, existing.replication_max = name, rmin, rmax
                return existing
            entry = PinEntry(cid, name, rmin, rmax, self._allocate(cid, rmin, rmax), shard_size)
            self.pins[cid] = entry
            return entry

    def _allocate(self, cid: CID, rmin: int, rmax: int) -> list[str]:
        if rmin == -1 and rmax == -1:
            return []
        if len(self.peers) < rmin:
            raise ApiError(500, "not enough peers to allocate CID. "
                                f"Needed at least: {rmin}. Wanted at most: {rmax}. "
                                f"Available candidates: {len(self.peers)}. See logs for more info.")
        return [p.peer_id for p in self.peers[:rmax]]

    def unpin(self, cid: CID) -> PinEntry:
        with self.lock:
            entry = self.pins.pop(cid, None)
        if entry is None:
            raise ApiError(404, NOT_IN_PINSET)
        return entry

    # -- answers -------------------------------------------------------------------------------
    def status(self, cid: CID, *, advance: bool) -> dict[str, Any]:
        """GlobalPinInfo for ``cid``; ``advance`` moves polled scripts one step on."""
        with self.lock:
            entry = self.pins.get(cid)
            now = datetime.now(timezone.utc)
            if entry is None:  # cluster.go globalPinInfoCid: not in the pinset → unpinned everywhere
                peer_map = {p.peer_id: self._short(p, "unpinned", "", now) for p in self.peers}
                return {"cid": self.cid_json(cid), "name": "", "allocations": [], "origins": [],
                        "created": go_time(now), "metadata": None, "peer_map": peer_map}
            peer_map = {}
            for peer in self.peers:
                state = self._peer_state(peer, entry)
                if state is not None:
                    peer_map[peer.peer_id] = self._short(peer, state[0], state[1], now)
            if advance:
                entry.polls += 1
            return {"cid": self.cid_json(cid), "name": entry.name,
                    "allocations": entry.allocations or None, "origins": [],
                    "created": go_time(entry.timestamp), "metadata": None, "peer_map": peer_map}

    def _peer_state(self, peer: Peer, entry: PinEntry) -> tuple[str, str] | None:
        if not entry.everywhere and peer.peer_id not in entry.allocations:
            return "remote", ""  # cluster.go: un-allocated peers get status remote
        if peer.step_ms is None:
            step = entry.polls
        else:
            step = int((time.monotonic() - entry.created) * 1000 // peer.step_ms)
        script = peer.script_for(entry.name)
        status, _, message = script[min(step, len(script) - 1)].partition(":")
        if status.strip() == "gone":
            return None
        return status.strip(), message.strip()

    @staticmethod
    def _short(peer: Peer, status: str, error: str, now: datetime) -> dict[str, Any]:
        """PinInfoShort (api/types.go)."""
        return {"peername": peer.name, "ipfs_peer_id": peer.ipfs_id,
                "ipfs_peer_addresses": [f"/ip4/127.0.0.1/tcp/4001/p2p/{peer.ipfs_id}"], "status": status,
                "timestamp": go_time(now), "error": error, "attempt_count": 0, "priority_pin": False}

    def pin_json(self, entry: PinEntry) -> dict[str, Any]:
        """api.Pin: PinOptions inlined, then cid/type/allocations/max_depth/reference/timestamp."""
        return {
            "replication_factor_min": entry.replication_min, "replication_factor_max": entry.replication_max,
            "name": entry.name, "mode": "recursive", "shard_size": entry.shard_size, "user_allocations": None,
            "expire_at": GO_ZERO_TIME, "metadata": {}, "pin_update": None, "origins": None,
            "cid": self.cid_json(entry.cid), "type": "pin", "allocations": entry.allocations or None,
            "max_depth": -1, "reference": None, "timestamp": go_time(entry.timestamp),
        }

    def id_json(self, peer: Peer) -> dict[str, Any]:
        """api.ID (+ IPFSID)."""
        return {
            "id": peer.peer_id, "addresses": [f"/ip4/127.0.0.1/tcp/9096/p2p/{peer.peer_id}"],
            "cluster_peers": [p.peer_id for p in self.peers], "cluster_peers_addresses": [],
            "version": VERSION, "commit": "", "rpc_protocol_version": "/ipfscluster/1.1/rpc", "error": "",
            "ipfs": {"id": peer.ipfs_id, "addresses": [f"/ip4/127.0.0.1/tcp/4001/p2p/{peer.ipfs_id}"],
                     "error": ""},
            "peername": peer.name,
        }

    def alerts_json(self) -> list[dict[str, Any]] | None:
        """api.Alert list; ``None`` (JSON null) when empty, as a nil Go slice marshals."""
        if not self.alerts:
            return None
        now = datetime.now(timezone.utc)
        expired = time.time_ns() - 30 * 10**9
        return [{"name": metric, "peer": self.peer(peer).peer_id, "value": "", "expire": expired, "valid": True,
                 "weight": 0, "partitionable": False, "received_at": expired - 30 * 10**9,
                 "triggered_at": go_time(now)} for metric, peer in self.alerts]


# -- PinOptions.FromQuery and the checks after it ---------------------------------------------
def pin_options(query: Mapping[str, str]) -> tuple[str, int, int]:
    """name, replication-min, replication-max; ``replication`` overrides both (api/types.go)."""
    values = dict(query)
    if values.get("replication"):
        values["replication-min"] = values["replication-max"] = values["replication"]
    return values.get("name", ""), _int_param(values, "replication-min"), _int_param(values, "replication-max")


def _int_param(query: Mapping[str, str], name: str) -> int:
    text = query.get(name, "")
    if not text:
        return 0
    try:
        return int(text)
    except ValueError:
        raise ApiError(400, f"parameter {name} invalid") from None


def _check_factors(rmin: int, rmax: int) -> None:
    """cluster_config.go isReplicationFactorValid (its messages, sent as 500 by the Pin RPC)."""
    problem = ""
    if rmin == 0 or rmax == 0:
        problem = "cluster.replication_factor_min and max must be set"
    elif rmin > rmax:
        problem = "cluster.replication_factor_min is larger than max"
    elif rmin < -1:
        problem = "cluster.replication_factor_min is wrong"
    elif rmax < -1:
        problem = "cluster.replication_factor_max is wrong"
    elif (rmin == -1) != (rmax == -1):
        problem = "cluster.replication_factor_min and max must be -1 when one of them is"
    if problem:
        raise ApiError(500, problem)


def parse_bool(query: Mapping[str, str], name: str, default: bool) -> bool:
    """Go's strconv.ParseBool, as parseBoolParam in api/add.go uses it."""
    text = query.get(name, "")
    if not text:
        return default
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ApiError(400, f"parameter {name} invalid")
