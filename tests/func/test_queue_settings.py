"""The distributed queue's settings as `xpt config` writes them and DVC's env vars override them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import TmpRepo
from xpt.errors import ScmError
from xpt.experiments.distributed.settings import broker_url, git_remote, is_distributed
from xpt.project import Project
from xpt.scm.git import Git


def test_queue_set_by_xpt_config_is_seen_by_the_queue(project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("config", "queue.backend", "celery")
    xpt("config", "--local", "queue.broker", "redis://h:6379/0")
    config = Project(project).config
    assert is_distributed(config)
    assert broker_url(config) == "redis://h:6379/0"


def test_git_remote_honours_dvc_exp_git_remote(
    project: TmpRepo, xpt, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    for name in ("origin", "up", "env"):
        project.git("remote", "add", name, str(tmp_path / f"{name}.git"))
    git = Git(project)
    assert git_remote(Project(project), git) == ("origin", str(tmp_path / "origin.git"))
    xpt("config", "exp.git_remote", "up")
    assert git_remote(Project(project), git) == ("up", str(tmp_path / "up.git"))
    monkeypatch.setenv("DVC_EXP_GIT_REMOTE", "env")
    assert git_remote(Project(project), git) == ("env", str(tmp_path / "env.git"))
    monkeypatch.setenv("DVC_EXP_GIT_REMOTE", "ghost")
    with pytest.raises(ScmError, match="'ghost'"):
        git_remote(Project(project), git)
