"""How far a running queue entry has got: the latest step and metric in its workspace.

Read from the entry's isolated workspace (`.dvc/tmp/xpt/ws/<id>/`): the metrics files
its pipeline declares, plus dvclive's default `dvclive/metrics.json`; the one written
last wins. dvclive rewrites that file after every `next_step()`, with a `step` key.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from xpt.errors import XptError
from xpt.experiments.collect import load_pipelines_at, metrics_paths
from xpt.pipeline.metrics import clean_metrics, load_metrics
from xpt.pipeline.params import flatten
from xpt.pipeline.parse import find_dvcfiles, workspace_reader
from xpt.utils.dvcnames import DVCFILE

DVCLIVE_METRICS = "dvclive/metrics.json"


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(data, dict):
        return {prefix or "value": data} if prefix or data is not None else {}
    return flatten(data, prefix)


def _candidates(root: Path) -> list[str]:
    read = workspace_reader(root)
    try:
        pipelines = load_pipelines_at(read, find_dvcfiles(root) or [DVCFILE])
    except XptError:
        pipelines = []
    return list(dict.fromkeys([*metrics_paths(pipelines), DVCLIVE_METRICS]))


def latest(root: Path) -> dict[str, Any] | None:
    """{"path", "step", "metrics"} of the metrics file written last under `root`, or None."""
    newest: tuple[float, str] | None = None
    for rel in _candidates(root):
        path = os.path.normpath(rel)
        if path.startswith(("..", "/")):
            continue
        try:
            mtime = os.stat(root / path).st_mtime
        except OSError:
            continue
        if newest is None or mtime > newest[0]:
            newest = (mtime, path)
    if newest is None:
        return None
    try:
        data = clean_metrics(load_metrics((root / newest[1]).read_bytes(), newest[1]))
    except (OSError, XptError):
        return None  # half-written by the running stage: the next look will tell
    flat = _flatten(data)
    step = flat.pop("step", None)
    metrics = {k: v for k, v in flat.items() if isinstance(v, int | float)}
    return {"path": newest[1].replace(os.sep, "/"), "step": step, "metrics": metrics}
