"""``RepoRecord.from_listing``: a listing entry read with the card data and dates taken from the JSON
(the catalog walk's parsing, a million entries) must give exactly the record huggingface_hub's info
classes give — on the generated Hub's listings of all three types, on recorded Hub answers, and on
odd entries made up by hypothesis."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from huggingface_hub import DatasetInfo, ModelInfo, SpaceInfo

from hf_ipfs_scraper.records import RECORD_TYPES, RepoRecord
from hf_ipfs_scraper.scrapers import SCRAPERS
from tests.hubemu import GeneratedHub, HubEmulator
from tests.hubemu.sources import SHARED_DATA
from tests.test_cards import _hypothesis

INFO = {"model": ModelInfo, "dataset": DatasetInfo, "space": SpaceInfo}


def _same(repo_type: str, item: dict[str, Any]) -> RepoRecord:
    record = RECORD_TYPES[repo_type]
    fast = record.from_listing(json.loads(json.dumps(item)), INFO[repo_type])
    slow = record.from_api(INFO[repo_type](**json.loads(json.dumps(item))))
    assert fast == slow and fast.metadata() == slow.metadata() and fast.card == slow.card, item.get("id")
    return fast


@pytest.mark.parametrize("repo_type", ["model", "dataset", "space"])
def test_generated_listings_read_the_same_both_ways(repo_type: str) -> None:
    hub = GeneratedHub(models=1500, datasets=1500, spaces=1500, seed=3)
    with HubEmulator(generated=hub) as emu:
        params = [("limit", "1000"), *(("expand", e) for e in SCRAPERS[repo_type].expand)]
        items = httpx2.get(f"{emu.endpoint}/api/{repo_type}s", params=params).json()
    assert len(items) == 1000
    records = [_same(repo_type, item) for item in items]
    assert sum(r.card_data is not None for r in records) > 100  # the cards were there to compare
    assert all(r.created_at and r.last_modified for r in records)


def test_recorded_hub_answers_read_the_same_both_ways() -> None:
    folder = SHARED_DATA / "hub_api"
    if not folder.is_dir():
        pytest.skip(f"recorded Hub answers not found: {folder} (the shared test data)")
    seen = 0
    for path in sorted(folder.glob("GET_api__*s__*.json")):
        if path.name.endswith(".headers.json"):
            continue
        body = json.loads(path.read_text())
        repo_type = path.name.split("__")[1][:-1]
        if repo_type in INFO and isinstance(body, dict) and "id" in body:
            _same(repo_type, body)
            seen += 1
    assert seen >= 4  # the four recorded model infos at least (one with a model-index)


def test_odd_entries_read_the_same_both_ways() -> None:
    hypothesis, st = _hypothesis()
    dates = st.sampled_from(["2024-07-18T08:56:00.000Z", "2024-07-18T08:56:00Z", "2022-08-19T07:19:38.123456789Z",
                             "2024-02-30T00:00:00.000Z", "2024-07-18T08:56:00.5Z", "2024-07-18 08:56:00Z", "", None])
    scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=6)
    values = st.recursive(scalars, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(
        st.text(max_size=4), kids, max_size=3), max_leaves=6)
    keys = st.sampled_from(["license", "language", "tags", "base_model", "datasets", "model-index", "model_name",
                            "train-eval-index", "pretty_name", "title", "sdk", "models"]) | st.text(max_size=5)
    cards = st.none() | st.dictionaries(keys.filter(lambda k: k not in _CARD_METHODS), values, max_size=6) | values

    @hypothesis.settings(database=None, max_examples=300, deadline=None)
    @hypothesis.given(st.sampled_from(["model", "dataset", "space"]), cards, dates, dates)
    def check(repo_type: str, card: Any, created: str | None, modified: str | None) -> None:
        item = {"id": "org/name", "sha": "0" * 40, "cardData": card, "createdAt": created, "lastModified": modified}
        try:
            slow = RECORD_TYPES[repo_type].from_api(INFO[repo_type](**json.loads(json.dumps(item))))
        except (ValueError, TypeError):  # the library refuses the entry: so must the fast way
            with pytest.raises((ValueError, TypeError)):
                RECORD_TYPES[repo_type].from_listing(item, INFO[repo_type])
            return
        fast = RECORD_TYPES[repo_type].from_listing(item, INFO[repo_type])
        assert fast.metadata() == slow.metadata() and fast.card == slow.card

    check()


# A card key naming a method of huggingface_hub's CardData shadows it (``to_dict``) and breaks the
# library's reading; the fast way reads such a card as sent. Not an equivalence, so left out here.
_CARD_METHODS = frozenset({"to_dict", "_to_dict", "to_yaml", "get", "pop", "__dict__", "__class__"})
