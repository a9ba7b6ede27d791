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

__all__ = ["make_checkpoint", "exp_show", "signal_file", "metrics_show", "params_show"]


def signal_file(root: str | os.PathLike[str] | None = None) -> Path:
    """Path of the checkpoint signal file for a workspace (default: $DVC_ROOT)."""
    from xpt.repro.monitor import signal_path  # its owner; stdlib only, like this module

    return signal_path(Path(root) if root is not None else Path(os.environ.get("DVC_ROOT", ".")))


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
    from xpt.experiments.show import ShowOptions, show_with_queue
    from xpt.experiments.show_rows import rows_to_json
    from xpt.project import Project

    # queued rows (xpt's queue and DVC's) as in the CLI
    return rows_to_json(show_with_queue(Project.find(repo), ShowOptions(**options)))


def _merged(files: dict[str, Any]) -> dict[str, Any]:
    """One dict from `{file: {"data": values}}`, as DVC's API merges them: a top-level key
    found in several files is spelled `file:key`, a unique one stays bare."""
    loaded = {path: item["data"] for path, item in files.items() if isinstance(item, dict)}
    loaded = {path: data for path, data in loaded.items() if isinstance(data, dict)}
    counts: dict[str, int] = {}
    for data in loaded.values():
        for key in data:
            counts[key] = counts.get(key, 0) + 1
    merged: dict[str, Any] = {}
    for path, data in loaded.items():
        for key, value in data.items():
            merged[key if counts[key] == 1 else f"{path}:{key}"] = value
    return merged


def metrics_show(
    *targets: str, repo: str | os.PathLike[str] = ".", rev: str | None = None
) -> dict[str, Any]:
    """Metrics of the workspace (or `rev`) merged into one dict, like `dvc.api.metrics_show`.

    Read by the same collector as `xpt metrics show`: from git, else from the cache.
    """
    from xpt.experiments.compare import metrics_show as collect
    from xpt.project import Project

    project = Project.find(repo)
    shown = collect(project, [rev] if rev else None, list(targets) or None)
    return _merged(next(iter(shown.values()))["data"])


def params_show(
    *targets: str, repo: str | os.PathLike[str] = ".", rev: str | None = None, deps: bool = False
) -> dict[str, Any]:
    """Params of the workspace (or `rev`) merged into one dict, like `dvc.api.params_show`.

    `targets` limit the files; `deps` keeps only the params stages depend on.
    """
    from xpt.experiments.compare import params_at
    from xpt.project import Project

    files = params_at(Project.find(repo), rev or "workspace", deps_only=deps)
    if targets:
        files = {path: item for path, item in files.items() if path in targets}
    return _merged(files)
