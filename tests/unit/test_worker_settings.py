"""`xpt queue worker`'s settings through the Python API (`distributed/serve.py`), no CLI:
the flags win over the project's `queue.*`, and bad settings are refused before serving."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import TmpRepo
from xpt.config_schema import ConfigRequest, run_config
from xpt.errors import ConfigError
from xpt.experiments.distributed.serve import WorkerRequest, worker_settings
from xpt.project import Project


def _config(project: TmpRepo, name: str, value: str) -> None:
    run_config(Project(project), ConfigRequest(name=name, value=value))


def test_broker_from_the_project_and_workdir_made(project: TmpRepo, tmp_path: Path) -> None:
    _config(project, "queue.broker", "redis://me:s3cret@localhost:6379/0")
    workdir = tmp_path / "wd"
    settings = worker_settings(WorkerRequest(jobs=0, workdir=str(workdir)))
    assert settings.broker == "redis://me:s3cret@localhost:6379/0"
    assert "s3cret" not in settings.shown_broker
    assert settings.jobs == 1 and settings.gpus is None
    assert settings.workdir == workdir.resolve() and workdir.is_dir()
    assert settings.config is not None and settings.config.get("queue", "broker")


def test_flags_win_and_gpu_slots_bound_the_jobs(project: TmpRepo, tmp_path: Path) -> None:
    _config(project, "queue.broker", "redis://localhost:6379/0")
    _config(project, "queue.gpus", "0,1,2,3")
    request = WorkerRequest("redis://other:6379/1", jobs=8, workdir=str(tmp_path), gpus_per_exp=2)
    settings = worker_settings(request)
    assert settings.broker == "redis://other:6379/1"
    assert settings.gpus is not None and settings.gpus.devices == ("0", "1", "2", "3")
    assert settings.jobs == 2  # four devices, two per experiment


def test_no_broker_or_a_foreign_one_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # outside any project: only the flags count
    with pytest.raises(ConfigError, match="no broker is configured"):
        worker_settings(WorkerRequest(workdir=str(tmp_path / "wd")))
    with pytest.raises(ConfigError, match="is not a Redis URL"):
        worker_settings(WorkerRequest("amqp://h//", workdir=str(tmp_path / "wd")))
