"""`exp diff`, `params diff`, `metrics show`, `metrics diff`: params and metrics at revisions.

A revision is the workspace, any git revision, or an experiment name; its params and
metrics are read in-process with the same collector as `exp show`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from xpt.cache.odb import ODB
from xpt.errors import XptError
from xpt.experiments.collect import (
    collect_data,
    load_pipelines_at,
    revision_files,
    target_metrics,
    target_params,
    tracked_params,
)
from xpt.experiments.names import resolve_rev
from xpt.pipeline.metrics import diff_values
from xpt.pipeline.model import Reader
from xpt.pipeline.parse import find_dvcfiles, workspace_reader
from xpt.project import Project
from xpt.scm.git import Git
from xpt.utils.dvcnames import DVCFILE

WORKSPACE = "workspace"


@dataclass(frozen=True)
class RevData:
    """Params and metrics of one revision, in `exp show` data shape."""

    params: dict[str, Any]
    metrics: dict[str, Any]
    tracked: dict[str, set[str] | None]


class _Revisions:
    """Resolve and read revisions of one project."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.git = Git(project.root)
        self.dvcfiles = find_dvcfiles(project.root) or [DVCFILE]
        self.odb = ODB(project.cache_dir)

    def sha(self, rev: str) -> str:
        return resolve_rev(self.git, rev)

    def reader(self, rev: str) -> Reader:
        if rev == WORKSPACE:
            return workspace_reader(self.project.root)
        return self.git.reader(self.sha(rev))

    def data(self, rev: str) -> RevData:
        read = self.reader(rev)
        collected, _err = collect_data(read, rev, None, self.dvcfiles, self.odb)
        try:
            pipelines = load_pipelines_at(read, self.dvcfiles)
        except XptError:
            pipelines = []
        tracked = tracked_params(pipelines)
        return RevData(dict(collected.params), dict(collected.metrics), tracked)


def _values(section: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        path: item["data"]
        for path, item in section.items()
        if isinstance(item, dict) and "data" in item
    }


def _only_deps(
    params: dict[str, dict[str, Any]], tracked: dict[str, set[str] | None]
) -> dict[str, dict[str, Any]]:
    from xpt.pipeline.metrics import flatten

    out: dict[str, dict[str, Any]] = {}
    for path, values in params.items():
        if path not in tracked:
            continue
        keys = tracked[path]
        if keys is None:
            out[path] = values
            continue
        flat = flatten(values)
        out[path] = {
            k: v for k, v in flat.items() if any(k == t or k.startswith(t + ".") for t in keys)
        }
    return out


def _default_pair(a_rev: str | None, b_rev: str | None) -> tuple[str, str]:
    if a_rev is None:
        return "HEAD", WORKSPACE
    if b_rev is None:
        return a_rev, WORKSPACE
    return a_rev, b_rev


def params_diff(
    project: Project,
    a_rev: str | None = None,
    b_rev: str | None = None,
    *,
    all: bool = False,
    deps_only: bool = False,
    targets: list[str] | None = None,
) -> dict[str, Any]:
    """`params diff --json` data; `targets` (repo-relative) are the params files compared."""
    revs = _Revisions(project)
    a, b = _default_pair(a_rev, b_rev)
    old, new = revs.data(a), revs.data(b)
    old_p, new_p = _values(old.params), _values(new.params)
    if deps_only:
        old_p, new_p = _only_deps(old_p, old.tracked), _only_deps(new_p, new.tracked)
    if targets:  # the target files, declared or not, in place of the declared ones
        old_p = _values(target_params(revision_files(project, a), targets))
        new_p = _values(target_params(revision_files(project, b), targets))
    return diff_values(old_p, new_p, all=all, as_params=True)


def metrics_diff(
    project: Project,
    a_rev: str | None = None,
    b_rev: str | None = None,
    *,
    all: bool = False,
    targets: list[str] | None = None,
) -> dict[str, Any]:
    """`metrics diff --json` data; `targets` as for `metrics_show`."""
    revs = _Revisions(project)
    a, b = _default_pair(a_rev, b_rev)
    old, new = _metrics(project, revs, a, targets), _metrics(project, revs, b, targets)
    return diff_values(_values(old), _values(new), all=all)


def _metrics(
    project: Project, revs: _Revisions, rev: str, targets: list[str] | None
) -> dict[str, Any]:
    """A revision's metrics: its declared metrics files, or the `targets` (files, or
    folders read whole, with or without `-R` as in DVC 3) in their place."""
    if not targets:
        return revs.data(rev).metrics
    return target_metrics(revision_files(project, rev), targets)


def exp_diff(
    project: Project,
    a_rev: str | None = None,
    b_rev: str | None = None,
    *,
    all: bool = False,
    param_deps: bool = False,
) -> dict[str, Any]:
    """`exp diff --json` data: {"metrics": ..., "params": ...}."""
    revs = _Revisions(project)
    a, b = _default_pair(a_rev, b_rev)
    old, new = revs.data(a), revs.data(b)
    old_p, new_p = _values(old.params), _values(new.params)
    if param_deps:
        old_p, new_p = _only_deps(old_p, old.tracked), _only_deps(new_p, new.tracked)
    return {
        "metrics": diff_values(_values(old.metrics), _values(new.metrics), all=all),
        "params": diff_values(old_p, new_p, all=all, as_params=True),
    }


def metrics_show(
    project: Project,
    revs_wanted: list[str] | None = None,
    targets: list[str] | None = None,
    *,
    all_branches: bool = False,
    all_tags: bool = False,
    all_commits: bool = False,
) -> dict[str, Any]:
    """`metrics show --json` data: {"": {...}} for the workspace, else per revision.

    `targets` (repo-relative) replace the declared metrics files, as in DVC. `-a`, `-T`
    and `-A` add every branch, tag or commit, by name, after `revs_wanted` (default: the
    workspace).
    """
    revs = _Revisions(project)
    if all_branches or all_tags or all_commits:
        git = revs.git
        revs_wanted = [
            *(revs_wanted or [WORKSPACE]),
            *(git.branches() if all_branches else ()),
            *(git.tags() if all_tags else ()),
            *(git.all_commits() if all_commits else ()),
        ]
    if not revs_wanted:
        return {"": {"data": _metrics(project, revs, WORKSPACE, targets)}}
    return {rev: {"data": _metrics(project, revs, rev, targets)} for rev in revs_wanted}


def params_at(project: Project, rev: str, *, deps_only: bool = False) -> dict[str, Any]:
    """`{params file: {"data": values}}` of one revision (the API's `params_show`)."""
    revs = _Revisions(project)
    read = revs.reader(rev)
    data, _error = collect_data(read, rev, None, revs.dvcfiles, revs.odb, param_deps=deps_only)
    return dict(data.params)
