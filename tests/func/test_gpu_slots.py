"""GPU slots end to end: `--gpus`/`--gpus-per-exp` on `exp run --run-all` and `queue start`.

No GPU is needed: each experiment's stage writes the CUDA_VISIBLE_DEVICES it was given
and when it ran into its metrics file, and the tests check who held which device when.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.func.test_exp_run import exp_refs, show_at
from tests.helpers import TmpRepo

TRAIN_PY = """\
import json, os, sys, time
import yaml
params = yaml.safe_load(open("params.yaml"))
start = time.time()
time.sleep(params["train"]["seconds"])
json.dump(
    {"devices": os.environ.get("CUDA_VISIBLE_DEVICES"), "start": start, "end": time.time(),
     "lr": params["train"]["lr"]},
    open("gpu.json", "w"),
)
"""

DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    deps: [train.py]
    params: [train]
    metrics:
    - gpu.json:
        cache: false
"""


def _gpu_project(project: TmpRepo, seconds: float = 0.8) -> TmpRepo:
    project.gen(
        {
            "train.py": TRAIN_PY,
            "params.yaml": f"train:\n  lr: 0\n  seconds: {seconds}\n",
            "dvc.yaml": DVC_YAML,
        }
    )
    project.commit("gpu pipeline")
    return project


def _runs(repo: TmpRepo) -> dict[str, dict]:  # type: ignore[type-arg]
    """name -> what its stage recorded (devices, start, end)."""
    return {
        ref.rsplit("/", 1)[1]: json.loads(show_at(repo, sha, "gpu.json"))
        for ref, sha in exp_refs(repo).items()
    }


def _overlap(a: dict, b: dict) -> bool:  # type: ignore[type-arg]
    return bool(a["start"] < b["end"] and b["start"] < a["end"])


def _max_concurrent(runs: list[dict]) -> int:  # type: ignore[type-arg]
    return max(sum(1 for r in runs if r["start"] <= s["start"] < r["end"]) for s in runs)


def _check_disjoint(runs: dict[str, dict]) -> None:  # type: ignore[type-arg]
    items = list(runs.items())
    for i, (na, a) in enumerate(items):
        for nb, b in items[i + 1 :]:
            if _overlap(a, b):
                shared = set(a["devices"].split(",")) & set(b["devices"].split(","))
                assert not shared, f"{na} and {nb} ran at the same time on GPU {shared}"


def test_two_gpus_j2_one_device_each_never_shared(project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    _gpu_project(project)
    for lr in (1, 2, 3, 4):
        xpt("exp", "run", "--queue", "-S", f"train.lr={lr}", "-n", f"lr{lr}")
    res = xpt("exp", "run", "--run-all", "-j", "2", "--gpus", "0,1")
    assert "lr4" in res.out
    runs = _runs(project)
    assert set(runs) == {"lr1", "lr2", "lr3", "lr4"}
    assert all(r["devices"] in ("0", "1") for r in runs.values()), runs
    _check_disjoint(runs)
    assert _max_concurrent(list(runs.values())) == 2  # both slots were used at once
    rows = json.loads(xpt("queue", "status", "--json").out)
    assert sorted(r["devices"][0] for r in rows) == ["0", "0", "1", "1"]
    assert "CUDA_VISIBLE_DEVICES" not in os.environ  # only the children got devices


def test_gpus_per_exp_two_over_four_devices(project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    _gpu_project(project)
    xpt("exp", "run", "--queue", "-S", "train.lr=range(1,5)")
    xpt("exp", "run", "--run-all", "-j", "4", "--gpus", "0,1,2,3", "--gpus-per-exp", "2")
    runs = _runs(project)
    assert len(runs) == 4
    assert all(len(r["devices"].split(",")) == 2 for r in runs.values()), runs
    _check_disjoint(runs)
    assert _max_concurrent(list(runs.values())) == 2  # -j 4, but 4 devices ÷ 2 = 2 slots


def test_config_default_and_bad_input(project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    _gpu_project(project, seconds=0.0)
    xpt("config", "queue.gpus", "3")
    assert "gpus = 3" in (project / ".dvc" / "xpt.config").read_text()
    xpt("exp", "run", "--queue", "-S", "train.lr=range(1,3)")
    xpt("exp", "run", "--run-all", "-j", "2")
    assert [r["devices"] for r in _runs(project).values()] == ["3", "3"]
    bad = xpt("exp", "run", "--run-all", "--gpus", "0,zero", ok=False)
    assert "bad GPU list '0,zero'" in bad.err and "Traceback" not in bad.err
    bad = xpt("exp", "run", "--run-all", "--gpus", "0,1", "--gpus-per-exp", "3", ok=False)
    assert "asks for 3 GPUs but only 2" in bad.err
    bad = xpt("exp", "run", "--queue", "--gpus", "0", "-S", "train.lr=9", ok=False)
    assert "--run-all" in bad.err


def test_auto_detects_through_nvidia_smi_or_fails_clearly(  # type: ignore[no-untyped-def]
    project: TmpRepo, xpt, tmp_path: Path, monkeypatch
) -> None:
    _gpu_project(project, seconds=0.0)
    xpt("exp", "run", "--queue", "-S", "train.lr=range(1,3)")
    empty = tmp_path / "bin-empty"
    empty.mkdir()
    python_dir = os.path.dirname(sys.executable)
    monkeypatch.setenv("PATH", f"{empty}:{python_dir}:/usr/bin:/bin")
    if not any(Path(d, "nvidia-smi").exists() for d in ("/usr/bin", "/bin")):
        bad = xpt("exp", "run", "--run-all", "--gpus", "auto", ok=False)
        assert "no GPU found" in bad.err
        assert exp_refs(project) == {}  # nothing ran on the CPU instead
    smi = tmp_path / "bin-smi"
    smi.mkdir()
    (smi / "nvidia-smi").write_text(
        '#!/bin/sh\n[ "$1" = -L ] || exit 2\n'
        "echo 'GPU 0: NVIDIA A100 (UUID: GPU-aaaa)'\necho 'GPU 1: NVIDIA A100 (UUID: GPU-bbbb)'\n"
    )
    (smi / "nvidia-smi").chmod(0o755)
    monkeypatch.setenv("PATH", f"{smi}:{python_dir}:/usr/bin:/bin")
    xpt("exp", "run", "--run-all", "-j", "2", "--gpus", "auto")
    runs = _runs(project)
    assert sorted(r["devices"] for r in runs.values()) in (["0", "1"], ["0", "0"], ["1", "1"])


def _wait(xpt, pred, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = time.time() + timeout
    rows: dict = {}  # type: ignore[type-arg]
    while time.time() < deadline:
        rows = {r["name"]: r for r in json.loads(xpt("queue", "status", "--json").out)}
        if pred(rows):
            return rows
        time.sleep(0.1)
    raise AssertionError(f"timed out; queue: {rows}")


def test_killed_experiment_frees_its_device(project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    _gpu_project(project)
    xpt("exp", "run", "--queue", "-S", "train.seconds=60", "-n", "slow")
    xpt("exp", "run", "--queue", "-S", "train.seconds=0", "-n", "fast")
    proc = subprocess.Popen(
        [sys.executable, "-P", "-m", "xpt", "exp", "run", "--run-all", "-j", "2", "--gpus", "7"],
        cwd=project,
    )
    try:
        rows = _wait(xpt, lambda r: r["slow"]["status"] == "Running")
        assert rows["slow"]["devices"] == ["7"]
        time.sleep(0.5)  # one device: the second experiment waits for it
        rows = {r["name"]: r for r in json.loads(xpt("queue", "status", "--json").out)}
        assert rows["fast"]["status"] == "Queued"
        from xpt.experiments.queue_db import State, open_queue
        from xpt.project import Project

        db = open_queue(Project(project).xpt_dir)
        pid = None
        while not pid or pid == proc.pid:  # the worker records its child's pid after the fork
            pid = [e.pid for e in db.entries((State.RUNNING,)) if e.name == "slow"][0]
        db.close()
        os.killpg(pid, signal.SIGKILL)
        assert proc.wait(timeout=60) != 0
    finally:
        if proc.poll() is None:
            proc.kill()
    rows = {r["name"]: r for r in json.loads(xpt("queue", "status", "--json").out)}
    assert (rows["slow"]["status"], rows["fast"]["status"]) == ("Failed", "Success")
    assert _runs(project)["fast"]["devices"] == "7"


def test_two_workers_share_the_devices(project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    """Two detached workers on the same GPU never run on it at once (slots live in queue.db)."""
    _gpu_project(project, seconds=0.6)
    xpt("exp", "run", "--queue", "-S", "train.lr=range(1,5)")
    xpt("queue", "start", "--gpus", "5")
    res = xpt("queue", "start", "--gpus", "5")
    assert "on GPUs 5, 1 each" in res.out
    _wait(xpt, lambda r: len(r) == 4 and all(v["status"] == "Success" for v in r.values()), 60)
    runs = _runs(project)
    assert len(runs) == 4 and all(r["devices"] == "5" for r in runs.values())
    _check_disjoint(runs)
