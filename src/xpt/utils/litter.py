"""Temp files left by dead writers: recognise them and decide when they may go.

Writers put their pid in a temp file's name: `<target>.<pid>-<thread>-<n>.tmp` (cache
objects and `.staging` files, `cache/odb.py:tmp_name`) and `.<name>.xpt-tmp-<pid>`
(uploads to a local remote, `cache/remote_backends.py`). `gc` and `push` remove such a file once
its owner is gone and nobody has written to it for `GRACE` seconds; a file nobody wrote
to for `STALE` seconds goes whatever its name says (a writer on another machine sharing
the folder, a recycled pid). A live writer's file is never touched.
"""

from __future__ import annotations

import os
import re
import time

from xpt.utils.proc import pid_alive

GRACE = 60.0
"""Seconds without a write after which a dead owner's temp file is litter."""
STALE = 24 * 3600.0
"""Seconds without a write after which any temp file is litter."""

_OWNED = (re.compile(r"\.(\d+)-\d+-\d+\.tmp$"), re.compile(r"^\..+\.xpt-tmp-(\d+)$"))


def temp_owner(name: str) -> int | None:
    """The pid in a temp file's name; None if `name` is not one of xpt's temp files."""
    for pattern in _OWNED:
        m = pattern.search(name)
        if m:
            return int(m.group(1))
    return None


def is_litter(path: str, now: float | None = None) -> bool:
    """Is `path` a temp file whose writer is gone (see the module docstring)?"""
    pid = temp_owner(os.path.basename(path))
    if pid is None:
        return False
    try:
        st = os.lstat(path)
    except OSError:
        return False
    idle = (time.time() if now is None else now) - st.st_mtime
    if idle > STALE:
        return True
    return idle > GRACE and pid != os.getpid() and not pid_alive(pid)


def remove_litter(paths: list[str]) -> list[str]:
    """Delete the temp files among `paths` whose writers are gone; those removed."""
    removed = []
    for path in paths:
        if is_litter(path):
            try:
                os.unlink(path)
            except FileNotFoundError:
                continue
            except OSError:
                continue  # not ours to fight over: the next gc tries again
            removed.append(path)
    return removed
