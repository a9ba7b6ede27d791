"""A dvclive-style training project for the `xpt ui` tests and bench, and `UiServer`.

`train.py` logs one step per epoch the way dvclive does: it rewrites
`dvclive/metrics.json` (`step`, `acc`, `loss`) and appends to
`dvclive/plots/metrics/acc.tsv`, sleeping `train.delay` seconds after each step, so a
queued run with a delay is a running experiment whose metrics move. `UiServer` runs
`xpt ui` as a real subprocess on a free loopback port.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

TRAIN_PY = """\
import json, os, re, time
text = open("params.yaml").read()
p = {k: float(v) for k, v in re.findall(r"^  (\\w+): ([0-9.]+)$", text, re.M)}
os.makedirs("dvclive/plots/metrics", exist_ok=True)
with open("dvclive/plots/metrics/acc.tsv", "w") as f:
    f.write("step\\tacc\\n")
for step in range(int(p["epochs"])):
    acc = round(1 - 1 / (2 + p["lr"] * 10 * (step + 1)), 6)
    with open("dvclive/plots/metrics/acc.tsv", "a") as f:
        f.write(f"{step}\\t{acc}\\n")
    with open("dvclive/metrics.json.tmp", "w") as f:
        json.dump({"step": step, "acc": acc, "loss": round(1 - acc, 6)}, f)
    os.replace("dvclive/metrics.json.tmp", "dvclive/metrics.json")
    print(f"step {step}: acc {acc}", flush=True)
    time.sleep(p["delay"])
"""

DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    deps: [train.py]
    params: [train]
    metrics:
    - dvclive/metrics.json:
        cache: false
    plots:
    - dvclive/plots/metrics:
        cache: false
        x: step
"""


def params(lr: float = 0.1, epochs: int = 3, delay: float = 0) -> str:
    return f"# training settings\ntrain:\n  lr: {lr}\n  epochs: {epochs}\n  delay: {delay}\n"


def files() -> dict[str, Any]:
    """The project's files before its first run."""
    return {"train.py": TRAIN_PY, "dvc.yaml": DVC_YAML, "params.yaml": params()}


class UiServer:
    """`xpt ui --no-open --port 0` in `root`, as a subprocess; `url` once it listens."""

    def __init__(self, root: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-P", "-m", "xpt", "ui", "--no-open", "--port", "0", *args],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if " at http://" not in line:
            self.proc.kill()
            raise AssertionError(f"xpt ui did not start: {line!r} {self.proc.stderr.read()!r}")  # type: ignore[union-attr]
        self.url = line.split(" at ", 1)[1].split(" ", 1)[0]

    def stop(self) -> tuple[int, str, str]:
        """Ctrl-C the server; (exit code, rest of stdout, stderr)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        out, err = self.proc.communicate(timeout=15)
        return self.proc.returncode, out, err

    def __enter__(self) -> UiServer:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
