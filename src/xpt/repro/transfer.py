"""push / pull / fetch: move the cache objects a set of revisions needs to a data remote.

Used objects come from the dvc.lock files of the chosen revisions (workspace, branches,
tags, commits, experiment commits): every cached output's object, and for directories
the `.dir` object plus every file it lists. Only missing objects move, in parallel; a
download is verified against its md5 before it is renamed into the cache.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from xpt.cache.odb import ODB
from xpt.cache.remote import Remote, md5_of, object_relpath, open_remote
from xpt.errors import CacheError, RemoteError, XptError
from xpt.pipeline.lockfile import parse_lock
from xpt.pipeline.model import Reader
from xpt.pipeline.parse import find_dvcfiles, load_pipelines
from xpt.project import Project

Oid = tuple[str, bool]
"""(md5 with optional .dir suffix, legacy layout?)"""


@dataclass
class TransferResult:
    """Objects moved, already present, and failed (with the reason)."""

    transferred: list[str] = field(default_factory=list)
    present: int = 0
    failed: dict[str, str] = field(default_factory=dict)


def get_remote(project: Project, name: str | None) -> Remote:
    """The named remote, or `core.remote`; a clear error when none is configured."""
    name = name or project.config.get("core", "remote")
    remotes = project.config.remotes()
    if not name:
        raise RemoteError(
            "no data remote is configured", hint="add one with `xpt remote add -d NAME URL`"
        )
    if name not in remotes or "url" not in remotes[name]:
        raise RemoteError(f"data remote '{name}' does not exist", hint="see `xpt remote list`")
    return open_remote(remotes[name]["url"], remotes[name], project.dvc_dir)


def outputs_at(read: Reader, dvcfiles: list[str]) -> set[Oid]:
    """Objects of cached outputs recorded in the lock files readable through `read`."""
    used: set[Oid] = set()
    present = [p for p in dvcfiles if read(p) is not None]
    try:
        pipelines = load_pipelines(read, present)
    except XptError:
        pipelines = []
    for pipeline in pipelines:
        for stage in pipeline.stages.values():
            try:
                entry = parse_lock(read(stage.lockfile), stage.lockfile).get(stage.name) or {}
            except XptError:
                continue
            recorded = {o.get("path"): o for o in entry.get("outs") or []}
            for out in stage.outs:
                item = recorded.get(out.path)
                if out.cache and out.push and item and item.get("md5"):
                    used.add((item["md5"], "hash" not in item))
    return used


def expand_dirs(odb: ODB, oids: Iterable[Oid], remote: Remote | None = None) -> set[Oid]:
    """Add the files listed in `.dir` objects (loading them locally, or from the remote)."""
    out: set[Oid] = set()
    for md5, legacy in oids:
        out.add((md5, legacy))
        if not md5.endswith(".dir"):
            continue
        if not odb.exists(md5, legacy=legacy) and remote is not None:
            _download(odb, remote, (md5, legacy))
        try:
            for _rel, child in odb.load_tree(md5, legacy=legacy):
                out.add((child, legacy))
        except (CacheError, OSError):
            continue
    return out


def used_objects(project: Project, readers: Iterable[Reader]) -> set[Oid]:
    """Objects needed by every revision read through `readers`."""
    dvcfiles = find_dvcfiles(project.root) or ["dvc.yaml"]
    used: set[Oid] = set()
    for read in readers:
        used |= outputs_at(read, dvcfiles)
    return used


def _upload(odb: ODB, remote: Remote, oid: Oid) -> None:
    md5, legacy = oid
    remote.upload(odb.oid_path(md5, legacy=legacy), object_relpath(md5, legacy))


def _download(odb: ODB, remote: Remote, oid: Oid) -> None:
    md5, legacy = oid
    dest = odb.oid_path(md5, legacy=legacy)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".xpt-dl-")
    os.close(fd)
    try:
        remote.download(object_relpath(md5, legacy), Path(tmp))
        actual = md5_of(Path(tmp))
        if not legacy and actual != md5.removesuffix(".dir"):
            raise CacheError(
                f"object {md5} on remote '{remote.url}' is corrupted (its content hashes to {actual})",
                hint="push it again from a machine that has the right data",
            )
        os.chmod(tmp, 0o444)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _run(fn, items: list[Oid], jobs: int | None) -> dict[str, str]:  # type: ignore[no-untyped-def]
    failed: dict[str, str] = {}

    def one(oid: Oid) -> None:
        try:
            fn(oid)
        except XptError as exc:
            failed[oid[0]] = exc.message

    with ThreadPoolExecutor(max_workers=jobs or min(16, (os.cpu_count() or 2) * 4)) as pool:
        list(pool.map(one, items))
    return failed


def push(
    project: Project, remote: Remote, oids: set[Oid], jobs: int | None = None
) -> TransferResult:
    """Upload the objects of `oids` (and their trees' files) the remote lacks."""
    odb = ODB(project.cache_dir)
    everything = expand_dirs(odb, oids)
    result = TransferResult()
    todo = []
    for oid in sorted(everything):
        if not odb.exists(oid[0], legacy=oid[1]):
            result.failed[oid[0]] = "not in the local cache"
        elif remote.exists(object_relpath(*oid)):
            result.present += 1
        else:
            todo.append(oid)
    # files first, .dir objects last: a tree on the remote implies its files are there
    todo.sort(key=lambda o: o[0].endswith(".dir"))
    files = [o for o in todo if not o[0].endswith(".dir")]
    dirs = [o for o in todo if o[0].endswith(".dir")]
    result.failed.update(_run(lambda o: _upload(odb, remote, o), files, jobs))
    if not result.failed:
        result.failed.update(_run(lambda o: _upload(odb, remote, o), dirs, jobs))
    result.transferred = [o[0] for o in todo if o[0] not in result.failed]
    return result


def fetch(
    project: Project, remote: Remote, oids: set[Oid], jobs: int | None = None
) -> TransferResult:
    """Download (and verify) the objects of `oids` missing from the local cache."""
    odb = ODB(project.cache_dir)
    result = TransferResult()
    dirs = [o for o in oids if o[0].endswith(".dir") and not odb.exists(o[0], legacy=o[1])]
    result.failed.update(_run(lambda o: _download(odb, remote, o), dirs, jobs))
    everything = expand_dirs(odb, oids)
    todo = [o for o in sorted(everything) if not odb.exists(o[0], legacy=o[1])]
    result.present = len(everything) - len(todo) - len(dirs)
    result.failed.update(_run(lambda o: _download(odb, remote, o), todo, jobs))
    result.transferred = [o[0] for o in dirs + todo if o[0] not in result.failed]
    return result
