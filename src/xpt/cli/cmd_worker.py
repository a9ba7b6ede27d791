"""CLI: `xpt queue worker --broker URL [-j N] [--workdir DIR]` (a distributed worker).

The settings (flags, else the project's `queue.*`) are read by
`experiments/distributed/serve.py`; this says what it serves and hands over.
"""

from __future__ import annotations

import argparse

from xpt.cli.ui import note


def worker(args: argparse.Namespace) -> int:
    """Serve the distributed queue until stopped (Ctrl-C / SIGTERM finish running tasks)."""
    from xpt.experiments.distributed.serve import WorkerRequest, serve_worker, worker_settings

    settings = worker_settings(
        WorkerRequest(args.broker, args.jobs, args.workdir, args.gpus, args.gpus_per_exp)
    )
    gpus = settings.gpus
    on = f", GPUs {','.join(gpus.devices)} ({gpus.per_exp} each)" if gpus else ""
    note(
        f"xpt worker: broker {settings.shown_broker}, {settings.jobs} job(s){on}, "
        f"workdir {settings.workdir}"
    )
    return serve_worker(settings)
