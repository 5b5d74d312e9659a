"""What every generated entity has: its id, ``_id``, sha, and the ``Entity`` the Hub describes.

``Namer`` gives the ids: a fixed model keeps its real id; a generated one is
``<author>/<stem>-<code>``, where ``code`` is 5 base-36 characters of a seed-keyed bijection of
the index (so ``index_of`` reads the index back from an id and no id table is needed), ``author``
a Zipf draw over the authors (the shared cards' real authors first, then syllable names; most
quantizations by the few heavy quantizers), ``stem`` what the repo is: ``Llama-3.1-8B-Instruct-GGUF``
for a quantization, ``<root>-<topic>`` for a finetune, ``<root>-<topic>-lora`` for an adapter...
Ids and stems are kept once drawn (about 100 bytes an entity).

``Entity`` holds the presentation fields (drawn by ``genmodels`` / ``gendata`` from the entity's
own stream) over the core values (``gencore.Store``); it has the attributes ``payloads.Fields``
reads of a ``Repo``, so a listing item needs no ``Repo``. Stored tags are in the Hub's order
(library, frameworks, model type, pipeline, card tags, languages, ``dataset:``, ``license:``,
compatibility tags, ``region:us``); ``wire_tags`` adds the lineage tags before the license, with
the relation the Hub derives (the card's ``base_model_relation`` when present, else what the
files say: a GGUF or quantized upload is ``quantized``, a PEFT/LoRA one ``adapter``, several bases
``merge``, else ``finetune``). ``_id`` is an ObjectId whose first 4 bytes are ``createdAt``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from . import gentables as t
from .gencore import CORE, DISABLED, GATED_AUTO, GATED_MANUAL, PRESENTATION, PRIVATE, Rng, Store, zipf_rank
from .repo import Repo

if TYPE_CHECKING:
    from .generated import GeneratedHub

CODE_CHARS = "0123456789abcdefghijklmnopqrstuvwxyz"
CODE_SPACE = 36**5
_CODE_MUL = 7_777_777  # prime to 36: the map i -> (i * mul + offset) mod 36^5 is a bijection
_CODE_INV = pow(_CODE_MUL, -1, CODE_SPACE)
_CODE = re.compile(r"-([0-9a-z]{5})$")
_LINEAGE_TAIL = ("license:", "endpoints_compatible", "region:")
_QUOTE = re.compile(r"^[A-Za-z_][\w./+-]*$")
_YAML_WORDS = {"yes", "no", "true", "false", "on", "off", "null", "y", "n", "~"}
_UTC = dt.timezone.utc


def datetime_of(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=_UTC)


def iso_seconds(seconds: int) -> str:
    """``repo.iso`` of a whole second (the Hub's dates are whole seconds: ``...:05.000Z``)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(seconds))


def object_id(seed: int, tc: int, i: int, created: int) -> str:
    """A Mongo ObjectId: 4 bytes of creation time first, as the Hub's ``_id``s (``621ffdc1…`` is
    2022-03-02T23:29:05Z, the recorded roberta-base-squad2's ``createdAt``)."""
    tail = hashlib.blake2b(f"oid:{seed}:{tc}:{i}".encode(), digest_size=8).hexdigest()
    return f"{created & 0xFFFFFFFF:08x}{tail}"


def commit_sha(seed: int, tc: int, i: int, version: int) -> str:
    return hashlib.blake2b(f"sha:{seed}:{tc}:{i}:{version}".encode(), digest_size=20).hexdigest()


# -- ids ------------------------------------------------------------------------------------
def _code(seed: int, tc: int, i: int) -> str:
    n = (i * _CODE_MUL + (seed * 2_654_435_761 + tc * 97_531)) % CODE_SPACE
    out = []
    for _ in range(5):
        n, d = divmod(n, 36)
        out.append(CODE_CHARS[d])
    return "".join(reversed(out))


def index_from_code(seed: int, tc: int, code: str) -> int:
    n = 0
    for ch in code:
        n = n * 36 + CODE_CHARS.index(ch)
    return ((n - (seed * 2_654_435_761 + tc * 97_531)) * _CODE_INV) % CODE_SPACE


def code_of(repo_id: str) -> str | None:
    match = _CODE.search(repo_id)
    return match.group(1) if match else None


@lru_cache(maxsize=65_536)
def author_name(rank: int) -> str:
    if rank < len(t.CARD_AUTHORS):
        return t.CARD_AUTHORS[rank]
    r = Rng(0, 9, rank, 0)
    name = "".join(t.SYLLABLES[r.below(len(t.SYLLABLES))] for _ in range(2 + r.below(2)))
    style = r.u()
    if style < 0.3:
        return f"{name}{r.below(1000)}"
    if style < 0.45:
        return f"{name}-{t.SYLLABLES[r.below(len(t.SYLLABLES))]}{t.SYLLABLES[r.below(len(t.SYLLABLES))]}"
    if style < 0.55:
        return f"{name.capitalize()}AI"
    return name


class Namer:
    """Ids and stems of generated entities as first generated (renames are the hub's business)."""

    def __init__(self, seed: int, stores: dict[str, Store], fixed_ids: list[str], initial: dict[str, int]) -> None:
        self.seed, self.stores, self.fixed_ids, self.initial = seed, stores, fixed_ids, initial
        self._stems: dict[int, str] = {}
        self._ids: dict[int, str] = {}

    def author(self, repo_type: str, i: int) -> str:
        tc = self.stores[repo_type].tc
        r = Rng(self.seed, tc, i, PRESENTATION)
        if repo_type == "model" and self.stores["model"].relation[i] == 3 and r.chance(0.75):
            return t.QUANTIZERS.pick(r.u())
        size = max(64, self.initial[repo_type] // (4 if repo_type == "model" else 3))
        rank = zipf_rank(r.u(), size)
        return author_name(rank if rank >= 64 else (rank + 17 * tc) % 64)

    def original_id(self, repo_type: str, i: int) -> str:
        if repo_type == "model" and i < len(self.fixed_ids):
            return self.fixed_ids[i]
        tc = self.stores[repo_type].tc
        key = tc << 32 | i
        repo_id = self._ids.get(key)
        if repo_id is None:  # kept: about 100 bytes an entity, once its id was asked for
            repo_id = self._ids[key] = f"{self.author(repo_type, i)}/{self.stem(repo_type, i)}-{_code(self.seed, tc, i)}"
        return repo_id

    def stem(self, repo_type: str, i: int) -> str:
        if repo_type == "model" and i < len(self.fixed_ids):
            return self.fixed_ids[i].split("/")[-1]
        key = self.stores[repo_type].tc << 32 | i
        stem = self._stems.get(key)
        if stem is None:
            stem = self._draw_stem(repo_type, i)
            if len(self._stems) > 200_000:
                self._stems.clear()
            self._stems[key] = stem
        return stem

    def root_stem(self, i: int) -> str:
        store = self.stores["model"]
        while i >= len(self.fixed_ids) and store.base[i] >= 0 and store.relation[i] != 4:
            i = store.base[i]
        return self.stem("model", i)

    def _draw_stem(self, repo_type: str, i: int) -> str:
        r = Rng(self.seed, self.stores[repo_type].tc, i, CORE + 7)
        topic = t.TOPICS[r.below(len(t.TOPICS))]
        if repo_type == "dataset":
            stem = t.DATASET_STEMS[r.below(len(t.DATASET_STEMS))]
            return f"{topic}-{stem}" if r.chance(0.6) else stem
        if repo_type == "space":
            stem = t.SPACE_STEMS[r.below(len(t.SPACE_STEMS))]
            return f"{topic}-{stem}" if r.chance(0.5) else stem
        store = self.stores["model"]
        relation = store.relation[i]
        if relation == 0:
            stems = t.INDEPENDENT.values[store.template[i]][4]
            stem = stems[r.below(len(stems))]
            return f"{stem}-{topic}" if r.chance(0.5) else stem
        base = store.base[i]
        root = self.root_stem(base)[:40].rstrip("-.")
        if relation == 3:  # quantized: the name of what was quantized, plus the format
            return f"{self.stem('model', base)[:56].rstrip('-.')}-{quant_kind(self.seed, i)[0]}"
        if relation == 2:
            return f"{root}-{topic}-lora" if r.chance(0.7) else f"{topic}-{root}-adapter"
        if relation == 4:
            second = store.merge_with.get(i)
            other = self.root_stem(second)[:20].rstrip("-.") if second is not None else topic
            stem = f"{root}-{other}-merge" if r.chance(0.5) else f"{topic.capitalize()}{root[:12].rstrip('-.')}-slerp"
            return stem[:64].rstrip("-.")
        stem = f"{root}-{topic}" if r.chance(0.6) else f"{root}-finetuned-{topic}"
        return (stem.lower() if r.chance(0.3) else stem)[:64].rstrip("-.")


def quant_kind(seed: int, i: int) -> tuple[str, str, str | None]:
    return t.QUANT_KINDS.pick(Rng(seed, 0, i, CORE + 8).u())


def index_of(seed: int, tc: int, repo_id: str) -> int | None:
    code = code_of(repo_id)
    return index_from_code(seed, tc, code) if code is not None else None


# -- the entity -------------------------------------------------------------------------------
@dataclass(slots=True)
class Entity:
    type: str
    index: int
    id: str
    object_id: str
    sha: str
    created: int
    modified: int
    likes: int
    downloads: int
    trending: int
    flags: int
    version: int
    tags: list[str]
    card: dict[str, Any] | None = None
    pipeline_tag: str | None = None
    library_name: str | None = None
    sdk: str | None = None
    stage: str = "RUNNING"
    relation: str | None = None  # the Hub's, for a model whose card names valid bases
    bases: list[str] = field(default_factory=list)
    paths: tuple[str, ...] = ()
    config: dict[str, Any] | None = None
    safetensors: dict[str, Any] | None = None
    gguf: dict[str, Any] | None = None
    used_storage: int = 0
    title: str = ""
    body: str = ""  # the README text after the front matter
    description: str | None = None
    citation: str | None = None
    inference: str | None = None
    traits: tuple[Any, ...] = ()  # (pipeline, library, model_type, arch, kind) for the files

    @property
    def author(self) -> str:
        return self.id.split("/")[0] if "/" in self.id else ""

    @property
    def private(self) -> bool:
        return bool(self.flags & PRIVATE)

    @property
    def gated(self) -> Any:
        return "manual" if self.flags & GATED_MANUAL else "auto" if self.flags & GATED_AUTO else False

    @property
    def disabled(self) -> bool:
        return bool(self.flags & DISABLED)

    def wire_tags(self) -> list[str]:
        """The tags the Hub lists: the stored ones plus the lineage tags, before the license."""
        if not self.bases or self.relation is None:
            return list(self.tags)
        extra = [tag for b in self.bases for tag in (f"base_model:{b}", f"base_model:{self.relation}:{b}")]
        at = next((n for n, tag in enumerate(self.tags) if tag.startswith(_LINEAGE_TAIL)), len(self.tags))
        return self.tags[:at] + [x for x in extra if x not in self.tags] + self.tags[at:]

    def repo(self) -> Repo:
        """A ``Repo`` with this entity's metadata and no files (for ``payloads.Fields``)."""
        return Repo(
            self.type, self.id, [], sha=self.sha, trending_score=self.trending, likes=self.likes,  # type: ignore[arg-type]
            downloads=self.downloads, gated=self.gated, private=self.private, tags=self.tags,
            pipeline_tag=self.pipeline_tag, library_name=self.library_name, card_data=self.card,
            created_at=datetime_of(self.created), last_modified=datetime_of(self.modified), author=self.author,
            disabled=self.disabled, sdk=self.sdk, stage=self.stage,
        )

    def readme(self, version: int | None = None) -> bytes:
        """README.md at ``version`` (default: the current one): front matter, then the body."""
        version = self.version if version is None else version
        text = (front_matter(self.card) if self.card is not None else "") + self.body
        if version:
            text += f"\n<!-- revision {version} -->\n"
        return text.encode("utf-8")

    # -- what ``payloads.Fields`` reads of a ``Repo`` (an Entity stands in for one in listings)
    @property
    def card_data(self) -> dict[str, Any] | None:
        return self.card

    @property
    def trending_score(self) -> int:
        return self.trending

    @property
    def created_at(self) -> dt.datetime:
        return datetime_of(self.created)

    @property
    def last_modified(self) -> dt.datetime:
        return datetime_of(self.modified)


def _scalar(value: Any) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        plain = _QUOTE.match(value) and value.lower() not in _YAML_WORDS and not re.match(r"^[\d.eE+-]+$", value)
        return value if plain else json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False)  # nested: JSON flow style is YAML too


def front_matter(card: dict[str, Any]) -> str:
    lines = ["---"]
    for key, value in card.items():
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            lines.append(f"{key}:")
            lines += [f"- {_scalar(v)}" for v in value]
        else:
            lines.append(f"{key}: {_scalar(value)}")
    return "\n".join(lines) + "\n---\n"


def dedupe(items: list[str]) -> list[str]:
    out = list(dict.fromkeys(items))
    if "" in out:
        out.remove("")
    return out


def as_list(value: Any) -> list[str]:
    """A generated card's string-or-list value as a list (generated cards hold only strings)."""
    return [value] if isinstance(value, str) else value or []


def strings(value: Any) -> list[str]:
    """A card value that should be a string or a list of strings, whatever it is."""
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def log_normal(r: Rng, median: float, sigma: float) -> int:
    return int(median * math.exp(sigma * r.normal()))


# -- what every entity has --------------------------------------------------------------------
def common_fields(hub: GeneratedHub, store: Store, i: int) -> dict[str, Any]:
    """The ``Entity`` fields every type has, from the core arrays and the hub's overlays."""
    version = hub.version(store.type, i)
    fixed = hub.fixed_spec(store.type, i)
    created = store.created[i]
    sha = fixed.sha if fixed is not None and fixed.sha and version == 0 else commit_sha(hub.seed, store.tc, i, version)
    oid = fixed.object_id if fixed is not None and fixed.object_id else object_id(hub.seed, store.tc, i, created)
    return {
        "type": store.type, "index": i, "id": hub.current_id(store.type, i), "object_id": oid, "sha": sha,
        "created": created, "modified": store.modified[i], "likes": store.likes[i],
        "downloads": store.downloads[i], "trending": store.trending[i], "flags": store.flags[i],
        "version": version,
    }
