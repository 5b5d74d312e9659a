"""RateLimiter with a fake clock and fake sleep: no test sleeps for real beyond a few milliseconds."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from hf_ipfs_scraper.errors import InvalidInputError
from hf_ipfs_scraper.ratelimit import PLANS, RateLimiter

HUB = "huggingface.co"


class FakeTime:
    """A clock and a sleep for the limiter. ``frozen``: sleeping yields briefly but time stands still."""

    def __init__(self, *, frozen: bool = False) -> None:
        self.now = 1000.0
        self.frozen = frozen
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            if not self.frozen:
                self.now += seconds
        if self.frozen:
            time.sleep(0.001)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def limiter(ft: FakeTime, **kwargs: object) -> RateLimiter:
    kwargs.setdefault("burst", 1.0)  # most tests look at the budget, not at pacing
    return RateLimiter(clock=ft.clock, sleep=ft.sleep, **kwargs)  # type: ignore[arg-type]


def take(lim: RateLimiter, bucket: str, n: int) -> None:
    for _ in range(n):
        lim.acquire(bucket).release()


def run_threads(targets: list[threading.Thread], timeout: float = 5.0) -> None:
    for t in targets:
        t.start()
    for t in targets:
        t.join(timeout)
        assert not t.is_alive(), "a worker thread is stuck"


# -- configuration and classification ---------------------------------------------------------
def test_plan_quotas_and_overrides() -> None:
    ft = FakeTime()
    assert PLANS["free"] == {"api": 1000, "resolvers": 5000, "pages": 200}
    lim = limiter(ft, plan="PRO", quotas={"pages": 3, "api": 0})  # 0 keeps the plan's value
    take(lim, "pages", 3)
    assert ft.sleeps == []
    take(lim, "pages", 1)
    assert sum(ft.sleeps) == pytest.approx(300.0)  # the 4th page waits for the next window
    take(lim, "api", 2500)
    assert sum(ft.sleeps) == pytest.approx(300.0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"plan": "enterprise"},
        {"quotas": {"apis": 10}},
        {"quotas": {"api": -1}},
        {"max_concurrency": 0},
        {"window": 0},
        {"burst": 0},
        {"idle_timeout": -1},
    ],
)
def test_bad_arguments(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidInputError):
        RateLimiter(**kwargs)  # type: ignore[arg-type]


def test_unknown_bucket() -> None:
    with pytest.raises(InvalidInputError, match="unknown rate-limit bucket"):
        RateLimiter().acquire("downloads")


@pytest.mark.parametrize(
    ("url", "hub_host", "bucket"),
    [
        ("https://huggingface.co/api/models?sort=trending", HUB, "api"),
        ("https://huggingface.co/api/models/org/name/resolve/main/x", HUB, "api"),
        ("https://huggingface.co/gpt2/resolve/main/config.json", HUB, "resolvers"),
        ("https://huggingface.co/org/name/resolve/abc123/dir/w.bin", HUB, "resolvers"),
        ("https://huggingface.co/datasets/org/name/resolve/main/d.csv", HUB, "resolvers"),
        ("https://huggingface.co/datasets/squad/resolve/main/d.csv", HUB, "resolvers"),
        ("https://huggingface.co/spaces/org/name/resolve/main/app.py", HUB, "resolvers"),
        ("https://huggingface.co/org/name/blob/main/resolve/x", HUB, "pages"),
        ("https://huggingface.co/org/name", HUB, "pages"),
        ("https://huggingface.co/", HUB, "pages"),
        ("https://HuggingFace.co/api/whoami-v2", HUB, "api"),
        ("https://cdn-lfs.hf.co/repos/ab/cd/sha", HUB, None),
        ("https://huggingface.co:8443/api/models", HUB, None),
        ("http://127.0.0.1:8080/api/models", "127.0.0.1:8080", "api"),
        ("http://127.0.0.1:9090/api/models", "127.0.0.1:8080", None),
        ("http://127.0.0.1:8080/o/n/resolve/main/f", "http://127.0.0.1:8080", "resolvers"),
    ],
)
def test_bucket_for(url: str, hub_host: str, bucket: str | None) -> None:
    assert RateLimiter.bucket_for("GET", url, hub_host) == bucket


# -- budget ------------------------------------------------------------------------------------
def test_budget_from_plan_then_next_window() -> None:
    ft = FakeTime()
    lim = limiter(ft, quotas={"api": 5})
    take(lim, "api", 5)
    assert ft.sleeps == []
    take(lim, "api", 1)
    assert sum(ft.sleeps) == pytest.approx(300.0)
    assert lim.stats().seconds_waited == pytest.approx(300.0)


def test_budget_learned_from_headers() -> None:
    ft = FakeTime()
    lim = limiter(ft)
    with lim.slot("api") as permit:
        lim.observe(
            "api",
            200,
            {"RateLimit": '"api";r=2;t=40', "RateLimit-Policy": '"fixed window";"api";q=7;w=60'},
            permit=permit,
        )
    assert lim.stats().remaining["api"] == 2
    take(lim, "api", 2)
    assert ft.sleeps == []
    take(lim, "api", 1)  # budget spent: wait for the server's reset (t=40), not our guess (300 s)
    assert sum(ft.sleeps) == pytest.approx(40.0)
    take(lim, "api", 6)  # the new window holds q=7 and lasts w=60
    assert sum(ft.sleeps) == pytest.approx(40.0)
    take(lim, "api", 1)
    assert sum(ft.sleeps) == pytest.approx(100.0)


def test_requests_in_flight_are_assumed_uncounted_by_the_server() -> None:
    ft = FakeTime()
    lim = limiter(ft, max_concurrency=8)
    held = [lim.acquire("api") for _ in range(3)]
    lim.observe("api", 200, {"ratelimit": '"api";r=5;t=100'}, permit=held[0])
    for p in held:
        p.release()
    take(lim, "api", 3)  # 5 minus the 2 other requests still in flight at that answer
    assert ft.sleeps == []
    take(lim, "api", 1)
    assert sum(ft.sleeps) == pytest.approx(100.0)


def test_late_older_answer_does_not_raise_the_budget() -> None:
    ft = FakeTime()
    lim = limiter(ft)
    lim.observe("api", 200, {"ratelimit": '"api";r=1;t=100'})
    lim.observe("api", 200, {"ratelimit": '"api";r=50;t=99'})  # same window, sent earlier
    assert lim.stats().remaining["api"] == 50
    take(lim, "api", 1)
    take(lim, "api", 1)
    assert sum(ft.sleeps) == pytest.approx(100.0)


def test_answer_from_a_later_window_restores_the_budget() -> None:
    ft = FakeTime()
    lim = limiter(ft)
    lim.observe("api", 200, {"ratelimit": '"api";r=0;t=100'})
    lim.observe("api", 200, {"ratelimit": '"api";r=400;t=290'})  # the server's window moved on
    take(lim, "api", 400)
    assert ft.sleeps == []


def test_header_naming_another_bucket_teaches_that_bucket() -> None:
    ft = FakeTime()
    lim = limiter(ft)
    lim.observe("pages", 200, {"RateLimit": '"resolvers";r=0;t=30'})
    take(lim, "pages", 1)
    assert ft.sleeps == []
    take(lim, "resolvers", 1)
    assert sum(ft.sleeps) == pytest.approx(30.0)


@pytest.mark.parametrize(
    "headers",
    [
        {"RateLimit": "garbage"},
        {"RateLimit": '"api";r=abc;t=-5'},
        {"RateLimit": '"api";r=nan;t=inf'},
        {"RateLimit": '"unknown";r=0;t=100'},
        {"RateLimit": ";;;,,,=;=", "RateLimit-Policy": '"fixed window";"api";q=0;w=300'},
        {"RateLimit-Policy": '"fixed window";"api";q=1e999;w=-3'},
        {"RateLimit": "", "Retry-After": "soon"},
        {"RateLimit": '"api"'},
    ],
)
def test_garbled_headers_are_ignored(headers: dict[str, str]) -> None:
    ft = FakeTime()
    lim = limiter(ft, quotas={"api": 3})
    assert lim.observe("api", 200, headers) == 0.0
    take(lim, "api", 3)
    assert ft.sleeps == []
    assert lim.stats().remaining["api"] is None


# -- 429 ---------------------------------------------------------------------------------------
def test_429_waits_for_retry_after() -> None:
    ft = FakeTime()
    lim = limiter(ft)
    with lim.slot("api") as permit:
        wait = lim.observe("api", 429, {"Retry-After": "17"}, permit=permit)
    assert wait == 17.0
    take(lim, "api", 1)
    assert sum(ft.sleeps) == pytest.approx(17.0)
    stats = lim.stats()
    assert stats.responses_429 == 1
    assert stats.seconds_waited == pytest.approx(17.0)


def test_429_waits_for_t_when_there_is_no_retry_after() -> None:
    ft = FakeTime()
    lim = limiter(ft)
    assert lim.observe("api", 429, {"RateLimit": '"api";r=0;t=42'}) == 42.0
    take(lim, "api", 1)
    assert sum(ft.sleeps) == pytest.approx(42.0)
    assert lim.stats().remaining["api"] == 0


def test_429_without_hints_backs_off_exponentially_then_resets() -> None:
    ft = FakeTime()
    lim = limiter(ft)
    assert [lim.observe("api", 429, {}) for _ in range(3)] == [1.0, 2.0, 4.0]
    ft.advance(10)
    lim.observe("api", 200, {})
    assert lim.observe("api", 429, {}) == 1.0


def test_other_threads_wait_for_a_429_too() -> None:
    ft = FakeTime()
    lim = limiter(ft, max_concurrency=8)
    lim.observe("api", 429, {"Retry-After": "60"})
    granted_at: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        lim.acquire("api").release()
        with lock:
            granted_at.append(ft.clock())

    run_threads([threading.Thread(target=worker) for _ in range(5)])
    assert len(granted_at) == 5
    assert min(granted_at) >= 1060.0


def test_sleeping_on_a_429_does_not_hold_the_lock() -> None:
    """A thread sleeping out api's Retry-After must not stop a resolvers acquire (or an observe)."""
    asleep, done = threading.Event(), threading.Event()
    now = [0.0]
    other_got_through: list[bool] = []

    def sleep(seconds: float) -> None:
        asleep.set()
        other_got_through.append(done.wait(2))
        now[0] += seconds

    lim = RateLimiter(clock=lambda: now[0], sleep=sleep, burst=1.0)
    lim.observe("api", 429, {"Retry-After": "30"})
    sleeper = threading.Thread(target=lambda: lim.acquire("api").release())
    sleeper.start()
    assert asleep.wait(5)
    with lim.slot("resolvers") as permit:  # would deadlock if the sleeper held the lock
        lim.observe("resolvers", 200, {"RateLimit": '"resolvers";r=10;t=100'}, permit=permit)
    stats = lim.stats()
    done.set()
    sleeper.join(5)
    assert not sleeper.is_alive()
    assert other_got_through and all(other_got_through)
    assert stats.requests["resolvers"] == 1
    assert lim.stats().requests["api"] == 1


# -- concurrency (AIMD) ------------------------------------------------------------------------
def test_aimd_grows_after_successes_and_halves_on_429() -> None:
    ft = FakeTime()
    lim = limiter(ft, max_concurrency=8)
    assert lim.stats().concurrency["api"] == 4
    for _ in range(9):
        lim.observe("api", 200, {})
    assert lim.stats().concurrency["api"] == 4
    lim.observe("api", 200, {})
    assert lim.stats().concurrency["api"] == 5
    for _ in range(100):
        lim.observe("api", 404, {})  # any answer that is not a 429 counts as a success
    assert lim.stats().concurrency["api"] == 8
    lim.observe("api", 429, {})
    assert lim.stats().concurrency == {"api": 4, "resolvers": 4, "pages": 4}
    lim.observe("api", 429, {})
    lim.observe("api", 429, {})
    lim.observe("api", 429, {})
    assert lim.stats().concurrency["api"] == 1


def test_aimd_cuts_once_for_429s_of_requests_sent_before_the_cut() -> None:
    ft = FakeTime()
    lim = limiter(ft, max_concurrency=8)
    early = [lim.acquire("api") for _ in range(3)]
    for p in early:
        lim.observe("api", 429, {"Retry-After": "1"}, permit=p)
        p.release()
    assert lim.stats().concurrency["api"] == 2
    with lim.slot("api") as late:  # sent after the cut: a new episode
        lim.observe("api", 429, {"Retry-After": "1"}, permit=late)
    assert lim.stats().concurrency["api"] == 1


def test_5xx_is_neutral_for_aimd() -> None:
    ft = FakeTime()
    lim = limiter(ft, max_concurrency=8)
    for _ in range(9):
        lim.observe("api", 200, {})
    lim.observe("api", 503, {})
    assert lim.stats().concurrency["api"] == 4
    lim.observe("api", 200, {})
    assert lim.stats().concurrency["api"] == 5


def test_concurrency_limit_blocks_until_a_slot_is_released() -> None:
    ft = FakeTime()
    lim = limiter(ft, max_concurrency=1)
    first = lim.acquire("api")
    got = threading.Event()
    waiter = threading.Thread(target=lambda: (lim.acquire("api").release(), got.set()))
    waiter.start()
    assert not got.wait(0.1)
    lim.acquire("pages").release()  # another bucket has its own slots
    first.release()
    assert got.wait(5)
    waiter.join(5)


def test_slot_is_released_when_the_block_raises() -> None:
    ft = FakeTime()
    lim = limiter(ft, max_concurrency=1)
    with pytest.raises(RuntimeError):
        with lim.slot("api"):
            raise RuntimeError("boom")
    permit = lim.acquire("api")  # would block forever if the slot had leaked
    permit.release()
    permit.release()  # idempotent: must not free a slot twice
    held = lim.acquire("api")
    got = threading.Event()
    waiter = threading.Thread(target=lambda: (lim.acquire("api").release(), got.set()))
    waiter.start()
    assert not got.wait(0.1)
    held.release()
    assert got.wait(5)
    waiter.join(5)


def test_many_threads_never_exceed_budget_or_concurrency() -> None:
    ft = FakeTime(frozen=True)
    lim = limiter(ft, quotas={"api": 50}, max_concurrency=8)
    in_flight, peak, granted = [0], [0], [0]
    lock = threading.Lock()
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            with lim.slot("api"):
                with lock:
                    granted[0] += 1
                    in_flight[0] += 1
                    peak[0] = max(peak[0], in_flight[0])
                time.sleep(0.0005)
                with lock:
                    in_flight[0] -= 1
                lim.observe("api", 200, {})

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 5
    while granted[0] < 50 and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(0.05)
    assert granted[0] == 50  # the clock is frozen inside the window: not one more
    assert 1 <= peak[0] <= 8
    stop.set()
    ft.advance(300)  # next window: the blocked workers get through and see stop
    for t in threads:
        t.join(5)
        assert not t.is_alive()
    assert lim.stats().requests["api"] == granted[0]


# -- pacing ------------------------------------------------------------------------------------
def test_pacing_spreads_the_quota_over_the_window() -> None:
    ft = FakeTime()
    lim = RateLimiter(quotas={"pages": 100}, burst=0.1, clock=ft.clock, sleep=ft.sleep)
    start = ft.clock()
    times = []
    for _ in range(100):
        lim.acquire("pages").release()
        times.append(ft.clock() - start)
    assert times[:10] == [0.0] * 10  # the burst
    assert times[10] == pytest.approx(300 / 91, rel=0.02)  # then one every ~300/91 s
    gaps = [b - a for a, b in zip(times[10:], times[11:])]
    assert max(gaps) < 4.0  # evenly spread: no long stall
    assert 250 < times[-1] <= 300  # the last request lands near the end of the window, not at once
    lim.acquire("pages").release()  # the 101st waits for the next window
    assert ft.clock() - start >= 300


def test_an_unpaced_scraper_spends_its_window_at_once_and_leaves_the_pace_of_others() -> None:
    """A bulk job (the catalog's walk) asks as fast as it can until the window's budget is spent,
    then waits for the reset: 250 requests over two windows end at the second window's start, not
    near its end. Its grants take no tokens, so a paced scraper beside it keeps its burst."""
    ft = FakeTime()
    lim = RateLimiter(quotas={"api": 100}, burst=0.1, clock=ft.clock, sleep=ft.sleep)
    start = ft.clock()
    bulk = lim.register("catalog", paced=False)
    part = lim.register("catalog:models", within=bulk)
    assert part.paced is False  # a part paces as its owner does
    with part.bind():
        take(lim, "api", 60)
    assert ft.clock() == start  # no pacing: 60 at once, past the burst of 10
    paced = lim.register("mirror")
    with paced.bind():
        take(lim, "api", 10)  # the burst is still whole
    assert ft.clock() == start
    lim.unregister(paced)
    with part.bind():
        take(lim, "api", 30 + 100)  # the window's last 30, then all of the next window's at its start
    assert ft.clock() - start == pytest.approx(300, abs=1e-6)
    assert part.requests["api"] == bulk.requests["api"] == 190
    with part.bind():
        take(lim, "api", 1)  # the budget is spent again: the third window
    assert ft.clock() - start == pytest.approx(600, abs=1e-6)


# -- fair share --------------------------------------------------------------------------------
def test_fair_split_between_three_busy_scrapers() -> None:
    ft = FakeTime(frozen=True)
    lim = limiter(ft, quotas={"api": 30}, max_concurrency=8)
    handles = [lim.register(name) for name in ("models", "datasets", "spaces")]
    counts: Counter[str] = Counter()
    lock = threading.Lock()
    stop = threading.Event()

    def worker(handle: object) -> None:
        with handle.bind():  # type: ignore[attr-defined]
            while not stop.is_set():
                with lim.slot("api"):
                    with lock:
                        counts[handle.name] += 1  # type: ignore[attr-defined]

    threads = [threading.Thread(target=worker, args=(h,)) for h in handles for _ in range(2)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 5
    while sum(counts.values()) < 30 and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(0.05)
    assert counts == {"models": 10, "datasets": 10, "spaces": 10}
    stop.set()
    ft.advance(300)
    for t in threads:
        t.join(5)
        assert not t.is_alive()


def test_idle_scraper_share_lapses_after_idle_timeout() -> None:
    ft = FakeTime()
    lim = limiter(ft, quotas={"api": 10}, idle_timeout=30.0)
    busy = lim.register("busy")
    lim.register("idle")
    with busy.bind():
        take(lim, "api", 5)  # its share
        assert ft.sleeps == []
        take(lim, "api", 1)  # the idle one's share is reserved until it has been idle 30 s
        assert sum(ft.sleeps) == pytest.approx(30.0)
        take(lim, "api", 4)  # then the whole budget is the busy one's
        assert sum(ft.sleeps) == pytest.approx(30.0)


def test_unregistering_returns_the_share_at_once() -> None:
    ft = FakeTime()
    lim = limiter(ft, quotas={"api": 10})
    a, b = lim.register("a"), lim.register("b")
    with a.bind():
        take(lim, "api", 5)
    b.close()
    with a.bind():
        take(lim, "api", 5)
    assert ft.sleeps == []


def test_share_of_a_scraper_that_is_active_is_kept_for_it() -> None:
    ft = FakeTime()
    lim = limiter(ft, quotas={"api": 12}, idle_timeout=30.0)
    a, b, c = (lim.register(n) for n in "abc")
    with b.bind():
        take(lim, "api", 1)
    with a.bind():
        take(lim, "api", 4)
    ft.advance(31)  # c went idle, b too (its last request was 31 s ago)
    with b.bind():
        take(lim, "api", 1)  # b is active again
    with a.bind():
        take(lim, "api", 4)  # a takes c's lapsed share but not what b is still owed (4 - 2 = 2)
        assert ft.sleeps == []
        take(lim, "api", 1)
    assert sum(ft.sleeps) == pytest.approx(30.0)  # until b has been idle for 30 s


def test_parts_of_a_scraper_spend_its_one_share_and_count_their_own_requests() -> None:
    """The catalog's walks (a type each) are one scraper to a mirror running beside them: between
    them no split, so the models' long listing may take what the short ones leave."""
    ft = FakeTime()
    lim = limiter(ft, quotas={"api": 12}, idle_timeout=30.0)
    mirror, catalog = lim.register("mirror"), lim.register("catalog")
    models, spaces = lim.register("catalog:models", within=catalog), lim.register("catalog:spaces", within=catalog)
    with mirror.bind():
        take(lim, "api", 1)  # the mirror is active: half the window (6) is owed to it
    with spaces.bind():
        take(lim, "api", 1)
    with models.bind():
        take(lim, "api", 5)  # the catalog's share is 6 in all, not 12 / 3 = 4 for each part
        assert ft.sleeps == []
        take(lim, "api", 1)  # past it: waits until the mirror's reservation lapses
    assert sum(ft.sleeps) == pytest.approx(30.0)
    assert (models.requests["api"], spaces.requests["api"], catalog.requests["api"]) == (6, 1, 7)
    assert mirror.requests["api"] == 1
    lim.unregister(models)  # a part leaving changes nobody's share
    assert lim.stats().requests["api"] == 8


def test_requests_without_a_scraper_skip_the_share_rule() -> None:
    ft = FakeTime()
    lim = limiter(ft, quotas={"api": 10})
    lim.register("a")
    lim.register("b")
    take(lim, "api", 10)
    assert ft.sleeps == []


# -- stats -------------------------------------------------------------------------------------
def test_stats_and_reset() -> None:
    ft = FakeTime()
    lim = limiter(ft)
    take(lim, "api", 3)
    take(lim, "resolvers", 2)
    lim.observe("api", 429, {"Retry-After": "5", "RateLimit": '"api";r=0;t=5'})
    take(lim, "api", 1)
    stats = lim.stats()
    assert dict(stats.requests) == {"api": 4, "resolvers": 2, "pages": 0}
    assert stats.responses_429 == 1
    assert stats.seconds_waited == pytest.approx(5.0)
    assert dict(stats.concurrency) == {"api": 2, "resolvers": 4, "pages": 4}
    assert dict(stats.remaining) == {"api": 0, "resolvers": None, "pages": None}
    with pytest.raises(AttributeError):
        stats.responses_429 = 0  # type: ignore[misc]
    lim.reset_stats()
    stats = lim.stats()
    assert dict(stats.requests) == {"api": 0, "resolvers": 0, "pages": 0}
    assert (stats.responses_429, stats.seconds_waited) == (0, 0.0)
    assert stats.concurrency["api"] == 2  # learned state survives a reset
    assert stats.remaining["api"] == 0


def test_each_handle_counts_its_own_requests_429s_and_waits() -> None:
    ft = FakeTime()
    lim = limiter(ft)
    models, datasets = lim.register("models"), lim.register("datasets")
    with models.bind():
        take(lim, "api", 3)
        permit = lim.acquire("resolvers")
        delay = lim.observe("resolvers", 429, {"Retry-After": "7"}, permit=permit)
        permit.release()
        lim.wait(delay)
    with datasets.bind():
        take(lim, "api", 2)
    take(lim, "api", 1)  # outside any scraper: only the process-wide counters see it
    assert (models.requests["api"], models.requests["resolvers"], models.responses_429) == (3, 1, 1)
    assert models.seconds_waited == pytest.approx(7.0)
    assert (datasets.requests["api"], datasets.responses_429, datasets.seconds_waited) == (2, 0, 0.0)
    assert lim.stats().requests["api"] == 6 and lim.stats().responses_429 == 1
