"""Queue workers: claim entries atomically and run each in a forked child process.

A worker keeps up to `jobs` children. Each child gets its own process group (so
`queue kill` and Ctrl-C can stop an experiment with its commands), writes its output
to the entry's log and records its own outcome, right after its experiment's ref is
set: a child outlives a SIGKILLed worker and its result stands. The worker records a
failure only for a child that died without recording an outcome, and holds no queue.db
connection while it forks (see `queue_session`). Ctrl-C kills the children and puts
their entries back in the queue. Detached workers (`queue start`) are this same loop in a
new session (`python -m xpt.experiments.local_worker ROOT -j N [--gpus 0,1 --gpus-per-exp K]`).
With GPU slots each claim also takes devices no live entry holds (queue_db.claim),
and the child runs with exactly those in CUDA_VISIBLE_DEVICES.
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from xpt.experiments.gpus import GpuPlan, parse_list, use_devices
from xpt.experiments.queue_db import (
    Entry,
    QueueDB,
    State,
    log_path,
    open_queue,
    queue_session,
)
from xpt.experiments.queue_files import ensure_dirs, logs_dir
from xpt.experiments.queue_rebuild import RAN
from xpt.project import Project

Report = Callable[[str, Entry], None]
"""Called with ("running" | "success" | "failed" | "requeued", entry)."""


@dataclass
class RunSummary:
    """Entries a worker ran, by final state."""

    done: list[Entry] = field(default_factory=list)

    @property
    def failed(self) -> list[Entry]:
        return [e for e in self.done if e.state == State.FAILED]


def _child(project: Project, entry: Entry) -> int:
    """Body of the forked child: run one entry, record the outcome, return exit status."""
    os.setpgid(0, 0)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    worker_stderr = os.dup(2)  # auto-push warnings go to the worker's stderr as well
    path = log_path(project.xpt_dir, entry.id)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
    sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
    from xpt.errors import XptError
    from xpt.experiments.executor import ExecResult, run_isolated

    db = open_queue(project.xpt_dir)
    db.set_pid(entry.id, os.getpid())  # the claim recorded the worker's pid
    use_devices(entry.devices)

    def recorded(result: ExecResult) -> None:  # as soon as the ref is set
        print(f"\n{RAN}{result.ref.name}", flush=True)
        db.finish(
            entry.id, ok=True, returncode=0, result_sha=result.sha, result_name=result.ref.name
        )

    try:
        on = f" on GPU {','.join(entry.devices)}" if entry.devices else ""
        print(
            f"Running experiment '{entry.label}' from snapshot {entry.snapshot[:7]}{on}", flush=True
        )
        result = run_isolated(project, entry, on_recorded=recorded)
        from xpt.experiments.autopush import push_queued

        push_queued(project, result.ref, worker_stderr)  # after finish: it cannot fail the run
        return 0
    except XptError as exc:
        print(f"ERROR: {exc.message}", flush=True)
        db.fail_running(entry.id, returncode=1, error=exc.message)
        return 1
    except BaseException as exc:  # noqa: BLE001 - a child must always record its outcome
        traceback.print_exc()
        db.fail_running(entry.id, returncode=1, error=f"unexpected error: {exc!r}")
        return 1
    finally:
        db.close()


def _preload() -> None:
    """Import once, in the worker, what every child imports (forked children share it).

    Without this each experiment paid the imports of the executor, repro and ruamel.yaml
    (the lock file writer) again: tens of ms per experiment, a third of a trivial one's.
    """
    import encodings.utf_8_sig  # noqa: F401 - lock files are decoded with it
    import glob  # noqa: F401 - used by the children's repro

    import ruamel.yaml  # noqa: F401 - dvc.lock is written through it
    import ruamel.yaml.comments  # noqa: F401

    import xpt.experiments.autopush  # noqa: F401
    import xpt.experiments.executor  # noqa: F401

    gc.freeze()  # children's collections then skip (and do not copy) the worker's objects


def _fork(project: Project, entry: Entry) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            code = _child(project, entry)
        finally:
            os._exit(code)
    return pid


def _kill_group(pid: int, sig: int = signal.SIGTERM) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def run_queue(
    project: Project,
    jobs: int = 1,
    report: Report | None = None,
    *,
    worker_pid: int | None = None,
    only: int | None = None,
    gpus: GpuPlan | None = None,
) -> RunSummary:
    """Run queued entries, `jobs` at a time, until the queue is empty (or a stop is asked).

    With `gpus`, at most slots ÷ K at a time, each on devices of its own; an entry waits
    while other workers hold the devices it needs.
    """
    ensure_dirs(project.xpt_dir)
    me = worker_pid or os.getpid()
    limit = gpus.concurrency(jobs) if gpus else max(jobs, 1)
    children: dict[int, Entry] = {}
    summary = RunSummary()
    emit = report or (lambda _state, _entry: None)
    _preload()
    exited: list[tuple[Entry, int]] = []
    """Children reaped whose outcome is recorded in the next session (one per claim)."""

    def record_exits(db: QueueDB) -> None:
        for entry, code in exited:
            why = f"killed by signal {-code}" if code < 0 else f"exited with code {code}"
            final = db.fail_running(entry.id, returncode=code, error=f"experiment process {why}")
            if final is not None:
                summary.done.append(final)
                emit(final.state.value, final)
        exited.clear()

    try:
        while True:
            waiting = False  # queued entries wait for devices held elsewhere
            while len(children) < limit:
                with queue_session(project.xpt_dir) as db:
                    record_exits(db)
                    entry = None if db.stopping(me) else db.claim(me, only, gpus)
                    if entry is None:
                        waiting = gpus is not None and only is None and db.has_queued()
                if entry is None:
                    break
                # no queue.db connection is open here; the child records its own pid
                children[_fork(project, entry)] = entry
                emit("running", entry)
            if not children and not waiting:
                break
            if waiting:
                pid, status = os.waitpid(-1, os.WNOHANG) if children else (0, 0)
                if pid == 0:
                    time.sleep(0.1)
                    continue
            else:
                pid, status = os.wait()
            entry = children.pop(pid, None)
            if entry is not None:
                exited.append((entry, os.waitstatus_to_exitcode(status)))
    except KeyboardInterrupt:
        for pid in children:
            _kill_group(pid)
        with queue_session(project.xpt_dir) as db:
            record_exits(db)
            for pid, entry in list(children.items()):
                try:
                    os.waitpid(pid, 0)
                except ChildProcessError:
                    pass
                db.requeue(entry.id)
                emit("requeued", entry)
        raise
    return summary


def kill_entries(project: Project, entries: list[Entry], sig: int = signal.SIGTERM) -> None:
    """Stop running entries (their process groups); the worker records them as failed.

    Right after a claim the row still holds the worker's pid until the forked child's
    is recorded; wait for the child (a process-group leader, unlike a `queue start`
    worker not a session leader) rather than signal the worker.
    """
    import time

    db = open_queue(project.xpt_dir)
    try:
        for entry in entries:
            pid = entry.pid
            deadline = time.monotonic() + 5
            while pid and not _is_group_leader(pid) and time.monotonic() < deadline:
                time.sleep(0.02)
                fresh = db.get(entry.id)
                pid = fresh.pid if fresh else None
            if pid and _is_group_leader(pid):
                _kill_group(pid, sig)
    finally:
        db.close()


def stop_queue(project: Project, kill: bool = False) -> int:
    """Ask every worker to stop after its current experiments (`kill`: end those now too).

    Returns the number of workers asked.
    """
    db = open_queue(project.xpt_dir)
    try:
        db.request_stop()
        workers = db.workers()
        running = db.entries((State.RUNNING,))
    finally:
        db.close()
    if kill:
        kill_entries(project, running)
    return len(workers)


def _is_group_leader(pid: int) -> bool:
    try:
        return os.getpgid(pid) == pid and os.getsid(pid) != pid
    except (ProcessLookupError, PermissionError):
        return False


def spawn_workers(project: Project, jobs: int, gpus: GpuPlan | None = None) -> int:
    """Start a detached worker process running `jobs` experiments at a time; its pid."""
    import subprocess

    ensure_dirs(project.xpt_dir)
    argv = [sys.executable, "-P", "-m", "xpt.experiments.local_worker", str(project.root)]
    argv += ["-j", str(jobs)]
    if gpus is not None:
        argv += ["--gpus", ",".join(gpus.devices), "--gpus-per-exp", str(gpus.per_exp)]
    log = open(logs_dir(project.xpt_dir) / "worker.log", "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        close_fds=True,
    )
    log.close()
    return proc.pid


def main(argv: list[str] | None = None) -> int:
    """Entry point of a detached worker."""
    parser = argparse.ArgumentParser(prog="xpt-worker")
    parser.add_argument("root")
    parser.add_argument("-j", "--jobs", type=int, default=1)
    parser.add_argument("--gpus", help="device list resolved by `queue start`")
    parser.add_argument("--gpus-per-exp", type=int, default=1)
    args = parser.parse_args(argv)
    project = Project(Path(args.root))
    gpus = GpuPlan(parse_list(args.gpus), args.gpus_per_exp) if args.gpus else None
    db = open_queue(project.xpt_dir)
    db.add_worker(os.getpid())
    db.close()
    try:
        summary = run_queue(
            project,
            args.jobs,
            lambda s, e: print(f"{s}: {e.label}", flush=True),
            gpus=gpus,
        )
    finally:
        db = open_queue(project.xpt_dir)
        db.remove_worker(os.getpid())
        db.close()
    return 1 if summary.failed else 0


if __name__ == "__main__":
    sys.exit(main())
