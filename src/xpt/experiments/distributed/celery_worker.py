"""A distributed worker's processes: one forked child per experiment, watched from Celery.

`run_task` runs in a Celery pool process. It forks the experiment's process (its own
process group, output to a log file; the job itself is in job.py), publishes the log
tail about once a second while waiting, and turns the child's outcome into the
task's result or failure. `queue kill` reaches it as a signal (Celery's revoke); a
cold shutdown of the worker puts the task back in the queue. A "done" marker in the
result backend lets a second delivery of a finished task return at once.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from xpt.errors import XptError
from xpt.experiments.distributed.job import execute
from xpt.experiments.distributed.payload import TaskPayload
from xpt.experiments.gpus import DeviceLocks, GpuPlan, release, use_devices
from xpt.utils.fsutil import atomic_write_text

LOG_TAIL_BYTES = 64 * 1024
LOG_EVERY = 1.0
KILL_GRACE = 10.0
KILLED_BY_USER = "killed by `xpt queue kill`"


class RemoteExperimentFailed(Exception):
    """A distributed experiment failed; the message says why (shown by `queue status`)."""


class TaskIO(Protocol):
    """What run_task needs from the task queue (tasks.py implements it on Celery)."""

    task_id: str
    hostname: str

    def started(self, meta: dict[str, Any]) -> None: ...

    def store_log(self, size: int, tail: bytes) -> None: ...

    def load_done(self) -> dict[str, Any] | None: ...

    def store_done(self, result: dict[str, Any]) -> None: ...


def default_workdir() -> Path:
    """Where a worker keeps its clones and logs unless `--workdir` says otherwise."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "xpt" / "worker"


# -- in the Celery pool process ------------------------------------------------------


def run_task(
    io: TaskIO, payload: TaskPayload, workdir: Path, gpus: GpuPlan | None = None
) -> dict[str, Any]:
    """Run one task's experiment in a child process; its outcome, or raise on failure.

    With `gpus`, the child runs on `per_exp` devices this machine's other experiments
    do not hold (`<workdir>/gpus/*.lock`, held by the child for as long as it lives).
    """
    done = io.load_done()
    if done is not None:
        return {**done, "redelivered": True}
    logs = workdir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{io.task_id}.log"
    outcome_file = logs / f"{io.task_id}.json"
    outcome_file.unlink(missing_ok=True)
    log.write_bytes(b"")
    devices, fds = _take_devices(workdir, gpus)
    meta = {"worker": io.hostname, "pid": os.getpid(), "started": time.time()}
    io.started({**meta, "devices": list(devices)} if devices else meta)
    try:
        child = _Child(_fork_child(payload, workdir, log, outcome_file, devices))
        with child.signals():
            status = child.wait(lambda last: _publish_log(io, log, last))
    finally:
        release(fds)
    _publish_log(io, log)
    if child.shutdown:
        child.die_like_the_worker()  # the worker is going away: the task goes back to the queue
    outcome = _read_outcome(outcome_file)
    if child.killed:
        raise RemoteExperimentFailed(KILLED_BY_USER)
    if outcome is None:
        code = os.waitstatus_to_exitcode(status)
        why = f"killed by signal {-code}" if code < 0 else f"exited with code {code}"
        raise RemoteExperimentFailed(f"the experiment process {why} on {io.hostname}")
    if not outcome.get("ok"):
        raise RemoteExperimentFailed(str(outcome.get("error") or "the experiment failed"))
    result = {k: v for k, v in outcome.items() if k != "ok"}
    io.store_done(result)
    return result


def _take_devices(workdir: Path, gpus: GpuPlan | None) -> tuple[tuple[str, ...], list[int]]:
    """Wait for free devices (other workers on this machine may hold them); () without GPUs."""
    if gpus is None:
        return (), []
    locks = DeviceLocks(workdir / "gpus")
    while (taken := locks.try_take(gpus)) is None:
        time.sleep(0.2)
    return taken


def _fork_child(
    payload: TaskPayload, workdir: Path, log: Path, outcome: Path, devices: tuple[str, ...] = ()
) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            use_devices(devices)
            code = _child(payload, workdir, log, outcome)
        finally:
            os._exit(code)
    try:
        os.setpgid(pid, pid)  # also here, so that a kill right after the fork reaches it
    except OSError:
        pass
    return pid


class _Child:
    """The experiment's process seen from the pool process: waiting and stopping it.

    Signals to the pool process while it waits: SIGUSR1 is `queue kill` (Celery's
    revoke with terminate), SIGUSR2 is `queue kill -f`; SIGTERM is the worker's cold
    shutdown, after which this process dies by SIGTERM itself so that Celery counts
    the task as lost (`reject_on_worker_lost`) and delivers it again.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.killed = False
        self.shutdown = False
        self.deadline: float | None = None

    @contextmanager
    def signals(self) -> Iterator[None]:
        watched = (signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM)
        saved = {s: signal.signal(s, self._on_signal) for s in watched}
        try:
            yield
        finally:
            for sig, old in saved.items():
                signal.signal(sig, old)

    def _on_signal(self, signum: int, _frame: object) -> None:
        if signum == signal.SIGTERM:
            self.shutdown = True
        else:
            self.killed = True
        _kill_group(self.pid, signal.SIGKILL if signum == signal.SIGUSR2 else signal.SIGTERM)
        self.deadline = time.monotonic() + KILL_GRACE

    def wait(self, every_second: Callable[[int], int]) -> int:
        """Wait for the child, calling `every_second(last)` about once a second."""
        try:
            pidfd: int | None = os.pidfd_open(self.pid)
        except (AttributeError, OSError):
            pidfd = None
        last = -1
        try:
            while True:
                done, status = os.waitpid(self.pid, os.WNOHANG)
                if done:
                    return status
                if self.deadline is not None and time.monotonic() > self.deadline:
                    _kill_group(self.pid, signal.SIGKILL)
                last = every_second(last)
                if pidfd is not None:
                    select.select([pidfd], [], [], LOG_EVERY)
                else:
                    time.sleep(0.05)
        finally:
            if pidfd is not None:
                os.close(pidfd)

    @staticmethod
    def die_like_the_worker() -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
        os._exit(1)


def _kill_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _publish_log(io: TaskIO, log: Path, last: int = -1) -> int:
    """Send the log's tail if it grew since `last`; the size sent."""
    try:
        size = log.stat().st_size
        if size == last:
            return last
        with open(log, "rb") as f:
            f.seek(max(0, size - LOG_TAIL_BYTES))
            tail = f.read(LOG_TAIL_BYTES)
    except OSError:
        return last
    try:
        io.store_log(size, tail)
    except Exception:  # noqa: BLE001 - a log update must never fail the experiment
        return last
    return size


def _read_outcome(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    path.unlink(missing_ok=True)
    return data if isinstance(data, dict) else None


# -- in the experiment's process -----------------------------------------------------


def _child(payload: TaskPayload, workdir: Path, log: Path, outcome: Path) -> int:
    """Body of the forked child: own process group, output to the log, outcome to a file."""
    os.setpgid(0, 0)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(sig, signal.SIG_DFL)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
    sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
    try:
        result = execute(payload, workdir)
        atomic_write_text(outcome, json.dumps({"ok": True, **result}))
        return 0
    except XptError as exc:
        print(f"ERROR: {exc.message}" + (f"\nhint: {exc.hint}" if exc.hint else ""), flush=True)
        atomic_write_text(outcome, json.dumps({"ok": False, "error": exc.message}))
        return 1
    except BaseException as exc:  # noqa: BLE001 - the child must always report
        traceback.print_exc()
        atomic_write_text(outcome, json.dumps({"ok": False, "error": f"unexpected error: {exc!r}"}))
        return 1


def spawn_detached_worker(
    broker: str, jobs: int, xpt_dir: Path, gpus: GpuPlan | None = None
) -> int:
    """`queue start --broker URL`: an `xpt queue worker` in a new session, logging beside
    the local queue's logs; its pid."""
    import subprocess

    from xpt.experiments.queue_files import logs_dir

    log_dir = logs_dir(xpt_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-P", "-m", "xpt", "queue", "worker", "--broker", broker]
    if gpus is not None:
        argv += ["--gpus", ",".join(gpus.devices), "--gpus-per-exp", str(gpus.per_exp)]
    with open(log_dir / "celery-worker.log", "ab") as log:
        proc = subprocess.Popen(
            [*argv, "-j", str(max(jobs, 1))],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    return proc.pid
