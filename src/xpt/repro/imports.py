"""import / get (from a git repository) and import-url / get-url (a path or URL), update.

A repository source is a local path opened in place (its own cache is used first) or a
URL cloned with the git CLI into a temporary folder. The data a path stands for there is
found the way DVC finds it: an output recorded in that commit's `.dvc` / `dvc.lock` files
(or a file or folder inside one), else a file or folder git tracks. Objects come from the
source's cache, then its default remote, and are verified as they land in our cache.
URL sources are hashed while they are copied. `.dvc` files are written by
`pipeline/dvcfile.py`.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from xpt.cache.digest import HashInfo, TreeEntry, md5_bytes
from xpt.cache.odb import ODB
from xpt.cache.outputs import checkout_output, remove_output
from xpt.cache.remote_backends import Remote, open_remote
from xpt.config import config_path, parse_config_text
from xpt.errors import CacheError, PipelineError, RemoteError
from xpt.pipeline import dvcfile as dvcfiles
from xpt.pipeline.dvcfile import DvcFile, DvcItem, RepoSource
from xpt.project import Project
from xpt.repro.datastatus import recorded_outputs
from xpt.repro.transfer.sync import expand_dirs, fetch
from xpt.repro.workspace import git_if_any, open_workspace
from xpt.utils.dvcnames import DVC_DIR, DVC_SUFFIX, DVCFILE
from xpt.utils.fsutil import is_inside, posix_rel

if TYPE_CHECKING:
    from xpt.scm.git import Git

# --- the source repository ------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """A git repository at one commit, and where its data can come from."""

    url: str
    sha: str
    remotes: list[Remote]


@contextlib.contextmanager
def open_source(url: str, rev: str | None, *, base: Path) -> Iterator[tuple[Source, Git]]:
    """The repository at `url` (a path relative to `base`, or a URL) at `rev` (default HEAD)."""
    from xpt.scm.git import Git, clone

    local = Path(url).expanduser()
    if not local.is_absolute():
        local = base / local
    tmp: str | None = None
    try:
        if "://" not in url:
            if not local.is_dir():
                raise PipelineError(f"'{url}' is not a git repository (no such folder)")
            git = Git(local)
            root: Path | None = local
        else:
            tmp = tempfile.mkdtemp(prefix="xpt-import-")
            git = clone(url, Path(tmp) / "repo")
            root = None
        sha = git.resolve(rev or "HEAD")
        if sha is None:
            raise PipelineError(f"unknown Git revision '{rev or 'HEAD'}' in '{url}'")
        yield Source(url, sha, _source_remotes(git, sha, root)), git
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def _source_remotes(git: Git, sha: str, root: Path | None) -> list[Remote]:
    """The source's own cache (a local repository), then its default remote at `sha`."""
    from xpt.cache.remote_backends import LocalRemote

    remotes: list[Remote] = []
    read = git.reader(sha)
    config = config_path(Path(DVC_DIR)).as_posix()
    raw = read(config)
    sections = parse_config_text(raw.decode("utf-8", "replace"), config) if raw else {}
    if root is not None:
        cache = Project(root).cache_dir
        if cache.is_dir():
            remotes.append(LocalRemote(cache))
    default = (sections.get("core") or {}).get("remote")
    options = sections.get(f'remote "{default}"') if default else None
    if options and options.get("url"):
        url = options["url"]
        if root is None and "://" not in url and not os.path.isabs(url):
            return remotes  # a relative local remote of a clone: nothing to read there
        remotes.append(open_remote(url, dict(options), (root or Path(".")) / DVC_DIR))
    return remotes


def locate(source: Source, git: Git, path: str, project: Project) -> HashInfo:
    """Find `path` in the source commit; objects it needs are fetched into the cache."""
    path = posixpath.normpath(path.strip("/"))
    if path.startswith("../") or path == "..":
        raise PipelineError(f"'{path}' is outside the repository '{source.url}'")
    read = git.reader(source.sha)
    listing = git.list_tree(source.sha)
    files = [p for p in listing if p.rsplit("/", 1)[-1] == DVCFILE or dvcfiles.is_dvcfile(p)]
    recorded = recorded_outputs(read, sorted(files))
    odb = ODB(project.cache_dir)
    for out, info in recorded.items():
        if info is None or not (path == out or path.startswith(out + "/")):
            continue
        oid = (info.md5, info.legacy)
        if path == out:
            fetch_objects(project, source, {oid})
            return info
        fetch_objects(project, source, {oid}, expand=False)
        return _inside(project, source, odb, info, path[len(out) + 1 :], path)
    blobs = [p for p in listing if p == path or p.startswith(path + "/")]
    if not blobs:
        raise PipelineError(f"'{path}' does not exist in '{source.url}'")
    data = {("" if p == path else p[len(path) + 1 :]): read(p) or b"" for p in blobs}
    for content in data.values():
        odb.add_bytes(md5_bytes(content), content)
    if "" in data:
        return HashInfo(md5_bytes(data[""]), len(data[""]))
    entries = [TreeEntry(rel, md5_bytes(b), len(b), False) for rel, b in sorted(data.items())]
    return odb.add_tree(entries)


def _inside(
    project: Project, source: Source, odb: ODB, info: HashInfo, rel: str, shown: str
) -> HashInfo:
    """A file or folder inside a recorded folder (a folder gets its own `.dir` object)."""
    tree = odb.load_tree(info.md5, info.legacy)
    for relpath, md5 in tree:
        if relpath == rel:
            fetch_objects(project, source, {(md5, info.legacy)})
            st = odb.object_stat(md5, info.legacy)
            return HashInfo(md5, st.st_size if st else 0, legacy=info.legacy)
    sub = [(r[len(rel) + 1 :], m) for r, m in tree if r.startswith(rel + "/")]
    if not sub:
        raise PipelineError(f"'{shown}' does not exist in '{source.url}'")
    fetch_objects(project, source, {(m, info.legacy) for _r, m in sub})
    entries = []
    for r, m in sub:
        st = odb.object_stat(m, info.legacy)
        entries.append(TreeEntry(r, m, st.st_size if st else 0, False))
    return odb.add_tree(entries, info.legacy)


def fetch_objects(
    project: Project, source: Source, oids: set[tuple[str, bool]], *, expand: bool = True
) -> None:
    """Bring objects (and the files of trees) into the project's cache from the source."""
    odb = ODB(project.cache_dir)
    wanted = expand_dirs(odb, oids) if expand else set(oids)
    for remote in source.remotes:
        missing = {o for o in wanted if not odb.exists(o[0], legacy=o[1])}
        if not missing:
            return
        fetch(project, remote, missing)
        if expand:
            wanted = expand_dirs(odb, oids)
    absent = [o for o in wanted if not ODB(project.cache_dir).exists(o[0], legacy=o[1])]
    if absent:
        raise CacheError(
            f"{len(absent)} object(s) of '{source.url}' are neither in its cache nor on its "
            "default remote",
            hint=f"run `xpt push` in '{source.url}'",
        )


# --- import / get --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    out: str
    """Repo-relative path of the data."""
    dvcfile: str | None
    changed: list[str]


def _out_path(project: Project, cwd: Path, out: str | None, src_path: str) -> tuple[Path, str]:
    target = Path(os.path.abspath(cwd / (out or posixpath.basename(src_path.rstrip("/")))))
    if target.is_dir() and out is not None:
        target = target / posixpath.basename(src_path.rstrip("/"))
    root = project.root.resolve()
    if not is_inside(str(target), str(root)) or target == root:
        raise PipelineError(f"'{out or src_path}' is outside the project '{root}'")
    return target, posix_rel(target, root)


def _check_free(project: Project, target: Path, rel: str, force: bool) -> str:
    dvcfile = dvcfiles.dvcfile_for(rel)
    git = git_if_any(project)
    if git is not None and git.is_tracked(posix_rel(project.root / rel, git.root)):
        raise PipelineError(
            f"output '{rel}' is already tracked by SCM (e.g. Git)",
            hint=f"stop tracking it with `git rm -r --cached '{rel}'`, or pick another -o",
        )
    if force:
        return dvcfile
    if os.path.lexists(target):
        raise _exists(target)
    if os.path.lexists(project.root / dvcfile):
        raise PipelineError(
            f"'{dvcfile}' already exists", hint="to override it, re-run with '--force'"
        )
    return dvcfile


def _place(project: Project, target: Path, info: HashInfo, force: bool) -> None:
    """Check the data out of the cache at `target` (replacing what is there with force)."""
    if force and os.path.lexists(target):
        remove_output(target)
    with open_workspace(project) as ws:
        checkout_output(ws.odb, target, info, ws.link_types, hasher=ws.hasher, root=project.root)


def _finish(project: Project, dvc: DvcFile, rel: str, no_exec: bool = False) -> list[str]:
    """Write the `.dvc` file (with DVC's `md5:`, none for --no-exec) and `.gitignore`."""
    dvc = replace(dvc, md5=None if no_exec else dvcfiles.stage_md5(dvc))
    dvcfiles.write(str(project.root), dvc)
    changed = [dvc.path]
    git = git_if_any(project)
    if git is not None:
        from xpt.scm.gitignore import ignore_output

        written = ignore_output(project.root, git, rel)
        if written:
            changed.append(posix_rel(written, project.root))
    return changed


def _item(path: str, info: HashInfo | None) -> DvcItem:
    """A `.dvc` entry for `path` recording `info` (none yet with --no-exec)."""
    if info is None:
        return DvcItem(path=path)
    return DvcItem(path=path, md5=info.md5, size=info.size, nfiles=info.nfiles)


def _out_item(dvc_path: str, rel: str, info: HashInfo | None) -> DvcItem:
    return _item(posixpath.relpath(rel, posixpath.dirname(dvc_path) or "."), info)


def _plain_target(cwd: Path, out: str | None, name: str, force: bool) -> Path:
    """Where `get`/`get-url` write (inside an existing folder named by `-o`)."""
    target = Path(os.path.abspath(cwd / (out or name)))
    if target.is_dir() and out is not None:
        target = target / name
    if os.path.lexists(target) and not force:
        raise _exists(target)
    return target


def _exists(target: Path) -> PipelineError:
    return PipelineError(
        f"The file '{target.name}' already exists locally.",
        hint="to override it, re-run with '--force'",
    )


def import_repo(
    project: Project,
    cwd: Path,
    url: str,
    path: str,
    *,
    out: str | None = None,
    rev: str | None = None,
    force: bool = False,
    no_exec: bool = False,
    no_download: bool = False,
) -> ImportResult:
    """`import URL PATH`: track data of another repository in a frozen `.dvc` file."""
    target, rel = _out_path(project, cwd, out, path)
    dvc_path = _check_free(project, target, rel, force)
    with open_source(url, rev, base=cwd) as (source, git):
        fetched = no_exec or no_download
        info = None if fetched else locate(source, git, path, project)
    # like DVC: --no-exec records no commit and no hash; --no-download the commit only
    lock = None if no_exec else source.sha
    dep = DvcItem(path=path, hash=None, repo=RepoSource(url, rev, lock))
    dvc = DvcFile(path=dvc_path, deps=(dep,), outs=(_out_item(dvc_path, rel, info),), frozen=True)
    if info is not None:
        _place(project, target, info, force)
    return ImportResult(rel, dvc_path, _finish(project, dvc, rel, no_exec))


def get_repo(
    cwd: Path,
    url: str,
    path: str,
    *,
    out: str | None = None,
    rev: str | None = None,
    force: bool = False,
) -> Path:
    """`get URL PATH`: a plain copy of the data, nothing tracked."""
    target = _plain_target(cwd, out, posixpath.basename(path.rstrip("/")), force)
    with _scratch_project() as scratch, open_source(url, rev, base=cwd) as (source, git):
        info = locate(source, git, path, scratch)
        if os.path.lexists(target):
            remove_output(target)
        checkout_output(ODB(scratch.cache_dir), target, info, ("copy",), root=target.parent)
    return target


def show_url(cwd: Path, url: str, path: str, rev: str | None) -> str:
    """Where `get` would download `path` from (the source's default remote, else its cache)."""
    from xpt.cache.odb import object_relpath

    with _scratch_project() as scratch, open_source(url, rev, base=cwd) as (source, git):
        read = git.reader(source.sha)
        listing = git.list_tree(source.sha)
        files = [p for p in listing if p.rsplit("/", 1)[-1] == DVCFILE or dvcfiles.is_dvcfile(p)]
        recorded = recorded_outputs(read, sorted(files))
        info = recorded.get(posixpath.normpath(path.strip("/")))
        if info is None:
            info = locate(source, git, path, scratch)
        if not source.remotes:
            raise RemoteError(f"'{url}' has no cache or default remote to read from")
        return f"{source.remotes[-1].url.rstrip('/')}/{object_relpath(info.md5, info.legacy)}"


@contextlib.contextmanager
def _scratch_project() -> Iterator[Project]:
    """A throw-away project whose cache receives what `get` downloads."""
    tmp = Path(tempfile.mkdtemp(prefix="xpt-get-"))
    try:
        (tmp / DVC_DIR).mkdir()
        yield Project(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- import-url / get-url ------------------------------------------------------------------------


def _url_store(url: str, cwd: Path, fs_config: dict[str, str]) -> tuple[Remote, str]:
    """A store rooted at the URL's parent, and the name of the file or folder in it."""
    if "://" in url and not url.startswith("file://"):
        parent, _sep, name = url.rstrip("/").rpartition("/")
        if not name or parent.endswith(":/"):
            raise PipelineError(f"'{url}' names no file or folder")
        return open_remote(parent, fs_config, cwd), name
    local = Path(os.path.abspath(cwd / Path(url.removeprefix("file://")).expanduser()))
    if not os.path.exists(local):
        raise PipelineError(
            f"dependency '{url}' does not exist",
            hint="check the path; a URL needs its scheme (s3://...)",
        )
    return open_remote(str(local.parent), {}, cwd), local.name


def fetch_url(odb: ODB, url: str, cwd: Path, fs_config: dict[str, str]) -> HashInfo:
    """Copy the file or folder at `url` into the cache, hashing it on the way."""
    store, name = _url_store(url, cwd, fs_config)
    files = [f for f in store.list_files(name) if f == name or f.startswith(name + "/")]
    if not files:
        if not store.exists(name):
            raise PipelineError(f"dependency '{url}' does not exist")
        files = [name]
    if files == [name]:
        md5, size = _download_one(odb, store, name)
        return HashInfo(md5, size)
    entries = []
    for f in sorted(files):
        md5, size = _download_one(odb, store, f)
        entries.append(TreeEntry(f[len(name) + 1 :], md5, size, False))
    return odb.add_tree(entries)


def _download_one(odb: ODB, store: Remote, relpath: str) -> tuple[str, int]:
    tmp = odb.staging_path()
    try:
        md5 = store.download(relpath, Path(tmp))
        size = os.stat(tmp).st_size
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    odb.commit_staged(tmp, md5)
    return md5, size


def import_url(
    project: Project,
    cwd: Path,
    url: str,
    *,
    out: str | None = None,
    force: bool = False,
    no_exec: bool = False,
    no_download: bool = False,
    fs_config: dict[str, str] | None = None,
) -> ImportResult:
    """`import-url URL [OUT]`: copy a path or URL into the cache and track it.

    A `file://` URL is recorded as the plain path (DVC cannot read `file://` imports).
    """
    url = url.removeprefix("file://") if url.startswith("file:///") else url
    name = url.rstrip("/").rpartition("/")[2]
    target, rel = _out_path(project, cwd, out, name)
    dvc_path = _check_free(project, target, rel, force)
    info = None
    if not no_exec:
        info = fetch_url(ODB(project.cache_dir), url, cwd, fs_config or {})
    out_info = None if no_download else info
    dvc = DvcFile(
        path=dvc_path,
        deps=(_item(url, info),),
        outs=(_out_item(dvc_path, rel, out_info),),
        frozen=True,
    )
    if out_info is not None:
        _place(project, target, out_info, force)
    return ImportResult(rel, dvc_path, _finish(project, dvc, rel, no_exec))


def get_url(
    cwd: Path, url: str, *, out: str | None = None, force: bool = False, fs_config: dict[str, str]
) -> Path:
    """`get-url URL [OUT]`: a plain copy."""
    target = _plain_target(cwd, out, url.rstrip("/").rpartition("/")[2], force)
    with _scratch_project() as scratch:
        odb = ODB(scratch.cache_dir)
        info = fetch_url(odb, url, cwd, fs_config)
        if os.path.lexists(target):
            remove_output(target)
        checkout_output(odb, target, info, ("copy",), root=target.parent)
    return target


# --- update ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Updated:
    dvcfile: str
    source: str
    out: str
    changed: bool


def update(
    project: Project,
    cwd: Path,
    targets: list[str],
    *,
    rev: str | None = None,
    recursive: bool = False,
    no_download: bool = False,
) -> list[Updated]:
    """Bring imports up to date with their source (a new commit, or new data at the URL)."""
    root = project.root.resolve()
    paths: list[str] = []
    for target in targets:
        full = Path(os.path.abspath(cwd / target))
        if recursive and full.is_dir():
            from xpt.pipeline.parse import find_dvcfiles

            prefix = posix_rel(full, root)
            paths += [
                p
                for p in find_dvcfiles(root)
                if dvcfiles.is_dvcfile(p) and (prefix in ("", ".") or p.startswith(prefix + "/"))
            ]
            continue
        if not dvcfiles.is_dvcfile(full.name) and os.path.exists(str(full) + DVC_SUFFIX):
            full = Path(str(full) + DVC_SUFFIX)
        if not full.is_file() or not is_inside(str(full), str(root)):
            raise PipelineError(f"'{target}' does not exist")
        paths.append(posix_rel(full, root))
    from xpt.pipeline.parse import workspace_reader

    done = []
    for path in paths:
        dvc = dvcfiles.read(workspace_reader(root), path)
        if dvc is None or not dvc.is_import:
            if recursive:
                continue
            raise PipelineError(
                f"'{path}' is not an import", hint="`xpt update` takes import .dvc files"
            )
        done.append(_update_one(project, dvc, rev, no_download))
    return done


def _update_one(project: Project, dvc: DvcFile, rev: str | None, no_download: bool) -> Updated:
    dep, out = dvc.deps[0], dvc.outs[0]
    out_rel = dvc.repo_path(out.path)
    target = project.root / out_rel
    base = project.root / dvc.base_dir
    if dep.repo is not None:
        wanted_rev = rev if rev is not None else dep.repo.rev
        with open_source(dep.repo.url, wanted_rev, base=base) as (source, git):
            info = locate(source, git, dep.path, project)
        repo = replace(dep.repo, rev=wanted_rev, rev_lock=source.sha)
        new_dep = replace(dep, repo=repo)
        shown = f"{dep.path} ({dep.repo.url})"
    else:
        info = fetch_url(ODB(project.cache_dir), dep.path, base, {})
        new_dep = replace(_item(dep.path, info), extra=dep.extra)
        shown = dep.path
    changed = info.md5 != out.md5 or new_dep != dep or not os.path.exists(target)
    new_out = out.with_hash(info.md5, info.size, info.nfiles)
    if changed:
        if not no_download:
            _place(project, target, info, True)
        updated = replace(dvc, deps=(new_dep,), outs=(new_out,), md5=None)
        updated = replace(updated, md5=dvcfiles.stage_md5(updated))
        dvcfiles.write(str(project.root), updated)
    return Updated(dvc.path, shown, out_rel, changed)
