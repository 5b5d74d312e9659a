"""A dataset card's ``description`` and ``citation`` as the Hub serves them.

``description`` is the card body (front matter removed) rendered from Markdown to plain text the
way the Hub's API and Croissant answers show it: each heading becomes
``"\\n\\t\\n\\t\\t\\n\\t\\t<heading>\\n\\t\\n\\n"``, each paragraph its lines (soft breaks kept) plus ``"\\n"``,
link markup reduced to the link text. Lists, tables, code blocks, HTML and images are not text;
a heading whose section holds only such blocks (the template's "Table of Contents", or
"Dataset Description" over its Homepage/Paper list) is left out with them. Past ~500 characters
the text is cut at a word and ends ``"… See the full description on the dataset page:
https://huggingface.co/datasets/<id>."``. ``citation`` is the BibTeX in the card's "Citation"
section (the first fenced block, or the text from the first ``@``), None without one.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

from huggingface_hub.repocard import REGEX_YAML_BLOCK

DESCRIPTION_MAX = 500
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_LIST = re.compile(r"^\s*([-*+]|\d+[.)])\s+")
_FENCE = re.compile(r"^\s*(```|~~~)")
_INLINE = (
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), ""),  # images
    (re.compile(r"\[([^\]]*)\]\([^)]*\)"), r"\1"),  # links -> their text
    (re.compile(r"<(https?://[^>\s]+)>"), r"\1"),  # autolinks
    (re.compile(r"<[^>]+>"), ""),  # inline HTML
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),  # bold
    (re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])"), r"\1"),  # italics
    (re.compile(r"`([^`]*)`"), r"\1"),  # code spans
)


def card_body(readme: bytes) -> str:
    """The README text after its front matter (the whole text when it has none)."""
    text = readme.decode("utf-8", "replace").lstrip("\ufeff").replace("\r\n", "\n")
    match = REGEX_YAML_BLOCK.search(text)
    return text[match.end() :] if match is not None else text


def _inline(line: str) -> str:
    for pattern, repl in _INLINE:
        line = pattern.sub(repl, line)
    return html.unescape(line)


def _blocks(body: str) -> list[tuple[str, str]]:
    """("heading"|"text"|"skip", content) blocks in order; "skip" is a non-text block."""
    blocks: list[tuple[str, str]] = []
    para: list[str] = []
    fence: str | None = None

    def flush() -> None:
        if para:
            blocks.append(("text", "\n".join(para)))
            para.clear()

    for line in body.split("\n"):
        if fence is not None:
            fence = None if line.strip().startswith(fence) else fence
            continue
        opening = _FENCE.match(line)
        heading = _HEADING.match(line)
        if opening or heading or not line.strip() or _LIST.match(line) or line.lstrip().startswith(("|", "<")):
            flush()
        if opening:
            fence = opening.group(1)
            blocks.append(("skip", ""))
        elif heading:
            blocks.append(("heading", _inline(heading.group(2)).strip()))
        elif _LIST.match(line) or line.lstrip().startswith(("|", "<")) or (line.startswith("  ") and not para):
            blocks.append(("skip", ""))
        elif line.strip():
            text = _inline(line)
            if text.strip():
                para.append(text)
    flush()
    return blocks


@lru_cache(maxsize=512)
def description(readme: bytes, repo_id: str) -> str | None:
    blocks = _blocks(card_body(readme))
    out: list[str] = []
    for n, (kind, content) in enumerate(blocks):
        if kind == "text":
            out.append(content + "\n")
        elif kind == "heading" and content:
            section = [k for k, _ in blocks[n + 1 :][: _next_heading(blocks[n + 1 :])]]
            if "skip" in section and "text" not in section:
                continue
            out.append(f"\n\t\n\t\t\n\t\t{content}\n\t\n\n")
    text = "".join(out)
    if not text.strip():
        return None
    if len(text) <= DESCRIPTION_MAX:
        return text
    cut = text[:DESCRIPTION_MAX]
    cut = cut[: max(cut.rfind(" "), cut.rfind("\n"), 1)].rstrip()
    return f"{cut}… See the full description on the dataset page: https://huggingface.co/datasets/{repo_id}."


def _next_heading(blocks: list[tuple[str, str]]) -> int:
    return next((n for n, (kind, _) in enumerate(blocks) if kind == "heading"), len(blocks))


@lru_cache(maxsize=512)
def citation(readme: bytes) -> str | None:
    lines = card_body(readme).split("\n")
    headings = ((n, _HEADING.match(line)) for n, line in enumerate(lines))
    start = next((n for n, h in headings if h is not None and "citation" in h.group(2).lower()), None)
    if start is None:
        return None
    level = len(_HEADING.match(lines[start]).group(1))  # type: ignore[union-attr]
    section: list[str] = []
    for line in lines[start + 1 :]:
        h = _HEADING.match(line)
        if h and len(h.group(1)) <= level:
            break
        section.append(line)
    fences = [n for n, line in enumerate(section) if _FENCE.match(line)]
    if len(fences) >= 2:
        text = "\n".join(section[fences[0] + 1 : fences[1]]).strip()
    else:
        at = next((n for n, line in enumerate(section) if line.lstrip().startswith("@")), None)
        text = "\n".join(section[at:]).strip() if at is not None else ""
    return text if "@" in text else None
