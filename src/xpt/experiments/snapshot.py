"""Which workspace files belong in an experiment commit, and making that commit.

An experiment commit is HEAD's tree plus every change to tracked files, plus the
untracked files the pipeline owns (deps, uncached outputs, params and metrics files,
lock files, `.gitignore`s written for cached outputs). Unrelated untracked files are
left out and stay where they are. The commit is built in memory (scm.git), so the
user's index, HEAD and branch never move.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from xpt.pipeline.graph import Graph
from xpt.pipeline.params import DEFAULT_PARAMS_FILE
from xpt.scm.git import Git
from xpt.scm.gitignore import gitignore_for
from xpt.utils.dvcnames import DVC_DIR_PREFIX
from xpt.utils.fsutil import is_inside

SCRATCH_PREFIXES = (f"{DVC_DIR_PREFIX}tmp/", f"{DVC_DIR_PREFIX}cache/")


def pipeline_files(graph: Graph, extra: Iterable[str] = ()) -> set[str]:
    """Repo-relative paths the pipeline owns and git should carry."""
    paths: set[str] = set(extra)
    for stage in graph.stages():
        paths.add(stage.dvcfile)
        paths.add(stage.lockfile)
        for dep in stage.deps:
            paths.add(stage.repo_path(dep))
        for spec in stage.params:
            paths.add(stage.repo_path(spec.path))
        for out in stage.outs:
            path = stage.repo_path(out.path)
            if out.cache:
                paths.add(gitignore_for(path))
            else:
                paths.add(path)
    if any(
        s.params and any(p.path == DEFAULT_PARAMS_FILE for p in s.params) for s in graph.stages()
    ):
        paths.add(DEFAULT_PARAMS_FILE)
    return paths


def cached_outputs(graph: Graph) -> set[str]:
    """Repo-relative paths of cached outputs (never committed to git)."""
    return {s.repo_path(o.path) for s in graph.stages() for o in s.outs if o.cache}


@dataclass(frozen=True)
class SnapshotPlan:
    """Untracked files to include, and the untracked ones deliberately left out."""

    include: tuple[str, ...]
    left_out: tuple[str, ...]


def plan_snapshot(
    git: Git, root_prefix: str, owned: set[str], cached: set[str], include: Iterable[str] = ()
) -> SnapshotPlan:
    """Split the workspace's untracked files into pipeline-owned and unrelated ones."""
    wanted = {root_prefix + p for p in owned} | {root_prefix + p for p in include}
    cached_full = {root_prefix + p for p in cached}
    chosen: list[str] = []
    left: list[str] = []
    for path in git.status().untracked:
        if path.startswith(tuple(root_prefix + s for s in SCRATCH_PREFIXES)):
            continue
        if any(is_inside(path, c) for c in cached_full):
            continue
        bare = path.rstrip("/")
        if any(is_inside(bare, w) for w in wanted) or any(is_inside(w, bare) for w in wanted):
            chosen.append(bare)
        else:
            left.append(bare)
    # explicitly requested paths (e.g. `exp save -I`) may be git-ignored: add them as given
    for path in include:
        full = root_prefix + path
        if full not in chosen and os.path.lexists(os.path.join(git.root, full)):
            chosen.append(full)
    return SnapshotPlan(tuple(sorted(set(chosen))), tuple(sorted(set(left))))


def project_prefix(git: Git, root: str) -> str:
    """'' when the project is the git root, else 'sub/dir/'."""
    rel = os.path.relpath(root, git.root)
    return "" if rel == "." else rel.replace(os.sep, "/") + "/"
