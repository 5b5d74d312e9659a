"""Immutable records of what the Hub says about a repo and its files, built explicitly from the API.

One frozen dataclass per repo type — :class:`ModelRecord`, :class:`DatasetRecord`,
:class:`SpaceRecord` — over the fields they share (:class:`RepoRecord`). ``from_api`` reads the
client's ``ModelInfo``/``DatasetInfo``/``SpaceInfo`` field by field (no ``**kwargs`` soup), so a
renamed upstream field fails loudly in one place; card fields (license, languages, base models...)
are normalized once here, from the card data and the Hub's tags, so every consumer (state store,
provenance, export) reads the same values.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Iterable, Mapping

from .cards import CardFields, card_fields

logger = logging.getLogger(__name__)
REPO_TYPES = ("model", "dataset", "space")


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        return value.astimezone(_dt.timezone.utc).isoformat().replace("+00:00", "Z")
    return str(value)


def _card(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if hasattr(value, "to_dict"):
        return dict(value.to_dict())
    return dict(value) if isinstance(value, dict) else None


@dataclass(frozen=True, slots=True)
class _Listed:
    """What ``from_listing`` read from the JSON itself: the card data as ``_card`` would give it,
    and the two dates as ``_iso`` would write them."""

    card: dict[str, Any] | None
    created_at: str | None
    last_modified: str | None


# Card keys huggingface_hub's card classes transform (model-index to eval results and back, tags
# made unique, train-eval-index renamed): a card with one goes the library's way.
_TRANSFORMED_CARD_KEYS = frozenset({"model-index", "eval_results", "model_name", "train_eval_index",
                                    "train-eval-index", "ignore_metadata_errors"})
_READ_FROM_JSON = ("cardData", "createdAt", "lastModified")
_SNAKE_ALIASES = frozenset({"card_data", "created_at", "last_modified"})  # the info classes take these too
_HEX40, _HEX64 = re.compile(r"[0-9a-f]{40}"), re.compile(r"[0-9a-f]{64}")
_HUB_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z")


class _NotPlain(Exception):
    """A listing entry ``from_listing`` leaves to huggingface_hub's info class."""


def _card_of(info: Any, listed: _Listed | None) -> dict[str, Any] | None:
    """The card data: ``from_listing``'s reading when there is one, else the info's; made storable."""
    card = _card(info.card_data) if listed is None else listed.card
    return _storable_card(card) if card else card


MAX_CARD_DEPTH = 64  # real cards nest a few levels (model-index: 6); the Hub's YAML parser sets no bound
TOO_DEEP = f"(nested deeper than {MAX_CARD_DEPTH} levels: not kept)"


def storable_text(value: str) -> str:
    """``value`` as UTF-8 can hold it: a lone surrogate (JSON's ``"\\ud800"``, which the Hub's
    JavaScript may send) becomes U+FFFD, as bad bytes do when decoded; SQLite, Parquet, the search
    index and JSON files written as UTF-8 all refuse it."""
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value


def _storable_card(card: dict[str, Any]) -> dict[str, Any]:
    """``card`` when every text in it is valid and it nests at most ``MAX_CARD_DEPTH`` levels
    (nearly always: then nothing is copied); else a copy with bad text mended and what lies deeper
    replaced by ``TOO_DEEP`` (the state store, metadata.json and the web answers recurse over it)."""
    if _storable(card, 0):
        return card
    mended = _mended(card, 0)
    assert isinstance(mended, dict)
    return mended


def _storable(value: Any, depth: int) -> bool:
    if type(value) is str:
        return value.isascii() or storable_text(value) is value
    if isinstance(value, dict):
        return depth < MAX_CARD_DEPTH and all(
            (type(k) is not str or k.isascii() or storable_text(k) is k) and _storable(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return depth < MAX_CARD_DEPTH and all(_storable(v, depth + 1) for v in value)
    return True


def _mended(value: Any, depth: int) -> Any:
    if type(value) is str:
        return storable_text(value)
    if isinstance(value, (dict, list)) and depth >= MAX_CARD_DEPTH:
        return TOO_DEEP
    if isinstance(value, dict):
        return {storable_text(k) if type(k) is str else k: _mended(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_mended(v, depth + 1) for v in value]
    return value


def _plain_card(value: Any) -> dict[str, Any] | None:
    if not value or not isinstance(value, dict):
        return None  # what _card gives then (the info classes read an empty card as none)
    if not _TRANSFORMED_CARD_KEYS.isdisjoint(value) or not _unique_texts(value.get("tags")):
        raise _NotPlain
    return {k: v for k, v in value.items() if v is not None}  # CardData.to_dict() drops None too


def _unique_texts(tags: Any) -> bool:
    """Whether the library's ``_to_unique_list`` leaves ``tags`` as they are (None, or distinct texts)."""
    return tags is None or (type(tags) is list and all(type(t) is str for t in tags) and len(set(tags)) == len(tags))


def _plain_date(value: Any) -> str | None:
    """``_iso(parse_datetime(value))`` (the info classes' reading) by ``fromisoformat``: strptime
    was a quarter of a listing page's parsing."""
    if not value:
        return None
    if type(value) is not str or not _HUB_DATE.fullmatch(value):
        raise _NotPlain
    base, _, fraction = value[:-1].partition(".")
    try:  # huggingface_hub's rule: six digits of fraction, cut or padded
        parsed = _dt.datetime.fromisoformat(f"{base}.{fraction[:6]:0<6}").replace(tzinfo=_dt.timezone.utc)
    except ValueError:
        raise _NotPlain from None
    return _iso(parsed)


def _listed(item: Mapping[str, Any]) -> _Listed:
    if not _SNAKE_ALIASES.isdisjoint(item):
        raise _NotPlain
    return _Listed(_plain_card(item.get("cardData")), _plain_date(item.get("createdAt")),
                   _plain_date(item.get("lastModified")))


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _jsonable(value: Any) -> Any:
    if type(value) in _SCALARS:  # first: nearly every value is one
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value if isinstance(value, (int, str, float, bool, type(None))) else str(value)


def tag_values(tags: Iterable[str], prefix: str) -> tuple[str, ...]:
    """``("license:mit", "language:en")``, ``"language"`` → ``("en",)``: the Hub's ``key:value`` tags."""
    start = prefix + ":"
    return tuple(dict.fromkeys(t[len(start):] for t in tags if t.startswith(start) and len(t) > len(start)))


def _merge(*groups: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for group in groups for v in group if v))


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, (list, tuple)):
        return tuple(v for v in value if isinstance(v, str) and v)
    return ()


def _license_languages(fields: CardFields, tags: tuple[str, ...]) -> dict[str, Any]:
    # (a function, not a method: zero-argument super() fails in slotted dataclasses before 3.14)
    return {
        "license": (fields.licenses or tag_values(tags, "license") or (None,))[0],
        "languages": _merge(fields.languages, tag_values(tags, "language")),
    }


def dir_name(repo_id: str) -> str:
    """``owner__name``: a repo's folder under ``<output_dir>/<type>s/`` (and a snapshot's link name).

    Ids the Hub allows may hold ``_`` too, so ``a__b/c`` and ``a/b__c`` would share a folder: an
    id where ``__`` could be read two ways gets ``~`` (which no id holds) and 12 hex digits of its
    sha256 after it, so every id has a folder of its own and the common ones keep the plain name."""
    name = repo_id.replace("/", "__")
    if "__" in repo_id or "_/" in repo_id or "/_" in repo_id:
        name += "~" + hashlib.sha256(repo_id.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return name


@dataclass(frozen=True, slots=True, kw_only=True)
class RepoRecord:
    """One repo as listed: identity, revision and the fields every repo type has."""

    type: ClassVar[str] = ""
    id: str
    sha: str | None = None
    private: bool = False
    gated: str | bool = False
    disabled: bool = False
    author: str | None = None
    tags: tuple[str, ...] = ()
    trending_score: float | None = None
    likes: int = 0
    downloads: int = 0
    created_at: str | None = None
    last_modified: str | None = None
    used_storage: int | None = None
    card_data: dict[str, Any] | None = field(default=None, compare=False, hash=False)
    license: str | None = None
    languages: tuple[str, ...] = ()
    # ``card_fields(card_data)``, read once when the record is made (provenance and the scrapers
    # ask for it again: a walk makes millions of records); not part of the metadata.
    _card_fields: CardFields | None = field(default=None, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        """Mend what the Hub's JSON may carry that a field cannot hold: texts UTF-8 cannot hold
        (lone surrogates, ``storable_text``) and values of the wrong type (``"likes": [1]``) —
        either one would stop every write of the run, or the export. A wrong-typed value becomes
        the field's "unknown" (None, 0, False, or the tuple without it) and a warning says so."""
        for name, kind in _checked_fields(type(self)):
            value = getattr(self, name)
            if kind is _TEXT:
                if type(value) is str:
                    if not value.isascii() and storable_text(value) is not value:
                        object.__setattr__(self, name, storable_text(value))
                elif value is not None:
                    self._mend(name, value, None)
            elif kind is _TEXTS:
                if type(value) is not tuple or not all(type(v) is str for v in value):
                    kept = tuple(v for v in value if type(v) is str) if type(value) is tuple else ()
                    self._mend(name, value, kept)
                    value = kept
                if not all(v.isascii() or storable_text(v) is v for v in value):
                    object.__setattr__(self, name, tuple(storable_text(v) for v in value))
            elif type(value) not in kind.accepts:
                if type(value) is float and int in kind.accepts and value.is_integer():
                    object.__setattr__(self, name, int(value))  # 12.0 for 12: JSON does not tell them apart
                else:
                    self._mend(name, value, kind.unknown)

    def _mend(self, name: str, value: Any, unknown: Any) -> None:
        logger.warning("%s %s: %s is %s (%.60r), not what the Hub sends: recorded as %r",
                       self.type, self.id, name, type(value).__name__, value, unknown)
        object.__setattr__(self, name, unknown)

    @classmethod
    def _common(cls, info: Any, card: dict[str, Any] | None, fields: CardFields,
                listed: _Listed | None) -> dict[str, Any]:
        tags = _texts_of(info.id, "tags", info.tags)  # read below, before __post_init__ checks the record
        return {
            "id": info.id,
            "sha": info.sha,
            "private": bool(info.private),
            "gated": info.gated if info.gated else False,
            "disabled": bool(getattr(info, "disabled", False)),
            "author": info.author or (info.id.split("/")[0] if "/" in info.id else None),
            "tags": tags,
            "trending_score": info.trending_score,
            "likes": info.likes or 0,
            "downloads": getattr(info, "downloads", None) or 0,
            "created_at": _iso(info.created_at) if listed is None else listed.created_at,
            "last_modified": _iso(info.last_modified) if listed is None else listed.last_modified,
            "used_storage": getattr(info, "used_storage", None),
            "card_data": card,
            "_card_fields": fields,
            **cls._derived(fields, tags),
        }

    @classmethod
    def _derived(cls, fields: CardFields, tags: tuple[str, ...]) -> dict[str, Any]:
        """The fields normalized from the card and the Hub's ``key:value`` tags."""
        return _license_languages(fields, tags)

    @classmethod
    def from_api(cls, info: Any, listed: _Listed | None = None) -> RepoRecord:
        """From a huggingface_hub ``ModelInfo``, ``DatasetInfo`` or ``SpaceInfo`` (per subclass);
        ``listed``: the parts ``from_listing`` read from the JSON instead."""
        card = _card_of(info, listed)
        return cls(**cls._common(info, card, card_fields(card), listed))

    @classmethod
    def from_listing(cls, item: Mapping[str, Any], info_type: Callable[..., Any]) -> RepoRecord:
        """``from_api(info_type(**item))`` for one entry of a listing page, in half the time: the
        card data and the dates, which the info class deep-copies and parses with strptime (half
        of a catalog walk's parsing), are read from the JSON here, the way the library would
        read them; an entry where that way is not plain (a card with a model-index, say) goes
        through the info class whole."""
        try:
            listed = _listed(item)
        except _NotPlain:
            return cls.from_api(info_type(**item))
        return cls.from_api(info_type(**{k: v for k, v in item.items() if k not in _READ_FROM_JSON}), listed)

    @classmethod
    def from_metadata(cls, data: Mapping[str, Any]) -> RepoRecord:
        """Back from a ``metadata.json`` this or an older version wrote (unknown keys are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in names}
        card = data.get("card_data")
        values["card_data"] = dict(card) if isinstance(card, dict) else None
        values["_card_fields"] = fields = card_fields(values["card_data"])
        for name, value in cls._derived(fields, tuple(values.get("tags", ()))).items():
            values.setdefault(name, value)  # an older metadata.json did not have it yet
        return cls(**values)

    @property
    def dir_name(self) -> str:
        """``owner__name``: the folder under ``<output_dir>/<type>s/``."""
        return dir_name(self.id)

    @property
    def card(self) -> CardFields:
        return self._card_fields if self._card_fields is not None else card_fields(self.card_data)

    def metadata(self) -> dict[str, Any]:
        """Normalized metadata.json content: every field, JSON-ready."""
        out: dict[str, Any] = {"type": self.type}
        for name in _public_fields(type(self)):
            out[name] = _jsonable(getattr(self, name))
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelRecord(RepoRecord):
    """A model; ``base_models``/``base_model_relation`` are the Hub's own ``baseModels`` when an
    info response carried them (a listing never does: then the card and tags say)."""

    type: ClassVar[str] = "model"
    pipeline_tag: str | None = None
    library_name: str | None = None
    base_models: tuple[str, ...] = ()
    base_model_relation: str | None = None

    @classmethod
    def from_api(cls, info: Any, listed: _Listed | None = None) -> ModelRecord:
        card = _card_of(info, listed)
        hub_bases = getattr(info, "base_models", None)
        bases: tuple[str, ...] = ()
        relation = None
        if isinstance(hub_bases, dict):
            bases = tuple(m["id"] for m in hub_bases.get("models") or () if isinstance(m, dict) and m.get("id"))
            relation = hub_bases.get("relation") if isinstance(hub_bases.get("relation"), str) else None
        return cls(
            **cls._common(info, card, card_fields(card), listed),
            pipeline_tag=getattr(info, "pipeline_tag", None),
            library_name=getattr(info, "library_name", None),
            base_models=bases,
            base_model_relation=relation,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class DatasetRecord(RepoRecord):
    """A dataset: the Hub's description and citation, and the card's task and size categories."""

    type: ClassVar[str] = "dataset"
    description: str | None = None
    citation: str | None = None
    paperswithcode_id: str | None = None
    task_categories: tuple[str, ...] = ()
    size_categories: tuple[str, ...] = ()

    @classmethod
    def _derived(cls, fields: CardFields, tags: tuple[str, ...]) -> dict[str, Any]:
        return _license_languages(fields, tags) | {
            "task_categories": _merge(fields.task_categories, tag_values(tags, "task_categories")),
            "size_categories": _merge(fields.size_categories, tag_values(tags, "size_categories")),
        }

    @classmethod
    def from_api(cls, info: Any, listed: _Listed | None = None) -> DatasetRecord:
        card = _card_of(info, listed)
        return cls(
            **cls._common(info, card, card_fields(card), listed),
            description=info.description or None,
            citation=info.citation or None,
            paperswithcode_id=info.paperswithcode_id or None,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class SpaceRecord(RepoRecord):
    """A Space: its SDK and runtime, the models and datasets it uses, and its card's looks."""

    type: ClassVar[str] = "space"
    sdk: str | None = None
    sdk_version: str | None = None
    runtime_stage: str | None = None
    hardware: str | None = None
    subdomain: str | None = None
    models: tuple[str, ...] = ()
    datasets: tuple[str, ...] = ()
    title: str | None = None
    emoji: str | None = None
    color_from: str | None = None
    color_to: str | None = None
    short_description: str | None = None
    pinned: bool | None = None
    thumbnail: str | None = None

    @classmethod
    def _derived(cls, fields: CardFields, tags: tuple[str, ...]) -> dict[str, Any]:
        return _license_languages(fields, tags) | {
            "sdk_version": fields.sdk_version, "title": fields.title, "emoji": fields.emoji,
            "color_from": fields.color_from, "color_to": fields.color_to,
            "short_description": fields.short_description, "pinned": fields.pinned, "thumbnail": fields.thumbnail,
        }

    @classmethod
    def from_api(cls, info: Any, listed: _Listed | None = None) -> SpaceRecord:
        card = _card_of(info, listed)
        fields = card_fields(card)
        runtime = info.runtime
        hardware = getattr(runtime, "hardware", None) if runtime is not None else None
        return cls(
            **cls._common(info, card, fields, listed),
            sdk=info.sdk or fields.sdk,
            runtime_stage=str(runtime.stage) if runtime is not None and runtime.stage else None,
            hardware=str(hardware) if hardware else None,
            subdomain=info.subdomain or None,
            models=_merge(_strings(info.models), fields.models),
            datasets=_merge(_strings(info.datasets), fields.datasets),
        )


def _texts_of(repo_id: Any, name: str, value: Any) -> tuple[str, ...]:
    """``_strings(value)``, and a warning when that left something out: a list of tags is read
    (license, language) before the record exists to check itself."""
    texts = _strings(value)
    if value and (not isinstance(value, (list, tuple)) or len(texts) != len(value)):
        logger.warning("%s: %s holds values that are not texts (%.60r): recorded as %r", repo_id, name, value, texts)
    return texts


@dataclass(frozen=True, slots=True)
class _Kind:
    """What a record field may hold, by its annotation, and what stands for a value it cannot."""

    annotation: str
    accepts: frozenset[type]
    unknown: Any


_TEXT = _Kind("str | None", frozenset({str, type(None)}), None)
_TEXTS = _Kind("tuple[str, ...]", frozenset({tuple}), ())
_NUMBER = _Kind("float | None", frozenset({float, int, type(None)}), None)
_KINDS = {k.annotation: k for k in (
    _TEXT, _TEXTS, _NUMBER,
    _Kind("int", frozenset({int}), 0),
    _Kind("int | None", frozenset({int, type(None)}), None),
    _Kind("str | bool", frozenset({str, bool}), False),
    _Kind("bool", frozenset({bool}), False),
    _Kind("bool | None", frozenset({bool, type(None)}), None),
)}
_CHECKED: dict[type[RepoRecord], tuple[tuple[str, _Kind], ...]] = {}


def _checked_fields(cls: type[RepoRecord]) -> tuple[tuple[str, _Kind], ...]:
    """The fields of ``cls`` with a kind to check, found once a class (the id is checked where a
    listing is read, the card data has its own mending)."""
    checked = _CHECKED.get(cls)
    if checked is None:
        checked = _CHECKED[cls] = tuple((f.name, _KINDS[str(f.type)]) for f in dataclasses.fields(cls)
                                        if f.name not in ("id", "card_data", "_card_fields"))
    return checked


_PUBLIC_FIELDS: dict[type[RepoRecord], tuple[str, ...]] = {}


def _public_fields(cls: type[RepoRecord]) -> tuple[str, ...]:
    """The fields of ``cls`` that are its metadata (not ``_card_fields``), found once a class."""
    names = _PUBLIC_FIELDS.get(cls)
    if names is None:
        names = _PUBLIC_FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls) if not f.name.startswith("_"))
    return names


RECORD_TYPES: dict[str, type[RepoRecord]] = {"model": ModelRecord, "dataset": DatasetRecord, "space": SpaceRecord}


@dataclass(frozen=True, slots=True)
class RepoFile:
    """A file in a repo's tree: ``oid`` is the git blob sha1; LFS files also carry their sha256."""

    path: str
    size: int
    oid: str
    lfs_sha256: str | None = None

    @classmethod
    def from_api(cls, item: Any) -> RepoFile:
        """From a tree entry; ``ValueError`` when its fields are not a file's (a path, a size of
        0 or more bytes, a 40-hex oid, a 64-hex sha256): a hash or a size that cannot be checked
        would let any bytes through."""
        lfs = getattr(item, "lfs", None)
        path, size, oid = item.path, item.size, item.blob_id
        sha256 = lfs.sha256 if lfs else None
        if not isinstance(path, str) or not path:
            raise ValueError(f"a tree entry's path is {path!r}")
        if type(size) is not int or size < 0:
            raise ValueError(f"{path!r}: its size is {size!r}, not a number of bytes")
        if not isinstance(oid, str) or not _HEX40.fullmatch(oid):
            raise ValueError(f"{path!r}: its oid is {oid!r}, not a git blob id")
        if sha256 is not None and (not isinstance(sha256, str) or not _HEX64.fullmatch(sha256)):
            raise ValueError(f"{path!r}: its LFS sha256 is {sha256!r}")
        return cls(path=path, size=size, oid=oid, lfs_sha256=sha256)

    @property
    def content_id(self) -> str:
        """What identifies the bytes: the LFS sha256 when there is one, else the git blob oid."""
        return self.lfs_sha256 or self.oid
