"""A descending sort narrowed to a range of values (search/_narrow.py) answers exactly as the plain
sorted query does: every sort, filters, text, pages; ties, missing values, zeros, tiny floats."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hf_ipfs_scraper.search import SearchDoc, SearchIndex, SearchQuery, _index, _narrow
from hf_ipfs_scraper.search._schema import SORT_VALUES

from .conftest import missing_component

_WORDS = ("llama", "bert", "gguf", "instruct", "vision")
_TAGS = ("safetensors", "gguf", "en", "lora")


def _docs(n: int, seed: int) -> Iterator[SearchDoc]:
    rng = random.Random(seed)
    for i in range(n):
        shape = i % 4  # heavy tails, ties, all zero, tiny floats
        likes = int(rng.paretovariate(1.1)) - 1 if shape == 0 else (7 if shape == 1 else 0)
        trending = None if rng.random() < 0.3 else (rng.random() * 1e-7 if shape == 3 else rng.paretovariate(1.5) - 1)
        yield SearchDoc(
            entity_type=("model", "dataset", "space")[i % 3], id=f"org{i % 17}/{rng.choice(_WORDS)}-{i}",
            author=f"org{i % 17}", title=None, tags=tuple(t for t in _TAGS if rng.random() < 0.4), readme="",
            pipeline_tag=None, library_name=None, gated=False,
            size_bytes=None if rng.random() < 0.5 else rng.choice((0, 1, rng.randrange(10**12))),
            trending_score=trending, downloads=int(rng.paretovariate(0.8)) - 1 if shape != 2 else 0, likes=likes,
            mirrored=False)


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchIndex]:
    path = tmp_path_factory.mktemp("narrow") / "search"
    with SearchIndex(path, writable=True, shards=2) as writing:
        writing.rebuild(_docs(3_000, seed=1))
    reading = SearchIndex(path)
    yield reading
    reading.close()


def _page(index: SearchIndex, query: SearchQuery, *, narrow: bool,
          monkeypatch: pytest.MonkeyPatch) -> tuple[list[tuple[str, str]], int]:
    with monkeypatch.context() as patch:
        patch.setattr(_narrow, "NARROW_FROM", 0 if narrow else 10**12)
        patch.setattr(_narrow, "NARROW_RATIO", 1)
        patch.setattr(_narrow, "NARROW_SHARE", 10**6)
        page = index.search(query)
    return [(h.entity_type, h.id) for h in page.hits], page.total


def test_narrowed_pages_equal_plain_ones(index: SearchIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        import hypothesis
        from hypothesis import strategies as st
    except ImportError:
        missing_component("hypothesis is not installed: pip install hypothesis")
    asked: list[Any] = []
    plain_narrowed = _narrow.narrowed

    def counting(*args: Any, **kwargs: Any) -> Any:
        found = plain_narrowed(*args, **kwargs)
        asked.append(found is not None)
        return found

    monkeypatch.setattr(_index, "narrowed", counting)
    queries = st.builds(
        SearchQuery,
        text=st.sampled_from(("", "", "llama", "bert OR gguf")),
        tags=st.lists(st.sampled_from(_TAGS), max_size=2, unique=True).map(tuple),
        types=st.sampled_from(((), ("model",), ("dataset", "space"))),
        author=st.sampled_from((None, "org3")),
        sort=st.sampled_from(("relevance", "likes", "downloads", "trending_score", "size")),
        descending=st.booleans(), limit=st.integers(1, 50), page=st.integers(1, 6),
    )

    @hypothesis.settings(database=None, max_examples=300, deadline=None)
    @hypothesis.given(queries)
    def check(query: SearchQuery) -> None:
        assert _page(index, query, narrow=True, monkeypatch=monkeypatch) == \
            _page(index, query, narrow=False, monkeypatch=monkeypatch)

    check()
    assert True in asked and False in asked  # both the narrowed answer and the fallback were compared


def test_every_popularity_sort_is_narrowed_on_a_large_enough_match(index: SearchIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    searcher = index._searchers()[0]
    schema = index._shards[0].index.schema
    for field in SORT_VALUES:
        hits = _narrow.narrowed(searcher, schema, None, field, 10)
        plain = searcher.search(_all(), 10, count=False, order_by_field=field).hits
        assert hits is not None and [v for v, _ in hits] == [v for v, _ in plain]


def test_too_few_values_above_the_lowest_bound_is_none(tmp_path: Path) -> None:
    """Zero likes everywhere, trending scores below 2**-20: no range holds them; the caller asks the
    plain query (and gets them in key order)."""
    docs = [d.__class__(**{**_fields(d), "likes": 0, "trending_score": 1e-9}) for d in _docs(200, seed=2)]
    with SearchIndex(tmp_path / "s", writable=True, shards=1) as writing:
        writing.rebuild(docs)
        searcher = writing._searchers()[0]
        schema = writing._shards[0].index.schema
        assert _narrow.narrowed(searcher, schema, None, "_by_likes", 5) is None
        assert _narrow.narrowed(searcher, schema, None, "_by_trending", 5) is None
        assert _narrow.narrowed(searcher, schema, None, "_by_downloads", 5) is not None


def _all() -> Any:
    import tantivy

    return tantivy.Query.all_query()


def _fields(doc: SearchDoc) -> dict[str, Any]:
    return {name: getattr(doc, name) for name in doc.__dataclass_fields__}
