"""The part of a generated entity that every listing needs: dates, counters, flags, lineage.

An entity's values are functions of ``(seed, type, index)``: ``Rng(seed, type, index, stream)``
hashes that key (BLAKE2b, 16 uniforms per block), so any entity can be drawn alone, in any order.
``build`` draws the "core" stream of every entity once into compact arrays (``Store``: about 45
bytes an entity), because sorting needs every sort key; everything else (names, tags, cards,
files) is drawn from the "presentation" stream when a request asks for the entity (``genentity``).

Core draws, per type (tables and their sources in ``gentables``):

* ``created``: 2-3 % are legacy repos created in the Hub's 2022-03-02 migration (two exact
  seconds, as recorded); the others grow exponentially toward ``GENERATED_AT`` (time constant
  300 days). A derivative is created after its base. ``modified`` >= ``created``: a third within
  ten minutes of creation, the others spread toward ``GENERATED_AT`` (skewed early).
* ``likes``: 0 for 72 % of models (75 % datasets, 55 % Spaces), else Pareto (alpha 1);
  ``downloads`` (none for Spaces): 0 for 35 %, else log-normal scaled by likes^1.1;
  ``trending``: 0 unless recently modified (and then mostly 0: derivatives ten times less often).
* flags: private, gated (auto or, 30 %, manual), disabled, per ``PRIVATE_P`` / ``GATED_P`` /
  ``DISABLED_P``.
* models: 45 % derive from a base: 3 in 4 from a popular fixed model (by its ``weight``), else from
  an earlier generated model of a known family (lineage chains); the relation by the base's
  family (``FAMILY_RELATIONS``); a merge names a second base; 1.5 % name their base in a form the
  Hub ignores (a URL or a local path): no lineage tags, not counted as children.
"""

from __future__ import annotations

import hashlib
import math
import struct
from array import array
from dataclasses import dataclass, field

from . import gentables as t

TYPE_CODES = {"model": 0, "dataset": 1, "space": 2}
CORE, PRESENTATION, FILES = 0, 1, 2  # the streams of one entity

PRIVATE, GATED_AUTO, GATED_MANUAL, DISABLED, DELETED = 1, 2, 4, 8, 16
FAMILIES = ("", "llm", "diffusion", "encoder", "speech")
QUIRK_URL, QUIRK_PATH = 1, 2
DAY = 86_400
_START = t.LEGACY_CREATED[1]
_TAU = 300 * DAY
_BLOCK = struct.Struct("<16I")
_INV32 = 1.0 / 4294967296.0
_KEYS = [struct.Struct(f"<{n}q") for n in range(9)]


class Rng:
    """Uniforms in (0, 1) from BLAKE2b of a key of ints: the same key gives the same sequence."""

    __slots__ = ("_key", "_block", "_values", "_pos")

    def __init__(self, *key: int) -> None:
        self._key = _KEYS[len(key)].pack(*key)
        self._block = 0
        self._values: tuple[int, ...] = ()
        self._pos = 16

    def u(self) -> float:
        pos = self._pos
        if pos == 16:
            digest = hashlib.blake2b(self._key + self._block.to_bytes(4, "little"), digest_size=64).digest()
            self._values, pos = _BLOCK.unpack(digest), 0
            self._block += 1
        self._pos = pos + 1
        return (self._values[pos] + 0.5) * _INV32

    def below(self, n: int) -> int:
        return min(int(self.u() * n), n - 1)

    def chance(self, p: float) -> bool:
        return self.u() < p

    def normal(self) -> float:
        return math.sqrt(-2.0 * math.log(self.u())) * math.cos(2.0 * math.pi * self.u())


def zipf_rank(u: float, size: int, shift: float = 8.0) -> int:
    """A rank in [0, size) with P(rank) proportional to 1 / (rank + shift)."""
    return min(int(shift * ((size + shift) / shift) ** u - shift), size - 1)


def exp_growth(u: float, start: int, end: int) -> int:
    """A time in [start, end] with density growing like exp(t / 300 days)."""
    span = max(end - start, 1)
    return start + int(_TAU * math.log1p(u * math.expm1(span / _TAU)))


@dataclass
class Store:
    """The core values of every entity of one type, by index (``array``s: no object per entity)."""

    type: str
    created: array = field(default_factory=lambda: array("q"))
    modified: array = field(default_factory=lambda: array("q"))
    likes: array = field(default_factory=lambda: array("q"))
    downloads: array = field(default_factory=lambda: array("q"))
    trending: array = field(default_factory=lambda: array("q"))
    flags: bytearray = field(default_factory=bytearray)
    # models only
    base: array = field(default_factory=lambda: array("l"))  # base entity index, -1 for none
    relation: bytearray = field(default_factory=bytearray)  # 1 + RELATIONS index, 0 for none
    quirk: bytearray = field(default_factory=bytearray)  # QUIRK_URL / QUIRK_PATH: a base the Hub ignores
    family: bytearray = field(default_factory=bytearray)  # FAMILIES index
    template: bytearray = field(default_factory=bytearray)  # INDEPENDENT index (independent models)
    merge_with: dict[int, int] = field(default_factory=dict)  # a merge's second base

    @property
    def tc(self) -> int:
        return TYPE_CODES[self.type]

    def __len__(self) -> int:
        return len(self.created)

    def lineage_valid(self, i: int) -> bool:
        return self.type == "model" and self.relation[i] != 0 and self.quirk[i] == 0

    def bases(self, i: int) -> list[int]:
        if self.type != "model" or self.base[i] < 0:
            return []
        second = self.merge_with.get(i)
        return [self.base[i]] if second is None else [self.base[i], second]


def _counters(r: Rng, store: Store, zero_likes: float, end: int, derivative: bool) -> None:
    likes = 0 if r.chance(zero_likes) else min(int(r.u() ** -1.0), 50_000)
    if store.type == "space" or r.chance(0.35):
        downloads = 0
    else:
        downloads = int(math.exp(1.5 + 2.2 * r.normal()) * (1 + likes) ** 1.1)
    recent = end - store.modified[-1] < 30 * DAY
    trending = 0
    if recent and r.chance(0.012 if derivative else 0.12):
        trending = min(int(r.u() ** (-1 / 1.1)) + int(likes**0.35), 400)
    store.likes.append(likes)
    store.downloads.append(min(downloads, 2_000_000_000))
    store.trending.append(trending)


def _flags(r: Rng, repo_type: str) -> int:
    flags = PRIVATE if r.chance(t.PRIVATE_P[repo_type]) else 0
    if r.chance(t.GATED_P[repo_type]):
        flags |= GATED_MANUAL if r.chance(0.3) else GATED_AUTO
    if r.chance(t.DISABLED_P):
        flags |= DISABLED
    return flags


def _dates(r: Rng, store: Store, end: int, legacy_p: float, after: int | None) -> None:
    if after is not None:
        created = min(after + DAY + int((end - after - DAY) * r.u() ** 1.5), end)
    elif r.chance(legacy_p):
        created = t.LEGACY_CREATED[r.below(2)]
    else:
        created = exp_growth(r.u(), _START, end)
    if r.chance(0.35):
        modified = created + r.below(600)
    else:
        modified = created + int((end - created) * r.u() ** 2.5)
    store.created.append(created)
    store.modified.append(min(modified, end))


_TEMPLATE_FAMILY = {"text-generation": 1, "text-to-image": 2, "automatic-speech-recognition": 4}
_ENCODER_TASKS = {
    "text-classification", "token-classification", "fill-mask", "sentence-similarity", "feature-extraction",
    "question-answering",
}


def template_family(template: int) -> int:
    pipeline = t.INDEPENDENT.values[template][0]
    return _TEMPLATE_FAMILY.get(pipeline, 3 if pipeline in _ENCODER_TASKS else 0)


def append_fixed(store: Store, fixed_index: int, spec: t.Fixed, base: int, created: int, modified: int) -> None:
    store.created.append(created)
    store.modified.append(modified)
    store.likes.append(spec.likes)
    store.downloads.append(spec.downloads)
    store.trending.append(spec.trending)
    flags = {False: 0, "auto": GATED_AUTO, "manual": GATED_MANUAL}[spec.gated]
    store.flags.append(flags)
    store.base.append(base)
    store.relation.append(1 + t.RELATIONS.index("finetune") if base >= 0 else 0)
    store.quirk.append(0)
    store.family.append(FAMILIES.index(spec.family))
    store.template.append(0)


def append_model(store: Store, seed: int, i: int, n_fixed: int, popular: t.Table[int], end: int) -> None:
    """Draw generated model ``i``'s core (every index below ``i`` is already drawn)."""
    r = Rng(seed, 0, i, CORE)
    template = r.below(len(t.INDEPENDENT.values))
    base, relation, quirk, family = -1, 0, 0, template_family(template)
    if r.chance(t.DERIVATIVE_P):
        base = popular.pick(r.u())
        if r.chance(t.SECOND_LEVEL_P) and i > n_fixed + 20:
            j = n_fixed + r.below(i - n_fixed)
            if store.family[j] and store.relation[j] in (0, 1, 4):  # independent, finetune or merge
                base = j
        family = store.family[base]
        relation = 1 + t.RELATIONS.index(t.FAMILY_RELATIONS[FAMILIES[family]].pick(r.u()))
        quirk = QUIRK_URL if r.chance(0.01) else QUIRK_PATH if r.chance(0.005) else 0
        if t.RELATIONS[relation - 1] == "merge":  # with another model of the family
            other = popular.pick(r.u())
            if other != base and store.family[other] == family:
                store.merge_with[i] = other
            elif i > n_fixed:
                other = n_fixed + r.below(i - n_fixed)
                if store.family[other] == family and store.relation[other] in (0, 1) and other != base:
                    store.merge_with[i] = other
    _dates(r, store, end, 0.03, store.created[base] if base >= 0 else None)
    _counters(r, store, 0.72, end, base >= 0)
    store.flags.append(_flags(r, "model"))
    store.base.append(base)
    store.relation.append(relation)
    store.quirk.append(quirk)
    store.family.append(family)
    store.template.append(template)


def append_plain(store: Store, seed: int, i: int, end: int, after: int | None = None) -> None:
    """Draw dataset or Space ``i``'s core (``after``: created after that time, for new ones)."""
    r = Rng(seed, store.tc, i, CORE)
    _dates(r, store, end, 0.02 if store.type == "dataset" else 0.01, after)
    _counters(r, store, 0.75 if store.type == "dataset" else 0.55, end, False)
    store.flags.append(_flags(r, store.type))
