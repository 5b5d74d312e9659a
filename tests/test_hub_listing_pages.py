"""``HubClient.listing_pages``: a whole listing a page (one request) at a time, each page with its
cursor, so a walk of the whole Hub can resume where it stopped — through the real client's session,
against the emulator's keyset cursors."""

from __future__ import annotations

import pytest

from hf_ipfs_scraper.errors import HubError
from hf_ipfs_scraper.hub.client import HubClient
from hf_ipfs_scraper.records import DatasetRecord, ModelRecord
from hf_ipfs_scraper.scrapers.datasets import DatasetsScraper
from hf_ipfs_scraper.scrapers.models import ModelsScraper
from tests.hubemu import HubEmulator, build_corpus


CORPUS = build_corpus(n_models=12, n_datasets=3, n_spaces=0, with_real_minilm=False)
MODELS = [r for r in CORPUS if r.type == "model" and not r.private]


@pytest.fixture
def emu(hf_env, hub_factory) -> HubEmulator:
    return hf_env.use(hub_factory(build_corpus(n_models=12, n_datasets=3, n_spaces=0, with_real_minilm=False)))


def _client(emu: HubEmulator) -> HubClient:
    return HubClient(emu.endpoint)


def test_pages_chain_by_cursor_and_cover_the_listing_once(emu) -> None:
    emu.reset_counts()
    pages = list(_client(emu).listing_pages("model", expand=ModelsScraper.expand, record=ModelRecord, page_size=5))
    n = len(MODELS)  # the public ones: a private repo is not listed to an anonymous client
    assert n > 10 and [len(p.records) for p in pages] == [5, 5, n - 10]
    assert [p.next_url is None for p in pages] == [False, False, True]
    ids = [r.id for p in pages for r in p.records]
    assert sorted(ids) == sorted(r.id for r in MODELS) and len(set(ids)) == len(ids)
    assert emu.counts["list"] == 3
    first = pages[0].records[0]
    assert first.sha and first.likes is not None and first.downloads is not None  # the expanded fields


def test_a_walk_resumes_at_the_recorded_cursor_without_asking_a_page_twice(emu) -> None:
    client = _client(emu)
    walk = client.listing_pages("model", expand=ModelsScraper.expand, record=ModelRecord, page_size=5,
                                sort="lastModified", descending=True)
    first = next(walk)
    walk.close()  # the process dies here, the cursor recorded
    emu.reset_counts()
    rest = list(client.listing_pages("model", expand=ModelsScraper.expand, record=ModelRecord,
                                     resume_url=first.next_url))
    assert emu.counts["list"] == 2
    order = [r.id for r in first.records] + [r.id for p in rest for r in p.records]
    newest_first = sorted(MODELS, key=lambda r: (-r.last_modified.timestamp(), r.id))
    assert order == [r.id for r in newest_first]


def test_datasets_list_too_and_a_refused_listing_is_a_hub_error(emu) -> None:
    pages = list(_client(emu).listing_pages("dataset", expand=DatasetsScraper.expand, record=DatasetRecord))
    assert sum(len(p.records) for p in pages) == 3 and len(pages) == 1
    with pytest.raises(HubError, match="listing models failed"):
        next(_client(emu).listing_pages("model", expand=["not-a-field"], record=ModelRecord))
