"""One CID for the whole archive: a snapshot directory, taken after each run, and its restore.

A snapshot is a UnixFS directory that a peer can pin, verify and query without this machine. It
links the repos of each type's latest trending list (what was trending, archived)::

    models/<owner>__<name>      the repo's own root DAG (linked, not copied)
    datasets/…  spaces/…
    meta/<type>s/<owner>__<name>/metadata.json, files.json, ipfs_cid.txt, …  (the layout files)
    trending.json               the latest trending list of each type
    run.json                    the runs it follows, when it was taken, how many repos
    state.sqlite                a consistent copy of the state store: restore starts from it
    export/ …  provenance/ …    the Parquet export and the provenance files, when present

Linking the repo roots costs one directory entry each: the snapshot's new blocks are its
directories and the small files above, whatever the archive's size. The repo trees, trending.json
and the layout files depend only on what was mirrored; run.json and state.sqlite also record
when and by which runs, so two machines mirroring the same repos share every repo link, but
not the snapshot's own CID.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .errors import InvalidInputError, StoreError
from .ipfs import dagpb, reader, unixfs
from .ipfs.cid import CID, DAG_PB
from .ipfs.importer import Node
from .layout import entity_dir, write_text
from .records import dir_name
from .state import ENTITY_TYPES, EntityState, SnapshotRow, StateStore
from .storage.base import Storage
from .storage.embedded import EmbeddedStore

# The output directory's own folders a snapshot carries whole (their files, recursively).
_CARRIED = ("export", "provenance")


@dataclass(frozen=True, slots=True)
class RestoreResult:
    snapshot: CID
    output_dir: Path
    repos: int
    files: int  # files written into the output directory


def take_snapshot(state: StateStore, storage: Storage, output_dir: Path) -> SnapshotRow:
    """Build, pin and record the snapshot of the repos on the latest trending lists (see the
    module docstring)."""
    from . import __version__  # the package imports this module
    runs = [run_id for t in ENTITY_TYPES for run_id in state.trending_runs(t)[:1]]
    done = _members(state)
    entries: dict[str, Node] = {}
    with storage.writing():
        for entity in done:
            entries[f"{entity.type}s/{dir_name(entity.id)}"] = _root_node(state, storage, entity)
            for path in _files_under(entity_dir(output_dir, entity.type, entity.id)):
                entries[f"meta/{path.relative_to(output_dir).as_posix()}"] = _add_path(storage, path)
        # the lists alone (ranks, ids, scores): which run recorded them, and when, is in run.json
        trending = {t: [_row(r.as_dict()) for r in state.trending(t)] for t in ENTITY_TYPES}
        entries["trending.json"] = _add_json(storage, trending)
        entries["run.json"] = _add_json(storage, {
            "taken_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "hf_ipfs_scraper": __version__,
            "repos": {t: sum(1 for e in done if e.type == t) for t in ENTITY_TYPES},
            "runs": [run.as_dict() for rid in runs if (run := state.run(rid)) is not None],
        })
        for folder in _CARRIED:
            for path in _files_under(output_dir / folder):
                entries[path.relative_to(output_dir).as_posix()] = _add_path(storage, path)
        with tempfile.TemporaryDirectory(prefix="hf-ipfs-snapshot-") as tmp:
            copy = Path(tmp) / "state.sqlite"
            state.backup(copy)
            entries["state.sqlite"] = _add_path(storage, copy)
        dirs = [f"{t}s" for t in ENTITY_TYPES]  # present even when empty: a reader can rely on them
        root = storage.add_directory(entries, dirs)
        storage.pin(root.cid, f"snapshot:{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}")
    return state.record_snapshot(
        str(root.cid), runs=runs, tsize=root.tsize,
        roots=[(e.type, e.id, e.root_cid or "") for e in done],
    )


def _row(row: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in row.items() if k != "captured_at"}


def _members(state: StateStore) -> list[EntityState]:
    """The repos a snapshot links: each type's latest trending list, as far as it is mirrored.

    A repo that has left the trending lists stays in the snapshots taken while it was on them,
    not in later ones: that is what lets retention (``prune``) unpin it once those are let go."""
    members: list[EntityState] = []
    for t in ENTITY_TYPES:
        ids = [row.id for row in state.trending(t)]
        found = state.get_many(t, ids)
        members += [found[i] for i in ids if i in found and found[i].status == "done" and found[i].root_cid]
    return members


def _root_node(state: StateStore, storage: Storage, entity: EntityState) -> Node:
    """The repo root as a directory link: its CID and cumulative size (recorded when it was
    mirrored; for a repo mirrored before that was recorded, read once from its root block)."""
    cid = CID.parse(entity.root_cid or "")
    tsize = entity.root_tsize
    if tsize is None:
        if not isinstance(storage, EmbeddedStore):
            raise StoreError(f"{entity.type} {entity.id}: its root size was never recorded; mirror it again")
        block = storage.blocks.get(cid)
        tsize = len(block) + sum(link.tsize for link in dagpb.decode(block).links)
        state.set_root_tsize(entity.type, entity.id, tsize)
    return Node(cid, tsize, entity.size_bytes or 0)


def _files_under(folder: Path) -> Iterator[Path]:
    """Regular files below ``folder``, sorted, without hidden ones (temporary files)."""
    if not folder.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith("."):
                yield Path(dirpath) / name


def _add_path(storage: Storage, path: Path) -> Node:
    with open(path, "rb") as fh:
        return storage.add_file(fh)


def _add_json(storage: Storage, data: object) -> Node:
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"
    return storage.add_file(io.BytesIO(text.encode("utf-8")))


# -- restore ---------------------------------------------------------------------------------------
def restore_snapshot(store: EmbeddedStore, snapshot: CID | str, output_dir: Path) -> RestoreResult:
    """Rebuild an output directory from a snapshot whose blocks are in ``store``: the state store,
    the layout files, the export and provenance files; the repo roots are pinned in ``store``.

    The directory must be empty or absent (a restore never mixes two archives); the search index
    is rebuilt by the caller (``Mirror.reindex``), as for any archive that has none."""
    root = store.resolve(snapshot)
    if output_dir.exists() and any(p.resolve() != store.path.resolve() for p in output_dir.iterdir()):
        raise InvalidInputError(f"{output_dir} is not empty: restore into a new directory")
    listing = {entry.name: entry for entry in store.ls(root)}
    if "state.sqlite" not in listing or "run.json" not in listing:
        raise InvalidInputError(f"{root} is not a snapshot: it has no state.sqlite and run.json")
    output_dir.mkdir(parents=True, exist_ok=True)
    written = 0
    for rel, cid in _walk_files(store, root):
        top = rel.split("/", 1)[0]
        if top in ("meta", *_CARRIED, "state.sqlite"):
            target = output_dir / (rel.split("/", 1)[1] if top == "meta" else rel)
            write_text(target, store.cat(cid))  # atomic, with the mode open() would give
            written += 1
    linked: set[tuple[str, str]] = set()
    with StateStore(output_dir / "state.sqlite") as state:
        state.recover(force=True)  # the copy may hold another machine's in-progress claims
        ids = {(e.type, dir_name(e.id)): e.id for e in state.iter_entities()}
        for t in ENTITY_TYPES:
            for entry in store.ls(f"{root}/{t}s"):
                repo_id = ids.get((t, entry.name))
                if repo_id is None:
                    raise InvalidInputError(f"{root}: {t}s/{entry.name} is not in the snapshot's state.sqlite")
                store.pin(entry.cid, f"{t}:{repo_id}")
                linked.add((t, repo_id))
        for entity in list(state.iter_entities(status="done")):  # mirrored there, but not linked here
            if (entity.type, entity.id) not in linked:
                state.mark_unarchived(entity.type, entity.id, "not in the restored snapshot")
    store.pin(root, "snapshot:restored")
    return RestoreResult(root, output_dir, len(linked), written)


def _walk_files(store: EmbeddedStore, root: CID, prefix: str = "") -> Iterator[tuple[str, CID]]:
    """``(path, cid)`` of every file below the snapshot's own folders (not into the repo trees)."""
    for entry in store.ls(root):
        path = f"{prefix}{entry.name}"
        if not prefix and entry.name in (f"{t}s" for t in ENTITY_TYPES):
            continue
        if _is_dir(store, entry.cid):
            yield from _walk_files(store, entry.cid, path + "/")
        else:
            yield path, entry.cid


def _is_dir(store: EmbeddedStore, cid: CID) -> bool:
    if cid.codec != DAG_PB:
        return False
    _node, meta = reader.decode_node(store.blocks.get, cid)
    return meta.type in (unixfs.DIRECTORY, unixfs.HAMT_SHARD)
