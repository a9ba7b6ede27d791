"""Change detection: compare a stage's recorded lock entry with the workspace.

`check_stage` observes the workspace (hashes through the memo, params values) and
returns a `StageCheck` whose `reasons` use the shapes of `dvc status --json`, so the
same object drives `repro`, `status` and experiments.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from xpt.cache.digest import HashInfo
from xpt.errors import ParamsError
from xpt.pipeline.lockfile import new_entry, read_lock
from xpt.pipeline.lockformat import CHANGED_CHECKSUM, LockEntry, LockItem
from xpt.pipeline.model import Stage
from xpt.pipeline.params import load_params, select
from xpt.pipeline.parse import dvcfiles_under, find_dvcfiles
from xpt.project import Project
from xpt.repro.workspace import Workspace, load_graph, open_workspace

UP_TO_DATE = "Data and pipelines are up to date."
_MISSING = object()


@dataclass
class StageCheck:
    """What the workspace holds for one stage, and why it counts as changed."""

    stage: Stage
    old: LockEntry | None
    deps: dict[str, HashInfo | None] = field(default_factory=dict)
    params: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    outs: dict[str, HashInfo | None] = field(default_factory=dict)
    reasons: list[Any] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.reasons)

    def missing_deps(self) -> list[str]:
        return [p for p, info in self.deps.items() if info is None]

    def entry_without_outs(self) -> LockEntry:
        """Lock entry of cmd, deps and params as they are now (outs empty)."""
        return new_entry(self.stage.cmd, self.dep_entries(), self.param_entries(), [])

    def dep_entries(self) -> list[LockItem]:
        old = self.old.deps_by_path() if self.old else {}
        out = []
        for path, info in self.deps.items():
            if info is None:
                continue
            out.append(_keep_legacy(old.get(path), path, info))
        return out

    def param_entries(self) -> dict[str, dict[str, Any]]:
        return {f: dict(v) for f, v in self.params.items() if v is not None}


def _lock_item(path: str, info: HashInfo) -> LockItem:
    """The dep/out entry recording `info` (a DVC 2 entry for a legacy hash)."""
    return LockItem(
        path, info.md5, info.size, info.nfiles, info.isexec, None if info.legacy else "md5"
    )


def _keep_legacy(old: LockItem | None, path: str, info: HashInfo) -> LockItem:
    """A legacy (2.x) entry whose content is unchanged is kept as is (DVC 3 does)."""
    if old is not None and old.legacy and info.legacy:
        return old
    return _lock_item(path, info)


def _same_hash(ws: Workspace, abs_path: str, old: LockItem, info: HashInfo) -> bool:
    """Compare a recorded hash with the workspace, honouring legacy (dos2unix) entries."""
    if not old.legacy:
        return old.md5 == info.md5
    try:
        return old.md5 == ws.hasher.hash_path(abs_path, legacy=True).md5
    except OSError:
        return False


def _observe_path(ws: Workspace, stage: Stage, path: str) -> HashInfo | None:
    abs_path = os.path.join(ws.root, stage.repo_path(path))
    if not os.path.exists(abs_path):
        return None
    return ws.hasher.hash_path(abs_path)


def _legacy_view(
    ws: Workspace, stage: Stage, path: str, old: LockItem | None, info: HashInfo | None
) -> HashInfo | None:
    """Mark `info` legacy when the recorded entry is a matching 2.x entry."""
    if info is None or old is None or not old.legacy or old.md5 is None:
        return info
    abs_path = os.path.join(ws.root, stage.repo_path(path))
    if _same_hash(ws, abs_path, old, info):
        return HashInfo(old.md5, info.size, info.nfiles, info.isexec, legacy=True)
    return info


def read_stage_params(ws: Workspace, stage: Stage) -> dict[str, dict[str, Any] | None]:
    """Tracked params values per file (None for a missing file); missing keys raise."""
    result: dict[str, dict[str, Any] | None] = {}
    for spec in stage.params:
        repo_path = stage.repo_path(spec.path)
        data = ws.read(repo_path)
        if data is None:
            result[spec.path] = None
            continue
        values = load_params(data, repo_path)
        if spec.keys is None:
            result[spec.path] = dict(values)
            continue
        selected: dict[str, Any] = {}
        missing = []
        for key in spec.keys:
            try:
                selected[key] = select(values, key)
            except ParamsError:
                missing.append(key)
        if missing:
            keys = ", ".join(f"'{k}'" for k in missing)
            raise ParamsError(
                f"stage '{stage.addressing}': parameters {keys} are missing from '{repo_path}'",
                hint=f"add them to '{repo_path}' or remove them from the stage's params",
            )
        result[spec.path] = selected
    return result


def _params_reasons(check: StageCheck) -> dict[str, Any]:
    old = check.old.params if check.old else {}
    changes: dict[str, Any] = {}
    for path, values in check.params.items():
        before = old.get(path)
        if values is None:
            changes[check.stage.repo_path(path)] = "deleted"
            continue
        if before is None:
            before = {}
        per_key = {}
        for key, value in values.items():
            if key not in before:
                per_key[key] = "new"
            elif before[key] != value:
                per_key[key] = "modified"
        for key in before:
            if key not in values:
                per_key[key] = "deleted"
        if per_key:
            changes[check.stage.repo_path(path)] = per_key
    return changes


def check_stage(
    ws: Workspace, stage: Stage, old: LockEntry | None, *, checkpoint_run: bool = False
) -> StageCheck:
    """Observe the workspace for `stage` and list the reasons it is out of date."""
    check = StageCheck(stage=stage, old=old)
    old_deps = old.deps_by_path() if old else {}
    old_outs = old.outs_by_path() if old else {}
    frozen_import = stage.frozen and stage.is_dvcfile_stage  # its source is not looked at
    for path in () if frozen_import else stage.deps:
        info = _observe_path(ws, stage, path)
        check.deps[path] = _legacy_view(ws, stage, path, old_deps.get(path), info)
    check.params = read_stage_params(ws, stage)
    for out in stage.outs:
        info = _observe_path(ws, stage, out.path)
        check.outs[out.path] = _legacy_view(ws, stage, out.path, old_outs.get(out.path), info)

    if stage.frozen and not stage.is_dvcfile_stage:
        return check
    if not stage.is_dvcfile_stage and (old is None or old.cmd != stage.cmd):
        check.reasons.append("changed command")
    if stage.always_changed:
        check.reasons.append("always changed")
    if checkpoint_run and stage.is_checkpoint:
        check.reasons.append("checkpoint")

    dep_changes: dict[str, Any] = {}
    # a frozen `.dvc` file (an import) has only its data checked, as DVC does
    for path, info in ({} if stage.frozen else check.deps).items():
        before = old_deps.get(path)
        if info is None:
            dep_changes[check.stage.repo_path(path)] = "deleted"
        elif before is None:
            dep_changes[stage.repo_path(path)] = "new"
        elif before.md5 != info.md5:
            dep_changes[stage.repo_path(path)] = "modified"
    if not stage.frozen:
        dep_changes.update(_params_reasons(check))
    if dep_changes:
        check.reasons.append({"changed deps": dep_changes})

    out_changes: dict[str, str] = {}
    for out in stage.outs:
        info = check.outs[out.path]
        before = old_outs.get(out.path)
        if info is None:
            out_changes[stage.repo_path(out.path)] = "deleted"
        elif before is None:
            out_changes[stage.repo_path(out.path)] = "new"
        elif before.md5 != info.md5:
            out_changes[stage.repo_path(out.path)] = "modified"
        elif out.cache and ws.odb.missing(info):
            out_changes[stage.repo_path(out.path)] = "not in cache"
    if out_changes:
        check.reasons.append({"changed outs": out_changes})
    if old is not None and old.checksum_changed:
        check.reasons.append(CHANGED_CHECKSUM)
    return check


def project_status(
    ws: Workspace, targets: list[str] | None, *, with_deps: bool = False, recursive: bool = False
) -> dict[str, Any]:
    """`xpt status` data in the shape of `dvc status --json` (changed stages only).

    Targets are checked alone unless `with_deps` adds their upstream stages (`-d`, as DVC);
    with `recursive` (`-R`) they are folders, meaning the dvc files inside them."""
    if recursive and targets:
        targets = dvcfiles_under(ws.root, targets)
    if not targets and not find_dvcfiles(ws.root):
        return {}
    graph = load_graph(ws)
    stages = graph.plan(targets or None, single_item=not with_deps)
    locks: dict[str, dict[str, LockEntry]] = {}
    result: dict[str, Any] = {}
    for stage in stages:
        if stage.lockfile not in locks:
            locks[stage.lockfile] = read_lock(ws.read(stage.lockfile), stage.lockfile)
        if stage.frozen and not stage.is_dvcfile_stage:
            continue
        check = check_stage(ws, stage, locks[stage.lockfile].get(stage.name))
        if check.changed:
            result[stage.addressing] = check.reasons
    return result


def run_status(
    project: Project,
    targets: list[str] | None,
    *,
    with_deps: bool = False,
    recursive: bool = False,
    memo_key: str | None = None,
    render: Callable[[dict[str, Any]], str] | None = None,
) -> dict[str, Any]:
    """`xpt status`: `project_status` in a workspace of its own.

    With `memo_key` (a plain command line, see `xpt.fastpath`) and `render` (the exact
    output for a result, without the last newline), an up-to-date answer is recorded so
    that the same command is answered from stats next time. Only that answer is kept: a
    changed stage must be found afresh every time.
    """
    if memo_key is None or render is None:
        with open_workspace(project) as ws:
            return project_status(ws, targets, with_deps=with_deps, recursive=recursive)
    from xpt.repro import verdict

    # noting starts before the config is read: its files are watched
    with verdict.noting() as since, open_workspace(project) as ws:
        reads = verdict.track_reads(ws)
        data = project_status(ws, targets, with_deps=with_deps, recursive=recursive)
        if not data:
            stages = load_graph(ws).stages() if find_dvcfiles(ws.root) else []
            verdict.record(ws, memo_key, stages, reads, f"{render(data)}\n", since)
    return data
