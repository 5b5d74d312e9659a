"""The index's schema, its two analyzers, and how a :class:`SearchDoc` becomes a tantivy document.

Text fields (``id``, ``title``, ``tags``, ``language``, ``readme``) use the ``hf_words`` analyzer:
tantivy's simple tokenizer (splits on every non-alphanumeric character, so ``bert-base-uncased``,
``org/name`` and ``snake_case`` fall apart into words), tokens over 40 bytes dropped, lowercase,
ASCII folding (``München`` = ``munchen``, ``Reißel`` = ``reissel``). No stemming: it costs 2.5x the
indexing time, and card READMEs are mostly English whatever language the model is for, so a
per-language stemmer would stem by the wrong language. Han and kana characters become one token
each (a zero-width space is put between them), so a Chinese or Japanese query is a phrase of
characters. Ids are also indexed split at camelCase and digit boundaries (``BioRedditBERT`` →
``bio reddit bert``). The YAML front matter is not indexed as text: its fields are indexed as fields.

Filter fields (``type``, ``tag``, ``author``, ``pipeline_tag``, ``library``) are single raw terms,
lowercased; ``key`` ("model:org/name") is raw and exact. Each sort has a fast text field whose
value is the sort value, fixed-width and order-preserving, followed by the key: one total order,
so equal values come in key order on every page and after every merge.
"""

from __future__ import annotations

import functools
import re
import struct

import tantivy

from ._languages import language_words
from ._model import SearchDoc

FORMAT = 3  # bump when the schema, the analyzers or the layout change: an old index is then rebuilt
WORDS = "hf_words"
KEYWORD = "hf_keyword"
TEXT_FIELDS = ("id", "title", "tags", "language", "readme")
BOOSTS = {"id": 4.0, "title": 3.0, "tags": 2.0, "language": 2.0, "readme": 1.0}
SORT_FIELDS = {"trending_score": "_by_trending", "downloads": "_by_downloads", "likes": "_by_likes",
               "size": "_by_size"}
# The popularity sorts' values as numeric fields, what _narrow narrows a descending sort by: their
# values are heavy-tailed (a few repos hold most likes), so the range above a page's hits is small.
# Not sizes: a range of them can hold as many distinct values as documents, and a range query
# costs its distinct values one by one (at 2M, ten times the plain sort's visit).
SORT_VALUES = {"_by_trending": ("trending_score", tantivy.FieldType.Float),
               "_by_downloads": ("downloads", tantivy.FieldType.Integer),
               "_by_likes": ("likes", tantivy.FieldType.Integer)}
# What a user may name in the query text ("title:bert"); any other "word:" is text.
USER_FIELDS = frozenset({*TEXT_FIELDS, "type", "tag", "author", "pipeline_tag", "library", "gated", "mirrored",
                         "size_bytes", "downloads", "likes", "trending_score"})

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
_CJK_LEADS = (*(bytes([b]) for b in range(0xE3, 0xEA)), b"\xef")  # UTF-8 leads of U+3000-9FFF, U+F000-FFFF
# huggingface_hub.repocard.REGEX_YAML_BLOCK, its lazy middle replaced by a search for the end
_OPENING = re.compile(r"\s*---(?:\r\n|\r|\n)")
_CLOSING = re.compile(r"(?:\r\n|\r|\n)---[ \t]*(?:\r\n|\n|$)")
_ID_PARTS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
ZWSP = "\u200b"


def build_schema() -> tantivy.Schema:
    b = tantivy.SchemaBuilder()
    b.add_text_field("key", stored=True, tokenizer_name="raw", index_option="basic")
    for name in ("type", "tag", "author", "pipeline_tag", "library"):
        b.add_text_field(name, stored=name not in ("tag", "type"), tokenizer_name=KEYWORD, index_option="basic")
    for name in TEXT_FIELDS:
        b.add_text_field(name, stored=name in ("title", "readme"), tokenizer_name=WORDS)
    b.add_boolean_field("gated", stored=True, indexed=True)
    b.add_boolean_field("mirrored", stored=True, indexed=True)
    for name in ("size_bytes", "downloads", "likes"):
        b.add_integer_field(name, stored=True, indexed=True, fast=name == "size_bytes")
    b.add_float_field("trending_score", stored=True, indexed=True)
    for name in SORT_FIELDS.values():
        b.add_text_field(name, fast=True, tokenizer_name="raw", index_option="basic")
    return b.build()


def register_analyzers(index: tantivy.Index) -> None:
    """Tokenizers are not stored in the index: every process registers them on opening it."""
    words = (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple()).filter(tantivy.Filter.remove_long(40))
             .filter(tantivy.Filter.lowercase()).filter(tantivy.Filter.ascii_fold()).build())
    keyword = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.raw()).filter(tantivy.Filter.lowercase()).build()
    index.register_tokenizer(WORDS, words)
    index.register_tokenizer(KEYWORD, keyword)


def split_cjk(text: str) -> str:
    """A zero-width space between neighbouring Han/kana characters: each becomes a token."""
    if text.isascii():  # a flag of the string: free
        return text
    data = text.encode("utf-8", "replace")
    if not any(lead in data for lead in _CJK_LEADS):  # memchr-fast, unlike a regex search
        return text
    run, gap = _cjk_patterns()
    return gap.sub(ZWSP, text) if run.search(text) else text


@functools.cache
def _cjk_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """A run of two Han/kana characters, and the gap between two: compiled at the first text that
    has them, as their character classes take 4 ms to compile (a search's start is held to 100 ms)."""
    return re.compile(f"[{_CJK}]{{2,}}"), re.compile(f"(?<=[{_CJK}])(?=[{_CJK}])")


def readme_body(text: str) -> str:
    """The README without its YAML front matter (found by the Hub's rule, as ``cards`` does)."""
    text = text.removeprefix("\ufeff")
    opening = _OPENING.match(text)  # the Hub's REGEX_YAML_BLOCK in two steps, twice as fast
    closing = _CLOSING.search(text, opening.end()) if opening else None
    return text[closing.end():] if closing else text


def id_words(repo_id: str) -> str:
    """The id's camelCase and letter/digit parts: ``BioRedditBERT-v2`` → ``Bio Reddit BERT v 2``."""
    return " ".join(_ID_PARTS.findall(repo_id))


def to_document(doc: SearchDoc) -> tantivy.Document:
    key = doc.key
    d = tantivy.Document()
    d.add_text("key", key)
    d.add_text("type", doc.entity_type)
    d.add_text("id", doc.id)
    parts = id_words(doc.id)
    if parts.lower() != " ".join(re.findall(r"[^\W_]+", doc.id.lower())):
        d.add_text("id", parts)
    if doc.title:
        d.add_text("title", split_cjk(doc.title))
    for tag in doc.tags:
        d.add_text("tag", tag)
        d.add_text("tags", tag)
    if doc.languages:
        d.add_text("language", " ".join(language_words(doc.languages)))
    d.add_text("readme", split_cjk(readme_body(doc.readme)))
    for name, value in (("author", doc.author), ("pipeline_tag", doc.pipeline_tag), ("library", doc.library_name)):
        if value:
            d.add_text(name, value)
    d.add_boolean("gated", bool(doc.gated))
    d.add_boolean("mirrored", bool(doc.mirrored))
    d.add_integer("downloads", int(doc.downloads))
    d.add_integer("likes", int(doc.likes))
    if doc.size_bytes is not None:
        d.add_integer("size_bytes", int(doc.size_bytes))
    if doc.trending_score is not None and doc.trending_score == doc.trending_score:  # not NaN
        d.add_float("trending_score", float(doc.trending_score))
    d.add_text("_by_trending", f"{_float_order(doc.trending_score)} {key}")
    d.add_text("_by_downloads", f"{_int_order(doc.downloads)} {key}")
    d.add_text("_by_likes", f"{_int_order(doc.likes)} {key}")
    d.add_text("_by_size", f"{_int_order(doc.size_bytes)} {key}")
    return d


def _int_order(value: int | None) -> str:
    """Text that sorts as the integer does; None below every number."""
    if value is None:
        return "0" + "0" * 16
    return "1" + format(min(max(int(value), -(2**63)), 2**63 - 1) + 2**63, "016x")


def _float_order(value: float | None) -> str:
    """Text that sorts as the float does (IEEE 754 bits, sign-flipped); None and NaN below all."""
    if value is None or value != value:
        return "0" + "0" * 16
    (bits,) = struct.unpack(">Q", struct.pack(">d", float(value) + 0.0))  # + 0.0: -0.0 is 0.0
    return "1" + format(bits ^ 0xFFFFFFFFFFFFFFFF if bits >> 63 else bits | 1 << 63, "016x")
