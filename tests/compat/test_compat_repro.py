"""Pipelines: real DVC accepts what `xpt init/repro` wrote, and writes the very same bytes.

Each pipeline is reproduced twice from the same files: by xpt in one repo, by `dvc repro`
in its twin. dvc.lock, the object cache, the run-cache and the worktree must be identical.
"""

from __future__ import annotations

import json

import pytest

from tests.compat.goldens import Goldens
from tests.compat.projects import (
    PIPELINES,
    Xpt,
    built_by_dvc,
    built_by_xpt,
    cache_objects,
    dag_round_two,
    dvc_twin,
    files_under,
    run_cache,
    xpt_twin,
)
from tests.helpers import TmpRepo
from tests.oracle_fixtures import DvcOracle

pytestmark = pytest.mark.compat

UP_TO_DATE = "Data and pipelines are up to date."


@pytest.fixture(params=sorted(PIPELINES))
def pipeline(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def twins(
    goldens: Goldens, pipeline: str, xpt: Xpt, dvc_oracle: DvcOracle
) -> tuple[TmpRepo, TmpRepo]:
    """(reproduced by xpt, reproduced by DVC) copies of the same pipeline."""
    return xpt_twin(goldens, pipeline, xpt), dvc_twin(goldens, pipeline, dvc_oracle)


def test_dvc_status_accepts_xpt_init(tmp_repo: TmpRepo, xpt: Xpt, dvc_oracle: DvcOracle) -> None:
    xpt("init")
    tmp_repo.commit("xpt init")
    res = dvc_oracle("status")
    assert res.returncode == 0
    assert "no data or pipelines tracked" in res.stdout


def test_init_writes_what_dvc_init_writes(
    tmp_repo: TmpRepo, xpt: Xpt, dvc_oracle: DvcOracle
) -> None:
    xpt("init")
    other = TmpRepo(tmp_repo.parent / "by-dvc")
    other.mkdir()
    other.git("init", "-q", "-b", "main")
    dvc_oracle("init", "-q", cwd=other)
    by_xpt = files_under(tmp_repo, skip=(".git",))
    by_dvc = files_under(other, skip=(".git",))
    assert ".dvc/config" in by_dvc
    assert {k: v for k, v in by_xpt.items() if not k.startswith(".dvc/tmp/")} == {
        k: v for k, v in by_dvc.items() if not k.startswith(".dvc/tmp/")
    }


def test_xpt_status_accepts_dvc_init(tmp_repo: TmpRepo, xpt: Xpt, dvc_oracle: DvcOracle) -> None:
    dvc_oracle("init", "-q")
    tmp_repo.commit("dvc init")
    res = xpt("status", "--json")
    assert json.loads(res.out) == {}


def test_dvc_status_clean_after_xpt_repro(
    goldens: Goldens, pipeline: str, xpt: Xpt, dvc_oracle: DvcOracle
) -> None:
    repo = xpt_twin(goldens, pipeline, xpt)
    res = dvc_oracle("status")
    assert res.returncode == 0
    assert UP_TO_DATE in res.stdout, res.stdout
    assert repo.git("status", "--porcelain") == ""


def test_xpt_status_clean_after_dvc_repro(
    goldens: Goldens, pipeline: str, xpt: Xpt, dvc_oracle: DvcOracle
) -> None:
    dvc_twin(goldens, pipeline, dvc_oracle)
    assert json.loads(xpt("status", "--json").out) == {}


def test_lockfiles_byte_identical(twins: tuple[TmpRepo, TmpRepo]) -> None:
    by_xpt, by_dvc = twins
    assert (by_xpt / "dvc.lock").read_text() == (by_dvc / "dvc.lock").read_text()


def test_cache_objects_identical(twins: tuple[TmpRepo, TmpRepo]) -> None:
    by_xpt, by_dvc = twins
    objects = cache_objects(by_dvc)
    assert objects, "DVC cached nothing: the pipeline lost its cached outputs"
    assert cache_objects(by_xpt) == objects


def test_run_cache_identical(twins: tuple[TmpRepo, TmpRepo]) -> None:
    by_xpt, by_dvc = twins
    assert run_cache(by_dvc)
    assert run_cache(by_xpt) == run_cache(by_dvc)


def test_worktrees_identical(twins: tuple[TmpRepo, TmpRepo]) -> None:
    """Outputs, .gitignore entries, dvc.lock: every file outside .git and .dvc."""
    by_xpt, by_dvc = twins
    assert files_under(by_xpt) == files_under(by_dvc)


def test_partial_repro_identical(goldens: Goldens, xpt: Xpt, dvc_oracle: DvcOracle) -> None:
    """A second round re-runs part of the DAG and adds a stage: still the same bytes."""
    by_dvc = dvc_twin(goldens, "dag", dvc_oracle)
    by_xpt = xpt_twin(goldens, "dag", xpt)  # the cwd
    for repo in (by_xpt, by_dvc):
        dag_round_two(repo)
    xpt("repro")
    dvc_oracle("repro", "-q", cwd=by_dvc)
    assert (by_xpt / "dvc.lock").read_text() == (by_dvc / "dvc.lock").read_text()
    assert "featurize@c" in (by_xpt / "dvc.lock").read_text()
    assert cache_objects(by_xpt) == cache_objects(by_dvc)
    assert run_cache(by_xpt) == run_cache(by_dvc)
    assert files_under(by_xpt) == files_under(by_dvc)
    assert UP_TO_DATE in dvc_oracle("status").stdout


def test_status_json_matches_dvc(goldens: Goldens, xpt: Xpt, dvc_oracle: DvcOracle) -> None:
    repo = xpt_twin(goldens, "dag", xpt)
    params = repo / "params.yaml"
    params.write_text(params.read_text().replace("lr: 0.01", "lr: 0.02"))
    (repo / "cfg.toml").write_text((repo / "cfg.toml").read_text().replace("7", "8"))
    (repo / "feats" / "b.txt").unlink()
    (repo / "data" / "raw" / "one.txt").write_text("changed\n")
    (repo / "data" / "prepared" / "extra.txt").write_text("stray\n")
    dvcyaml = repo / "dvc.yaml"
    dvcyaml.write_text(dvcyaml.read_text().replace("cmd: echo ${item.k}", "cmd: echo  ${item.k}"))
    expected = json.loads(dvc_oracle("status", "--json").stdout)
    assert {"prepare", "featurize@b", "grid@1-x", "train"} <= set(expected)
    assert json.loads(xpt("status", "--json").out) == expected


def test_status_json_of_wdir_stage_matches_dvc(
    goldens: Goldens, xpt: Xpt, dvc_oracle: DvcOracle
) -> None:
    repo = xpt_twin(goldens, "dag", xpt)
    (repo / "reports" / "summary.txt").write_text("edited\n")
    (repo / "metrics.json").write_text('{"size": 0}')
    expected = json.loads(dvc_oracle("status", "--json").stdout)
    assert set(expected) == {"train", "summary"}
    assert json.loads(xpt("status", "--json").out) == expected


def new_lr(repo: TmpRepo) -> None:
    params = repo / "params.yaml"
    params.write_text(params.read_text().replace("lr: 0.01", "lr: 0.03"))


def test_dvc_checkout_of_commits_xpt_made(
    goldens: Goldens, xpt: Xpt, dvc_oracle: DvcOracle
) -> None:
    repo = xpt_twin(goldens, "dag", xpt)
    new_lr(repo)
    xpt("repro")
    repo.commit("lr 0.03")
    second = files_under(repo)
    repo.git("checkout", "-q", "HEAD~1")
    dvc_oracle("checkout")
    assert files_under(repo) == files_under(goldens.get("dag-xpt", built_by_xpt("dag", xpt)))
    repo.git("checkout", "-q", "main")
    dvc_oracle("checkout")
    assert files_under(repo) == second


def test_xpt_checkout_of_commits_dvc_made(
    goldens: Goldens, xpt: Xpt, dvc_oracle: DvcOracle
) -> None:
    repo = dvc_twin(goldens, "dag", dvc_oracle)
    new_lr(repo)
    dvc_oracle("repro", "-q")
    repo.commit("lr 0.03")
    second = files_under(repo)
    repo.git("checkout", "-q", "HEAD~1")
    xpt("checkout")
    assert files_under(repo) == files_under(goldens.get("dag-dvc", built_by_dvc("dag", dvc_oracle)))
    repo.git("checkout", "-q", "main")
    xpt("checkout")
    assert files_under(repo) == second
