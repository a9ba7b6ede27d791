"""Advisory file locks (fcntl.flock) that say who holds them.

The lock file's content names the holder (pid and command line) so that a second
process can fail at once with a message naming it. `.dvc/tmp/lock` is taken the same
way DVC takes it (flock), so xpt and DVC never modify one repository concurrently.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import time
from collections.abc import Iterator

from xpt.errors import LockBusy


def _holder_text() -> str:
    return f"{os.getpid()}\n{' '.join(sys.argv)}\n"


def read_holder(path: str) -> str:
    """A human description of who holds the lock at `path` (best effort)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return "another process"
    if not lines:
        return "another process"
    pid = lines[0].strip()
    cmd = lines[1].strip() if len(lines) > 1 else ""
    return f"pid {pid}" + (f" ({cmd})" if cmd else "")


@contextlib.contextmanager
def file_lock(path: str, what: str, timeout: float = 0.0) -> Iterator[None]:
    """Hold an exclusive lock on `path`; raise LockBusy naming the holder if taken.

    `timeout` > 0 waits (polling) that many seconds before giving up.
    """
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockBusy(
                        f"{what} is busy: locked by {read_holder(path)}",
                        hint="wait for it to finish, or stop that process",
                    ) from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, _holder_text().encode(), 0)
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
