"""The queue's verbs: `exp run --queue/--temp/--run-all` and `queue start/status/logs/
remove/kill`, one function each, called by the CLI and the Python API alike.

The rules are here: the distributed queue takes `--queue` when `queue.backend` is
celery; distributed entries are mirrored from their broker before a verb reads them;
which entries a verb may touch. The callers parse flags and render what comes back.
Warnings (an unreachable broker) go to `warn` as they happen, before any error.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from xpt.errors import QueueError, UnknownExperiment
from xpt.experiments.queue_db import Entry, State, has_remote_entries, queue_session
from xpt.experiments.queue_files import log_path
from xpt.project import Project

if TYPE_CHECKING:
    from xpt.experiments.gpus import GpuPlan
    from xpt.experiments.local_worker import Report, RunSummary
    from xpt.experiments.run import ExpRunRequest

Warn = Callable[[str], None]


def _quiet(_message: str) -> None:
    pass


def refresh_remote(project: Project, warn: Warn = _quiet) -> None:
    """Mirror distributed (celery) entries from their broker; a no-op without them."""
    if not has_remote_entries(project.xpt_dir):
        return
    from xpt.experiments.distributed.task_status import refresh

    for message in refresh(project).errors:
        warn(message)


# --- exp run --queue / --temp / --run-all ----------------------------------------------


@dataclass(frozen=True)
class Queued:
    """The entries a request queued; `left_out`: untracked files not in their snapshot."""

    entries: tuple[Entry, ...]
    left_out: tuple[str, ...] = ()
    distributed: bool = False


@dataclass(frozen=True)
class QueueRunResult:
    """`queued`: None for `--run-all` alone; `summary`: None when nothing ran."""

    queued: Queued | None
    summary: RunSummary | None


def exp_run_queue(
    project: Project,
    request: ExpRunRequest,
    *,
    report: Report | None = None,
    on_queued: Callable[[Queued], None] | None = None,
) -> QueueRunResult:
    """Queue the request (`queue`/`temp`), then run: `temp` that entry alone, `run_all`
    every queued entry. `on_queued` hears of the entries before anything runs."""
    from xpt.experiments.distributed.settings import is_distributed
    from xpt.experiments.local_worker import run_queue

    notify = on_queued or (lambda _queued: None)
    if request.queue and is_distributed(project.config):
        from xpt.experiments.distributed.submit import enqueue_distributed

        entries = enqueue_distributed(project, request, request.copy_paths)
        sent = Queued(tuple(entries), distributed=True)
        notify(sent)
        return QueueRunResult(sent, None)
    queued: Queued | None = None
    if request.queue or request.temp:
        from xpt.experiments.queue import enqueue

        result = enqueue(project, request, request.copy_paths)
        queued = Queued(result.entries, result.left_out)
        notify(queued)
        if request.temp:
            return QueueRunResult(queued, run_queue(project, 1, report, only=queued.entries[0].id))
        if not request.run_all:
            return QueueRunResult(queued, None)
    from xpt.experiments.gpus import resolve as resolve_gpus

    gpus = resolve_gpus(request.gpus, request.gpus_per_exp, project.config)
    return QueueRunResult(queued, run_queue(project, request.jobs, report, gpus=gpus))


# --- queue start ------------------------------------------------------------------------


@dataclass(frozen=True)
class StartRequest:
    """`queue start`: a detached local worker, or a distributed one with `broker`."""

    jobs: int = 1
    gpus: str | None = None
    gpus_per_exp: int | None = None
    broker: str | None = None


@dataclass(frozen=True)
class Started:
    """The worker's pid; `jobs`: experiments at a time (a local worker's, GPU slots counted)."""

    pid: int
    jobs: int
    gpus: GpuPlan | None = None
    broker: str | None = None


def start(project: Project, request: StartRequest) -> Started:
    """Start a detached worker (GPU slots from the flags, else `queue.gpus`)."""
    from xpt.experiments.gpus import resolve as resolve_gpus

    gpus = resolve_gpus(request.gpus, request.gpus_per_exp, project.config)
    if request.broker:
        from xpt.experiments.distributed.celery_worker import spawn_detached_worker

        pid = spawn_detached_worker(request.broker, request.jobs, project.xpt_dir, gpus)
        return Started(pid, request.jobs, gpus, request.broker)
    from xpt.experiments.local_worker import spawn_workers

    pid = spawn_workers(project, request.jobs, gpus)
    return Started(pid, gpus.concurrency(request.jobs) if gpus else request.jobs, gpus)


# --- queue status / logs ----------------------------------------------------------------


@dataclass(frozen=True)
class QueueStatus:
    """`queue status --json` rows (DVC's keys, plus devices and progress) and live workers."""

    rows: list[dict[str, Any]]
    workers: int


def status(project: Project, warn: Warn = _quiet) -> QueueStatus:
    """Every entry, distributed ones as their broker last told."""
    from xpt.experiments.queue_db import status_rows

    refresh_remote(project, warn)
    rows, workers = status_rows(project.xpt_dir)
    return QueueStatus(rows, workers)


def find_entry(project: Project, name: str) -> Entry:
    """The entry a user names (experiment name, label, id or snapshot sha prefix)."""
    from xpt.experiments.queue import find_entries

    with queue_session(project.xpt_dir) as db:
        found, unknown = find_entries(db.entries(), [name])
    if unknown or not found:
        raise UnknownExperiment(f"unknown queue entry '{name}'", hint="see `xpt queue status`")
    return found[-1]


@dataclass(frozen=True)
class LogsRequest:
    """`queue logs TASK [-f] [-e ENC]`."""

    task: str
    follow: bool = False
    """Keep reading until the entry has ended and its log has no more."""
    encoding: str | None = None
    """Decode the log's bytes with this codec (chunks are then str); None: raw bytes."""


def _decoder(encoding: str | None) -> Callable[[bytes], str] | None:
    if not encoding:
        return None
    import codecs

    try:
        return codecs.getincrementaldecoder(encoding)(errors="replace").decode
    except LookupError:
        raise QueueError(
            f"unknown encoding '{encoding}'", hint="name a Python codec, e.g. utf-8 or latin-1"
        ) from None


def logs(project: Project, request: LogsRequest, warn: Warn = _quiet) -> Iterator[bytes | str]:
    """An entry's log, chunk by chunk as it grows (`follow`). Checked before it returns."""
    refresh_remote(project, warn)
    entry = find_entry(project, request.task)
    decode = _decoder(request.encoding)
    return _chunks(project, entry, request.follow, decode, warn)


def _chunks(
    project: Project,
    entry: Entry,
    follow: bool,
    decode: Callable[[bytes], str] | None,
    warn: Warn,
) -> Iterator[bytes | str]:
    from xpt.experiments.distributed.task_status import is_remote

    path = log_path(project.xpt_dir, entry.id)
    pos = 0
    while True:
        try:
            with open(path, "rb") as f:
                f.seek(pos)
                chunk = f.read()
        except FileNotFoundError:
            chunk = b""
        if chunk:
            yield chunk if decode is None else decode(chunk)
            pos += len(chunk)
        if not follow:
            return
        if is_remote(entry):
            refresh_remote(project, warn)
        with queue_session(project.xpt_dir) as db:
            current = db.get(entry.id)
        finished = current is None or current.state not in (State.QUEUED, State.RUNNING)
        if finished and not chunk:
            return
        time.sleep(0.2)


# --- queue remove / kill ----------------------------------------------------------------


@dataclass(frozen=True)
class QueueRemoveRequest:
    """`queue remove [TASK…] [--all] [--queued] [--success] [--failed]`."""

    names: tuple[str, ...] = ()
    all: bool = False
    """Every entry that is not running."""
    queued: bool = False
    success: bool = False
    failed: bool = False

    @property
    def states(self) -> tuple[State, ...]:
        chosen = [State.QUEUED, State.SUCCESS, State.FAILED] if self.all else []
        for wanted, state in (
            (self.queued, State.QUEUED),
            (self.success, State.SUCCESS),
            (self.failed, State.FAILED),
        ):
            if wanted:
                chosen.append(state)
        return tuple(chosen)


def remove(project: Project, request: QueueRemoveRequest, warn: Warn = _quiet) -> list[str]:
    """Drop the entries named or in the states asked; the labels removed."""
    from xpt.experiments.queue import remove_entries

    refresh_remote(project, warn)
    if not (request.names or request.states):
        raise QueueError(
            "nothing to remove", hint="name entries, or pass --all/--queued/--success/--failed"
        )
    return remove_entries(project, names=request.names, states=request.states)


@dataclass(frozen=True)
class KillRequest:
    """`queue kill TASK… [-f]`: SIGTERM, or SIGKILL with `force`."""

    names: tuple[str, ...]
    force: bool = False


def kill(project: Project, request: KillRequest, warn: Warn = _quiet) -> list[Entry]:
    """Kill running entries, local or distributed; all must be running. The entries."""
    from xpt.experiments.distributed.task_status import is_remote, kill_remote
    from xpt.experiments.local_worker import kill_entries

    refresh_remote(project, warn)
    entries = [find_entry(project, name) for name in request.names]
    not_running = [e.label for e in entries if e.state != State.RUNNING]
    if not_running:
        raise QueueError("not running: " + ", ".join(not_running), hint="see `xpt queue status`")
    local = [e for e in entries if not is_remote(e)]
    kill_entries(project, local, signal.SIGKILL if request.force else signal.SIGTERM)
    kill_remote(project, [e for e in entries if is_remote(e)], force=request.force)
    return entries
