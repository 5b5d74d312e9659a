"""Response bodies made of blocking block reads, streamed without a thread hop per block."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

from ..storage.base import Piece

BATCH_BYTES = 8 * 1024 * 1024


def _take(chunks: Iterator[Piece]) -> list[Piece]:
    """The next ``BATCH_BYTES`` or so of ``chunks`` (an empty list at the end)."""
    batch: list[Piece] = []
    size = 0
    for chunk in chunks:
        batch.append(chunk)
        size += len(chunk)
        if size >= BATCH_BYTES:
            break
    return batch


async def in_thread(chunks: Iterator[Piece]) -> AsyncIterator[Piece]:
    """``chunks`` (blocking reads) as an async stream: a worker thread reads the next 8 MiB of
    blocks while the event loop sends this batch, so reading and sending overlap on two cores.
    Given a sync iterator, Starlette would hop to a thread for every chunk (a 256 KiB block):
    those hops, not the reads, bounded a download (0.15x the direct read; bench/bench_serve.py).
    The batch's pieces are sent one by one, not joined: joining copied every byte into a fresh
    8 MiB buffer, and the event loop's transport copies a large write's unsent tail again
    (server CPU 0.79 s/GiB joined, 0.65 s/GiB piece by piece, in one pair of bench_serve runs)."""
    loop = asyncio.get_running_loop()
    ahead = loop.run_in_executor(None, _take, chunks)
    try:
        while batch := await ahead:
            ahead = loop.run_in_executor(None, _take, chunks)  # only one read of ``chunks`` at a time
            for piece in batch:
                yield piece
    finally:
        ahead.cancel()  # not started yet: dropped; under way: it ends with its piece, unread
