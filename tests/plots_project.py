"""A dvclive-style project with plots everywhere DVC users put them.

- `train` writes the cached directory output `eval/` (metrics.json, per-step TSVs under
  eval/plots/metrics/, a confusion JSON, a PNG image) and `dvclive/plots/` (cached);
- top-level `plots:` in dvc.yaml: a folder with x, x/y across two files, the confusion
  template, a folder of images;
- a stage plot output `roc.csv` (not cached) with its own x/y;
- a nested `dvclive/dvc.yaml` whose top-level plots point inside `dvclive/plots/`.

Used by tests/func/test_plots.py, tests/compat/test_compat_plots.py and the benchmark.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.helpers import TmpRepo

TRAIN_PY = '''\
import json, os, struct, zlib

lr = float(open("params.yaml").read().split("lr:")[1].split()[0])
steps = 6


def png(path, shade):
    """A small real PNG (8x8 grey square)."""
    raw = b"".join(b"\\x00" + bytes([shade]) * 8 for _ in range(8))
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))
    with open(path, "wb") as f:
        f.write(b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


for d in ("eval/plots/metrics/train", "eval/plots/images", "dvclive/plots/metrics"):
    os.makedirs(d, exist_ok=True)
with open("eval/plots/metrics/train/loss.tsv", "w") as f:
    f.write("step\\tloss\\n")
    for i in range(steps):
        f.write(f"{i}\\t{1 / (i + 1) + lr:.4f}\\n")
with open("eval/plots/metrics/train/acc.tsv", "w") as f:
    f.write("step\\tacc\\n")
    for i in range(steps):
        f.write(f"{i}\\t{0.5 + i * lr / 10:.4f}\\n")
with open("eval/metrics.json", "w") as f:
    json.dump({"loss": round(1 / steps + lr, 4), "step": steps - 1}, f)
with open("eval/plots/confusion.json", "w") as f:
    rows = [{"actual": a, "predicted": p} for a in "abc" for p in "abc" if a == p or lr > 0.15]
    json.dump(rows, f)
png("eval/plots/images/misclassified.png", int(lr * 500) % 256)
with open("roc.csv", "w") as f:
    f.write("fpr,tpr\\n0,0\\n0.25,%.3f\\n0.5,%.3f\\n1,1\\n" % (0.5 + lr, 0.7 + lr / 2))
with open("dvclive/plots/metrics/val_loss.json", "w") as f:
    json.dump({"val_loss": [{"step": i, "val_loss": round(2 / (i + 1) + lr, 4)} for i in range(steps)]}, f)
'''

DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    deps: [train.py]
    params: [lr]
    outs:
    - eval
    - dvclive/plots
    plots:
    - roc.csv:
        x: fpr
        y: tpr
        cache: false
metrics:
- eval/metrics.json
plots:
- eval/plots/metrics:
    x: step
- loss_and_acc:
    x: step
    y:
      eval/plots/metrics/train/loss.tsv: loss
      eval/plots/metrics/train/acc.tsv: acc
    title: Loss and accuracy
- eval/plots/confusion.json:
    template: confusion
    x: actual
    y: predicted
- eval/plots/images
"""

DVCLIVE_YAML = """\
# written by hand, laid out as dvclive 2 wrote it
plots:
- plots/metrics:
    x: step
    template: linear
"""

PLOT_IDS = [
    "eval/plots/metrics/train/acc.tsv",
    "eval/plots/metrics/train/loss.tsv",
    "loss_and_acc",
    "eval/plots/confusion.json",
    "eval/plots/images/misclassified.png",
    "dvclive/plots/metrics/val_loss.json",
    "roc.csv",
]

Run = Callable[..., object]


def write_project(repo: TmpRepo) -> None:
    repo.gen(
        {
            "train.py": TRAIN_PY,
            "params.yaml": "lr: 0.1\n",
            "dvc.yaml": DVC_YAML,
            "dvclive/dvc.yaml": DVCLIVE_YAML,
        }
    )


def build(repo: TmpRepo, run: Run, exps: dict[str, float] | None = None) -> None:
    """Pipeline reproduced and committed, then one experiment per `name: lr`.

    `run(*args)` runs the tool under test (xpt or the DVC oracle) in `repo`.
    """
    write_project(repo)
    run("repro")
    repo.commit("train pipeline")
    for name, lr in (exps or {}).items():
        run("exp", "run", "-S", f"lr={lr}", "-n", name)
