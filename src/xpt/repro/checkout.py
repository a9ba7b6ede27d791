"""`checkout` (outputs from the cache into the workspace) and `commit` (record outputs).

Both walk the stages' lock entries; neither runs a command.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from typing import Literal

from xpt.cache.digest import HashInfo, info_from_entry
from xpt.cache.outputs import OutputChange, restore_output, unsaved_files
from xpt.errors import CacheError, CorruptObject, UnsavedChanges
from xpt.pipeline.graph import Graph
from xpt.pipeline.lockfile import new_entry, read_lock
from xpt.pipeline.lockformat import LockEntry
from xpt.pipeline.parse import dvcfiles_under
from xpt.project import Project
from xpt.repro.record import Locks, commit_outputs, dep_entries, legacy_locks
from xpt.repro.stage_status import check_stage
from xpt.repro.workspace import Workspace, load_graph, locked_workspace


@dataclass
class CheckoutResult:
    """Outputs changed in the workspace (repo paths, with what changed), and outputs whose
    objects are missing."""

    changes: dict[str, OutputChange] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)

    @property
    def changed(self) -> list[str]:
        return list(self.changes)

    def file_counts(self) -> dict[str, int]:
        """Files modified, added and deleted in all outputs (DVC's `--summary` order)."""
        changes = self.changes.values()
        return {
            "modified": sum(c.files_modified for c in changes),
            "added": sum(c.files_added for c in changes),
            "deleted": sum(c.files_deleted for c in changes),
        }


Unsaved = Literal["refuse", "replace", "keep"]


def checkout(
    ws: Workspace,
    targets: list[str] | None,
    *,
    allow_missing: bool = False,
    with_deps: bool = False,
    relink: bool = False,
    unsaved: Unsaved = "refuse",
    recursive: bool = False,
) -> CheckoutResult:
    """Restore every cached output recorded in the lock files from the object cache.

    Targets alone, or with their upstream stages (`with_deps`, `-d` as in DVC); `relink`
    recreates every link or copy even where the workspace already matches.

    Workspace files the checkout would replace or delete whose content is not cached:
    `refuse` raises UnsavedChanges before touching anything (DVC without `--force`),
    `replace` overwrites them (`--force`, `exp apply`), `keep` leaves those outputs as
    they are (`repro --pull`, which DVC runs only for unchanged stages). `recursive`
    (`-R`): the targets are folders, meaning the dvc files inside them."""
    if recursive and targets:
        targets = dvcfiles_under(ws.root, targets)
    graph = load_graph(ws)
    result = CheckoutResult()
    locks: dict[str, dict[str, LockEntry]] = {}
    todo: list[tuple[str, HashInfo]] = []
    for stage in graph.plan(targets or None, single_item=not with_deps):
        if stage.lockfile not in locks:
            locks[stage.lockfile] = read_lock(ws.read(stage.lockfile), stage.lockfile)
        entry = locks[stage.lockfile].get(stage.name)
        if entry is None:
            continue
        recorded = entry.outs_by_path()
        for out in stage.outs:
            item = recorded.get(out.path)
            info = info_from_entry(item) if item is not None and out.cache else None
            if info is not None:
                todo.append((stage.repo_path(out.path), info))
    if unsaved != "replace":
        todo = _guard_unsaved(ws, todo, refuse=unsaved == "refuse")
    for repo_path, info in todo:
        restore = functools.partial(
            restore_output,
            ws.odb,
            os.path.join(ws.root, repo_path),
            info,
            ws.link_types,
            isexec=info.isexec,
            hasher=ws.hasher,
            root=ws.root,
        )
        try:
            change = restore()
            if change:
                result.changes[repo_path] = change
            if relink:  # once it matches: a relink alone is not a change (DVC lists none)
                restore(relink=True)
        except CorruptObject:
            raise
        except CacheError:
            result.missing.append(repo_path)
    if result.missing and not allow_missing:
        raise CacheError(
            "missing cache objects for: " + ", ".join(result.missing),
            hint="fetch them with `xpt pull`, or reproduce with `xpt repro`",
        )
    return result


def checkout_project(
    project: Project,
    targets: list[str] | None,
    *,
    allow_missing: bool = False,
    with_deps: bool = False,
    relink: bool = False,
    unsaved: Unsaved = "refuse",
    recursive: bool = False,
) -> CheckoutResult:
    """`xpt checkout`: `checkout` under the workspace lock."""
    with locked_workspace(project) as ws:
        return checkout(
            ws,
            targets,
            allow_missing=allow_missing,
            with_deps=with_deps,
            relink=relink,
            unsaved=unsaved,
            recursive=recursive,
        )


def _guard_unsaved(
    ws: Workspace, todo: list[tuple[str, HashInfo]], *, refuse: bool
) -> list[tuple[str, HashInfo]]:
    """The outputs safe to check out; with `refuse`, UnsavedChanges if any is not."""
    safe = []
    found: list[str] = []
    for job in todo:
        files = unsaved_files(
            ws.odb, os.path.join(ws.root, job[0]), job[1], hasher=ws.hasher, root=ws.root
        )
        found.extend(files)
        if not files:
            safe.append(job)
    if found and refuse:
        raise UnsavedChanges(sorted(found))
    return safe


def missing_data_sources(ws: Workspace, graph: Graph) -> dict[str, str]:
    """{data path: its `.dvc` file} for `.dvc`-tracked data whose objects are not cached.

    Such data cannot be produced by running anything: a run without it must not start.
    """
    missing: dict[str, str] = {}
    for stage in graph.stages():
        if not stage.is_dvcfile_stage:
            continue
        entry = read_lock(ws.read(stage.lockfile), stage.lockfile).get(stage.name)
        recorded = entry.outs_by_path() if entry else {}
        for out in stage.outs:
            item = recorded.get(out.path)
            info = info_from_entry(item) if item is not None and out.cache else None
            if info is not None and ws.odb.missing(info):
                missing[stage.repo_path(out.path)] = stage.dvcfile
    return missing


def missing_data_error(missing: dict[str, str]) -> CacheError:
    """One line naming the first missing data and how to fetch it."""
    path, dvcfile = next(iter(missing.items()))
    more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
    how = f"`xpt pull {dvcfile}`" if len(missing) == 1 else "`xpt pull`"
    return CacheError(
        f"'{path}' (tracked by '{dvcfile}') is not in the cache{more}: fetch it with {how}"
    )


def commit(
    ws: Workspace,
    targets: list[str] | None,
    *,
    with_deps: bool = False,
    force: bool = False,
    relink: bool = True,
    recursive: bool = False,
) -> list[str]:
    """Record the workspace's current deps/params/outs in dvc.lock without running.

    Targets alone, or with their upstream stages (`with_deps`, `-d` as in DVC); `force`
    (`-f`) records unchanged stages too, storing their outputs in the cache again;
    `relink=False` (`--no-relink`) leaves the workspace files unlinked from the cache;
    `recursive` (`-R`) as for `checkout`."""
    if recursive and targets:
        targets = dvcfiles_under(ws.root, targets)
    graph = load_graph(ws)
    legacy = legacy_locks(graph)  # checkpoint projects keep DVC 2's lock dialect
    committed = []
    locks = Locks(ws, announce=False)
    for stage in graph.plan(targets or None, single_item=not with_deps):
        check = check_stage(ws, stage, locks.entry(stage))
        if not (check.changed or force):
            continue
        outs = commit_outputs(ws, stage, legacy=legacy, relink=relink)
        deps = dep_entries(ws, stage, check, legacy)
        locks.write(stage, new_entry(stage.cmd, deps, check.param_entries(), outs))
        committed.append(stage.addressing)
    return committed


def commit_project(
    project: Project,
    targets: list[str] | None,
    *,
    with_deps: bool = False,
    force: bool = False,
    relink: bool = True,
    recursive: bool = False,
) -> list[str]:
    """`xpt commit`: `commit` under the workspace lock; the stages committed."""
    with locked_workspace(project) as ws:
        return commit(
            ws, targets, with_deps=with_deps, force=force, relink=relink, recursive=recursive
        )
