"""Who owns a run or a claimed entity, and whether that process still lives.

A crashed (``kill -9``) scraper leaves runs ``running`` and entities ``in_progress``; the next open
puts them back, but only when their owner is gone: several scrapers share one state store, and
taking work from a live one would run it twice. A PID alone is a weak name for a process, so an
owner is recorded as (PID, tag) where the tag holds the host name and, on Linux, the process start
time from ``/proc/<pid>/stat``:

* another host (or container with its own PID namespace) → we cannot tell, so we assume it lives;
* ``os.kill(pid, 0)`` fails with ``ProcessLookupError`` → dead;
* a zombie (killed but not yet reaped by its parent) → dead: ``kill(pid, 0)`` still succeeds on it;
* the PID lives but started at another time → the PID was reused by an unrelated process → dead.
"""

from __future__ import annotations

import os

_SEP = "/"  # host names cannot contain it


_current: tuple[int, str] | None = None


def current() -> tuple[int, str]:
    """(PID, tag) of this process, cached per PID so a forked child gets its own."""
    global _current
    pid = os.getpid()
    if _current is None or _current[0] != pid:
        _current = (pid, _tag(pid))
    return _current


def is_alive(pid: int | None, tag: str | None) -> bool:
    """Whether the owner recorded as (pid, tag) may still run; an unknown owner counts as dead."""
    if pid is None or pid <= 0:
        return False
    host, _, start = (tag or "").rpartition(_SEP)
    if tag and host != _hostname():
        return True  # not ours to judge: never take work from a process we cannot see
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by another user
    stat = _proc_stat(pid)
    if stat is None:
        return True  # no /proc (macOS): the PID check is all we have
    state, started = stat
    if state in ("Z", "X"):
        return False
    return not start or start == started


def _tag(pid: int) -> str:
    stat = _proc_stat(pid)
    return f"{_hostname()}{_SEP}{stat[1] if stat else ''}"


def _hostname() -> str:
    """``socket.gethostname()`` without importing ``socket`` (2 ms of every command's start)
    where ``uname(2)`` gives the same name."""
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket

    return socket.gethostname()


def _proc_stat(pid: int) -> tuple[str, str] | None:
    """(state letter, start time in clock ticks since boot) from /proc, or None without /proc."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    fields = text.rpartition(")")[2].split()  # the command name before ")" may hold spaces
    if len(fields) < 20:
        return None
    return fields[0], fields[19]  # fields 3 and 22 of proc(5)
