"""CPU-bound parallel map over forked processes (YAML parsing, saving many small files).

Threads do not help pure-Python loops (the GIL: two threads doing many short system
calls mostly trade the lock); a fork after imports costs a few milliseconds and shares
everything read so far. Results come back pickled through a pipe. Small inputs, or
platforms without fork, run serially; a fork only happens while no other thread runs, so
no lock of another thread can be held in the child.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import threading
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar, cast

from xpt.utils import readlog

T = TypeVar("T")
R = TypeVar("R")


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def can_fork() -> bool:
    """Forking is available and safe: the only thread is this one.

    A lock held by another thread at the fork would stay held forever in the child, so
    with any other thread alive (a checkpoint monitor, say) the work stays in-process.
    """
    return hasattr(os, "fork") and threading.active_count() == 1


class Forked(Generic[R]):
    """`[fn(x) for x in items]` computed by a forked child; collect it with `result()`."""

    def __init__(self, pid: int, rfd: int) -> None:
        self._pid = pid
        self._rfd = rfd

    def result(self) -> list[R] | None:
        """The child's results; None if it failed (the caller redoes the work itself)."""
        try:
            data = _read_all(self._rfd)
        finally:
            self.close()
        try:
            status, value, reads = pickle.loads(data) if data else ("error", "worker died", {})
        except Exception:  # noqa: BLE001 - a truncated payload: the worker died
            return None
        readlog.merge(reads)  # the child's reads count as this command's
        return cast(list[R], value) if status == "ok" else None

    def close(self) -> None:
        """Stop waiting for the child (it ends at its next write) and reap it."""
        if self._rfd >= 0:
            os.close(self._rfd)
            self._rfd = -1
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self._pid, 0)


def fork_start(fn: Callable[[T], R], items: Sequence[T]) -> Forked[R] | None:
    """Start `[fn(x) for x in items]` in a child process; None if forking is not possible.

    The child shares the caller's memory as of now and ends with `os._exit` (no cleanup
    of the parent's state runs twice). Exceptions in it are reported as a failure.
    """
    if not can_fork():
        return None
    rfd, wfd = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(rfd)
        os.close(wfd)
        return None
    if pid == 0:  # pragma: no cover - child
        os.close(rfd)
        code = 0
        try:
            payload: Any = ("ok", [fn(x) for x in items], readlog.noted())
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            payload = ("error", repr(exc), {})
            code = 1
        try:
            data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
            view = memoryview(data)
            while view:
                view = view[os.write(wfd, view) :]
        finally:
            os._exit(code)
    os.close(wfd)
    return Forked(pid, rfd)


def fork_map(
    fn: Callable[[T], R], items: Sequence[T], *, jobs: int | None = None, min_items: int = 64
) -> list[R]:
    """[fn(x) for x in items], split over `jobs` processes (default: CPU count)."""
    jobs = jobs or os.cpu_count() or 1
    if jobs < 2 or len(items) < min_items or not can_fork():
        return [fn(x) for x in items]
    size = (len(items) + jobs - 1) // jobs
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    children: list[Forked[R] | None] = []
    try:
        for chunk in chunks[1:]:
            children.append(fork_start(fn, chunk))
        results: list[R] = [fn(x) for x in chunks[0]]
        for chunk, child in zip(chunks[1:], children, strict=True):
            value = child.result() if child is not None else None
            # a worker failed: redo its part here so errors surface normally
            results.extend(value if value is not None else [fn(x) for x in chunk])
    finally:
        for child in children:
            if child is not None:
                child.close()
    return results
