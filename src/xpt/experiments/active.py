"""The experiment running in the user's workspace: `.dvc/tmp/xpt/active.json`.

`exp run` writes it once the name is fixed and removes it when the run ends, so `exp show`
can list the run as DVC does (executor `workspace`, state `running`, live metrics read
from the work tree). A file left by a killed run is ignored: it counts only while the
workspace lock is held and its pid is alive.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass

from xpt.project import Project
from xpt.utils.fsutil import atomic_write_bytes
from xpt.utils.proc import pid_alive

NAME = "active.json"


@dataclass(frozen=True)
class ActiveRun:
    """A workspace experiment in progress."""

    name: str
    baseline: str
    pid: int


@contextlib.contextmanager
def running_in_workspace(project: Project, name: str, baseline: str) -> Iterator[None]:
    """Mark the workspace run `name` as active for the duration of the block."""
    path = project.xpt_dir / NAME
    data = {"name": name, "baseline": baseline, "pid": os.getpid()}
    atomic_write_bytes(str(path), json.dumps(data).encode())
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()


def _lock_held(project: Project) -> bool:
    try:
        fd = os.open(project.workspace_lock, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops a lock we took
    return False


def active_run(project: Project) -> ActiveRun | None:
    """The workspace experiment running now, or None (no file, or a stale one)."""
    try:
        raw = json.loads((project.xpt_dir / NAME).read_bytes())
        run = ActiveRun(str(raw["name"]), str(raw["baseline"]), int(raw["pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not (pid_alive(run.pid) and _lock_held(project)):
        return None
    return run
