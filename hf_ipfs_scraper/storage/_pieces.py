"""An iterator of byte pieces read as a file: the streamed HTTP bodies of a remote backend."""

from __future__ import annotations

from typing import BinaryIO, Iterator


class PieceReader:
    """``read(n)`` over ``pieces``, made only as they are read, never held whole in memory.

    ``copy`` receives every piece as it is taken (a download written out while it is parsed).
    An error raised while making a piece is kept in ``error``: an HTTP library reading an upload
    body would otherwise report it as a broken connection, and the caller re-raises it."""

    def __init__(self, pieces: Iterator[bytes | memoryview], copy: BinaryIO | None = None) -> None:
        self._pieces = pieces
        self._copy = copy
        self._buffer = bytearray()
        self._read = 0
        self.error: BaseException | None = None

    def tell(self) -> int:
        """The bytes read so far."""
        return self._read

    def read(self, n: int = -1) -> bytes:
        try:
            while n < 0 or len(self._buffer) < n:
                piece = next(self._pieces, None)
                if piece is None:
                    break
                if self._copy is not None:
                    self._copy.write(piece)
                self._buffer += piece
        except BaseException as exc:
            self.error = exc
            raise
        cut = len(self._buffer) if n < 0 else min(n, len(self._buffer))
        out = bytes(self._buffer[:cut])
        del self._buffer[:cut]
        self._read += cut
        return out
