"""End-to-end tests of `xpt exp run` in the workspace, and of the experiment commit."""

from __future__ import annotations

import json
import os
import threading
import time

from tests.helpers import TmpRepo


def exp_refs(repo: TmpRepo) -> dict[str, str]:
    out = repo.git("for-each-ref", "--format=%(refname) %(objectname)", "refs/exps")
    refs = {}
    for line in out.splitlines():
        name, sha = line.split()
        if "/exec/" not in name and "/apply/" not in name:
            refs[name] = sha
    return refs


def show_at(repo: TmpRepo, rev: str, path: str) -> str:
    return repo.git("show", f"{rev}:{path}")


def test_exp_run_records_commit_and_keeps_head(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    head = f1.git("rev-parse", "HEAD")
    branch = f1.git("symbolic-ref", "HEAD")
    res = xpt("exp", "run", "-S", "foo=2")
    refs = exp_refs(f1)
    assert len(refs) == 1
    ref, sha = next(iter(refs.items()))
    assert ref.startswith(f"refs/exps/{head[:2]}/{head[2:]}/exp-")
    assert f1.git("rev-parse", f"{sha}^") == head
    assert f1.git("log", "-1", "--format=%s", sha).startswith("dvc: commit experiment ")
    assert show_at(f1, sha, "params.yaml") == "foo: 2"
    assert show_at(f1, sha, "metrics.yaml") == "foo: 2"
    assert "foo: 2" in show_at(f1, sha, "dvc.lock")
    assert f1.git("rev-parse", "HEAD") == head
    assert f1.git("symbolic-ref", "HEAD") == branch
    assert (f1 / "metrics.yaml").read_text() == "foo: 2\n"
    assert "Ran experiment(s): " in res.out
    status = f1.git("status", "--porcelain")
    assert "params.yaml" in status and "metrics.yaml" in status


def test_named_experiment_and_clash(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "-n", "foo", "-S", "foo=2")
    res = xpt("exp", "run", "-n", "foo", "-S", "foo=3", ok=False)
    assert "already exists" in res.err
    assert (f1 / "params.yaml").read_text() == "foo: 2\n"
    xpt("exp", "run", "-n", "foo", "-S", "foo=3", "-f")
    head = f1.git("rev-parse", "HEAD")
    sha = f1.git("rev-parse", f"refs/exps/{head[:2]}/{head[2:]}/foo")
    assert show_at(f1, sha, "params.yaml") == "foo: 3"


def test_invalid_names_rejected(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    for bad in ("a/b", "fo^o", "a..b", "a~b", "a?b", "a*b", "abc.", "a b", "a:b", "main"):
        xpt("exp", "run", "-n", bad, ok=False)
    assert exp_refs(f1) == {}
    assert (f1 / "params.yaml").read_text() == "foo: 1\n"


def test_successive_runs_start_from_workspace(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "-S", "foo=2")
    xpt("exp", "run", "-n", "second")
    head = f1.git("rev-parse", "HEAD")
    sha = f1.git("rev-parse", f"refs/exps/{head[:2]}/{head[2:]}/second")
    assert show_at(f1, sha, "params.yaml") == "foo: 2"
    assert f1.git("rev-parse", f"{sha}^") == head


def test_unknown_key_changes_nothing(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    res = xpt("exp", "run", "-S", "bar=2", ok=False)
    assert "+bar=2" in res.err
    assert (f1 / "params.yaml").read_text() == "foo: 1\n"
    assert exp_refs(f1) == {}


def test_sweep_requires_queue(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    res = xpt("exp", "run", "-S", "foo=1,2", ok=False)
    assert "--queue" in res.err
    assert exp_refs(f1) == {}


def test_failed_run_records_nothing(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    (f1 / "copy.py").write_text(
        "import shutil, sys\nif open(sys.argv[1]).read().strip() == 'foo: 13': sys.exit(1)\n"
        "shutil.copyfile(sys.argv[1], sys.argv[2])\n"
    )
    f1.commit("failing")
    xpt("exp", "run", "-S", "foo=13", ok=False)
    assert exp_refs(f1) == {}
    assert (f1 / "params.yaml").read_text() == "foo: 13\n"


def test_dry_records_nothing(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "--dry", "-S", "foo=3")
    assert exp_refs(f1) == {}
    assert (f1 / "params.yaml").read_text() == "foo: 1\n"


def test_untracked_pipeline_files_included_unrelated_left_out(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    f1.gen({"untracked.txt": "x", "udir/f": "y", "data.txt": "d\n"})
    f1.gen(
        {
            "dvc.yaml": (f1 / "dvc.yaml").read_text()
            + "  extra:\n    cmd: cp data.txt extra.txt\n    deps: [data.txt]\n    outs:\n    - extra.txt:\n        cache: false\n"
        }
    )
    xpt("exp", "run")
    ((_ref, sha),) = exp_refs(f1).items()
    files = f1.git("ls-tree", "-r", "--name-only", sha).split()
    assert "data.txt" in files and "extra.txt" in files
    assert "untracked.txt" not in files and "udir/f" not in files
    assert (f1 / "untracked.txt").exists()
    assert not any(f.startswith(".dvc/tmp") for f in files)


def test_stage_env(project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    project.gen(
        {
            "dvc.yaml": "stages:\n  s:\n    cmd: env | grep ^DVC_ | sort > env.txt\n    outs:\n    - env.txt:\n        cache: false\n",
        }
    )
    project.commit("env")
    xpt("exp", "run", "-n", "envtest")
    env = dict(line.split("=", 1) for line in (project / "env.txt").read_text().splitlines())
    assert env["DVC_EXP_NAME"] == "envtest"
    assert env["DVC_EXP_BASELINE_REV"] == project.git("rev-parse", "HEAD")
    assert env["DVC_ROOT"] == str(project)


def test_second_run_while_running_fails_fast(project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    project.gen(
        {
            "params.yaml": "foo: 1\n",
            "dvc.yaml": "stages:\n  s:\n    cmd: sleep 2 && cp params.yaml out.yaml\n    params: [foo]\n    outs:\n    - out.yaml:\n        cache: false\n",
        }
    )
    project.commit("slow")
    first = subprocess.Popen(
        [sys.executable, "-P", "-m", "xpt", "exp", "run", "-S", "foo=2"], cwd=project
    )
    lock = project / ".dvc" / "tmp" / "xpt" / "workspace.lock"
    deadline = time.time() + 10
    while time.time() < deadline and not (lock.exists() and lock.read_text().strip()):
        time.sleep(0.05)
    res = xpt("exp", "run", "-S", "foo=3", ok=False)
    assert "busy" in res.err and "pid" in res.err
    assert first.wait(timeout=30) == 0
    assert (project / "params.yaml").read_text() == "foo: 2\n"
    assert len(exp_refs(project)) == 1
    _ = (threading, os, json)
