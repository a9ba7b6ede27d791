"""Figure 9: `push`, then `pull` into a fresh clone, of 2,000 small files and of one 500 MB file.

The data is one stage's output (the stage moves prepared files into the workspace, see
fig_data), reproduced untimed, so the cache holds it. The remote is a local folder set
with `remote add -d`. Timed:

* push -- into a new, empty remote folder each round;
* pull -- in a fresh `git clone` of that repository (empty cache, no outputs), from the
  remote the push filled: download into the cache and check out.

Goal: at least as fast as DVC. Every round deletes the previous round's remote or clone.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.common import Case, CommandFailed, Harness, Tool, faster, scaled
from bench.fig_data import Scratch, take_pipeline, write_big_file, write_small_files

SMALL_FILES = scaled(2_000, 200)
BIG_MB = scaled(500, 50)


@dataclass(frozen=True)
class Dataset:
    """What one stage outputs: how to write it, and how many cache objects it makes."""

    label: str
    out: str
    write: Callable[[Path], None]
    files: int  # files checked out
    objects: int  # files in the remote after a push (a folder adds its .dir object)


DATASETS = [
    Dataset(
        f"{SMALL_FILES:,} small files",
        "small",
        lambda path: write_small_files(path, SMALL_FILES, 20),
        SMALL_FILES,
        SMALL_FILES + 1,
    ),
    Dataset(
        f"one {BIG_MB} MB file",
        "big.bin",
        lambda path: write_big_file(path, BIG_MB << 20, 0),
        1,
        1,
    ),
]


def figure(h: Harness) -> None:
    for data in DATASETS:
        scratch = Scratch(h.new_dir("trash"))
        try:
            transfer(h, data, scratch)
        finally:
            scratch.close()


def count_files(root: Path) -> int:
    return sum(1 for p in root.rglob("*") if p.is_file())


def transfer(h: Harness, data: Dataset, scratch: Scratch) -> None:
    """The push row and the pull row of one dataset."""

    def source(tool: Tool) -> Path:
        """The tool's repository with the data reproduced into its cache (built once)."""
        key = f"{tool.name}-source"
        if not scratch.get(key):
            pool = h.new_dir(f"pool-{tool.name}")
            data.write(pool / data.out)
            repo = h.new_repo(tool, "transfer", take_pipeline(pool, [data.out]))
            scratch.replace(key, pool, repo)
            tool.run(["repro"], repo)
            h.commit(repo, "data")
        return scratch.get(key)[1]

    def set_remote(tool: Tool, repo: Path) -> Path:
        """A new empty remote folder as the default remote (the previous one is deleted)."""
        remote = h.new_dir(f"remote-{tool.name}")
        scratch.replace(f"{tool.name}-remote", remote)
        tool.run(["remote", "add", "-d", "-f", "store", str(remote)], repo)
        os.sync()  # no write-back of earlier rounds pending: each round starts alike
        return remote

    def new_remote(tool: Tool, path: Path) -> Path:
        repo = source(tool)
        set_remote(tool, repo)
        return repo

    def push(tool: Tool, repo: Path, i: int) -> None:
        tool.run(["push"], repo)

    def pushed(tool: Tool, repo: Path) -> None:
        (remote,) = scratch.get(f"{tool.name}-remote")
        found = count_files(remote)
        if found != data.objects:
            raise CommandFailed(f"{tool.name} push: {found} of {data.objects} objects in remote")

    def fresh_clone(tool: Tool, path: Path) -> Path:
        repo = source(tool)
        if not scratch.get(f"{tool.name}-filled"):
            fill_remote(tool, repo)
        clone = path / "clone"
        h.git(path, "clone", "-q", str(repo), str(clone))
        scratch.replace(f"{tool.name}-clone", path)
        os.sync()
        return clone

    def fill_remote(tool: Tool, repo: Path) -> None:
        """The last push round's remote (or a new one, pushed to), in the committed config."""
        try:
            pushed(tool, repo)
        except (CommandFailed, ValueError):
            set_remote(tool, repo)
            tool.run(["push"], repo)
        h.commit(repo, "remote")
        scratch.move(f"{tool.name}-remote", f"{tool.name}-filled")

    def pull(tool: Tool, repo: Path, i: int) -> None:
        tool.run(["pull"], repo)

    def pulled(tool: Tool, repo: Path) -> None:
        out = repo / data.out
        found = count_files(out) if out.is_dir() else int(out.is_file())
        if found != data.files:
            raise CommandFailed(f"{tool.name} pull: {found} of {data.files} files checked out")

    goal = faster(1)
    h.compare(Case("9", f"push {data.label}", new_remote, push, goal, fresh=True, verify=pushed))
    label = f"pull {data.label} into a fresh clone"
    h.compare(Case("9", label, fresh_clone, pull, goal, fresh=True, verify=pulled))
