"""CLI: exp run --queue/--run-all/--temp and queue start/stop/status/logs/remove/kill."""

from __future__ import annotations

import argparse
import sys
import time

from xpt.cli.ui import note, out, warn
from xpt.errors import QueueError, UnknownExperiment
from xpt.project import Project


def _request(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from xpt.cli.cmd_repro import repro_options
    from xpt.experiments.run import ExpRunRequest

    return ExpRunRequest(
        set_params=tuple(args.set_param),
        name=args.name,
        message=args.message,
        repro=repro_options(args),
        rev=args.rev,
        reset=args.reset,
    )


def _report(state: str, entry) -> None:  # type: ignore[no-untyped-def]
    marks = {
        "running": "▶ running",
        "success": "✔ success",
        "failed": "✖ failed",
        "requeued": "↺ requeued",
    }
    line = f"{marks.get(state, state):<12} {entry.label}"
    if state == "failed" and entry.error:
        line += f"  ({entry.error}; log: `xpt queue logs {entry.label}`)"
    note(line)


def _print_summary(summary) -> int:  # type: ignore[no-untyped-def]
    if not summary.done:
        out("No experiments were queued; nothing to run.")
        return 0
    ok = [e for e in summary.done if e.state.value == "success"]
    if ok:
        out("Ran experiment(s): " + ", ".join(e.label for e in ok))
    if summary.failed:
        note("Failed experiment(s): " + ", ".join(e.label for e in summary.failed))
        note("Inspect them with `xpt queue logs <name>`.")
        return 1
    out("To apply the results of an experiment to your workspace run:\n\n\txpt exp apply <exp>")
    return 0


def exp_run_queue(args: argparse.Namespace) -> int:
    """`exp run --queue`, `--run-all` and `--temp`."""
    from xpt.experiments.gpus import resolve as resolve_gpus
    from xpt.experiments.local_worker import run_queue
    from xpt.experiments.queue import enqueue

    project = Project.find()
    if (args.gpus or args.gpus_per_exp) and not args.run_all:
        raise QueueError(
            "`--gpus` shares devices among queued experiments as they run",
            hint="pass it with `--run-all` (or to `xpt queue start`)",
        )
    if args.rev and not (args.queue or args.temp):
        raise QueueError(
            "`--rev` picks the checkpoint a new run starts from; `--run-all` runs queued ones",
            hint="queue it with `xpt exp run --queue --rev <exp>`, then `xpt exp run --run-all`",
        )
    if args.queue and project.config.get("queue", "backend") == "celery":
        from xpt.experiments.distributed.submit import enqueue_distributed

        for entry in enqueue_distributed(project, _request(args), tuple(args.copy_paths)):
            out(f"Queued experiment '{entry.label}' on the distributed queue.")
        return 0
    if args.queue or args.temp:
        result = enqueue(project, _request(args), tuple(args.copy_paths))
        for path in result.left_out:
            warn(
                f"untracked file '{path}' is not part of the queued snapshot; pass it with `-C {path}` or `git add` it"
            )
        if args.queue and not args.temp:
            for entry in result.entries:
                out(f"Queued experiment '{entry.label}' for future execution.")
            if not args.run_all:
                return 0
        else:
            summary = run_queue(project, 1, _report, only=result.entries[0].id)
            if summary.done and summary.done[0].state.value == "success":
                name = summary.done[0].label
                out(f"Ran experiment(s): {name}")
                out(
                    f"To apply the results of an experiment to your workspace run:\n\n\txpt exp apply {name}"
                )
                return 0
            return 1
    gpus = resolve_gpus(args.gpus, args.gpus_per_exp, project.config)
    summary = run_queue(project, args.jobs, _report, gpus=gpus)
    return _print_summary(summary)


def _refresh(project: Project) -> None:
    """Mirror distributed (celery) entries from their broker first; a no-op without them."""
    from xpt.experiments.queue_db import has_remote_entries

    if not has_remote_entries(project.xpt_dir):
        return
    from xpt.experiments.distributed.task_status import refresh

    for message in refresh(project).errors:
        warn(message)


def start(args: argparse.Namespace) -> int:
    from xpt.experiments.gpus import resolve as resolve_gpus
    from xpt.experiments.local_worker import spawn_workers

    project = Project.find()
    gpus = resolve_gpus(args.gpus, args.gpus_per_exp, project.config)
    if args.broker:
        from xpt.experiments.distributed.celery_worker import spawn_detached_worker

        pid = spawn_detached_worker(args.broker, args.jobs, project.xpt_dir, gpus)
        out(f"Started a distributed queue worker (pid {pid}) on {args.broker}.")
        return 0
    pid = spawn_workers(project, args.jobs, gpus)
    jobs = gpus.concurrency(args.jobs) if gpus else args.jobs
    on = f" on GPUs {','.join(gpus.devices)}, {gpus.per_exp} each" if gpus else ""
    out(f"Started a queue worker (pid {pid}) running up to {jobs} experiment(s) at a time{on}.")
    return 0


def stop(args: argparse.Namespace) -> int:
    from xpt.experiments.local_worker import stop_queue

    workers = stop_queue(Project.find(), kill=args.kill)
    out(
        f"Asked {workers} worker(s) to stop"
        + (" and killed running experiments." if args.kill else " after their current experiments.")
    )
    return 0


def status(args: argparse.Namespace) -> int:
    from xpt.experiments.queue_db import status_rows

    project = Project.find()
    _refresh(project)
    rows, workers = status_rows(project.xpt_dir)
    if args.json:
        import json

        out(json.dumps(rows))
        return 0
    from xpt.report.tables import render_queue_status

    render_queue_status(rows, workers=workers)
    return 0


def _entry(project: Project, name: str):  # type: ignore[no-untyped-def]
    from xpt.experiments.queue import find_entries
    from xpt.experiments.queue_db import open_queue

    db = open_queue(project.xpt_dir)
    try:
        found, unknown = find_entries(db.entries(), [name])
    finally:
        db.close()
    if unknown or not found:
        raise UnknownExperiment(f"unknown queue entry '{name}'", hint="see `xpt queue status`")
    return found[-1]


def _log_decoder(encoding: str | None):  # type: ignore[no-untyped-def]
    """`-e ENC`: the log's bytes read as ENC (a chunk may end inside a character); None: raw."""
    if not encoding:
        return None
    import codecs

    try:
        return codecs.getincrementaldecoder(encoding)(errors="replace").decode
    except LookupError:
        raise QueueError(
            f"unknown encoding '{encoding}'", hint="name a Python codec, e.g. utf-8 or latin-1"
        ) from None


def logs(args: argparse.Namespace) -> int:
    from xpt.experiments.distributed.task_status import is_remote
    from xpt.experiments.queue_db import State, log_path, open_queue

    project = Project.find()
    _refresh(project)
    entry = _entry(project, args.task)
    path = log_path(project.xpt_dir, entry.id)
    decode = _log_decoder(args.encoding)
    pos = 0
    while True:
        try:
            with open(path, "rb") as f:
                f.seek(pos)
                chunk = f.read()
        except FileNotFoundError:
            chunk = b""
        if chunk:
            if decode is None:
                sys.stdout.buffer.write(chunk)
            else:
                sys.stdout.write(decode(chunk))
            sys.stdout.flush()
            pos += len(chunk)
        if not args.follow:
            break
        if is_remote(entry):
            _refresh(project)
        db = open_queue(project.xpt_dir)
        try:
            current = db.get(entry.id)
        finally:
            db.close()
        finished = current is None or current.state not in (State.QUEUED, State.RUNNING)
        if finished and not chunk:
            break
        time.sleep(0.2)
    return 0


def remove(args: argparse.Namespace) -> int:
    from xpt.experiments.queue import remove_entries
    from xpt.experiments.queue_db import State

    project = Project.find()
    _refresh(project)
    states: list[State] = []
    if args.all:
        states = [State.QUEUED, State.SUCCESS, State.FAILED]
    if args.queued:
        states.append(State.QUEUED)
    if args.success:
        states.append(State.SUCCESS)
    if args.failed:
        states.append(State.FAILED)
    if not (args.task or states):
        raise QueueError(
            "nothing to remove", hint="name entries, or pass --all/--queued/--success/--failed"
        )
    removed = remove_entries(project, names=args.task, states=tuple(states))
    out("Removed: " + (", ".join(removed) if removed else "nothing"))
    return 0


def kill(args: argparse.Namespace) -> int:
    import signal

    from xpt.experiments.distributed.task_status import is_remote, kill_remote
    from xpt.experiments.local_worker import kill_entries
    from xpt.experiments.queue_db import State

    project = Project.find()
    _refresh(project)
    entries = [_entry(project, name) for name in args.task]
    not_running = [e.label for e in entries if e.state != State.RUNNING]
    if not_running:
        raise QueueError("not running: " + ", ".join(not_running), hint="see `xpt queue status`")
    local = [e for e in entries if not is_remote(e)]
    kill_entries(project, local, signal.SIGKILL if args.force else signal.SIGTERM)
    kill_remote(project, [e for e in entries if is_remote(e)], force=args.force)
    out("Killed: " + ", ".join(e.label for e in entries))
    return 0
