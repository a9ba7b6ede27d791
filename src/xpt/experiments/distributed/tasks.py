"""The Celery side: the app (Redis broker and result backend) and the one task.

Delivery is at-least-once: acks are late (after the experiment), a worker that dies
loses its unacknowledged task to another worker (`reject_on_worker_lost` for a lost
pool process; the Redis visibility timeout for a lost machine), and a failed task is
not retried. celery_worker.py makes a second delivery harmless. Payloads and results are
JSON. Log tails and a "done" marker live next to the task states in the result
backend, under keys of their own (`xpt-log-<task>`, `xpt-done-<task>`).
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from celery import Celery, Task
from celery.exceptions import BackendError
from kombu.exceptions import KombuError, OperationalError
from redis.exceptions import RedisError

from xpt.errors import QueueError
from xpt.experiments.distributed.celery_worker import default_workdir, run_task
from xpt.experiments.distributed.payload import TaskPayload
from xpt.experiments.distributed.settings import DEFAULT_VISIBILITY_TIMEOUT
from xpt.experiments.gpus import GpuPlan

TASK_NAME = "xpt.run_experiment"
QUEUE_NAME = "xpt"
RESULT_TTL = 7 * 24 * 3600
BROKER_ERRORS = (OperationalError, KombuError, RedisError, BackendError, OSError)


def redact(url: str) -> str:
    """A broker URL without its password, for messages."""
    return re.sub(r"//([^:/@]*):[^@/]*@", r"//\1:***@", url)


def make_app(
    broker: str,
    *,
    visibility_timeout: float = DEFAULT_VISIBILITY_TIMEOUT,
    workdir: Path | None = None,
    patient: bool = False,
    gpus: GpuPlan | None = None,
) -> Celery:
    """A Celery app on `broker` (also the result backend) with the experiment task.

    `patient` (workers) retries result-backend calls through a Redis restart; the
    submitting side fails fast instead, so `queue status` never hangs.
    """
    app = Celery("xpt", broker=broker, backend=broker, set_as_current=False)
    restore_every = max(1.0, min(10.0, visibility_timeout / 4))
    app.conf.update(
        task_default_queue=QUEUE_NAME,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        result_expires=RESULT_TTL,
        task_track_started=True,
        worker_prefetch_multiplier=1,
        worker_send_task_events=False,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        broker_connection_timeout=5,
        broker_transport_options={
            "visibility_timeout": visibility_timeout,
            "unacked_restore_interval": restore_every,
            "unacked_restore_throttle": 1,
            "socket_connect_timeout": 5,
        },
        redis_socket_connect_timeout=5,
        redis_retry_on_timeout=True,
        result_backend_always_retry=patient,
        result_backend_max_retries=10 if patient else 0,
        task_publish_retry_policy={
            "max_retries": 3,
            "interval_start": 0,
            "interval_step": 0.5,
            "interval_max": 1,
        },
        xpt_workdir=str(workdir) if workdir else None,
        xpt_gpus=[list(gpus.devices), gpus.per_exp] if gpus else None,
    )
    app.task(
        name=TASK_NAME,
        bind=True,
        acks_late=True,
        acks_on_failure_or_timeout=False,
        reject_on_worker_lost=True,
        track_started=True,
    )(_run_experiment)
    return app


class _CeleryTaskIO:
    """worker.TaskIO on a running Celery task: states, log tail and done marker."""

    def __init__(self, task: Task) -> None:
        self.task = task
        self.task_id = str(task.request.id)
        self.hostname = str(task.request.hostname or socket.gethostname())

    def started(self, meta: dict[str, Any]) -> None:
        self.task.update_state(state="STARTED", meta=meta)

    def store_log(self, size: int, tail: bytes) -> None:
        store_log(self.task.app, self.task_id, size, tail)

    def load_done(self) -> dict[str, Any] | None:
        raw = self.task.app.backend.get(_done_key(self.task_id))
        return json.loads(raw) if raw else None

    def store_done(self, result: dict[str, Any]) -> None:
        self.task.app.backend.set(_done_key(self.task_id), json.dumps(result))


def _run_experiment(self: Task, payload: dict[str, Any]) -> dict[str, Any]:
    """The task: run one experiment (see worker.run_task)."""
    workdir = Path(self.app.conf.get("xpt_workdir") or default_workdir())
    spec = self.app.conf.get("xpt_gpus")
    gpus = GpuPlan(tuple(spec[0]), int(spec[1])) if spec else None
    return run_task(_CeleryTaskIO(self), TaskPayload.from_dict(payload), workdir, gpus)


def _log_key(task_id: str) -> str:
    return f"xpt-log-{task_id}"


def _done_key(task_id: str) -> str:
    return f"xpt-done-{task_id}"


def store_log(app: Celery, task_id: str, size: int, tail: bytes) -> None:
    """Publish the last bytes of a task's log and the log's full size."""
    data = {"size": size, "tail": tail.decode("latin-1"), "time": time.time()}
    app.backend.set(_log_key(task_id), json.dumps(data))


def load_log(app: Celery, task_id: str) -> tuple[int, bytes] | None:
    """(full size, last bytes) of a task's log; None before the task started."""
    raw = app.backend.get(_log_key(task_id))
    if not raw:
        return None
    data = json.loads(raw)
    return int(data["size"]), str(data["tail"]).encode("latin-1")


@dataclass(frozen=True)
class TaskState:
    """A task's state as the result backend has it."""

    state: str
    result: Any = None
    started: float | None = None
    devices: tuple[str, ...] = ()

    @property
    def error(self) -> str:
        """The failure message (the exception's text)."""
        value = self.result
        if isinstance(value, BaseException):
            return str(value.args[0]) if value.args else type(value).__name__
        if isinstance(value, dict) and "exc_message" in value:
            args = value.get("exc_message") or []
            text = args[0] if isinstance(args, list | tuple) and args else args
            return str(text or value.get("exc_type") or "task failed")
        return str(value) if value else "task failed"


def task_state(app: Celery, task_id: str) -> TaskState:
    """The state of one task (PENDING when the backend does not know it)."""
    meta = app.backend.get_task_meta(task_id)
    result = meta.get("result")
    started = None
    devices: tuple[str, ...] = ()
    if isinstance(result, dict) and meta.get("status") == "STARTED":
        started = result.get("started")
        devices = tuple(str(d) for d in result.get("devices") or ())
    return TaskState(str(meta.get("status") or "PENDING"), result, started, devices)


def check_broker(app: Celery) -> None:
    """Fail fast (before anything is queued or pushed) when the broker is unreachable."""
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=5)
    except BROKER_ERRORS as exc:
        raise broker_error(app, exc) from exc


def send(app: Celery, task_id: str, payload: TaskPayload) -> None:
    """Enqueue one experiment task on the broker."""
    try:
        app.send_task(TASK_NAME, args=[payload.to_dict()], task_id=task_id, queue=QUEUE_NAME)
    except (*BROKER_ERRORS, RuntimeError) as exc:  # RuntimeError: Celery's result consumer
        raise broker_error(app, exc) from exc


def revoke(app: Celery, task_ids: list[str], *, terminate: bool, force: bool = False) -> None:
    """Stop tasks: queued ones are dropped; running ones are signalled (see worker._Child)."""
    if not task_ids:
        return
    try:
        app.control.revoke(task_ids, terminate=terminate, signal="SIGUSR2" if force else "SIGUSR1")
    except BROKER_ERRORS as exc:
        raise broker_error(app, exc) from exc


def forget(app: Celery, task_id: str) -> None:
    """Drop a task's state, log tail and done marker from the result backend."""
    app.backend.forget(task_id)
    app.backend.delete(_log_key(task_id))
    app.backend.delete(_done_key(task_id))


def live_workers(app: Celery, timeout: float = 0.5) -> list[str]:
    """Names of the workers answering a ping within `timeout` seconds."""
    try:
        replies = app.control.ping(timeout=timeout) or []
    except BROKER_ERRORS as exc:
        raise broker_error(app, exc) from exc
    return sorted(name for reply in replies for name in reply)


def broker_error(app: Celery, exc: BaseException) -> QueueError:
    url = redact(str(app.conf.broker_url))
    return QueueError(
        f"cannot reach the distributed queue's broker at {url}: {exc}",
        hint="check that Redis is running there, or set the broker with `xpt config queue.broker redis://HOST:PORT/0`",
    )


def serve(
    broker: str,
    *,
    jobs: int,
    workdir: Path,
    visibility_timeout: float,
    gpus: GpuPlan | None = None,
) -> int:
    """Run a Celery worker for xpt's queue in this process until it is stopped.

    With `gpus` it runs at most slots ÷ K experiments at a time, each on its own devices.
    """
    if gpus is not None:
        jobs = gpus.concurrency(jobs)
    app = make_app(
        broker, visibility_timeout=visibility_timeout, workdir=workdir, patient=True, gpus=gpus
    )
    name = f"xpt-{os.getpid()}@%h"
    argv = [
        "worker",
        "--pool=prefork",
        f"--concurrency={max(jobs, 1)}",
        f"--queues={QUEUE_NAME}",
        f"--hostname={name}",
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--prefetch-multiplier=1",
    ]
    try:
        app.worker_main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0
