"""A running queue entry seen live: `queue status` progress and devices, `queue logs -f`.

The training script logs the way dvclive does (`dvclive/metrics.json` rewritten at
every step, declared as the pipeline's metrics) and then waits at a gate file, so the
test can look at the entry while it runs.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import TmpRepo

TRAIN_PY = """\
import json, os, time
import yaml
lr = yaml.safe_load(open("params.yaml"))["train"]["lr"]
os.makedirs("dvclive", exist_ok=True)
for step in range(3):
    print(f"step {step} loss {1 / (step + 1) * lr:.3f}", flush=True)
    with open("dvclive/metrics.json.tmp", "w") as f:
        json.dump({"loss": 1 / (step + 1) * lr, "acc": step / 10, "step": step}, f)
    os.replace("dvclive/metrics.json.tmp", "dvclive/metrics.json")
gate = os.environ["TEST_GATE"]
while not os.path.exists(gate):
    time.sleep(0.05)
print("training done", flush=True)
open("model.txt", "w").write(str(lr))
"""

DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    deps: [train.py]
    params: [train]
    outs: [model.txt]
metrics:
- dvclive/metrics.json
"""


@pytest.fixture
def live(project: TmpRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A dvclive-style project; returns the gate file that lets training finish."""
    gate = tmp_path / "gate"
    monkeypatch.setenv("TEST_GATE", str(gate))
    project.gen({"train.py": TRAIN_PY, "params.yaml": "train:\n  lr: 0.5\n", "dvc.yaml": DVC_YAML})
    project.commit("dvclive-style training")
    return gate


def _rows(xpt) -> dict[str, dict]:  # type: ignore[no-untyped-def,type-arg]
    return {r["name"]: r for r in json.loads(xpt("queue", "status", "--json").out)}


def _until(xpt, pred, timeout: float = 60.0) -> dict[str, dict]:  # type: ignore[no-untyped-def,type-arg]
    deadline = time.time() + timeout
    rows: dict[str, dict] = {}  # type: ignore[type-arg]
    while time.time() < deadline:
        rows = _rows(xpt)
        if pred(rows):
            return rows
        time.sleep(0.1)
    raise AssertionError(f"timed out; queue: {rows}")


def test_status_shows_latest_step_metric_and_devices(live: Path, project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "--queue", "-n", "live")
    xpt("queue", "start", "--gpus", "2,3", "--gpus-per-exp", "2")
    try:
        rows = _until(xpt, lambda r: ((r["live"].get("progress") or {}).get("step")) == 2)
        row = rows["live"]
        assert row["status"] == "Running" and row["devices"] == ["2", "3"]
        assert row["progress"] == {
            "path": "dvclive/metrics.json",
            "step": 2,
            "metrics": {"loss": pytest.approx(0.5 / 3), "acc": 0.2},
        }
        table = xpt("queue", "status").out
        header, line = table.splitlines()[0], table.splitlines()[1]
        assert header.split() == ["Task", "Name", "Created", "Status", "Devices", "Progress"]
        assert line.split()[-5:] == ["Running", "2,3", "step", "2,", "loss=0.1667"]
        shown = json.loads(xpt("exp", "show", "--json").out)
        running = [e for b in shown for e in (b.get("experiments") or []) if e["name"] == "live"]
        assert running[0]["executor"]["state"] == "running"
        assert running[0]["executor"]["devices"] == ["2", "3"]
        assert "Xpt-queue (GPU 2,3)" in xpt("exp", "show", "--no-pager").out
    finally:
        live.write_text("open\n")
    rows = _until(xpt, lambda r: r["live"]["status"] == "Success")
    assert "progress" not in rows["live"]  # finished entries have no live progress


def test_logs_follow_streams_until_the_end(live: Path, project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "--queue", "-n", "follow")
    xpt("queue", "start")
    _until(xpt, lambda r: r["follow"]["status"] == "Running")
    proc = subprocess.Popen(
        [sys.executable, "-P", "-m", "xpt", "queue", "logs", "-f", "follow"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), False)
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    seen = b""
    try:
        deadline = time.time() + 60
        while b"step 2 loss" not in seen and time.time() < deadline:
            sel.select(timeout=0.5)
            seen += proc.stdout.read() or b""
        assert b"step 2 loss 0.167" in seen  # streamed while the stage still runs
        assert b"training done" not in seen and proc.poll() is None
        live.write_text("open\n")
        out, err = proc.communicate(timeout=60)  # ends by itself once the experiment ends
    finally:
        live.write_text("open\n")
        if proc.poll() is None:
            proc.kill()
    text = (seen + out).decode()
    assert proc.returncode == 0, err
    assert text.index("step 0") < text.index("training done") < text.index("Ran experiment(s)")
