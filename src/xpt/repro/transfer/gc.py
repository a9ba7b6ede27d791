"""`gc`: remove cache objects that no kept revision, experiment or queued run uses.

The workspace is always kept; `-a/-T/-A/--all-experiments` keep more. Objects needed
by queued or running experiments (their snapshots under refs/xpt/queue/) are always
kept, so a gc never breaks a queue. The run-cache is left alone. With `-c` the same
kept set is applied to the data remote: its listing is read before anything is
deleted, so an unreachable remote leaves both sides untouched.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from xpt.cache.odb import OBJECTS_DIR, ODB, relpath_oid
from xpt.cache.remote_backends import Remote
from xpt.errors import XptError
from xpt.project import Project
from xpt.repro.revisions import revision_readers
from xpt.repro.transfer.sync import Oid, expand_from, get_remote, used_objects
from xpt.repro.workspace import git_if_any
from xpt.scm.exprefs import XPT_QUEUE_PREFIX
from xpt.utils.litter import remove_litter, temp_owner


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


def _cache_objects(cache_dir: str, temps: list[str] | None = None) -> dict[str, tuple[str, bool]]:
    """path -> (md5, legacy) of every object file in the cache.

    Writers' temp files (`.staging…tmp`, `<object>.<pid>-….tmp`) are not objects: they
    are added to `temps` instead, for `utils/litter.py` to judge.
    """
    found: dict[str, tuple[str, bool]] = {}
    temps = [] if temps is None else temps
    for base, legacy in ((os.path.join(cache_dir, OBJECTS_DIR), False), (cache_dir, True)):
        if not os.path.isdir(base):
            continue
        for prefix in os.listdir(base):
            folder = os.path.join(base, prefix)
            if temp_owner(prefix) is not None:
                temps.append(folder)
            if len(prefix) != 2 or not os.path.isdir(folder):
                continue
            for name in os.listdir(folder):
                if temp_owner(name) is not None:
                    temps.append(os.path.join(folder, name))
                    continue
                if name.startswith("."):
                    continue
                found[os.path.join(folder, name)] = (prefix + name, legacy)
    return found


@dataclass(frozen=True)
class GcResult:
    """What gc removed (or would remove with `--dry`), per place."""

    cache: tuple[str, ...]
    """Paths of objects under the cache's `files/md5/`."""
    legacy: tuple[str, ...]
    """Paths of DVC 2 layout objects (`XX/…` at the cache's top)."""
    remote_url: str | None = None
    """The remote cleaned with `-c` (None without it)."""
    remote: tuple[str, ...] = ()
    """Relative paths removed from the remote's `files/md5/`."""
    remote_legacy: tuple[str, ...] = ()
    unknown_dirs: tuple[str, ...] = ()
    """Kept `.dir` objects found nowhere: their files could not be kept."""


def gc(
    project: Project,
    scope: GcScope,
    *,
    dry: bool = False,
    cloud: bool = False,
    remote: str | None = None,
    jobs: int | None = None,
) -> GcResult:
    """Delete unused objects from the local cache (and with `cloud`, from the remote)."""
    if not scope.any():
        raise XptError(
            "gc needs a scope of what to keep",
            hint="pass -w (workspace), -a (branches), -T (tags), -A (all commits) or --all-experiments",
        )
    backend = get_remote(project, remote) if cloud else None
    keep, unknown = _kept(project, scope, backend, jobs)
    temps: list[str] = []
    local = [(path, oid) for path, oid in _cache_objects(str(project.cache_dir), temps).items()]
    doomed = [(path, oid[1]) for path, oid in local if oid not in keep]
    on_remote: list[tuple[str, bool]] = []
    remote_temps: list[str] = []
    if backend is not None:
        for rel in backend.list_files():
            oid = relpath_oid(rel)
            if oid is not None and oid not in keep:
                on_remote.append((rel, oid[1]))
            elif oid is None and temp_owner(rel.rsplit("/", 1)[-1]) is not None:
                remote_temps.append(rel)
    if not dry:
        remove_litter(temps)  # temp files of killed writers (repro, pull)
        if backend is not None:
            backend.remove_litter(remote_temps)  # of killed pushes
        for path, _legacy in doomed:
            os.chmod(path, 0o644)
            os.unlink(path)
        if backend is not None:
            backend.remove(sorted(rel for rel, _legacy in on_remote))
    return GcResult(
        cache=tuple(sorted(p for p, legacy in doomed if not legacy)),
        legacy=tuple(sorted(p for p, legacy in doomed if legacy)),
        remote_url=backend.url if backend is not None else None,
        remote=tuple(sorted(r for r, legacy in on_remote if not legacy)),
        remote_legacy=tuple(sorted(r for r, legacy in on_remote if legacy)),
        unknown_dirs=tuple(md5 for md5, _legacy in unknown),
    )


def _kept(
    project: Project, scope: GcScope, remote: Remote | None, jobs: int | None
) -> tuple[set[Oid], list[Oid]]:
    """Objects the scope, the workspace and the queue use; trees only on the remote are read."""
    git = git_if_any(project)
    readers = revision_readers(
        project,
        git,
        all_branches=scope.all_branches,
        all_tags=scope.all_tags,
        all_commits=scope.all_commits,
        all_experiments=scope.all_experiments,
    )
    if git is not None:
        readers.extend(git.reader(sha) for sha in git.list_refs(XPT_QUEUE_PREFIX).values())
    odb = ODB(project.cache_dir)
    return expand_from(odb, remote, used_objects(project, readers), jobs)
