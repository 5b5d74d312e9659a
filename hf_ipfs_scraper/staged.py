"""A folder whose files are replaced together: the export's tables and data card.

Renaming each file over the old one as soon as it is written leaves, after a crash between two
renames, a folder of some new and some old tables (new entities beside old files and edges): no
export at all. Here every file is written under a hidden temporary name first; ``commit`` writes
a journal naming each (temporary, final) pair, renames them all, then removes the journal. A
crash before the journal leaves the old files; after it, the next writer of the folder finishes
the renames (roll forward) before anything else. The writer holds an exclusive lock on the
folder all along, so it may sweep the temporary files that killed writers left behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from pathlib import Path
from types import TracebackType

from .errors import StoreLockedError
from .storage._durable import fsync_dir, fsync_file

LOCK = ".export.lock"
_JOURNAL = ".export.commit"
_TMP_SUFFIX = ".tmp"  # layout.temp_beside names: ".<name>.<random>.tmp"


class StagedFolder:
    """Exclusive writer of ``folder``: ``stage`` files, then ``commit`` them all at once."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._lock = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self._lock, 32, 0).decode(errors="replace").strip() or "?"
            os.close(self._lock)
            raise StoreLockedError(f"another export into {folder} is running (pid {holder})") from None
        os.ftruncate(self._lock, 0)
        os.pwrite(self._lock, f"{os.getpid()}\n".encode(), 0)
        self._staged: dict[Path, Path] = {}  # final -> temporary
        _roll_forward(folder)
        _sweep(folder)

    def stage(self, final: Path, temporary: Path) -> None:
        """``temporary`` (complete, in this folder) is to replace ``final`` at ``commit``."""
        self._staged[final] = temporary

    def commit(self) -> None:
        """Every staged file in place, or (after a crash here) in place once the next writer opens."""
        for temporary in self._staged.values():
            fsync_file(str(temporary))
        journal = [[str(t), str(f)] for f, t in self._staged.items()]
        _write_synced(self.folder / _JOURNAL, json.dumps(journal).encode())
        fsync_dir(self.folder)
        _roll_forward(self.folder)
        self._staged.clear()

    def close(self) -> None:
        """Release the folder; files staged but not committed are deleted."""
        for temporary in self._staged.values():
            temporary.unlink(missing_ok=True)
        self._staged.clear()
        os.close(self._lock)

    def __enter__(self) -> StagedFolder:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def _roll_forward(folder: Path) -> None:
    """Finish the renames a journal lists (those not done yet), then drop the journal."""
    journal = folder / _JOURNAL
    try:
        pairs = json.loads(journal.read_bytes())
    except FileNotFoundError:
        return
    except ValueError:  # cut short: the crash came before the journal was whole, so before any rename
        journal.unlink()
        return
    for temporary, final in pairs:
        with contextlib.suppress(FileNotFoundError):  # renamed before the crash
            os.replace(temporary, final)
    fsync_dir(folder)
    journal.unlink()
    fsync_dir(folder)


def _sweep(folder: Path) -> None:
    """Temporary files of writers killed before their commit (only the lock holder may do this)."""
    for path in folder.iterdir():
        if path.name.startswith(".") and path.name.endswith(_TMP_SUFFIX):
            path.unlink(missing_ok=True)


def _write_synced(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
