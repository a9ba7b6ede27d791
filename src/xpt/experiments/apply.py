"""`exp apply`: put an experiment's files and cached outputs into the workspace.

Never destroys work: before touching anything, the workspace (tracked changes,
untracked files, and the hashes of modified cached outputs, whose content is saved
into the object cache) is committed as a backup under `refs/xpt/backup/`, on every
apply. HEAD and the branch do not move.
"""

from __future__ import annotations

import json
import os
import posixpath
import time
from dataclasses import dataclass

from xpt.cache.outputs import save_output
from xpt.errors import UnknownExperiment, UnsafePath, XptError
from xpt.experiments.names import resolve
from xpt.pipeline.parse import load_pipelines
from xpt.project import Project
from xpt.repro.checkout import checkout
from xpt.repro.workspace import Workspace, load_graph, open_workspace
from xpt.scm.exprefs import EXEC_APPLY, XPT_BACKUP_PREFIX
from xpt.scm.git import MODE_LINK, Git
from xpt.utils.dvcnames import DVC_SUFFIX, DVCFILE
from xpt.utils.lock import file_lock

BACKUP_MANIFEST = ".xpt-backup-outputs.json"


@dataclass(frozen=True)
class ApplyResult:
    """What was applied and where the previous workspace was saved."""

    name: str
    sha: str
    backup_ref: str | None
    missing_outputs: tuple[str, ...]


def resolve_commit(git: Git, target: str) -> tuple[str, str]:
    """(display name, sha) of an experiment name/ref/sha, or of any git commit."""
    try:
        ref = resolve(git, target, baseline=git.head_sha())
        sha = git.get_ref(ref.ref)
        assert sha is not None
        return ref.name, sha
    except UnknownExperiment:
        sha = git.resolve(target)
        if sha is None:
            raise
        return target, sha


def _save_modified_outputs(ws: Workspace) -> dict[str, str]:
    """Put cached outputs' current content into the cache; {path: md5} for the backup."""
    saved: dict[str, str] = {}
    try:
        graph = load_graph(ws)
    except Exception:  # noqa: BLE001 - a broken dvc.yaml must not block the backup
        return saved
    for stage in graph.plan(None):
        for out in stage.outs:
            if not out.cache:
                continue
            path = os.path.join(ws.root, stage.repo_path(out.path))
            if os.path.lexists(path):
                info, _ = save_output(ws.odb, ws.hasher, path, ("copy",), relink=False)
                saved[stage.repo_path(out.path)] = info.md5
    return saved


def backup_workspace(ws: Workspace, git: Git, label: str) -> str | None:
    """Commit the current workspace under refs/xpt/backup/; returns the ref name."""
    outputs = _save_modified_outputs(ws)
    extra = {BACKUP_MANIFEST: (json.dumps(outputs, indent=2, sort_keys=True) + "\n").encode()}
    head = git.head_sha()
    if head is None:
        return None
    sha = git.snapshot_commit(
        head,
        include_untracked=git.status().untracked,
        message=f"xpt: workspace before `exp apply {label}`",
        extra_files=extra,
    )
    ref = f"{XPT_BACKUP_PREFIX}{time.strftime('%Y%m%d-%H%M%S')}-{sha[:7]}"
    git.set_ref(ref, sha, expected_old=None, message="xpt: apply backup")
    return ref


def refuse_escaping_links(git: Git, sha: str) -> None:
    """Refuse, before anything changes, a commit with a git symlink leading out of the
    repository and holding an output its checkout would write through (UnsafePath).

    Crafted tree names are refused by `list_tree`; links holding no output are fine (data
    folders often link elsewhere); checkout checks every output path again anyway.
    """
    files = git.list_tree(sha)
    read = git.reader(sha)
    escaping = []
    for path, (_oid, mode) in files.items():
        if mode != MODE_LINK:
            continue
        target = os.fsdecode(read(path) or b"")
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
        if target.startswith("/") or joined == ".." or joined.startswith("../"):
            escaping.append((path, target))
    if not escaping:
        return
    dvcfiles = sorted(
        p for p in files if posixpath.basename(p) == DVCFILE or p.endswith(DVC_SUFFIX)
    )
    try:
        pipelines = load_pipelines(read, dvcfiles)
    except XptError:
        return  # an unreadable pipeline checks nothing out through the link either
    for pipeline in pipelines:
        for stage in pipeline.stages.values():
            for out in stage.outs:
                out_path = stage.repo_path(out.path)
                for link, target in escaping:
                    if out_path == link or out_path.startswith(link + "/"):
                        raise UnsafePath(
                            f"experiment {sha[:7]}: '{link}' is a git symlink leading outside "
                            f"the repository (to '{target}') and holds the output "
                            f"'{out_path}'; refusing to apply it",
                            hint="the commit was crafted or made elsewhere; remove it with "
                            "`xpt exp remove`",
                        )


def apply_in(ws: Workspace, git: Git, name: str, sha: str) -> ApplyResult:
    """Apply commit `sha` to an opened, locked workspace (backup first)."""
    refuse_escaping_links(git, sha)
    backup = backup_workspace(ws, git, name)
    git.checkout_commit_files(sha, base=git.head_sha())
    result = checkout(ws, None, allow_missing=True, unsaved="replace")  # DVC forces too
    git.set_ref(EXEC_APPLY, sha, message="xpt: exp apply")
    return ApplyResult(name, sha, backup, tuple(result.missing))


def apply_experiment(project: Project, target: str) -> ApplyResult:
    """Back up the workspace, then make it equal to the experiment's tree and outputs."""
    git = Git(project.root)
    name, sha = resolve_commit(git, target)
    with (
        file_lock(str(project.workspace_lock), "the workspace"),
        open_workspace(project, git) as ws,
    ):
        return apply_in(ws, git, name, sha)
