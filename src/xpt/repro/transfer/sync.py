"""push / pull / fetch: move the cache objects a set of revisions needs to a data remote.

Used objects come from the dvc.lock files of the chosen revisions (workspace, branches,
tags, commits, experiment commits): every cached output's object, and for directories
the `.dir` object plus every file it lists; CLI targets narrow them (`select_outputs`).
Only missing objects move, in parallel. What the remote holds is asked object by object,
or read from prefix listings when there are many. A download is hashed while it streams
and verified against its md5 before it is renamed into the cache.

`pull` fetches inside `checkout_follows`: a big object the workspace uses is then also
copied into a spare unnamed file during its md5 (a local remote's kernel copy runs beside
the hash), and the checkout names that spare instead of copying the object once more.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from xpt.cache import links
from xpt.cache.odb import (
    OBJECT_MODE,
    OBJECTS_DIR,
    ODB,
    VERIFIED_MEMO_MIN,
    object_relpath,
    prefix_relpath,
    relpath_oid,
    tmp_name,
)
from xpt.cache.remote_backends import FsspecRemote, Remote, open_remote
from xpt.cache.state import StateDB
from xpt.errors import CacheError, PipelineError, RemoteError, UnsavedChanges, XptError
from xpt.pipeline.lockfile import read_lock
from xpt.pipeline.model import Reader, Stage
from xpt.pipeline.parse import find_dvcfiles, load_pipelines, workspace_reader
from xpt.project import Project
from xpt.utils.dvcnames import DVC_SUFFIX, DVCFILE
from xpt.utils.oids import DIR_SUFFIX

if TYPE_CHECKING:
    from xpt.repro.checkout import CheckoutResult

Oid = tuple[str, bool]
"""(md5 with optional .dir suffix, legacy layout?)"""

T = TypeVar("T")
R = TypeVar("R")

LIST_ABOVE = 64
"""Above this many objects, presence on a remote is read from prefix listings, not one by one."""


@dataclass(frozen=True)
class UsedOutput:
    """One cached output recorded in a lock file, and its object."""

    dvcfile: str
    stage: str
    """Name of the stage in its dvcfile (`train`, `gen@small`)."""
    path: str
    """Repo-relative posix path of the output."""
    oid: Oid


@dataclass
class TransferResult:
    """Objects moved, already present, and failed (with the reason)."""

    transferred: list[str] = field(default_factory=list)
    present: int = 0
    failed: dict[str, str] = field(default_factory=dict)


def remote_name(project: Project, name: str | None) -> str:
    """The remote a data command uses: `-r NAME`, else `core.remote`."""
    chosen = name or project.config.get("core", "remote")
    if not chosen:
        raise RemoteError(
            "no data remote is configured", hint="add one with `xpt remote add -d NAME URL`"
        )
    return str(chosen)


NO_REMOTE = "No remote provided and no default remote set."
"""DVC's line when `fetch` / `pull` run with no remote: they download nothing then."""


def get_remote_if_any(project: Project, name: str | None) -> Remote | None:
    """`get_remote`, or None when no remote is named nor set as `core.remote`: `fetch`
    and `pull` then download nothing (data already cached still checks out), as DVC's do."""
    if not name and not project.config.get("core", "remote"):
        return None
    return get_remote(project, name)


def get_remote(project: Project, name: str | None) -> Remote:
    """The named remote, or `core.remote`; a clear error when none is configured."""
    name = remote_name(project, name)
    remotes = project.config.remotes()
    if name not in remotes or "url" not in remotes[name]:
        raise RemoteError(f"data remote '{name}' does not exist", hint="see `xpt remote list`")
    return open_remote(remotes[name]["url"], remotes[name], project.dvc_dir)


@dataclass
class RevisionOutputs:
    """The stages of one revision and the cached outputs its lock files record."""

    stages: list[Stage] = field(default_factory=list)
    outputs: list[UsedOutput] = field(default_factory=list)


def scan_revision(read: Reader, dvcfiles: list[str]) -> RevisionOutputs:
    """Stages and recorded cached, pushable outputs of the revision readable through `read`."""
    found = RevisionOutputs()
    own = getattr(read, "pipeline_files", None)  # a git revision lists its own files
    if own is not None:
        dvcfiles = list(dict.fromkeys([*dvcfiles, *own()]))
    present = [p for p in dvcfiles if read(p) is not None]
    pipelines = []
    for path in present:  # one unreadable file does not hide the others' data
        try:
            pipelines.extend(load_pipelines(read, [path]))
        except XptError:
            continue
    for pipeline in pipelines:
        for stage in pipeline.stages.values():
            found.stages.append(stage)
            try:
                entry = read_lock(read(stage.lockfile), stage.lockfile).get(stage.name)
            except XptError as exc:  # one broken revision must not stop the others
                print(f"WARNING: {exc.message}; its outputs are skipped", file=sys.stderr)
                continue
            recorded = entry.outs_by_path() if entry else {}
            for out in stage.outs:
                item = recorded.get(out.path)
                if out.cache and out.push and item and item.md5:
                    oid = (item.md5, item.legacy)
                    found.outputs.append(
                        UsedOutput(stage.dvcfile, stage.name, stage.repo_path(out.path), oid)
                    )
    return found


def outputs_at(read: Reader, dvcfiles: list[str]) -> set[Oid]:
    """Objects of cached outputs recorded in the lock files readable through `read`."""
    return {u.oid for u in scan_revision(read, dvcfiles).outputs}


Selection = dict[UsedOutput, tuple[str, ...] | None]
"""Chosen outputs -> None (all of it) or the paths chosen inside a directory output."""


def select_outputs(
    revisions: list[RevisionOutputs], targets: list[str], base: str = ""
) -> Selection:
    """The outputs CLI targets name: stages (`name`, `file.yaml:name`, `file.yaml`), output
    paths, or paths inside a directory output. `base` is the cwd relative to the root."""
    outputs = [o for rev in revisions for o in rev.outputs]
    if not targets:
        return dict.fromkeys(outputs)
    stages = [s for rev in revisions for s in rev.stages]
    chosen: Selection = {}
    for target in targets:
        if not _known_target(target, base, stages):
            dvcfile = _repo_path(DVCFILE, base)
            raise PipelineError(
                f"'{target}' does not exist as an output or a stage name in '{dvcfile}'",
                hint="name a stage (`xpt dag` lists them) or a cached output",
            )
        for out, inside in _matches(target, base, outputs):
            if inside is None or (out in chosen and chosen[out] is None):
                chosen[out] = None
            else:
                chosen[out] = (chosen.get(out) or ()) + inside
    return chosen


def _repo_path(path: str, base: str) -> str:
    return posixpath.normpath(posixpath.join(base, path)).removeprefix("./")


def _stage_hit(target: str, base: str, stage_file: str, stage_name: str) -> bool:
    """Does `target` name this stage (or its foreach/matrix group, or its whole file)?"""
    if target.endswith(DVC_SUFFIX):
        return stage_file == _repo_path(target, base)
    file, sep, name = target.rpartition(":")
    if sep and file.endswith((".yaml", ".yml")):
        dvcfile = _repo_path(file, base)
    elif target.endswith((".yaml", ".yml")):
        return stage_file == _repo_path(target, base)
    else:
        dvcfile, name = _repo_path(DVCFILE, base), target
    return stage_file == dvcfile and (stage_name == name or stage_name.startswith(name + "@"))


def _known_target(target: str, base: str, stages: list[Stage]) -> bool:
    path = _repo_path(target, base)
    for stage in stages:
        if _stage_hit(target, base, stage.dvcfile, stage.name):
            return True
        for out in stage.outs:
            declared = stage.repo_path(out.path)
            if path == declared or path.startswith(declared + "/"):
                return True
    return False


def _matches(
    target: str, base: str, outputs: list[UsedOutput]
) -> list[tuple[UsedOutput, tuple[str, ...] | None]]:
    path = _repo_path(target, base)
    found: list[tuple[UsedOutput, tuple[str, ...] | None]] = []
    for out in outputs:
        if _stage_hit(target, base, out.dvcfile, out.stage) or out.path == path:
            found.append((out, None))
        elif path.startswith(out.path + "/") and out.oid[0].endswith(DIR_SUFFIX):
            found.append((out, (path[len(out.path) + 1 :],)))
    return found


def load_tree_from(odb: ODB, remote: Remote | None, oid: Oid) -> list[tuple[str, str]] | None:
    """Files of a `.dir` object: from the cache, else downloaded from `remote`; None if nowhere."""
    md5, legacy = oid
    if not odb.exists(md5, legacy=legacy):
        if remote is None:
            return None
        try:
            _download(odb, remote, oid)
        except CacheError:
            if odb.exists(md5, legacy=legacy):  # another thread brought it meanwhile
                return odb.load_tree(md5, legacy=legacy)
            if not remote.exists(object_relpath(md5, legacy)):
                return None
            raise
    try:
        return odb.load_tree(md5, legacy=legacy)
    except CacheError:
        return None


def expand_dirs(odb: ODB, oids: Iterable[Oid], remote: Remote | None = None) -> set[Oid]:
    """Add the files listed in `.dir` objects (loading them locally, or from the remote)."""
    return expand_from(odb, remote, oids)[0]


def expand_from(
    odb: ODB, remote: Remote | None, oids: Iterable[Oid], jobs: int | None = None
) -> tuple[set[Oid], list[Oid]]:
    """`oids` plus the files of their trees, and the `.dir` objects found nowhere."""
    oids = set(oids)
    dirs = sorted(o for o in oids if o[0].endswith(DIR_SUFFIX))
    trees = parallel(lambda o: load_tree_from(odb, remote, o), dirs, jobs)
    out = set(oids)
    unknown: list[Oid] = []
    for (md5, legacy), tree in zip(dirs, trees, strict=True):
        if tree is None:
            unknown.append((md5, legacy))
            continue
        out.update((child, legacy) for _rel, child in tree)
    return out, unknown


def parallel(fn: Callable[[T], R], items: list[T], jobs: int | None = None) -> list[R]:
    """`fn` over `items` in threads (network-bound work); results in order, errors propagate."""
    if len(items) <= 1:
        return [fn(item) for item in items]
    workers = min(len(items), jobs or default_jobs())
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))


def default_jobs() -> int:
    """Parallel transfers when `-j` is not given."""
    return min(16, (os.cpu_count() or 2) * 4)


def present_on(remote: Remote, oids: Iterable[Oid], jobs: int | None = None) -> set[Oid]:
    """Which of `oids` the remote holds: one query each, or prefix listings when many."""
    wanted = sorted(set(oids))
    if len(wanted) <= LIST_ABOVE:
        flags = parallel(lambda o: remote.exists(object_relpath(*o)), wanted, jobs)
        return {o for o, ok in zip(wanted, flags, strict=True) if ok}
    prefixes = sorted({prefix_relpath(md5[:2], legacy) for md5, legacy in wanted})
    found: set[Oid] = set()
    want = set(wanted)
    for listing in _listings(remote, prefixes, len(wanted), jobs):
        for rel in listing:
            oid = relpath_oid(rel)
            if oid is not None and oid in want:
                found.add(oid)
    return found


def _listings(
    remote: Remote, prefixes: list[str], wanted: int, jobs: int | None
) -> list[list[str]]:
    """Listings covering `prefixes`: per prefix, or all of `files/md5` when that is smaller.

    One prefix is listed first; if the remote looks no bigger than what is looked for
    (an empty or young remote), one paged listing of the whole tree (a request per
    1,000 keys) replaces up to 256 prefix listings of two requests each.
    """
    first = remote.list_files(prefixes[0])
    rest = prefixes[1:]
    modern = all(p.startswith(f"{OBJECTS_DIR}/") for p in prefixes)
    if rest and modern and len(first) * 256 <= wanted:
        return [first, remote.list_files(OBJECTS_DIR)]
    return [first, *parallel(remote.list_files, rest, jobs)]


def used_objects(project: Project, readers: Iterable[Reader]) -> set[Oid]:
    """Objects needed by every revision read through `readers`."""
    dvcfiles = find_dvcfiles(project.root) or [DVCFILE]
    used: set[Oid] = set()
    for read in readers:
        used |= outputs_at(read, dvcfiles)
    return used


def selected_objects(
    project: Project,
    targets: list[str],
    base: str = "",
    *,
    all_branches: bool = False,
    all_tags: bool = False,
    all_commits: bool = False,
    all_experiments: bool = False,
    recursive: bool = False,
) -> set[Oid]:
    """What push/fetch move: the objects of the workspace and the chosen revisions; with
    `targets` (relative to `base`, the cwd below the root), only the outputs they name
    (`recursive`: folders stand for the dvc files inside them)."""
    from xpt.pipeline.parse import dvcfiles_under
    from xpt.repro.revisions import revision_readers
    from xpt.repro.workspace import git_if_any

    revisions = (all_branches, all_tags, all_commits, all_experiments)
    readers = revision_readers(
        project,
        git_if_any(project) if any(revisions) else None,  # the workspace alone needs no git
        all_branches=all_branches,
        all_tags=all_tags,
        all_commits=all_commits,
        all_experiments=all_experiments,
    )
    if not targets:
        return used_objects(project, readers)
    dvcfiles = find_dvcfiles(project.root) or [DVCFILE]
    if recursive:  # named from the root
        targets, base = dvcfiles_under(project.root, targets), ""
    chosen = select_outputs([scan_revision(read, dvcfiles) for read in readers], targets, base)
    return {out.oid for out in chosen}


def _upload_args(odb: ODB, oid: Oid) -> tuple[Path, str, str | None]:
    """(cache file, remote relpath, md5 its bytes must hash to, or None) of one upload."""
    md5, legacy = oid
    src = odb.object_path(md5, legacy=legacy)
    # the bytes are hashed while sent, unless xpt hashed this very file before (big objects);
    # legacy (2.x) ids hash dos2unix text, not the bytes sent: `cache verify` checks those
    expected = None if legacy else md5.removesuffix(DIR_SUFFIX)
    if expected is not None:
        with contextlib.suppress(OSError):
            if odb.known_intact(src, os.stat(src), md5):
                expected = None
    return Path(src), object_relpath(md5, legacy), expected


def _upload(odb: ODB, remote: Remote, oid: Oid) -> None:
    remote.upload(*_upload_args(odb, oid))


def _upload_all(odb: ODB, remote: Remote, oids: list[Oid], jobs: int | None) -> dict[str, str]:
    """Upload `oids`; {md5: reason} of the failed. S3 sends small objects from fsspec's
    event loop (no thread per object); big ones, and other backends, a thread each."""
    if not (isinstance(remote, FsspecRemote) and remote.batches):
        return _run(lambda o: _upload(odb, remote, o), oids, jobs)
    items = [_upload_args(odb, o) for o in oids]
    big, failed = remote.upload_many(items, jobs or default_jobs())
    reasons = {oids[i][0]: exc.message for i, exc in failed.items()}
    reasons.update(_run(lambda o: _upload(odb, remote, o), [oids[i] for i in big], jobs))
    return reasons


def _download(odb: ODB, remote: Remote, oid: Oid, spares: _Spares | None = None) -> None:
    """Stream one object into a temp file beside its cache path, verify, then rename.

    With `spares`, a big object the workspace uses is also copied into an unnamed spare
    during the verification, offered to the checkout once the md5 matched, and freed
    otherwise: nothing unverified reaches the cache or the workspace.
    """
    md5, legacy = oid
    dest = odb.object_path(md5, legacy)
    tmp = tmp_name(dest)
    try:
        os.makedirs(os.path.dirname(dest), exist_ok=True)
    except OSError as exc:
        raise CacheError(
            f"cannot write to the cache ({os.path.dirname(dest)}): {exc.strerror or exc}"
        ) from exc
    made: list[int] = []

    def twin() -> int | None:
        """Asked by the backend (in its copying thread) for big objects only."""
        fd = spares.new_file() if spares is not None and spares.wants(oid) else None
        if fd is not None:
            made.append(fd)
        return fd

    try:
        _check_download(remote, oid, remote.download(object_relpath(md5, legacy), Path(tmp), twin))
        os.chmod(tmp, OBJECT_MODE)
        size = os.stat(tmp).st_size if made else -1
        os.replace(tmp, dest)
        if not legacy:
            odb.mark_verified(md5)
        if made and os.fstat(made[0]).st_size == size:  # else the twin failed: short
            links.offer_spare(dest, made.pop())
    finally:
        for fd in made:
            os.close(fd)
        if os.path.lexists(tmp):
            os.unlink(tmp)


def _check_download(remote: Remote, oid: Oid, actual: str) -> None:
    """Refuse a downloaded object whose bytes do not hash to its name (legacy ids hash
    dos2unix text, which `cache verify` checks)."""
    md5, legacy = oid
    if not legacy and actual != md5.removesuffix(DIR_SUFFIX):
        raise CacheError(
            f"object {md5} on remote '{remote.url}' is corrupted (its content hashes to {actual})",
            hint="push it again from a machine that has the right data",
        )


def _store_body(odb: ODB, remote: Remote, oid: Oid, body: bytes) -> None:
    """A whole downloaded object: verified in memory, then written into the cache in one
    step (`ODB.add_bytes`), so nothing unverified is ever named in the cache."""
    md5, legacy = oid
    _check_download(remote, oid, hashlib.md5(body).hexdigest())
    odb.add_bytes(md5, body, legacy)
    if not legacy and len(body) >= VERIFIED_MEMO_MIN:
        odb.mark_verified(md5)


def _download_all(
    odb: ODB, remote: Remote, oids: list[Oid], jobs: int | None, spares: _Spares | None = None
) -> dict[str, str]:
    """Download `oids`; {md5: reason} of the failed. S3 GETs run on fsspec's event loop
    and small bodies are stored from memory; big ones, and other backends, stream in a
    thread each (`_download`)."""
    if not (isinstance(remote, FsspecRemote) and remote.batches):
        return _run(lambda o: _download(odb, remote, o, spares), oids, jobs)
    relpaths = [object_relpath(*o) for o in oids]
    big, failed = remote.download_many(
        relpaths, lambda i, body: _store_body(odb, remote, oids[i], body), jobs or default_jobs()
    )
    reasons = {oids[i][0]: exc.message for i, exc in failed.items()}
    reasons.update(_run(lambda o: _download(odb, remote, o, spares), [oids[i] for i in big], jobs))
    return reasons


def _run(fn: Callable[[Oid], None], items: list[Oid], jobs: int | None) -> dict[str, str]:
    """Run `fn` over `items` in threads; {md5: reason} of the ones that failed."""
    failed: dict[str, str] = {}

    def one(oid: Oid) -> None:
        try:
            fn(oid)
        except XptError as exc:
            failed[oid[0]] = exc.message

    if items:
        with ThreadPoolExecutor(max_workers=jobs or default_jobs()) as pool:
            list(pool.map(one, items))
    return failed


def push(
    project: Project, remote: Remote, oids: set[Oid], jobs: int | None = None
) -> TransferResult:
    """Upload the objects of `oids` (and their trees' files) the remote lacks."""
    odb = ODB(project.cache_dir, StateDB(project.state_db))  # opened only for big objects
    everything = expand_dirs(odb, oids)
    result = TransferResult()
    local = []
    for oid in sorted(everything):
        if odb.exists(oid[0], legacy=oid[1]):
            local.append(oid)
        else:
            result.failed[oid[0]] = "not in the local cache"
    there = present_on(remote, local, jobs)
    result.present = len(there)
    todo = [oid for oid in local if oid not in there]
    # files first, .dir objects last: a tree on the remote implies its files are there
    todo.sort(key=lambda o: o[0].endswith(DIR_SUFFIX))
    files = [o for o in todo if not o[0].endswith(DIR_SUFFIX)]
    dirs = [o for o in todo if o[0].endswith(DIR_SUFFIX)]
    folders = {posixpath.dirname(object_relpath(*o)) for o in todo}
    remote.remove_litter(remote.litter_in(folders))  # temp files of killed pushes
    result.failed.update(_upload_all(odb, remote, files, jobs))
    if not result.failed:
        result.failed.update(_upload_all(odb, remote, dirs, jobs))
    result.transferred = [o[0] for o in todo if o[0] not in result.failed]
    return result


_CHECKOUT_FOLLOWS: ContextVar[Path | None] = ContextVar("xpt_checkout_follows", default=None)


@contextlib.contextmanager
def checkout_follows(project: Project) -> Iterator[None]:
    """Around a fetch followed by a checkout of `project` (`pull`): the fetch leaves
    spare copies of the big objects the workspace uses; spares not taken are freed."""
    token = _CHECKOUT_FOLLOWS.set(project.root)
    try:
        yield
    finally:
        _CHECKOUT_FOLLOWS.reset(token)
        links.drop_spares()


def pull_checkout(
    project: Project,
    targets: list[str],
    *,
    allow_missing: bool = False,
    force: bool = False,
    recursive: bool = False,
) -> CheckoutResult:
    """The checkout half of `pull` (under the workspace lock): workspace files whose
    content is in no cache object are replaced only with `force`; DVC's wording else."""
    from xpt.repro.checkout import checkout_project

    try:
        return checkout_project(
            project,
            targets,
            allow_missing=allow_missing,
            unsaved="replace" if force else "refuse",
            recursive=recursive,
        )
    except UnsavedChanges as exc:  # DVC's wording and exit code for pull
        raise CacheError(f"failed to pull data from the cloud - {exc.message}") from exc


class _Spares:
    """Where a fetch followed by a checkout puts spare copies, and of which objects: the
    files the workspace's outputs check out (read on first need: most fetches never ask)."""

    def __init__(self, project: Project, odb: ODB) -> None:
        self.project = project
        self.odb = odb
        self._wanted: set[Oid] | None = None
        self._lock = threading.Lock()

    @staticmethod
    def for_fetch(project: Project, odb: ODB) -> _Spares | None:
        """Spares only inside `checkout_follows`, and only if that checkout makes copies
        (`cache.type` starting with reflink or copy and allowing copy)."""
        from xpt.repro.workspace import link_types_of

        if _CHECKOUT_FOLLOWS.get() != project.root:
            return None
        types = link_types_of(project)
        if "copy" not in types or types[0] not in ("reflink", "copy"):
            return None
        return _Spares(project, odb)

    def wants(self, oid: Oid) -> bool:
        with self._lock:
            if self._wanted is None:
                root = self.project.root
                try:
                    used = outputs_at(workspace_reader(root), find_dvcfiles(root) or [DVCFILE])
                    self._wanted = expand_dirs(self.odb, used)
                except (XptError, OSError):
                    self._wanted = set()  # no spares: the checkout copies as usual
        return oid in self._wanted

    def new_file(self) -> int | None:
        """An unnamed file in the workspace root (any folder of that filesystem will do)."""
        return links.unnamed_file(os.fspath(self.project.root))


def fetch(
    project: Project, remote: Remote | None, oids: set[Oid], jobs: int | None = None
) -> TransferResult:
    """Download (and verify) the objects of `oids` missing from the local cache (none
    without a remote)."""
    result = TransferResult()
    if remote is None:
        return result
    odb = ODB(project.cache_dir, StateDB(project.state_db))  # remembers big verified objects
    dirs = [o for o in oids if o[0].endswith(DIR_SUFFIX) and not odb.exists(o[0], legacy=o[1])]
    result.failed.update(_download_all(odb, remote, dirs, jobs))
    everything = expand_dirs(odb, oids)
    tried = set(dirs)
    todo = [o for o in sorted(everything) if o not in tried and not odb.exists(o[0], legacy=o[1])]
    result.present = len(everything) - len(todo) - len(dirs)
    spares = _Spares.for_fetch(project, odb)
    result.failed.update(_download_all(odb, remote, todo, jobs, spares))
    result.transferred = [o[0] for o in dirs + todo if o[0] not in result.failed]
    return result
