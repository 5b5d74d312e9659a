"""A stand-in for IPFS Cluster's REST API, for the cluster client's contract tests.

ipfs-cluster cannot run here (no Go toolchain, no Kubo, no network), so this small local
server speaks the documented wire format instead: the routes of ``api/rest/restapi.go``, the JSON
shapes of ``api/types.go`` and ``api/add.go``, the auth and error framing of ``api/common/api.go``
(paths in github.com/ipfs-cluster/ipfs-cluster, read at v1.1.6). It is not a cluster: there is no
consensus, no real allocator (the first replication-max peers are chosen) and bearer tokens are
literal strings, not JWTs. IPFS is optional: given ``ipfs_api`` (a daemon's RPC URL) every added
CAR is imported into that one daemon, standing for every peer's IPFS; pins stay cluster-side.
What each peer reports for a new pin is scripted (:class:`Peer`), so tests can walk a pin through
pin_queued → pinning → pinned, fail it on one peer, or have a peer drop out.

    with ClusterEmulator([Peer("a"), Peer("b", ["pin_queued", "pinned"])]) as emu:
        ClusterAPI(emu.url).wait_pinned(cid, replication_min=2, timeout=5)
"""

from .emulator import ClusterEmulator, Seen
from .state import Peer, PinEntry, peer_id_for

__all__ = ["ClusterEmulator", "Peer", "PinEntry", "Seen", "peer_id_for"]
