"""From a :class:`SearchQuery` to a tantivy query: the user's text, parsed leniently, and the filters.

The text goes through tantivy's lenient parser: what it cannot use (an unclosed quote, a dangling
``AND``, ``title:`` with nothing after it, an unknown field) is dropped and reported as a warning,
never raised. Before that, three things the parser would get wrong are fixed here:

* ``word:`` where ``word`` is not a field a user may search (``https://...``, ``Note: ...``) is
  text, not a field name: the colon is escaped;
* Han and kana characters get a zero-width space between them, as in the index (a phrase of
  characters);
* parentheses nested deeper than ``MAX_DEPTH`` are refused with :class:`InvalidInputError`: the
  parser recurses on them and a few thousand overflow its stack (the process would crash).

A text of only exclusions (``-bert``) means "everything but": it is read as ``* -bert``. Words
are not also scored as a phrase (where they stand side by side): at 100k READMEs that tripled the
time of two common words (7.5 ms against 2.2 ms); a user who wants a phrase quotes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import tantivy

from ..errors import InvalidInputError
from ._model import SearchQuery
from ._schema import BOOSTS, TEXT_FIELDS, USER_FIELDS, split_cjk

MAX_DEPTH = 16
_PIECE = re.compile(r'"(?:[^"\\]|\\.)*"?|\S+', re.S)  # a phrase (perhaps unclosed) or a run of non-space
_FIELD = re.compile(r"^[+\-(]*([^\s:()\"\\]+):")
_COLON = re.compile(r"(?<!\\):")  # not one escaped already
_ONLY_EXCLUDING = "Only excluding terms given"


@dataclass(frozen=True, slots=True)
class Compiled:
    """The text part (for snippets and scores), the whole query (text and filters), warnings, and
    whether it matches every document (no text, no filter: its count is the index's)."""

    text: tantivy.Query | None
    query: tantivy.Query
    warnings: tuple[str, ...]
    everything: bool = False


def prepare_text(text: str) -> str:
    """The text with colons of non-fields escaped and CJK split; refused when nested too deep."""
    depth = deepest = 0

    def fix(match: re.Match[str]) -> str:
        nonlocal depth, deepest
        piece = match.group()
        if piece.startswith('"'):
            return piece
        for char in piece:
            depth += (char == "(") - (char == ")")
            deepest = max(deepest, depth)
        field = _FIELD.match(piece)
        if field is None or field.group(1) not in USER_FIELDS:
            return _COLON.sub(r"\\:", piece)
        return piece[: field.end()] + _COLON.sub(r"\\:", piece[field.end():])

    prepared = _PIECE.sub(fix, text)
    if deepest > MAX_DEPTH:
        raise InvalidInputError(f"the query nests parentheses {deepest} deep; at most {MAX_DEPTH}")
    return split_cjk(prepared)


def parse_text(index: tantivy.Index, text: str, *, conjunction: bool = True) -> tuple[tantivy.Query, list[str]]:
    """The user's text as a query over the text fields, and what the parser had to drop."""
    prepared = prepare_text(text)
    query, errors = _parse(index, prepared, conjunction)
    warnings = [str(e) for e in errors]
    if any(_ONLY_EXCLUDING in w for w in warnings):
        query, errors = _parse(index, f"* {prepared}", conjunction)
        warnings = [str(e) for e in errors]
    return query, warnings


def _parse(index: tantivy.Index, text: str, conjunction: bool) -> tuple[tantivy.Query, list[object]]:
    try:
        return index.parse_query_lenient(text, list(TEXT_FIELDS), field_boosts=BOOSTS,
                                         conjunction_by_default=conjunction)
    except ValueError as exc:
        raise InvalidInputError(f"cannot read the query {text!r}: {exc}") from exc


def filters(schema: tantivy.Schema, q: SearchQuery) -> list[tantivy.Query]:
    """One query per filter of ``q``; a document must match them all."""
    found: list[tantivy.Query] = []
    if len(set(q.types)) == 1:  # a term's postings are skipped through; a term set is read whole into a bitset
        found.append(tantivy.Query.term_query(schema, "type", q.types[0]))
    elif q.types:
        found.append(tantivy.Query.term_set_query(schema, "type", sorted(set(q.types))))
    if q.size_gte is not None or q.size_lte is not None:
        found.append(tantivy.Query.range_query(schema, "size_bytes", tantivy.FieldType.Integer,
                                               q.size_gte, q.size_lte, include_lower=True, include_upper=True))
    for tag in q.tags:
        found.append(tantivy.Query.term_query(schema, "tag", tag.lower()))
    for field, value in (("pipeline_tag", q.pipeline_tag), ("library", q.library), ("author", q.author)):
        if value is not None:
            found.append(tantivy.Query.term_query(schema, field, value.lower()))
    if q.gated is not None:
        found.append(tantivy.Query.term_query(schema, "gated", q.gated))
    if q.mirrored is not None:
        found.append(tantivy.Query.term_query(schema, "mirrored", q.mirrored))
    if q.keys is not None:
        found.append(tantivy.Query.term_set_query(schema, "key", sorted(q.keys)) if q.keys
                     else tantivy.Query.empty_query())
    return found


def compile_query(index: tantivy.Index, q: SearchQuery, *, conjunction: bool = True) -> Compiled:
    """The query to run: the text (or every document) AND every filter, filters adding no score."""
    text_query: tantivy.Query | None = None
    warnings: list[str] = []
    if q.text.strip():
        text_query, warnings = parse_text(index, q.text, conjunction=conjunction)
    must = [text_query] if text_query is not None else []
    must += [tantivy.Query.const_score_query(f, 0.0) for f in filters(index.schema, q)]
    if not must:  # all_query is not put beside filters: intersecting with it costs a visit a document
        return Compiled(None, tantivy.Query.all_query(), tuple(warnings), everything=True)
    query = must[0] if len(must) == 1 else tantivy.Query.boolean_query([(tantivy.Occur.Must, m) for m in must])
    return Compiled(text_query, query, tuple(warnings))
