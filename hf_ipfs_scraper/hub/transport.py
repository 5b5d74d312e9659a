"""The HTTP seam: every request huggingface_hub sends passes the process's :class:`RateLimiter`.

huggingface_hub sends all its calls through one shared ``httpx2.Client`` built by a replaceable
factory. :func:`install` swaps in a client identical to the default one (same request hook,
``follow_redirects=True``, no timeout, the same environment proxies) whose transport is
:class:`RateLimitedTransport`. The transport sees each hop of a redirect separately, so a
``/resolve/`` request counts as a resolver while the CDN hop it redirects to (another host, not
rate-limited by the Hub) passes straight through.

A slot is released when the response *headers* arrive, not when a streamed body is closed: the
Hub counts requests, not bytes, and holding a slot through a multi-GB download would throttle the
metadata calls queued behind it for nothing. (File bodies come from the CDN hop anyway.)

Only 429 is retried here, after the wait the limiter asks for; connection errors and 5xx stay with
huggingface_hub's own backoff. After ``max_retries`` the last 429 is returned unread, so
huggingface_hub raises its usual ``HfHubHTTPError`` with the server's message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx2
import tenacity
from huggingface_hub import set_client_factory
from huggingface_hub.utils._http import default_client_factory, hf_request_event_hook

from ..errors import InvalidInputError
from ..ratelimit import RateLimiter

__all__ = ["RateLimitedTransport", "client_with", "install", "make_client_factory", "netloc"]

logger = logging.getLogger(__name__)


class RateLimitedTransport(httpx2.BaseTransport):
    """Wraps ``inner``: classify → wait for a slot → send → teach the limiter → retry a 429."""

    def __init__(
        self, inner: httpx2.BaseTransport, limiter: RateLimiter, hub_host: str, *, max_retries: int = 8
    ) -> None:
        if max_retries < 0:
            raise InvalidInputError(f"max_retries must not be negative, got {max_retries!r}")
        self.inner = inner
        self.limiter = limiter
        self.hub_host = hub_host
        self.max_retries = max_retries

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        bucket = self.limiter.bucket_for(request.method, str(request.url), self.hub_host)
        if bucket is None:  # the CDN, a storage host: not counted by the Hub's buckets
            return self.inner.handle_request(request)
        # A body that is not plain bytes (an iterator, a file upload) may be consumed: send it once.
        replayable = isinstance(request.stream, httpx2.ByteStream)
        waits: list[float] = []

        def attempt() -> httpx2.Response:
            with self.limiter.slot(bucket) as permit:
                response = self.inner.handle_request(request)
                waits.append(self.limiter.observe(bucket, response.status_code, response.headers, permit=permit))
            return response

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(1 + (self.max_retries if replayable else 0)),
            wait=lambda _state: waits[-1],
            retry=tenacity.retry_if_result(lambda response: response.status_code == 429),
            before_sleep=lambda state: _discard(state, request),
            retry_error_callback=_last_result,  # the last 429, for the caller
            sleep=self.limiter.wait,
            reraise=True,
        )
        return retrying(attempt)

    def close(self) -> None:
        self.inner.close()


def make_client_factory(
    limiter: RateLimiter, hub_host: str, *, max_retries: int = 8
) -> Callable[[], httpx2.Client]:
    """A factory for huggingface_hub's shared client: the default client, rate-limited."""

    def wrap(inner: httpx2.BaseTransport) -> RateLimitedTransport:
        return RateLimitedTransport(inner, limiter, hub_host, max_retries=max_retries)

    return lambda: client_with(wrap)


def client_with(wrap: Callable[[httpx2.BaseTransport], httpx2.BaseTransport]) -> httpx2.Client:
    """huggingface_hub's default client, each of its transports (proxies too) wrapped by ``wrap``."""
    return httpx2.Client(
        event_hooks={"request": [hf_request_event_hook]},
        follow_redirects=True,
        timeout=None,
        transport=wrap(httpx2.HTTPTransport()),
        mounts=_environment_proxies(wrap),
    )


def install(limiter: RateLimiter, endpoint: str, *, max_retries: int = 8) -> Callable[[], None]:
    """Route huggingface_hub's requests to ``endpoint``'s host through ``limiter``.

    Returns a function that puts huggingface_hub's default client factory back.
    """
    set_client_factory(make_client_factory(limiter, netloc(endpoint), max_retries=max_retries))

    def restore() -> None:
        set_client_factory(default_client_factory)

    return restore


def _discard(state: tenacity.RetryCallState, request: httpx2.Request) -> None:
    """Drain and close a 429 we are about to retry, so its connection goes back to the pool."""
    response: httpx2.Response = state.outcome.result()  # type: ignore[union-attr]
    logger.info(
        "429 from %s %s; retrying in %.1fs (attempt %d)",
        request.method, request.url, state.upcoming_sleep, state.attempt_number,
    )
    try:
        response.read()
    except (httpx2.HTTPError, httpx2.StreamError):
        pass  # a broken body only costs the connection
    finally:
        response.close()


def _environment_proxies(
    wrap: Callable[[httpx2.BaseTransport], httpx2.BaseTransport],
) -> dict[str, httpx2.BaseTransport | None]:
    """The proxy mounts the default client would take from HTTP(S)_PROXY/NO_PROXY, each rate-limited.

    A client given an explicit transport ignores those variables, so they are mounted here; a None
    value (a NO_PROXY host) means "the client's own transport", which is rate-limited too.
    """
    try:
        from httpx2._utils import get_environment_proxies
    except ImportError:  # pragma: no cover - httpx2 moved its helper: fall back to no proxies
        return {}
    return {
        pattern: None if url is None else wrap(httpx2.HTTPTransport(proxy=url))
        for pattern, url in get_environment_proxies().items()
    }


def netloc(endpoint: str) -> str:
    """``https://huggingface.co/`` → ``huggingface.co``; ``http://127.0.0.1:8080`` keeps the port."""
    url = httpx2.URL(endpoint)
    if not url.host:
        raise InvalidInputError(f"not an endpoint URL: {endpoint!r}")
    host = f"[{url.host}]" if ":" in url.host else url.host
    return host if url.port is None else f"{host}:{url.port}"


def _last_result(state: tenacity.RetryCallState) -> httpx2.Response:
    """When retries run out, hand back the last response (a 429) instead of raising RetryError."""
    assert state.outcome is not None  # tenacity calls this only after an attempt
    response: httpx2.Response = state.outcome.result()
    return response
