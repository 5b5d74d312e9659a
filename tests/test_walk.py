"""The whole-Hub catalog walk (``walk.py``, ``hf-ipfs-scraper catalog``) against the emulator's
listings and cursors, through the real ``huggingface_hub`` session: request counts, resume after a
kill, cheap refreshes, gone and renamed repos, and listed repos becoming mirror candidates."""

from __future__ import annotations

import math
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from hf_ipfs_scraper import Mirror, load_config
from hf_ipfs_scraper.config import Config
from hf_ipfs_scraper.state import StateStore
from hf_ipfs_scraper.walk import WalkSummary, walk_hub
from tests.hubemu import HubEmulator, build_corpus

CLI = [sys.executable, "-m", "hf_ipfs_scraper.cli.main"]
PAGE = 5
CORPUS = build_corpus(n_models=22, n_datasets=0, n_spaces=0, with_real_minilm=False)
PUBLIC = sorted(r.id for r in CORPUS if r.type == "model" and not r.private)


@pytest.fixture
def emu(hf_env, hub_factory) -> HubEmulator:
    return hf_env.use(hub_factory(build_corpus(n_models=22, n_datasets=0, n_spaces=0, with_real_minilm=False)))


@pytest.fixture
def config(emu, tmp_path) -> Config:
    return load_config(env={}, overrides={"hub.endpoint": emu.endpoint, "output_dir": str(tmp_path / "out")})


def _walk(mirror: Mirror, *, full: bool = False) -> WalkSummary:
    """``Mirror.catalog`` of the models, with pages of ``PAGE``."""
    return walk_hub("model", state=mirror.state, client=mirror.client, limiter=mirror.limiter,
                    provenance=mirror.provenance, search=mirror.search, readme=mirror._readme, full=full,
                    page_size=PAGE)


def _listed(config: Config) -> dict[str, tuple[str, str | None, float | None]]:
    with StateStore(config.output_dir / "state.sqlite") as state:
        return {e.id: (e.status, e.head_sha, e.gone_at) for e in state.iter_entities("model")}


def test_a_full_walk_lists_everything_once_in_one_request_a_page(emu, config) -> None:
    emu.reset_counts()
    with Mirror(config) as mirror:
        summary = _walk(mirror)
    pages = math.ceil(len(PUBLIC) / PAGE)
    assert (summary.kind, summary.status, summary.pages, summary.listed) == ("full", "completed", pages, len(PUBLIC))
    assert emu.counts["list"] == pages and summary.requests.get("api") == pages
    assert emu.counts["info"] == 0 and emu.counts["tree"] == 0  # metadata only: no per-repo request
    listed = _listed(config)
    assert sorted(listed) == PUBLIC and {s for s, _, _ in listed.values()} == {"listed"}
    by_id = {r.id: r for r in CORPUS}
    assert all(sha == by_id[i].sha for i, (_, sha, _) in listed.items())


def _read_ahead_done() -> None:
    """Wait for a killed walk's read-ahead thread to end (its request in flight reaches the
    emulator or fails)."""
    for thread in threading.enumerate():
        if thread.name.startswith("hf-ipfs-catalog-read-ahead"):
            thread.join(timeout=30)


def test_a_killed_walk_resumes_at_its_page_and_asks_only_the_ones_in_flight_again(emu, config, monkeypatch) -> None:
    pages = math.ceil(len(PUBLIC) / PAGE)
    with Mirror(config) as mirror:
        real, calls = mirror.state.walk_page, []

        def dies_at_the_third(*args, **kwargs):  # type: ignore[no-untyped-def]
            calls.append(1)
            if len(calls) == 3:
                raise KeyboardInterrupt  # the page was fetched, not written
            return real(*args, **kwargs)

        monkeypatch.setattr(mirror.state, "walk_page", dies_at_the_third)
        emu.reset_counts()
        with pytest.raises(KeyboardInterrupt):
            _walk(mirror)
        monkeypatch.undo()
        _read_ahead_done()
        killed = emu.counts["list"]
        assert killed in (3, 4)  # two written, the third being written, perhaps the fourth read ahead
        assert len(_listed(config)) == 2 * PAGE
        resumed = _walk(mirror)
    assert resumed.resumed and resumed.status == "completed" and resumed.pages == pages - 2
    assert emu.counts["list"] == pages + killed - 2  # every page once; again only the ones in flight
    assert sorted(_listed(config)) == PUBLIC


def test_a_refresh_costs_the_changed_pages_and_equals_a_new_full_walk(emu, config, tmp_path) -> None:
    with Mirror(config) as mirror:
        _walk(mirror)
        changed = PUBLIC[:2]
        for repo_id in changed:
            emu.update_file(repo_id, "notes.txt", b"a new revision\n")
        emu.reset_counts()
        assert mirror.search is not None
        upsert, writers = mirror.search.upsert, []
        mirror.search.upsert = lambda docs: writers.append(mirror.search.writer_pid) or upsert(docs)  # type: ignore[method-assign,union-attr]
        refresh = _walk(mirror)
    assert refresh.kind == "refresh" and refresh.changed == 2
    assert writers == [None]  # a refresh's few documents are not worth a process
    assert emu.counts["list"] == 2  # the newest page, then one all unchanged: stop
    fresh = load_config(env={}, overrides={"hub.endpoint": emu.endpoint, "output_dir": str(tmp_path / "fresh")})
    with Mirror(fresh) as mirror:
        _walk(mirror)
    assert _listed(config) == _listed(fresh)


def test_a_full_walk_marks_what_is_gone_and_records_renames(emu, config) -> None:
    removed, renamed = PUBLIC[3], PUBLIC[4]
    with Mirror(config) as mirror:
        _walk(mirror)
        emu.remove_repo(removed)
        emu.rename_repo(renamed, "newowner/renamed-model")
        again = _walk(mirror, full=True)
        assert again.kind == "full" and sorted(again.gone) == sorted([removed, renamed])
        assert again.renamed == [(renamed, "newowner/renamed-model")]
        moved = mirror.state.get("model", renamed)
        assert moved is not None and moved.renamed_to == "newowner/renamed-model" and moved.gone_at
    listed = _listed(config)
    assert listed[removed][2] is not None  # gone, with the date; never deleted
    assert listed["newowner/renamed-model"][0] == "listed" and listed["newowner/renamed-model"][2] is None


def test_a_listed_repo_that_trends_is_mirrored_and_the_rest_stay_metadata(emu, config, hf_env) -> None:
    with Mirror(config) as mirror:
        _walk(mirror)
        summary = mirror.scrape_models(limit=3)
        assert summary.mirrored + summary.skipped == 3
        counts = mirror.state.counts("model")
    assert counts["listed"] == len(PUBLIC) - 3 and counts["done"] == summary.mirrored
    result = subprocess.run([*CLI, "--output-dir", str(config.output_dir), "catalog", "--types", "models"],
                            env=hf_env.subprocess_env(emu), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("catalog models: refresh walk completed in ")
    status = subprocess.run([*CLI, "--output-dir", str(config.output_dir), "status"],
                            env=hf_env.subprocess_env(emu), capture_output=True, text=True, timeout=60)
    assert f"listed {len(PUBLIC) - 3}" in status.stdout and "catalog walk 2 models refresh completed" in status.stdout


def test_a_family_tree_from_the_catalog_holds_the_derivatives_that_never_trend(hf_env, hub_factory, tmp_path) -> None:
    from tests.hubemu import GeneratedHub

    hub = GeneratedHub(models=3000, seed=3)
    emu = hf_env.use(hub_factory((), generated=hub))
    base = "meta-llama/Llama-3.1-8B-Instruct"
    truth = {i for ids in hub.derivatives(base).values() for i in ids}
    assert len(truth) > 50
    config = load_config(env={}, overrides={"hub.endpoint": emu.endpoint, "output_dir": str(tmp_path / "out")})
    with Mirror(config) as mirror:
        mirror.scrape_models(limit=3)  # the top trending, mirrored
        summary = walk_hub("model", state=mirror.state, client=mirror.client, limiter=mirror.limiter,
                           provenance=mirror.provenance)
        assert summary.listed == len(hub.ids("model")) and summary.pages == math.ceil(summary.listed / 1000)
        children = {key.split(":", 1)[1] for key, _relation in mirror.provenance.children(f"model:{base}")}
        mirrored = {e.id for e in mirror.state.iter_entities("model", status="done")}
    assert truth <= children  # every derivative the generator made, from the listing's fields alone
    assert len(children - mirrored) >= len(truth) - 3  # all but at most the mirrored few never trended here


@pytest.fixture
def three_types(hf_env, hub_factory, tmp_path, monkeypatch) -> tuple[HubEmulator, Config]:
    """An emulator with every type, answering each request after 30 ms, and ``Mirror.catalog``
    walking it in pages of ``PAGE``."""
    import hf_ipfs_scraper.mirror as mirror_module

    corpus = build_corpus(n_models=15, n_datasets=15, n_spaces=15, with_real_minilm=False)
    emu = hf_env.use(hub_factory(corpus, latency=0.03))
    real = mirror_module.walk_hub
    monkeypatch.setattr(mirror_module, "walk_hub", lambda t, **kw: real(t, **kw, page_size=PAGE))
    return emu, load_config(env={}, overrides={"hub.endpoint": emu.endpoint, "output_dir": str(tmp_path / "out")})


def _all_listed(config: Config) -> dict[str, set[str]]:
    with StateStore(config.output_dir / "state.sqlite") as state:
        return {t: {e.id for e in state.iter_entities(t)} for t in ("model", "dataset", "space")}


def test_the_catalog_walks_the_types_at_once(three_types) -> None:
    emu, config = three_types
    with Mirror(config) as mirror:
        assert mirror.search is not None
        written: list[str] = []
        writers: list[int | None] = []
        real, upsert = mirror.state.walk_page, mirror.search.upsert
        mirror.state.walk_page = lambda walk, *a, **kw: written.append(walk.type) or real(walk, *a, **kw)  # type: ignore[method-assign]
        mirror.search.upsert = lambda docs: writers.append(mirror.search.writer_pid) or upsert(docs)  # type: ignore[method-assign,union-attr]
        summaries = mirror.catalog()
        assert mirror.search.writer_pid is None  # the search writer is this process's again
        # each type's documents went in through a writer process (the walks' blocks share one while
        # they overlap: test_search_writer.py); this process writes again after
        assert len(writers) == 3 and None not in writers
        assert mirror.search.count() == sum(s.listed for s in summaries)
    assert [s.repo_type for s in summaries] == ["model", "dataset", "space"]  # in the order asked
    assert all(s.status == "completed" and s.pages >= 3 for s in summaries)
    last_model = max(i for i, t in enumerate(written) if t == "model")
    assert all(written.index(t) < last_model for t in ("dataset", "space"))  # not one type after another
    assert emu.counts["list"] == sum(s.pages for s in summaries)  # each page once, read-ahead and all


def test_ctrl_c_during_the_catalog_stops_every_type_resumably(three_types, tmp_path, monkeypatch) -> None:
    import hf_ipfs_scraper.mirror as mirror_module

    emu, config = three_types
    stops: list[threading.Event] = []
    walk_hub = mirror_module.walk_hub
    monkeypatch.setattr(mirror_module, "walk_hub", lambda t, **kw: stops.append(kw["stop"]) or walk_hub(t, **kw))
    with Mirror(config) as mirror:
        real, calls = mirror.state.walk_page, []

        def ctrl_c_at_the_second_dataset_page(walk, *args, **kwargs):  # type: ignore[no-untyped-def]
            calls.append(walk.type)
            if walk.type == "dataset" and calls.count("dataset") == 2:
                raise KeyboardInterrupt  # in the datasets' thread: the other walks must stop too
            if walk.type != "dataset" and calls.count(walk.type) == 1:
                # Their first page waits for the catalog's stop, or a three-page walk could end
                # before the datasets' second page (a race this test once lost under load).
                assert stops[0].wait(10), "Ctrl-C in one walk did not set the catalog's stop"
            return real(walk, *args, **kwargs)

        mirror.state.walk_page = ctrl_c_at_the_second_dataset_page  # type: ignore[method-assign]
        with pytest.raises(KeyboardInterrupt):
            mirror.catalog()
        mirror.state.walk_page = real  # type: ignore[method-assign]
        stopped = {t: mirror.state.unfinished_walk(t) for t in ("model", "dataset", "space")}
        assert all(w is not None and w.status == "interrupted" for w in stopped.values()), stopped
        assert {t: w.pages for t, w in stopped.items() if w is not None}["dataset"] == 1
        resumed = mirror.catalog()
    assert all(s.resumed and s.status == "completed" for s in resumed)
    fresh = load_config(env={}, overrides={"hub.endpoint": emu.endpoint, "output_dir": str(tmp_path / "fresh")})
    with Mirror(fresh) as mirror:
        mirror.catalog()
    assert _all_listed(config) == _all_listed(fresh)


def test_the_walk_indexes_its_pages_for_search_while_it_goes_on(emu, config, monkeypatch) -> None:
    import time

    import hf_ipfs_scraper.walk as walk_module

    monkeypatch.setattr(walk_module, "_BATCH", 2 * PAGE)  # a commit every two pages
    with Mirror(config) as mirror:
        assert mirror.search is not None
        real, seen = mirror.state.walk_page, []

        def count_at_the_fourth(*args, **kwargs):  # type: ignore[no-untyped-def]
            if len(seen) == 3:  # three written: the first two are committed, or soon will be
                deadline = time.monotonic() + 10
                while mirror.search.count() < 2 * PAGE and time.monotonic() < deadline:
                    time.sleep(0.01)
                seen.append(mirror.search.count())
            else:
                seen.append(-1)
            return real(*args, **kwargs)

        mirror.state.walk_page = count_at_the_fourth  # type: ignore[method-assign]
        summary = _walk(mirror)
        assert seen[3] >= 2 * PAGE  # in the index before the walk ended
        assert summary.indexed == summary.listed == len(PUBLIC) == mirror.search.count()


def test_a_search_index_that_cannot_take_the_documents_stops_the_walk_recorded(emu, config, monkeypatch) -> None:
    import errno

    import hf_ipfs_scraper.walk as walk_module

    monkeypatch.setattr(walk_module, "_BATCH", PAGE)
    with Mirror(config) as mirror:
        assert mirror.search is not None

        def full_disk(docs):  # type: ignore[no-untyped-def]
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(mirror.search, "upsert", full_disk)
        with pytest.raises(OSError, match="No space left"):
            _walk(mirror)
        walks = mirror.state.walks("model")
    assert walks[0].status in ("failed", "completed") and walks[0].ended_at is not None  # recorded, not left running
