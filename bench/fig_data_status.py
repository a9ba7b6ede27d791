"""Figure 14b: `data status` warm over 2 GB in 4 files + 20,000 small files tracked by `add`.

Each tool tracks the same data (fig 6's generators) with its own `add` (untimed) and
commits; one untimed `data status` warms the tool's memo, then each timed round asks
again with nothing changed (goal: ≥ 10× faster than DVC). A second row times the same
after one small file changed (the memo must notice exactly that file).
"""

from __future__ import annotations

from pathlib import Path

from bench.common import Case, CommandFailed, Harness, Tool, faster
from bench.fig_data import BIG_FILES, BIG_NAMES, BIG_TOTAL, SMALL_FILES, Scratch, make_pool

OUTS = [*BIG_NAMES, "small"]


def figure(h: Harness) -> None:
    scratch = Scratch(h.new_dir("trash"))
    try:
        _figure(h, scratch)
    finally:
        scratch.close()


def _figure(h: Harness, scratch: Scratch) -> None:
    def prepare(tool: Tool, path: Path) -> Path:
        old = scratch.get(tool.name)
        if old:
            return old[0]
        repo = h.new_repo(tool, "status", {"README.md": "data status\n"})
        make_pool(repo / "data")
        tool.run(["add", *(f"data/{name}" for name in OUTS)], repo)
        h.commit(repo, "data")
        tool.run(["data", "status"], repo)  # warm the memo
        scratch.replace(tool.name, repo)
        return repo

    def status(tool: Tool, repo: Path, i: int) -> None:
        out = tool.run(["data", "status", "--json"], repo)
        if out.strip() not in ("{}", ""):
            raise CommandFailed(f"{tool.name} data status is not clean: {out[:200]}")

    size = f"{BIG_TOTAL >> 20} MB in {BIG_FILES} files + {SMALL_FILES:,} small files"
    h.compare(
        Case("14b", f"data status, warm, nothing changed, {size}", prepare, status, faster(10))
    )

    def one_changed(tool: Tool, repo: Path, i: int) -> None:
        target = repo / "data/small/d000/f00000.txt"
        target.chmod(0o644)
        target.write_text(f"changed {i}\n")
        out = tool.run(["data", "status", "--json"], repo)
        if "data/small/" not in out:
            raise CommandFailed(f"{tool.name} data status missed the change: {out[:200]}")

    h.compare(
        Case(
            "14b",
            f"data status, warm, 1 small file changed, {size}",
            prepare,
            one_changed,
            faster(10),
        )
    )
