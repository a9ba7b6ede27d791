"""Queue entries as `exp show` rows (queued, running, failed), with light imports.

Kept apart from queue.py so `exp show` does not import the -S/overrides machinery.
Lists xpt's own queue and, read-only, the experiments real DVC queued (dvc_queue.py).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from xpt.cache.odb import ODB
from xpt.errors import ScmError
from xpt.experiments.collect import collect_data
from xpt.experiments.dvc_queue import DvcQueued, dvc_queued
from xpt.experiments.queue_files import db_files, has_queue
from xpt.experiments.show_rows import ExpExecutor, ExpRange, ExpState, LocalExecutor, RowError
from xpt.pipeline.parse import find_dvcfiles, workspace_reader
from xpt.project import Project
from xpt.scm.git import Git
from xpt.utils.dvcnames import DVCFILE

if TYPE_CHECKING:  # queue_db (and sqlite3) load only when a queue database exists
    from xpt.experiments.queue_db import Entry


def _executor(project: Project, entry: Entry) -> ExpExecutor:
    from xpt.experiments.queue_db import State, log_path, workspace_path

    running = entry.state == State.RUNNING
    local = LocalExecutor(
        root=str(workspace_path(project.xpt_dir, entry.id)) if running else None,
        log=str(log_path(project.xpt_dir, entry.id)),
        pid=entry.pid if running else None,
        returncode=entry.returncode,
        task_id=entry.snapshot,
    )
    devices = tuple(entry.devices) if running and entry.devices else ()  # xpt's GPU slots
    return ExpExecutor(entry.state.value, "xpt-queue", local, devices)


def show_entries(project: Project, git: Git) -> dict[str, list[ExpRange]]:
    """Queued, running and failed entries as `exp show` experiment ranges, by baseline."""
    from xpt.experiments.queue_db import State, open_queue, workspace_path

    db = open_queue(project.xpt_dir)
    try:
        entries = db.entries((State.QUEUED, State.RUNNING, State.FAILED))
    finally:
        db.close()
    if not entries:
        return {}
    dvcfiles = find_dvcfiles(project.root) or [DVCFILE]
    odb = ODB(project.cache_dir)
    grouped: dict[str, list[ExpRange]] = {}
    for entry in entries:
        read = git.reader(entry.snapshot)
        if entry.state == State.RUNNING:  # live: params and metrics as in its workspace now
            root = workspace_path(project.xpt_dir, entry.id)
            if (root / ".git").exists():
                read = workspace_reader(root)
        data, error = collect_data(read, entry.snapshot, int(entry.created), dvcfiles, odb)
        if entry.state == State.QUEUED:
            data = replace(data, metrics={})
        if entry.state == State.FAILED:
            error = RowError("Experiment run failed")
        rev = ExpState(entry.snapshot, entry.label, data, error)
        grouped.setdefault(entry.baseline, []).append(
            ExpRange((rev,), _executor(project, entry), entry.label)
        )
    return grouped


def _dvc_range(git: Git, entry: DvcQueued, epoch: int, dvcfiles: list[str], odb: ODB) -> ExpRange:
    """A DVC-queued experiment as DVC's `exp show` renders it: stash commit data, no metrics."""
    rev = entry.stash_rev
    data, error = collect_data(git.reader(rev), rev, epoch, dvcfiles, odb)
    state = ExpState(rev, entry.name, replace(data, metrics={}), error)
    executor = ExpExecutor("queued", "dvc-task", LocalExecutor(task_id=rev))
    return ExpRange((state,), executor, entry.name)


def _commit_time(git: Git, rev: str) -> int | None:
    """Commit time of a stash commit; None if the repository lost it (entry skipped)."""
    try:
        return git.commit_info(rev).time
    except ScmError:
        return None


def dvc_entries(project: Project, git: Git) -> dict[str, list[ExpRange]]:
    """Experiments queued by real DVC, by baseline, newest first as DVC sorts them."""
    queued = dvc_queued(git, project.tmp_dir)
    if not queued:
        return {}
    dvcfiles = find_dvcfiles(project.root) or [DVCFILE]
    odb = ODB(project.cache_dir)
    timed = [
        (t, e.stash_rev, e) for e in queued if (t := _commit_time(git, e.stash_rev)) is not None
    ]
    grouped: dict[str, list[ExpRange]] = {}
    for epoch, _rev, entry in sorted(timed, reverse=True):
        grouped.setdefault(entry.baseline_rev, []).append(
            _dvc_range(git, entry, epoch, dvcfiles, odb)
        )
    return grouped


def watched_files(project: Project) -> list[str]:
    """The queue's files an `exp show` memo rests on."""
    return db_files(project.xpt_dir)


def queue_entries(project: Project, git: Git) -> dict[str, list[ExpRange]]:
    """Every unfinished queue entry for `exp show`: xpt's queue first, then DVC's."""
    found = show_entries(project, git) if has_queue(project.xpt_dir) else {}
    for baseline, ranges in dvc_entries(project, git).items():
        found.setdefault(baseline, []).extend(ranges)
    return found
