"""Figure 6: first `repro` over 2 GB in 4 files + 20,000 small files, then the no-op `repro`.

The one stage's command only moves data into the workspace: the data is written to a
folder beside the repository before the round (untimed), and `python take.py <folder>`
renames it into place, which costs nothing. So the timed `repro` is the tool's own work
on big outputs: hash 4 files of 512 MB and 20,000 small files, store them in the cache
and write dvc.lock (goal ≤ 4 s); the no-op `repro` after it must see that nothing
changed (goal ≤ 0.3 s). `md5sum` over the same files is printed as the hardware line.

Each tool needs ~4 GB per repository (workspace + cache): every round sets the previous
round's repository aside (see `Scratch`), and the figure deletes everything when done.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import Case, CommandFailed, Harness, Row, Tool, at_most, scaled

BIG_FILES = 4
BIG_TOTAL = scaled(2048, 200) << 20
SMALL_FILES = scaled(20_000, 2_000)
SMALL_DIRS = 100
BIG_NAMES = [f"part{i}.bin" for i in range(BIG_FILES)]

TAKE_PY = (
    "# Moves prepared data into the workspace: the stage's outputs cost nothing to make.\n"
    "import os, sys\n\n"
    "for name in sorted(os.listdir(sys.argv[1])):\n"
    "    os.rename(os.path.join(sys.argv[1], name), name)\n"
)


def write_big_file(path: Path, size: int, tag: int) -> None:
    """`size` bytes of random-looking data; `tag` makes files with the same size differ."""
    block = _random_block()
    with open(path, "wb") as f:
        written = n = 0
        while written < size:
            chunk = min(len(block), size - written)
            head = f"{tag}:{n}:".encode()
            f.write(head + block[: chunk - len(head)])
            written += chunk
            n += 1


def write_small_files(root: Path, count: int, dirs: int) -> None:
    """`count` distinct files of 100 B to 4 KB spread over `dirs` sub-folders of `root`."""
    seed = _random_block()[:8192]
    for i in range(count):
        folder = root / f"d{i % dirs:03d}"
        if i < dirs:
            folder.mkdir(parents=True)
        size = 100 + (i * 7919) % 4000
        (folder / f"f{i:05d}.txt").write_bytes(f"{i}\n".encode() + seed[:size])


_BLOCK: list[bytes] = []


def _random_block() -> bytes:
    if not _BLOCK:
        _BLOCK.append(os.urandom(16 << 20))
    return _BLOCK[0]


def make_pool(pool: Path) -> None:
    """The stage's future outputs: the 4 big files and the folder of small files."""
    pool.mkdir(parents=True)
    for i, name in enumerate(BIG_NAMES):
        write_big_file(pool / name, BIG_TOTAL // BIG_FILES, i)
    write_small_files(pool / "small", SMALL_FILES, SMALL_DIRS)


def recycle(sources: list[Path], pool: Path, names: list[str]) -> bool:
    """Move the outputs `names` found in `sources` (first hit wins) into the new `pool`.

    Writing 2 GB costs more than a round of the benchmark, so each round takes the data
    back from the previous round's workspace (same bytes, new repository, new cache).
    """
    pool.mkdir(parents=True)
    for name in names:
        found = [p / name for p in sources if (p / name).exists() and not (p / name).is_symlink()]
        if not found:
            shutil.rmtree(pool)
            return False
        os.rename(found[0], pool / name)
    return True


def take_pipeline(pool: Path, outs: list[str]) -> dict[str, str]:
    """One stage whose command moves `outs` from `pool` into the workspace."""
    listed = "".join(f"    - {name}\n" for name in outs)
    dvc_yaml = (
        "stages:\n"
        "  data:\n"
        f"    cmd: python take.py {pool}\n"
        "    deps: [take.py]\n"
        "    outs:\n" + listed
    )
    return {"take.py": TAKE_PY, "dvc.yaml": dvc_yaml}


def md5sum_seconds(repo: Path, jobs: int) -> float:
    """coreutils md5sum over the outputs, `jobs` processes at a time."""
    big = " ".join(BIG_NAMES)
    cmd = (
        f"(printf '%s\\0' {big} | xargs -0 -P {jobs} -n 1 md5sum;"
        f" find small -type f -print0 | xargs -0 -P {jobs} -n {SMALL_FILES // jobs + 1} md5sum)"
        " > /dev/null"
    )
    start = time.perf_counter()
    subprocess.run(cmd, shell=True, cwd=repo, check=True)
    return time.perf_counter() - start


TRASH_FREE = 10 << 30
"""Folders are set aside (not deleted) while the disk keeps this much free."""


class Scratch:
    """The live folders of each tool (repository, data pool, remote ...); older ones go.

    Old folders are moved into `trash` and deleted by `close`, not right away: ext4
    without a journal (this kind of VM) skips inodes freed in the last minutes one by
    one when it allocates new ones, so deleting a round's 20,000 cache objects just
    before the next timed round would make both tools pay seconds of kernel time for
    the benchmark's own clean-up. When the disk runs short they are deleted at once.
    """

    def __init__(self, trash: Path | None = None) -> None:
        self.live: dict[str, list[Path]] = {}
        self.trash = trash
        self._set_aside = 0

    def get(self, key: str) -> list[Path]:
        return self.live.get(key, [])

    def replace(self, key: str, *paths: Path) -> None:
        self.drop(key)
        self.live[key] = list(paths)

    def drop(self, key: str) -> None:
        for path in self.live.pop(key, []):
            self._discard(path)

    def _discard(self, path: Path) -> None:
        if self.trash is not None and path.exists():
            self.trash.mkdir(exist_ok=True)
            if shutil.disk_usage(self.trash).free > TRASH_FREE:
                self._set_aside += 1
                path.rename(self.trash / str(self._set_aside))
                return
        shutil.rmtree(path, ignore_errors=True)

    def move(self, key: str, to: str) -> None:
        """`to` takes over the folders of `key` (which then owns none)."""
        self.drop(to)
        self.live[to] = self.live.pop(key, [])

    def close(self) -> None:
        for key in list(self.live):
            for path in self.live.pop(key):
                shutil.rmtree(path, ignore_errors=True)
        if self.trash is not None:
            shutil.rmtree(self.trash, ignore_errors=True)


OUTS = [*BIG_NAMES, "small"]


def with_scratch(h: Harness, body: Callable[[Harness, Scratch], None]) -> None:
    """Run a figure's `body` with its Scratch; everything it kept is deleted at the end."""
    scratch = Scratch(h.new_dir("trash"))
    try:
        body(h, scratch)
    finally:
        scratch.close()


def pool_for(scratch: Scratch, tool: Tool, path: Path) -> Path:
    """`path/pool` holding the figure's data: taken back from the tool's previous round
    (its case folder and repository, `scratch.get(tool.name)`), else written anew."""
    pool = path / "pool"
    old = scratch.get(tool.name)
    if not recycle([*old[1:], *(p / "pool" for p in old[:1])], pool, OUTS):
        make_pool(pool)
    return pool


def figure(h: Harness) -> None:
    with_scratch(h, _figure)


def _figure(h: Harness, scratch: Scratch) -> None:
    def prepare(tool: Tool, path: Path) -> Path:
        pool = pool_for(scratch, tool, path)
        repo = h.new_repo(tool, "data", take_pipeline(pool, OUTS))
        scratch.replace(tool.name, path, repo)
        os.sync()  # no write-back of earlier rounds pending: each round starts alike
        return repo

    def repro(tool: Tool, repo: Path, i: int) -> None:
        tool.run(["repro"], repo)

    def all_saved(tool: Tool, repo: Path) -> None:
        lock = (repo / "dvc.lock").read_text()
        for needle in [*BIG_NAMES, f"nfiles: {SMALL_FILES}"]:
            if needle not in lock:
                raise CommandFailed(f"{tool.name}: dvc.lock lacks {needle!r}")

    def last_repo(tool: Tool) -> Path | None:
        """The first case's last repository of `tool`, if its repro went through."""
        old = scratch.get(tool.name)
        return old[1] if old[1:] and (old[1] / "dvc.lock").exists() else None

    size = f"{BIG_TOTAL >> 20} MB in {BIG_FILES} files + {SMALL_FILES:,} small files"
    label = f"first repro, {size}"
    h.compare(Case("6", label, prepare, repro, at_most(4), fresh=True, verify=all_saved))

    xpt_repo = last_repo(h.xpt)
    if xpt_repo is not None:
        os.sync()
        for jobs in sorted({1, os.cpu_count() or 1}):
            label = f"md5sum of the same files, {jobs} process{'es' * (jobs > 1)}"
            t = md5sum_seconds(xpt_repo, jobs)
            h.rows.append(Row("6", label, "", xpt=t, rounds=1, verdict="hardware line"))

    def reproduced(tool: Tool, path: Path) -> Path:
        """Reuses the first case's last repository when its repro worked."""
        repo = last_repo(tool)
        if repo is None:
            repo = prepare(tool, path)
            tool.run(["repro"], repo)
        h.commit(repo, "reproduced")
        return repo

    h.compare(Case("6", f"no-op repro, {size}", reproduced, repro, at_most(0.3)))
