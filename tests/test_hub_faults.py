"""Seeded fault injection in the Hub emulator (``tests/hubemu/faults.py``), as the real client meets it.

What huggingface_hub 2.4.0 does with each fault, as observed here:

* 5xx: ``model_info`` (plain session) raises ``HfHubHTTPError``; a listing page (``http_backoff``)
  is retried after 1, 2, 4... s; the HEAD of ``hf_hub_download`` is made again with retries, but
  a 5xx on its GET raises (``http_get`` retries only 408/429).
* 429 with ``RateLimit: ...;r=0;t=<t>``: ``http_backoff`` sleeps t + 1 s and retries; ``model_info``
  raises, its message naming the bucket and the wait.
* a truncated JSON body: ``r.json()`` raises ``json.JSONDecodeError``; a short file body with a
  matching Content-Length fails ``http_get``'s size check (``OSError`` "Consistency check failed").
* a corrupt body: nothing checks the bytes; they are filed under the true sha256 / git oid.
* a dropped body: httpx2 raises ``RemoteProtocolError``; ``http_get`` sleeps 1 s and downloads again.
* a CDN 403 (expired URL): ``http_get`` raises; the next ``hf_hub_download`` HEADs ``/resolve/``
  again and gets a freshly signed URL.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import time
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx2
import pytest
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError
from huggingface_hub.utils import parse_ratelimit_headers

from tests.hubemu import MINILM_ID, FaultPlan, HubEmulator, Repo, build_corpus, git_blob_sha1
from tests.hubemu import cdn as cdn_module
from tests.hubemu.faults import KINDS
from tests.hubemu.fixtures import DEFAULT_CORPUS
from tests.test_hub_emulator import _public_model, _raw

Call = tuple[str, str]  # (method, absolute url)
Outcome = tuple[int, bytes] | str  # (status, body), or "dropped"


class _Sleeps:
    """Stands for ``time`` in huggingface_hub's retry loops: records each sleep and skips it."""

    def __init__(self) -> None:
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> _Sleeps:
    fake = _Sleeps()
    for module in ("huggingface_hub.utils._http", "huggingface_hub.file_download"):
        monkeypatch.setattr(importlib.import_module(module), "time", fake)
    return fake


def _public_models(emu: HubEmulator, n: int) -> list[Repo]:
    corpus = build_corpus(**DEFAULT_CORPUS)
    ids = [r.id for r in corpus if r.type == "model" and not r.private and not r.gated and r.id != MINILM_ID]
    return [emu.repo(repo_id) for repo_id in ids[:n]]


def _calls(emu: HubEmulator, n_repos: int = 3, times: int = 2) -> list[Call]:
    """API, resolve (HEAD and GET) and CDN requests, each made ``times`` times (each one its own draw)."""
    calls: list[Call] = []
    for repo in _public_models(emu, n_repos):
        calls.append(("GET", f"{emu.endpoint}/api/models/{repo.id}"))
        calls.append(("GET", f"{emu.endpoint}/api/models/{repo.id}/tree/main?recursive=true"))
        for f in repo.files:
            resolve = f"{emu.endpoint}/{repo.id}/resolve/main/{quote(f.path)}"
            calls.append(("HEAD", resolve))
            calls.append(("GET", emu.cdn_url(repo, f) if f.lfs else resolve))
    return calls * times


def _run(calls: Iterable[Call], client: httpx2.Client | None = None) -> list[Outcome]:
    if client is None:
        with httpx2.Client() as own:
            return _run(calls, own)
    outcomes: list[Outcome] = []
    for method, url in calls:
        try:
            response = client.request(method, url)
        except httpx2.RemoteProtocolError:
            outcomes.append("dropped")
        else:  # a redirect's body names its signed, clock-dependent Location: left out
            outcomes.append((response.status_code, b"" if response.is_redirect else response.content))
    return outcomes


def _run_threaded(calls: list[Call], threads: int = 4) -> None:
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(_run, [calls[i::threads] for i in range(threads)]))


def _probes(emu: HubEmulator, repo: Repo, resolve_method: str, n: int = 40) -> list[Call]:
    """``n`` distinct API GETs, each followed by a distinct resolve request."""
    api, resolve = f"{emu.endpoint}/api/models/{repo.id}", f"{emu.endpoint}/{repo.id}/resolve/main/config.json"
    return [call for i in range(n) for call in (("GET", f"{api}?probe={i}"), (resolve_method, f"{resolve}?probe={i}"))]


def _statuses(calls: list[Call]) -> list[int]:
    return [0 if isinstance(o, str) else o[0] for o in _run(calls)]  # 0: dropped


def _whole_runs(faulted: list[bool]) -> list[int]:
    """Lengths of the runs of consecutive faulted requests, but a run the sequence's end cuts."""
    runs, length = [], 0
    for flag in [*faulted, False]:
        if flag:
            length += 1
        elif length:
            runs.append(length)
            length = 0
    return runs[:-1] if faulted and faulted[-1] else runs


# -- the plan ---------------------------------------------------------------------------------
def test_fault_plan_is_frozen_and_validated() -> None:
    plan = FaultPlan(seed=1, server_error=0.5, routes=["api"])  # type: ignore[arg-type]
    assert plan.routes == ("api",) and plan.active and not FaultPlan().active
    assert not FaultPlan(server_error=1.0, max_consecutive=0).active and not FaultPlan(drop=1.0, routes=()).active
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.seed = 2  # type: ignore[misc]
    bad: list[dict[str, Any]] = [
        {"drop": 1.5}, {"slow": -0.1}, {"server_error": 0.6, "truncate": 0.6}, {"routes": ("pages",)},
        {"statuses": (404,)}, {"statuses": ()}, {"burst": 0}, {"storm": 0}, {"max_consecutive": -1},
    ]
    for fields in bad:
        with pytest.raises(ValueError):
            FaultPlan(**fields)


# -- each kind, through the real client ---------------------------------------------------------
def test_server_errors_raise_or_are_retried(hub_factory, sleeps, tmp_path) -> None:
    emu = hub_factory(faults=FaultPlan(server_error=1.0, max_consecutive=2, routes=("api",)))
    repo = _public_model(emu)
    api = HfApi(endpoint=emu.endpoint)
    for _ in range(2):
        with pytest.raises(HfHubHTTPError) as failed:
            api.model_info(repo.id)
        response = failed.value.response
        assert response.status_code in (500, 502, 503, 504)
        assert response.json() == {"error": response.headers["X-Error-Message"]} and response.headers["X-Error-Code"]
        assert response.headers["X-Request-Id"] and response.headers["X-Powered-By"] == "huggingface-moon"
        assert "ETag" not in response.headers and "X-Repo-Commit" not in response.headers
    assert api.model_info(repo.id).sha == repo.sha  # the 3rd in a row gets through

    assert len(list(api.list_models(limit=3))) == 3  # http_backoff: 5xx, 5xx, then the page
    assert sleeps.slept == [1, 2]
    assert [s >= 500 for m, t, s in emu.requests if t.startswith("/api/models?")] == [True, True, False]
    # resolve is not in the plan's routes: the download is untouched
    path = hf_hub_download(repo.id, "config.json", endpoint=emu.endpoint, cache_dir=tmp_path / "a")
    assert Path(path).read_bytes() == repo.file("config.json").data  # type: ignore[union-attr]
    assert emu.fault_counts() == {"server_error": 4} and len(emu.fault_log) == 4
    assert (emu.counts["info"], emu.counts["list"], emu.counts["resolve_get"]) == (3, 3, 1)  # exact

    # on resolve: the HEAD is made again with retries; the GET's 5xx raises; the next download works
    emu.faults = FaultPlan(server_error=1.0, max_consecutive=1, routes=("resolve",))
    emu.reset_counts()
    with pytest.raises(HfHubHTTPError) as failed:
        hf_hub_download(repo.id, "vocab.txt", endpoint=emu.endpoint, cache_dir=tmp_path / "b")
    assert failed.value.response.status_code >= 500
    path = hf_hub_download(repo.id, "vocab.txt", endpoint=emu.endpoint, cache_dir=tmp_path / "b")
    assert Path(path).read_bytes() == repo.file("vocab.txt").data  # type: ignore[union-attr]
    assert [(m, s >= 500) for m, _, s in emu.requests] == [
        ("HEAD", True), ("HEAD", False), ("GET", True), ("HEAD", True), ("HEAD", False), ("GET", False),
    ]
    assert emu.fault_counts() == {"server_error": 3}


def test_server_error_bursts_span_routes(hub_factory) -> None:
    emu = hub_factory()
    repo = _public_model(emu)
    probes = _probes(emu, repo, "HEAD")

    def faulted(plan: FaultPlan) -> list[int]:
        emu.faults = plan
        emu.reset_counts()
        return _statuses(probes)

    single = faulted(FaultPlan(seed=2, server_error=0.1))
    burst = faulted(FaultPlan(seed=2, server_error=0.1, burst=4))
    flags = [s >= 500 for s in burst]
    runs = _whole_runs(flags)
    assert runs and all(n % 4 == 0 for n in runs), runs
    assert flags.index(True) == [s >= 500 for s in single].index(True)  # the same request opens it
    assert sum(flags) > sum(s >= 500 for s in single)
    start = flags.index(True)
    outage = burst[start : start + 4]
    assert len(set(outage)) == 1  # one outage, one status...
    assert {probes[i][0] for i in range(start, start + 4)} == {"GET", "HEAD"}  # ... on API and resolve


def test_truncated_bodies(hub_factory, tmp_path) -> None:
    emu = hub_factory(faults=FaultPlan(truncate=1.0, max_consecutive=1))
    repo = _public_model(emu)
    api = HfApi(endpoint=emu.endpoint)
    short = _raw(emu, "GET", "/api/models", params={"limit": "3"})
    full = _raw(emu, "GET", "/api/models", params={"limit": "3"})  # the same request again: through
    assert short.status_code == full.status_code == 200
    assert 0 < len(short.content) < len(full.content) and full.content.startswith(short.content)
    assert short.headers["Content-Length"] == str(len(short.content))  # cut cleanly, not dropped
    assert emu.bytes_by_kind["list"] == len(short.content) + len(full.content)
    with pytest.raises(json.JSONDecodeError):
        api.model_info(repo.id)
    with pytest.raises(json.JSONDecodeError):
        list(api.list_models(limit=2))

    data = repo.file("vocab.txt").data  # type: ignore[union-attr]
    part = _raw(emu, "GET", f"/{repo.id}/resolve/main/vocab.txt", headers={"Range": "bytes=10-99"})
    kept = len(part.content)
    assert part.status_code == 206 and 0 < kept < 90 and part.content == data[10 : 10 + kept]
    assert part.headers["Content-Range"] == f"bytes 10-{9 + kept}/{len(data)}"

    with pytest.raises(OSError, match="Consistency check failed"):
        hf_hub_download(repo.id, "config.json", endpoint=emu.endpoint, cache_dir=tmp_path)
    path = hf_hub_download(repo.id, "config.json", endpoint=emu.endpoint, cache_dir=tmp_path)
    assert Path(path).read_bytes() == repo.file("config.json").data  # type: ignore[union-attr]
    assert emu.fault_counts() == {"truncate": 5}


def test_corrupt_bodies_keep_their_length_not_their_hash(hub_factory, tmp_path) -> None:
    emu = hub_factory(faults=FaultPlan(corrupt=1.0, routes=("resolve", "cdn")))
    repo = _public_model(emu)
    lfs = max((f for f in repo.files if f.lfs), key=lambda f: f.size)
    path = Path(hf_hub_download(repo.id, lfs.path, endpoint=emu.endpoint, cache_dir=tmp_path))
    got = path.read_bytes()
    assert len(got) == lfs.size and hashlib.sha256(got).hexdigest() != lfs.sha256
    assert 1 <= sum(a != b for a, b in zip(got, lfs.data)) <= 4
    assert path.resolve().name == lfs.sha256  # filed under the true sha256: the client checked nothing

    config = repo.file("config.json")
    assert config is not None
    head = _raw(emu, "HEAD", f"/{repo.id}/resolve/main/config.json")
    path = Path(hf_hub_download(repo.id, "config.json", endpoint=emu.endpoint, cache_dir=tmp_path))
    got = path.read_bytes()
    assert len(got) == config.size and git_blob_sha1(got) != git_blob_sha1(config.data)
    assert head.headers["ETag"] == f'"{git_blob_sha1(config.data)}"' == f'"{path.resolve().name}"'
    # the emulator's truth is untouched
    blob = emu.lfs_blob(lfs.sha256)
    assert blob is not None and hashlib.sha256(blob).hexdigest() == lfs.sha256
    assert emu.repo(repo.id).file("config.json") == config
    assert emu.fault_counts() == {"corrupt": 2}  # HEADs have no body to corrupt


def test_dropped_bodies(hub_factory, sleeps, tmp_path) -> None:
    plan = FaultPlan(drop=1.0, max_consecutive=1, routes=("resolve",))
    emu = hub_factory(faults=plan)
    repo = _public_model(emu)
    data = repo.file("vocab.txt").data  # type: ignore[union-attr]
    url = f"{emu.endpoint}/{repo.id}/resolve/main/vocab.txt"
    with httpx2.Client() as client:
        with pytest.raises(httpx2.RemoteProtocolError):
            client.get(url)
        assert client.get(url).content == data  # the same request again: through
    prefix = emu.bytes_by_kind["resolve_get"] - len(data)
    assert 0 < prefix < len(data)

    emu.faults = plan  # afresh
    emu.reset_counts()
    config = repo.file("config.json").data  # type: ignore[union-attr]
    path = hf_hub_download(repo.id, "config.json", endpoint=emu.endpoint, cache_dir=tmp_path)
    assert Path(path).read_bytes() == config
    assert [(m, s) for m, _, s in emu.requests] == [("HEAD", 200), ("GET", 200), ("GET", 200)]
    assert sleeps.slept == [1]  # http_get waited 1 s, then downloaded again (nothing was written)
    assert emu.fault_log == [("drop", "GET", f"/{repo.id}/resolve/main/config.json")]
    assert len(config) < emu.bytes_by_kind["resolve_get"] < 2 * len(config)


def test_slow_answers(hub_factory) -> None:
    emu = hub_factory(faults=FaultPlan(slow=1.0, slow_seconds=0.3, max_consecutive=5, routes=("api",)))
    repo = _public_model(emu)
    started = time.monotonic()
    assert HfApi(endpoint=emu.endpoint).model_info(repo.id).sha == repo.sha
    assert time.monotonic() - started >= 0.3
    with pytest.raises(httpx2.ReadTimeout):
        httpx2.get(f"{emu.endpoint}/api/models/{repo.id}", timeout=0.1)
    assert emu.fault_log == [("slow", "GET", f"/api/models/{repo.id}")] * 2


def test_rate_limit_storm(hub_factory, sleeps) -> None:
    plan = FaultPlan(rate_limit_storm=1.0, max_consecutive=2, retry_after=3, routes=("api",))
    emu = hub_factory(quotas={"api": 50}, window=60.0, faults=plan)
    repo = _public_model(emu)
    api = HfApi(endpoint=emu.endpoint)
    refused = _raw(emu, "GET", f"/api/models/{repo.id}")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "3"
    assert refused.headers["RateLimit"] == '"api";r=0;t=3'
    assert refused.headers["RateLimit-Policy"] == '"fixed window";"api";q=50;w=60'
    assert refused.headers["X-Error-Code"] == "RateLimited" and "'api' quota" in refused.json()["error"]
    info = parse_ratelimit_headers(refused.headers)
    assert info is not None
    assert (info.resource_type, info.remaining, info.reset_in_seconds, info.limit, info.window_seconds) == (
        "api", 0, 3, 50, 60,
    )
    with pytest.raises(HfHubHTTPError) as raised:  # the 2nd in a row: refused too
        api.model_info(repo.id)
    assert raised.value.response.status_code == 429 and "Retry after 3 seconds" in str(raised.value)
    assert api.model_info(repo.id).sha == repo.sha  # the 3rd gets through
    assert len(list(api.list_models(limit=2))) == 2
    assert sleeps.slept == [4.0, 4.0]  # t + 1, twice
    assert emu.counts["429"] == 4 == emu.fault_counts()["rate_limit_storm"]

    # without quotas: the Hub's anonymous quota of the bucket and the limiter's window
    emu = hub_factory(faults=FaultPlan(rate_limit_storm=1.0, routes=("resolve",)))
    head = _raw(emu, "HEAD", f"/{repo.id}/resolve/main/config.json")
    assert head.status_code == 429 and head.headers["RateLimit"] == '"resolvers";r=0;t=1'
    assert head.headers["RateLimit-Policy"] == '"fixed window";"resolvers";q=3000;w=300'
    assert _raw(emu, "GET", f"/api/models/{repo.id}").status_code == 200


def test_rate_limit_storms_last_per_bucket(hub_factory) -> None:
    emu = hub_factory(faults=FaultPlan(seed=4, rate_limit_storm=0.1, storm=3, routes=("api", "resolve")))
    repo = _public_model(emu)
    statuses = _statuses(_probes(emu, repo, "GET"))
    assert set(statuses) == {200, 429}
    for bucket in (0, 1):  # api, resolvers: each bucket's storms are 3 requests long
        flags = [s == 429 for s in statuses[bucket::2]]
        runs = _whole_runs(flags)
        assert runs and all(n % 3 == 0 for n in runs), (bucket, runs)
    assert emu.counts["429"] == statuses.count(429) == len(emu.fault_log)


def test_cdn_expiry_then_a_fresh_resolve(hub_factory, monkeypatch, tmp_path) -> None:
    emu = hub_factory(faults=FaultPlan(cdn_expiry=1.0, max_consecutive=1, routes=("cdn",)))
    repo = _public_model(emu)
    lfs = max((f for f in repo.files if f.lfs), key=lambda f: f.size)
    with pytest.raises(HfHubHTTPError) as expired:
        hf_hub_download(repo.id, lfs.path, endpoint=emu.endpoint, cache_dir=tmp_path)
    response = expired.value.response
    assert response.status_code == 403 and response.json() == {"error": "Request has expired"}
    path = hf_hub_download(repo.id, lfs.path, endpoint=emu.endpoint, cache_dir=tmp_path)
    assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == lfs.sha256
    requests = emu.requests
    assert [(m, s) for m, _, s in requests] == [("HEAD", 302), ("GET", 403), ("HEAD", 302), ("GET", 200)]
    assert all(t.startswith("/repos/") for _, t, _ in requests[1::2])
    cdn_path = requests[1][1].partition("?")[0]
    assert emu.fault_log == [("cdn_expiry", "GET", cdn_path)]

    # the same answer as a URL that really expired
    emu.faults = None
    with monkeypatch.context() as patched:
        patched.setattr(cdn_module, "time", type("Past", (), {"time": staticmethod(lambda: time.time() - 7200)}))
        stale = emu.cdn_url(emu.repo(repo.id), lfs)
    real = httpx2.get(stale)
    assert real.status_code == 403 and real.content == response.content
    assert sorted(real.headers.keys()) == sorted(response.headers.keys())
    assert {k: v for k, v in real.headers.items() if k != "date"} == {
        k: v for k, v in response.headers.items() if k != "date"
    }


# -- determinism, convergence, off -------------------------------------------------------------
def test_same_seed_same_faults_whatever_the_interleaving(hub_factory) -> None:
    plan = FaultPlan(
        seed=7, server_error=0.1, rate_limit_storm=0.1, cdn_expiry=0.1, drop=0.1, truncate=0.1, corrupt=0.1,
        slow=0.1, slow_seconds=0.01,
    )
    first, second, threaded = (hub_factory(faults=plan) for _ in range(3))
    calls = _calls(first)
    outcomes = _run(calls)
    log = first.fault_log
    assert {kind for kind, _, _ in log} == set(KINDS)  # every kind happened
    assert _run(_calls(second)) == outcomes and second.fault_log == log
    _run_threaded(_calls(threaded))
    assert Counter(threaded.fault_log) == Counter(log)
    # the counters stay exact: one request each, the 429s as sent
    counts = first.counts
    assert sum(counts.values()) - counts["429"] == len(calls) == len(first.requests)
    refused = sum(o != "dropped" and o[0] == 429 for o in outcomes)
    assert counts["429"] == refused == first.fault_counts()["rate_limit_storm"]

    first.faults = dataclasses.replace(plan, seed=8)
    first.reset_counts()
    _run(calls)
    assert first.fault_log != log and first.fault_log


def test_max_consecutive_bounds_the_faults_of_one_request(hub_factory) -> None:
    emu = hub_factory(faults=FaultPlan(server_error=1.0, max_consecutive=3))
    repo = _public_model(emu)
    statuses = [_raw(emu, "GET", f"/api/models/{repo.id}").status_code for _ in range(8)]
    assert [s >= 500 for s in statuses] == [True, True, True, False] * 2

    # every GET faults (a 5xx or a cut JSON/file body) until its 3rd try, which is whole
    calls = [call for call in _calls(emu, 2, times=1) if call[0] == "GET"]
    emu.faults = None
    clean = _run(calls)
    emu.faults = FaultPlan(seed=5, server_error=0.5, truncate=0.5, max_consecutive=2)
    emu.reset_counts()
    with httpx2.Client() as client:
        for call, expected in zip(calls, clean):
            tries = _run([call] * 3, client)
            assert tries[2] == expected and expected != "dropped" and expected[0] == 200
            assert all(t != expected for t in tries[:2]), call
    faults = emu.fault_counts()
    assert sum(faults.values()) == 2 * len(calls) and set(faults) == {"server_error", "truncate"}


def test_no_faults_by_default_or_once_turned_off(hub_factory) -> None:
    emu = hub_factory()
    calls = _calls(emu)
    clean = _run(calls)
    assert emu.faults == FaultPlan() and emu.fault_log == [] and not emu.fault_counts()
    assert all(o != "dropped" and o[0] in (200, 302) for o in clean)

    emu.faults = FaultPlan(server_error=0.4, corrupt=0.3, truncate=0.3)
    assert _run(calls) != clean and emu.fault_log
    seen = emu.fault_log
    emu.faults = FaultPlan()
    assert _run(calls) == clean and emu.fault_log == seen
    emu.faults = FaultPlan(server_error=1.0, routes=("cdn",))  # only the CDN fails
    outcomes = _run(calls)
    assert all((o == c) != url.startswith(emu.cdn_endpoint) for (_, url), o, c in zip(calls, outcomes, clean))
    emu.reset_counts()
    assert emu.fault_log == []
