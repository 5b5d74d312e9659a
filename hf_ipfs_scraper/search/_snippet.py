"""Snippets: the part of a README where most of the query's words are, as HTML with ``<mark>``.

Done here with ``str.find`` rather than with tantivy's snippet generator, which tokenizes the whole
README for every hit (0.1-0.2 ms per 10 kB: most of a search's time). Words match as the index
matches them: whole words, any case; only ASCII folding is not repeated (a query "munchen" finds
"München", but its snippet then shows the README's start), and only the first ``_MAX_SCAN``
characters are looked at.
"""

from __future__ import annotations

import html
import re
from collections import deque
from dataclasses import dataclass

from ._schema import USER_FIELDS, ZWSP, split_cjk

SNIPPET_CHARS = 200
_MAX_MATCHES = 24
_FIRST_OF_EACH = 8
_MAX_SCAN = 20_000  # characters of a README looked at: a match further on is not shown
_PIECE = re.compile(r'-?"[^"]*"?|\S+')
_WORD = re.compile(r"[^\W_]+")
_OPERATORS = frozenset({"AND", "OR", "NOT", "TO"})


def query_words(text: str) -> list[str]:
    """The words of a query text that the README may contain: not operators, not excluded
    (``-word``), not those aimed at a field other than ``readme``."""
    words: dict[str, None] = {}
    for piece in _PIECE.findall(text):
        if piece.startswith("-"):
            continue
        field, colon, rest = piece.lstrip("+(").partition(":")
        if colon and field in USER_FIELDS:
            if field != "readme":
                continue
            piece = rest
        for word in _WORD.findall(split_cjk(piece)):  # a Han or kana character is a word
            if word not in _OPERATORS:
                words[word.lower()] = None
    return list(words)


@dataclass(frozen=True, slots=True)
class Words:
    """The words of a query, found in a README as whole words: first as typed, lowercase,
    Capitalized and UPPERCASE (``str.find``: fast); only when none of those is there, with a
    case-blind regular expression (for "TensorFlow" when the query says "tensorflow")."""

    count: int
    forms: tuple[tuple[str, str], ...]  # (text to find, the word it is)
    pattern: re.Pattern[str]

    @classmethod
    def of(cls, query_text: str) -> Words | None:
        typed = {w.lower(): w for w in _WORD.findall(split_cjk(query_text))}
        words = query_words(query_text)
        if not words:
            return None
        forms = {(form, w): None for w in words for form in (typed.get(w, w), w, w.capitalize(), w.upper())}
        alternation = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
        return cls(len(words), tuple(forms), re.compile(f"(?:{alternation})", re.IGNORECASE))

    def find(self, text: str, start: int, end: int, each: int = _MAX_MATCHES) -> list[tuple[int, int, str]]:
        """``(start, end, word)`` of the whole-word matches in ``text[start:end]``, in order, the
        first ``each`` of each form."""
        found = []
        for form, word in self.forms:
            at, count = text.find(form, start, end), 0
            while at >= 0 and count < each:
                if _whole(text, at, at + len(form)):
                    found.append((at, at + len(form), word))
                    count += 1
                at = text.find(form, at + len(form), end)
        if not found:
            found = [(m.start(), m.end(), m.group().lower()) for m in self.pattern.finditer(text, start, end)
                     if _whole(text, m.start(), m.end())][:each]
        return sorted(set(found))


def _whole(text: str, start: int, end: int) -> bool:
    """Not inside a longer word (as the tokenizer splits: ``_``, ``-``, a zero-width space split)."""
    return not (start and text[start - 1].isalnum()) and not (end < len(text) and text[end].isalnum())


def snippet(text: str, words: Words | None, size: int = SNIPPET_CHARS) -> str:
    """``size`` characters of ``text`` around the matches with the most distinct words (the
    first window with them all); matches in ``<mark>``, the rest escaped, whitespace collapsed.
    Without a match, the README's start."""
    # one word: its first match is the best window; more: the first few of each
    each = 1 if words is not None and words.count == 1 else _FIRST_OF_EACH
    window = _best_window(words.find(text, 0, min(len(text), _MAX_SCAN), each), words.count, size) if words else []
    if words is None or not window:
        return html.escape(" ".join(text[: size * 2].replace(ZWSP, "").split())[:size])
    first, first_end = window[0][0], window[0][1]
    start = max(0, first - size // 4)
    if start:
        space = text.find(" ", start, first)
        start = space + 1 if space >= 0 else start
    end = min(len(text), start + size)
    if end < len(text):
        space = text.rfind(" ", first_end, end)
        end = space if space > 0 else end
    parts, at = ["…" if start else ""], start
    for match_start, match_end, _ in words.find(text, start, end):
        if match_start >= at:
            parts += [html.escape(text[at:match_start]), f"<mark>{html.escape(text[match_start:match_end])}</mark>"]
            at = match_end
    parts += [html.escape(text[at:end]), "…" if end < len(text) else ""]
    return " ".join("".join(parts).replace(ZWSP, "").replace("</mark><mark>", "").split())


def _best_window(found: list[tuple[int, int, str]], words: int, size: int) -> list[tuple[int, int, str]]:
    """The matches in the ``size`` characters that hold the most distinct words (the first
    window with all ``words``)."""
    best: list[tuple[int, int, str]] = []
    best_words = 0
    window: deque[tuple[int, int, str]] = deque()
    for match in found:
        window.append(match)
        while window[0][0] <= match[1] - size:
            window.popleft()
        distinct = len({m[2] for m in window})
        if distinct > best_words:
            best, best_words = list(window), distinct
            if distinct >= words:
                break
    return best
