"""Figure 14 (add): `add` of 2 GB in 4 files + 20,000 small files, the data of figure 6.

The data is moved into a fresh repository before each round (untimed; fig_data's
generator and recycling, so 2 GB is written once), then one `add` command tracks the four
big files and the folder: hash everything, store it in the cache, write five `.dvc`
files and the `.gitignore`. Goals from issue 14: at least 3× faster than `dvc add`, and
about the time of figure 6's first repro (the same work behind a stage).
"""

from __future__ import annotations

import os
from pathlib import Path

from bench.common import Case, CommandFailed, Harness, Tool, all_of, at_most, faster
from bench.fig_data import (
    BIG_FILES,
    BIG_NAMES,
    BIG_TOTAL,
    OUTS,
    SMALL_FILES,
    Scratch,
    pool_for,
    with_scratch,
)


def figure(h: Harness) -> None:
    with_scratch(h, _figure)


def _figure(h: Harness, scratch: Scratch) -> None:
    def prepare(tool: Tool, path: Path) -> Path:
        pool = pool_for(scratch, tool, path)
        repo = h.new_repo(tool, "add", {"README.md": "data\n"})
        for name in OUTS:
            os.rename(pool / name, repo / name)
        scratch.replace(tool.name, path, repo)
        os.sync()  # no write-back of earlier rounds pending: each round starts alike
        return repo

    def add(tool: Tool, repo: Path, i: int) -> None:
        tool.run(["add", *OUTS], repo)

    def all_tracked(tool: Tool, repo: Path) -> None:
        for name in OUTS:
            if not (repo / f"{name}.dvc").exists():
                raise CommandFailed(f"{tool.name}: {name}.dvc was not written")
        if f"nfiles: {SMALL_FILES}" not in (repo / "small.dvc").read_text():
            raise CommandFailed(f"{tool.name}: small.dvc lacks nfiles: {SMALL_FILES}")
        if not all((repo / f"{n}.dvc").exists() for n in BIG_NAMES):
            raise CommandFailed(f"{tool.name}: a big file was not tracked")

    size = f"{BIG_TOTAL >> 20} MB in {BIG_FILES} files + {SMALL_FILES:,} small files"
    goal = all_of(faster(3), at_most(4))
    h.compare(Case("14", f"add, {size}", prepare, add, goal, fresh=True, verify=all_tracked))
