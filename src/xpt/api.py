"""Public Python API of xpt (a short, curated list).

`make_checkpoint()` is the client side of the checkpoint protocol: inside a stage run
by `xpt exp run` (env `DVC_CHECKPOINT=1`), it creates `$DVC_ROOT/.dvc/tmp/DVC_CHECKPOINT`
and blocks until xpt has recorded the checkpoint and removed the file. Outside an
experiment it returns at once, so training code can call it unconditionally.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

__all__ = ["make_checkpoint", "exp_show", "signal_file"]

SIGNAL_NAME = "DVC_CHECKPOINT"


def signal_file(root: str | os.PathLike[str] | None = None) -> Path:
    """Path of the checkpoint signal file for a workspace (default: $DVC_ROOT)."""
    base = Path(root) if root is not None else Path(os.environ.get("DVC_ROOT", "."))
    return base / ".dvc" / "tmp" / SIGNAL_NAME


def make_checkpoint(poll: float = 0.005, timeout: float | None = None) -> None:
    """Ask xpt to record a checkpoint now and wait until it has (no-op outside xpt)."""
    if os.environ.get("DVC_CHECKPOINT") != "1":
        return
    path = signal_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.flush()
        os.fsync(f.fileno())
    deadline = None if timeout is None else time.monotonic() + timeout
    while path.exists():
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError("xpt did not record the checkpoint in time")
        time.sleep(poll)


def exp_show(repo: str | os.PathLike[str] = ".", **options: Any) -> list[dict[str, Any]]:
    """`xpt exp show --json` as Python data (DVC's schema)."""
    from xpt.experiments.queue_show import queue_entries
    from xpt.experiments.show import ShowOptions, show
    from xpt.project import Project

    project = Project.find(repo)
    return show(  # queued rows (xpt's queue and DVC's) as in the CLI
        project, ShowOptions(**options), extra_entries=lambda git: queue_entries(project, git)
    )
