"""``serve``: the archive over HTTP, so ``huggingface_hub`` downloads from it as from the Hub.

Binds 127.0.0.1 unless ``--host`` says otherwise (the archive may hold gated repos mirrored with a
token: serving them to a network is a choice to make on purpose, so a non-loopback address gets a
warning line on stderr). The socket is bound before the server starts, so the URL printed is the
one served, ``--port 0`` included, and a port in use is one ``Error:`` line. Ctrl-C stops the
server gracefully and exits 0.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from ..config import BACKENDS, Config
from ..errors import InvalidInputError

if TYPE_CHECKING:
    import socket


def register(groups: Any) -> None:
    parser = groups.add_parser(
        "serve", help="serve the archive over HTTP, Hub-compatible (huggingface_hub, snapshot_download)",
        epilog="example: hf-ipfs-scraper serve --port 8080, then in Python: "
               "snapshot_download('org/name', endpoint='http://127.0.0.1:8080')",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8080, help="TCP port (default 8080; 0 picks a free one)")
    parser.add_argument("--backend", choices=BACKENDS, help="where the archive's content is pinned (storage.backend)")
    parser.add_argument("--kubo-api", metavar="ADDR", help="Kubo RPC address (kubo.api, KUBO_API_URL)")
    parser.add_argument("--gateway", action="store_true",
                        help="also serve /ipfs/{cid}[/path] as a read-only trustless gateway: raw blocks and CARs")
    parser.set_defaults(run=_serve, overrides=lambda a: {"storage.backend": a.backend, "kubo.api": a.kubo_api})


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only (a name other than localhost is not
    resolved here: it is treated as reachable from elsewhere)."""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def listen(host: str, port: int) -> socket.socket:
    """A bound TCP socket on ``host:port`` (IPv4 or IPv6); OS refusals become one clear error."""
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise InvalidInputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise InvalidInputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return sock


def _serve(args: argparse.Namespace, config: Config) -> int:
    import uvicorn  # the web stack loads only for this command

    from ..catalog import Catalog
    from ..storage.backends import open_remote
    from ..storage.remote import RemoteReader
    from ..web.app import create_app

    Catalog.from_config(config).close()  # no archive yet: one Error line
    if config.storage_backend != "embedded":
        open_remote(config).close()  # the daemon down: one Error line now, not a failed startup
    sock = listen(args.host, args.port)
    host, port = sock.getsockname()[:2]
    if not is_loopback(args.host):
        print(f"warning: serving on {args.host}, a non-loopback address: anyone who can reach this machine "
              "can read the archive", file=sys.stderr, flush=True)
    shown = f"[{host}]" if ":" in host else host
    gateway = " with a trustless gateway at /ipfs/" if args.gateway else ""
    print(f"serving {config.output_dir} on http://{shown}:{port}{gateway} (Ctrl-C to stop)", flush=True)
    remote = None
    if config.storage_backend != "embedded":  # the content is in the daemon or cluster
        def remote() -> RemoteReader:
            return RemoteReader(open_remote(config))
    app = create_app(config.output_dir, store_path=config.store_path, gateway=args.gateway, remote=remote)
    # log_config=None: uvicorn logs through the root logger `--log-level` set (access lines at INFO)
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="on"))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn shut down gracefully, then re-raised the SIGINT it caught
        pass
    finally:
        sock.close()
    return 0
