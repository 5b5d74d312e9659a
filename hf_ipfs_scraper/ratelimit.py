"""One process-wide limiter that keeps every Hub request inside the Hub's rate limits.

The Hub (https://huggingface.co/docs/hub/rate-limits) counts requests in three buckets per fixed
5-minute window: ``api`` (``/api/...``), ``resolvers`` (file downloads, ``.../resolve/...``) and
``pages`` (everything else on the Hub host). Going over a quota costs a 429 and a wait of up to a
whole window, so the limiter keeps a local budget per bucket, starts it from the plan's quota and
corrects it from the ``RateLimit`` / ``RateLimit-Policy`` headers of every response.

Policies, per bucket:

* **Budget.** ``remaining`` requests until the window resets. Each grant spends one; the server's
  ``r`` (minus our requests still in flight, which it may not have counted yet) overrides it, and a
  ``t`` that moves the reset time starts a new window. Nothing is granted at 0 until the reset.
* **Pacing.** A token bucket refilled at ``(remaining + 1) / seconds_left_in_window``, holding at most
  ``burst`` x quota tokens (20 % by default): a burst is allowed, then the rest of the quota is spread
  over the window instead of being spent at once and stalling for minutes. The rate rises by itself
  when time runs out with budget left. ``burst=1.0`` turns pacing off. A scraper registered with
  ``paced=False`` (a bulk job whose end is what counts, the catalog's walk) skips the bucket and
  spends its budget as fast as it can ask, then waits for the reset: the Hub's windows are fixed, so
  over n windows that ends up to a window sooner than spreading each one (its grants take no tokens,
  so paced scrapers beside it keep their pace).
* **Concurrency (AIMD).** At most ``limit`` requests in flight; ``limit`` starts at half of
  ``max_concurrency``, grows by 1 after 10 answers in a row without a 429, and halves (at least 1)
  on a 429 — once per congestion episode: 429s of requests sent before the last cut do not cut again.
* **429.** The bucket is blocked, for every thread, until ``Retry-After`` (else the header's ``t``,
  else a 1, 2, 4 … 60 s backoff) has passed; if the header also says ``r=0``, until its reset.
* **Fair share.** With k registered scrapers, each may spend ``(remaining + spent by scrapers in
  this window) / k`` of a window. Past its share a scraper only gets budget the others, while
  *active*, are not owed: a scraper is active on a bucket while it waits for it or has used it (or
  registered) within ``idle_timeout`` seconds. So a share is kept for an idle scraper for at most
  ``idle_timeout`` seconds; after that the busy ones may spend it (and it is owed again as soon as
  the idle one comes back). Requests made outside any scraper (no handle bound) skip the share rule.
  A scraper may have parts (``register(name, within=owner)``): they spend the owner's one share
  between them, as the catalog's walks of the three types do, and count their own requests too.

Nothing here sleeps while holding the lock: a waiting thread computes how long, releases the lock,
sleeps (the injected ``sleep``, at most 5 s at a time so it sees new information), and re-checks.
Waiting for a concurrency slot uses ``Condition.wait``, which releases the lock too.
"""

from __future__ import annotations

import contextvars
import math
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import MappingProxyType, TracebackType
from urllib.parse import urlsplit

from .errors import InvalidInputError

__all__ = ["BUCKETS", "PLANS", "LimiterStats", "Permit", "RateLimiter", "ScraperHandle"]

BUCKETS: tuple[str, ...] = ("api", "resolvers", "pages")
PLANS: Mapping[str, Mapping[str, int]] = MappingProxyType(
    {
        "anonymous": MappingProxyType({"api": 500, "resolvers": 3000, "pages": 100}),
        "free": MappingProxyType({"api": 1000, "resolvers": 5000, "pages": 200}),
        "pro": MappingProxyType({"api": 2500, "resolvers": 12000, "pages": 400}),
    }
)

_MAX_NAP = 5.0  # a waiting thread re-checks at least this often
_SAME_WINDOW = 2.0  # two reset times closer than this (t is whole seconds) are the same window
_INCREASE_AFTER = 10  # answers without a 429 before the concurrency limit grows by one
_BACKOFF_FIRST, _BACKOFF_MAX = 1.0, 60.0  # a 429 that says nothing about when to come back
_RESOLVE_PATH = re.compile(r"^/(?:(?:datasets|spaces)/)?[^/]+(?:/[^/]+)?/resolve/")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_CURRENT: contextvars.ContextVar[ScraperHandle | None] = contextvars.ContextVar("hf_ipfs_scraper", default=None)


@dataclass(frozen=True)
class LimiterStats:
    """Counters for a run summary; ``requests``/``responses_429``/``seconds_waited`` since reset_stats()."""

    requests: Mapping[str, int]
    responses_429: int
    seconds_waited: float
    concurrency: Mapping[str, int]  # the current AIMD limit per bucket
    remaining: Mapping[str, int | None]  # what the server last said (``r``), None before any answer


class ScraperHandle:
    """A registered scraper; requests count against its fair share while it is bound to the thread."""

    def __init__(self, limiter: RateLimiter, name: str, now: float, share: ScraperHandle | None = None,
                 *, paced: bool = True) -> None:
        self.name = name
        self._limiter = limiter
        self._share = self if share is None else share  # whose fair share this one spends
        self.paced: bool = paced if share is None else share.paced  # a part paces as its owner does
        if share is None:
            self._used = dict.fromkeys(BUCKETS, 0)  # granted in the bucket's current window
            self._last_active = dict.fromkeys(BUCKETS, now)
            self._waiting = dict.fromkeys(BUCKETS, 0)
        else:  # a part: the very dicts of the share's owner, so spending, activity and waits are its
            self._used, self._last_active, self._waiting = share._used, share._last_active, share._waiting
        # This scraper's own counters since it registered: a run's summary, even while other
        # scrapers share the limiter (the process-wide ones in stats() count them all).
        self.requests = dict.fromkeys(BUCKETS, 0)
        self.responses_429 = 0
        self.seconds_waited = 0.0

    @contextmanager
    def bind(self) -> Iterator[ScraperHandle]:
        """Attribute this thread's (context's) requests to this scraper; worker threads bind too."""
        token = _CURRENT.set(self)
        try:
            yield self
        finally:
            _CURRENT.reset(token)

    def close(self) -> None:
        self._limiter.unregister(self)

    def __enter__(self) -> ScraperHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ScraperHandle({self.name!r})"


class Permit:
    """One granted request: holds a concurrency slot of its bucket until released."""

    __slots__ = ("bucket", "scraper", "seq", "_limiter", "_released")

    def __init__(self, limiter: RateLimiter, bucket: str, scraper: ScraperHandle | None, seq: int) -> None:
        self.bucket = bucket
        self.scraper = scraper
        self.seq = seq  # grant order within the bucket: tells a stale 429 from a fresh one
        self._limiter = limiter
        self._released = False

    def release(self) -> None:
        """Free the slot; calling it twice is harmless."""
        self._limiter._release(self)

    def __enter__(self) -> Permit:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


@dataclass
class _Bucket:
    name: str
    quota: int
    window: float
    limit: int
    reset_at: float
    remaining: float
    tokens: float
    refilled_at: float
    synced: bool = False  # the server told us where its window ends
    server_remaining: int | None = None
    blocked_until: float = 0.0
    backoff: float = _BACKOFF_FIRST
    in_flight: int = 0
    seq: int = 0
    cut_seq: int = -1  # seq at the last concurrency cut
    successes: int = 0
    requests: int = 0


class RateLimiter:
    """Budget, pacing, concurrency and fair share for the Hub's three buckets (see module docstring).

    ``quotas`` overrides the plan per bucket (a missing, 0 or None entry keeps the plan's value).
    Share one instance between every scraper and thread of the process.
    """

    def __init__(
        self,
        plan: str = "anonymous",
        *,
        quotas: Mapping[str, int | None] | None = None,
        window: float = 300.0,
        max_concurrency: int = 8,
        burst: float = 0.2,
        idle_timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        merged = dict(_plan_quotas(plan))
        for bucket, quota in (quotas or {}).items():
            if bucket not in BUCKETS:
                raise InvalidInputError(f"unknown rate-limit bucket {bucket!r}; expected one of {BUCKETS}")
            if quota is None or quota == 0:
                continue
            if isinstance(quota, bool) or not isinstance(quota, int) or quota < 0:
                raise InvalidInputError(f"quota for {bucket!r} must be a positive whole number, got {quota!r}")
            merged[bucket] = quota
        if not window > 0:
            raise InvalidInputError(f"window must be positive, got {window!r}")
        if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int) or max_concurrency < 1:
            raise InvalidInputError(f"max_concurrency must be at least 1, got {max_concurrency!r}")
        if not 0 < burst <= 1:
            raise InvalidInputError(f"burst must be in (0, 1], got {burst!r}")
        if not idle_timeout >= 0:
            raise InvalidInputError(f"idle_timeout must not be negative, got {idle_timeout!r}")
        self.max_concurrency = max_concurrency
        self._burst = burst
        self._idle_timeout = idle_timeout
        self._clock = clock
        self._sleep = sleep
        self._cond = threading.Condition()
        self._scrapers: list[ScraperHandle] = []
        self._responses_429 = 0
        self._waited = 0.0
        now = clock()
        start = max(1, (max_concurrency + 1) // 2)
        self._buckets = {
            b: _Bucket(b, q, window, start, now + window, float(q), self._capacity(q), now) for b, q in merged.items()
        }

    # -- classification ----------------------------------------------------------------------
    @staticmethod
    def bucket_for(method: str, url: str, hub_host: str) -> str | None:
        """The bucket a request to ``url`` counts against, or None when it is not for the Hub host.

        ``hub_host`` is ``host`` or ``host:port`` (an endpoint URL works too); without a port it matches
        the scheme's default port only. Every method counts the same (a HEAD on /resolve/ is a resolver).
        """
        parts = urlsplit(url)
        try:
            port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
        except ValueError:
            return None
        if (parts.hostname or "").lower() != _host(hub_host) or port not in _ports(hub_host, parts.scheme):
            return None
        path = parts.path or "/"
        if path == "/api" or path.startswith("/api/"):
            return "api"
        if _RESOLVE_PATH.match(path):
            return "resolvers"
        return "pages"

    # -- scrapers ----------------------------------------------------------------------------
    def register(self, name: str, *, within: ScraperHandle | None = None, paced: bool = True) -> ScraperHandle:
        """A scraper joins the fair split; bind the handle in each thread that works for it.

        ``within``: a part of that scraper instead, spending its share (the catalog's walks, a
        type each, are one scraper to the others); a part counts its own requests, and they count
        in ``within``'s too, and it paces as ``within`` does. ``paced=False``: see "Pacing"."""
        with self._cond:
            if within is not None:
                return ScraperHandle(self, name, self._clock(), share=within._share)
            handle = ScraperHandle(self, name, self._clock(), paced=paced)
            self._scrapers.append(handle)
            self._cond.notify_all()
            return handle

    def unregister(self, handle: ScraperHandle) -> None:
        """The scraper leaves; its unspent share goes back to the others at once."""
        with self._cond:
            if handle in self._scrapers:
                self._scrapers.remove(handle)
            self._cond.notify_all()

    # -- acquiring ---------------------------------------------------------------------------
    def acquire(self, bucket: str, *, scraper: ScraperHandle | None = None) -> Permit:
        """Block until the bucket's budget, pacing, share and a concurrency slot allow one request.

        ``scraper`` defaults to the handle bound to the current context. Release the permit (or use
        :meth:`slot`) when the response headers are in.
        """
        state = self._state(bucket)
        scraper = scraper if scraper is not None else _CURRENT.get()
        with self._cond:
            if scraper is not None:
                scraper._waiting[bucket] += 1
        try:
            while True:
                with self._cond:
                    now = self._clock()
                    delay = self._delay(bucket, state, scraper, now)
                    if delay <= 0 and state.in_flight >= state.limit:
                        self._cond.wait()  # releases the lock; release()/a raised limit notifies
                        self._count_wait(max(0.0, self._clock() - now), scraper)
                        continue
                    if delay <= 0:
                        return self._grant(bucket, state, scraper, now)
                self.wait(min(delay, _MAX_NAP), scraper=scraper)
        finally:
            if scraper is not None:
                with self._cond:
                    scraper._waiting[bucket] -= 1

    @contextmanager
    def slot(self, bucket: str, *, scraper: ScraperHandle | None = None) -> Iterator[Permit]:
        """``acquire`` as a context manager: the slot is released however the block exits."""
        permit = self.acquire(bucket, scraper=scraper)
        try:
            yield permit
        finally:
            permit.release()

    def wait(self, seconds: float, *, scraper: ScraperHandle | None = None) -> None:
        """Sleep (injected ``sleep``, no lock held) and count it in ``seconds_waited`` (and in the
        scraper's, by default the one bound to the current context)."""
        if seconds <= 0:
            return
        started = self._clock()
        self._sleep(seconds)
        with self._cond:
            self._count_wait(max(0.0, self._clock() - started), scraper if scraper is not None else _CURRENT.get())

    def _count_wait(self, seconds: float, scraper: ScraperHandle | None) -> None:
        self._waited += seconds
        if scraper is not None:
            scraper.seconds_waited += seconds

    # -- learning ----------------------------------------------------------------------------
    def observe(
        self, bucket: str, status: int, headers: Mapping[str, str], *, permit: Permit | None = None
    ) -> float:
        """Learn from one response of ``bucket``; return the seconds to wait before retrying a 429 (else 0).

        Pass the request's ``permit`` when there is one: it tells a 429 of a request sent before the
        last concurrency cut (already paid for) from a new one.
        """
        state = self._state(bucket)
        limits = _parse_ratelimit(_header(headers, "ratelimit"))
        policies = _parse_policy(_header(headers, "ratelimit-policy"))
        with self._cond:
            now = self._clock()
            for name in BUCKETS:
                if name in limits or name in policies:
                    self._roll(self._buckets[name], now)
                    self._learn(self._buckets[name], limits.get(name, (None, None)), policies.get(name), now)
            if status != 429:
                if status < 500:
                    self._succeeded(state)
                return 0.0
            self._responses_429 += 1
            if permit is not None and permit.scraper is not None:
                permit.scraper.responses_429 += 1
            own_t = limits.get(bucket, (None, None))[1]
            delay = _positive_or_none(_retry_after(headers)) or _positive_or_none(own_t)
            if delay is None:
                delay, state.backoff = state.backoff, min(_BACKOFF_MAX, state.backoff * 2)
            state.blocked_until = max(state.blocked_until, now + delay)
            state.successes = 0
            if permit is None or permit.seq > state.cut_seq:
                state.limit = max(1, state.limit // 2)
                state.cut_seq = state.seq
            return state.blocked_until - now

    # -- counters ----------------------------------------------------------------------------
    def stats(self) -> LimiterStats:
        with self._cond:
            return LimiterStats(
                requests=MappingProxyType({b: s.requests for b, s in self._buckets.items()}),
                responses_429=self._responses_429,
                seconds_waited=self._waited,
                concurrency=MappingProxyType({b: s.limit for b, s in self._buckets.items()}),
                remaining=MappingProxyType({b: s.server_remaining for b, s in self._buckets.items()}),
            )

    def reset_stats(self) -> None:
        """Zero the run counters (requests, 429s, time waited); the learned state stays."""
        with self._cond:
            self._responses_429 = 0
            self._waited = 0.0
            for state in self._buckets.values():
                state.requests = 0

    # -- internals (called with the lock held) -----------------------------------------------
    def _state(self, bucket: str) -> _Bucket:
        try:
            return self._buckets[bucket]
        except KeyError:
            raise InvalidInputError(f"unknown rate-limit bucket {bucket!r}; expected one of {BUCKETS}") from None

    def _capacity(self, quota: int) -> float:
        return max(1.0, self._burst * quota)

    def _delay(self, bucket: str, state: _Bucket, scraper: ScraperHandle | None, now: float) -> float:
        """Seconds until this request may go as far as budget, 429 blocks, share and pacing go; 0 = now."""
        self._roll(state, now)
        if state.blocked_until > now:
            return state.blocked_until - now
        if state.remaining < 1:
            return state.reset_at - now
        share_wait = self._share_wait(bucket, state, scraper, now)
        if share_wait > 0:
            return share_wait
        if scraper is not None and not scraper.paced:
            return 0.0
        rate = self._refill(state, now)
        if state.tokens < 1:
            return min((1 - state.tokens) / rate, state.reset_at - now)
        return 0.0

    def _roll(self, state: _Bucket, now: float) -> None:
        """Start a new window locally when the current one has ended."""
        if now < state.reset_at:
            return
        state.reset_at += state.window * (math.floor((now - state.reset_at) / state.window) + 1)
        self._new_window(state)

    def _new_window(self, state: _Bucket) -> None:
        state.remaining = float(state.quota)
        state.tokens = max(state.tokens, self._capacity(state.quota))
        for handle in self._scrapers:
            handle._used[state.name] = 0

    def _refill(self, state: _Bucket, now: float) -> float:
        """Add the tokens earned since the last refill; return the current rate (tokens per second)."""
        rate = (state.remaining + 1) / max(state.reset_at - now, 1e-3)  # the last one lands before the reset
        capacity = min(self._capacity(state.quota), max(state.remaining, 1.0))
        state.tokens = min(capacity, state.tokens + rate * max(0.0, now - state.refilled_at))
        state.refilled_at = now
        return rate

    def _share_wait(self, bucket: str, state: _Bucket, scraper: ScraperHandle | None, now: float) -> float:
        """0 when ``scraper`` may spend now; else when to look again (see "Fair share")."""
        if scraper is None or scraper._share not in self._scrapers or len(self._scrapers) < 2:
            return 0.0
        scraper = scraper._share
        share = (state.remaining + sum(h._used[bucket] for h in self._scrapers)) / len(self._scrapers)
        if scraper._used[bucket] < share:
            return 0.0
        owed, recheck = 0.0, state.reset_at - now
        for other in self._scrapers:
            if other is scraper:
                continue
            idle_at = other._last_active[bucket] + self._idle_timeout
            if other._waiting[bucket] > 0:  # busy right now: look again soon, its wait may end
                owed += max(0.0, share - other._used[bucket])
                recheck = min(recheck, 1.0)
            elif idle_at > now:  # its reservation lapses at idle_at
                owed += max(0.0, share - other._used[bucket])
                recheck = min(recheck, idle_at - now)
        if state.remaining - owed >= 1:
            return 0.0
        return max(recheck, 0.05)

    def _grant(self, bucket: str, state: _Bucket, scraper: ScraperHandle | None, now: float) -> Permit:
        state.remaining -= 1
        if scraper is None or scraper.paced:
            state.tokens -= 1
        state.in_flight += 1
        state.requests += 1
        state.seq += 1
        if scraper is not None:
            scraper._used[bucket] += 1
            scraper.requests[bucket] += 1
            scraper._last_active[bucket] = now
            if scraper._share is not scraper:
                scraper._share.requests[bucket] += 1
        return Permit(self, bucket, scraper, state.seq)

    def _release(self, permit: Permit) -> None:
        with self._cond:
            if permit._released:
                return
            permit._released = True
            self._buckets[permit.bucket].in_flight -= 1
            self._cond.notify_all()

    def _learn(
        self, state: _Bucket, limit: tuple[int | None, float | None], policy: tuple[int, float] | None, now: float
    ) -> None:
        remaining, reset_in = limit
        quota_changed = False
        if policy is not None:
            quota, window = policy
            quota_changed = quota != state.quota
            state.quota, state.window = quota, window
        if remaining is None:
            return
        state.server_remaining = remaining
        if policy is None and remaining > state.quota:  # a bigger plan than configured
            state.quota = remaining
        # The server may not have counted our other requests in flight yet: assume it has not.
        estimate = float(max(0, remaining - max(0, state.in_flight - 1)))
        if reset_in is not None:
            server_reset = now + reset_in
            same = min(_SAME_WINDOW, state.window / 4)
            if server_reset > state.reset_at + same:  # the server is in a later window than we are
                state.reset_at, state.synced = server_reset, True
                self._new_window(state)
                state.remaining = estimate
                return
            if not state.synced or quota_changed or server_reset < state.reset_at - same:
                state.reset_at, state.synced, state.remaining = server_reset, True, estimate
                return
            state.synced = True
        if quota_changed:
            state.remaining = estimate
        else:  # within a window the count only goes down: a late, older answer must not raise it
            state.remaining = min(state.remaining, estimate)

    def _succeeded(self, state: _Bucket) -> None:
        state.backoff = _BACKOFF_FIRST
        state.successes += 1
        if state.successes >= _INCREASE_AFTER:
            state.successes = 0
            if state.limit < self.max_concurrency:
                state.limit += 1
                self._cond.notify_all()


# -- helpers ---------------------------------------------------------------------------------
def _plan_quotas(plan: str) -> Mapping[str, int]:
    try:
        return PLANS[plan.strip().lower()]
    except (KeyError, AttributeError):
        raise InvalidInputError(f"unknown Hub plan {plan!r}; expected one of {tuple(PLANS)}") from None


def _host(hub_host: str) -> str:
    return (urlsplit(hub_host if "://" in hub_host else f"//{hub_host}").hostname or "").lower()


def _ports(hub_host: str, scheme: str) -> set[int | None]:
    """The ports ``hub_host`` stands for: its explicit port, else the scheme's default one."""
    parts = urlsplit(hub_host if "://" in hub_host else f"//{hub_host}")
    try:
        explicit = parts.port
    except ValueError:
        explicit = None
    if explicit is not None:
        return {explicit}
    return {_DEFAULT_PORTS.get(parts.scheme or scheme)}


def _header(headers: Mapping[str, str], name: str) -> str:
    """Case-insensitive lookup that works for plain dicts and httpx-style header mappings."""
    for key in headers:
        if isinstance(key, str) and key.lower() == name:
            value = headers[key]
            return value if isinstance(value, str) else ""
    return ""


def _items(value: str) -> Iterator[tuple[list[str], dict[str, str]]]:
    """Split a structured header into items: (quoted names, key=value params)."""
    for item in value.split(","):
        names: list[str] = []
        params: dict[str, str] = {}
        for part in item.split(";"):
            part = part.strip()
            if "=" in part:
                key, _, val = part.partition("=")
                params.setdefault(key.strip().lower(), val.strip().strip('"'))
            elif part:
                names.append(part.strip('"').strip().lower())
        yield names, params


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def _parse_ratelimit(value: str) -> dict[str, tuple[int | None, float | None]]:
    """``"api";r=499;t=120`` → {"api": (499, 120.0)}; unknown buckets and bad numbers are dropped."""
    found: dict[str, tuple[int | None, float | None]] = {}
    for names, params in _items(value):
        bucket = next((n for n in names if n in BUCKETS), None)
        remaining, reset_in = _number(params.get("r")), _number(params.get("t"))
        if bucket is not None and (remaining is not None or reset_in is not None):
            found[bucket] = (None if remaining is None else int(remaining), reset_in)
    return found


def _parse_policy(value: str) -> dict[str, tuple[int, float]]:
    """``"fixed window";"api";q=500;w=300`` → {"api": (500, 300.0)}; both q and w must be valid."""
    found: dict[str, tuple[int, float]] = {}
    for names, params in _items(value):
        bucket = next((n for n in names if n in BUCKETS), None)
        quota, window = _number(params.get("q")), _number(params.get("w"))
        if bucket is not None and quota is not None and quota >= 1 and window is not None and window > 0:
            found[bucket] = (int(quota), window)
    return found


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Delay-seconds only; an HTTP-date (the Hub does not send one) falls back to ``t`` or backoff."""
    return _number(_header(headers, "retry-after").strip() or None)


def _positive_or_none(value: float | None) -> float | None:
    return value if value is not None and value > 0 else None
