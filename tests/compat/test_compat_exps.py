"""Experiments: DVC reads, applies and removes xpt's experiments, and xpt does the same to DVC's.

One golden repo holds experiments made by both tools on the same baseline: xa, xb and an
auto-named one by `xpt exp run`, da by `dvc exp run`. Both tools' `exp show --json` of it
are recorded once, when it is built.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.compat.goldens import Builder, Goldens
from tests.compat.projects import MODEL, Xpt, exp_ref, files_under, show_json, tree_files, xpt_twin
from tests.helpers import TmpRepo
from tests.oracle_fixtures import DvcOracle

pytestmark = pytest.mark.compat

UP_TO_DATE = "Data and pipelines are up to date."
FOO = {"xa": 2, "xb": 3, "da": 4}  # foo of each named experiment


def build_exps(xpt: Xpt, dvc: DvcOracle) -> Builder:
    def build(repo: TmpRepo) -> None:
        repo.gen(MODEL)
        xpt("init")
        xpt("repro")
        repo.commit("baseline")
        xpt("exp", "run", "-S", "foo=2", "-n", "xa")
        xpt("exp", "run", "-S", "foo=3", "-S", "opt.lr=0.5", "-n", "xb")
        xpt("exp", "run", "-S", "foo=7")
        dvc("exp", "run", "-S", "foo=4", "-S", "opt.layers=[5,6]", "-n", "da")
        (repo.parent / "dvc-show.json").write_text(dvc("exp", "show", "--json").stdout)
        (repo.parent / "xpt-show.json").write_text(xpt("exp", "show", "--json").out)

    return build


@pytest.fixture
def golden(goldens: Goldens, xpt: Xpt, dvc_oracle: DvcOracle) -> TmpRepo:
    """The shared repo: read it, never change it."""
    return goldens.get("exps", build_exps(xpt, dvc_oracle))


@pytest.fixture
def repo(goldens: Goldens, xpt: Xpt, dvc_oracle: DvcOracle) -> TmpRepo:
    """This test's own copy of the repo, as cwd."""
    return goldens.copy("exps", build_exps(xpt, dvc_oracle))


def recorded(golden: TmpRepo, tool: str) -> list[dict[str, Any]]:
    return show_json((golden.parent / f"{tool}-show.json").read_text())


def experiments(rows: list[dict[str, Any]], baseline: str) -> dict[str, dict[str, Any]]:
    """{name: the experiment's only rev} under the baseline row `baseline`."""
    (row,) = [r for r in rows if r["rev"] == baseline]
    return {name: exp["revs"][0] for name, exp in row["experiments"].items()}


def test_dvc_exp_show_lists_xpt_experiments(golden: TmpRepo) -> None:
    baseline = golden.git("rev-parse", "HEAD")
    by_dvc = experiments(recorded(golden, "dvc"), baseline)
    by_xpt = experiments(recorded(golden, "xpt"), baseline)
    assert {"xa", "xb", "da"} < set(by_dvc) and len(by_dvc) == 4
    assert set(by_xpt) == set(by_dvc)
    for name, rev in by_dvc.items():
        assert rev["rev"] == golden.git("rev-parse", exp_ref(golden, name))
        assert rev["rev"] == by_xpt[name]["rev"]
        assert rev["data"]["params"] == by_xpt[name]["data"]["params"], name
        assert rev["data"]["metrics"] == by_xpt[name]["data"]["metrics"], name
    assert by_dvc["xb"]["data"]["params"]["params.yaml"]["data"] == {
        "foo": 3,
        "opt": {"lr": 0.5, "layers": [1, 2]},
    }
    assert by_dvc["xa"]["data"]["metrics"]["metrics.json"]["data"]["foo"] == 2


def test_exp_show_json_identical(golden: TmpRepo) -> None:
    """Workspace row, baseline row and every experiment: all fields, timestamps included."""
    by_dvc, by_xpt = recorded(golden, "dvc"), recorded(golden, "xpt")
    assert [r["rev"] for r in by_xpt] == [r["rev"] for r in by_dvc]
    for dvc_row, xpt_row in zip(by_dvc, by_xpt, strict=True):
        assert xpt_row == dvc_row


def assert_workspace_is(repo: TmpRepo, rev: str, foo: int) -> None:
    """Every file of the experiment commit is in the worktree, and its cached output too."""
    worktree = files_under(repo, skip=(".git",))
    for path, blob in tree_files(repo, rev).items():
        assert worktree.get(path) == blob, path
    assert (repo / "model.bin").read_text().startswith(f"model {foo} ")


def test_dvc_exp_apply_xpt_experiment(repo: TmpRepo, xpt: Xpt, dvc_oracle: DvcOracle) -> None:
    repo.git("checkout", "-q", "--", ".")  # drop da, which `dvc exp run` left applied
    dvc_oracle("exp", "apply", "xb")
    assert_workspace_is(repo, exp_ref(repo, "xb"), FOO["xb"])
    assert UP_TO_DATE in dvc_oracle("status").stdout
    assert json.loads(xpt("status", "--json").out) == {}


def test_xpt_exp_apply_dvc_experiment(repo: TmpRepo, xpt: Xpt, dvc_oracle: DvcOracle) -> None:
    repo.git("checkout", "-q", "--", ".")
    xpt("exp", "apply", "xa")
    xpt("exp", "apply", "da")
    assert_workspace_is(repo, exp_ref(repo, "da"), FOO["da"])
    assert json.loads(xpt("status", "--json").out) == {}
    assert UP_TO_DATE in dvc_oracle("status").stdout


def test_exp_list_and_remove_across_tools(repo: TmpRepo, xpt: Xpt, dvc_oracle: DvcOracle) -> None:
    names = sorted(dvc_oracle("exp", "list", "--name-only").stdout.split())
    assert sorted(xpt("exp", "list", "--name-only").out.split()) == names
    assert len(names) == 4
    xb = repo.git("rev-parse", exp_ref(repo, "xb"))
    dvc_oracle("exp", "remove", "xa")
    xpt("exp", "remove", "da")
    left = sorted(set(names) - {"xa", "da"})
    assert sorted(xpt("exp", "list", "--name-only").out.split()) == left
    refs = repo.git("for-each-ref", "--format=%(refname)", "refs/exps/").split()
    assert (
        sorted(r.rsplit("/", 1)[1] for r in refs if "/exec/" not in r and "/apply/" not in r)
        == left
    )
    assert repo.git("rev-parse", exp_ref(repo, "xb")) == xb


def test_exp_show_of_dag_experiment_identical(
    goldens: Goldens, xpt: Xpt, dvc_oracle: DvcOracle
) -> None:
    """Directory deps/outs, a wdir stage, params from yaml/json/toml/py files, top-level params."""
    repo = xpt_twin(goldens, "dag", xpt)
    xpt("exp", "run", "-S", "lr=0.05", "-S", "hp.json:nested.beta=[4]", "-n", "dx")
    by_dvc = show_json(dvc_oracle("exp", "show", "--json").stdout)
    by_xpt = show_json(xpt("exp", "show", "--json").out)
    assert experiments(by_dvc, repo.git("rev-parse", "HEAD"))["dx"]["data"]["params"]
    for dvc_row, xpt_row in zip(by_dvc, by_xpt, strict=True):
        assert xpt_row == dvc_row


def test_missing_metrics_reported_like_dvc(
    tmp_repo: TmpRepo, xpt: Xpt, dvc_oracle: DvcOracle
) -> None:
    """A pipeline committed before its first run: the metrics file does not exist yet."""
    tmp_repo.gen(MODEL)
    xpt("init")
    tmp_repo.commit("pipeline, not run yet")
    by_dvc = show_json(dvc_oracle("exp", "show", "--json").stdout)
    by_xpt = show_json(xpt("exp", "show", "--json").out)
    assert "error" in by_dvc[1]["data"]["metrics"]["metrics.json"]
    assert by_xpt[1]["data"] == by_dvc[1]["data"]
