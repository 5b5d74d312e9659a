"""pytest fixtures for a real IPFS daemon (registered in ``tests/conftest.py``'s ``pytest_plugins``).

* ``js_ipfs_node`` — a started :class:`~tests.ipfsnode.JsIpfsNode` (the JavaScript IPFS node,
  offline) shared by the session; stopped at the end. Never kill or restart it in a test.
* ``fresh_js_ipfs_node`` — a started node of its own (repo in ``tmp_path``) for tests that kill,
  stop or restart the daemon; stopped at teardown.
* ``kubo_api`` — parametrized ``js-ipfs`` / ``kubo``: the RPC address (:class:`IpfsApi`) of the
  session's JS node, or of a real Kubo named by ``KUBO_API_URL`` (e.g. ``http://127.0.0.1:5001``
  or ``/ip4/127.0.0.1/tcp/5001``; the ``kubo`` case skips when it is unset, even under CI).

When ``tests/jsipfs/node_modules`` is missing or the daemon cannot start, the JS fixtures skip —
and fail under ``CI=true`` (``missing_component``). Every test that uses one of these fixtures gets
the ``kubo`` marker (``-m kubo`` / ``-m "not kubo"``).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx2
import pytest

from tests.conftest import missing_component
from tests.ipfsnode import JsIpfsNode, JsIpfsNodeError, jsipfs_problem

KUBO_API_ENV = "KUBO_API_URL"
KUBO_SKIP = f"{KUBO_API_ENV} is not set (a real Kubo daemon, e.g. `docker compose up -d`)"
_DAEMON_FIXTURES = {"js_ipfs_node", "fresh_js_ipfs_node", "kubo_api"}


@dataclass(frozen=True)
class IpfsApi:
    """An IPFS RPC API: ``url`` is ``http://host:port`` (POST ``{url}/api/v0/...``); ``multiaddr``
    is ``/ip4/host/tcp/port`` when known (add ``/http`` for ``ipfshttpclient.Client``); ``kind`` is
    ``"js-ipfs"`` or ``"kubo"``."""

    url: str
    multiaddr: str | None
    kind: str


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _DAEMON_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.kubo)


def started_js_ipfs_node(repo_dir: Path) -> JsIpfsNode:
    """A started node over ``repo_dir``, or skip (fail under CI) saying why it cannot run."""
    problem = jsipfs_problem()
    if problem is not None:
        missing_component(problem)
    node = JsIpfsNode(repo_dir)
    try:
        node.start()
    except JsIpfsNodeError as exc:
        missing_component(f"the JS IPFS node did not start: {exc}")
    return node


@pytest.fixture(scope="session")
def js_ipfs_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JsIpfsNode]:
    node = started_js_ipfs_node(tmp_path_factory.mktemp("js-ipfs") / "repo")
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture
def fresh_js_ipfs_node(tmp_path: Path) -> Iterator[JsIpfsNode]:
    node = started_js_ipfs_node(tmp_path / "js-ipfs-repo")
    try:
        yield node
    finally:
        node.stop()


def _kubo_from_env(value: str) -> IpfsApi:
    """``KUBO_API_URL`` as a URL (``http://127.0.0.1:5001``) or a multiaddr (``/ip4/.../tcp/5001``)."""
    value = value.strip().rstrip("/")
    if value.startswith("/"):
        parts = value.split("/")  # ['', 'ip4', host, 'tcp', port, ('http')]
        if len(parts) < 5 or parts[1] not in ("ip4", "ip6", "dns", "dns4", "dns6") or parts[3] != "tcp":
            pytest.fail(f"{KUBO_API_ENV}={value!r} is not a /ip4|ip6|dns/HOST/tcp/PORT multiaddr", pytrace=False)
        host = f"[{parts[2]}]" if parts[1] == "ip6" else parts[2]
        return IpfsApi(url=f"http://{host}:{parts[4]}", multiaddr="/".join(parts[:5]), kind="kubo")
    url = value.removesuffix("/api/v0")
    split = urlsplit(url)
    if split.scheme not in ("http", "https") or not split.hostname:
        pytest.fail(f"{KUBO_API_ENV}={value!r} is not an http(s)://HOST:PORT URL", pytrace=False)
    multiaddr = None
    if split.scheme == "http":
        port = split.port or 80
        try:
            ip = ipaddress.ip_address(split.hostname)
            multiaddr = f"/ip{ip.version}/{split.hostname}/tcp/{port}"
        except ValueError:
            multiaddr = f"/dns/{split.hostname}/tcp/{port}"
    return IpfsApi(url=url, multiaddr=multiaddr, kind="kubo")


@pytest.fixture(params=["js-ipfs", "kubo"])
def kubo_api(request: pytest.FixtureRequest) -> IpfsApi:
    if request.param == "js-ipfs":
        node: JsIpfsNode = request.getfixturevalue("js_ipfs_node")
        return IpfsApi(url=node.api_url, multiaddr=node.api_multiaddr, kind="js-ipfs")
    value = os.environ.get(KUBO_API_ENV, "").strip()
    if not value:
        pytest.skip(KUBO_SKIP)
    api = _kubo_from_env(value)
    try:  # it was named, so it must answer: a named daemon that is down is an error, not a skip
        httpx2.post(f"{api.url}/api/v0/version", timeout=5.0).raise_for_status()
    except httpx2.HTTPError as exc:
        pytest.fail(f"{KUBO_API_ENV}={value!r} does not answer POST /api/v0/version: {exc}", pytrace=False)
    return api
