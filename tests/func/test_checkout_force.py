"""checkout/pull refuse to replace workspace files whose content is not cached (`-f` does).

DVC 3.67.1, stdin not a TTY: `ERROR: Can't remove the following unsaved files without
confirmation. Use `--force` to force.` then each file's absolute path on its own line; exit
255 for checkout, 1 for pull (message prefixed `failed to pull data from the cloud - `).
Nothing in the workspace is touched before the refusal.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import TmpRepo
from tests.oracle_fixtures import DvcOracle, XptCmd

REFUSAL = (
    "ERROR: Can't remove the following unsaved files without confirmation. Use `--force` to force."
)

TRAIN_PY = """\
import json, os, sys
os.makedirs("model", exist_ok=True)
rows = open("data/raw.csv").read().splitlines()
open("model/weights.bin", "w").write("w" * len(rows))
json.dump({"rows": len(rows)}, open("model/metrics.json", "w"))
"""

DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    deps: [train.py, data/raw.csv]
    outs: [model]
"""


@pytest.fixture
def ml(project: TmpRepo, xpt) -> TmpRepo:  # type: ignore[no-untyped-def]
    """data/raw.csv from `xpt add`; stage `train` writes the cached folder `model/`."""
    project.gen({"data/raw.csv": "a,b\n1,2\n", "train.py": TRAIN_PY, "dvc.yaml": DVC_YAML})
    xpt("add", "data/raw.csv")
    xpt("repro")
    project.commit("pipeline")
    return project


def _lines(err: str) -> list[str]:
    return err.strip().splitlines()


def test_checkout_refuses_a_modified_added_file_and_touches_nothing(ml: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    raw = ml / "data" / "raw.csv"
    raw.write_text("edited by hand\n")
    (ml / "model" / "weights.bin").unlink()  # restorable: must still be absent after the refusal
    res = xpt("checkout", "data/raw.csv.dvc", ok=None)
    assert res.rc == 255
    assert _lines(res.err) == [REFUSAL, str(raw)]
    assert raw.read_text() == "edited by hand\n"
    res = xpt("checkout", ok=None)
    assert res.rc == 255 and _lines(res.err) == [REFUSAL, str(raw)]
    assert not (ml / "model" / "weights.bin").exists()
    res = xpt("checkout", "-f")
    assert "M       data/raw.csv" in res.out.splitlines()
    assert raw.read_text() == "a,b\n1,2\n"
    assert (ml / "model" / "weights.bin").read_text() == "ww"


def test_stage_output_inside_a_cached_folder(ml: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    metrics = ml / "model" / "metrics.json"
    metrics.write_text('{"rows": 99}')
    extra = ml / "model" / "notes.txt"
    extra.write_text("mine\n")
    res = xpt("checkout", "train", ok=None)
    assert res.rc == 255
    assert _lines(res.err) == [REFUSAL, str(metrics), str(extra)]
    assert metrics.read_text() == '{"rows": 99}' and extra.read_text() == "mine\n"
    xpt("checkout", "--force", "train")
    assert metrics.read_text() == '{"rows": 2}'
    assert not extra.exists()


def test_content_already_in_the_cache_is_replaced_without_force(ml: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    raw = ml / "data" / "raw.csv"
    raw.write_text("a,b\n1,2\n3,4\n")
    xpt("add", "data/raw.csv")  # v2 is cached now
    ml.git("checkout", "--", "data/raw.csv.dvc")  # back to v1's record
    (ml / "model" / "weights.bin").write_text("a,b\n1,2\n")  # raw.csv v1's object
    (ml / "model" / "copy.csv").write_text("a,b\n1,2\n3,4\n")  # extra, but v2 is cached
    res = xpt("checkout")
    assert raw.read_text() == "a,b\n1,2\n"
    assert (ml / "model" / "weights.bin").read_text() == "ww"
    assert not (ml / "model" / "copy.csv").exists()
    assert res.err == ""


def test_pull_refuses_then_force_replaces(ml: TmpRepo, xpt, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    xpt("remote", "add", "-d", "store", str(tmp_path / "store"))
    xpt("push")
    shutil.rmtree(ml / ".dvc" / "cache")
    raw = ml / "data" / "raw.csv"
    raw.write_text("edited by hand\n")
    res = xpt("pull", ok=None)
    assert res.rc == 1
    assert _lines(res.err) == [
        "ERROR: failed to pull data from the cloud - " + REFUSAL[7:],
        str(raw),
    ]
    assert raw.read_text() == "edited by hand\n"
    xpt("pull", "-f")
    assert raw.read_text() == "a,b\n1,2\n"


def test_same_refusal_as_dvc(ml: TmpRepo, xpt_cmd: XptCmd, dvc_oracle: DvcOracle) -> None:
    raw = ml / "data" / "raw.csv"
    raw.write_text("edited by hand\n")
    theirs = dvc_oracle("checkout", "data/raw.csv.dvc", cwd=ml, check=False, input="")
    ours = xpt_cmd("checkout", "data/raw.csv.dvc", cwd=ml, check=False, input="")
    assert (ours.returncode, ours.stderr) == (theirs.returncode, theirs.stderr)
    assert raw.read_text() == "edited by hand\n"


def test_repro_pull_keeps_an_edited_input_and_reruns_on_it(ml: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    raw = ml / "data" / "raw.csv"
    raw.write_text("a,b\n1,2\n3,4\n5,6\n")
    (ml / "model" / "weights.bin").unlink()
    xpt("repro", "--pull")
    assert raw.read_text() == "a,b\n1,2\n3,4\n5,6\n"
    assert (ml / "model" / "weights.bin").read_text() == "wwww"
