"""Live metrics: a running experiment (workspace or queued) shows in `exp show` with the
metrics it has written so far, read from its workspace (DVC's --json shape)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import TmpRepo

GATED_PY = """\
import json, os, time
json.dump({"step": 1, "acc": 0.1}, open("metrics.json", "w"))
gate = os.environ["XPT_TEST_GATE"]
while not os.path.exists(gate):
    time.sleep(0.05)
json.dump({"step": 2, "acc": 0.2}, open("metrics.json", "w"))
"""

DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    deps: [train.py]
    params: [foo]
    metrics:
    - metrics.json:
        cache: false
"""


@pytest.fixture
def gated(project: TmpRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose stage writes step 1, waits for the returned gate file, writes step 2."""
    project.gen({"train.py": GATED_PY, "params.yaml": "foo: 1\n", "dvc.yaml": DVC_YAML})
    project.commit("gated pipeline")
    gate = tmp_path / "gate"
    monkeypatch.setenv("XPT_TEST_GATE", str(gate))
    return gate


def _until(xpt: Any, pred: Callable[[Any], Any], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = pred(json.loads(xpt("exp", "show", "--json").out))
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("exp show never showed the running experiment")


def _running(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    for exp in rows[-1]["experiments"] or []:
        if (exp.get("executor") or {}).get("state") == "running":
            metrics = exp["revs"][0]["data"]["metrics"]
            if "data" in metrics.get("metrics.json", {}):
                return exp  # type: ignore[no-any-return]
    return None


def test_workspace_run_shows_running_with_live_metrics(
    gated: Path, project: TmpRepo, xpt, xpt_cmd
) -> None:  # type: ignore[no-untyped-def]
    proc = subprocess.Popen(
        [str(xpt_cmd.exe), "exp", "run", "-S", "foo=3", "-n", "live"],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        exp = _until(xpt, _running)
        assert exp["name"] == "live"
        assert exp["executor"] == {
            "state": "running",
            "name": "workspace",
            "local": {
                "root": str(project),
                "log": None,
                "pid": proc.pid,
                "returncode": None,
                "task_id": None,
            },
        }
        (rev,) = exp["revs"]
        assert (rev["rev"], rev["name"], rev["data"]["rev"]) == ("workspace", "live", "workspace")
        assert rev["data"]["metrics"]["metrics.json"]["data"] == {"step": 1, "acc": 0.1}
        assert rev["data"]["params"]["params.yaml"]["data"] == {"foo": 3}
        table = xpt("exp", "show", "--md").out
        assert "Running" in table and "Workspace" in table
    finally:
        gated.touch()
        assert proc.wait(timeout=60) == 0
    rows = json.loads(xpt("exp", "show", "--json").out)
    (done,) = rows[-1]["experiments"]
    assert done["executor"] is None and done["name"] == "live"
    assert done["revs"][0]["data"]["metrics"]["metrics.json"]["data"] == {"step": 2, "acc": 0.2}


def test_stale_marker_of_a_killed_run_is_ignored(gated: Path, project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    marker = project / ".dvc" / "tmp" / "xpt" / "active.json"
    marker.parent.mkdir(parents=True, exist_ok=True)
    head = project.git("rev-parse", "HEAD")
    marker.write_text(json.dumps({"name": "ghost", "baseline": head, "pid": os.getpid()}))
    rows = json.loads(xpt("exp", "show", "--json").out)
    assert rows[-1]["experiments"] is None  # the workspace lock is free: nothing runs


def test_queued_run_shows_running_with_metrics_from_its_workspace(
    gated: Path, project: TmpRepo, xpt, xpt_cmd
) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "--queue", "-S", "foo=4", "-n", "qlive")
    proc = subprocess.Popen(
        [str(xpt_cmd.exe), "exp", "run", "--run-all"],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        exp = _until(xpt, _running)
        assert exp["name"] == "qlive"
        root = exp["executor"]["local"]["root"]
        assert root.startswith(str(project / ".dvc" / "tmp" / "xpt" / "ws"))
        data = exp["revs"][0]["data"]
        assert data["metrics"]["metrics.json"]["data"] == {"step": 1, "acc": 0.1}
        assert data["params"]["params.yaml"]["data"] == {"foo": 4}
    finally:
        gated.touch()
        assert proc.wait(timeout=60) == 0
    rows = json.loads(xpt("exp", "show", "--json").out)
    (done,) = rows[-1]["experiments"]
    assert done["name"] == "qlive" and done["executor"] is None


def test_killed_workspace_run_is_no_longer_shown_running(
    gated: Path, project: TmpRepo, xpt, xpt_cmd
) -> None:  # type: ignore[no-untyped-def]
    import signal

    proc = subprocess.Popen(
        [str(xpt_cmd.exe), "exp", "run", "-n", "doomed"],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _until(xpt, _running)
        _until(xpt, _running)  # asked twice: nothing memoised may replay it later
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    rows = json.loads(xpt("exp", "show", "--json").out)
    assert rows[-1]["experiments"] is None
    assert (project / ".dvc" / "tmp" / "xpt" / "active.json").exists()  # stale, ignored
