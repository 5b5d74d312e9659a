"""The on-disk layout a mirrored repo leaves in ``<output_dir>``, written atomically.

``<output_dir>/<type>s/<owner>__<name>/``: ``metadata.json`` (normalized Hub metadata plus what the
mirror did), ``files.json`` (path, size, oid, sha256, CID per kept file) and ``ipfs_cid.txt`` (the
root CID of the repo directory: what ``ipfs add -r -H`` gives for the same files).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .records import RepoRecord, dir_name


def repo_dir(output_dir: Path, record: RepoRecord) -> Path:
    return entity_dir(output_dir, record.type, record.id)


def entity_dir(output_dir: Path, repo_type: str, repo_id: str) -> Path:
    """``<output_dir>/<type>s/<owner>__<name>``: where a repo's layout files are."""
    return output_dir / f"{repo_type}s" / dir_name(repo_id)


def write_json(path: Path, data: Any) -> None:
    """``data`` as indented JSON, UTF-8 where it can be; a text UTF-8 cannot hold (a path with a lone
    surrogate, as the Hub's JSON may send) is written with JSON's ``\\u`` escapes, as it came."""
    text = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False, default=str) + "\n"
    try:
        encoded = text.encode("utf-8")  # written as it is: encoding is the check
    except UnicodeEncodeError:
        encoded = (json.dumps(data, indent=2, ensure_ascii=True, sort_keys=False, default=str) + "\n").encode("ascii")
    write_text(path, encoded)


NAME_MAX, PATH_MAX = 255, 4096  # bytes: what a file system holds (Linux's limits; most others' are lower)


def unsafe_path(path: str) -> str | None:
    """Why a path from a repo's tree is not archived (None: it is). Git never holds an empty,
    ``.`` or ``..`` segment, a leading ``/`` or a NUL, so a tree naming one is lying or hostile;
    a name no file system holds could not be checked out, so no ``ipfs add`` of the repo could
    give it a CID either. Backslashes, case and Unicode variants are names like any other (UnixFS
    keeps them as bytes; nothing is written under a file's own name outside the block store)."""
    try:
        raw = path.encode("utf-8")
    except UnicodeEncodeError:
        return "unsafe path: not valid UTF-8 text"
    if "\0" in path:
        return "unsafe path: holds a NUL"
    if path.startswith("/"):
        return "unsafe path: absolute"
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "unsafe path: an empty, '.' or '..' segment"
    if len(raw) > PATH_MAX or any(len(part.encode("utf-8")) > NAME_MAX for part in parts):
        return f"unsafe path: longer than a file system holds ({NAME_MAX} bytes a name, {PATH_MAX} in all)"
    return None


def temp_beside(path: Path) -> tuple[int, Path]:
    """A new, empty temporary file in ``path``'s folder, to be renamed over ``path``: its fd and
    name. Created with mode 0666 less the umask, as ``open`` would make ``path`` itself
    (``mkstemp``'s private 0600 would make an export or a picture unreadable to anyone else)."""
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue


def write_temp(path: Path, text: str | bytes | Iterable[bytes | memoryview]) -> Path:
    """``text`` (UTF-8 if a str; written piece by piece if an iterable of bytes, such as a store's
    ``cat``) in a new temporary file beside ``path``, to be renamed over it."""
    fd, tmp = temp_beside(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            if isinstance(text, str):
                fh.write(text.encode("utf-8"))
            elif isinstance(text, bytes):
                fh.write(text)
            else:
                fh.writelines(text)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def write_text(path: Path, text: str | bytes | Iterable[bytes | memoryview]) -> None:
    """Replace ``path`` atomically: a reader sees the old or the new file, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = write_temp(path, text)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_root_cid(output_dir: Path, record: RepoRecord) -> str | None:
    path = repo_dir(output_dir, record) / "ipfs_cid.txt"
    return path.read_text().strip() if path.exists() else None
