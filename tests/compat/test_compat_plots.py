"""`plots show/diff --json` of xpt equal DVC's on the same repository.

The project is dvclive-style (tests/plots_project.py): plots inside the cached directory
output `eval/`, top-level definitions with x/y across files, a nested `dvclive/dvc.yaml`,
an image, a stage plot. Built once by DVC and once by xpt; both tools run on each.
The only normalisation: image URLs are absolute paths of files each tool writes itself,
so they are compared after checking that the files exist with the same bytes.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import TmpRepo
from tests.oracle_fixtures import DvcOracle
from tests.plots_project import PLOT_IDS, build

pytestmark = pytest.mark.compat

EXPS = {"low": 0.2, "high": 0.3}
COMMANDS = [
    ("diff", "--json", "low", "high"),
    ("diff", "--json", "high", "HEAD"),
    ("diff", "--json"),
    ("show", "--json"),
    ("show", "--json", "--split", "loss_and_acc", "eval/plots/confusion.json"),
    ("diff", "--json", "low", "--targets", "roc.csv", "-x", "tpr", "--title", "t"),
]


def _images(doc: dict[str, Any]) -> dict[str, bytes]:
    out = {}
    for entries in doc.get("data", {}).values():
        for entry in entries:
            if entry["type"] == "image":
                out[entry["url"]] = Path(entry["url"]).read_bytes()
    return out


def _compare(repo: TmpRepo, xpt, dvc: DvcOracle) -> None:  # type: ignore[no-untyped-def]
    for args in COMMANDS:
        shutil.rmtree(repo / "dvc_plots", ignore_errors=True)
        theirs = json.loads(dvc("plots", *args, cwd=repo).stdout)
        their_images = _images(theirs)
        shutil.rmtree(repo / "dvc_plots", ignore_errors=True)
        ours = json.loads(xpt("plots", *args).out)
        assert _images(ours) == their_images, args
        assert ours == theirs, args
    assert list(ours["data"]) == ["roc.csv"]


@pytest.fixture
def dvc_built(tmp_repo: TmpRepo, dvc_oracle: DvcOracle) -> TmpRepo:
    def run(*args: str) -> None:
        dvc_oracle(*args, cwd=tmp_repo)

    run("init", "-q")
    tmp_repo.commit("init dvc")
    build(tmp_repo, run, EXPS)
    return tmp_repo


@pytest.fixture
def xpt_built(tmp_repo: TmpRepo, xpt) -> TmpRepo:  # type: ignore[no-untyped-def]
    xpt("init")
    tmp_repo.commit("init xpt")
    build(tmp_repo, xpt, EXPS)
    return tmp_repo


def test_plots_json_equal_on_dvc_repo(dvc_built: TmpRepo, xpt, dvc_oracle: DvcOracle) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(xpt("plots", "diff", "--json", "low", "high").out)
    assert list(doc["data"]) == PLOT_IDS and "errors" not in doc
    _compare(dvc_built, xpt, dvc_oracle)


def test_plots_json_equal_on_xpt_repo(xpt_built: TmpRepo, xpt, dvc_oracle: DvcOracle) -> None:  # type: ignore[no-untyped-def]
    # the experiments' plot files exist only in the cache: both tools read them there
    shutil.rmtree(xpt_built / "eval")
    _compare(xpt_built, xpt, dvc_oracle)


def test_plots_errors_equal(xpt_built: TmpRepo, xpt, dvc_oracle: DvcOracle) -> None:  # type: ignore[no-untyped-def]
    with (xpt_built / "dvc.yaml").open("a") as f:
        f.write("- missing.json\n- notes.txt\n- broken.json:\n    y: acc\n")
    (xpt_built / "notes.txt").write_text("hello\n")
    (xpt_built / "broken.json").write_text('{"acc": [1,')
    args = ("diff", "--json", "HEAD")
    theirs = json.loads(dvc_oracle("plots", *args, cwd=xpt_built).stdout)
    ours = json.loads(xpt("plots", *args).out)
    assert len(ours["errors"]) == 3
    assert ours == theirs


@pytest.fixture
def live_repo(goldens, xpt, dvc_oracle: DvcOracle, monkeypatch: pytest.MonkeyPatch) -> TmpRepo:  # type: ignore[no-untyped-def]
    """A copy of the collector's golden project that logs through the real dvclive
    (experiments by `xpt exp run`, xpt's queue and `dvc exp run`)."""
    from tests.compat.test_compat_collector import build_live
    from tests.oracle import oracle_python

    monkeypatch.setenv("PATH", str(oracle_python().parent) + os.pathsep + os.environ["PATH"])
    return goldens.copy("dvclive", build_live(xpt, dvc_oracle))  # type: ignore[no-any-return]


def test_plots_json_equal_with_real_dvclive(live_repo: TmpRepo, xpt, dvc_oracle: DvcOracle) -> None:  # type: ignore[no-untyped-def]
    for args in (("diff", "--json", "xa", "xq", "da"), ("show", "--json"), ("diff", "--json")):
        theirs = json.loads(dvc_oracle("plots", *args, cwd=live_repo).stdout)
        ours = json.loads(xpt("plots", *args).out)
        assert ours == theirs, args
    # dvclive's own plots (nested dvclive/dvc.yaml) are there for every experiment
    doc = json.loads(xpt("plots", "diff", "--json", "xa", "xq", "da").out)
    live = [k for k in doc["data"] if k.startswith("dvclive/plots/metrics/")]
    assert live and all(doc["data"][k][0]["revisions"] == ["xa", "xq", "da"] for k in live)


def test_plots_json_equal_from_a_subfolder(
    xpt_built: TmpRepo, xpt, dvc_oracle: DvcOracle, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """Ids, files and configs are printed relative to the folder the command runs in."""
    sub = xpt_built / "dvclive"
    monkeypatch.chdir(sub)
    for args in (
        ("diff", "--json", "low", "high"),
        ("show", "--json", "../roc.csv", "plots/metrics"),
        ("show", "--json", "loss_and_acc"),
    ):
        theirs = json.loads(dvc_oracle("plots", *args, cwd=sub).stdout)
        ours = json.loads(xpt("plots", *args).out)
        assert ours == theirs, args
    assert "../roc.csv" in ours["data"] or "loss_and_acc" in ours["data"]


NESTED_YAML = """\
stages:
  mk:
    wdir: work
    cmd: python ../mk.py
    plots:
    - out.json:
        x: e
        cache: false
    - ../o2.csv
  loop:
    foreach: [1, 2]
    do:
      cmd: python loop.py ${item}
      plots:
      - p${item}.csv
plots:
- work/out.json:
    title: From sub
"""
MK_PY = """\
import json
json.dump([{"e": i, "v": i * i} for i in range(4)], open("out.json", "w"))
open("../o2.csv", "w").write("a,b\\n1,2\\n3,4\\n")
"""
LOOP_PY = """\
import sys
open(f"p{sys.argv[1]}.csv", "w").write(f"s,val\\n0,{sys.argv[1]}\\n1,5\\n")
"""


def test_nested_pipeline_with_wdir_and_foreach(
    tmp_repo: TmpRepo, xpt, dvc_oracle: DvcOracle
) -> None:  # type: ignore[no-untyped-def]
    """Stage plots of sub/dvc.yaml (wdir, foreach, an id defined twice); cached ones read
    from the cache, a missing uncached one reported like DVC."""
    tmp_repo.gen({"sub": {"dvc.yaml": NESTED_YAML, "mk.py": MK_PY, "loop.py": LOOP_PY, "work": {}}})
    dvc_oracle("init", "-q", cwd=tmp_repo)
    dvc_oracle("repro", "-q", "-P", cwd=tmp_repo)
    tmp_repo.commit("nested")
    (tmp_repo / "sub" / "work" / "out.json").unlink()
    (tmp_repo / "sub" / "p1.csv").unlink()
    for args in (("show", "--json"), ("diff", "--json", "HEAD"), ("show", "--json", "sub/p1.csv")):
        theirs = json.loads(dvc_oracle("plots", *args, cwd=tmp_repo).stdout)
        ours = json.loads(xpt("plots", *args).out)
        assert ours == theirs, args
    assert "sub/dvc.yaml::sub/work/out.json" in ours["data"] or "sub/p1.csv" in ours["data"]
