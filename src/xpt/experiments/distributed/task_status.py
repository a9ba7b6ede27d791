"""The submitting machine's view of distributed entries: queue.db mirrors the broker.

`refresh` reads each unfinished celery entry's task state and log tail from the result
backend and writes them where the local queue keeps its own (queue.db rows, the
`logs/<id>.log` files), so `queue status` and `queue logs` need no second code path.
It also fetches the experiment refs of entries that just succeeded, so `exp show`
lists them. `kill_remote` and `forget_remote` are the celery halves of `queue kill`
and `queue remove`. Celery is imported only when a celery entry exists.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xpt.errors import QueueError, ScmError, XptError
from xpt.experiments.distributed.payload import BACKEND, remote_snapshot_ref
from xpt.experiments.distributed.settings import celery_required, is_distributed
from xpt.experiments.queue_db import Entry, QueueDB, State, log_path, open_queue
from xpt.project import Project
from xpt.scm.exprefs import ExpRef
from xpt.scm.git import Git
from xpt.utils.fsutil import atomic_write_bytes

if TYPE_CHECKING:
    from celery import Celery

_UNFINISHED = (State.QUEUED, State.RUNNING)


def is_remote(entry: Entry) -> bool:
    """True for entries of the distributed (celery) queue."""
    return entry.options.get("backend") == BACKEND


@dataclass
class RefreshResult:
    """What a refresh changed; `errors` (broker or git remote unreachable) leave rows as they were."""

    changed: list[str] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def refresh(project: Project, *, fetch_results: bool = True) -> RefreshResult:
    """Bring queue.db rows and logs of unfinished celery entries up to date."""
    out = RefreshResult()
    db = open_queue(project.xpt_dir)
    try:
        pending = [e for e in db.entries(_UNFINISHED) if is_remote(e)]
        if not pending:
            return out
        succeeded: list[Entry] = []
        for broker, entries in _by_broker(pending).items():
            try:
                _refresh_broker(project, db, broker, entries, out, succeeded)
            except XptError as exc:
                out.errors.append(exc.message)
    finally:
        db.close()
    if fetch_results and succeeded:
        _fetch_results(project, succeeded, out)
    return out


def _by_broker(entries: Iterable[Entry]) -> dict[str, list[Entry]]:
    groups: dict[str, list[Entry]] = defaultdict(list)
    for entry in entries:
        groups[str(entry.options.get("broker"))].append(entry)
    return dict(groups)


def _app(broker: str) -> Celery:
    with celery_required():
        from xpt.experiments.distributed.tasks import make_app
    return make_app(broker)


def _refresh_broker(
    project: Project,
    db: QueueDB,
    broker: str,
    entries: list[Entry],
    out: RefreshResult,
    succeeded: list[Entry],
) -> None:
    with celery_required():
        from xpt.experiments.distributed import tasks

    app = _app(broker)
    try:
        for entry in entries:
            task_id = str(entry.options.get("task_id"))
            state = tasks.task_state(app, task_id)
            if state.state != "PENDING":
                _mirror_log(log_path(project.xpt_dir, entry.id), tasks.load_log(app, task_id))
            new = _apply(db, entry, state)
            if new is not None and new != entry.state:
                out.changed.append(entry.label)
            if new == State.SUCCESS:
                succeeded.append(entry)
    except tasks.BROKER_ERRORS as exc:
        raise tasks.broker_error(app, exc) from exc
    finally:
        app.close()


def _apply(db: QueueDB, entry: Entry, state: Any) -> State | None:
    """Write one task state into the entry's row; the row's new state."""
    if state.state in ("STARTED", "RETRY", "RECEIVED"):
        if entry.state != State.RUNNING or (state.devices and not entry.devices):
            db.mark_running(entry.id, state.started, state.devices)
        return State.RUNNING
    if state.state == "SUCCESS":
        result = state.result if isinstance(state.result, dict) else {}
        db.finish(
            entry.id,
            ok=True,
            returncode=0,
            result_sha=result.get("sha"),
            result_name=result.get("name"),
        )
        return State.SUCCESS
    if state.state == "FAILURE":
        db.finish(entry.id, ok=False, returncode=1, error=state.error)
        return State.FAILED
    if state.state == "REVOKED":
        db.finish(entry.id, ok=False, returncode=-15, error="killed by `xpt queue kill`")
        return State.FAILED
    return None


def _mirror_log(path: Path, remote: tuple[int, bytes] | None) -> None:
    """Extend the local copy of a remote log with what it lacks (atomically)."""
    if remote is None:
        return
    size, tail = remote
    try:
        local = path.read_bytes()
    except FileNotFoundError:
        local = b""
    if len(local) == size:
        return
    start = size - len(tail)
    if start <= len(local) < size:
        data = local + tail[len(local) - start :]
    elif start == 0:
        data = tail
    else:
        data = b"[... earlier output not kept by the worker ...]\n" + tail
    atomic_write_bytes(path, data)


def _fetch_results(project: Project, entries: list[Entry], out: RefreshResult) -> None:
    """Fetch the experiment refs of entries that succeeded (data comes with `exp pull`)."""
    db = open_queue(project.xpt_dir)
    try:
        finished = [db.get(e.id) for e in entries]
    finally:
        db.close()
    git = Git(project.root)
    by_remote: dict[str, list[str]] = defaultdict(list)
    for entry in finished:
        if entry is None or not entry.result_name:
            continue
        ref = ExpRef(entry.baseline, entry.result_name).ref
        if git.get_ref(ref) != entry.result_sha:
            by_remote[str(entry.options.get("git_remote"))].append(ref)
    for url, refs in by_remote.items():
        try:
            statuses = git.fetch(url, [f"{r}:{r}" for r in refs])
        except ScmError as exc:
            out.errors.append(exc.message)
            continue
        out.fetched.extend(r for r, s in statuses.items() if s in ("new", "updated"))


def kill_remote(project: Project, entries: list[Entry], *, force: bool = False) -> None:
    """`queue kill` for celery entries: revoke their tasks, stopping running experiments."""
    with celery_required():
        from xpt.experiments.distributed import tasks

    for broker, group in _by_broker(e for e in entries if is_remote(e)).items():
        app = _app(broker)
        try:
            ids = [str(e.options.get("task_id")) for e in group]
            tasks.revoke(app, ids, terminate=True, force=force)
        finally:
            app.close()


def forget_remote(project: Project, entries: list[Entry]) -> list[str]:
    """`queue remove` for celery entries: revoke queued tasks, drop their results and
    delete their snapshots from the git remote (a worker that still gets such a task
    then fails with a clear message). Warnings for what could not be done."""
    with celery_required():
        from xpt.experiments.distributed import tasks

    remote = [e for e in entries if is_remote(e)]
    warnings: list[str] = []
    for broker, group in _by_broker(remote).items():
        app = _app(broker)
        try:
            ids = [str(e.options.get("task_id")) for e in group]
            queued = [str(e.options.get("task_id")) for e in group if e.state == State.QUEUED]
            tasks.revoke(app, queued, terminate=False)
            for task_id in ids:
                tasks.forget(app, task_id)
        except (QueueError, *tasks.BROKER_ERRORS) as exc:
            warnings.append(f"could not reach the broker to forget tasks: {exc}")
        finally:
            app.close()
    git = Git(project.root)
    by_remote: dict[str, list[str]] = defaultdict(list)
    for entry in remote:
        by_remote[str(entry.options.get("git_remote"))].append(remote_snapshot_ref(entry.snapshot))
    for url, refs in by_remote.items():
        try:
            git.push(url, [f":{r}" for r in refs])
        except ScmError as exc:
            warnings.append(exc.message)
    return warnings


def live_workers(project: Project, broker: str | None = None, timeout: float = 0.5) -> list[str]:
    """Names of the distributed workers answering now (for `queue status`)."""
    with celery_required():
        from xpt.experiments.distributed import tasks
    from xpt.experiments.distributed.settings import broker_url

    if broker is None and not is_distributed(project.config):
        return []
    app = _app(broker_url(project.config, broker))
    try:
        return tasks.live_workers(app, timeout)
    finally:
        app.close()
