"""The first hits of a descending sort, found in a narrow range of values instead of among every match.

tantivy-py's sort collector visits every document a query matches: at 2M catalog entities, a search
with no text sorted by likes took 27 ms, nearly all of it that visit, and a search cannot page
through a catalog faster than its collector counts it. But the first ``want`` documents by likes
are also the first ``want`` of those with ``likes >= b``, for any bound ``b`` that leaves at least
``want`` of them: nothing outside the range can come before a document in it. So the query is
asked again with ``value >= b`` added, ``b`` lowered from far above any value (4x a step while the
range is empty) until the range holds ``want``; once it holds ``found`` of them, ``b`` is divided by
``want / found`` (rounded up to a power of two), which a tail at least as heavy as 1/value fills.
The range is an inverted-index range query, whose cost is its distinct values and their postings:
for a popularity count, heavy-tailed, a few hundred documents rather than millions (measured at
2M: 2.4 ms against 24 ms). A value's fast column would be the other way to read a range: it costs
a scan of the whole column whenever the bound is below a segment's largest value (3-5 ms each
step), and 20 ms beside a broad filter.

The answer is the unnarrowed query's, exactly: the sort values hold the key (one total order) and
a range that holds ``want`` matches holds the first ``want``. When fewer than ``want`` matches
have a value of at least the lowest bound tried (most have none, or zero), :func:`narrowed`
returns None and the caller asks the plain query.
"""

from __future__ import annotations

import tantivy

from ._schema import SORT_VALUES

NARROW_FROM = 20_000  # matches in a shard below which the plain sorted query is already cheap
NARROW_RATIO = 50  # and matches a hit asked for: a deep page's range would hold most matches anyway
NARROW_SHARE = 20  # and 1/20 of the shard: a range holding `want` of a rarer match is mostly others
_HIGHEST = 40  # 2**40: above any count or score the Hub has (were one above, the first range holds it: still exact)
_COARSE, _LOWEST_INT, _LOWEST_FLOAT = 2, 0, -20  # exponents: 4x a step; bounds down to 1 and 2**-20


def match_count(result: tantivy.SearchResult) -> int:
    """The match count of a search run with ``count=True`` (the type stubs do not list it)."""
    return int(getattr(result, "count", 0) or 0)


def worth_narrowing(matches: int, docs: int, want: int) -> bool:
    """Whether ``matches`` of a shard's ``docs`` are many enough, for ``want`` hits, to look for
    them in a range: the range's cost is its documents, matching or not."""
    return matches >= max(NARROW_FROM, NARROW_RATIO * want) and matches * NARROW_SHARE >= docs


def narrowed(searcher: tantivy.Searcher, schema: tantivy.Schema, query: tantivy.Query | None, order_field: str,
             want: int) -> list[tuple[str, tantivy.DocAddress]] | None:
    """The first ``want`` hits of ``query`` (None: every document) by ``order_field`` descending,
    as ``searcher.search`` gives them; None when no bound tried leaves ``want`` matches."""
    value_field, kind = SORT_VALUES[order_field]
    lowest = _LOWEST_FLOAT if kind == tantivy.FieldType.Float else _LOWEST_INT
    exponent = _HIGHEST
    while exponent >= lowest:
        bound: float | int = 2.0 ** exponent if kind == tantivy.FieldType.Float else 2 ** exponent
        in_range = tantivy.Query.range_query(schema, value_field, kind, bound, None, include_lower=True,
                                             use_inverted_index=True)
        asked = in_range if query is None else tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, query), (tantivy.Occur.Must, tantivy.Query.const_score_query(in_range, 0.0))])
        result = searcher.search(asked, want, count=True, order_by_field=order_field, order=tantivy.Order.Desc)
        found = match_count(result)
        if found >= want:
            return list(result.hits)
        exponent -= ((want - 1) // found).bit_length() if found else _COARSE  # found < want: at least 1
    return None
