"""Repo cards (README.md with YAML front matter) of models, datasets and Spaces, split as the Hub does.

``parse_card`` never raises, so one broken card cannot stop a run: what went wrong is in ``problem``.
``card_fields`` reads the fields the mirror records and searches, whatever type the YAML gave them.
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

_OPENING = re.compile(r"\s*---[ \t]*(?:\r\n|\r|\n|$)")  # opens like front matter
_NO_BLOCK = "a '---' line opens the text, but the Hub's rule finds no YAML block"
_RELATIONS = frozenset({"adapter", "merge", "quantized", "finetune"})
MAX_FRONT_MATTER = 2 << 20  # characters: the largest real cards' YAML is about 1 MB
# libyaml's loader when PyYAML has it: the same reading as SafeLoader, several times faster, and it
# refuses nesting past 1000 levels at once (SafeLoader recurses there for seconds). Its errors point
# less well: a block it refuses for anything but depth is read again by SafeLoader for the message.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DEPTH_PROBLEM = "exceeded maximum nesting depth"
_TRUE, _FALSE = frozenset({"true", "yes", "on", "1"}), frozenset({"false", "no", "off", "0"})


class _TooLarge(Exception):
    """Aliases expand the front matter beyond its budget of values."""


@dataclass(frozen=True, slots=True)
class Card:
    """A card split the way the Hub splits it: front matter as JSON values, and the Markdown body."""

    data: dict[str, Any] = field(hash=False)  # {} when there is no front matter or it is unusable
    body: str  # after the block (even an unusable one); the whole text when there is none
    problem: str | None = None  # why front matter that is there was not used


def parse_card(text: str | bytes) -> Card:
    """Split a card with the Hub's regex and ``yaml.safe_load``; bytes are read as UTF-8 (bad bytes replaced).

    A leading BOM is dropped: the Hub finds a block behind one (JavaScript's ``\\s`` matches U+FEFF).
    """
    # huggingface_hub.repocard imports the whole Hub client (~0.25 s): loaded at the first card, so
    # commands that read no card (``status``, ``ipfs``...) start without it
    from huggingface_hub.repocard import REGEX_YAML_BLOCK

    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", errors="replace")
    text = text.removeprefix("\ufeff")
    match = REGEX_YAML_BLOCK.search(text)
    if match is None:  # no block; but say so when the text opens like one (an unclosed or empty block)
        return Card({}, text, _NO_BLOCK if _OPENING.match(text) else None)
    body, block = text[match.end() :], match.group(2)
    if len(block) > MAX_FRONT_MATTER:
        return Card({}, body, f"front matter too large: {len(block)} characters, over {MAX_FRONT_MATTER}")
    try:
        data = _to_json(yaml.load(block, Loader=_LOADER), budget=2 * len(block) + 1)
    except (yaml.YAMLError, ValueError, RecursionError) as exc:  # ValueError: a date like 2022-13-45
        if _LOADER is not yaml.SafeLoader and isinstance(exc, yaml.MarkedYAMLError) and exc.problem != _DEPTH_PROBLEM:
            try:
                yaml.safe_load(block)
            except (yaml.YAMLError, ValueError, RecursionError) as precise:
                exc = precise
        return Card({}, body, _yaml_problem(exc, first_line=match.group(1).count("\n") + 1))
    except _TooLarge:
        return Card({}, body, "front matter too large: its aliases expand past two values a character, or loop")
    if data is not None and not isinstance(data, dict):
        return Card({}, body, f"front matter is not a mapping (a {type(data).__name__})")
    return Card(data or {}, body)  # an empty block is {}, as on the Hub


def _to_json(root: Any, budget: int) -> Any:
    """JSON values of a YAML document, at most ``budget`` of them: aliases can expand a few hundred
    bytes to billions of values, or a cycle; without them YAML yields well under two values a character.
    """

    def convert(value: Any) -> Any:
        nonlocal budget
        if (budget := budget - 1) < 0:
            raise _TooLarge
        if isinstance(value, dict):
            return {_key(k): convert(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):  # tuples: the pairs of !!omap and !!pairs
            return [convert(v) for v in value]
        if isinstance(value, (set, frozenset)):  # !!set: sorted, so the result is reproducible
            return sorted((convert(v) for v in value), key=repr)
        return _scalar(value)

    return convert(root)


def _scalar(value: Any) -> Any:
    """A YAML scalar as a JSON value: dates as ISO 8601 text; NaN, infinities and binary as text."""
    if value is None or isinstance(value, (str, int)):  # bool is an int
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, bytes):  # !!binary: back to its base64 text
        return base64.b64encode(value).decode("ascii")
    return str(value)


def _key(key: Any) -> str:
    """A mapping key as JSON writes it: ``0`` -> "0", ``true`` -> "true", ``~`` -> "null"."""
    value = _scalar(key)
    return value if isinstance(value, str) else json.dumps(value)


def _yaml_problem(exc: Exception, first_line: int) -> str:
    """One line naming the error and where it is in the file (``first_line``: where the block starts)."""
    mark = getattr(exc, "problem_mark", None)
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem and mark is not None:
        return f"invalid YAML: {exc.problem} (line {mark.line + first_line}, column {mark.column + 1})"
    return f"invalid YAML: {(str(exc).splitlines() or [type(exc).__name__])[0]}"


@dataclass(frozen=True, slots=True)
class CardFields:
    """The front-matter fields the mirror records, each of its declared type whatever the YAML held.

    Lists are flattened (a mapping counts as per-config values), stripped, de-duplicated in order.
    ``licenses`` holds license ids only: a custom ``license_name`` stays in ``Card.data``.
    """

    licenses: tuple[str, ...] = ()  # license, and old dataset cards' licenses
    languages: tuple[str, ...] = ()  # language and old languages, as written; "en, de" is split
    datasets: tuple[str, ...] = ()
    base_models: tuple[str, ...] = ()
    base_model_relation: str | None = None  # adapter, merge, quantized or finetune
    task_categories: tuple[str, ...] = ()
    task_ids: tuple[str, ...] = ()
    size_categories: tuple[str, ...] = ()
    source_datasets: tuple[str, ...] = ()
    pretty_name: str | None = None
    tags: tuple[str, ...] = ()
    pipeline_tag: str | None = None
    library_name: str | None = None
    # Spaces
    title: str | None = None
    emoji: str | None = None
    color_from: str | None = None
    color_to: str | None = None
    sdk: str | None = None
    sdk_version: str | None = None
    app_file: str | None = None
    pinned: bool | None = None
    short_description: str | None = None
    thumbnail: str | None = None
    models: tuple[str, ...] = ()


_NO_FIELDS = CardFields()  # a repo with no card (most of a catalog walk's): nothing to read


def card_fields(data: Mapping[str, Any] | None) -> CardFields:
    """The fields of (JSON-like) front matter; wrong types are converted or dropped, never raised."""
    if not data or not isinstance(data, Mapping):
        return _NO_FIELDS
    get = data.get
    relation = (_first(get("base_model_relation")) or "").lower()
    return CardFields(
        licenses=_strings(get("license"), get("licenses")),
        languages=_strings(get("language"), get("languages"), sep=","),
        datasets=_strings(get("datasets")),
        base_models=_strings(get("base_model")),
        base_model_relation=relation if relation in _RELATIONS else None,
        task_categories=_strings(get("task_categories")),
        task_ids=_strings(get("task_ids")),
        size_categories=_strings(get("size_categories")),
        source_datasets=_strings(get("source_datasets")),
        pretty_name=_first(get("pretty_name")),
        tags=_strings(get("tags")),
        pipeline_tag=_first(get("pipeline_tag")),
        library_name=_first(get("library_name")),
        title=_first(get("title")),
        emoji=_first(get("emoji")),
        color_from=_first(get("colorFrom")),
        color_to=_first(get("colorTo")),
        sdk=_first(get("sdk")),
        sdk_version=_first(get("sdk_version")),
        app_file=_first(get("app_file")),
        pinned=_flag(get("pinned")),
        short_description=_first(get("short_description")),
        thumbnail=_first(get("thumbnail")),
        models=_strings(get("models")),
    )


def card_title(data: Mapping[str, Any] | None) -> str | None:
    """``card_fields(data).title or .pretty_name``, reading only those two: search documents need
    nothing else, and a catalog walk makes a million of them."""
    get = (data if isinstance(data, Mapping) else {}).get
    return _first(get("title")) or _first(get("pretty_name"))


def _strings(*values: Any, sep: str | None = None) -> tuple[str, ...]:
    """The texts and numbers in ``values`` (mappings by their values), stripped, de-duplicated, in order.

    Booleans are dropped, not spelled: YAML 1.1 reads a bare ``no`` (Norwegian) as false.
    """
    if len(values) == 1:  # the common cases, a million times a catalog walk: absent, or one text
        value = values[0]
        if value is None:
            return ()
        if type(value) is str and sep is None:
            text = value.strip()
            return (text,) if text else ()
    found: dict[str, None] = {}
    stack = list(reversed(values))
    while stack:  # not recursive: any depth of nesting is fine
        value = stack.pop()
        if isinstance(value, Mapping):
            stack.extend(reversed(list(value.values())))
        elif isinstance(value, (list, tuple)):
            stack.extend(reversed(value))
        elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
            parts = str(value).split(sep) if sep else [str(value)]
            found.update(dict.fromkeys(part.strip() for part in parts if part.strip()))
    return tuple(found)


def _first(value: Any) -> str | None:
    """A single text: the value itself, or the first text of a list or mapping (``[SV-Ident]``)."""
    return next(iter(_strings(value)), None)


def _flag(value: Any) -> bool | None:
    """A boolean, also from text or 0/1 (``"false"``, ``"yes"``); None when it is not one."""
    if isinstance(value, bool):
        return value
    text = (_first(value) or "").lower()
    return True if text in _TRUE else False if text in _FALSE else None
