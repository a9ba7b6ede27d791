"""DVC's get-started tutorial, laid out as users have it: `data/data.xml` tracked by a
`.dvc` file from `add`, four stages (prepare, featurize, train, evaluate; evaluate writes
`eval/metrics.json` inside a cached `eval` folder, shown as top-level metrics), a local
data remote and a bare git upstream. xpt and real DVC must agree on every step.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.compat.projects import Xpt, files_under
from tests.helpers import TmpRepo
from tests.oracle_fixtures import DvcOracle, XptCmd

pytestmark = pytest.mark.compat

UP_TO_DATE = "Data and pipelines are up to date."

PREPARE = """\
import os, random, sys
import yaml
p = yaml.safe_load(open("params.yaml"))["prepare"]
rows = [l for l in open(sys.argv[1]).read().splitlines() if l.startswith("<row")]
random.seed(p["seed"])
random.shuffle(rows)
cut = int(len(rows) * p["split"])
os.makedirs("data/prepared", exist_ok=True)
open("data/prepared/train.tsv", "w").write("\\n".join(rows[:cut]) + "\\n")
open("data/prepared/test.tsv", "w").write("\\n".join(rows[cut:]) + "\\n")
"""
FEATURIZE = """\
import os
import yaml
n = yaml.safe_load(open("params.yaml"))["featurize"]["max_features"]
os.makedirs("data/features", exist_ok=True)
for part in ("train", "test"):
    rows = open(f"data/prepared/{part}.tsv").read().splitlines()
    feats = [str(sum(map(ord, r)) % n) for r in rows]
    open(f"data/features/{part}.txt", "w").write("\\n".join(feats) + "\\n")
"""
TRAIN = """\
import yaml
p = yaml.safe_load(open("params.yaml"))["train"]
vals = [int(v) for v in open("data/features/train.txt").read().split()]
model = {"mean": sum(vals) / len(vals), "seed": p["seed"], "n_est": p["n_est"]}
open("model.pkl", "w").write(repr(model))
"""
EVALUATE = """\
import ast, json, os
model = ast.literal_eval(open("model.pkl").read())
vals = [int(v) for v in open("data/features/test.txt").read().split()]
err = sum(abs(v - model["mean"]) for v in vals) / len(vals)
os.makedirs("eval/plots", exist_ok=True)
json.dump({"avg_prec": round(1 / (1 + err), 6), "n_est": model["n_est"]}, open("eval/metrics.json", "w"))
open("eval/plots/errors.csv", "w").write("i,err\\n" + "".join(f"{i},{abs(v - model['mean'])}\\n" for i, v in enumerate(vals)))
"""
PARAMS = """\
prepare:
  split: 0.2
  seed: 20170428
featurize:
  max_features: 100
train:
  seed: 20170428
  n_est: 50
"""
DVC_YAML = """\
stages:
  prepare:
    cmd: python src/prepare.py data/data.xml
    deps:
    - data/data.xml
    - src/prepare.py
    params:
    - prepare.seed
    - prepare.split
    outs:
    - data/prepared
  featurize:
    cmd: python src/featurization.py
    deps:
    - data/prepared
    - src/featurization.py
    params:
    - featurize.max_features
    outs:
    - data/features
  train:
    cmd: python src/train.py
    deps:
    - data/features
    - src/train.py
    params:
    - train.n_est
    - train.seed
    outs:
    - model.pkl
  evaluate:
    cmd: python src/evaluate.py
    deps:
    - data/features
    - model.pkl
    - src/evaluate.py
    outs:
    - eval
metrics:
- eval/metrics.json
"""


def _data_xml(n: int = 400) -> str:
    rows = "".join(f'<row Id="{i}" Body="post {i * 7919 % 1000} about data" />\n' for i in range(n))
    return f'<?xml version="1.0" encoding="utf-8"?>\n<posts>\n{rows}</posts>\n'


def _layout(repo: TmpRepo) -> None:
    repo.gen(
        {
            "data/data.xml": _data_xml(),
            "src/prepare.py": PREPARE,
            "src/featurization.py": FEATURIZE,
            "src/train.py": TRAIN,
            "src/evaluate.py": EVALUATE,
            "params.yaml": PARAMS,
            "dvc.yaml": DVC_YAML,
        }
    )


def _upstream(repo: TmpRepo) -> Path:
    upstream = repo.parent / "upstream.git"
    subprocess.run(["git", "init", "-q", "--bare", str(upstream)], check=True)
    repo.git("remote", "add", "origin", str(upstream))
    return upstream


def _clone(upstream: Path, dest: Path) -> TmpRepo:
    subprocess.run(["git", "clone", "-q", str(upstream), str(dest)], check=True)
    return TmpRepo(dest)


def _status(dvc: DvcOracle, cwd: Path) -> str:
    return dvc("status", cwd=cwd).stdout.strip()


@pytest.fixture
def tutorial(project: TmpRepo, xpt: Xpt, dvc_oracle: DvcOracle) -> TmpRepo:
    """The tutorial made with xpt: add, repro, push, commit, push to git."""
    _layout(project)
    xpt("add", "data/data.xml")
    xpt("remote", "add", "-d", "storage", str(project.parent / "storage"))
    xpt("repro")
    assert _status(dvc_oracle, project) == UP_TO_DATE
    xpt("push")
    project.commit("get started")
    _upstream(project)
    project.git("push", "-q", "origin", "main")
    return project


def test_add_is_byte_identical_to_dvc_add(
    tmp_repo: TmpRepo, xpt: Xpt, xpt_cmd: XptCmd, dvc_oracle: DvcOracle
) -> None:
    """Same data added by each tool in twin repos: same .dvc, .gitignore and cache bytes."""
    twin = TmpRepo(tmp_repo.parent / "twin")
    subprocess.run(["git", "init", "-q", "-b", "main", str(twin)], check=True)
    data = {"data/data.xml": _data_xml(), "images": {"a.png": b"\x89PNG\x00" * 9, "sub/b": "b\n"}}
    for repo in (tmp_repo, twin):
        repo.gen(data)
    xpt("init")
    dvc_oracle("init", "-q", cwd=twin)
    xpt("add", "data/data.xml", "images")
    dvc_oracle("add", "data/data.xml", "images", cwd=twin)
    mine = files_under(tmp_repo, skip=(".git",))
    theirs = files_under(twin, skip=(".git",))
    for name in ("data/data.xml.dvc", "images.dvc", ".gitignore", "data/.gitignore"):
        assert mine[name] == theirs[name], name
    cached = {k: v for k, v in theirs.items() if k.startswith(".dvc/cache/")}
    assert cached and {k: mine.get(k) for k in cached} == cached
    # each reads the other's
    assert xpt("status").out.strip() == UP_TO_DATE
    assert _status(dvc_oracle, tmp_repo) == UP_TO_DATE
    (twin / "data/data.xml").unlink()
    assert "deleted" in _status(dvc_oracle, twin)
    twin_status = xpt_cmd("status", cwd=twin).stdout
    assert "data/data.xml.dvc:\n\tchanged outs:\n\t\tdeleted:            data/data.xml" in (
        twin_status
    )
    xpt_cmd("checkout", cwd=twin)
    assert (twin / "data/data.xml").read_text() == _data_xml()
    assert _status(dvc_oracle, twin) == UP_TO_DATE


def test_fresh_clone_pull_restores_what_dvc_pull_restores(
    tutorial: TmpRepo, xpt: Xpt, dvc_oracle: DvcOracle, monkeypatch: pytest.MonkeyPatch
) -> None:
    upstream = tutorial.parent / "upstream.git"
    by_dvc = _clone(upstream, tutorial.parent / "by-dvc")
    dvc_oracle("pull", cwd=by_dvc)
    by_xpt = _clone(upstream, tutorial.parent / "by-xpt")
    monkeypatch.chdir(by_xpt)
    xpt("pull")
    skip = (".git", ".dvc")
    restored = files_under(by_xpt, skip=skip)
    assert restored == files_under(by_dvc, skip=skip)
    assert restored["data/data.xml"] == _data_xml().encode()
    assert "eval/metrics.json" in restored and "data/features/train.txt" in restored
    assert xpt("status").out.strip() == UP_TO_DATE
    assert _status(dvc_oracle, by_xpt) == UP_TO_DATE


def test_queued_runs_and_exp_apply_keep_dvc_clean(
    tutorial: TmpRepo, xpt: Xpt, dvc_oracle: DvcOracle, monkeypatch: pytest.MonkeyPatch
) -> None:
    clone = _clone(tutorial.parent / "upstream.git", tutorial.parent / "clone")
    monkeypatch.chdir(clone)
    xpt("pull")
    xpt("exp", "run", "--queue", "-S", "train.n_est=100", "-n", "n100")
    xpt("exp", "run", "--queue", "-S", "featurize.max_features=50", "-n", "f50")
    xpt("exp", "run", "--run-all", "-j", "2")
    rows = json.loads(xpt("exp", "show", "--json").out)
    exps = {e["name"]: e["revs"][0]["data"] for e in rows[1]["experiments"]}
    assert set(exps) == {"n100", "f50"}
    assert exps["n100"]["metrics"]["eval/metrics.json"]["data"]["n_est"] == 100
    assert exps["f50"]["outs"]["data/data.xml"]["is_data_source"] is True
    xpt("exp", "apply", "n100")
    assert json.loads((clone / "eval/metrics.json").read_text())["n_est"] == 100
    assert _status(dvc_oracle, clone) == UP_TO_DATE
    # DVC sees xpt's experiments, and the data DVC tracks in them
    shown = json.loads(dvc_oracle("exp", "show", "--json", cwd=clone).stdout)
    names = {e["name"] for e in shown[1]["experiments"]}
    assert names == {"n100", "f50"}
    # a change to the data: both tools report it, xpt's repro records it like DVC's
    (clone / "data/data.xml").write_text(_data_xml(300))
    assert "data/data.xml.dvc" in json.loads(xpt("status", "--json").out)
    assert "data/data.xml.dvc" in json.loads(dvc_oracle("status", "--json", cwd=clone).stdout)
    xpt("repro")
    assert _status(dvc_oracle, clone) == UP_TO_DATE
