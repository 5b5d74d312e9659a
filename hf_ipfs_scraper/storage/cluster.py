"""The IPFS Cluster backend: replicated pinning over many machines, by an existing engine.

Each repo's CAR goes to the cluster's REST API (``POST /add?format=car``, one request) with the
repo's name and the replication factors; the cluster stores the blocks through one peer's IPFS
daemon and allocates the pin to up to ``replication_max`` peers. The repo counts as archived only
once ``replication_min`` peers report it pinned (polled through ``GET /pins/{cid}``, bounded by
``cluster.pin_timeout``); short of that the repo fails with where each peer stands, and the next
run tries it again.

The REST API has no way to read content back, so reads (``has``, ``cat``, ``export_car``) go to
one peer's IPFS RPC (``cluster.ipfs_api``: the cluster's IPFS proxy, or that peer's Kubo),
reached only when first needed.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, BinaryIO, Iterator

from ..errors import BackendError, ConfigError
from ..ipfs.cid import CID
from .cluster_api import ClusterAPI
from .kubo import KuboRemote, same_content
from .remote import RemotePin, RemoteStat

if TYPE_CHECKING:
    from ..config import Config

logger = logging.getLogger(__name__)


class ClusterRemote:
    def __init__(
        self,
        api: ClusterAPI,
        *,
        ipfs_api: str,
        replication_min: int = 1,
        replication_max: int = -1,
        pin_timeout: float = 600.0,
        timeout: float = 30.0,
    ) -> None:
        self.api = api
        self.label = f"the IPFS Cluster at {api.url}"
        self.replication_min = replication_min
        self.replication_max = replication_max
        self.pin_timeout = pin_timeout
        self._ipfs_api = ipfs_api
        self._timeout = timeout
        self._reader: KuboRemote | None = None
        self._reader_lock = threading.Lock()  # pipeline workers call has() at once
        try:
            peer = api.id()  # reachable, and the credentials work: or one line now, before any repo
            alerts = api.alerts()
        except BaseException:
            api.close()
            raise
        logger.info("IPFS Cluster peer %s (%s), version %s", peer.peer_name, peer.peer_id, peer.version)
        for alert in alerts:
            logger.warning("IPFS Cluster alert: %s on peer %s", alert.name, alert.peer_id)

    @classmethod
    def from_config(cls, config: Config) -> ClusterRemote:
        low, high = config.cluster_replication_min, config.cluster_replication_max
        if (low == -1) != (high == -1) or low > high:  # what ipfs-cluster refuses (isReplicationFactorValid)
            raise ConfigError(f"cluster.replication_min = {low}, replication_max = {high}: give both as -1 "
                              "(every peer) or both as numbers of peers, min <= max")
        api = ClusterAPI(config.cluster_api, username=config.cluster_username, password=config.cluster_password,
                         token=config.cluster_token, timeout=config.cluster_timeout)
        return cls(api, ipfs_api=config.cluster_ipfs_api, replication_min=config.cluster_replication_min,
                   replication_max=config.cluster_replication_max, pin_timeout=config.cluster_pin_timeout,
                   timeout=config.cluster_timeout)

    @property
    def reader(self) -> KuboRemote:
        """The peer's IPFS RPC, for reading content back."""
        with self._reader_lock:
            if self._reader is None:
                self._reader = KuboRemote(self._ipfs_api, timeout=self._timeout)
            return self._reader

    # -- Remote ----------------------------------------------------------------------------------
    def pins(self) -> list[RemotePin]:
        return [RemotePin(status.cid, status.name or None) for status in self.api.pins() if status.pinned_count]

    def has(self, cid: CID) -> bool:
        return self.reader.has(cid)

    def push(self, car_stream: BinaryIO, root: CID, name: str) -> None:
        reported = self.api.add_car(car_stream, name=name, replication_min=self.replication_min,
                                    replication_max=self.replication_max)
        if not same_content(reported, root):
            raise BackendError(f"{self.label} reports root {reported} for the DAG whose root is {root}")
        status = self.api.wait_pinned(root, replication_min=self.replication_min, timeout=self.pin_timeout)
        logger.info("%s", status.describe(self.replication_min))

    def unpin(self, cid: CID) -> None:
        self.api.unpin(cid)

    def cat(self, cid: CID, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        return self.reader.cat(cid, offset, length)

    def export_car(self, cid: CID, fileobj: BinaryIO) -> int:
        return self.reader.export_car(cid, fileobj)

    def stat(self) -> RemoteStat:
        return RemoteStat(self.label, None, None, len(self.pins()))

    def close(self) -> None:
        self.api.close()
        if self._reader is not None:
            self._reader.close()
