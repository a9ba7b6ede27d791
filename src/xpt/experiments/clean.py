"""`exp clean`: remove xpt's leftover temporary experiment files."""

from __future__ import annotations

import os

from xpt.cache.state import StateDB
from xpt.experiments.queue_db import State, open_queue, workspace_path
from xpt.experiments.queue_files import workspaces_dir
from xpt.project import Project
from xpt.utils.fsutil import remove


def clean(project: Project) -> list[str]:
    """Delete isolated workspaces that no running entry uses; returns what was removed."""
    ws_dir = workspaces_dir(project.xpt_dir)
    if not ws_dir.is_dir():
        return []
    db = open_queue(project.xpt_dir)
    try:
        busy = {str(workspace_path(project.xpt_dir, e.id)) for e in db.entries((State.RUNNING,))}
    finally:
        db.close()
    removed = []
    with StateDB(project.state_db) as state:
        for name in os.listdir(ws_dir):
            path = str(ws_dir / name)
            if path not in busy:
                remove(path)
                state.forget_under(path)
                removed.append(path)
    return removed
