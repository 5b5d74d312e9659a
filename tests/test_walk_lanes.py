"""A full catalog walk from both ends of the creation-date order (``walk._both_ends``): the lanes
meet with every repo stored once and a page or two of overlap, a kill resumes both cursors, a Hub
that ignores the order asked for degrades to one lane, and a walk killed after its last page asks
nothing again. ``_BACK_LANE_AFTER`` is made small so a listing of a dozen pages has two lanes."""

from __future__ import annotations

import math
import threading
from urllib.parse import urlsplit

import pytest

from hf_ipfs_scraper import Mirror, walk
from hf_ipfs_scraper.config import Config
from hf_ipfs_scraper.scrapers import SCRAPERS
from hf_ipfs_scraper.state import StateStore
from hf_ipfs_scraper.walk import WalkSummary, walk_hub
from tests.hubemu import HubEmulator, build_corpus
from tests.test_walk import config  # noqa: F401 - the fixture, over this module's emu

PAGE = 5
CORPUS = build_corpus(n_models=64, n_datasets=0, n_spaces=0, with_real_minilm=False)
PUBLIC = sorted(r.id for r in CORPUS if r.type == "model" and not r.private)
PAGES = math.ceil(len(PUBLIC) / PAGE)


@pytest.fixture
def emu(hf_env, hub_factory) -> HubEmulator:
    return hf_env.use(hub_factory(build_corpus(n_models=64, n_datasets=0, n_spaces=0, with_real_minilm=False)))


@pytest.fixture(autouse=True)
def _short_front_lane(monkeypatch) -> None:
    monkeypatch.setattr(walk, "_BACK_LANE_AFTER", 3)


def _walk(mirror: Mirror, *, full: bool = False) -> WalkSummary:
    return walk_hub("model", state=mirror.state, client=mirror.client, limiter=mirror.limiter,
                    provenance=mirror.provenance, search=None, readme=mirror._readme, full=full, page_size=PAGE)


def _stored(config: Config) -> list[str]:
    with StateStore(config.output_dir / "state.sqlite") as state:
        return sorted(e.id for e in state.iter_entities("model"))


def _lists(emu: HubEmulator) -> tuple[int, int]:
    """Listing requests from the oldest end and from the newest."""
    targets = [t for m, t, _ in emu.requests if m == "GET" and t.startswith("/api/models?")]
    back = sum("direction=-1" in t for t in targets)
    return len(targets) - back, back


def _lanes_done() -> None:
    for thread in threading.enumerate():
        if thread.name.startswith(("hf-ipfs-catalog-read-ahead", "hf-ipfs-catalog-back-lane")):
            thread.join(timeout=30)


def test_the_lanes_meet_with_every_repo_stored_once_and_a_few_pages_of_overlap(emu, config) -> None:
    emu.reset_counts()
    with Mirror(config) as mirror:
        summary = _walk(mirror)
        row = mirror.state.last_walk("model", "full")
    front, back = _lists(emu)
    assert summary.status == "completed" and summary.gone == []
    assert front >= 3 and back >= 1  # both ends were walked
    print("REQ", front, back, PAGES)
    # where they meet, at most one page both lanes fetched: the back lane stops short of the front
    # by the pages' spans of dates, which a page of 5 estimates roughly (one of 1000, closely)
    assert PAGES <= front + back <= PAGES + 1
    assert summary.listed >= len(PUBLIC) and _stored(config) == PUBLIC  # every repo, each once
    assert row is not None and row.ordered and row.covered and row.front_key > row.back_key  # crossed


def _target(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_a_kill_during_both_lanes_resumes_each_at_its_own_page(emu, config, monkeypatch) -> None:
    with Mirror(config) as mirror:
        real, back_wrote, front_calls = mirror.state.walk_page, threading.Event(), []

        def ctrl_c_once_both_lanes_wrote(*args, **kwargs):  # type: ignore[no-untyped-def]
            if kwargs.get("back"):
                result = real(*args, **kwargs)
                back_wrote.set()
                return result
            front_calls.append(1)
            if len(front_calls) > walk._BACK_LANE_AFTER and back_wrote.wait(timeout=30):
                raise KeyboardInterrupt  # in the walk's thread, as a Ctrl-C is
            return real(*args, **kwargs)

        monkeypatch.setattr(mirror.state, "walk_page", ctrl_c_once_both_lanes_wrote)
        emu.reset_counts()
        with pytest.raises(KeyboardInterrupt):
            _walk(mirror)
        monkeypatch.undo()
        _lanes_done()
        killed = sum(_lists(emu))
        stopped = mirror.state.unfinished_walk("model")
        assert stopped is not None and stopped.next_url and stopped.back_url  # both lanes had begun
        emu.reset_counts()
        resumed = _walk(mirror)
    assert resumed.resumed and resumed.status == "completed" and resumed.gone == []
    assert _stored(config) == PUBLIC
    listed = [t for m, t, _ in emu.requests if m == "GET" and t.startswith("/api/models?")]
    fronts = [t for t in listed if "direction=-1" not in t]
    backs = [t for t in listed if "direction=-1" in t]
    assert fronts[0] == _target(stopped.next_url) and backs[0] == _target(stopped.back_url)  # not from the ends
    in_flight = 2 * 2  # per lane: the page being written and the one read ahead
    assert killed + len(listed) <= PAGES + in_flight + 1  # + one where the lanes meet


def test_a_hub_that_ignores_ascending_order_is_walked_from_one_end(emu, config, caplog) -> None:
    emu.ascending_sorts = frozenset()  # every listing newest first, whatever the direction
    emu.reset_counts()
    with Mirror(config) as mirror:
        summary = _walk(mirror)
        row = mirror.state.last_walk("model", "full")
    assert summary.status == "completed" and _stored(config) == PUBLIC and summary.gone == []
    assert _lists(emu) == (PAGES, 0)  # one lane to the listing's end, no page twice
    assert row is not None and not row.ordered  # a resume would go on as one chain
    assert "not in creation order" in caplog.text


def test_a_walk_killed_after_its_last_page_asks_no_page_again(emu, config, monkeypatch) -> None:
    with Mirror(config) as mirror:
        real_finish = mirror.state.finish_walk

        def dies_finishing(walk_id, status, *args, **kwargs):  # type: ignore[no-untyped-def]
            if status == "completed":
                raise KeyboardInterrupt  # every page written, the walk's end not
            return real_finish(walk_id, status, *args, **kwargs)

        monkeypatch.setattr(mirror.state, "finish_walk", dies_finishing)
        with pytest.raises(KeyboardInterrupt):
            _walk(mirror)
        monkeypatch.undo()
        _lanes_done()
        emu.reset_counts()
        resumed = _walk(mirror)
    assert resumed.resumed and resumed.status == "completed" and resumed.gone == []
    assert sum(_lists(emu)) == 0


def test_a_walk_begun_before_lanes_resumes_as_one_chain(emu, config) -> None:
    """A walk recorded by schema 4 (no lanes) and killed mid-way: migration 5 leaves it unordered,
    and it resumes at its cursor, one page at a time to the end."""
    with Mirror(config) as mirror:
        legacy = mirror.state.start_walk("model", "full")  # ordered=False, as migration 5 leaves old rows
        pages = mirror.client.listing_pages("model", expand=SCRAPERS["model"].expand,
                                            record=SCRAPERS["model"].record, page_size=PAGE)
        first = next(pages)
        mirror.state.walk_page(legacy, [(r.id, r.sha, r.metadata()) for r in first.records], first.next_url)
        pages.close()
        emu.reset_counts()
        resumed = _walk(mirror)
    assert resumed.resumed and resumed.status == "completed" and _stored(config) == PUBLIC
    assert _lists(emu) == (PAGES - 1, 0)
