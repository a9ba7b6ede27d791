"""`status -c`: which objects the chosen revisions use are missing from the remote, or from here.

Each object is named like DVC names it (the output path, `dir/file` for the files of a
directory output) and gets one state: `new` (only in the local cache), `deleted` (only
on the remote) or `missing` (in neither); objects in both are in sync and not listed.
A `.dir` object found only on the remote is downloaded into the cache (verified) to
learn its files, as DVC does; one found nowhere is reported in `unknown_dirs`.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from enum import StrEnum

from xpt.cache.odb import ODB
from xpt.cache.remote_backends import Remote
from xpt.pipeline.parse import find_dvcfiles
from xpt.project import Project
from xpt.repro.revisions import revision_readers
from xpt.repro.transfer.sync import (
    Oid,
    Selection,
    get_remote,
    load_tree_from,
    parallel,
    present_on,
    remote_name,
    scan_revision,
    select_outputs,
)
from xpt.repro.workspace import git_if_any
from xpt.utils.dvcnames import DVCFILE
from xpt.utils.oids import DIR_SUFFIX


class CloudState(StrEnum):
    """Where an object is missing (listed in DVC's order)."""

    DELETED = "deleted"
    NEW = "new"
    MISSING = "missing"


@dataclass(frozen=True)
class UnknownDir:
    """A directory output whose `.dir` object is neither in the cache nor on the remote."""

    name: str
    md5: str


@dataclass(frozen=True)
class CloudStatus:
    """The result of `status -c`: object name -> state, in DVC's order."""

    remote: str
    entries: dict[str, CloudState]
    unknown_dirs: tuple[UnknownDir, ...] = ()

    @property
    def in_sync(self) -> bool:
        return not self.entries

    def to_dict(self) -> dict[str, str]:
        """`status -c --json`."""
        return {name: state.value for name, state in self.entries.items()}


@dataclass(frozen=True)
class CloudStatusRequest:
    """What `status -c` compares: targets (relative to `base`) and revisions."""

    remote: str | None = None
    targets: tuple[str, ...] = ()
    base: str = ""
    """The cwd relative to the project root: targets and names are relative to it."""
    all_branches: bool = False
    all_tags: bool = False
    all_commits: bool = False
    all_experiments: bool = False
    jobs: int | None = None


def cloud_status(project: Project, req: CloudStatusRequest) -> CloudStatus:
    """Compare the objects the selected revisions use with the cache and the remote."""
    name = remote_name(project, req.remote)
    remote = get_remote(project, name)
    readers = revision_readers(
        project,
        git_if_any(project),
        all_branches=req.all_branches,
        all_tags=req.all_tags,
        all_commits=req.all_commits,
        all_experiments=req.all_experiments,
    )
    dvcfiles = find_dvcfiles(project.root) or [DVCFILE]
    selection = select_outputs(
        [scan_revision(read, dvcfiles) for read in readers], list(req.targets), req.base
    )
    odb = ODB(project.cache_dir)
    named, unknown = _named_objects(odb, remote, selection, req.jobs)
    oids = {oid for _name, oid in named}
    local = {oid for oid in oids if odb.exists(oid[0], legacy=oid[1])}
    remote_has = present_on(remote, oids, req.jobs)
    entries: dict[str, CloudState] = {}
    for state in CloudState:
        for path, oid in sorted(named):
            if _state(oid in local, oid in remote_has) is state:
                entries[_relative(path, req.base)] = state
    return CloudStatus(
        name, entries, tuple(UnknownDir(_relative(n, req.base), m) for n, m in unknown)
    )


def _state(local: bool, remote: bool) -> CloudState | None:
    if local and remote:
        return None
    if local:
        return CloudState.NEW
    return CloudState.DELETED if remote else CloudState.MISSING


def _named_objects(
    odb: ODB, remote: Remote, selection: Selection, jobs: int | None
) -> tuple[list[tuple[str, Oid]], list[tuple[str, str]]]:
    """(name, oid) of every chosen object, files of trees included; and trees found nowhere."""
    named: set[tuple[str, Oid]] = set()
    unknown: list[tuple[str, str]] = []
    outs = sorted(selection, key=lambda o: (o.path, o.oid))
    dirs = [o for o in outs if o.oid[0].endswith(DIR_SUFFIX)]
    trees = dict(
        zip(
            [o.oid for o in dirs],
            parallel(lambda o: load_tree_from(odb, remote, o.oid), dirs, jobs),
            strict=True,
        )
    )
    for out in outs:
        if not out.oid[0].endswith(DIR_SUFFIX):
            named.add((out.path, out.oid))
            continue
        tree = trees[out.oid]
        if tree is None:
            unknown.append((out.path, out.oid[0]))
            continue
        named.add((out.path, out.oid))
        inside = selection[out]
        for rel, md5 in tree:
            if inside is None or any(rel == p or rel.startswith(p + "/") for p in inside):
                named.add((f"{out.path}/{rel}", (md5, out.oid[1])))
    return sorted(named), sorted(set(unknown))


def _relative(path: str, base: str) -> str:
    """A repo-relative path as seen from `base` (DVC names objects relative to the cwd)."""
    return posixpath.relpath(path, base) if base else path
