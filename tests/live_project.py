"""A dvclive-style project laid out as real ones are (shared by func, compat tests and bench).

- `train.py` writes its results into the cached directory output `eval/`:
  `eval/metrics.json` and `eval/plots/loss.tsv`, declared in the top-level `metrics:` and
  `plots:` sections of `dvc.yaml` (with `params:` naming `config.json`);
- with `LIVE=1` it also logs like dvclive into `dvclive/` (git-tracked): `metrics.json`,
  `plots/metrics/acc.tsv`, and the nested `dvclive/dvc.yaml` declaring them.

Standard library only, so the same script runs under xpt's and the oracle's interpreter.
"""

from __future__ import annotations

from typing import Any

TRAIN_PY = """\
import json, os
with open("params.yaml") as f:
    lines = dict(line.split(": ", 1) for line in f.read().splitlines() if ": " in line)
lr, epochs = float(lines["lr"]), int(lines["epochs"])
os.makedirs("eval/plots", exist_ok=True)
loss = [round(1.0 / (1 + lr * 10 * step), 6) for step in range(epochs)]
with open("eval/metrics.json", "w") as f:
    json.dump({"loss": loss[-1], "acc": round(1 - loss[-1], 6), "epochs": epochs}, f)
with open("eval/plots/loss.tsv", "w") as f:
    f.write("step\\tloss\\n" + "".join(f"{i}\\t{v}\\n" for i, v in enumerate(loss)))
if os.environ.get("LIVE") == "1":
    os.makedirs("dvclive/plots/metrics", exist_ok=True)
    with open("dvclive/metrics.json", "w") as f:
        json.dump({"acc": round(1 - loss[-1], 6), "step": epochs - 1}, f)
    with open("dvclive/plots/metrics/acc.tsv", "w") as f:
        f.write("step\\tacc\\n" + "".join(f"{i}\\t{1 - v}\\n" for i, v in enumerate(loss)))
    with open("dvclive/dvc.yaml", "w") as f:
        f.write("metrics:\\n- metrics.json\\nplots:\\n- plots/metrics:\\n    x: step\\n")
"""

DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    deps: [train.py]
    params: [lr, epochs]
    outs: [eval]
params:
- config.json
metrics:
- eval/metrics.json
plots:
- eval/plots/loss.tsv:
    x: step
    y: loss
"""


DVCLIVE_TRAIN_PY = """\
import json, os
from dvclive import Live
with open("params.yaml") as f:
    lines = dict(line.split(": ", 1) for line in f.read().splitlines() if ": " in line)
lr, epochs = float(lines["lr"]), int(lines["epochs"])
os.makedirs("eval/plots", exist_ok=True)
with Live("dvclive", dvcyaml="dvclive/dvc.yaml") as live:
    for step in range(epochs):
        loss = round(1.0 / (1 + lr * 10 * step), 6)
        live.log_metric("loss", loss)
        live.log_metric("acc", round(1 - loss, 6))
        live.next_step()
with open("eval/metrics.json", "w") as f:
    json.dump({"loss": loss, "epochs": epochs}, f)
with open("eval/plots/loss.tsv", "w") as f:
    f.write("step\\tloss\\n0\\t1.0\\n")
with open("eval/logged_to.txt", "w") as f:  # the experiment dvclive logged into
    f.write(str(live._exp_name))
"""
"""The same project logging through the real dvclive (run with the oracle's python)."""


def files(lr: float = 0.1, epochs: int = 3, dvclive: bool = False) -> dict[str, Any]:
    """The project's files (before the first run)."""
    return {
        "train.py": DVCLIVE_TRAIN_PY if dvclive else TRAIN_PY,
        "params.yaml": f"lr: {lr}\nepochs: {epochs}\n",
        "config.json": '{"model": {"layers": 2}}\n',
        "dvc.yaml": DVC_YAML,
    }
