"""The search index's writer in a process of its own, for bulk writers (a catalog's full walk).

tantivy-py lets go of the GIL in every writer call (``add_document`` is one a document), and
taking it back while other threads hold it costs about a millisecond a call: a walk's indexing
thread, beside the listing threads, waited for the GIL far longer than it indexed, and what it
did index ran on the walk's core. In a child process the documents become tantivy's and are
written on the other core; the parent sends them pickled (a tenth of what making them costs) and
waits for the commit, one wait a batch.

The child holds the writer lock until it is closed; it ignores Ctrl-C (the parent decides when
to stop, after the batch in hand), and it ends when the parent does: a parent killed mid-batch
loses that batch's uncommitted documents, as an in-process writer would.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ..errors import StoreError
from ._model import SearchDoc

_CHUNK = 2_000  # documents a message: the child makes documents while the next chunk comes
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # the folder holding hf_ipfs_scraper/


class WriterProcess:
    """A child process holding the index's writer; ``upsert``, ``delete`` and ``rebuild`` as
    ``SearchIndex``'s (each committed before it returns), one at a time."""

    def __init__(self, path: Path, *, heap_bytes: int, threads: int) -> None:
        # A plain subprocess over a socket pair, not multiprocessing: its spawn imports the
        # parent's __main__ again, which breaks a user's script with no `if __name__` guard.
        here, there = socket.socketpair()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (_PACKAGE_ROOT, os.environ.get("PYTHONPATH"))))}
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-c", "from hf_ipfs_scraper.search._writer import main; main()",
                 str(there.fileno()), str(path), str(heap_bytes), str(threads)],
                pass_fds=(there.fileno(),), env=env, stdin=subprocess.DEVNULL)
        except BaseException:
            here.close()
            raise
        finally:
            there.close()
        self._conn = Connection(here.detach())
        self._lock = threading.Lock()
        self._closed = False
        try:
            self._reply()  # the child opened the index, or why not (its writer lock held elsewhere)
        except BaseException:
            self._conn.close()
            self._end()
            raise

    @property
    def pid(self) -> int:
        return self._process.pid

    def upsert(self, docs: Iterable[SearchDoc]) -> int:
        return int(self._stream("upsert", docs))

    def rebuild(self, docs: Iterable[SearchDoc]) -> int:
        return int(self._stream("rebuild", docs))

    def delete(self, keys: Iterable[str]) -> int:
        with self._lock:
            self._send(("delete", list(keys)))
            return int(self._reply())

    def close(self) -> None:
        """Commit nothing more: the child lets go of the writer lock (after its merges) and ends."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._send(("close", None))
                self._reply()
            finally:
                self._conn.close()
                self._end()

    def _end(self) -> None:
        try:
            self._process.wait(30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def _stream(self, op: str, docs: Iterable[SearchDoc]) -> Any:
        with self._lock:
            self._send((op, None))
            rest = iter(docs)
            while True:
                try:
                    chunk = list(itertools.islice(rest, _CHUNK))
                except BaseException:  # the documents' source failed (or Ctrl-C): the child rolls back
                    self._send(("abort", None))
                    with contextlib.suppress(_Aborted):
                        self._reply()
                    raise
                if not chunk:
                    break
                self._send(("more", chunk))
            self._send(("end", None))
            return self._reply()

    def _send(self, message: tuple[str, Any]) -> None:
        if self._closed and message[0] != "close":
            raise StoreError("the search index's writer process is closed")
        try:
            self._conn.send(message)
        except (BrokenPipeError, ConnectionResetError, EOFError) as exc:
            raise self._died() from exc

    def _reply(self) -> Any:
        try:
            status, value = self._conn.recv()
        except (EOFError, ConnectionResetError) as exc:
            raise self._died() from exc
        if status == "error":
            raise value
        return value

    def _died(self) -> StoreError:
        try:
            code: int | None = self._process.wait(5)
        except subprocess.TimeoutExpired:
            code = None
        return StoreError(f"the search index's writer process ended (exit code {code})")


def main() -> None:
    """The child's entry: ``<socket fd> <index path> <heap bytes> <threads>``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent decides
    fd, path, heap_bytes, threads = sys.argv[1:5]
    with Connection(int(fd)) as conn:
        _serve(conn, path, int(heap_bytes), int(threads))


def _serve(conn: Connection, path: str, heap_bytes: int, threads: int) -> None:
    """Open the index for writing, then do what the parent sends until it says close (or is
    gone)."""
    from ._index import SearchIndex  # here: the module imports this one

    try:
        index = SearchIndex(path, writable=True, heap_bytes=heap_bytes, threads=threads)
    except BaseException as exc:  # noqa: BLE001 - the parent raises it
        _send_error(conn, exc)
        return
    conn.send(("ok", None))
    with index:
        while True:
            try:
                op, value = conn.recv()
            except EOFError:
                return  # the parent is gone
            if op == "close":
                index.close()
                conn.send(("ok", None))
                return
            try:
                if op == "delete":
                    result = index.delete(value)
                else:
                    stream = _Incoming(conn)
                    try:
                        result = index.upsert(stream) if op == "upsert" else index.rebuild(stream)
                    finally:
                        stream.drain()  # a failure midway: read the rest, or the parent blocks sending it
            except Exception as exc:  # noqa: BLE001 - the parent raises it; the next call may work
                _send_error(conn, exc)
            else:
                conn.send(("ok", result))


class _Incoming:
    """The documents the parent streams: ``("more", chunk)`` messages until ``("end", None)``."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._ended = False

    def __iter__(self) -> Iterator[SearchDoc]:
        while not self._ended:
            op, chunk = self._conn.recv()
            if op in ("end", "abort"):
                self._ended = True
                if op == "abort":
                    raise _Aborted("the parent stopped sending the documents")
                return
            yield from chunk

    def drain(self) -> None:
        for _ in self:
            pass


class _Aborted(Exception):
    """The parent's source of documents failed midway: what the child took is rolled back."""


def _send_error(conn: Connection, exc: BaseException) -> None:
    try:
        pickle.loads(pickle.dumps(exc))  # some exceptions do not survive the trip
    except Exception:  # noqa: BLE001 - then their message does
        exc = StoreError(f"{type(exc).__name__}: {exc}")
    conn.send(("error", exc))
