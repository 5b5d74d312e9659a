"""README search over an archive: models, datasets and Spaces, by text, filters and sort keys.

It holds every mirrored repo (README included) and every repo a catalog walk listed (id, tags,
card fields: no README, since none was fetched), ``SearchHit.mirrored`` telling them apart.

The index is a tantivy (Rust, Lucene-like) directory at ``<output_dir>/search``; SQLite FTS5 was
measured against it on the same corpus (``bench/bench_search.py``) and was 20-100x slower on common
words. One process writes (the mirror, as it mirrors, and ``reindex``), any number read (``serve``,
a notebook's ``Catalog``) without a lock, each seeing a commit at its next search.

>>> from hf_ipfs_scraper.search import SearchIndex, SearchQuery        # doctest: +SKIP
>>> with SearchIndex("hf_mirror/search") as index:                    # doctest: +SKIP
...     page = index.search(SearchQuery("german bert", types=("model",), sort="downloads"))
...     [(hit.id, hit.snippet) for hit in page.hits]

Query text, parsed leniently (nothing the user types raises, except :class:`InvalidInputError`
for a text over 1000 characters or parentheses nested over 16 deep):

* words must all match, in any of id, title, tags, language names and README (id and title count
  most); when no entity has them all, entities with some of them are shown, with a warning;
* ``"a phrase"``, ``OR``, ``AND``, ``-word``, ``+word``, ``(groups)``, ``word^2``;
* ``field:word`` for ``id title tags language readme type tag author pipeline_tag library gated``
  ``mirrored`` (``mirrored:false``: the repos a catalog walk listed, metadata only),
  ``size_bytes:>1000000``, ``downloads:>100``, ``likes:[10 TO 100]``; any other ``word:`` is text;
* what cannot be used (an unclosed quote, a dangling ``AND``) is dropped and named in
  ``SearchPage.warnings``.

Ordering: relevance is bm25 (best first); the other sorts are by a fast field and then by key
("model:org/name"), in the same direction, so pages never repeat or skip a hit. A missing size or
trending score counts as lower than any value.
"""

from __future__ import annotations

from ._index import SearchIndex
from ._model import MAX_LIMIT, SORTS, SearchDoc, SearchHit, SearchPage, SearchQuery

__all__ = ["MAX_LIMIT", "SORTS", "SearchDoc", "SearchHit", "SearchIndex", "SearchPage", "SearchQuery"]
