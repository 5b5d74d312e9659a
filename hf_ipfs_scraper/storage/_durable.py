"""File-system plumbing of the block store: the process lock, durable syncs, a reader-writer lock.

Kept apart so ``blockstore.py`` reads as the store's logic; nothing here knows about blocks.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from ..errors import StoreError, StoreLockedError

try:
    _LIBC: ctypes.CDLL | None = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
except OSError:  # pragma: no cover - no C library to load
    _LIBC = None


class SharedExclusiveLock:
    """A reader–writer lock: many shared holders (adds) or one exclusive holder (gc).

    Shared holders are preferred: a thread holding the guard may hand work to other threads that
    take it too, and making them wait behind a pending gc would deadlock. The price is that gc
    waits for a moment when no add is in flight. Nobody sleeps here while holding another lock.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._shared = 0
        self._exclusive = False
        self._local = threading.local()  # per-thread shared depth, to refuse gc inside the guard

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._exclusive)
            self._shared += 1
        self._local.depth = getattr(self._local, "depth", 0) + 1
        try:
            yield
        finally:
            self._local.depth -= 1
            with self._cond:
                self._shared -= 1
                if not self._shared:
                    self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        if getattr(self._local, "depth", 0):
            raise StoreError("gc() cannot run inside gc_guard(): it would wait for itself")
        with self._cond:
            self._cond.wait_for(lambda: not (self._exclusive or self._shared))
            self._exclusive = True
        try:
            yield
        finally:
            with self._cond:
                self._exclusive = False
                self._cond.notify_all()


def take_lock(store: Path) -> int:
    """Take the writer lock without waiting; the descriptor returned holds it until closed."""
    fd = os.open(store / "store.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
        os.close(fd)
        raise StoreLockedError(
            f"store {store} is locked by another writer (pid {holder}); close it or open read-only"
        ) from None
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
    return fd


def syncfs(path: Path) -> bool:
    """One syncfs(2) on the filesystem holding ``path``; False where the call does not exist."""
    call = getattr(_LIBC, "syncfs", None) if _LIBC is not None else None
    if call is None:
        return False
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if call(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"syncfs failed: {os.strerror(err)}", str(path))
    finally:
        os.close(fd)
    return True


_SYNC_FILE_RANGE_WRITE = 2  # <fcntl.h>: start writing back the range's dirty pages, do not wait
_UNSUPPORTED = {errno.EINVAL, errno.ENOSYS, errno.ESPIPE, errno.EOPNOTSUPP}


def _sync_file_range() -> Callable[..., int] | None:
    call = getattr(_LIBC, "sync_file_range", None) if _LIBC is not None else None
    if call is not None:
        call.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    return call


_WRITEBACK: Callable[..., int] | None = _sync_file_range()


def start_writeback(fd: int) -> None:
    """Start writing ``fd``'s dirty pages to disk without waiting (Linux ``sync_file_range``).

    Not a durability point: ``syncfs`` before the pin still is. Started block by block, the writes
    reach the disk while the next blocks hash, and the sync before the pin has little left to wait
    for (0.5-0.65 s of a 1 GiB add here, 0.01 s with it). A no-op where the call is missing or the
    filesystem refuses it; an I/O error (a full disk) is raised.
    """
    if _WRITEBACK is None or _WRITEBACK(fd, 0, 0, _SYNC_FILE_RANGE_WRITE) == 0:
        return
    err = ctypes.get_errno()
    if err not in _UNSUPPORTED:
        raise OSError(err, f"sync_file_range failed: {os.strerror(err)}")


def fsync_file(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: str | Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def file_size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


def unlink(path: str) -> bool:
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True
