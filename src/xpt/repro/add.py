"""`xpt add`: track files and folders with `.dvc` files, as `dvc add` does.

Every target is checked before anything is written (inside the repository, present,
not tracked by git, not a stage's output), so a refused command leaves no trace. Data is
stored through `cache/outputs.py:save_outputs` (one hashing path for repro and add);
the `.dvc` file is written by `pipeline/dvcfile.py` and the `.gitignore` line by
`scm/gitignore.py`, so the bytes are DVC's.
"""

from __future__ import annotations

import glob as globmod
import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path

from xpt.cache.digest import HashInfo
from xpt.cache.outputs import checkout_output, save_outputs
from xpt.errors import PipelineError, XptError
from xpt.pipeline import dvcfile as df
from xpt.pipeline.lockformat import LockEntry, LockItem
from xpt.pipeline.model import Stage
from xpt.pipeline.parse import find_dvcfiles, load_pipelines
from xpt.project import Project
from xpt.repro.workspace import Workspace, locked_workspace
from xpt.scm.gitignore import ignore_output
from xpt.utils.dvcnames import DVC_DIR, DVCFILE, LOCKFILE
from xpt.utils.fsutil import remove, resolve_inside


class AddError(XptError):
    """A target `add` refuses; nothing has been written."""


@dataclass(frozen=True)
class AddOptions:
    targets: tuple[str, ...]
    glob: bool = False
    no_commit: bool = False
    out: str | None = None
    force: bool = False
    to_remote: bool = False
    remote: str | None = None
    jobs: int | None = None
    relink: bool = True
    """False (`--no-relink`): the workspace keeps its files instead of links to the cache."""


@dataclass(frozen=True)
class _Plan:
    source: str
    """Absolute path of the data as given."""
    out: str
    """Repo-relative posix path the data is tracked at."""
    dvcfile: str
    """Repo-relative path of its `.dvc` file."""


@dataclass
class AddResult:
    dvcfiles: list[str] = field(default_factory=list)
    gitignores: list[str] = field(default_factory=list)


def add(project: Project, options: AddOptions, cwd: str | None = None) -> AddResult:
    """Track `options.targets`; refuses (writing nothing) when any target is unfit."""
    cwd = os.path.abspath(cwd or os.getcwd())
    targets = _expand(options, cwd)
    if options.out is not None and len(targets) != 1:
        raise AddError("-o/--out takes exactly one target", hint="add the targets one by one")
    with locked_workspace(project) as ws:
        stages = _stages(ws)
        plans = [_plan(ws, stages, target, cwd, options) for target in targets]
        seen: dict[str, str] = {}
        for plan, target in zip(plans, targets, strict=True):
            if plan.out in seen:
                raise AddError(f"'{target}' and '{seen[plan.out]}' are the same path")
            seen[plan.out] = target
        if options.to_remote:
            infos = [_to_remote(ws, plan, options) for plan in plans]
        else:
            infos = _store(ws, plans, options)
        result = AddResult()
        for plan, info in zip(plans, infos, strict=True):
            _write_dvcfile(ws, plan, info)
            result.dvcfiles.append(plan.dvcfile)
            if ws.git is not None:
                changed = ignore_output(ws.root, ws.git, plan.out)
                if changed:
                    result.gitignores.append(os.path.relpath(changed, ws.root).replace(os.sep, "/"))
        return result


def _expand(options: AddOptions, cwd: str) -> list[str]:
    if not options.glob:
        return list(options.targets)
    found: list[str] = []
    for pattern in options.targets:
        matches = sorted(globmod.glob(pattern, root_dir=cwd, recursive=True))
        if not matches:
            raise AddError(f"no path matches '{pattern}'", hint="check the --glob pattern")
        found.extend(m for m in matches if not df.is_dvcfile(m))
    return found


def _stages(ws: Workspace) -> list[Stage]:
    files = find_dvcfiles(ws.root)
    return [s for p in load_pipelines(ws.read, files) for s in p.stages.values()]


def _rel(root: Path, path: str) -> str | None:
    """Repo-relative posix path, or None when `path` is outside `root`."""
    rel = os.path.relpath(path, os.path.realpath(root))
    if rel == ".." or rel.startswith(".." + os.sep) or os.path.isabs(rel):
        return None
    return "" if rel == "." else rel.replace(os.sep, "/")


def _plan(ws: Workspace, stages: list[Stage], target: str, cwd: str, options: AddOptions) -> _Plan:
    source = os.path.normpath(os.path.join(cwd, target))
    dest = os.path.normpath(os.path.join(cwd, options.out)) if options.out else source
    # the folder is resolved (symlinked repos), the data path itself is not followed
    dest_real = os.path.join(os.path.realpath(os.path.dirname(dest)), os.path.basename(dest))
    out = _rel(ws.root, dest_real)
    if not out:
        raise AddError(
            f"cannot add '{target}': it is outside the repository '{ws.root}'",
            hint="add a path inside the repository, or copy it in with `-o PATH`",
        )
    top = out.split("/")[0]
    name = posixpath.basename(out)
    if top in (".git", DVC_DIR) or name in (DVCFILE, LOCKFILE) or df.is_dvcfile(name):
        raise AddError(f"cannot add '{target}': it is a DVC or git file, not data")
    if not options.to_remote and not os.path.lexists(source):
        raise AddError(f"cannot add '{target}': the path does not exist", hint="check the path")
    if options.to_remote and not os.path.exists(source):
        raise AddError(f"cannot add '{target}': the path does not exist", hint="check the path")
    if options.out and os.path.lexists(dest) and not options.force and dest != source:
        raise AddError(
            f"cannot add '{target}' to '{options.out}': the destination exists",
            hint="use -f/--force to replace it",
        )
    dvcfile = df.dvcfile_for(out)
    _check_overlap(stages, out, dvcfile, target)
    git = ws.git
    if git is not None and git.is_tracked(out):
        raise AddError(
            f"cannot add '{target}': it is already tracked by git",
            hint=f"stop tracking it with `git rm -r --cached '{out}'` and commit, then add it",
        )
    return _Plan(source, out, dvcfile)


def _check_overlap(stages: list[Stage], out: str, dvcfile: str, target: str) -> None:
    for stage in stages:
        for spec in stage.outs:
            path = stage.repo_path(spec.path)
            if stage.dvcfile == dvcfile and path == out:
                continue  # re-adding: the file is updated
            if path == out or out.startswith(path + "/") or path.startswith(out + "/"):
                owner = (
                    f"'{stage.dvcfile}'"
                    if stage.is_dvcfile_stage
                    else f"stage '{stage.addressing}' in '{stage.dvcfile}'"
                )
                raise AddError(
                    f"cannot add '{target}': it overlaps with the output '{path}' of {owner}",
                    hint="reproduce the stage, or record a changed output with `xpt commit`",
                )


def _store(ws: Workspace, plans: list[_Plan], options: AddOptions) -> list[HashInfo]:
    """Cache the data (or only hash it with --no-commit) and place it at its output path."""
    if options.no_commit:
        return [ws.hasher.hash_path(p.source) for p in plans]
    plan = plans[0]
    if options.out is not None and os.path.normpath(plan.source) != os.path.join(ws.root, plan.out):
        (info, _tree), *_ = save_outputs(
            ws.odb, ws.hasher, [plan.source], ws.link_types, relink=False
        )
        dest = resolve_inside(ws.root, plan.out)  # nothing deleted through a symlink out
        if os.path.lexists(dest):
            remove(dest)
        checkout_output(ws.odb, dest, info, ws.link_types, hasher=ws.hasher, root=ws.root)
        return [info]
    saved = save_outputs(
        ws.odb, ws.hasher, [p.source for p in plans], ws.link_types, relink=options.relink
    )
    return [info for info, _tree in saved]


def _to_remote(ws: Workspace, plan: _Plan, options: AddOptions) -> HashInfo:
    """Hash the data and upload it straight to the remote; the workspace is not touched.

    Only a folder's `.dir` manifest is written to the local cache (it is tiny and lets
    status and push read the tree)."""
    from xpt.cache.odb import object_relpath
    from xpt.repro.transfer.sync import get_remote, parallel, present_on

    remote = get_remote(ws.project, options.remote)
    if os.path.isdir(plan.source):
        info, entries = ws.hasher.hash_dir(plan.source)
        ws.odb.add_tree(entries)
        files = {(e.md5, False): os.path.join(plan.source, *e.relpath.split("/")) for e in entries}
    else:
        info = ws.hasher.hash_file(plan.source)
        files = {(info.md5, False): plan.source}
    there = present_on(remote, files, options.jobs)
    todo = sorted(o for o in files if o not in there)
    parallel(lambda o: remote.upload(Path(files[o]), object_relpath(*o)), todo, options.jobs)
    if info.is_dir:
        remote.upload(ws.odb.oid_path(info.md5), object_relpath(info.md5, False))
    return info


def _write_dvcfile(ws: Workspace, plan: _Plan, info: HashInfo) -> None:
    folder = posixpath.dirname(plan.dvcfile)
    old = ws.read(plan.dvcfile)
    try:
        current = df.parse(old, plan.dvcfile) if old is not None else None
    except PipelineError:
        current = None  # a broken file is replaced, as `dvc add` does
    rel = posixpath.relpath(plan.out, folder or ".")
    if current is not None and [o.path for o in current.outs] == [rel]:
        entry = LockEntry(outs=(LockItem(rel, info.md5, info.size, info.nfiles, info.isexec),))
        df.write(str(ws.root), df.with_entry(current, entry))
        return
    item = df.DvcItem(rel).with_hash(info.md5, info.size, info.nfiles, info.isexec)
    df.write(str(ws.root), df.DvcFile(path=plan.dvcfile, outs=(item,)), keep_layout=False)
