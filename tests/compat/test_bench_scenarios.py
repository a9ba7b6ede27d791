"""Real DVC reads the benchmark's bulk experiments as experiments of the baseline."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from bench.scenarios import EXP_DVC_YAML, TRAIN_PY, exp_files, fast_import_stream

from tests.helpers import TmpRepo
from tests.oracle_fixtures import DvcOracle

pytestmark = pytest.mark.compat


def test_dvc_exp_show_lists_fast_imported_experiments(
    tmp_repo: TmpRepo, dvc_oracle: DvcOracle
) -> None:
    tmp_repo.gen({"train.py": TRAIN_PY, "dvc.yaml": EXP_DVC_YAML, **exp_files(0)})
    dvc_oracle("init")
    baseline = tmp_repo.commit("baseline")
    stream = fast_import_stream(baseline, 3, int(time.time()))
    subprocess.run(["git", "fast-import", "--quiet"], input=stream, check=True, cwd=tmp_repo)
    shown = json.loads(dvc_oracle("exp", "show", "--json").stdout)
    base = next(entry for entry in shown if entry["rev"] == baseline)
    exps = {e["name"]: e["revs"][0]["data"] for e in base["experiments"]}
    assert sorted(exps) == ["bench-00001", "bench-00002", "bench-00003"]
    data = exps["bench-00002"]
    assert data["params"]["params.yaml"]["data"] == {"lr": 0.003, "epochs": 12}
    assert data["metrics"]["metrics.json"]["data"] == json.loads(exp_files(2)["metrics.json"])
    assert "train.py" in data["deps"]
