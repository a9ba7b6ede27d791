"""CLI: `xpt queue worker --broker URL [-j N] [--workdir DIR]` (a distributed worker)."""

from __future__ import annotations

import argparse
from pathlib import Path

from xpt.cli.ui import note
from xpt.config import Config
from xpt.errors import NotAProject


def _project_config() -> Config | None:
    """The current project's config when run inside one (for `queue.broker`)."""
    from xpt.project import Project

    try:
        return Project.find().config
    except NotAProject:
        return None


def worker(args: argparse.Namespace) -> int:
    """Serve the distributed queue until stopped (Ctrl-C / SIGTERM finish running tasks)."""
    from xpt.experiments.distributed.celery_worker import default_workdir
    from xpt.experiments.distributed.settings import (
        broker_url,
        celery_required,
        visibility_timeout,
    )
    from xpt.experiments.gpus import resolve as resolve_gpus

    with celery_required():
        from xpt.experiments.distributed.tasks import redact, serve
    config = _project_config()
    broker = broker_url(config, args.broker)
    workdir = Path(args.workdir).expanduser().resolve() if args.workdir else default_workdir()
    workdir.mkdir(parents=True, exist_ok=True)
    jobs = max(int(args.jobs or 1), 1)
    gpus = resolve_gpus(args.gpus, args.gpus_per_exp, config)
    if gpus is not None:
        jobs = gpus.concurrency(jobs)
    on = f", GPUs {','.join(gpus.devices)} ({gpus.per_exp} each)" if gpus else ""
    note(f"xpt worker: broker {redact(broker)}, {jobs} job(s){on}, workdir {workdir}")
    return serve(
        broker,
        jobs=jobs,
        workdir=workdir,
        visibility_timeout=visibility_timeout(config),
        gpus=gpus,
    )
