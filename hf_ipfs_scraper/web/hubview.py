"""The archive as the Hub describes a repo: info JSON, tree listings with git ids, LFS pointers.

Pure functions of what the state store recorded (``EntityState``, ``FileRecord``), so the web
layer's Hub-compatible routes (``web/hub.py``) only parse, look up and answer. The shapes are the
Hub's (``tests/hubemu/payloads.py`` holds the recorded ones): fields the archive does not know are
left out, as the Hub leaves out unknown values, and a repo here is always public and enabled.

Ids: a file's ``oid`` is the git blob id the Hub reported (an LFS file's is its pointer's); a
directory's is its git tree id computed as git does over the mirrored files, every file mode
100644 — the Hub's own id when the whole repo was mirrored (a dataset's default sample is not)
and nothing in it is executable or a symlink, which the archive does not record.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Iterator

from ..catalog import Catalog
from ..ipfs.cid import CID
from ..state import EntityState, FileRecord

Listings = dict[str, list[dict[str, Any]]]


def lfs_pointer(sha256: str, size: int) -> bytes:
    """The git-lfs pointer file git stores in place of an LFS file (its length: ``pointerSize``)."""
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def _lfs(record: FileRecord, sha_key: str) -> dict[str, Any]:
    assert record.sha256 is not None
    return {sha_key: record.sha256, "size": record.size, "pointerSize": len(lfs_pointer(record.sha256, record.size))}


def git_id(kind: bytes, body: bytes) -> str:
    """The id git gives an object of ``kind`` (``blob``, ``tree``) holding ``body``."""
    return hashlib.sha1(b"%s %d\0" % (kind, len(body)) + body).hexdigest()


def blob_id(record: FileRecord, catalog: Catalog) -> str:
    """The file's git blob id: recorded from the Hub; else the LFS pointer's, or the content's."""
    if record.oid:
        return record.oid
    if record.sha256:
        return git_id(b"blob", lfs_pointer(record.sha256, record.size))
    digest = hashlib.sha1(b"blob %d\0" % record.size)
    for piece in catalog.content.cat(CID.parse(record.cid)):
        digest.update(piece)
    return digest.hexdigest()


def object_id(repo_type: str, repo_id: str) -> str:
    """A stable 24-hex ``_id`` (the Hub's is a MongoDB ObjectId the archive does not record)."""
    return hashlib.sha1(f"{repo_type}/{repo_id}".encode()).hexdigest()[:24]


def hub_time(value: str | None) -> str | None:
    """``2024-09-02T09:00:07Z`` → ``2024-09-02T09:00:07.000Z``: the Hub's millisecond form."""
    if not value:
        return None
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]00:00)?", value)
    if match is None:
        return value
    return f"{match.group(1)}.{(match.group(2) or '.000')[1:4].ljust(3, '0')}Z"


# -- info --------------------------------------------------------------------------------------
_EXTRA = {  # per type: (wire name, metadata key) of the fields only that type's info has
    "model": (("modelId", "id"), ("pipeline_tag", "pipeline_tag"), ("library_name", "library_name")),
    "dataset": (("description", "description"), ("citation", "citation"), ("paperswithcode_id", "paperswithcode_id")),
    "space": (("sdk", "sdk"), ("subdomain", "subdomain"), ("models", "models"), ("datasets", "datasets")),
}


def sibling(record: FileRecord, catalog: Catalog, blobs: bool) -> dict[str, Any]:
    item: dict[str, Any] = {"rfilename": record.path}
    if blobs:
        item |= {"blobId": blob_id(record, catalog), "size": record.size}
        if record.sha256:
            item["lfs"] = _lfs(record, "sha256")
    return item


def info_payload(entity: EntityState, files: list[FileRecord], catalog: Catalog, *, blobs: bool) -> dict[str, Any]:
    """The Hub's repo info JSON from what the archive recorded; unknown fields are left out."""
    meta = entity.metadata or {}
    out: dict[str, Any] = {
        "_id": object_id(entity.type, entity.id), "id": entity.id, "author": entity.author or meta.get("author"),
        "sha": entity.sha, "lastModified": hub_time(entity.last_modified), "createdAt": hub_time(entity.created_at),
        "private": False, "gated": meta.get("gated") or False, "disabled": False, "tags": list(entity.tags),
        "downloads": None if entity.type == "space" else entity.downloads, "likes": entity.likes,
        "cardData": entity.card_data, "siblings": [sibling(f, catalog, blobs) for f in files],
    }
    out |= {wire: meta.get(key) for wire, key in _EXTRA[entity.type]}
    return {k: v for k, v in out.items() if v is not None}


# -- tree ----------------------------------------------------------------------------------------
def tree_listings(files: list[FileRecord], catalog: Catalog) -> Listings:
    """Every directory's items (``""``: the root) in git's order (a directory sorts as if its
    name ended in ``/``), with git's ids; see the module docstring for when they are the Hub's."""
    root: dict[str, Any] = {}
    for record in files:
        node = root
        *dirs, name = record.path.split("/")
        for part in dirs:
            node = node.setdefault(part, {})
        node[name] = record
    listings: Listings = {}

    def walk(node: dict[str, Any], prefix: str) -> str:
        body, items = b"", []
        for name in sorted(node, key=lambda n: n + "/" if isinstance(node[n], dict) else n):
            child, path = node[name], prefix + name
            if isinstance(child, dict):
                oid = walk(child, path + "/")
                items.append({"type": "directory", "oid": oid, "size": 0, "path": path})
                body += b"40000 " + name.encode() + b"\0" + bytes.fromhex(oid)
                continue
            oid = blob_id(child, catalog)
            item = {"type": "file", "oid": oid, "size": child.size, "path": path}
            if child.sha256:
                item["lfs"] = _lfs(child, "oid")
            items.append(item)
            body += b"100644 " + name.encode() + b"\0" + bytes.fromhex(oid)
        listings[prefix.rstrip("/")] = items
        return git_id(b"tree", body)

    walk(root, "")
    return listings


def listing(listings: Listings, path: str, recursive: bool) -> Iterator[dict[str, Any]]:
    """A folder's items; ``recursive``: each directory followed by its contents, as the Hub lists."""
    for item in listings[path]:
        yield item
        if recursive and item["type"] == "directory":
            yield from listing(listings, item["path"], True)
