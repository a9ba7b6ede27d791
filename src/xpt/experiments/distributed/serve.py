"""`xpt queue worker`: its settings (the flags, else the project's `queue.*`) and serving.

Above `tasks.py` (Celery) and `settings.py`, which it joins.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from xpt.config import Config
from xpt.errors import NotAProject
from xpt.experiments.distributed.settings import broker_url, celery_required, visibility_timeout
from xpt.project import Project

if TYPE_CHECKING:
    from xpt.experiments.gpus import GpuPlan


@dataclass(frozen=True)
class WorkerRequest:
    """`xpt queue worker [--broker URL] [-j N] [--workdir DIR] [--gpus …]`."""

    broker: str | None = None
    jobs: int | None = 1
    workdir: str | None = None
    gpus: str | None = None
    gpus_per_exp: int | None = None


@dataclass(frozen=True)
class WorkerSettings:
    """What a distributed worker serves with; `config`: the project's, when run in one."""

    broker: str
    shown_broker: str
    """The broker URL without its password, for messages."""
    jobs: int
    """Experiments at a time (GPU slots counted)."""
    workdir: Path
    gpus: GpuPlan | None
    config: Config | None


def _project_config() -> Config | None:
    """The current project's config when run inside one (for `queue.broker`)."""
    try:
        return Project.find().config
    except NotAProject:
        return None


def worker_settings(request: WorkerRequest) -> WorkerSettings:
    """The flags, else the current project's `queue.*` settings; the workdir is created."""
    from xpt.experiments.gpus import resolve as resolve_gpus

    with celery_required():
        from xpt.experiments.distributed.tasks import redact
    from xpt.experiments.distributed.celery_worker import default_workdir

    config = _project_config()
    broker = broker_url(config, request.broker)
    workdir = Path(request.workdir).expanduser().resolve() if request.workdir else default_workdir()
    workdir.mkdir(parents=True, exist_ok=True)
    jobs = max(int(request.jobs or 1), 1)
    gpus = resolve_gpus(request.gpus, request.gpus_per_exp, config)
    if gpus is not None:
        jobs = gpus.concurrency(jobs)
    return WorkerSettings(broker, redact(broker), jobs, workdir, gpus, config)


def serve_worker(settings: WorkerSettings) -> int:
    """Serve the distributed queue until stopped (Ctrl-C / SIGTERM finish running tasks)."""
    from xpt.experiments.distributed.tasks import serve

    return serve(
        settings.broker,
        jobs=settings.jobs,
        workdir=settings.workdir,
        visibility_timeout=visibility_timeout(settings.config),
        gpus=settings.gpus,
    )
