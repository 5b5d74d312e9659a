"""Where a daemon's or a cluster's HTTP API listens, as one ``http(s)://host:port[/prefix]`` URL,
and, when it cannot be reached, why (:func:`unreachable`: one cause, the same for both backends).

The address comes from the config or a flag, so anything wrong with it is a :class:`ConfigError`
(exit code 2), saying what the address was for. Accepted, as the tools themselves write them:

* a multiaddr ``/ip4|ip6|dns|dns4|dns6/HOST/tcp/PORT`` with an optional ``/http``, ``/https`` or
  ``/tls/http`` (Kubo's ``Addresses.API``, ipfs-cluster's ``restapi.http_listen_multiaddress``);
* a URL ``http(s)://host:port``, with a path prefix where the API allows one (a cluster behind
  a reverse proxy);
* ``host:port`` (http).

A URL holding credentials (``http://user:pass@host``) is refused without repeating it: secrets
belong in their own settings, never in an address that ends up in logs and messages.
"""

from __future__ import annotations

import socket
from urllib.parse import SplitResult, urlsplit

from ..errors import ConfigError

_HOSTS = ("ip4", "ip6", "dns", "dns4", "dns6")
_SCHEMES = {(): "http", ("http",): "http", ("https",): "https", ("tls", "http"): "https"}


def http_url(address: str, *, what: str, port: int, prefix: bool = False, credentials: str = "") -> str:
    """``address`` as a URL without a trailing slash. ``what`` names the API in messages ("an
    IPFS Cluster API" → "not an IPFS Cluster API address: ..."), ``port`` is its usual port for
    the examples, ``prefix`` whether a URL may carry a path, ``credentials`` where they go instead."""
    text = address.strip()
    url = _from_multiaddr(text) if text.startswith("/") else _from_url(text, prefix, what, credentials)
    if url is None:
        shape = "http://127.0.0.1:{0}[/prefix]" if prefix else "http://127.0.0.1:{0}"
        raise ConfigError(f"not {what} address: {text!r} (expected a multiaddr like /ip4/127.0.0.1/tcp/{port} "
                          f"or a URL like {shape.format(port)})")
    return url


def _from_multiaddr(text: str) -> str | None:
    words = text.strip("/").split("/")
    if len(words) < 4 or words[0] not in _HOSTS or not words[1] or words[2] != "tcp":
        return None
    scheme = _SCHEMES.get(tuple(words[4:]))
    port = _port(words[3])
    if scheme is None or port is None:
        return None
    return f"{scheme}://{_host(words[1])}:{port}"


def _from_url(text: str, prefix: bool, what: str, credentials: str) -> str | None:
    parts = urlsplit(text if "://" in text else f"http://{text}")
    if "@" in parts.netloc:  # checked first: no message below may echo a password
        hint = f" ({credentials})" if credentials else ""
        raise ConfigError(f"not {what} address: it holds credentials, which do not belong in an address{hint}")
    path = parts.path.rstrip("/")
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        return None
    port = _url_port(parts)
    if port is None or (path and not prefix):
        return None
    return f"{parts.scheme}://{_host(parts.hostname)}:{port}{path}"


def _url_port(parts: SplitResult) -> int | None:
    try:
        port = parts.port  # None when absent; ValueError when not a number in 0..65535
    except ValueError:
        return None
    return port or None


def _port(text: str) -> int | None:
    return int(text) if text.isdigit() and 0 < int(text) < 65536 else None


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def unreachable(exc: BaseException) -> str:
    """Why an API could not be reached, in a few words: 'connection refused', 'cannot resolve the
    host name', 'connection reset', else the error's first line (HTTP clients wrap the cause)."""
    seen: BaseException | None = exc
    for _ in range(8):  # a cause chain is short; the bound guards against a cycle
        if seen is None:
            break
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, socket.gaierror):
            return "cannot resolve the host name"
        if isinstance(seen, ConnectionResetError):
            return "connection reset"
        seen = seen.__cause__ or seen.__context__
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
