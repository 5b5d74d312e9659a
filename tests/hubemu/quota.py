"""The Hub's rate limits: one fixed-window quota per bucket, announced on every response.

Buckets, as on the Hub: ``api`` (every ``/api/`` call), ``resolvers`` (``/resolve/`` downloads)
and ``pages`` (everything else). Headers follow the IETF ratelimit-headers draft as the Hub
sends them (and as ``huggingface_hub.utils.parse_ratelimit_headers`` reads them)::

    RateLimit: "api";r=<remaining>;t=<seconds until the window resets>
    RateLimit-Policy: "fixed window";"api";q=<quota>;w=<window seconds>

Over quota the request is refused with 429, ``Retry-After: <t>`` and ``r=0``. A bucket with no
quota is unlimited and sends no such headers. The window is aligned on the limiter's creation
(or last ``reset()``); the clock is injectable for tests.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

BUCKETS = ("api", "resolvers", "pages")
#: The Hub's published quotas for anonymous users (requests per 5 minutes).
HUB_ANONYMOUS_QUOTAS = {"api": 500, "resolvers": 3000, "pages": 100}


def bucket_for(path: str) -> str:
    if path.startswith("/api/"):
        return "api"
    if "/resolve/" in path:
        return "resolvers"
    return "pages"


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    headers: dict[str, str]


class RateLimiter:
    def __init__(
        self,
        quotas: Mapping[str, int] | None = None,
        window: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        unknown = set(quotas or {}) - set(BUCKETS)
        if unknown:
            raise ValueError(f"unknown rate-limit buckets {sorted(unknown)}; known: {BUCKETS}")
        if window <= 0:
            raise ValueError("window must be positive")
        self.quotas = dict(quotas or {})
        self.window = float(window)
        self._clock = clock
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._start = self._clock()
            self._index = 0
            self._used = dict.fromkeys(BUCKETS, 0)

    def hit(self, bucket: str) -> Verdict:
        """Count one request to ``bucket``; say whether it is allowed and which headers to send."""
        quota = self.quotas.get(bucket)
        if quota is None:
            return Verdict(True, {})
        with self._lock:
            elapsed = self._clock() - self._start
            index = int(elapsed // self.window)
            if index != self._index:
                self._index = index
                self._used = dict.fromkeys(BUCKETS, 0)
            reset_in = max(1, math.ceil((index + 1) * self.window - elapsed))
            allowed = self._used[bucket] < quota
            if allowed:
                self._used[bucket] += 1
            remaining = quota - self._used[bucket]
        return Verdict(allowed, limit_headers(bucket, quota, self.window, remaining, reset_in, refused=not allowed))


def limit_headers(
    bucket: str, quota: int, window: float, remaining: int, reset_in: int, *, refused: bool = False
) -> dict[str, str]:
    """The headers the Hub sends for ``bucket`` (plus ``Retry-After`` on a refusal)."""
    headers = {
        "RateLimit": f'"{bucket}";r={remaining};t={reset_in}',
        "RateLimit-Policy": f'"fixed window";"{bucket}";q={quota};w={math.ceil(window)}',
    }
    if refused:
        headers["Retry-After"] = str(reset_in)
    return headers
