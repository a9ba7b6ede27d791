"""Figure 3: no-op `repro` on a 3-stage pipeline (goal ≥ 10× DVC)."""

from __future__ import annotations

from pathlib import Path

from bench.common import Case, Harness, Tool, faster
from bench.scenarios import THREE_STAGES


def figure(h: Harness) -> None:
    def prepare(tool: Tool, path: Path) -> Path:
        repo = h.new_repo(tool, "noop-repro", THREE_STAGES)
        tool.run(["repro"], repo)
        h.commit(repo, "reproduced")
        return repo

    def repro(tool: Tool, repo: Path, i: int) -> None:
        tool.run(["repro"], repo)

    h.compare(Case("3", "no-op repro, 3-stage pipeline", prepare, repro, faster(10), warmup=True))
