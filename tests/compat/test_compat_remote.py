"""Data remotes: `dvc pull` restores what `xpt push` sent, `xpt pull` what `dvc push` sent.

Golden repos: the DAG pipeline reproduced by each tool, with a bare git upstream and a
local-folder data remote next to it, both pushed. Tests clone the upstream and pull.
"""

from __future__ import annotations

import stat
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.compat.goldens import Base, Builder, Goldens
from tests.compat.projects import Xpt, built_by_dvc, built_by_xpt, files_under
from tests.helpers import TmpRepo
from tests.oracle_fixtures import DvcOracle

pytestmark = pytest.mark.compat

UP_TO_DATE = "Data and pipelines are up to date."


def with_remotes(push: Callable[..., Any], remote_add: Callable[..., Any]) -> Builder:
    def build(repo: TmpRepo) -> None:
        upstream, storage = repo.parent / "upstream.git", repo.parent / "storage"
        subprocess.run(["git", "init", "-q", "--bare", str(upstream)], check=True)
        remote_add("remote", "add", "-d", "store", str(storage))
        repo.commit("data remote")
        repo.git("remote", "add", "origin", str(upstream))
        repo.git("push", "-q", "origin", "main")
        push("push")

    return build


@pytest.fixture
def pushed_by_xpt(goldens: Goldens, xpt: Xpt) -> TmpRepo:
    base: Base = ("dag-xpt", built_by_xpt("dag", xpt))
    return goldens.get("remote-xpt", with_remotes(xpt, xpt), base=base)


@pytest.fixture
def pushed_by_dvc(goldens: Goldens, dvc_oracle: DvcOracle) -> TmpRepo:
    base: Base = ("dag-dvc", built_by_dvc("dag", dvc_oracle))
    return goldens.get("remote-dvc", with_remotes(dvc_oracle, dvc_oracle), base=base)


def clone(golden: TmpRepo, dest: Path, monkeypatch: pytest.MonkeyPatch) -> TmpRepo:
    subprocess.run(
        ["git", "clone", "-q", str(golden.parent / "upstream.git"), str(dest)], check=True
    )
    monkeypatch.chdir(dest)
    return TmpRepo(dest)


def storage_files(golden: TmpRepo) -> dict[str, tuple[bytes, int]]:
    """{path: (content, permission bits)} of the data remote next to a golden repo."""
    root = golden.parent / "storage"
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), stat.S_IMODE(p.stat().st_mode))
        for p in root.rglob("*")
        if p.is_file()
    }


def test_dvc_pull_restores_what_xpt_pushed(
    pushed_by_xpt: TmpRepo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    xpt: Xpt,
    dvc_oracle: DvcOracle,
) -> None:
    other = clone(pushed_by_xpt, tmp_path / "clone", monkeypatch)
    assert not (other / "model.bin").exists()
    dvc_oracle("pull")
    assert files_under(other) == files_under(pushed_by_xpt)
    assert (other / "data" / "prepared" / "sub" / "count.txt").read_text() == "2\n"
    assert UP_TO_DATE in dvc_oracle("status").stdout
    assert xpt("status", "--json").out.strip() == "{}"


def test_xpt_pull_restores_what_dvc_pushed(
    pushed_by_dvc: TmpRepo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    xpt: Xpt,
    dvc_oracle: DvcOracle,
) -> None:
    other = clone(pushed_by_dvc, tmp_path / "clone", monkeypatch)
    xpt("pull")
    assert files_under(other) == files_under(pushed_by_dvc)
    assert xpt("status", "--json").out.strip() == "{}"
    assert UP_TO_DATE in dvc_oracle("status").stdout


def test_remote_layouts_identical(pushed_by_xpt: TmpRepo, pushed_by_dvc: TmpRepo) -> None:
    by_xpt, by_dvc = storage_files(pushed_by_xpt), storage_files(pushed_by_dvc)
    assert any(path.endswith(".dir") for path in by_dvc)
    assert {p: data for p, (data, _) in by_xpt.items()} == {
        p: data for p, (data, _) in by_dvc.items()
    }


def test_remote_objects_read_only_like_dvc(pushed_by_xpt: TmpRepo, pushed_by_dvc: TmpRepo) -> None:
    assert {mode for _, mode in storage_files(pushed_by_dvc).values()} == {0o444}
    assert {mode for _, mode in storage_files(pushed_by_xpt).values()} == {0o444}


def private_remotes(repo: TmpRepo, tool: Callable[..., Any]) -> tuple[Path, Path]:
    """Point a copied golden repo at its own copies of the upstream and the data remote."""
    upstream, storage = repo.parent / "upstream.git", repo.parent / "storage"
    repo.git("remote", "set-url", "origin", str(upstream))
    tool("remote", "modify", "--local", "store", "url", str(storage))
    return upstream, storage


def test_dvc_exp_pull_of_xpt_exp_push(
    goldens: Goldens,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    xpt: Xpt,
    dvc_oracle: DvcOracle,
) -> None:
    base: Base = ("dag-xpt", built_by_xpt("dag", xpt))
    repo = goldens.copy_folder("remote-xpt", with_remotes(xpt, xpt), base=base)
    upstream, storage = private_remotes(repo, xpt)
    xpt("exp", "run", "-S", "lr=0.05", "-n", "rx")
    xpt("exp", "push", "origin", "rx")
    other = TmpRepo(tmp_path / "clone")
    subprocess.run(["git", "clone", "-q", str(upstream), str(other)], check=True)
    monkeypatch.chdir(other)
    dvc_oracle("remote", "modify", "--local", "store", "url", str(storage))
    dvc_oracle("exp", "pull", "origin", "rx")
    dvc_oracle("exp", "apply", "rx")
    assert files_under(other) == files_under(repo)
    assert "lr: 0.05" in (other / "params.yaml").read_text()


def test_xpt_exp_pull_of_dvc_exp_push(
    goldens: Goldens,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    xpt: Xpt,
    dvc_oracle: DvcOracle,
) -> None:
    base: Base = ("dag-dvc", built_by_dvc("dag", dvc_oracle))
    repo = goldens.copy_folder("remote-dvc", with_remotes(dvc_oracle, dvc_oracle), base=base)
    upstream, storage = private_remotes(repo, dvc_oracle)
    dvc_oracle("exp", "run", "-S", "lr=0.05", "-n", "rd")
    dvc_oracle("exp", "push", "origin", "rd")
    other = TmpRepo(tmp_path / "clone")
    subprocess.run(["git", "clone", "-q", str(upstream), str(other)], check=True)
    monkeypatch.chdir(other)
    xpt("remote", "modify", "--local", "store", "url", str(storage))
    xpt("exp", "pull", "origin", "rd")
    xpt("exp", "apply", "rd")
    assert files_under(other) == files_under(repo)
    assert xpt("status", "--json").out.strip() == "{}"
