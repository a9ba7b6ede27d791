"""`exp run --queue/--temp --rev`: a queued run continues from a chosen checkpoint."""

from __future__ import annotations

import hashlib
import json

from tests.func import test_checkpoints
from tests.func.test_checkpoints import chain
from tests.func.test_exp_run import exp_refs
from tests.helpers import TmpRepo

f5 = test_checkpoints.f5  # the F5 fixture


def by_name(repo: TmpRepo) -> dict[str, str]:
    return {ref.rsplit("/", 1)[1]: sha for ref, sha in exp_refs(repo).items()}


def foo_md5_at(repo: TmpRepo, sha: str) -> str:
    """md5 dvc.lock records for the checkpoint output `foo` at commit `sha`."""
    lock = repo.git("show", f"{sha}:dvc.lock")
    return lock.split("- path: foo\n", 1)[1].split("md5: ", 1)[1].split("\n", 1)[0]


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def test_queue_rev_head_appends_to_the_same_ref(f5: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "-n", "base")
    tip = by_name(f5)["base"]
    res = xpt("exp", "run", "--queue", "--rev", "base")
    assert "Queued experiment 'base'" in res.out
    assert (f5 / "foo").read_text() == "2"  # the workspace is not touched
    xpt("exp", "run", "--run-all")
    refs = by_name(f5)
    assert set(refs) == {"base"}
    commits = chain(f5, refs["base"])
    assert len(commits) == 6
    new = f5.git("rev-list", "--first-parent", refs["base"], f"^{tip}").split()
    assert len(new) == 3 and f5.git("rev-parse", f"{new[-1]}^") == tip
    assert foo_md5_at(f5, refs["base"]) == md5("4")
    assert foo_md5_at(f5, new[-1]) == md5("3")


def test_queue_rev_checkpoint_forks_with_overrides(f5: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "-n", "base")
    base_tip = by_name(f5)["base"]
    first = chain(f5, base_tip)[-1]
    xpt("exp", "run", "--queue", "--rev", first[:7], "-S", "foo=5", "-n", "fork")
    rows = json.loads(xpt("exp", "show", "--json").out)
    queued = [e for e in rows[1]["experiments"] if e["name"] == "fork"]
    assert queued[0]["revs"][0]["data"]["params"]["params.yaml"]["data"] == {"foo": 5}
    xpt("exp", "run", "--run-all")
    refs = by_name(f5)
    assert refs["base"] == base_tip
    forked = f5.git("rev-list", "--first-parent", refs["fork"], f"^{first}").split()
    assert len(forked) == 3 and f5.git("rev-parse", f"{forked[-1]}^") == first
    assert foo_md5_at(f5, refs["fork"]) == md5("3")
    assert f5.git("show", f"{refs['fork']}:params.yaml") == "foo: 5"
    assert f5.git("show", f"{refs['fork']}:metrics.yaml") == "foo: 5"


def test_queue_rev_sweep_forks_one_experiment_each(f5: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "-n", "base")
    tip = by_name(f5)["base"]
    xpt("exp", "run", "--queue", "--rev", "base", "-S", "foo=7,8")
    xpt("exp", "run", "--run-all", "-j", "2")
    refs = by_name(f5)
    assert refs["base"] == tip and len(refs) == 3
    for name, sha in refs.items():
        if name != "base":
            assert f5.git("merge-base", sha, tip) == tip
            assert foo_md5_at(f5, sha) == md5("4")


def test_temp_rev_runs_at_once(f5: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "-n", "base")
    xpt("exp", "run", "--temp", "--rev", "base")
    assert len(chain(f5, by_name(f5)["base"])) == 6


def test_queued_checkpoint_run_without_rev_starts_over(f5: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "-n", "base")
    xpt("exp", "run", "--queue", "-n", "again")
    xpt("exp", "run", "--run-all")
    again = by_name(f5)["again"]
    assert len(chain(f5, again)) == 3
    assert foo_md5_at(f5, again) == md5("2")


def test_queue_rev_errors(f5: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "-n", "base")
    res = xpt("exp", "run", "--queue", "--rev", "base", "--reset", ok=False)
    assert "cannot be combined" in res.err
    assert "nope" in xpt("exp", "run", "--queue", "--rev", "nope", ok=False).err
    assert "--run-all" in xpt("exp", "run", "--run-all", "--rev", "base", ok=False).err
    xpt("exp", "run", "--queue", "--rev", "base")
    assert "already queued" in xpt("exp", "run", "--queue", "--rev", "base", ok=False).err
    xpt("queue", "remove", "base")
    dvc_yaml = (f5 / "dvc.yaml").read_text()
    f5.gen({"dvc.yaml": dvc_yaml.replace("checkpoint: true", "persist: true")})
    res = xpt("exp", "run", "--queue", "--rev", "base", ok=False)
    assert "no stage has a checkpoint output" in res.err
    assert "base" not in xpt("queue", "status").out
