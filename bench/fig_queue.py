"""Figure 5: queue 10 trivial experiments, then `exp run --run-all -j 2` (goal ≤ 1.5 s)."""

from __future__ import annotations

from pathlib import Path

from bench.common import Case, CommandFailed, Harness, Tool, at_most, scaled
from bench.scenarios import ONE_STAGE

COUNT = scaled(10, 4)


def figure(h: Harness) -> None:
    def prepare(tool: Tool, path: Path) -> Path:
        repo = h.new_repo(tool, "queue", ONE_STAGE)
        tool.run(["repro"], repo)
        h.commit(repo, "baseline")
        return repo

    def queue_and_run(tool: Tool, repo: Path, i: int) -> None:
        for k in range(COUNT):
            tool.run(["exp", "run", "--queue", "-S", f"p={k + 1}"], repo)
        tool.run(["exp", "run", "--run-all", "-j", "2"], repo)

    def all_done(tool: Tool, repo: Path) -> None:
        names = tool.run(["exp", "list", "--name-only"], repo).split()
        if len(names) != COUNT:
            raise CommandFailed(f"{tool.name}: {len(names)} of {COUNT} experiments finished")

    label = f"queue {COUNT} experiments + --run-all -j 2"
    h.compare(Case("5", label, prepare, queue_and_run, at_most(1.5), fresh=True, verify=all_done))

    def sweep_and_run(tool: Tool, repo: Path, i: int) -> None:
        tool.run(["exp", "run", "--queue", "-S", f"p=range(1,{COUNT + 1})"], repo)
        tool.run(["exp", "run", "--run-all", "-j", "2"], repo)

    label = f"queue {COUNT} experiments as one sweep + --run-all -j 2"
    h.compare(Case("5", label, prepare, sweep_and_run, at_most(1.5), fresh=True, verify=all_done))
