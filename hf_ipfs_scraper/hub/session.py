"""What a process shares between every ``Mirror`` in it: one rate limiter per Hub host, and one
installation of huggingface_hub's client that routes each request through its host's limiter.

huggingface_hub has a single process-wide HTTP client; replacing its factory per ``Mirror`` (as
each one used to) meant two mirrors in one process swapped each other's limiter out, and the first
to close put the unlimited default back under the other. Here the first user installs a routing
client, later users share it, and the last one to leave restores huggingface_hub's default. Two
mirrors of one Hub therefore share one limiter — the Hub counts requests per account or address,
not per ``Mirror`` — and their scrapers split its quota through the limiter's fair share.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx2
from huggingface_hub import set_client_factory
from huggingface_hub.utils._http import default_client_factory

from ..ratelimit import RateLimiter
from .transport import RateLimitedTransport, client_with, netloc

_lock = threading.Lock()
_limiters: dict[str, RateLimiter] = {}  # Hub host (host[:port]) -> its limiter
_users: dict[str, int] = {}


def acquire(endpoint: str, make_limiter: Callable[[], RateLimiter]) -> RateLimiter:
    """The process's limiter for ``endpoint``'s host (made by ``make_limiter`` for the first user);
    installs the routing client on first use. Pair with :func:`release`."""
    host = netloc(endpoint)
    with _lock:
        if not _users:
            set_client_factory(lambda: client_with(_Router))
        if host not in _limiters:
            _limiters[host] = make_limiter()
        _users[host] = _users.get(host, 0) + 1
        return _limiters[host]


def release(endpoint: str) -> None:
    """One user of ``endpoint`` is done; the last user of all puts huggingface_hub's default back."""
    host = netloc(endpoint)
    with _lock:
        left = _users.get(host, 0) - 1
        if left > 0:
            _users[host] = left
            return
        _users.pop(host, None)
        _limiters.pop(host, None)
        if not _users:
            set_client_factory(default_client_factory)


class _Router(httpx2.BaseTransport):
    """Sends a request to a Hub host through that host's limiter, anything else (the CDN, the
    dataset viewer, a host no mirror uses) straight through."""

    def __init__(self, inner: httpx2.BaseTransport) -> None:
        self.inner = inner
        self._by_host: dict[str, RateLimitedTransport] = {}

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        host = netloc(str(request.url))
        with _lock:
            limiter = _limiters.get(host)
            limited = self._by_host.get(host)
            if limiter is not None and (limited is None or limited.limiter is not limiter):
                limited = self._by_host[host] = RateLimitedTransport(self.inner, limiter, host)
        if limiter is None or limited is None:
            return self.inner.handle_request(request)
        return limited.handle_request(request)

    def close(self) -> None:
        self.inner.close()
