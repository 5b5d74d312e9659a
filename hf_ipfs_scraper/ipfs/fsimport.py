"""Adding files and folders from the local filesystem, as ``ipfs add [-r] [-H]`` does.

Entries are reported in Kubo's order — files as they are added (names sorted), then directories
children-first, the top path last — so the CLI prints the same ``added <cid> <path>`` lines.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..errors import InvalidInputError
from .cid import CID
from .directory import DirectoryBuilder, validate_name
from .importer import FileImporter, Node, symlink_node
from .options import ImportOptions
from .sink import BlockSink


@dataclass(frozen=True, slots=True)
class AddedEntry:
    path: str
    cid: CID
    size: int


@dataclass(frozen=True, slots=True)
class AddResult:
    """What one ``add`` made: the root (``cid``), its logical ``size`` and DAG ``tsize``, and every entry."""

    cid: CID
    size: int
    tsize: int
    name: str
    entries: tuple[AddedEntry, ...] = field(default_factory=tuple)


def add_path(
    path: str | os.PathLike[str],
    sink: BlockSink,
    options: ImportOptions | None = None,
    *,
    recursive: bool = False,
    hidden: bool = False,
    on_entry: Callable[[AddedEntry], None] | None = None,
) -> AddResult:
    """Import a file, or with ``recursive`` a directory tree, into ``sink``."""
    options = options or ImportOptions()
    src = Path(path)
    name = src.name or src.resolve().name
    try:
        st = os.lstat(src)
    except FileNotFoundError:
        raise InvalidInputError(f"{src}: no such file or directory") from None
    entries: list[AddedEntry] = []

    def report(entry_path: str, node: Node) -> None:
        entry = AddedEntry(entry_path, node.cid, node.size)
        entries.append(entry)
        if on_entry is not None:
            on_entry(entry)

    files = FileImporter(sink, options)
    if stat.S_ISDIR(st.st_mode):
        if not recursive:
            raise InvalidInputError(f"{src} is a directory, use the '-r' flag to add directories")
        builder = DirectoryBuilder(sink, options)
        _walk(src, "", builder, files, sink, options, hidden, lambda rel, node: report(f"{name}/{rel}", node))
        root = builder.build()
        for rel, node in builder.built:
            report(f"{name}/{rel}" if rel else name, node)
    else:
        root = _add_one(src, st, files, sink, options)
        report(name, root)
    return AddResult(root.cid, root.size, root.tsize, name, tuple(entries))


def _add_one(src: Path, st: os.stat_result, files: FileImporter, sink: BlockSink, options: ImportOptions) -> Node:
    if stat.S_ISLNK(st.st_mode):
        return symlink_node(sink, options, os.readlink(src))
    if not stat.S_ISREG(st.st_mode):
        raise InvalidInputError(f"{src}: not a regular file, directory or symlink")
    with open(src, "rb") as fh:
        try:
            return files.add(fh)
        except InvalidInputError as exc:  # it changed while being read: say which file
            raise InvalidInputError(f"{src}: {exc}") from None


def _walk(
    directory: Path,
    rel: str,
    builder: DirectoryBuilder,
    files: FileImporter,
    sink: BlockSink,
    options: ImportOptions,
    hidden: bool,
    report: Callable[[str, Node], None],
) -> None:
    if rel:
        builder.mkdir(rel)
    with os.scandir(directory) as it:
        names = sorted((e.name for e in it), key=lambda n: n.encode("utf-8", "surrogateescape"))
    for entry_name in names:
        if not hidden and entry_name.startswith("."):
            continue
        validate_name(entry_name)
        child = directory / entry_name
        child_rel = f"{rel}/{entry_name}" if rel else entry_name
        st = os.lstat(child)
        if stat.S_ISDIR(st.st_mode):
            _walk(child, child_rel, builder, files, sink, options, hidden, report)
            continue
        node = _add_one(child, st, files, sink, options)
        builder.add(child_rel, node)
        report(child_rel, node)
