"""``prune``: let go of repos that left the trending lists, never of what a kept snapshot holds.

The policy keeps the newest ``keep_runs`` trending runs of each type, and/or the runs of the last
``keep_days`` days (both given: what either keeps). A mirrored repo on none of the kept runs' lists
is let go — its root unpinned, its entity back to ``pending``, or ``listed`` if a catalog walk
listed it (metadata kept; mirrored again if it trends again) — unless a kept snapshot links it.
Kept snapshots are those that follow a kept run or fall within ``keep_days``, and always the
newest; the others are unpinned and forgotten.

``max_store_size`` is a budget on top, oldest out: while the store would stay over it, the oldest
kept run is let go too (and the snapshots that follow only it), then the next, never the newest
snapshot's; still nothing a kept snapshot links is unpinned. The size freed is estimated from the
repos' root sizes (an upper bound: blocks may be shared). With the embedded
store the unpinned blocks are then collected (``gc``) and the bytes freed are measured; a daemon or
cluster collects them by its own gc.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .errors import InvalidInputError
from .ipfs.cid import CID
from .search import SearchDoc, SearchIndex
from .state import ENTITY_TYPES, EntityState, SnapshotRow, StateStore
from .state.rows import node_key
from .storage.base import Storage
from .storage.embedded import EmbeddedStore

_DAY = 86400.0


@dataclass(frozen=True, slots=True)
class PrunePlan:
    kept_runs: tuple[int, ...]
    kept_snapshots: tuple[SnapshotRow, ...]
    dropped_snapshots: tuple[SnapshotRow, ...]
    unpin: tuple[EntityState, ...]  # the repos let go
    held: tuple[EntityState, ...]  # off the kept lists, but a kept snapshot links them
    estimated_bytes: int  # their roots' cumulative sizes (an upper bound: blocks may be shared)

    def describe(self) -> list[str]:
        lines = [f"keep {len(self.kept_runs)} runs and {len(self.kept_snapshots)} snapshots; "
                 f"unpin {len(self.unpin)} repos (~{self.estimated_bytes / 1e6:.1f} MB) and "
                 f"{len(self.dropped_snapshots)} snapshots; {len(self.held)} repos held by kept snapshots"]
        lines += [f"  unpin {e.type} {e.id} {e.root_cid}" for e in self.unpin]
        lines += [f"  unpin snapshot {s.id} {s.cid}" for s in self.dropped_snapshots]
        return lines


@dataclass(frozen=True, slots=True)
class PruneResult:
    plan: PrunePlan
    removed_blocks: int | None = None  # embedded store: what its gc removed
    freed_bytes: int | None = None
    notes: list[str] = field(default_factory=list)


def plan_prune(
    state: StateStore,
    *,
    keep_runs: int | None = None,
    keep_days: float | None = None,
    max_store_size: int | None = None,
    store_size: int | None = None,
    now: float | None = None,
) -> PrunePlan:
    """What :func:`prune` would do (``--dry-run`` prints it); nothing is changed."""
    if keep_runs is None and keep_days is None and max_store_size is None:
        raise InvalidInputError("say what to keep: --keep-runs N, --keep-days D and/or --max-store-size SIZE")
    if keep_runs is not None and keep_runs < 1:
        raise InvalidInputError("--keep-runs must be at least 1")
    now = time.time() if now is None else now
    since = None if keep_days is None else now - keep_days * _DAY
    lists: dict[int, set[tuple[str, str]]] = {}  # trending run -> the repos on its list
    kept_runs: set[int] = set()
    for t in ENTITY_TYPES:
        for position, run_id in enumerate(state.trending_runs(t)):  # newest first
            lists[run_id] = {(t, row.id) for row in state.trending(t, run_id)}
            run = state.run(run_id)
            by_days = since is not None and run is not None and run.started_at >= since
            if (keep_runs is None and since is None) or (keep_runs is not None and position < keep_runs) or by_days:
                kept_runs.add(run_id)
    snapshots = state.snapshots()  # newest first
    done = [e for e in state.iter_entities(status="done") if e.root_cid]
    plan = _plan(state, done, lists, snapshots, kept_runs, since)
    # over budget: let the oldest kept runs (and the snapshots that follow only them) go, one at a
    # time, never the newest snapshot's
    floor = set(snapshots[0].runs) if snapshots else set()
    while max_store_size is not None and store_size is not None and store_size - plan.estimated_bytes > max_store_size:
        older = sorted(kept_runs - floor)
        if not older:
            break
        kept_runs.discard(older[0])
        plan = _plan(state, done, lists, snapshots, kept_runs, None)
    return plan


def _plan(
    state: StateStore, done: list[EntityState], lists: dict[int, set[tuple[str, str]]],
    snapshots: list[SnapshotRow], kept_runs: set[int], since: float | None,
) -> PrunePlan:
    kept = [s for i, s in enumerate(snapshots)
            if i == 0 or set(s.runs) & kept_runs or (since is not None and s.created_at >= since)]
    dropped = [s for s in snapshots if s not in kept]
    held_roots = state.snapshot_roots(s.id for s in kept)
    listed = set().union(*(lists[r] for r in kept_runs if r in lists))
    unpin: list[EntityState] = []
    held: list[EntityState] = []
    for entity in done:
        if (entity.type, entity.id) not in listed:
            (held if entity.root_cid in held_roots else unpin).append(entity)
    return PrunePlan(tuple(sorted(kept_runs)), tuple(kept), tuple(dropped), tuple(unpin), tuple(held), _tsizes(unpin))


def _tsizes(entities: list[EntityState]) -> int:
    return sum(int(e.root_tsize or 0) for e in entities)


def prune(state: StateStore, storage: Storage, plan: PrunePlan, *, search: SearchIndex | None = None) -> PruneResult:
    """Carry out ``plan``: unpin, record, and (embedded store) collect and measure what was freed."""
    for entity in plan.unpin:
        storage.unpin(CID.parse(entity.root_cid or ""))
        state.mark_unarchived(entity.type, entity.id, "pruned: off the kept trending lists")
    for snapshot in plan.dropped_snapshots:
        storage.unpin(CID.parse(snapshot.cid))
    state.forget_snapshots(s.id for s in plan.dropped_snapshots)
    if search is not None and plan.unpin:  # a repo a walk listed stays, as a catalog entity
        now = [state.get(e.type, e.id) for e in plan.unpin]
        search.delete(node_key(e.type, e.id) for e, n in zip(plan.unpin, now) if n is None or not SearchDoc.indexes(n))
        search.upsert(SearchDoc.documents(n for n in now if n is not None))  # none is mirrored: no README
    if isinstance(storage, EmbeddedStore):
        collected = storage.gc()
        return PruneResult(plan, collected.removed, collected.freed_bytes)
    return PruneResult(plan, notes=["the daemon frees the unpinned blocks at its next gc (ipfs repo gc)"])
