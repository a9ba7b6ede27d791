"""Test harness: isolation of HOME/git config, temporary git repos, the DVC oracle."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import TmpRepo

_TEMPLATE: dict[str, Path] = {}


@pytest.fixture(autouse=True)
def isolate(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own HOME, git identity and no system git config."""
    home = tmp_path_factory.mktemp("home")
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Xpt Tester\n\temail = tester@example.com\n"
        "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n"
    )
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("GIT_DIR", raising=False)
    monkeypatch.delenv("GIT_WORK_TREE", raising=False)
    monkeypatch.delenv("XPT_STATE_DB", raising=False)
    for var in list(os.environ):
        if var.startswith(("DVC_", "GIT_AUTHOR", "GIT_COMMITTER")):
            monkeypatch.delenv(var, raising=False)


def _template(factory: pytest.TempPathFactory) -> Path:
    """A git repo with one initial commit, built once per session and copied."""
    if "repo" not in _TEMPLATE:
        path = factory.mktemp("template") / "repo"
        path.mkdir()
        env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1"}
        subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True, env=env)
        _TEMPLATE["repo"] = path
    return _TEMPLATE["repo"]


@pytest.fixture
def tmp_repo(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TmpRepo]:
    """A fresh git repository (no commits, no .dvc) as cwd."""
    dest = tmp_path / "repo"
    shutil.copytree(_template(tmp_path_factory), dest, symlinks=True)
    monkeypatch.chdir(dest)
    yield TmpRepo(dest)
