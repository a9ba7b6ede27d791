"""Queue entries as `exp show` rows (queued, running, failed), with light imports.

Kept apart from queue.py so `exp show` does not import the -S/overrides machinery.
"""

from __future__ import annotations

from typing import Any

from xpt.experiments.collect import cache_reader, collect_data
from xpt.experiments.queue_db import Entry, State, log_path, open_queue, workspace_path
from xpt.pipeline.parse import find_dvcfiles
from xpt.project import Project
from xpt.scm.git import Git


def _executor(project: Project, entry: Entry) -> dict[str, Any]:
    running = entry.state == State.RUNNING
    return {
        "state": entry.state.value,
        "name": "xpt-queue",
        "local": {
            "root": str(workspace_path(project.xpt_dir, entry.id)) if running else None,
            "log": str(log_path(project.xpt_dir, entry.id)),
            "pid": entry.pid if running else None,
            "returncode": entry.returncode,
            "task_id": entry.snapshot,
        },
    }


def show_entries(project: Project, git: Git) -> dict[str, list[dict[str, Any]]]:
    """Queued, running and failed entries as `exp show` experiment ranges, by baseline."""
    db = open_queue(project.xpt_dir)
    try:
        entries = db.entries((State.QUEUED, State.RUNNING, State.FAILED))
    finally:
        db.close()
    if not entries:
        return {}
    dvcfiles = find_dvcfiles(project.root) or ["dvc.yaml"]
    cache_read = cache_reader(str(project.cache_dir))
    grouped: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        data, error = collect_data(
            git.reader(entry.snapshot), entry.snapshot, int(entry.created), dvcfiles, cache_read
        )
        if entry.state == State.QUEUED:
            data["metrics"] = {}
        if entry.state == State.FAILED:
            error = {"msg": "Experiment run failed", "type": ""}
        rev = {
            "rev": entry.snapshot,
            "name": entry.label,
            "data": data,
            "error": error,
            "experiments": None,
        }
        grouped.setdefault(entry.baseline, []).append(
            {"name": entry.label, "executor": _executor(project, entry), "revs": [rev]}
        )
    return grouped
