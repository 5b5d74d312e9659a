"""One shard: a tantivy index directory, its writer (in the writer process) and its reader.

tantivy lets one process write a directory (a ``flock`` on ``.tantivy-writer.lock``) and any number
read it. A reader notices a commit by ``meta.json`` changing (one ``stat``) and then reloads; the
files of the commit it read may meanwhile have been merged away and deleted by the writer, so
opening and reloading retry with the newer commit.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import tantivy

from ..errors import StoreError, StoreLockedError
from ._schema import build_schema, register_analyzers

T = TypeVar("T")
WRITER_LOCK = ".tantivy-writer.lock"
MIN_THREAD_HEAP = 15_000_000  # tantivy refuses less memory a thread
_RETRIES = 5


class Shard:
    """One shard's index (``create``: a new, empty one), its writer once ``open_writer`` takes
    tantivy's lock, and the ``meta.json`` signature its reader last loaded."""

    def __init__(self, path: Path, *, create: bool) -> None:
        self.path = path
        if create:
            check_unlocked(path)
            path.mkdir(parents=True, exist_ok=True)
            self.index = tantivy.Index(build_schema(), str(path), reuse=False)
        else:
            self.index = retry(lambda: tantivy.Index.open(str(path)), f"cannot open the search index in {path}")
        register_analyzers(self.index)
        self.index.config_reader("manual")
        self.writer: tantivy.IndexWriter | None = None
        self.seen = self.signature()

    def open_writer(self, heap_bytes: int, threads: int) -> None:
        threads = max(1, min(threads, heap_bytes // MIN_THREAD_HEAP))
        try:
            self.writer = self.index.writer(heap_size=max(heap_bytes, MIN_THREAD_HEAP), num_threads=threads)
        except ValueError as exc:
            if "lock" in str(exc).lower():
                raise StoreLockedError(f"another process writes the search index in {self.path.parent}") from exc
            raise StoreError(f"cannot write the search index in {self.path}: {exc}") from exc

    def signature(self) -> tuple[int, int, int] | None:
        try:
            st = (self.path / "meta.json").stat()
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def reload(self) -> None:
        seen = self.signature()
        retry(self.index.reload, f"cannot reload the search index in {self.path}")
        self.seen = seen

    def changed(self) -> bool:
        return self.signature() != self.seen


def check_unlocked(path: Path) -> None:
    """Refuse to create a directory again while a writer holds tantivy's lock in it."""
    lock = path / WRITER_LOCK
    if not lock.exists():
        return
    with open(lock, "rb") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise StoreLockedError(f"another process writes the search index in {path.parent}") from exc
        fcntl.flock(fh, fcntl.LOCK_UN)


def retry(call: Callable[[], T], message: str) -> T:
    """A reader may list a segment the writer has just merged away: read the newer commit."""
    for attempt in range(_RETRIES):
        try:
            return call()
        except (ValueError, OSError) as exc:
            if attempt == _RETRIES - 1:
                raise StoreError(f"{message}: {exc}") from exc
            time.sleep(0.02 * (attempt + 1))
    raise AssertionError("unreachable")
