"""The DVC oracle itself works: the compatibility tests stand on it."""

from __future__ import annotations

import time

import pytest

from tests.helpers import TmpRepo
from tests.oracle import CHECKPOINT_VERSION, DEFAULT_VERSION, ensure_dvc, is_ready
from tests.oracle_fixtures import DvcOracle, XptCmd

pytestmark = pytest.mark.compat


def test_dvc_init_then_status_is_clean(tmp_repo: TmpRepo, dvc_oracle: DvcOracle) -> None:
    assert dvc_oracle("--version").stdout.strip() == DEFAULT_VERSION
    dvc_oracle("init")
    assert (tmp_repo / ".dvc" / "config").is_file()
    res = dvc_oracle("status")
    assert res.returncode == 0
    assert "no data or pipelines tracked" in res.stdout


def test_oracle_runs_in_the_test_home(tmp_repo: TmpRepo, dvc_oracle: DvcOracle) -> None:
    """Global config written by the oracle lands in the isolated HOME, not the real one."""
    dvc_oracle("config", "--global", "core.autostage", "true")
    home = dvc_oracle.env()["HOME"]
    assert "autostage = true" in (TmpRepo(home) / ".config" / "dvc" / "config").read_text()


def test_oracle_reports_failures(tmp_repo: TmpRepo, dvc_oracle: DvcOracle) -> None:
    res = dvc_oracle("status", check=False)  # no `dvc init` yet
    assert res.returncode != 0
    with pytest.raises(AssertionError, match="exited"):
        dvc_oracle("status")


def test_ensure_is_a_stat_the_second_time() -> None:
    exe = ensure_dvc(DEFAULT_VERSION)
    start = time.perf_counter()
    assert ensure_dvc(DEFAULT_VERSION) == exe
    assert time.perf_counter() - start < 0.5
    assert is_ready(DEFAULT_VERSION)


def test_checkpoint_oracle_runs(tmp_repo: TmpRepo, dvc2_oracle: DvcOracle) -> None:
    assert dvc2_oracle("--version").stdout.strip() == CHECKPOINT_VERSION
    dvc2_oracle("init")
    assert dvc2_oracle("status").returncode == 0


def test_dvc_accepts_a_project_made_by_xpt_init(
    tmp_repo: TmpRepo, dvc_oracle: DvcOracle, xpt_cmd: XptCmd
) -> None:
    res = xpt_cmd("init", check=False)
    assert res.returncode == 0, res.stderr
    tmp_repo.commit("init")
    assert dvc_oracle("status").returncode == 0
