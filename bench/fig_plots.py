"""Figure 12: `plots diff` of 10 experiments (issue 15 goal: ≥ 10× faster than DVC).

The project is the dvclive-style one of the tests (tests/plots_project.py) with 500 steps
per series: plots inside the cached directory output `eval/` (read from the cache at each
experiment), x/y across two files, the confusion template, a PNG, a nested
`dvclive/dvc.yaml`. It is built once with xpt (10 `exp run`s) and copied for each tool,
so both read the same repository. Rows: `--json` (what VS Code's extension runs) the first
time in a fresh copy, the same command repeated (xpt replays a diff of commits from its
fast-path memo, see fastpath.py), and the HTML page.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.plots_project import DVC_YAML, DVCLIVE_YAML, TRAIN_PY

from bench.common import Case, Harness, Tool, faster, scaled

STEPS = scaled(500, 50)
EXPS = 10


def _build(h: Harness) -> Path:
    files = {
        "train.py": TRAIN_PY.replace("steps = 6", f"steps = {STEPS}"),
        "params.yaml": "lr: 0.1\n",
        "dvc.yaml": DVC_YAML,
        "dvclive/dvc.yaml": DVCLIVE_YAML,
    }
    repo = h.new_repo(h.xpt, "plots-src", files)
    h.xpt.run(["repro"], repo)
    h.commit(repo, "train pipeline")
    for i in range(EXPS):
        h.xpt.run(["exp", "run", "-S", f"lr={0.1 + (i + 1) / 100:.2f}", "-n", f"e{i}"], repo)
    return repo


def figure(h: Harness) -> None:
    source: list[Path] = []

    def prepare(tool: Tool, path: Path) -> Path:
        if not source:
            source.append(_build(h))
        repo = path / "repo"
        shutil.copytree(source[0], repo, symlinks=True)
        return repo

    names = [f"e{i}" for i in range(EXPS)]

    def diff_json(tool: Tool, repo: Path, i: int) -> None:
        out = tool.run(["plots", "diff", "--json", *names], repo)
        assert '"loss_and_acc"' in out and '"e9"' in out

    def diff_html(tool: Tool, repo: Path, i: int) -> None:
        out = tool.run(["plots", "diff", *names, "-o", f"page{i}"], repo)
        assert out.strip().endswith("index.html")

    json_label = f"plots diff --json, {EXPS} experiments"
    h.compare(Case("12", json_label, prepare, diff_json, faster(10), fresh=True))
    # VS Code's extension asks again and again: xpt replays a diff of commits (fast path)
    label = f"{json_label}, repeated (caches warm)"
    h.compare(Case("12", label, prepare, diff_json, faster(10), warmup=True))
    label = f"plots diff (HTML page), {EXPS} experiments"
    h.compare(Case("12", label, prepare, diff_html, faster(10), fresh=True))
