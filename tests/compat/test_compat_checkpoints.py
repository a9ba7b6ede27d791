"""Checkpoints: DVC 2.58.2 (the last release with checkpoints) reads xpt's checkpoint chains.

xpt writes DVC 3 lock entries (`hash: md5`) in checkpoint commits too, and DVC 2's lock
schema rejects that key, so DVC 2 sees the chain but no data of its commits. The last test
shows that this is the only obstacle: once the chain is rewritten with 2.x-shaped lock
entries (the `hash: md5` lines dropped), DVC 2 sees the params and metrics xpt shows.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
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


@pytest.mark.xfail(
    reason="format limit, not a slip: xpt writes DVC 3 lock entries (`hash: md5`) in "
    "checkpoint commits; DVC 2.58's lock schema rejects the key (YAMLValidationError), "
    "so every checkpoint rev has data null. Needs a 2.x lock dialect for checkpoint runs",
    strict=True,
)
def test_dvc2_reads_checkpoint_params_and_metrics(
    repo: TmpRepo, golden: TmpRepo, dvc2_oracle: DvcOracle
) -> None:
    theirs = chain_of(show_json(dvc2_oracle("exp", "show", "--json").stdout), "ck1")
    ours = xpt_chain(golden)
    assert [(r["error"], r["data"] and r["data"]["params"]) for r in theirs] == [
        (None, r["data"]["params"]) for r in ours
    ]


def rewrite_with_2x_locks(repo: Path, ref: str, base: str) -> None:
    """Rebuild the commits of `ref` above `base` with the `hash: md5` lines of dvc.lock dropped."""

    def git(*args: str, data: bytes | None = None, env: dict[str, str] | None = None) -> str:
        res = subprocess.run(
            ["git", *args], cwd=repo, input=data, capture_output=True, check=True,
            env={**os.environ, **(env or {})},
        )  # fmt: skip
        return res.stdout.decode().strip()

    parent = git("rev-parse", base)
    for sha in git("rev-list", "--reverse", "--first-parent", ref, f"^{base}").split():
        entries = []
        for line in git("ls-tree", sha).splitlines():
            meta, name = line.split("\t", 1)
            if name == "dvc.lock":
                mode, kind, blob = meta.split()
                lines = git("cat-file", "blob", blob).splitlines()
                text = "".join(f"{ln}\n" for ln in lines if ln.strip() != "hash: md5")
                line = f"{mode} {kind} {git('hash-object', '-w', '--stdin', data=text.encode())}\t{name}"
            entries.append(line)
        tree = git("mktree", data="".join(f"{e}\n" for e in entries).encode())
        fields = git("log", "-1", "--format=%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B", sha)
        *who, message = fields.split("\0")
        keys = ("AUTHOR_NAME", "AUTHOR_EMAIL", "AUTHOR_DATE", "COMMITTER_NAME", "COMMITTER_EMAIL")
        env = {f"GIT_{k}": v for k, v in zip((*keys, "COMMITTER_DATE"), who, strict=True)}
        parent = git("commit-tree", tree, "-p", parent, "-m", message, env=env)
    git("update-ref", ref, parent)


def test_dvc2_reads_chain_with_2x_shaped_locks(
    repo: TmpRepo, golden: TmpRepo, dvc2_oracle: DvcOracle
) -> None:
    rewrite_with_2x_locks(repo, exp_ref(repo, "ck1"), "HEAD")
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
