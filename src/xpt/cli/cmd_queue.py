"""CLI: exp run --queue/--run-all/--temp and queue start/stop/status/logs/remove/kill.

Each handler turns its flags into one request of `experiments/queue_verbs.py` and
renders the result; the rules live there.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from xpt.cli.ui import note, out, warn
from xpt.project import Project

if TYPE_CHECKING:
    from xpt.experiments.local_worker import RunSummary
    from xpt.experiments.queue_verbs import Entry, Queued
    from xpt.experiments.run import ExpRunRequest


def _request(args: argparse.Namespace) -> ExpRunRequest:
    from xpt.cli.cmd_repro import repro_options
    from xpt.experiments.run import ExpRunRequest

    return ExpRunRequest(
        set_params=tuple(args.set_param),
        name=args.name,
        message=args.message,
        repro=repro_options(args),
        rev=args.rev,
        reset=args.reset,
        queue=args.queue,
        temp=args.temp,
        run_all=args.run_all,
        jobs=args.jobs,
        gpus=args.gpus,
        gpus_per_exp=args.gpus_per_exp,
        copy_paths=tuple(args.copy_paths),
    )


def _report(state: str, entry: Entry) -> None:
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


def _print_summary(summary: RunSummary) -> int:
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
    from xpt.experiments.queue_verbs import exp_run_queue as run

    project = Project.find()
    request = _request(args)

    def queued(q: Queued) -> None:
        if q.distributed:
            for entry in q.entries:
                out(f"Queued experiment '{entry.label}' on the distributed queue.")
            return
        for path in q.left_out:
            warn(
                f"untracked file '{path}' is not part of the queued snapshot; pass it with `-C {path}` or `git add` it"
            )
        if not request.temp:
            for entry in q.entries:
                out(f"Queued experiment '{entry.label}' for future execution.")

    result = run(project, request, report=_report, on_queued=queued)
    summary = result.summary
    if summary is None:
        return 0
    if not request.temp:
        return _print_summary(summary)
    if summary.done and summary.done[0].state.value == "success":
        name = summary.done[0].label
        out(f"Ran experiment(s): {name}")
        out(
            f"To apply the results of an experiment to your workspace run:\n\n\txpt exp apply {name}"
        )
        return 0
    return 1


def start(args: argparse.Namespace) -> int:
    from xpt.experiments.queue_verbs import StartRequest
    from xpt.experiments.queue_verbs import start as do_start

    request = StartRequest(args.jobs, args.gpus, args.gpus_per_exp, args.broker)
    started = do_start(Project.find(), request)
    if started.broker:
        out(f"Started a distributed queue worker (pid {started.pid}) on {started.broker}.")
        return 0
    gpus = started.gpus
    on = f" on GPUs {','.join(gpus.devices)}, {gpus.per_exp} each" if gpus else ""
    out(
        f"Started a queue worker (pid {started.pid}) running up to {started.jobs} experiment(s) at a time{on}."
    )
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
    from xpt.experiments.queue_verbs import status as queue_status

    result = queue_status(Project.find(), warn)
    if args.json:
        import json

        out(json.dumps(result.rows))
        return 0
    from xpt.report.tables import render_queue_status

    render_queue_status(result.rows, workers=result.workers)
    return 0


def logs(args: argparse.Namespace) -> int:
    from xpt.experiments.queue_verbs import LogsRequest
    from xpt.experiments.queue_verbs import logs as queue_logs

    request = LogsRequest(args.task, follow=args.follow, encoding=args.encoding)
    for chunk in queue_logs(Project.find(), request, warn):
        if isinstance(chunk, bytes):
            sys.stdout.buffer.write(chunk)
        else:
            sys.stdout.write(chunk)
        sys.stdout.flush()
    return 0


def remove(args: argparse.Namespace) -> int:
    from xpt.experiments.queue_verbs import QueueRemoveRequest
    from xpt.experiments.queue_verbs import remove as queue_remove

    request = QueueRemoveRequest(
        tuple(args.task),
        all=args.all,
        queued=args.queued,
        success=args.success,
        failed=args.failed,
    )
    removed = queue_remove(Project.find(), request, warn)
    out("Removed: " + (", ".join(removed) if removed else "nothing"))
    return 0


def kill(args: argparse.Namespace) -> int:
    from xpt.experiments.queue_verbs import KillRequest
    from xpt.experiments.queue_verbs import kill as queue_kill

    killed = queue_kill(Project.find(), KillRequest(tuple(args.task), force=args.force), warn)
    out("Killed: " + ", ".join(e.label for e in killed))
    return 0
