"""Run-cache: a run one tool recorded is restored by the other instead of being re-run.

The stage appends to the git-ignored `calls.log` each time it really runs.
"""

from __future__ import annotations

import json

import pytest

from tests.compat.goldens import Goldens
from tests.compat.projects import MODEL, Xpt
from tests.helpers import TmpRepo
from tests.oracle_fixtures import DvcOracle

pytestmark = pytest.mark.compat

UP_TO_DATE = "Data and pipelines are up to date."


@pytest.fixture
def repo(goldens: Goldens, xpt: Xpt) -> TmpRepo:
    """The MODEL pipeline after `xpt init`, committed, never reproduced."""

    def build(repo: TmpRepo) -> None:
        repo.gen(MODEL)
        xpt("init")
        repo.commit("model pipeline")

    return goldens.copy("model-base", build)


def set_foo(repo: TmpRepo, value: int) -> None:
    (repo / "params.yaml").write_text(f"foo: {value}\nopt:\n  lr: 0.1\n  layers: [1, 2]\n")


def calls(repo: TmpRepo) -> list[str]:
    return (repo / "calls.log").read_text().splitlines()


def assert_outputs(repo: TmpRepo, foo: int) -> None:
    assert (repo / "model.bin").read_text() == f"model {foo} 0.1 1 2\n"
    assert json.loads((repo / "metrics.json").read_text())["foo"] == foo


def test_xpt_restores_runs_dvc_recorded(repo: TmpRepo, xpt: Xpt, dvc_oracle: DvcOracle) -> None:
    dvc_oracle("repro", "-q")
    lock_1 = (repo / "dvc.lock").read_bytes()
    set_foo(repo, 2)
    dvc_oracle("repro", "-q")
    lock_2 = (repo / "dvc.lock").read_bytes()
    assert calls(repo) == ["1 0.1 1 2", "2 0.1 1 2"]
    set_foo(repo, 1)
    xpt("repro")
    assert calls(repo) == ["1 0.1 1 2", "2 0.1 1 2"], "xpt re-ran a run DVC had cached"
    assert (repo / "dvc.lock").read_bytes() == lock_1
    assert_outputs(repo, 1)
    set_foo(repo, 2)
    xpt("repro")
    assert len(calls(repo)) == 2
    assert (repo / "dvc.lock").read_bytes() == lock_2
    assert_outputs(repo, 2)
    assert UP_TO_DATE in dvc_oracle("status").stdout


def test_dvc_restores_runs_xpt_recorded(repo: TmpRepo, xpt: Xpt, dvc_oracle: DvcOracle) -> None:
    xpt("repro")
    lock_1 = (repo / "dvc.lock").read_bytes()
    set_foo(repo, 2)
    xpt("repro")
    lock_2 = (repo / "dvc.lock").read_bytes()
    assert calls(repo) == ["1 0.1 1 2", "2 0.1 1 2"]
    set_foo(repo, 1)
    res = dvc_oracle("repro")
    assert "is cached - skipping run" in res.stdout
    assert calls(repo) == ["1 0.1 1 2", "2 0.1 1 2"], "DVC re-ran a run xpt had cached"
    assert (repo / "dvc.lock").read_bytes() == lock_1
    assert_outputs(repo, 1)
    (repo / "model.bin").unlink()
    (repo / "dvc.lock").unlink()
    set_foo(repo, 2)
    dvc_oracle("repro", "-q")
    assert len(calls(repo)) == 2
    assert (repo / "dvc.lock").read_bytes() == lock_2
    assert_outputs(repo, 2)
    assert json.loads(xpt("status", "--json").out) == {}
