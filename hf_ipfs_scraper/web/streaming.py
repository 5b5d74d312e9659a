"""Response bodies made of blocking block reads, streamed without a thread hop per block."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

BATCH_BYTES = 8 * 1024 * 1024


def _take(chunks: Iterator[bytes]) -> bytes:
    """The next ``BATCH_BYTES`` or so of ``chunks``, joined (empty at the end)."""
    batch: list[bytes] = []
    size = 0
    for chunk in chunks:
        batch.append(chunk)
        size += len(chunk)
        if size >= BATCH_BYTES:
            break
    return b"".join(batch)


async def in_thread(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """``chunks`` (blocking reads) as an async stream of 8 MiB pieces: a worker thread reads the
    next piece while the event loop sends this one, so reading and sending overlap on two cores.
    Given a sync iterator, Starlette would hop to a thread for every chunk (a 256 KiB block) and
    send each alone: those hops and sends, not the reads, bounded a download (0.15x the direct
    read; bench/bench_serve.py)."""
    loop = asyncio.get_running_loop()
    ahead = loop.run_in_executor(None, _take, chunks)
    try:
        while piece := await ahead:
            ahead = loop.run_in_executor(None, _take, chunks)  # only one read of ``chunks`` at a time
            yield piece
    finally:
        ahead.cancel()  # not started yet: dropped; under way: it ends with its piece, unread
