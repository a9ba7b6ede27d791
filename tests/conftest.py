"""Test harness: isolation of HOME/git config, temporary git repos, the DVC oracle."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import TmpRepo

pytest_plugins = ["tests.oracle_fixtures"]

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
    # stage commands saying `python` must get this interpreter (with xpt installed)
    bindir = os.path.dirname(sys.executable)
    monkeypatch.setenv("PATH", bindir + os.pathsep + os.environ.get("PATH", ""))
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


class CliResult:
    """Exit code and captured output of one in-process `xpt` call."""

    def __init__(self, rc: int, out: str, err: str) -> None:
        self.rc, self.out, self.err = rc, out, err

    def __repr__(self) -> str:
        return f"CliResult(rc={self.rc}, out={self.out!r}, err={self.err!r})"


@pytest.fixture
def xpt(capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run `xpt ARGS` in-process; `ok=True` asserts rc 0, `ok=False` asserts rc != 0."""
    from xpt.cli.main import main

    def run(*args: str, ok: bool | None = True) -> CliResult:
        capsys.readouterr()
        rc = main(list(args))
        captured = capsys.readouterr()
        res = CliResult(rc, captured.out, captured.err)
        if ok is True:
            assert rc == 0, res
        elif ok is False:
            assert rc != 0, res
        return res

    return run


@pytest.fixture
def project(tmp_repo: TmpRepo, xpt) -> TmpRepo:  # type: ignore[no-untyped-def]
    """A git repo with `xpt init` done and committed."""
    xpt("init")
    tmp_repo.commit("init xpt")
    return tmp_repo


COPY_PY = "import shutil, sys\nshutil.copyfile(sys.argv[1], sys.argv[2])\n"

F1_DVC_YAML = """\
stages:
  copy-file:
    cmd: python copy.py params.yaml metrics.yaml
    deps: [copy.py]
    params: [foo]
    metrics:
    - metrics.yaml:
        cache: false
"""


@pytest.fixture
def f1(project: TmpRepo, xpt) -> TmpRepo:  # type: ignore[no-untyped-def]
    """Behaviour fixture F1: params foo=1 copied into metrics.yaml; reproduced and committed."""
    project.gen({"copy.py": COPY_PY, "params.yaml": "foo: 1\n", "dvc.yaml": F1_DVC_YAML})
    xpt("repro")
    project.commit("F1 pipeline")
    return project
