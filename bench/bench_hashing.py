"""Benchmark of the cache layer: hash + save outputs into a fresh cache, then a no-op re-check.

Workload (issue target): 2 GB in 4 files + 20,000 small files; BENCH_QUICK=1 shrinks it
to 200 MB + 2,000 files. Figures printed:

* save      -- `save_outputs` of the 4 big files and the folder of small files (one
               stage's outputs) into an empty cache with an empty memo: hash + store +
               link back with `cache.type` `reflink,copy`;
* no-op     -- in a fresh process: open the memo, hash every output through it and check
               the cache holds every object (what a no-op `repro` does in this layer);
* md5sum    -- coreutils over the same files, sequential and one process per core;
* dvc       -- when a DVC executable is found (BENCH_DVC, default: the test oracle):
               `dvc add` of the same outputs in a fresh repo, then `dvc status`.

Usage: python bench/bench_hashing.py   (BENCH_DIR=... to choose the scratch folder)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUICK = os.environ.get("BENCH_QUICK") == "1"
BIG_FILES = 4
BIG_TOTAL = (200 if QUICK else 2048) << 20
SMALL_FILES = 2_000 if QUICK else 20_000
SMALL_DIRS = 100
DVC = os.environ.get("BENCH_DVC", "/root/.cache/xpt-oracle/dvc-3.67.1/bin/dvc")


def generate(root: Path) -> None:
    """4 big files (distinct content) and many small files in 100 folders."""
    block = os.urandom(16 << 20)
    big = root / "big"
    big.mkdir(parents=True)
    per_file = BIG_TOTAL // BIG_FILES
    for i in range(BIG_FILES):
        with open(big / f"part{i}.bin", "wb") as f:
            written = 0
            n = 0
            while written < per_file:
                chunk = f"{i}:{n}:".encode() + block[: min(len(block), per_file - written) - 16]
                chunk = chunk.ljust(min(len(block), per_file - written), b"\0")
                f.write(chunk)
                written += len(chunk)
                n += 1
    small = root / "small"
    seed = os.urandom(8192)
    for i in range(SMALL_FILES):
        folder = small / f"d{i % SMALL_DIRS:03d}"
        if i < SMALL_DIRS:
            folder.mkdir(parents=True)
        size = 100 + (i * 7919) % 4000
        (folder / f"f{i:05d}.txt").write_bytes(f"{i}\n".encode() + seed[:size])


def outputs(root: Path) -> list[Path]:
    return [*sorted((root / "big").iterdir()), root / "small"]


SAVE_CHILD = """
import os, sys, time
t0 = time.perf_counter()
from pathlib import Path
from xpt.cache.outputs import save_outputs
from xpt.cache.hasher import Hasher
from xpt.cache.odb import ODB
from xpt.cache.state import StateDB
t1 = time.perf_counter()
root = Path(sys.argv[1])
with StateDB(root / "xpt/state.db") as state:
    hasher = Hasher(root, state)
    odb = ODB(root / "xpt/cache", state)
    outs = [*sorted((root / "big").iterdir()), root / "small"]
    save_outputs(odb, hasher, outs, ("reflink", "copy"))
t2 = time.perf_counter()
cpu = os.times()
print(f"{t1 - t0:.4f} {t2 - t1:.4f} {cpu.user:.4f} {cpu.system:.4f}")
"""

NOOP_CHILD = """
import os, sys, time
t0 = time.perf_counter()
from pathlib import Path
from xpt.cache.hasher import Hasher
from xpt.cache.odb import ODB
from xpt.cache.state import StateDB
t1 = time.perf_counter()
root = Path(sys.argv[1])
outs = [*sorted((root / "big").iterdir()), root / "small"]
with StateDB(root / "xpt/state.db") as state:
    hasher = Hasher(root, state)
    odb = ODB(root / "xpt/cache", state)
    infos = hasher.hash_many(outs)
    missing = [m for info in infos.values() for m in odb.missing(info)]
t2 = time.perf_counter()
assert not missing, missing
cpu = os.times()
print(f"{t1 - t0:.4f} {t2 - t1:.4f} {cpu.user:.4f} {cpu.system:.4f}")
"""


def run_child(code: str, root: Path) -> tuple[float, float, float, str]:
    """(process wall incl. interpreter start, imports, work, CPU user/sys) of a new interpreter."""
    start = time.perf_counter()
    res = subprocess.run(
        [sys.executable, "-c", code, str(root)], capture_output=True, text=True, check=True
    )
    wall = time.perf_counter() - start
    imports, work, user, system = (float(x) for x in res.stdout.split())
    return wall, imports, work, f"CPU {user:.2f} user + {system:.2f} sys"


def run_dvc(root: Path) -> tuple[float, float] | None:
    """(`dvc add` of the same outputs, `dvc status` after it) in seconds, or None."""
    if not os.access(DVC, os.X_OK):
        return None
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run([DVC, "init", "-q"], cwd=root, check=True)
    outs = [str(p.relative_to(root)) for p in outputs(root)]
    start = time.perf_counter()
    subprocess.run([DVC, "add", "-q", *outs], cwd=root, check=True)
    add = time.perf_counter() - start
    start = time.perf_counter()
    subprocess.run([DVC, "status", "-q"], cwd=root, check=True)
    return add, time.perf_counter() - start


def run_md5sum(root: Path, jobs: int) -> float:
    start = time.perf_counter()
    cmd = (
        f"(find big -type f -print0 | xargs -0 -P {jobs} -n 1 md5sum;"
        f" find small -type f -print0 | xargs -0 -P {jobs} -n 2000 md5sum) > /dev/null"
    )
    subprocess.run(cmd, shell=True, cwd=root, check=True)
    return time.perf_counter() - start


def main() -> int:
    base = Path(tempfile.mkdtemp(prefix="xpt-bench-", dir=os.environ.get("BENCH_DIR")))
    try:
        cores = os.cpu_count() or 1
        label = f"{BIG_TOTAL >> 20} MB in {BIG_FILES} files + {SMALL_FILES} small files"
        print(f"workload: {label}; {cores} cores; scratch {base}")
        t = time.perf_counter()
        generate(base)
        subprocess.run(["sync"], check=False)
        print(f"generate          {time.perf_counter() - t:7.3f} s")
        md5_seq = run_md5sum(base, 1)
        md5_par = run_md5sum(base, cores)
        print(f"md5sum sequential {md5_seq:7.3f} s")
        print(f"md5sum -P{cores}        {md5_par:7.3f} s")
        wall, imports, work, cpu = run_child(SAVE_CHILD, base)
        print(
            f"xpt save (cold)   {work:7.3f} s   (hash + store + link back; {cpu};"
            f" {wall:.3f} s process wall)"
        )
        for _ in range(2):
            wall, imports, work, cpu = run_child(NOOP_CHILD, base)
            print(
                f"xpt no-op check   {work:7.3f} s   (+{imports:.3f} s imports; {cpu};"
                f" {wall:.3f} s process wall)"
            )
        dvc = run_dvc(base)
        if dvc is not None:
            print(f"dvc add           {dvc[0]:7.3f} s   (same outputs, fresh repo, process wall)")
            print(f"dvc status        {dvc[1]:7.3f} s")
        return 0
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
