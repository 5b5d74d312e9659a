"""RateLimitedTransport over httpx2.MockTransport, and install() with the real huggingface_hub client."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx2
import pytest
from huggingface_hub import HfApi

from hf_ipfs_scraper.errors import InvalidInputError
from hf_ipfs_scraper.hub.transport import RateLimitedTransport, install, make_client_factory
from hf_ipfs_scraper.ratelimit import RateLimiter

HUB = "hub.test"
OK_HEADERS = {"RateLimit": '"api";r=499;t=290', "RateLimit-Policy": '"fixed window";"api";q=500;w=300'}


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def ft() -> FakeTime:
    return FakeTime()


@pytest.fixture
def lim(ft: FakeTime) -> RateLimiter:
    return RateLimiter(burst=1.0, clock=ft.clock, sleep=ft.sleep)


def client_for(handler: Callable[[httpx2.Request], httpx2.Response], lim: RateLimiter, **kw: int) -> httpx2.Client:
    transport = RateLimitedTransport(httpx2.MockTransport(handler), lim, HUB, **kw)
    return httpx2.Client(transport=transport, follow_redirects=True)


def scripted(*responses: httpx2.Response) -> tuple[Callable[[httpx2.Request], httpx2.Response], list[httpx2.Request]]:
    """A handler answering with ``responses`` in order (the last one repeats) and recording requests."""
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return responses[min(len(seen), len(responses)) - 1]

    return handler, seen


def too_many(retry_after: str = "7", **extra: str) -> httpx2.Response:
    return httpx2.Response(429, headers={"Retry-After": retry_after, **extra}, json={"error": "slow down"})


# -- retries -----------------------------------------------------------------------------------
def test_429_then_200_is_retried_after_retry_after(ft: FakeTime, lim: RateLimiter) -> None:
    handler, seen = scripted(too_many("7"), httpx2.Response(200, json={"id": "x"}, headers=OK_HEADERS))
    with client_for(handler, lim) as client:
        response = client.get(f"https://{HUB}/api/models/x")
    assert response.status_code == 200
    assert response.json() == {"id": "x"}
    assert len(seen) == 2
    assert ft.sleeps == [7.0]
    stats = lim.stats()
    assert stats.requests["api"] == 2
    assert stats.responses_429 == 1
    assert stats.seconds_waited == pytest.approx(7.0)


def test_429_with_no_budget_left_waits_for_the_window_reset(ft: FakeTime, lim: RateLimiter) -> None:
    # Retry-After says 7 s but the header says r=0 until t=60: nothing can succeed before the reset.
    handler, seen = scripted(too_many("7", RateLimit='"api";r=0;t=60'), httpx2.Response(200, headers=OK_HEADERS))
    with client_for(handler, lim) as client:
        assert client.get(f"https://{HUB}/api/models").status_code == 200
    assert ft.sleeps[0] == 7.0
    assert sum(ft.sleeps) == pytest.approx(60.0)
    assert len(seen) == 2


def test_429_with_only_t_waits_t(ft: FakeTime, lim: RateLimiter) -> None:
    only_t = httpx2.Response(429, headers={"RateLimit": '"api";r=0;t=12'})
    handler, seen = scripted(only_t, httpx2.Response(200, headers=OK_HEADERS))
    with client_for(handler, lim) as client:
        assert client.get(f"https://{HUB}/api/models").status_code == 200
    assert ft.sleeps == [12.0]


def test_gives_up_after_max_retries_and_returns_the_last_429(ft: FakeTime, lim: RateLimiter) -> None:
    handler, seen = scripted(httpx2.Response(429, headers={"Retry-After": "2"}, json={"error": "slow down"}))
    with client_for(handler, lim, max_retries=3) as client:
        response = client.get(f"https://{HUB}/api/models")
    assert response.status_code == 429
    assert response.json() == {"error": "slow down"}  # still readable for huggingface_hub's error
    assert len(seen) == 4
    assert ft.sleeps == [2.0, 2.0, 2.0]
    assert lim.stats().responses_429 == 4


def test_post_with_a_bytes_body_is_replayed(ft: FakeTime, lim: RateLimiter) -> None:
    handler, seen = scripted(too_many("1"), httpx2.Response(200, json={}))
    with client_for(handler, lim) as client:
        response = client.post(f"https://{HUB}/api/models/x/paths-info/main", json={"paths": ["a"]})
    assert response.status_code == 200
    assert [r.content for r in seen] == [b'{"paths":["a"]}'] * 2


def test_a_streaming_body_is_not_retried(ft: FakeTime, lim: RateLimiter) -> None:
    handler, seen = scripted(too_many("5"), httpx2.Response(200))
    with client_for(handler, lim) as client:
        response = client.post(f"https://{HUB}/api/upload", content=iter([b"chunk"]))
    assert response.status_code == 429
    assert len(seen) == 1
    assert ft.sleeps == []
    assert lim.stats().responses_429 == 1  # the limiter still learned the block


def test_the_slot_is_released_when_the_inner_transport_raises(ft: FakeTime) -> None:
    lim = RateLimiter(max_concurrency=1, clock=ft.clock, sleep=ft.sleep)

    def handler(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("refused", request=request)

    with client_for(handler, lim) as client, pytest.raises(httpx2.ConnectError):
        client.get(f"https://{HUB}/api/models")
    done = threading.Event()
    thread = threading.Thread(target=lambda: (lim.acquire("api").release(), done.set()))
    thread.start()
    assert done.wait(5), "the only api slot leaked"
    thread.join(5)


def test_bad_arguments(lim: RateLimiter) -> None:
    with pytest.raises(InvalidInputError):
        RateLimitedTransport(httpx2.MockTransport(lambda r: httpx2.Response(200)), lim, HUB, max_retries=-1)
    with pytest.raises(InvalidInputError):
        install(lim, "not a url")


# -- learning and classification ---------------------------------------------------------------
def test_headers_teach_the_limiter(ft: FakeTime, lim: RateLimiter) -> None:
    headers = {"RateLimit": '"api";r=1;t=30', "RateLimit-Policy": '"fixed window";"api";q=500;w=300'}
    handler, seen = scripted(httpx2.Response(200, headers=headers))
    with client_for(handler, lim) as client:
        client.get(f"https://{HUB}/api/models")
        assert lim.stats().remaining["api"] == 1
        client.get(f"https://{HUB}/api/models")
        assert ft.sleeps == []
        client.get(f"https://{HUB}/api/models")  # budget spent: waits for the reset the server gave
    assert sum(ft.sleeps) == pytest.approx(30.0)


@pytest.mark.parametrize(
    ("url", "bucket"),
    [
        (f"https://{HUB}/api/models/org/name", "api"),
        (f"https://{HUB}/org/name/resolve/main/config.json", "resolvers"),
        (f"https://{HUB}/datasets/org/name/resolve/main/data.csv", "resolvers"),
        (f"https://{HUB}/spaces/org/name/resolve/main/app.py", "resolvers"),
        (f"https://{HUB}/org/name", "pages"),
        ("https://cdn.test/blob/abc", None),
        (f"https://{HUB}:8443/api/models", None),
    ],
)
def test_classification(lim: RateLimiter, url: str, bucket: str | None) -> None:
    handler, seen = scripted(httpx2.Response(200))
    with client_for(handler, lim) as client:
        assert client.get(url).status_code == 200
    assert len(seen) == 1
    expected = {"api": 0, "resolvers": 0, "pages": 0}
    if bucket is not None:
        expected[bucket] = 1
    assert dict(lim.stats().requests) == expected


def test_redirect_hops_are_classified_by_their_own_url(ft: FakeTime, lim: RateLimiter) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.host == HUB and request.url.port is None:
            return httpx2.Response(302, headers={"Location": f"https://{HUB}:9443/mirror/x"})
        if request.url.port == 9443:
            # a foreign host's 429 is not the Hub's: no limiter wait, no retry here
            return httpx2.Response(307, headers={"Location": "https://cdn.test/blob/x", "Retry-After": "99"})
        return httpx2.Response(200, content=b"bytes")

    with client_for(handler, lim) as client:
        response = client.get(f"https://{HUB}/org/name/resolve/main/model.bin")
    assert response.content == b"bytes"
    assert [str(r.url) for r in response.history] == [
        f"https://{HUB}/org/name/resolve/main/model.bin",
        f"https://{HUB}:9443/mirror/x",
    ]
    assert dict(lim.stats().requests) == {"api": 0, "resolvers": 1, "pages": 0}
    assert ft.sleeps == []


# -- the real huggingface_hub client -----------------------------------------------------------
class _Hub(BaseHTTPRequestHandler):
    """A minimal Hub: /api/models/<id> answers 429 once per ``self.server.fail_first`` then the info."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        server = self.server
        server.seen.append((self.path, dict(self.headers)))  # type: ignore[attr-defined]
        if server.fail_first > 0:  # type: ignore[attr-defined]
            server.fail_first -= 1  # type: ignore[attr-defined]
            self._send(429, {"error": "slow down"}, {"Retry-After": "3", "RateLimit": '"api";r=0;t=3'})
            return
        self._send(200, {"id": "org/name", "sha": "0" * 40}, OK_HEADERS)

    def _send(self, status: int, body: dict[str, object], headers: dict[str, str]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet tests
        pass


@pytest.fixture
def hub_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadingHTTPServer]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hub)
    server.seen = []  # type: ignore[attr-defined]
    server.fail_first = 0  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_hfapi_goes_through_the_transport_after_install(
    ft: FakeTime, lim: RateLimiter, hub_server: ThreadingHTTPServer
) -> None:
    endpoint = f"http://127.0.0.1:{hub_server.server_port}"
    hub_server.fail_first = 1  # type: ignore[attr-defined]
    restore = install(lim, endpoint)
    try:
        info = HfApi(endpoint=endpoint, token=False).model_info("org/name")
    finally:
        restore()
    assert info.id == "org/name"
    seen = hub_server.seen  # type: ignore[attr-defined]
    assert [path for path, _ in seen] == ["/api/models/org/name"] * 2
    assert all("X-Amzn-Trace-Id" in headers for _, headers in seen)  # huggingface_hub's request hook ran
    stats = lim.stats()
    assert (stats.requests["api"], stats.responses_429, stats.remaining["api"]) == (2, 1, 499)
    assert ft.sleeps == [3.0]

    HfApi(endpoint=endpoint, token=False).model_info("org/name")  # default client again
    assert len(seen) == 3
    assert lim.stats().requests["api"] == 2


def test_factory_client_honours_environment_proxies(
    lim: RateLimiter, hub_server: ThreadingHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The test server plays the proxy: an http:// request through a proxy arrives in absolute form.
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{hub_server.server_port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with make_client_factory(lim, HUB)() as client:
        response = client.get(f"http://{HUB}/api/models/org/name")
    assert response.status_code == 200
    assert hub_server.seen[0][0] == f"http://{HUB}/api/models/org/name"  # type: ignore[attr-defined]
    assert lim.stats().requests["api"] == 1
