"""The catalog walk (``walk.py``) at the Hub's scale: 200,000+ models, datasets and Spaces of the
emulator's ``GeneratedHub``, pages of 1,000 (the Hub's largest, the default of ``Mirror.catalog``),
through the real ``huggingface_hub`` session. What ``test_walk.py`` shows on a few pages holds on
hundreds: one request a page and none per repo, a ``kill -9`` of the CLI costs at most the page in
flight, and a refresh after 1 % of the Hub changed costs those repos' pages and ends where a new
full walk would.

One emulator and one generated Hub serve the whole module (building and walking 200k entities is
the cost: about a minute and a half a full walk on two cores); the first full walk is a module
fixture too, which the refresh then brings up to date."""

from __future__ import annotations

import datetime as dt
import math
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from huggingface_hub.utils import close_session

from hf_ipfs_scraper import Mirror, load_config
from hf_ipfs_scraper.config import Config
from hf_ipfs_scraper.errors import StoreError
from hf_ipfs_scraper.state import StateStore, WalkRow
from hf_ipfs_scraper.walk import WalkSummary
from tests.hubemu import GeneratedHub, HubEmulator
from tests.hubemu.fixtures import HfEnv

CLI = [sys.executable, "-m", "hf_ipfs_scraper.cli.main"]
TYPES = ("model", "dataset", "space")
PAGE = 1000  # the Hub's largest listing page, and walk_hub's default
SIZES = {"models": 82_000, "datasets": 72_000, "spaces": 56_000}  # before the private ones drop out
SEED = 7
SAMPLE = 300  # entities per type checked against the generator's own sha and date
# When this machine recorded a repo, not what the Hub says of it: a fresh walk differs there.
LOCAL_TIMES = frozenset({"first_seen", "updated_at", "listed_at"})


@dataclass
class Scale:
    hub: GeneratedHub
    emu: HubEmulator
    env: HfEnv

    def config(self, out: Path) -> Config:
        return load_config(env={}, overrides={"hub.endpoint": self.emu.endpoint, "output_dir": str(out)})

    def cli(self, out: Path, *args: str) -> list[str]:
        return [*CLI, "--output-dir", str(out), "catalog", *args]


@dataclass
class FirstWalk:
    out: Path
    summaries: dict[str, WalkSummary]
    requests: list[tuple[str, str, int]]
    counts: Counter[str]
    truth: dict[str, list[str]]  # the ids an anonymous listing showed, per type, when it ran


@pytest.fixture(scope="module")
def scale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scale]:
    hub = GeneratedHub(**SIZES, seed=SEED)
    # One listing ends on a full page: a walk must then ask no empty page after it.
    while short := -hub.count("dataset") % PAGE:
        hub.create("dataset", short)  # (a few of those made are private: again until it is full)
    # hf_env and hub_factory are per test; this module shares one Hub, so it makes its own of each.
    with pytest.MonkeyPatch.context() as monkeypatch, HubEmulator(generated=hub) as emu:
        env = HfEnv(monkeypatch, tmp_path_factory.mktemp("hf-home"))
        env.use(emu)
        try:
            yield Scale(hub, emu, env)
        finally:
            close_session()  # no pooled connection outlives the server


@pytest.fixture(scope="module")
def first_walk(scale: Scale, tmp_path_factory: pytest.TempPathFactory) -> FirstWalk:
    out = tmp_path_factory.mktemp("first") / "out"
    truth = {t: scale.hub.ids(t) for t in TYPES}
    scale.emu.reset_counts()
    with Mirror(scale.config(out)) as mirror:
        summaries = {s.repo_type: s for s in mirror.catalog()}  # every type, page size and all by default
    return FirstWalk(out, summaries, scale.emu.requests, scale.emu.counts, truth)


# -- helpers ---------------------------------------------------------------------------------
def _page_key(url: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A listing request as the Hub tells one page from another: path and query (cursor included),
    the same whether read from a recorded request target or from a ``Link`` URL."""
    parts = urlsplit(url)
    return parts.path, tuple(parse_qsl(parts.query, keep_blank_values=True))


def _listing(requests: list[tuple[str, str, int]], repo_type: str) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    keys = [_page_key(target) for method, target, _ in requests if method == "GET"]
    return [key for key in keys if key[0] == f"/api/{repo_type}s"]


def _ids(state: StateStore, repo_type: str) -> list[str]:
    return [i for (i,) in state.scan("SELECT id FROM entities WHERE type = ?", (repo_type,))]


def _epoch(iso: str | None) -> int:
    assert iso is not None
    return int(dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


def _latest_walk(path: Path, repo_type: str) -> WalkRow | None:
    """The newest walk in a state another process is writing (None until its schema is there)."""
    if not path.is_file():
        return None
    try:
        with StateStore(path, readonly=True) as state:
            walks = state.walks(repo_type, limit=1)
    except (StoreError, sqlite3.Error):
        return None
    return walks[0] if walks else None


def _assert_as_the_hub_says(hub: GeneratedHub, state: StateStore, repo_type: str, ids: list[str]) -> None:
    got = state.get_many(repo_type, ids)
    for repo_id in ids:
        entity, row = hub.entity(repo_type, repo_id), got[repo_id]
        assert (row.head_sha, _epoch(row.last_modified), row.likes) == (entity.sha, entity.modified, entity.likes), repo_id


def _assert_same_catalog(refreshed: Path, fresh: list[Path]) -> None:
    """Every entity row of the refreshed state equals the fresh one's (each fresh state walked some
    of the types) in every column but the local times, neither has a row the other lacks, and the
    provenance edges and warnings are the same sets: compared in SQL, seconds for 200k rows."""
    db = sqlite3.connect(f"{refreshed.resolve().as_uri()}?mode=ro", uri=True)
    try:
        for n, path in enumerate(fresh):
            db.execute(f"ATTACH DATABASE ? AS fresh{n}", (f"{path.resolve().as_uri()}?mode=ro",))
        columns = [row[1] for row in db.execute("PRAGMA main.table_info(entities)") if row[1] not in LOCAL_TIMES]
        assert {"id", "status", "head_sha", "metadata", "last_modified", "likes", "downloads"} <= set(columns)
        differ = " OR ".join(f"a.{c} IS NOT b.{c}" for c in columns)
        rows = db.execute("SELECT count(*) FROM main.entities").fetchone()[0]
        walked = matched = 0
        for n in range(len(fresh)):
            walked += db.execute(f"SELECT count(*) FROM fresh{n}.entities").fetchone()[0]
            matched += db.execute(f"SELECT count(*) FROM main.entities a JOIN fresh{n}.entities b"
                                  " USING (type, id)").fetchone()[0]
            unlike = db.execute(f"SELECT a.type, a.id FROM main.entities a JOIN fresh{n}.entities b USING (type, id)"
                                f" WHERE {differ} LIMIT 3").fetchall()
            assert not unlike, f"refreshed and fresh differ: {unlike}"
        assert rows == walked == matched, (rows, walked, matched)  # the same repos, each once
        for table in ("edges", "provenance_warnings"):
            union = " UNION ALL ".join(f"SELECT * FROM fresh{n}.{table}" for n in range(len(fresh)))
            mine = f"SELECT * FROM main.{table}"
            assert db.execute(f"SELECT count(*) FROM main.{table}").fetchone()[0] == \
                db.execute(f"SELECT count(*) FROM ({union})").fetchone()[0], table
            for a, b, where in ((mine, union, "refreshed"), (union, mine, "fresh")):
                only = db.execute(f"SELECT * FROM ({a} EXCEPT SELECT * FROM ({b})) LIMIT 3").fetchall()
                assert not only, f"{table} rows only in the {where} catalog: {only}"
    finally:
        db.close()


# -- the tests -------------------------------------------------------------------------------
def test_a_first_full_walk_asks_one_request_a_page_of_1000_and_stores_every_repo_once(scale, first_walk) -> None:
    truth = first_walk.truth
    n = {t: len(truth[t]) for t in TYPES}
    assert sum(n.values()) >= 200_000 and n["dataset"] % PAGE == 0  # Hub-like, and one last page full
    pages = {t: math.ceil(n[t] / PAGE) for t in TYPES}  # the last page's listing is the last request
    for t in TYPES:
        s = first_walk.summaries[t]
        assert (s.kind, s.status, s.resumed, s.error) == ("full", "completed", False, None)
        assert (s.pages, s.listed, s.changed, s.gone, s.renamed) == (pages[t], n[t], n[t], [], [])
        assert s.requests.get("api") == pages[t]
        listed = _listing(first_walk.requests, t)
        assert len(listed) == len(set(listed)) == pages[t]  # each page asked once
        assert dict(listed[0][1])["limit"] == str(PAGE)
    assert first_walk.counts["list"] == len(first_walk.requests) == sum(pages.values())  # nothing else at all:
    assert first_walk.counts["info"] == first_walk.counts["tree"] == 0  # no request per repo
    assert {status for _, _, status in first_walk.requests} == {200}
    rng = random.Random(SEED)
    with StateStore(first_walk.out / "state.sqlite", readonly=True) as state:
        for t in TYPES:
            walk = state.last_walk(t, "full")
            assert walk is not None and (walk.pages, walk.listed, walk.changed, walk.next_url) == (pages[t], n[t], n[t], None)
            ids = _ids(state, t)
            assert len(ids) == len(set(ids)) == n[t] and set(ids) == set(truth[t])
            assert state.counts(t) == Counter(listed=n[t])
            _assert_as_the_hub_says(scale.hub, state, t, rng.sample(ids, SAMPLE))


def test_a_walk_killed_with_sigkill_resumes_and_asks_no_page_twice_but_the_ones_in_flight(scale, tmp_path) -> None:
    hub, emu = scale.hub, scale.emu
    out, n = tmp_path / "out", hub.count("model")
    pages = math.ceil(n / PAGE)
    db = out / "state.sqlite"
    emu.reset_counts()
    with open(tmp_path / "killed.err", "wb") as err:
        proc = subprocess.Popen(scale.cli(out, "--types", "models"), env=scale.env.subprocess_env(emu),
                                stdout=subprocess.DEVNULL, stderr=err)
        try:
            deadline = time.monotonic() + 300
            while (w := _latest_walk(db, "model")) is None or w.pages < pages // 3:
                assert proc.poll() is None, f"the walk ended before it was killed: {(tmp_path / 'killed.err').read_text()}"
                assert time.monotonic() < deadline, "no pages written in time"
                time.sleep(0.05)
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    # The page in flight is recorded when the emulator has made it, which may be after the kill:
    # wait for the server to settle (nothing else asks it meanwhile), then take the killed run's.
    killed_requests, deadline = emu.requests, time.monotonic() + 30
    while time.monotonic() < deadline:
        time.sleep(1.0)
        if len(now := emu.requests) == len(killed_requests):
            break
        killed_requests = now
    with StateStore(db, readonly=True) as state:
        killed = state.unfinished_walk("model")
        assert killed is not None and killed.kind == "full" and killed.status == "running"  # as the kill left it
        assert 0 < killed.pages < pages and killed.next_url is not None
        assert killed.listed == killed.pages * PAGE == len(_ids(state, "model"))  # whole pages only
    before = _listing(killed_requests, "model")
    # What it wrote, and the pages in flight: perhaps the one being written, perhaps the one read ahead.
    in_flight = before[killed.pages:]
    assert len(in_flight) <= 2 and (not in_flight or in_flight[0] == _page_key(killed.next_url))

    done = subprocess.run(scale.cli(out, "--types", "models"), env=scale.env.subprocess_env(emu),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("catalog models: full walk (resumed) completed in "), done.stdout
    after = _listing(emu.requests[len(killed_requests):], "model")
    assert after[0] == _page_key(killed.next_url)  # it resumed at the recorded cursor
    asked = Counter(before + after)
    again = [key for key, times in asked.items() if times > 1]
    assert len(asked) == pages and len(before) + len(after) == pages + len(again)
    assert again == in_flight, (again, in_flight)  # nothing twice but the pages in flight
    counts = emu.counts
    assert counts["list"] == len(emu.requests) == len(before) + len(after) and counts["info"] == counts["tree"] == 0
    with StateStore(db, readonly=True) as state:
        walk = state.last_walk("model", "full")
        assert walk is not None and walk.id == killed.id and state.unfinished_walk("model") is None
        assert (walk.pages, walk.listed, walk.changed, walk.next_url) == (pages, n, n, None)  # each page once
        ids = _ids(state, "model")
        assert len(ids) == len(set(ids)) == n and set(ids) == set(hub.ids("model"))
        assert state.counts("model") == Counter(listed=n)
        _assert_as_the_hub_says(hub, state, "model", random.Random(SEED).sample(ids, SAMPLE))


def test_a_refresh_after_1_percent_changed_costs_their_pages_and_equals_a_fresh_full_walk(
    scale, first_walk, tmp_path
) -> None:
    hub, emu = scale.hub, scale.emu
    since = hub.now
    # A touch is a new commit: new sha and lastModified, and new likes and downloads with it. No
    # bump_counters here: counters moving without a commit keep lastModified, which is all a
    # refresh can see, so only a full walk would find them.
    touched = hub.touch(0.01, seed=1)
    changed = {t: hub.changed_since(t, since) for t in TYPES}  # the touched ones a listing shows
    for t in TYPES:
        assert changed[t] <= set(touched[t]) and len(changed[t]) >= 0.009 * len(first_walk.truth[t])
    with StateStore(first_walk.out / "state.sqlite", readonly=True) as state:
        old_sha = {t: {i: e.head_sha for i, e in state.get_many(t, changed[t]).items()} for t in TYPES}
    assert all(len(old_sha[t]) == len(changed[t]) for t in TYPES)

    emu.reset_counts()
    with Mirror(scale.config(first_walk.out)) as mirror:
        refresh = {s.repo_type: s for s in mirror.catalog()}
    # Newest first, it stops at the first page with nothing changed: the changed repos' pages + 1.
    cost = {t: math.ceil(len(changed[t]) / PAGE) + 1 for t in TYPES}
    for t in TYPES:
        s = refresh[t]
        assert (s.kind, s.status, s.changed, s.pages, s.gone) == ("refresh", "completed", len(changed[t]), cost[t], [])
        assert len(_listing(emu.requests, t)) == cost[t] <= 5 * len(changed[t]) / PAGE
    assert emu.counts["list"] == len(emu.requests) == sum(cost.values())  # and no request per repo
    with StateStore(first_walk.out / "state.sqlite", readonly=True) as state:
        for t in TYPES:
            assert state.counts(t) == Counter(listed=len(first_walk.truth[t]))  # none added, none lost
            now = state.get_many(t, changed[t])
            assert all(now[i].head_sha != old_sha[t][i] for i in changed[t])
            _assert_as_the_hub_says(hub, state, t, sorted(changed[t]))

    # The fresh full walk: the CLI's, models in one process and the rest in another at the same
    # time (two cores: half the wall time of one process walking all three).
    env = scale.env.subprocess_env(emu)
    halves = {"models": tmp_path / "fresh-models", "datasets,spaces": tmp_path / "fresh-rest"}
    procs = {types: subprocess.Popen(scale.cli(out, "--types", types), env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True) for types, out in halves.items()}
    for types, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=600)
        assert proc.returncode == 0, stderr
        lines = stdout.splitlines()
        assert len(lines) == len(types.split(",")) and all(" full walk completed in " in line for line in lines), stdout
    _assert_same_catalog(first_walk.out / "state.sqlite", [out / "state.sqlite" for out in halves.values()])
