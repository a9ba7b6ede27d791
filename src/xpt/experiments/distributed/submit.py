"""`exp run --queue` with `[queue] backend = celery`: queue locally, publish, send tasks.

The local queue builds the snapshots and queue.db rows (one per sweep combination),
exactly as for local runs; the rows are then marked as celery entries so that local
workers leave them alone. The snapshots go to the git remote (one push), the data
they need to the data remote, and one task per entry to the broker. Entries whose
task could not be sent are removed again, so nothing waits for a task that does not
exist.
"""

from __future__ import annotations

from xpt.cache.odb import object_relpath
from xpt.errors import RemoteError, ScmError
from xpt.experiments.distributed.payload import (
    BACKEND,
    DataRemote,
    TaskPayload,
    remote_snapshot_ref,
    task_id_for,
)
from xpt.experiments.distributed.settings import (
    broker_url,
    celery_required,
    data_remote,
    git_remote,
)
from xpt.experiments.queue import QueueResult, enqueue, remove_entries
from xpt.experiments.queue_db import Entry, open_queue
from xpt.experiments.run import ExpRunRequest, git_with_commit
from xpt.project import Project
from xpt.repro.transfer.sync import get_remote, push, used_objects
from xpt.scm.git import Git


def enqueue_distributed(
    project: Project,
    request: ExpRunRequest,
    copy_paths: tuple[str, ...] = (),
    *,
    broker: str | None = None,
) -> list[Entry]:
    """Queue the request's experiments on the distributed queue; the entries."""
    return list(submit(project, request, copy_paths, broker=broker).entries)


def submit(
    project: Project,
    request: ExpRunRequest,
    copy_paths: tuple[str, ...] = (),
    *,
    broker: str | None = None,
) -> QueueResult:
    """Like `enqueue`, then publish snapshots and data and send one task per entry."""
    with celery_required():
        from xpt.experiments.distributed import tasks
    url = broker_url(project.config, broker)
    git = git_with_commit(project)
    remote_name, remote_url = git_remote(project, git)
    data = data_remote(project)
    app = tasks.make_app(url)
    try:
        tasks.check_broker(app)
        queued = enqueue(project, request, copy_paths)
        entries = _mark_celery(project, list(queued.entries), url, remote_url)
        sent: list[Entry] = []
        try:
            _push_snapshots(git, remote_name, entries)
            _push_data(project, git, entries, data)
            for entry in entries:
                tasks.send(app, str(entry.options["task_id"]), payload_for(entry, data))
                sent.append(entry)
        finally:
            unsent = [e for e in entries if e not in sent]
            if unsent:
                remove_entries(project, names=[str(e.id) for e in unsent])
    finally:
        app.close()
    return QueueResult(tuple(entries), queued.left_out)


def _mark_celery(
    project: Project, entries: list[Entry], broker: str, remote_url: str
) -> list[Entry]:
    """Record backend, broker, git remote and task id in each entry's options."""
    db = open_queue(project.xpt_dir)
    try:
        marked = []
        for entry in entries:
            options = {
                **entry.options,
                "backend": BACKEND,
                "broker": broker,
                "git_remote": remote_url,
                "task_id": task_id_for(entry.snapshot, entry.id),
            }
            db.set_options(entry.id, options)
            fresh = db.get(entry.id)
            assert fresh is not None
            marked.append(fresh)
        return marked
    finally:
        db.close()


def payload_for(entry: Entry, data: DataRemote | None) -> TaskPayload:
    """The task payload of a celery entry (its options say where things are)."""
    keep = {"repro", "message"}
    return TaskPayload(
        git_remote=str(entry.options["git_remote"]),
        snapshot=entry.snapshot,
        baseline=entry.baseline,
        name=entry.name,
        options={k: v for k, v in entry.options.items() if k in keep},
        data_remote=data,
        entry_id=entry.id,
    )


def _push_snapshots(git: Git, remote: str, entries: list[Entry]) -> None:
    specs = [f"{e.ref}:{remote_snapshot_ref(e.snapshot)}" for e in entries]
    statuses = git.push(remote, specs)
    bad = [ref for ref, status in statuses.items() if status == "rejected"]
    if bad:
        raise ScmError(
            f"git remote '{remote}' refused the queued snapshot(s): {', '.join(bad)}",
            hint="check that you may push refs/xpt/* there",
        )


def _push_data(project: Project, git: Git, entries: list[Entry], data: DataRemote | None) -> None:
    """Upload the cached data the snapshots' lock files name."""
    oids = used_objects(project, [git.reader(e.snapshot) for e in entries])
    if not oids:
        return
    if data is None:
        raise RemoteError(
            "the queued experiments use cached data, but no data remote is configured"
            " for the workers to pull it from",
            hint="add one with `xpt remote add -d NAME URL`",
        )
    remote = get_remote(project, data.name)
    result = push(project, remote, oids)
    failed = {
        md5: why
        for md5, why in result.failed.items()
        if not (remote.exists(object_relpath(md5)) or remote.exists(object_relpath(md5, True)))
    }
    if failed:
        md5, why = sorted(failed.items())[0]
        raise RemoteError(
            f"could not push {len(failed)} object(s) the queued experiments need to data"
            f" remote '{data.name}' (first: {md5}: {why})",
            hint="`xpt pull` or rerun the stages that produce them, then queue again",
        )
