"""End-to-end tests of the local queue: --queue, --run-all -j, queue subcommands, faults."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.func.test_exp_run import exp_refs, show_at
from tests.helpers import TmpRepo

FAILING_COPY = (
    "import shutil, sys\n"
    "if open(sys.argv[1]).read().strip() == 'foo: 13':\n"
    "    print('boom: foo is 13'); sys.exit(3)\n"
    "shutil.copyfile(sys.argv[1], sys.argv[2])\n"
)


def names(repo: TmpRepo) -> dict[str, str]:
    return {ref.rsplit("/", 1)[1]: sha for ref, sha in exp_refs(repo).items()}


def test_queue_does_not_touch_workspace(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    res = xpt("exp", "run", "--queue", "-S", "foo=2", "-n", "q2")
    assert "Queued" in res.out
    assert (f1 / "params.yaml").read_text() == "foo: 1\n"
    assert exp_refs(f1) == {}
    rows = json.loads(xpt("queue", "status", "--json").out)
    assert [(r["name"], r["status"]) for r in rows] == [("q2", "Queued")]
    shown = json.loads(xpt("exp", "show", "--json").out)
    queued = shown[1]["experiments"]
    assert queued[0]["executor"]["state"] == "queued"
    assert queued[0]["revs"][0]["data"]["params"]["params.yaml"]["data"] == {"foo": 2}
    import xpt.api

    assert json.loads(json.dumps(xpt.api.exp_show(f1))) == shown  # the API sees the queue too


def test_run_all_fifo_failure_isolated(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    (f1 / "copy.py").write_text(FAILING_COPY)
    f1.commit("failing at 13")
    for val in (2, 13, 4):
        xpt("exp", "run", "--queue", "-S", f"foo={val}", "-n", f"q{val}")
    res = xpt("exp", "run", "--run-all", ok=False)
    assert "q13" in res.err
    got = names(f1)
    assert set(got) == {"q2", "q4"}
    assert show_at(f1, got["q4"], "metrics.yaml") == "foo: 4"
    assert (f1 / "params.yaml").read_text() == "foo: 1\n"
    rows = {r["name"]: r["status"] for r in json.loads(xpt("queue", "status", "--json").out)}
    assert rows == {"q2": "Success", "q13": "Failed", "q4": "Success"}
    memo = sqlite3.connect(f1 / ".dvc" / "tmp" / "xpt" / "state.db")
    try:  # the runs' temporary workspaces are gone, and so are their memo rows
        paths = [p for (p,) in memo.execute("SELECT path FROM memo")]
    finally:
        memo.close()
    assert not [p for p in paths if "/.dvc/tmp/xpt/ws/" in p]
    log = xpt("queue", "logs", "q13").out
    assert "boom: foo is 13" in log
    shown = json.loads(xpt("exp", "show", "--json").out)
    failed = [
        e for e in shown[1]["experiments"] if e["executor"] and e["executor"]["state"] == "failed"
    ]
    assert failed and failed[0]["name"] == "q13"
    xpt("queue", "remove", "--failed")
    assert [r["name"] for r in json.loads(xpt("queue", "status", "--json").out)] == ["q2", "q4"]


def test_sweep_queues_cartesian_product(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    f1.gen({"params.yaml": "foo: 1\nbar: 0\n"})
    f1.commit("bar")
    xpt("exp", "run", "--queue", "-S", "foo=1,2", "-S", "bar=range(10,30,10)", "-n", "grid")
    rows = json.loads(xpt("queue", "status", "--json").out)
    assert [r["name"] for r in rows] == ["grid-1", "grid-2", "grid-3", "grid-4"]
    xpt("exp", "run", "--run-all", "-j", "2")
    got = names(f1)
    assert show_at(f1, got["grid-1"], "params.yaml") == "foo: 1\nbar: 10"
    assert show_at(f1, got["grid-4"], "params.yaml") == "foo: 2\nbar: 20"


def test_duplicate_queued_name_refused(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "--queue", "-S", "foo=4", "-n", "twin")
    res = xpt("exp", "run", "--queue", "-S", "foo=5", "-n", "twin", ok=False)
    assert "twin" in res.err
    assert len(json.loads(xpt("queue", "status", "--json").out)) == 1


def test_queue_snapshot_at_queue_time(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    f1.gen(
        {
            "data.txt": "v1\n",
            "dvc.yaml": (f1 / "dvc.yaml").read_text()
            + "  d:\n    cmd: cp data.txt d.txt\n    deps: [data.txt]\n    outs:\n    - d.txt:\n        cache: false\n",
        }
    )
    xpt("repro")
    f1.commit("data")
    (f1 / "data.txt").write_text("v2\n")
    xpt("exp", "run", "--queue", "-n", "A")
    (f1 / "data.txt").write_text("v3\n")
    xpt("exp", "run", "--queue", "-n", "B")
    (f1 / "data.txt").write_text("v1\n")
    xpt("exp", "run", "--run-all", "-j", "2")
    got = names(f1)
    assert show_at(f1, got["A"], "d.txt") == "v2"
    assert show_at(f1, got["B"], "d.txt") == "v3"
    assert (f1 / "data.txt").read_text() == "v1\n"


def test_temp_leaves_workspace(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "--temp", "-S", "foo=2", "-n", "tmp")
    assert (f1 / "params.yaml").read_text() == "foo: 1\n"
    assert show_at(f1, names(f1)["tmp"], "params.yaml") == "foo: 2"


def test_parallel_runs_are_isolated_and_all_finish(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "--queue", "-S", "foo=range(0,12)")
    xpt("exp", "run", "--run-all", "-j", "4")
    got = names(f1)
    assert len(got) == 12
    values = sorted(show_at(f1, sha, "metrics.yaml") for sha in got.values())
    assert values == sorted(f"foo: {i}" for i in range(12))
    assert not os.listdir(f1 / ".dvc" / "tmp" / "xpt" / "ws")


def test_killed_experiment_becomes_failed_and_queue_continues(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    (f1 / "copy.py").write_text(
        "import shutil, sys, time\n"
        "if open(sys.argv[1]).read().strip() == 'foo: 9':\n    time.sleep(60)\n"
        "shutil.copyfile(sys.argv[1], sys.argv[2])\n"
    )
    f1.commit("slow at 9")
    xpt("exp", "run", "--queue", "-S", "foo=9", "-n", "slow")
    xpt("exp", "run", "--queue", "-S", "foo=3", "-n", "fast")
    proc = subprocess.Popen(
        [sys.executable, "-P", "-m", "xpt", "exp", "run", "--run-all", "-j", "2"], cwd=f1
    )
    deadline = time.time() + 20
    pid = None
    while time.time() < deadline:
        rows = {r["name"]: r for r in json.loads(xpt("queue", "status", "--json").out)}
        if rows["slow"]["status"] == "Running":
            from xpt.experiments.queue_db import State, open_queue
            from xpt.project import Project

            db = open_queue(Project(f1).xpt_dir)
            pid = [e.pid for e in db.entries((State.RUNNING,)) if e.name == "slow"][0]
            db.close()
            if pid != proc.pid:  # the worker records the child's pid right after forking
                break
        time.sleep(0.1)
    assert pid
    time.sleep(0.3)
    os.killpg(pid, signal.SIGKILL)
    assert proc.wait(timeout=30) != 0
    rows = {r["name"]: r["status"] for r in json.loads(xpt("queue", "status", "--json").out)}
    assert rows == {"slow": "Failed", "fast": "Success"}


def test_stale_running_entry_is_not_shown_running(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    from xpt.experiments.queue_db import open_queue
    from xpt.project import Project

    xpt("exp", "run", "--queue", "-S", "foo=5", "-n", "ghost")
    db = open_queue(Project(f1).xpt_dir)
    entry = db.claim(999999)
    assert entry is not None
    db.close()
    rows = json.loads(xpt("queue", "status", "--json").out)
    assert rows[0]["status"] == "Failed"


@pytest.mark.slow
def test_hundred_trivial_experiments_j4(project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    project.gen(
        {
            "params.yaml": "foo: 0\n",
            "dvc.yaml": "stages:\n  s:\n    cmd: cp params.yaml m.yaml\n    params: [foo]\n    outs:\n    - m.yaml:\n        cache: false\n",
        }
    )
    project.commit("trivial")
    xpt("exp", "run", "--queue", "-S", "foo=range(0,100)")
    xpt("exp", "run", "--run-all", "-j", "4")
    assert len(names(project)) == 100
    rows = json.loads(xpt("queue", "status", "--json").out)
    assert len(rows) == 100 and all(r["status"] == "Success" for r in rows)


def _wait_states(xpt, want: dict[str, str], timeout: float = 30) -> dict[str, str]:  # type: ignore[no-untyped-def]
    deadline = time.time() + timeout
    rows: dict[str, str] = {}
    while time.time() < deadline:
        rows = {r["name"]: r["status"] for r in json.loads(xpt("queue", "status", "--json").out)}
        if all(rows.get(k) == v for k, v in want.items()):
            return rows
        time.sleep(0.1)
    return rows


def test_queue_start_detached_workers(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "--queue", "-S", "foo=5", "-n", "d5")
    xpt("exp", "run", "--queue", "-S", "foo=6", "-n", "d6")
    res = xpt("queue", "start", "-j", "2")
    assert "worker" in res.out
    rows = _wait_states(xpt, {"d5": "Success", "d6": "Success"})
    assert rows == {"d5": "Success", "d6": "Success"}
    assert set(names(f1)) == {"d5", "d6"}
    assert "Ran experiment" in xpt("queue", "logs", "d5").out
    xpt("queue", "logs", "nope", ok=False)


def test_queue_kill_running(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    (f1 / "copy.py").write_text(
        "import shutil, sys, time\n"
        "if open(sys.argv[1]).read().strip() == 'foo: 9':\n    time.sleep(60)\n"
        "shutil.copyfile(sys.argv[1], sys.argv[2])\n"
    )
    f1.commit("slow at 9")
    xpt("exp", "run", "--queue", "-S", "foo=9", "-n", "victim")
    xpt("exp", "run", "--queue", "-S", "foo=2", "-n", "after")
    xpt("queue", "start")
    _wait_states(xpt, {"victim": "Running"})
    xpt("queue", "kill", "after", ok=False)  # queued, not running
    xpt("queue", "kill", "victim")
    rows = _wait_states(xpt, {"victim": "Failed", "after": "Success"})
    assert rows == {"victim": "Failed", "after": "Success"}
    xpt("queue", "remove", "--all")
    assert json.loads(xpt("queue", "status", "--json").out) == []
    assert "after" in names(f1)
