"""Seeded fault injection: the Hub and its CDN failing the way real ones do, reproducibly.

    with HubEmulator(corpus, faults=FaultPlan(seed=3, server_error=0.2, drop=0.1)) as emu:
        ...                        # the client meets 5xx answers and cut connections
        emu.fault_counts()         # -> Counter({"server_error": 4, "drop": 2})
        emu.faults = FaultPlan()   # faults off from the next request on

Kinds (one probability each; a request suffers at most one fault, so they sum to at most 1):

* ``server_error``: a 5xx (one of ``statuses``) instead of the answer, shaped as the Hub's errors
  (``error_response``). With ``burst`` > 1 it opens an outage: the next ``burst - 1`` requests to
  any faulted route fail with the same status.
* ``rate_limit_storm``: a 429 with ``RateLimit: "<bucket>";r=0;t=<retry_after>``,
  ``RateLimit-Policy`` (the emulator's quota for the bucket, else the Hub's anonymous one, and its
  window) and ``Retry-After``, as ``quota.py`` formats them; with ``storm`` > 1 the next
  ``storm - 1`` requests of the same bucket are refused too. Hub routes only: the CDN has no quota.
* ``cdn_expiry``: the CDN's 403 for an expired signed URL (``cdn.expired``), so the client must go
  back to ``/resolve/`` for a fresh redirect. CDN only.
* ``drop``: a GET's body stops after a prefix of the announced ``Content-Length`` and the
  connection closes (``Response.drop_after``).
* ``truncate``: a GET's body cut short but delivered cleanly, ``Content-Length`` (and a 206's
  ``Content-Range``) matching the short body: a JSON page that does not parse, a short file.
* ``corrupt``: one to four bytes of a file body (resolve or CDN GET) flipped, same length.
* ``slow``: the answer held back ``slow_seconds`` (cut short when the emulator stops).

Body faults (drop, truncate, corrupt) touch only 200/206 answers with a body (two bytes at least
for drop and truncate); HEAD requests can get the others. ``routes`` picks where faults happen:
``api`` (``/api/...`` on the Hub, except the client's agent-harness registry probe), ``resolve``
(``/resolve/`` on the Hub, HEAD and GET) and ``cdn``. What the emulator holds is never altered:
a file's sha256 and git oid stay true, so a client can detect a corrupt or short body. A response
carrying a ``drop_connection`` plan is left alone.

Determinism: a request's fate is drawn from a hash of (seed, method, target, how many times this
same request was seen before), never from a shared random stream, so the same plan and the same
requests give the same faults whatever the thread interleaving. The target is path?query on the
Hub and the bare path on the CDN (its query is the URL's signature and expiry, which change with
the clock). Bursts and storms follow arrival order: deterministic for a sequential client, while
under concurrency which requests they cover depends on the interleaving (hence both default to 1).

Convergence: the same request (method, target) never faults more than ``max_consecutive`` times
in a row; the next one gets through, so a client that retries enough always succeeds.

Setting a plan (``emu.faults = ...``) starts it afresh (occurrence counts, streaks, bursts);
``emu.fault_log`` — (kind, method, target) per injected fault — runs on until ``reset_counts()``.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus

from .cdn import expired
from .hub import rate_limited
from .quota import HUB_ANONYMOUS_QUOTAS, RateLimiter, limit_headers
from .wire import Request, Response, error_response

#: The fault kinds, in the order their probabilities are stacked on a request's draw.
KINDS = ("server_error", "rate_limit_storm", "cdn_expiry", "drop", "truncate", "corrupt", "slow")
ROUTES = ("api", "resolve", "cdn")
#: X-Error-Code and message of the 5xx answers.
SERVER_ERRORS = {
    500: ("InternalError", "Internal Error"),
    502: ("BadGateway", "Bad Gateway"),
    503: ("ServiceUnavailable", "Service Unavailable"),
    504: ("GatewayTimeout", "Gateway Timeout"),
}
#: Headers of the real answer that a substituted one keeps (the server's, not the content's).
ENVELOPE = (
    "Access-Control-Expose-Headers", "Vary", "X-Powered-By", "X-Request-Id", "Via", "RateLimit", "RateLimit-Policy",
)
FILE_KINDS = ("resolve_get", "cdn_get")

FaultRecord = tuple[str, str, str]  # (kind, method, target)


@dataclass(frozen=True)
class FaultPlan:
    """Which faults to inject, how often (per request, 0..1) and where; all zero = no faults."""

    seed: int = 0
    server_error: float = 0.0
    drop: float = 0.0
    truncate: float = 0.0
    corrupt: float = 0.0
    slow: float = 0.0
    slow_seconds: float = 0.05
    rate_limit_storm: float = 0.0
    cdn_expiry: float = 0.0
    routes: tuple[str, ...] = ROUTES
    max_consecutive: int = 3
    burst: int = 1  # server_error: requests (any route) an outage lasts
    storm: int = 1  # rate_limit_storm: requests (same bucket) a storm lasts
    retry_after: int = 1  # rate_limit_storm: the t= / Retry-After seconds
    statuses: tuple[int, ...] = (500, 502, 503, 504)

    def __post_init__(self) -> None:
        object.__setattr__(self, "routes", tuple(self.routes))
        object.__setattr__(self, "statuses", tuple(self.statuses))
        for kind in KINDS:
            if not 0.0 <= getattr(self, kind) <= 1.0:
                raise ValueError(f"{kind} must be a probability in [0, 1], not {getattr(self, kind)!r}")
        if sum(getattr(self, kind) for kind in KINDS) > 1.0 + 1e-9:
            raise ValueError("a request suffers at most one fault: the probabilities must sum to 1 at most")
        unknown = set(self.routes) - set(ROUTES)
        if unknown:
            raise ValueError(f"unknown fault routes {sorted(unknown)}; known: {ROUTES}")
        if not self.statuses or any(not 500 <= s <= 599 for s in self.statuses):
            raise ValueError(f"statuses must be 5xx codes, not {self.statuses!r}")
        if self.max_consecutive < 0 or self.burst < 1 or self.storm < 1 or self.retry_after < 0:
            raise ValueError("max_consecutive and retry_after must be >= 0, burst and storm >= 1")
        if self.slow_seconds < 0:
            raise ValueError("slow_seconds must be >= 0")

    @property
    def active(self) -> bool:
        return bool(self.routes) and self.max_consecutive > 0 and any(getattr(self, k) > 0 for k in KINDS)


@dataclass(frozen=True)
class _Target:
    route: str  # api / resolve / cdn
    bucket: str | None  # the quota bucket; None on the CDN
    key: str  # what identifies the request with its method


@dataclass(frozen=True)
class _Fault:
    kind: str
    rng: random.Random = field(compare=False)
    status: int = 0  # server_error


def _target(server: str, request: Request, response: Response) -> _Target | None:
    if server == "cdn":
        return _Target("cdn", None, request.path)
    if response.kind in ("resolve_head", "resolve_get"):
        return _Target("resolve", "resolvers", request.target)
    if request.path.startswith("/api/") and response.kind != "harnesses":
        return _Target("api", "api", request.target)
    return None


def _has_body(method: str, response: Response, least: int) -> bool:
    return method != "HEAD" and response.status in (200, 206) and len(response.body) >= least


def _applicable(kind: str, method: str, target: _Target, response: Response) -> bool:
    if kind == "rate_limit_storm":
        return target.bucket is not None
    if kind == "cdn_expiry":
        return target.route == "cdn"
    if kind in ("drop", "truncate"):
        return _has_body(method, response, 2)
    if kind == "corrupt":
        return response.kind in FILE_KINDS and _has_body(method, response, 1)
    return True  # server_error, slow


def _draw(seed: int, method: str, key: str, n: int) -> random.Random:
    digest = hashlib.blake2b(repr((seed, method, key, n)).encode(), digest_size=16).digest()
    return random.Random(int.from_bytes(digest, "big"))


class FaultInjector:
    """Applies a ``FaultPlan`` to the answers of the Hub and CDN apps (``wrap``) and logs faults."""

    def __init__(
        self, plan: FaultPlan | None, limiter: Callable[[], RateLimiter], stopping: threading.Event
    ) -> None:
        self._limiter, self._stopping = limiter, stopping
        self._lock = threading.Lock()
        self._log: list[FaultRecord] = []
        self.plan = plan

    @property
    def plan(self) -> FaultPlan:
        return self._plan

    @plan.setter
    def plan(self, plan: FaultPlan | None) -> None:
        with self._lock:
            self._plan = FaultPlan() if plan is None else plan
            self._seen: Counter[tuple[str, str]] = Counter()
            self._streak: Counter[tuple[str, str]] = Counter()
            self._outage = (0, 0)  # (requests left, status)
            self._storms: Counter[str] = Counter()  # bucket -> requests left

    @property
    def log(self) -> list[FaultRecord]:
        with self._lock:
            return list(self._log)

    def counts(self) -> Counter[str]:
        with self._lock:
            return Counter(kind for kind, _, _ in self._log)

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()

    def wrap(self, app: Callable[[Request], Response], server: str) -> Callable[[Request], Response]:
        """``app`` with this injector's faults on its answers; ``server`` is "hub" or "cdn"."""

        def serve(request: Request) -> Response:
            return self.apply(server, request, app(request))

        return serve

    def apply(self, server: str, request: Request, response: Response) -> Response:
        if not self._plan.active:  # the common case, without the lock
            return response
        target = _target(server, request, response)
        if target is None or response.drop_after is not None:
            return response
        fault = self._decide(request.method, target, response)
        if fault is None:
            return response
        return self._inject(fault, target, response)

    # -- deciding ----------------------------------------------------------------------------
    def _decide(self, method: str, target: _Target, response: Response) -> _Fault | None:
        with self._lock:
            plan = self._plan
            if not plan.active or target.route not in plan.routes:
                return None
            ident = (method, target.key)
            n = self._seen[ident]
            self._seen[ident] += 1
            if self._streak[ident] >= plan.max_consecutive:
                self._streak[ident] = 0  # convergence: this one gets through
                return None
            rng = _draw(plan.seed, method, target.key, n)
            fault = self._ongoing(target, rng) or self._roll(plan, rng, method, target, response)
            if fault is None:
                self._streak[ident] = 0
                return None
            self._streak[ident] += 1
            self._log.append((fault.kind, method, target.key))
            return fault

    def _ongoing(self, target: _Target, rng: random.Random) -> _Fault | None:
        """The next request of an outage (any route) or of a storm (its bucket)."""
        left, status = self._outage
        if left > 0:
            self._outage = (left - 1, status)
            return _Fault("server_error", rng, status)
        if target.bucket is not None and self._storms[target.bucket] > 0:
            self._storms[target.bucket] -= 1
            return _Fault("rate_limit_storm", rng)
        return None

    def _roll(
        self, plan: FaultPlan, rng: random.Random, method: str, target: _Target, response: Response
    ) -> _Fault | None:
        u, edge = rng.random(), 0.0
        for kind in KINDS:
            edge += getattr(plan, kind)
            if u < edge:
                break
        else:
            return None
        if not _applicable(kind, method, target, response):
            return None
        if kind == "server_error":
            status = rng.choice(plan.statuses)
            self._outage = (plan.burst - 1, status)
            return _Fault(kind, rng, status)
        if kind == "rate_limit_storm":
            assert target.bucket is not None
            self._storms[target.bucket] = plan.storm - 1
        return _Fault(kind, rng)

    # -- injecting ---------------------------------------------------------------------------
    def _inject(self, fault: _Fault, target: _Target, response: Response) -> Response:
        rng, size = fault.rng, len(response.body)
        if fault.kind == "server_error":
            return _substitute(error_response(fault.status, *_server_error(fault.status)), response)
        if fault.kind == "rate_limit_storm":
            assert target.bucket is not None
            return self._storm_answer(target.bucket, response)
        if fault.kind == "cdn_expiry":
            return _substitute(expired(), response)
        if fault.kind == "drop":
            response.drop_after = rng.randrange(1, size)
        elif fault.kind == "truncate":
            _truncate(response, rng.randrange(1, size))
        elif fault.kind == "corrupt":
            data = bytearray(response.body)  # a copy: the emulator's own bytes stay true
            for position in rng.sample(range(size), min(size, rng.randint(1, 4))):
                data[position] ^= rng.randint(1, 255)
            response.body = bytes(data)
        elif fault.kind == "slow":
            self._stopping.wait(self._plan.slow_seconds)
        return response

    def _storm_answer(self, bucket: str, response: Response) -> Response:
        limiter = self._limiter()
        quota = limiter.quotas.get(bucket, HUB_ANONYMOUS_QUOTAS[bucket])
        t = self._plan.retry_after
        refused = _substitute(rate_limited(bucket, str(t)), response)
        refused.headers.update(limit_headers(bucket, quota, limiter.window, 0, t, refused=True))
        return refused


def _substitute(fault: Response, real: Response) -> Response:
    """``fault`` in place of ``real``: same kind (counters stay exact), the server's headers kept."""
    fault.kind = real.kind
    for name in ENVELOPE:
        if name in real.headers:
            fault.headers[name] = real.headers[name]
    return fault


def _server_error(status: int) -> tuple[str, str]:
    if status in SERVER_ERRORS:
        return SERVER_ERRORS[status]
    try:
        return "ServerError", HTTPStatus(status).phrase
    except ValueError:
        return "ServerError", "Server Error"


def _truncate(response: Response, keep: int) -> None:
    response.body = response.body[:keep]
    content_range = response.headers.get("Content-Range")
    if response.status == 206 and content_range:
        first, _, size = content_range.removeprefix("bytes ").replace("/", "-").split("-")
        response.headers["Content-Range"] = f"bytes {first}-{int(first) + keep - 1}/{size}"

