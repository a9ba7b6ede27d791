"""Figure 4: `exp show --json` over 1 / 300 / 1000 experiments made with git fast-import.

Row 4c: 300 experiments whose metrics live inside a cached directory output (the dvclive
layout), read through the lock entry and the `.dir` manifest (goal ≤ 0.5 s, ≥ 20× DVC).

The experiments are written straight into DVC's ref layout, each a commit on the
baseline that changes params.yaml, metrics.json and dvc.lock (goals: ≤ 0.1 / 0.3 / 0.6 s,
and ≥ 50× DVC at 1000). Every round gets a fresh repository, so each run is the first
listing after the experiments appeared: DVC caches what it read in .dvc/tmp/exps/cache
and is ~20× faster the second time, which the extra "repeated" row shows.
"""

from __future__ import annotations

from pathlib import Path

from bench.common import Case, Goal, Harness, Tool, all_of, at_most, faster, scaled
from bench.scenarios import (
    CACHED_EXP_DVC_YAML,
    EXP_DVC_YAML,
    SHOW_FLOOR,
    TRAIN_PY,
    cached_exp_files,
    exp_files,
    fast_import_stream,
    write_objects,
)

SIZES: list[tuple[int, Goal]] = [
    (1, at_most(0.1)),
    (scaled(300, 30), at_most(0.3)),
    (scaled(1000, 100), all_of(at_most(0.6), faster(50))),
]
# Against DVC's warm cache only the absolute goal is meaningful.
WARM_GOAL = at_most(0.6)
CACHED_COUNT = scaled(300, 30)
CACHED_GOAL = all_of(at_most(0.5), faster(20))


def cached_metrics_case(h: Harness) -> Case:
    """`exp show --json` over experiments whose metrics are in the cache, not in git."""

    def git_files(i: int) -> dict[str, str]:
        return cached_exp_files(i)[0]

    def prepare(tool: Tool, path: Path) -> Path:
        files, objects = cached_exp_files(0)
        files = {"train.py": TRAIN_PY, "dvc.yaml": CACHED_EXP_DVC_YAML, **files}
        repo = h.new_repo(tool, f"cached-exps-{CACHED_COUNT}", files)
        write_objects(repo, objects)
        for i in range(1, CACHED_COUNT + 1):
            write_objects(repo, cached_exp_files(i)[1])
        baseline = h.git(repo, "rev-parse", "HEAD")
        stamp = int(h.git(repo, "log", "-1", "--format=%ct"))
        stream = fast_import_stream(baseline, CACHED_COUNT, stamp, git_files)
        h.git(repo, "fast-import", "--quiet", input=stream)
        return repo

    def show(tool: Tool, repo: Path, i: int) -> None:
        tool.run(["exp", "show", "--json"], repo)

    label = f"exp show --json, {CACHED_COUNT} experiments, metrics in a cached dir output"
    return Case("4c", label, prepare, show, CACHED_GOAL, fresh=True)


def figure_cached(h: Harness) -> None:
    """Figure 4c alone (`bench/run.py 4c`)."""
    h.compare(cached_metrics_case(h))


def figure(h: Harness) -> None:
    for count, goal in SIZES:

        def prepare(tool: Tool, path: Path, count: int = count) -> Path:
            files = {"train.py": TRAIN_PY, "dvc.yaml": EXP_DVC_YAML, **exp_files(0)}
            repo = h.new_repo(tool, f"exps-{count}", files)
            baseline = h.git(repo, "rev-parse", "HEAD")
            stamp = int(h.git(repo, "log", "-1", "--format=%ct"))
            stream = fast_import_stream(baseline, count, stamp)
            h.git(repo, "fast-import", "--quiet", input=stream)
            return repo

        def show(tool: Tool, repo: Path, i: int) -> None:
            tool.run(["exp", "show", "--json"], repo)

        label = f"exp show --json, {count} experiment{'s' if count > 1 else ''}"
        h.compare(Case("4", label, prepare, show, goal, fresh=True))
        if count == 1:
            h.floor("4", *SHOW_FLOOR, h.work)
        if count == SIZES[-1][0]:
            label = f"exp show --json, {count} experiments, repeated (caches warm)"
            h.compare(Case("4", label, prepare, show, WARM_GOAL, warmup=True))
