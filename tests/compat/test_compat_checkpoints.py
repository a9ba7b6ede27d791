"""Checkpoints: DVC 2.58.2 (the last release with checkpoints) reads xpt's checkpoint chains.

DVC 2's lock schema rejects a dvc.lock with any `hash:` key, so a project with a checkpoint
output gets its lock files in DVC 2's dialect (md5-dos2unix, no `hash:`, legacy cache
layout): DVC 2 then reads the params and metrics of every checkpoint commit, the lock bytes
are the ones DVC 2 writes itself, and DVC 3 still reads the repo.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.compat.goldens import Builder, Goldens
from tests.compat.projects import Xpt, exp_ref, show_json
from tests.helpers import TmpRepo
from tests.oracle import CHECKPOINT_VERSION, is_ready
from tests.oracle_fixtures import DvcOracle

pytestmark = [
    pytest.mark.compat,
    pytest.mark.skipif(
        not is_ready(CHECKPOINT_VERSION),
        reason=f"DVC {CHECKPOINT_VERSION} oracle not built "
        f"(python -m tests.oracle --ensure --version {CHECKPOINT_VERSION})",
    ),
]


TRAIN_PY = """\
import json, os, sys
try:
    from xpt.api import make_checkpoint
except ImportError:  # run by DVC 2 in its own virtualenv
    from dvc.api import make_checkpoint

path, n = sys.argv[1], int(sys.argv[2])
value = int(open(path).read()) if os.path.exists(path) else 0
foo = int(open("params.yaml").read().split(":")[1])
for _ in range(n):
    value += 1
    open(path, "w").write(str(value))
    json.dump({"value": value, "scaled": value * foo}, open("metrics.json", "w"))
    make_checkpoint()
"""

CKPT: dict[str, Any] = {
    "train.py": TRAIN_PY,
    "params.yaml": "foo: 1\n",
    "dvc.yaml": (
        "stages:\n"
        "  train:\n"
        "    cmd: python train.py state 3\n"
        "    deps: [train.py]\n"
        "    params: [foo]\n"
        "    outs:\n"
        "    - state:\n"
        "        checkpoint: true\n"
        "    metrics:\n"
        "    - metrics.json:\n"
        "        cache: false\n"
    ),
}


def build_ckpt(xpt: Xpt) -> Builder:
    def build(repo: TmpRepo) -> None:
        repo.gen(CKPT)
        xpt("init")
        repo.commit("checkpoint pipeline")
        xpt("exp", "run", "-S", "foo=2", "-n", "ck1")
        (repo.parent / "xpt-show.json").write_text(xpt("exp", "show", "--json").out)

    return build


def build_ckpt_by_dvc2(dvc2: DvcOracle) -> Builder:
    def build(repo: TmpRepo) -> None:
        repo.gen(CKPT)
        dvc2("init", "-q")
        repo.commit("checkpoint pipeline")
        dvc2("exp", "run", "-S", "foo=2", "-n", "ck1")
        (repo.parent / "dvc2-show.json").write_text(dvc2("exp", "show", "--json").stdout)

    return build


@pytest.fixture
def golden(goldens: Goldens, xpt: Xpt) -> TmpRepo:
    return goldens.get("ckpt", build_ckpt(xpt))


@pytest.fixture
def repo(goldens: Goldens, xpt: Xpt) -> TmpRepo:
    return goldens.copy("ckpt", build_ckpt(xpt))


def chain_of(rows: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    (exp,) = [row["experiments"][name] for row in rows[1:] if name in (row["experiments"] or {})]
    return exp["revs"]


def xpt_chain(repo: TmpRepo) -> list[dict[str, Any]]:
    return chain_of(show_json((repo.parent / "xpt-show.json").read_text()), "ck1")


def test_dvc2_sees_checkpoint_chain(repo: TmpRepo, golden: TmpRepo, dvc2_oracle: DvcOracle) -> None:
    rows = show_json(dvc2_oracle("exp", "show", "--json").stdout)
    baseline = repo.git("rev-parse", "HEAD")
    assert rows[1]["rev"] == baseline
    assert rows[1]["data"]["meta"] == {"has_checkpoints": True}
    theirs, ours = chain_of(rows, "ck1"), xpt_chain(golden)
    assert [r["rev"] for r in theirs] == [r["rev"] for r in ours]
    assert theirs[0]["rev"] == repo.git("rev-parse", exp_ref(repo, "ck1"))
    assert [r["name"] for r in theirs] == ["ck1", None, None, None]
    assert [r["name"] for r in ours] == ["ck1", None, None, None]


def test_dvc2_reads_checkpoint_params_and_metrics(
    repo: TmpRepo, golden: TmpRepo, dvc2_oracle: DvcOracle
) -> None:
    theirs = chain_of(show_json(dvc2_oracle("exp", "show", "--json").stdout), "ck1")
    ours = xpt_chain(golden)
    assert [r["error"] for r in theirs] == [None] * 4
    assert [r["data"]["params"] for r in theirs] == [r["data"]["params"] for r in ours]
    assert [r["data"]["metrics"] for r in theirs] == [r["data"]["metrics"] for r in ours]
    assert [r["data"]["metrics"]["metrics.json"]["data"] for r in ours] == [
        {"value": 3, "scaled": 6},
        {"value": 3, "scaled": 6},
        {"value": 2, "scaled": 4},
        {"value": 1, "scaled": 2},
    ]


def locks_of_chain(repo: TmpRepo, name: str) -> list[str]:
    tip = repo.git("rev-parse", exp_ref(repo, name))
    revs = repo.git("rev-list", "--first-parent", tip, "^HEAD").split()
    return [repo.git("show", f"{sha}:dvc.lock") for sha in revs]


def test_checkpoint_locks_are_the_bytes_dvc2_writes(
    goldens: Goldens, golden: TmpRepo, dvc2_oracle: DvcOracle
) -> None:
    by_dvc2 = goldens.get("ckpt-dvc2", build_ckpt_by_dvc2(dvc2_oracle))
    ours, theirs = locks_of_chain(golden, "ck1"), locks_of_chain(by_dvc2, "ck1")
    assert len(ours) == len(theirs) == 4
    assert ours == theirs
    assert (golden / "dvc.lock").read_bytes() == (by_dvc2 / "dvc.lock").read_bytes()
    assert "hash:" not in ours[0] and "- path: state\n      md5: " in ours[0]


def test_dvc3_reads_checkpoint_repo(repo: TmpRepo, golden: TmpRepo, dvc_oracle: DvcOracle) -> None:
    """DVC 3 reads the 2.x entries: status, exp show, and checkout from the legacy cache."""
    assert dvc_oracle("status", "--json").stdout.strip() == "{}"
    rows = show_json(dvc_oracle("exp", "show", "--json").stdout)
    theirs, ours = chain_of(rows, "ck1"), xpt_chain(golden)
    assert [r["rev"] for r in theirs] == [r["rev"] for r in ours]
    assert [r["error"] for r in theirs] == [None] * 4
    for field in ("params", "metrics"):
        assert [r["data"][field] for r in theirs] == [r["data"][field] for r in ours], field
    (repo / "state").unlink()
    dvc_oracle("checkout", "state")
    assert (repo / "state").read_text() == "3"


def test_xpt_reads_dvc2_checkpoint_repo(goldens: Goldens, xpt: Xpt, dvc2_oracle: DvcOracle) -> None:
    by_dvc2 = goldens.copy_folder("ckpt-dvc2", build_ckpt_by_dvc2(dvc2_oracle))
    theirs = chain_of(show_json((by_dvc2.parent / "dvc2-show.json").read_text()), "ck1")
    ours = chain_of(show_json(xpt("exp", "show", "--json").out), "ck1")
    assert [r["rev"] for r in ours] == [r["rev"] for r in theirs]
    for field in ("params", "metrics"):
        assert [r["data"][field] for r in ours] == [r["data"][field] for r in theirs], field
    assert xpt("status").out.strip() == "Data and pipelines are up to date."


def test_xpt_chain_is_the_chain_dvc2_makes(
    goldens: Goldens, golden: TmpRepo, dvc2_oracle: DvcOracle
) -> None:
    """DVC 2 running the same experiment: as many commits, the same data at each."""
    by_dvc2 = goldens.get("ckpt-dvc2", build_ckpt_by_dvc2(dvc2_oracle))
    rows = show_json((by_dvc2.parent / "dvc2-show.json").read_text())
    theirs, ours = chain_of(rows, "ck1"), xpt_chain(golden)
    assert [r["name"] for r in ours] == [r["name"] for r in theirs]
    for field in ("params", "metrics"):
        assert [r["data"][field] for r in ours] == [r["data"][field] for r in theirs], field
    assert rows[1]["data"]["meta"] == {"has_checkpoints": True}
