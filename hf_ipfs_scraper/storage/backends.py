"""``storage.backend`` → the :class:`~.base.Storage` the mirror pins into."""

from __future__ import annotations

from ..config import Config
from .remote import Remote


def open_remote(config: Config) -> Remote:
    """The daemon or cluster of a ``kubo`` or ``cluster`` backend, reached and checked once (a
    remote that is down fails here, with one line, before any repo is touched)."""
    if config.storage_backend == "kubo":
        from .kubo import KuboRemote

        return KuboRemote(config.kubo_api, timeout=config.kubo_timeout)
    if config.storage_backend == "cluster":
        from .cluster import ClusterRemote

        return ClusterRemote.from_config(config)
    raise ValueError(f"storage.backend {config.storage_backend!r} has no remote")
