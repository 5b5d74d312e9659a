"""``GeneratedHub``: a Hub of hundreds of thousands of entities, made lazily from a seed.

    hub = GeneratedHub(models=140_000, datasets=30_000, spaces=30_000, seed=0)
    with HubEmulator(generated=hub) as emu:
        for model in HfApi(endpoint=emu.endpoint).list_models(expand=["sha", "lastModified"]):
            ...
    hub.touch(0.01)                       # 1 % get a new commit (sha, lastModified) and new counters
    hub.rename("model", old_id, new_id)   # the old id answers 307, listings show the new one
    hub.delete("dataset", some_id)        # gone from listings, info/tree/resolve answer 404

Entity ``i`` of a type is a function of ``(seed, type, i)`` (``gencore``: its dates, counters,
flags and lineage, drawn once into compact arrays because sorting needs them; ``genentity`` /
``gendata``: its id, card, tags and files, drawn when a request asks). Nothing is written to
files; a 250k-entity hub holds about 12 MB of arrays plus 8 bytes an entity for each sorted index
built (``genindex``: one per (type, sort key, direction) a listing asked for, kept up to date by
the mutations). Models 0..F-1 are fixed: the popular bases of ``gentables.FIXED`` and the four
model infos recorded in ``shared/data/hub_api`` (with their recorded ids, ``_id``, sha, dates,
counters, tags, card and files); the generated ones derive from them (``cardData.base_model``, and
the Hub's ``base_model:`` tags).

Mutations keep the Hub's facts: a touch is a new commit (old revisions stay readable); a rename
keeps ``_id``, ``createdAt``, sha and ``lastModified`` (moving a repo is no commit) and leaves a
307 at the old id; derivatives' cards keep naming the id they were written with. The truth for
assertions: ``ids``, ``count``, ``entity``, ``changed_since``, ``children_count``,
``derivatives``; ``now`` is the hub's clock (every mutation moves it forward).
"""

from __future__ import annotations

import dataclasses
import json
import random
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

from . import gentables as t
from .gencore import (
    DELETED, DISABLED, GATED_AUTO, GATED_MANUAL, PRIVATE, TYPE_CODES, Rng, Store, append_fixed, append_model,
    append_plain,
)
from .gendata import dataset_entity, space_entity
from .genentity import Entity, Namer, commit_sha, datetime_of, index_of
from .genfiles import history
from .genindex import MAX_INDEX, IdIndex, SortIndex
from .genmodels import model_entity
from .genserve import GeneratedHosted
from .listing import BadQuery, ListQuery, encode_cursor
from .repo import REPO_TYPES
from .sources import SHARED_DATA

SORT_ATTR = {
    "trending_score": "trending", "likes": "likes", "downloads": "downloads", "created_at": "created",
    "last_modified": "modified",
}
_VALID_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[\w.-]{1,96}$")
_HOSTED_CACHE = 256
TOUCH, DRIFT = 3, 4  # the entity streams of mutations (gencore and genentity use 0-2 and 7-11)
_LFS_CACHE = 8192


@lru_cache(maxsize=1)
def recorded_models() -> tuple[t.Fixed, ...]:
    """The recorded model infos of ``shared/data/hub_api`` as fixed models (none without the folder)."""
    out = []
    for repo_id, (family, weight, legacy) in t.RECORDED.items():
        path = SHARED_DATA / "hub_api" / f"GET_api__models__{repo_id.replace('/', '__')}.json"
        if not path.is_file():
            continue
        d = json.loads(path.read_text(encoding="utf-8"))
        card = d.get("cardData") or {}
        config = d.get("config") or {}
        bases = card.get("base_model")
        base = bases[0] if isinstance(bases, list) and bases else bases if isinstance(bases, str) else None
        out.append(t.Fixed(
            d["id"], family, d.get("pipeline_tag"), d.get("library_name"), config.get("model_type"),
            (config.get("architectures") or [None])[0], card.get("license") or "", d["createdAt"], d["lastModified"],
            d["likes"], d["downloads"], max(1, d["likes"] // 150), dict((d.get("safetensors") or {}).get("parameters") or {}),
            weight, d.get("gated", False), base, d.get("usedStorage", 0),
            tuple(tag for tag in d["tags"] if not tag.startswith("base_model:")), card, d["sha"], d["_id"],
            tuple(s["rfilename"] for s in d.get("siblings") or ()), d.get("config"), d.get("inference"), legacy,
        ))
    return tuple(out)


class GeneratedHub:
    def __init__(self, models: int = 0, datasets: int = 0, spaces: int = 0, seed: int = 0) -> None:
        if max(models, datasets, spaces) >= MAX_INDEX:
            raise ValueError(f"at most {MAX_INDEX - 1} entities per type")
        self.seed = seed
        self.lock = threading.RLock()
        self.now = t.GENERATED_AT
        self.fixed = list((*t.FIXED, *recorded_models()))[:models]
        self.stores = {repo_type: Store(repo_type) for repo_type in REPO_TYPES}
        self._history: dict[tuple[int, int], list[int]] = {}  # dates of version 0, 1, ... of touched ones
        self._names: dict[tuple[int, int], str] = {}  # renamed: current id
        self._by_name: dict[tuple[int, str], int] = {}  # fixed and renamed ids
        self._redirects: dict[tuple[int, str], int] = {}  # old id -> entity
        self._indexes: dict[tuple[str, str, bool], SortIndex | IdIndex] = {}
        self._children: dict[int, Counter[str]] = {}
        self._hosted: OrderedDict[tuple[int, int, int, str], GeneratedHosted] = OrderedDict()
        self._lfs: OrderedDict[str, bytes] = OrderedDict()
        self._mutations = 0
        #: How many entities were drawn (a listing page of n draws n: tests assert it).
        self.entities_built = 0
        self.traits_cache: dict[int, tuple[Any, ...]] = {}
        fixed_ids = [f.id for f in self.fixed]
        #: The sizes the hub was made with: draws that pick "some model" use them, so an entity
        #: stays the same whatever ``create`` adds later.
        self.initial = {"model": models, "dataset": datasets, "space": spaces}
        self.namer = Namer(seed, self.stores, fixed_ids, self.initial)
        self.popular: t.Table[int] | None = None
        self._build(models, datasets, spaces)

    # -- building ----------------------------------------------------------------------------
    def _build(self, models: int, datasets: int, spaces: int) -> None:
        store = self.stores["model"]
        position = {f.id: n for n, f in enumerate(self.fixed)}
        for n, spec in enumerate(self.fixed):
            base = position.get(spec.base or "", -1)
            created, modified = _seconds(spec.created), _seconds(spec.modified)
            append_fixed(store, n, spec, base, created, modified)
            self._by_name[(0, spec.id)] = n
            if spec.legacy_id:
                self._redirects[(0, spec.legacy_id)] = n
        weighted = [(n, f.weight) for n, f in enumerate(self.fixed) if f.weight > 0]
        self.popular = t.Table(weighted) if weighted else None
        for i in range(len(self.fixed), models):
            if self.popular is None:
                raise ValueError("generated models need the fixed popular bases")
            append_model(store, self.seed, i, len(self.fixed), self.popular, self.now)
        for repo_type, n in (("dataset", datasets), ("space", spaces)):
            for i in range(n):
                append_plain(self.stores[repo_type], self.seed, i, self.now)
        for i in range(len(store)):
            self._count_child(i, +1)

    def _count_child(self, i: int, delta: int) -> None:
        store = self.stores["model"]
        if not store.lineage_valid(i) or store.flags[i] & (PRIVATE | DELETED):
            return
        relation = t.RELATIONS[store.relation[i] - 1]
        for base in store.bases(i):
            self._children.setdefault(base, Counter())[relation] += delta

    # -- identity ----------------------------------------------------------------------------
    def fixed_spec(self, repo_type: str, i: int) -> t.Fixed | None:
        return self.fixed[i] if repo_type == "model" and i < len(self.fixed) else None

    def current_id(self, repo_type: str, i: int) -> str:
        return self._names.get((TYPE_CODES[repo_type], i)) or self.namer.original_id(repo_type, i)

    def index_of(self, repo_type: str, repo_id: str) -> int | None:
        """The index of the live entity whose id is now ``repo_id``, or None."""
        tc = TYPE_CODES[repo_type]
        store = self.stores[repo_type]
        with self.lock:
            i = self._by_name.get((tc, repo_id))
            if i is None:
                i = index_of(self.seed, tc, repo_id)
                if i is None or i >= len(store) or (tc, i) in self._names or self.fixed_spec(repo_type, i):
                    return None
                if self.namer.original_id(repo_type, i) != repo_id:
                    return None
            return None if store.flags[i] & DELETED else i

    def version(self, repo_type: str, i: int) -> int:
        dates = self._history.get((TYPE_CODES[repo_type], i))
        return len(dates) - 1 if dates else 0

    def entity(self, repo_type: str, ref: str | int) -> Entity:
        """The entity with id (or index) ``ref``, as the Hub would now describe it."""
        i = self.index_of(repo_type, ref) if isinstance(ref, str) else ref
        if i is None:
            raise KeyError(f"no {repo_type} {ref!r}")
        with self.lock:
            self.entities_built += 1
            return _BUILDERS[repo_type](self, i)

    def public_object_id(self, repo_type: str, repo_id: str) -> str | None:
        """``_id`` of a hosted public entity named ``repo_id`` (``baseModels`` lists only those)."""
        i = self.index_of(repo_type, repo_id)
        if i is None or self.stores[repo_type].flags[i] & PRIVATE:
            return None
        return self.entity(repo_type, i).object_id

    def redirect(self, repo_type: str, repo_id: str) -> str | None:
        """The id a renamed (or moved) entity now has, or None."""
        with self.lock:
            i = self._redirects.get((TYPE_CODES[repo_type], repo_id))
            if i is None or self.stores[repo_type].flags[i] & DELETED:
                return None
            return self.current_id(repo_type, i)

    # -- the truth, for assertions -----------------------------------------------------------
    def _live(self, repo_type: str, private: bool) -> Iterable[int]:
        mask = DELETED | (0 if private else PRIVATE)
        flags = self.stores[repo_type].flags
        return (i for i in range(len(flags)) if not flags[i] & mask)

    def count(self, repo_type: str, *, private: bool = False) -> int:
        """How many entities an anonymous listing shows (``private=True``: a full-access token)."""
        with self.lock:
            return sum(1 for _ in self._live(repo_type, private))

    def ids(self, repo_type: str, *, private: bool = False) -> list[str]:
        with self.lock:
            return [self.current_id(repo_type, i) for i in self._live(repo_type, private)]

    def changed_since(self, repo_type: str, when: Any, *, private: bool = False) -> set[str]:
        """Ids whose ``lastModified`` is after ``when`` (datetime, ISO string or epoch seconds)."""
        since = _seconds(when)
        modified = self.stores[repo_type].modified
        with self.lock:
            return {self.current_id(repo_type, i) for i in self._live(repo_type, private) if modified[i] > since}

    def children_count(self, i: int) -> dict[str, int]:
        """``childrenModelCount``: per relation, the live public models naming model ``i`` as a base."""
        with self.lock:
            counts = self._children.get(i, Counter())
            return {r: counts[r] for r in t.RELATIONS if counts[r] > 0}

    def derivatives(self, model_id: str) -> dict[str, list[str]]:
        """Per relation, the live public models whose card names ``model_id`` (a full scan)."""
        base = self.index_of("model", model_id)
        out: dict[str, list[str]] = {}
        store = self.stores["model"]
        with self.lock:
            for i in self._live("model", False):
                if base is not None and base in store.bases(i) and store.lineage_valid(i):
                    out.setdefault(t.RELATIONS[store.relation[i] - 1], []).append(self.current_id("model", i))
        return out

    @property
    def clock(self) -> Any:
        return datetime_of(self.now)

    # -- mutations ---------------------------------------------------------------------------
    def touch(
        self, fraction: float, seed: int = 0, *, types: Iterable[str] = REPO_TYPES, span: int = 3600,
        counters: bool = True,
    ) -> dict[str, list[str]]:
        """Give ``fraction`` of each type's live entities a new commit (new sha, ``lastModified``
        in the next ``span`` seconds) and, with ``counters``, new likes/downloads. Returns the
        touched ids per type."""
        out: dict[str, list[str]] = {}
        with self.lock:
            self._changed()
            start = self.now + 1
            for repo_type in types:
                store, tc = self.stores[repo_type], TYPE_CODES[repo_type]
                live = list(self._live(repo_type, True))
                k = min(len(live), round(fraction * len(live)))
                chosen = random.Random(f"touch:{self.seed}:{seed}:{repo_type}:{self._mutations}").sample(live, k)
                moved: list[tuple[int, int, int]] = []
                for i in chosen:
                    r = Rng(self.seed, tc, i, TOUCH, self._mutations, seed)
                    when = start + r.below(span)
                    dates = self._history.setdefault((tc, i), [store.modified[i]])
                    dates.append(max(when, dates[-1] + 1))
                    moved.append((store.modified[i], dates[-1], i))
                    store.modified[i] = dates[-1]
                self._apply(repo_type, "modified", moved)
                if counters:
                    self._drift(repo_type, chosen, seed)
                out[repo_type] = [self.current_id(repo_type, i) for i in chosen]
            self.now = start + span
        return out

    def bump_counters(self, fraction: float, seed: int = 0, *, types: Iterable[str] = REPO_TYPES) -> None:
        """New likes/downloads for ``fraction`` of the entities, with no commit (the Hub's counters
        move without changing ``lastModified``)."""
        with self.lock:
            self._changed()
            for repo_type in types:
                live = list(self._live(repo_type, True))
                k = min(len(live), round(fraction * len(live)))
                self._drift(repo_type, random.Random(f"bump:{seed}:{repo_type}:{self._mutations}").sample(live, k), seed)

    def _drift(self, repo_type: str, chosen: list[int], seed: int) -> None:
        store, tc = self.stores[repo_type], TYPE_CODES[repo_type]
        likes, downloads = [], []
        for i in chosen:
            r = Rng(self.seed, tc, i, DRIFT, self._mutations, seed)
            new_likes = store.likes[i] + int(r.u() ** -0.7) - 1
            likes.append((store.likes[i], new_likes, i))
            store.likes[i] = new_likes
            if repo_type != "space":
                new_downloads = max(0, int(store.downloads[i] * 2.718281828 ** (0.3 * r.normal())) + r.below(20))
                downloads.append((store.downloads[i], new_downloads, i))
                store.downloads[i] = new_downloads
        self._apply(repo_type, "likes", likes)
        self._apply(repo_type, "downloads", downloads)

    def _apply(self, repo_type: str, attr: str, changes: list[tuple[int, int, int]]) -> None:
        for (kind, sort, _), index in self._indexes.items():
            if kind == repo_type and SORT_ATTR.get(sort) == attr and isinstance(index, SortIndex):
                index.move_many(changes)

    def _require(self, repo_type: str, repo_id: str) -> int:
        i = self.index_of(repo_type, repo_id)
        if i is None:
            raise KeyError(f"no {repo_type} {repo_id!r}")
        return i

    def rename(self, repo_type: str, old_id: str, new_id: str) -> None:
        """Move an entity to ``new_id``; ``old_id`` then answers 307 to it (chains followed)."""
        if not _VALID_ID.match(new_id) or "--" in new_id or ".." in new_id:
            raise ValueError(f"not a valid repo id: {new_id!r}")
        tc = TYPE_CODES[repo_type]
        with self.lock:
            i = self._require(repo_type, old_id)
            if self.index_of(repo_type, new_id) is not None:
                raise ValueError(f"{repo_type} {new_id} already exists")
            self._by_name.pop((tc, old_id), None)
            self._names[(tc, i)] = new_id
            self._by_name[(tc, new_id)] = i
            self._redirects[(tc, old_id)] = i
            self._redirects.pop((tc, new_id), None)
            self._drop_id_indexes(repo_type)
            self._changed()

    def delete(self, repo_type: str, repo_id: str) -> None:
        """Delete an entity: gone from listings; info, tree and resolve answer RepoNotFound."""
        tc = TYPE_CODES[repo_type]
        with self.lock:
            i = self._require(repo_type, repo_id)
            if repo_type == "model":
                self._count_child(i, -1)
            store = self.stores[repo_type]
            store.flags[i] |= DELETED
            self._by_name.pop((tc, repo_id), None)
            for (kind, sort, _), index in self._indexes.items():
                if kind == repo_type and isinstance(index, SortIndex):
                    index.remove(getattr(store, SORT_ATTR[sort])[i], i)
            self._drop_id_indexes(repo_type)
            self._changed()

    def create(self, repo_type: str, n: int = 1) -> list[str]:
        """``n`` new entities, created (and last modified) now; returns their ids."""
        with self.lock:
            self._changed()
            store = self.stores[repo_type]
            made = []
            for _ in range(n):
                i = len(store)
                self.now += 1
                if repo_type == "model":
                    if self.popular is None:
                        raise ValueError("no popular bases to derive from")
                    append_model(store, self.seed, i, len(self.fixed), self.popular, self.now)
                else:
                    append_plain(store, self.seed, i, self.now)
                store.created[i] = store.modified[i] = self.now
                if repo_type == "model":
                    self._count_child(i, +1)
                for (kind, sort, _), index in self._indexes.items():
                    if kind == repo_type and isinstance(index, SortIndex):
                        index.insert(getattr(store, SORT_ATTR[sort])[i], i)
                made.append(self.current_id(repo_type, i))
            self._drop_id_indexes(repo_type)
            return made

    def set_flags(
        self, repo_type: str, repo_id: str, *, private: bool | None = None, gated: Any = None,
        disabled: bool | None = None,
    ) -> None:
        with self.lock:
            i = self._require(repo_type, repo_id)
            store = self.stores[repo_type]
            if repo_type == "model":
                self._count_child(i, -1)
            flags = store.flags[i]
            if private is not None:
                flags = flags | PRIVATE if private else flags & ~PRIVATE
            if gated is not None:
                flags &= ~(GATED_AUTO | GATED_MANUAL)
                flags |= {False: 0, True: GATED_AUTO, "auto": GATED_AUTO, "manual": GATED_MANUAL}[gated]
            if disabled is not None:
                flags = flags | DISABLED if disabled else flags & ~DISABLED
            store.flags[i] = flags
            if repo_type == "model":
                self._count_child(i, +1)
            self._changed()

    def _changed(self) -> None:
        """A mutation: the next draws differ, and made repos may be stale."""
        self._mutations += 1
        self._hosted.clear()

    def _drop_id_indexes(self, repo_type: str) -> None:
        for key in [k for k in self._indexes if k[0] == repo_type and k[1] == "id"]:
            del self._indexes[key]

    # -- serving -----------------------------------------------------------------------------
    def _index(self, repo_type: str, sort: str, descending: bool) -> SortIndex | IdIndex:
        key = (repo_type, sort, descending)
        index = self._indexes.get(key)
        if index is None:
            live = list(self._live(repo_type, True))
            if sort == "id":
                index = IdIndex(((self.current_id(repo_type, i), i) for i in live), descending=descending)
            else:
                index = SortIndex(getattr(self.stores[repo_type], SORT_ATTR[sort]), live, descending=descending)
            self._indexes[key] = index
        return index

    def list_page(
        self, repo_type: str, query: ListQuery, can_see: Callable[[str], bool]
    ) -> tuple[list[Entity], str | None]:
        """The page after the query's cursor, and the next page's cursor (None on the last). A page
        costs O(log n + page); with filters (search, author, filter, pipeline_tag, gated) it is a
        scan that draws the entities it passes (search and author look at the id first)."""
        store = self.stores[repo_type]
        filtering = bool(query.search or query.author or query.filters or query.pipeline_tag or query.gated is not None)
        cursor: Any = None
        if query.cursor is not None:
            cursor = list(query.cursor) if query.sort == "id" else query.cursor[0]
        picked: list[tuple[int, Entity | None]] = []
        last: Any = None
        more = False
        with self.lock:
            index = self._index(repo_type, query.sort, query.descending)
            try:
                for key, i in index.after(cursor):
                    if store.flags[i] & PRIVATE and not can_see(self.current_id(repo_type, i)):
                        continue
                    entity = None
                    if filtering:
                        if not _id_matches(query, self.current_id(repo_type, i)):
                            continue  # (ids are kept once drawn: far cheaper than the entity)
                        entity = self.entity(repo_type, i)
                        if not _matches(query, entity):
                            continue
                    if len(picked) == query.limit:
                        more = True
                        break
                    picked.append((i, entity))
                    last = key
            except ValueError:
                raise BadQuery("Invalid cursor") from None
        entities = [e if e is not None else self.entity(repo_type, i) for i, e in picked]
        if not more:
            return entities, None
        return entities, encode_cursor((last, "") if isinstance(last, int) else (last[0], last[1]))

    def hosted(self, repo_type: str, repo_id: str) -> GeneratedHosted | None:
        """The entity as a hosted repo with its files and commits (made now, cached a while)."""
        tc = TYPE_CODES[repo_type]
        with self.lock:
            i = self.index_of(repo_type, repo_id)
            if i is None:
                return None
            entity = self.entity(repo_type, i)
            key = (tc, i, entity.version, entity.id)
            hosted = self._hosted.get(key)
            if hosted is not None:
                self._hosted.move_to_end(key)
                return hosted
            dates = self._history.get((tc, i)) or [entity.modified]
            commits = history(entity, self.seed, dates, lambda v: commit_sha(self.seed, tc, i, v))
            head = commits[-1]
            repo = dataclasses.replace(entity.repo(), files=list(head.files.values()))
            hosted = GeneratedHosted(repo, entity.object_id, commits, entity=entity, hub=self)
            self._hosted[key] = hosted
            if len(self._hosted) > _HOSTED_CACHE:
                self._hosted.popitem(last=False)
            for commit in commits:
                for f in commit.files.values():
                    if f.lfs:
                        self._lfs[f.sha256] = f.data
            while len(self._lfs) > _LFS_CACHE:
                self._lfs.popitem(last=False)
            return hosted

    def lfs_blob(self, sha256: str) -> bytes | None:
        with self.lock:
            return self._lfs.get(sha256)


_BUILDERS: dict[str, Callable[[GeneratedHub, int], Entity]] = {
    "model": model_entity, "dataset": dataset_entity, "space": space_entity,
}


def _id_matches(query: ListQuery, repo_id: str) -> bool:
    lowered = repo_id.lower()
    if any(s not in lowered for s in query.search):
        return False
    return query.author is None or repo_id.split("/")[0].lower() == query.author.lower()


def _matches(query: ListQuery, entity: Entity) -> bool:
    extra = {x for x in (entity.library_name, entity.pipeline_tag, entity.sdk) if x}
    return query.matches_values(entity.id, entity.author, entity.wire_tags(), extra, entity.pipeline_tag, bool(entity.gated))


def _seconds(when: Any) -> int:
    if isinstance(when, int):
        return when
    if isinstance(when, str):
        import datetime as dt

        return int(dt.datetime.fromisoformat(when.replace("Z", "+00:00")).timestamp())
    return int(when.timestamp())
