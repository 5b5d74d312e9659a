"""Fold the archive of another machine (``--shard i/n``) into this one: ``export --merge DIR``.

The state goes first (``StateStore.merge_from``: runs and trending lists, entities, files, READMEs,
edges), then the layout files of each entity taken, then its blocks where this backend lacks them
(from the other machine's embedded store; machines that pin into one cluster share them already).
Merging the same directory twice changes nothing the second time.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import InvalidInputError, StoreError
from .ipfs.cid import CID
from .layout import entity_dir
from .state import StateStore
from .storage.base import Storage
from .storage.embedded import EmbeddedStore
from .storage.remote import RemoteStore


@dataclass(frozen=True, slots=True)
class MergeResult:
    source: Path
    entities: int  # taken from the source: new here, or mirrored there more recently
    copied_roots: int  # repo DAGs whose blocks were copied into this backend


def merge_archive(state: StateStore, storage: Storage, output_dir: Path, source: Path) -> MergeResult:
    source = Path(source)
    if source.resolve() == output_dir.resolve():
        raise InvalidInputError(f"{source} is this archive: merge another machine's output directory")
    if not (source / "state.sqlite").is_file():
        raise InvalidInputError(f"{source} is not an archive: it has no state.sqlite")
    taken = state.merge_from(source / "state.sqlite")
    copied = 0
    source_store: EmbeddedStore | None = None
    try:
        for repo_type, repo_id in taken:
            folder = entity_dir(source, repo_type, repo_id)
            if folder.is_dir():
                shutil.copytree(folder, entity_dir(output_dir, repo_type, repo_id), dirs_exist_ok=True)
            entity = state.get(repo_type, repo_id)
            if entity is None or entity.status != "done" or not entity.root_cid:
                continue
            root = CID.parse(entity.root_cid)
            if storage.has(root):
                if isinstance(storage, EmbeddedStore):
                    storage.pin(root, f"{repo_type}:{repo_id}")
                continue  # a shared daemon or cluster: pinned there by the other machine
            if source_store is None:
                if not (source / "ipfs").is_dir():
                    raise StoreError(f"{repo_type} {repo_id}: its blocks are neither here nor in {source / 'ipfs'}")
                source_store = EmbeddedStore(source / "ipfs", readonly=True, create=False)
            _copy_dag(source_store, storage, root, f"{repo_type}:{repo_id}")
            copied += 1
    finally:
        if source_store is not None:
            source_store.close()
    return MergeResult(source, len(taken), copied)


def _copy_dag(source: EmbeddedStore, storage: Storage, root: CID, name: str) -> None:
    """Through a CAR: verified block by block on the way in, then pinned (pushed, for a remote)."""
    blocks = storage.spool if isinstance(storage, RemoteStore) else storage
    if not isinstance(blocks, EmbeddedStore):
        raise StoreError(f"cannot copy {root} into this backend")
    with tempfile.TemporaryFile() as car, storage.writing():
        source.export_car(root, car)
        car.seek(0)
        blocks.import_car(car, pin_roots=False)
        storage.pin(root, name)
