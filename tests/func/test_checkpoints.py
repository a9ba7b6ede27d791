"""End-to-end tests of checkpoint experiments (DVC 2.x protocol)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.func.test_exp_run import exp_refs
from tests.helpers import TmpRepo

TRAIN_PY = """\
import os, shutil, sys
from xpt.api import make_checkpoint

path, n = sys.argv[1], int(sys.argv[2])
value = int(open(path).read()) if os.path.exists(path) else 0
shutil.copyfile(sys.argv[3], sys.argv[4])
if os.environ.get("DVC_CHECKPOINT"):
    for _ in range(n):
        value += 1
        open(path, "w").write(str(value))
        make_checkpoint()
        if os.environ.get("CRASH_AT") == str(value):
            sys.exit(7)
        if os.environ.get("HANG_AT") == str(value):
            import time; time.sleep(120)  # killed from outside meanwhile
"""

SHELL_TRAIN = """\
#!/bin/sh
v=$(cat foo 2>/dev/null || echo 0)
for i in 1 2; do
  v=$((v+1)); echo $v > foo
  touch "$DVC_ROOT/.dvc/tmp/DVC_CHECKPOINT"
  while [ -e "$DVC_ROOT/.dvc/tmp/DVC_CHECKPOINT" ]; do sleep 0.01; done
done
cp params.yaml metrics.yaml
"""


def dvc_yaml(cmd: str) -> str:
    return (
        "stages:\n  train:\n"
        f"    cmd: {cmd}\n"
        "    deps: [train.py]\n    params: [foo]\n"
        "    outs:\n    - foo:\n        checkpoint: true\n"
        "    metrics:\n    - metrics.yaml:\n        cache: false\n"
    )


@pytest.fixture
def f5(project: TmpRepo) -> TmpRepo:
    project.gen(
        {
            "train.py": TRAIN_PY,
            "params.yaml": "foo: 1\n",
            "dvc.yaml": dvc_yaml("python train.py foo 2 params.yaml metrics.yaml"),
        }
    )
    project.commit("F5")
    return project


def chain(repo: TmpRepo, sha: str) -> list[str]:
    head = repo.git("rev-parse", "HEAD")
    return repo.git("rev-list", "--first-parent", sha, f"^{head}").split()


def test_repro_refuses_checkpoint_stage(f5: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    res = xpt("repro", ok=False)
    assert "exp run" in res.err


def test_first_run_commits_each_checkpoint(f5: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    res = xpt("exp", "run", "-S", "foo=2")
    assert res.out.count("Checkpoint experiment iteration") == 3
    ((ref, sha),) = exp_refs(f5).items()
    commits = chain(f5, sha)
    assert len(commits) == 3
    assert [f5.git("show", f"{c}:metrics.yaml") for c in commits][0] == "foo: 2"
    assert (f5 / "foo").read_text() == "2"
    rows = json.loads(xpt("exp", "show", "--json").out)
    exp = rows[1]["experiments"][0]
    assert [r["rev"] for r in exp["revs"]] == commits
    assert exp["revs"][0]["name"] and exp["revs"][1]["name"] is None
    assert rows[1]["data"]["meta"]["has_checkpoints"] is True


def test_resume_then_force_starts_over(f5: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "-S", "foo=2")
    xpt("exp", "run", "-n", "ignored")
    refs = exp_refs(f5)
    assert len(refs) == 1
    ((_ref, sha),) = refs.items()
    assert len(chain(f5, sha)) == 6
    assert (f5 / "foo").read_text() == "4"
    xpt("exp", "run", "-f", "-n", "fresh")
    refs = exp_refs(f5)
    assert len(refs) == 2
    fresh = [s for r, s in refs.items() if r.endswith("/fresh")][0]
    assert len(chain(f5, fresh)) == 3
    assert (f5 / "foo").read_text() == "2"


def test_crash_keeps_checkpoints(f5: TmpRepo, xpt, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CRASH_AT", "1")
    xpt("exp", "run", ok=False)
    ((_ref, sha),) = exp_refs(f5).items()
    assert len(chain(f5, sha)) == 1
    monkeypatch.delenv("CRASH_AT")
    xpt("exp", "run")
    ((_ref, sha2),) = exp_refs(f5).items()
    assert len(chain(f5, sha2)) == 4
    assert (f5 / "foo").read_text() == "3"


def test_killed_run_keeps_checkpoints_and_resumes(f5: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    """SIGKILL of xpt and its stage after 2 checkpoints: both stay; the next run resumes."""
    env = {**os.environ, "HANG_AT": "2"}
    proc = subprocess.Popen(
        [sys.executable, "-P", "-m", "xpt", "exp", "run"],
        cwd=f5,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not any(len(chain(f5, sha)) >= 2 for sha in exp_refs(f5).values()):
            assert proc.poll() is None, "exp run ended before it was killed"
            assert time.monotonic() < deadline, "no second checkpoint within 60 s"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    ((_ref, sha),) = exp_refs(f5).items()
    assert len(chain(f5, sha)) == 2
    xpt("exp", "run")  # the dead run's lock is stale: the resume starts at once
    ((_ref, sha2),) = exp_refs(f5).items()
    assert chain(f5, sha2)[-2:] == chain(f5, sha)  # built on the killed run's checkpoints
    assert len(chain(f5, sha2)) == 5  # 2 kept + 2 new checkpoints + the final commit
    assert (f5 / "foo").read_text() == "4"


def test_shell_script_signal_file(project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    project.gen(
        {"train.py": SHELL_TRAIN, "params.yaml": "foo: 1\n", "dvc.yaml": dvc_yaml("sh train.py")}
    )
    project.commit("shell")
    xpt("exp", "run")
    ((_ref, sha),) = exp_refs(project).items()
    assert len(chain(project, sha)) == 3


def test_queued_checkpoint_runs(f5: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "--queue", "-S", "foo=3", "-n", "qa")
    xpt("exp", "run", "--queue", "-S", "foo=4", "-n", "qb")
    xpt("exp", "run", "--run-all", "-j", "2")
    refs = exp_refs(f5)
    assert len(refs) == 2
    for sha in refs.values():
        assert len(chain(f5, sha)) == 3


def test_rev_resumes_from_chosen_checkpoint(f5: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "-n", "base")
    ((_ref, tip),) = exp_refs(f5).items()
    first = chain(f5, tip)[-1]
    xpt("exp", "run", "--rev", first, "-n", "fork")
    refs = {r.rsplit("/", 1)[1]: s for r, s in exp_refs(f5).items()}
    assert set(refs) == {"base", "fork"}
    fork_chain = f5.git("rev-list", "--first-parent", refs["fork"], f"^{first}").split()
    assert len(fork_chain) == 3
    assert f5.git("rev-parse", f"{fork_chain[-1]}^") == first
    assert (f5 / "foo").read_text() == "3"
    xpt("exp", "run", "--rev", "base")
    assert len(chain(f5, exp_refs(f5)[_ref])) == 6
    xpt("exp", "run", "--rev", "base", "-f", ok=False)
    xpt("exp", "run", "--rev", "nope", ok=False)
