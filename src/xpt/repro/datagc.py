"""`gc`: remove cache objects that no kept revision, experiment or queued run uses.

The workspace is always kept; `-a/-T/-A/--all-experiments` keep more. Objects needed
by queued or running experiments (their snapshots under refs/xpt/queue/) are always
kept, so a gc never breaks a queue. The run-cache is left alone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from xpt.cache.odb import ODB
from xpt.errors import XptError
from xpt.project import Project
from xpt.repro.revisions import revision_readers
from xpt.repro.transfer import expand_dirs, used_objects
from xpt.repro.workspace import open_git


@dataclass(frozen=True)
class GcScope:
    """What to keep besides the workspace."""

    workspace: bool = False
    all_branches: bool = False
    all_tags: bool = False
    all_commits: bool = False
    all_experiments: bool = False

    def any(self) -> bool:
        return (
            self.workspace
            or self.all_branches
            or self.all_tags
            or self.all_commits
            or self.all_experiments
        )


def _cache_objects(cache_dir: str) -> dict[str, tuple[str, bool]]:
    """path -> (md5, legacy) of every object file in the cache."""
    found: dict[str, tuple[str, bool]] = {}
    for base, legacy in ((os.path.join(cache_dir, "files", "md5"), False), (cache_dir, True)):
        if not os.path.isdir(base):
            continue
        for prefix in os.listdir(base):
            folder = os.path.join(base, prefix)
            if len(prefix) != 2 or not os.path.isdir(folder):
                continue
            for name in os.listdir(folder):
                if name.startswith("."):
                    continue
                found[os.path.join(folder, name)] = (prefix + name, legacy)
    return found


def gc(project: Project, scope: GcScope, *, dry: bool = False) -> list[str]:
    """Delete unused objects from the local cache; returns their paths."""
    if not scope.any():
        raise XptError(
            "gc needs a scope of what to keep",
            hint="pass -w (workspace), -a (branches), -T (tags), -A (all commits) or --all-experiments",
        )
    git = open_git(project)
    readers = revision_readers(
        project,
        git,
        all_branches=scope.all_branches,
        all_tags=scope.all_tags,
        all_commits=scope.all_commits,
        all_experiments=scope.all_experiments,
    )
    if git is not None:
        readers.extend(git.reader(sha) for sha in git.list_refs("refs/xpt/queue/").values())
    odb = ODB(project.cache_dir)
    keep = expand_dirs(odb, used_objects(project, readers))
    removed = []
    for path, oid in _cache_objects(str(project.cache_dir)).items():
        if oid not in keep:
            removed.append(path)
            if not dry:
                os.chmod(path, 0o644)
                os.unlink(path)
    return removed
