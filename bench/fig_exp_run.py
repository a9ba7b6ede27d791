"""Figure 2: `exp run` on a trivial one-stage pipeline (goal ≥ 10× DVC)."""

from __future__ import annotations

from pathlib import Path

from bench.common import Case, Harness, Tool, faster
from bench.scenarios import ONE_STAGE

FLOOR_IMPORTS = "python -P -c 'import pygit2, yaml, ruamel.yaml'"
STAGE_CMD = "python copy.py params.yaml metrics.yaml"
assert f"cmd: {STAGE_CMD}\n" in ONE_STAGE["dvc.yaml"]


def figure(h: Harness) -> None:
    def prepare(tool: Tool, path: Path) -> Path:
        repo = h.new_repo(tool, "exp-run", ONE_STAGE)
        tool.run(["repro"], repo)
        h.commit(repo, "baseline")
        return repo

    def exp_run(tool: Tool, repo: Path, i: int) -> None:
        tool.run(["exp", "run", "-S", f"p={i + 1}"], repo)

    h.compare(Case("2", "exp run, 1-stage pipeline", prepare, exp_run, faster(10)))
    # What any exp run under the design rules pays before doing its own work.
    repo = h.new_repo(h.xpt, "exp-run-floor", ONE_STAGE)
    label = "floor: interpreter start + import pygit2, yaml, ruamel.yaml, then the stage's command"
    h.floor("2", label, f"{FLOOR_IMPORTS} && {STAGE_CMD}", repo)
