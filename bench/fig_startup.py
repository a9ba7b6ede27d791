"""Figure 1: start-up (`--version`) and `exp show` on an empty project."""

from __future__ import annotations

from pathlib import Path

from bench.common import Case, Harness, Tool, at_most
from bench.scenarios import SHOW_FLOOR


def figure(h: Harness) -> None:
    def no_repo(tool: Tool, path: Path) -> Path:
        return path

    def version(tool: Tool, cwd: Path, i: int) -> None:
        tool.run(["--version"], cwd)

    def empty_project(tool: Tool, path: Path) -> Path:
        return h.new_repo(tool, "empty", {"README.md": "an empty project\n"})

    def exp_show(tool: Tool, repo: Path, i: int) -> None:
        tool.run(["exp", "show", "--no-pager"], repo)

    h.compare(Case("1", "--version start-up", no_repo, version, at_most(0.15), warmup=True))
    h.compare(
        Case(
            "1",
            "exp show, empty project (init + 1 commit)",
            empty_project,
            exp_show,
            at_most(0.15),
            warmup=True,
        )
    )
    h.floor("1", *SHOW_FLOOR, h.work)
