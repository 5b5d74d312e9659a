"""The README search index, over the real cards in /work/shared/data (435 models, datasets, Spaces).

Numbers the cards do not have (downloads, likes, trending; the library of models whose card names
none) are made up from the id, with many ties on purpose: sorting must break them by key so that pages never repeat or skip a hit.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import threading
import zlib
from pathlib import Path
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hf_ipfs_scraper.cards import card_fields, parse_card
from hf_ipfs_scraper.errors import InvalidInputError, ReadOnlyStoreError, StoreError, StoreLockedError
from hf_ipfs_scraper.search import SearchDoc, SearchIndex, SearchPage, SearchQuery
from hf_ipfs_scraper.state.rows import EntityState
from tests.conftest import missing_component

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FOLDERS = (("model", "model_cards"), ("dataset", "dataset_cards"), ("space", "space_cards"))
HOSTILE = ['"unbalanced', "AND OR", "title:", "(((", "*", "-", "-bert", ")))", '"', "^", "~", "+", "NOT",
           "a AND", "IN [", "size_bytes:[1 TO", "readme:*", "*:*", "title:(", "\\", "\x00", "'", "bert^abc",
           "/regex/", "https://github.com/x", "Note: this", "::", "a:b:c", "id:\"", "gated:maybe",
           "downloads:>abc", "likes:[5 TO 1]", "(" * 16 + "bert" + ")" * 16, "\"" * 99, "-(-(-(-bert))))",
           "tag:", "type:(model OR", "NOT NOT NOT", "++--++", "bert~2", '"bert base"~3', "a" * 1000]


# -- the corpus ------------------------------------------------------------------------------
def _number(text: str, modulo: int) -> int:
    return zlib.crc32(text.encode()) % modulo


def load_cards() -> list[SearchDoc]:
    if not all((DATA / folder / "INDEX.tsv").is_file() for _, folder in FOLDERS):
        missing_component(f"the real cards are not in {DATA} (model_cards/, dataset_cards/, space_cards/ with INDEX.tsv)")
    docs = []
    for entity_type, folder in FOLDERS:
        with open(DATA / folder / "INDEX.tsv", newline="") as fh:
            rows = list(csv.DictReader(fh, delimiter="\t"))
        for row in rows:
            repo_id = row.get("repo_id") or row.get("dataset_id") or row["space_id_or_folder"]
            raw = (DATA / folder / row["path"]).read_bytes()
            text = raw.decode("utf-8", "replace")
            fields = card_fields(parse_card(text).data)
            n = _number(repo_id, 1000)
            docs.append(SearchDoc(
                entity_type=entity_type, id=repo_id, author=repo_id.split("/")[0] if "/" in repo_id else None,
                title=fields.title or fields.pretty_name, tags=fields.tags, readme=text,
                pipeline_tag=fields.pipeline_tag, gated=n % 5 == 0,
                library_name=fields.library_name or ("transformers" if entity_type == "model" and n % 3 else None),
                size_bytes=None if n % 11 == 0 else len(raw) * 1000 + n % 3,
                trending_score=None if n % 7 == 0 else (n % 13) / 4, downloads=n % 9, likes=n % 4,
                languages=fields.languages,
            ))
    return docs


@pytest.fixture(scope="module")
def cards() -> list[SearchDoc]:
    return load_cards()


@pytest.fixture(scope="module")
def index(cards: list[SearchDoc], tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchIndex]:
    path = tmp_path_factory.mktemp("search") / "search"
    with SearchIndex(path, writable=True, shards=3, heap_bytes=50_000_000, threads=1) as writer:
        assert writer.created
        assert writer.rebuild(cards) == len(cards)
    with SearchIndex(path) as reader:
        yield reader


def every_key(index: SearchIndex, query: SearchQuery) -> list[str]:
    """All hits of ``query``, page after page, as keys."""
    keys: list[str] = []
    page = index.search(query)
    while page.hits:
        keys += [hit.key for hit in page.hits]
        page = index.search(SearchQuery(**{**_fields(query), "page": page.page + 1}))
    assert len(keys) == page.total
    return keys


def _fields(query: SearchQuery) -> dict[str, Any]:
    return {name: getattr(query, name) for name in SearchQuery.__dataclass_fields__}


def _is_german(doc: SearchDoc) -> bool:
    return any(lang.lower() in ("de", "german", "deutsch") for lang in doc.languages)


# -- relevance -------------------------------------------------------------------------------
def test_the_index_holds_every_card(index: SearchIndex, cards: list[SearchDoc]) -> None:
    assert index.count() == len(cards) == len({d.key for d in cards})


def test_a_german_word_finds_the_german_cards_first(index: SearchIndex, cards: list[SearchDoc]) -> None:
    by_key = {d.key: d for d in cards}
    page = index.search(SearchQuery("deutsch", limit=10))
    assert page.hits and all(_is_german(by_key[h.key]) for h in page.hits), [h.key for h in page.hits]
    assert page.hits[0].id == "german-nlp-group/electra-base-german-uncased"  # it also has the tag
    german = [d.key for d in cards if _is_german(d) and d.entity_type == "model"]
    found = [h.key for h in index.search(SearchQuery("deutsch", types=("model",), limit=len(german))).hits]
    assert set(found) == set(german)


@pytest.mark.parametrize(("text", "expected"), [
    ("Zeitungen und Zeitschriften", "model:redewiedergabe/bert-base-historical-german-rw-cased"),
    ("Erkennung von Figuren in deutschsprachigen Romanen", "model:severinsimmler/literary-german-bert"),
    ("german bert literary", "model:severinsimmler/literary-german-bert"),
    ("驗證有效性", "model:voidful/albert_chinese_"),  # a phrase of Han characters (six cards have it)
    ("ポジティブ", "model:daigo/bert-base-japanese-sentiment"),
])
def test_german_and_cjk_text_queries(index: SearchIndex, text: str, expected: str) -> None:
    assert index.search(SearchQuery(text)).hits[0].key.startswith(expected)


def test_words_of_an_id_match_and_the_id_counts_more_than_the_readme(index: SearchIndex) -> None:
    hits = index.search(SearchQuery("gelectra", limit=5)).hits
    assert {h.id for h in hits[:3]} <= {"deepset/gelectra-base", "deepset/gelectra-large",
                                        "deepset/gelectra-base-generator"}
    assert "model:deepset/bert-base-cased-squad2" in every_key(index, SearchQuery("squad2", types=("model",)))
    camel = every_key(index, SearchQuery("reddit"))  # BioRedditBERT: camelCase is split
    assert "model:cambridgeltl/BioRedditBERT-uncased" in camel


def _phrases(cards: list[SearchDoc], count: int) -> Iterator[tuple[str, str]]:
    """Phrases of six words that one card alone has (as the index sees words), with its key."""
    words = {d.key: re.findall(r"[^\W_]+", parse_card(d.readme).body.lower()) for d in cards}
    joined = {key: " " + " ".join(w) + " " for key, w in words.items()}
    found = 0
    for key in sorted(words)[::7]:
        w = words[key]
        for start in range(0, max(0, len(w) - 6), 37):
            phrase = " ".join(w[start:start + 6])
            if not re.fullmatch(r"[a-z ]+", phrase):
                continue
            if sum(f" {phrase} " in text for text in joined.values()) == 1:
                yield phrase, key
                found += 1
                break
        if found == count:
            return


def test_a_phrase_one_card_has_ranks_it_first(index: SearchIndex, cards: list[SearchDoc]) -> None:
    phrases = list(_phrases(cards, 12))
    assert len(phrases) == 12
    for phrase, key in phrases:
        page = index.search(SearchQuery(f'"{phrase}"'))
        assert page.total == 1 and page.hits[0].key == key, phrase
        assert key in [h.key for h in index.search(SearchQuery(phrase)).hits]  # unquoted: all words somewhere


def test_field_queries_and_colons_that_are_text(index: SearchIndex) -> None:
    titled = index.search(SearchQuery("title:squad", limit=50))
    assert titled.hits and all("squad" in (h.title or "").lower() for h in titled.hits)
    note = index.search(SearchQuery("Note: this"))
    assert note.total > 0 and not note.warnings
    assert index.search(SearchQuery("https://github.com/huggingface/transformers")).total > 0


def test_words_no_card_has_together_relax_to_any_of_them(index: SearchIndex) -> None:
    page = index.search(SearchQuery("Zeitschriften xylophonequartet"))
    assert page.total == 1 and page.hits[0].id == "redewiedergabe/bert-base-historical-german-rw-cased"
    assert any("some of them" in w for w in page.warnings)
    assert index.search(SearchQuery("xylophonequartet")).total == 0


# -- snippets --------------------------------------------------------------------------------
def test_snippets_mark_the_matches_and_escape_the_rest(index: SearchIndex) -> None:
    hits = index.search(SearchQuery("german", limit=20)).hits
    assert all("<mark>" in h.snippet for h in hits[:5])
    assert re.search(r"<mark>german</mark>", hits[0].snippet, flags=re.I)
    html_card = index.search(SearchQuery('"img width"', limit=5)).hits
    assert html_card and any("&lt;<mark>img</mark> <mark>width</mark>=&quot;" in h.snippet for h in html_card)
    for hit in hits + html_card:
        bare = hit.snippet.replace("<mark>", "").replace("</mark>", "")
        assert "<" not in bare and ">" not in bare
    assert all(h.snippet == "" for h in index.search(SearchQuery(types=("space",))).hits)


# -- filters ---------------------------------------------------------------------------------
def test_size_filters_are_inclusive_and_exact_at_the_bounds(index: SearchIndex, cards: list[SearchDoc]) -> None:
    sized = sorted({d.size_bytes for d in cards if d.size_bytes is not None})
    for size in (sized[0], sized[len(sized) // 2], sized[-1]):
        same = {d.key for d in cards if d.size_bytes == size}
        assert set(every_key(index, SearchQuery(size_gte=size, size_lte=size))) == same
        assert not same & set(every_key(index, SearchQuery(size_gte=size + 1, size_lte=size + 1 + 10**6)))
        assert not same & set(every_key(index, SearchQuery(size_lte=size - 1)))
        at_least = {d.key for d in cards if d.size_bytes is not None and d.size_bytes >= size}
        assert set(every_key(index, SearchQuery(size_gte=size))) == at_least
    assert index.search(SearchQuery(size_gte=sized[-1] + 1)).total == 0


@pytest.mark.parametrize("query, keep", [
    (SearchQuery(types=("dataset",)), lambda d: d.entity_type == "dataset"),
    (SearchQuery(types=("space", "model")), lambda d: d.entity_type != "dataset"),
    (SearchQuery(tags=("german",)), lambda d: "german" in d.tags),
    (SearchQuery(tags=("German", "BERT")), lambda d: {"german", "bert"} <= {t.lower() for t in d.tags}),
    (SearchQuery(author="DEEPSET"), lambda d: d.author == "deepset"),
    (SearchQuery(gated=True), lambda d: d.gated),
    (SearchQuery(gated=False, types=("model",)), lambda d: not d.gated and d.entity_type == "model"),
    (SearchQuery(pipeline_tag="zero-shot-classification"), lambda d: d.pipeline_tag == "zero-shot-classification"),
    (SearchQuery(library="Transformers", tags=("exbert",)), lambda d: d.library_name == "transformers"
     and "exbert" in d.tags),
    (SearchQuery("bert", author="dbmdz", gated=False, size_lte=4_000_000),
     lambda d: d.author == "dbmdz" and not d.gated and d.size_bytes is not None and d.size_bytes <= 4_000_000
     and "bert" in (d.id + d.readme).lower()),
])
def test_filters_match_what_the_cards_say(index: SearchIndex, cards: list[SearchDoc], query: SearchQuery,
                                          keep: Any) -> None:
    expected = {d.key for d in cards if keep(d)}
    assert expected, "the filter should match some cards"
    assert set(every_key(index, query)) == expected


def test_keys_restrict_to_those_entities(index: SearchIndex, cards: list[SearchDoc]) -> None:
    chosen = frozenset(d.key for d in cards[::40])
    assert set(every_key(index, SearchQuery(keys=chosen))) == chosen
    assert index.search(SearchQuery("bert", keys=frozenset())).total == 0
    assert set(index.keys(SearchQuery(keys=chosen, sort="size"))) == chosen


@pytest.mark.parametrize("text", ["", "german", "bert model", '"language model"', "zzznothing"])
def test_matching_keys_are_the_keys_of_every_match(index: SearchIndex, cards: list[SearchDoc], text: str) -> None:
    """The unordered aggregation path gives exactly the ordered path's set, restricted or not, and
    falls back rather than truncate when asked for fewer than match."""
    everything = set(every_key(index, SearchQuery(text)))
    assert index.matching_keys(SearchQuery(text), at_most=len(cards)) == everything
    chosen = frozenset(d.key for d in cards[::7])
    assert index.matching_keys(SearchQuery(text, keys=chosen), at_most=len(chosen)) == everything & chosen
    if len(everything) > 3:  # the aggregation is cut short: what comes back is still only matches, at most 3
        few = index.matching_keys(SearchQuery(text), at_most=3)
        assert few <= everything and len(few) == 3


# -- ordering and pages ----------------------------------------------------------------------
def _sort_value(doc: SearchDoc, sort: str) -> tuple[int, float]:
    value = {"trending_score": doc.trending_score, "downloads": doc.downloads, "likes": doc.likes,
             "size": doc.size_bytes}[sort]
    return (0, 0.0) if value is None else (1, float(value))


@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize("sort", ["trending_score", "downloads", "likes", "size"])
def test_every_sort_is_total_with_ties_by_key(index: SearchIndex, cards: list[SearchDoc], sort: str,
                                              descending: bool) -> None:
    expected = [d.key for d in sorted(cards, key=lambda d: (_sort_value(d, sort), d.key), reverse=descending)]
    got = every_key(index, SearchQuery(sort=sort, descending=descending, limit=13))
    assert got == expected
    matching = set(every_key(index, SearchQuery("german")))
    german = [k for k in expected if k in matching]
    assert every_key(index, SearchQuery("german", sort=sort, descending=descending, limit=7)) == german
    assert index.keys(SearchQuery(sort=sort, descending=descending)) == expected


def test_an_empty_query_by_relevance_is_the_trending_order(index: SearchIndex) -> None:
    assert every_key(index, SearchQuery(limit=50)) == every_key(index, SearchQuery(sort="trending_score", limit=50))


def test_pages_of_any_size_concatenate_to_the_same_order(index: SearchIndex) -> None:
    for text in ("bert", "model", "dataset german"):
        full = index.search(SearchQuery(text, limit=50))
        assert full.total > 0
        small = every_key(index, SearchQuery(text, limit=3))[:50]
        assert small == [h.key for h in full.hits]
        assert len(set(small)) == len(small)
        scores = [h.score for h in full.hits]
        assert scores == sorted(scores, reverse=True) and scores[0] > 0


def test_page_numbers_and_limit_bounds(index: SearchIndex) -> None:
    page = index.search(SearchQuery("bert", limit=7, page=2))
    assert (page.page, page.limit, page.pages) == (2, 7, -(-page.total // 7)) and len(page.hits) == 7
    beyond = index.search(SearchQuery("bert", limit=50, page=10**6))
    assert beyond.hits == () and beyond.total == page.total
    assert len(index.search(SearchQuery(limit=50)).hits) == 50 and len(index.search(SearchQuery(limit=1)).hits) == 1
    for bad in ({"limit": 0}, {"limit": 51}, {"limit": -1}, {"limit": True}, {"page": 0}, {"page": 1.5},
                {"sort": "stars"}, {"types": ("modell",)}, {"size_gte": -1}, {"size_lte": "5"}, {"gated": "yes"},
                {"text": "x" * 1001}, {"text": "(" * 17 + "x"}):
        with pytest.raises(InvalidInputError):
            index.search(SearchQuery(**bad))


# -- hostile query text ----------------------------------------------------------------------
def _search_or_refuse(index: SearchIndex, text: str) -> SearchPage | None:
    try:
        return index.search(SearchQuery(text))
    except InvalidInputError:
        return None


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_never_raises_a_traceback(index: SearchIndex, text: str) -> None:
    page = _search_or_refuse(index, text)
    assert page is None or isinstance(page.total, int)


def test_only_exclusions_mean_everything_but(index: SearchIndex, cards: list[SearchDoc]) -> None:
    excluded = set(every_key(index, SearchQuery("bert")))
    assert index.search(SearchQuery("-bert")).total == len(cards) - len(excluded)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.sampled_from(list('"\'()[]{}:*-+^~!\\/ ANDORNOT TO<>=.,_ab1中\x00\n\t')), max_size=80)
       | st.text(max_size=60))
def test_any_text_gives_a_page_or_invalid_input(index: SearchIndex, text: str) -> None:
    page = _search_or_refuse(index, text)
    assert page is None or all(isinstance(h.snippet, str) for h in page.hits)


# -- writing -------------------------------------------------------------------------------
def _doc(repo_id: str, readme: str, **changes: Any) -> SearchDoc:
    values: dict[str, Any] = dict(entity_type="model", id=repo_id, author=repo_id.split("/")[0], title=None,
                                  tags=(), readme=readme, pipeline_tag=None, library_name=None, gated=False,
                                  size_bytes=10, trending_score=1.0, downloads=1, likes=1)
    return SearchDoc(**{**values, **changes})


def test_upsert_replaces_delete_removes_rebuild_starts_over(tmp_path: Path) -> None:
    with SearchIndex(tmp_path / "search", writable=True, heap_bytes=15_000_000, threads=1) as index:
        assert index.upsert([_doc("a/one", "alpha words"), _doc("a/two", "gamma")]) == 2
        assert index.upsert([_doc("a/one", "beta words", size_bytes=99), _doc("a/one", "delta")]) == 2
        assert index.count() == 2
        assert index.search(SearchQuery("alpha")).total == 0 and index.search(SearchQuery("beta")).total == 0
        assert [h.size_bytes for h in index.search(SearchQuery("delta")).hits] == [10]
        assert index.delete(["model:a/one", "model:a/missing"]) == 1
        assert index.count() == 1 and index.search(SearchQuery("delta")).total == 0
        assert index.rebuild(_doc(f"b/{i}", f"epsilon {i}") for i in range(5)) == 5
        assert index.count() == 5 and index.search(SearchQuery("gamma")).total == 0
        assert index.search(SearchQuery("epsilon")).total == 5


def test_an_upsert_in_chunks_keeps_each_key_last_document(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The old documents go by one query a chunk, before the chunk's documents: a key repeated
    within a chunk or across chunks keeps its last document, and one already indexed is replaced."""
    import hf_ipfs_scraper.search._index as index_module

    monkeypatch.setattr(index_module, "_UPSERT_CHUNK", 2)
    with SearchIndex(tmp_path / "search", writable=True, shards=2, heap_bytes=15_000_000, threads=1) as index:
        index.upsert([_doc("a/one", "zero"), _doc("a/old", "kept")])
        docs = [_doc("a/one", "first"), _doc("a/two", "two"), _doc("a/one", "second"), _doc("a/one", "third"),
                _doc("a/three", "three"), _doc("a/one", "fourth")]
        assert index.upsert(docs) == 6
        assert index.count() == 4  # one, old, two, three
        assert [h.id for h in index.search(SearchQuery("fourth")).hits] == ["a/one"]
        for word in ("zero", "first", "second", "third"):
            assert index.search(SearchQuery(word)).total == 0, word
        assert index.search(SearchQuery("kept")).total == 1


def test_a_failed_rebuild_keeps_the_old_index(tmp_path: Path) -> None:
    def broken() -> Iterator[SearchDoc]:
        yield _doc("c/new", "new")
        raise RuntimeError("the state store went away")

    with SearchIndex(tmp_path / "search", writable=True, heap_bytes=15_000_000, threads=1) as index:
        index.upsert([_doc("c/old", "old")])
        with pytest.raises(RuntimeError):
            index.rebuild(broken())
        assert [h.id for h in index.search(SearchQuery()).hits] == ["c/old"]


def test_opening_rules(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no search index"):
        SearchIndex(tmp_path / "missing")
    path = tmp_path / "search"
    with SearchIndex(path, writable=True, heap_bytes=15_000_000, threads=1) as writer:
        writer.upsert([_doc("d/one", "one")])
        with pytest.raises(StoreLockedError):
            SearchIndex(path, writable=True)
        with SearchIndex(path) as reader:
            with pytest.raises(ReadOnlyStoreError):
                reader.upsert([_doc("d/two", "two")])
    (path / "hf-search.json").write_text(json.dumps({"format": 0}))
    with pytest.raises(StoreError, match="reindex"):
        SearchIndex(path)
    with SearchIndex(path, writable=True, heap_bytes=15_000_000, threads=1) as writer:
        assert writer.created and writer.count() == 0
    with SearchIndex(path, writable=True, heap_bytes=15_000_000, threads=1) as writer:
        assert not writer.created
    with pytest.raises(StoreError, match="closed"):
        writer.search(SearchQuery())


_READER = """
import sys
from hf_ipfs_scraper.search import SearchIndex, SearchQuery
index = SearchIndex(sys.argv[1])
print(index.count(), index.search(SearchQuery("later")).total, flush=True)
sys.stdin.readline()
print(index.count(), [h.id for h in index.search(SearchQuery("later")).hits], flush=True)
"""


def test_a_reader_in_another_process_sees_commits_made_after_it_opened(tmp_path: Path) -> None:
    path = tmp_path / "search"
    with SearchIndex(path, writable=True, heap_bytes=15_000_000, threads=1) as writer:
        writer.upsert([_doc("e/first", "first")])
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        reader = subprocess.Popen([sys.executable, "-c", _READER, str(path)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            assert reader.stdout is not None and reader.stdin is not None
            assert reader.stdout.readline().split() == ["1", "0"]
            writer.upsert([_doc("e/second", "later")])
            reader.stdin.write("\n")
            reader.stdin.flush()
            out, err = reader.communicate(timeout=60)
        finally:
            reader.kill()
        assert reader.returncode == 0, err
        assert out.split(maxsplit=1) == ["2", "['e/second']\n"]


_SEARCHING = """
import sys
from hf_ipfs_scraper.search import SearchIndex, SearchQuery
index = SearchIndex(sys.argv[1])
print("open", flush=True)
seen = 0
while seen < int(sys.argv[2]):
    seen = index.search(SearchQuery("batch")).total
print(seen, flush=True)
"""


def test_a_reader_searching_while_the_writer_commits_and_merges_never_fails(tmp_path: Path) -> None:
    path = tmp_path / "search"
    batches, size = 40, 25
    with SearchIndex(path, writable=True, heap_bytes=15_000_000, threads=1) as writer:
        writer.upsert([_doc("f/0", "batch")])
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        reader = subprocess.Popen([sys.executable, "-c", _SEARCHING, str(path), str(batches * size)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            assert reader.stdout is not None and reader.stdout.readline() == "open\n"
            for batch in range(batches):  # each commit a segment: merges run, merged files are deleted
                writer.upsert([_doc(f"f/{batch * size + i}", "batch") for i in range(size)])
            out, err = reader.communicate(timeout=120)
        finally:
            reader.kill()
    assert reader.returncode == 0, err
    assert out.strip() == str(batches * size)


def test_snippets_find_words_written_in_another_case(tmp_path: Path) -> None:
    readme = "Intro.\n\n" + "filler " * 80 + "Trained with TensorFlow <b>2</b> & PyTorch, not tensorflowlite."
    with SearchIndex(tmp_path / "search", writable=True, heap_bytes=15_000_000, threads=1) as index:
        index.upsert([_doc("g/one", readme)])
        hit = index.search(SearchQuery("tensorflow")).hits[0]
        assert "<mark>TensorFlow</mark> &lt;b&gt;2&lt;/b&gt; &amp; PyTorch" in hit.snippet
        assert hit.snippet.startswith("…") and "tensorflowlite" in hit.snippet
        both = index.search(SearchQuery("pytorch TENSORFLOW")).hits[0].snippet
        assert "<mark>TensorFlow</mark>" in both and "<mark>PyTorch</mark>" in both
        assert index.search(SearchQuery("intro")).hits[0].snippet.startswith("<mark>Intro</mark>.")


def test_searches_from_many_threads_agree(index: SearchIndex) -> None:
    texts = ["bert", "german", "dataset", "question answering", "deutsch", "-bert", "squad"]
    expected = {t: [h.key for h in index.search(SearchQuery(t)).hits] for t in texts}
    failures: list[str] = []

    def work() -> None:
        for _ in range(20):
            for text in texts:
                if [h.key for h in index.search(SearchQuery(text)).hits] != expected[text]:
                    failures.append(text)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures


# -- building documents from the state store -------------------------------------------------
def test_search_doc_from_an_entity() -> None:
    entity = EntityState(
        type="dataset", id="org/data", status="done", head_sha=None, sha="abc", root_cid="bafy", attempts=1,
        last_error=None, reason=None, first_seen=0.0, updated_at=0.0, metadata=None, owner_pid=None,
        author="org", languages=("de",), tags=("text", "german"), likes=3, downloads=None, trending_score=2.5,
        gated="manual", task_categories=("translation", "text"), card_data={"pretty_name": "Org Data"},
        size_bytes=1234,
    )
    doc = SearchDoc.from_entity(entity, "# readme")
    assert (doc.key, doc.title, doc.tags, doc.gated, doc.downloads, doc.likes, doc.size_bytes, doc.languages) == (
        "dataset:org/data", "Org Data", ("text", "german", "translation"), True, 0, 3, 1234, ("de",))
    space = EntityState(type="space", id="solo", status="pending", head_sha=None, sha=None, root_cid=None,
                        attempts=0, last_error=None, reason=None, first_seen=0.0, updated_at=0.0, metadata=None,
                        owner_pid=None, card_data={"title": "My App"})
    doc = SearchDoc.from_entity(space, None)
    assert (doc.title, doc.readme, doc.gated, doc.author) == ("My App", "", False, None)
    with pytest.raises(InvalidInputError):
        _doc("x/y", "", entity_type="modell")
