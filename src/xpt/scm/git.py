"""The one module that touches git: objects and refs through pygit2, in-process.

Experiment commits are built in a scratch in-memory index (a copy of the user's index
plus work-tree files), so the user's index, HEAD and branch never move. Refs change
with compare-and-swap. The `git` executable is used only for the network (push,
fetch, ls-remote) so that the user's credential helpers, SSH config and URL
rewrites apply. Every pygit2/OSError failure leaves this module as a `ScmError`.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import os
import posixpath
import shutil
import stat
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pygit2
from pygit2.enums import (
    CheckoutStrategy,
    ConfigLevel,
    FileMode,
    FileStatus,
    ObjectType,
    SortMode,
)

from xpt.errors import ScmError, UnsafePath
from xpt.utils.dvcnames import is_pipeline_file
from xpt.utils.fsutil import atomic_write_bytes, current_umask, resolve_inside
from xpt.utils.oids import is_safe_tree_name

Reader = Callable[[str], "bytes | None"]
Expected = str | None | Literal["any"]

MODE_FILE = FileMode.BLOB  # 0o100644
MODE_EXEC = FileMode.BLOB_EXECUTABLE  # 0o100755
MODE_LINK = FileMode.LINK  # 0o120000
MODE_GITLINK = FileMode.COMMIT  # 0o160000

IDENTITY_HINT = (
    'run `git config --global user.name "Your Name"` and '
    "`git config --global user.email you@example.com`"
)
SHARED_OBJECTS_MARKER = "xpt-shared-objects"

_EXECUTOR_CONFIG = (
    "user.name",
    "user.email",
    "core.filemode",
    "core.autocrlf",
    "core.symlinks",
    "core.ignorecase",
    "core.precomposeunicode",
)
"""Settings an executor workspace takes from the main repository (what `git init` probed
about the filesystem included: its own probe is skipped)."""

_TRACKED_CHANGE = (
    FileStatus.WT_MODIFIED
    | FileStatus.WT_DELETED
    | FileStatus.WT_TYPECHANGE
    | FileStatus.WT_RENAMED
)
_MODIFIED = (
    FileStatus.INDEX_MODIFIED
    | FileStatus.INDEX_TYPECHANGE
    | FileStatus.INDEX_RENAMED
    | FileStatus.WT_MODIFIED
    | FileStatus.WT_TYPECHANGE
    | FileStatus.WT_RENAMED
    | FileStatus.CONFLICTED
)
_DELETED = FileStatus.INDEX_DELETED | FileStatus.WT_DELETED

# blob oid -> content; blobs are immutable so the memo never goes stale
_BLOB_MEMO: dict[bytes, bytes] = {}
_BLOB_MEMO_MAX_ENTRIES = 4096
_BLOB_MEMO_MAX_SIZE = 1 << 20
_HEX = frozenset("0123456789abcdef")
_SEARCH_PATHS: tuple[str, str, bool] | None = None
_SYSTEM_DEFAULT: str | None = None


@dataclass(frozen=True)
class CommitInfo:
    """What `exp show`, `exp list` and friends need to know about one commit."""

    sha: str
    parents: tuple[str, ...]
    message: str
    time: int
    tz_offset_minutes: int
    author: str
    author_email: str
    tree: str


@dataclass(frozen=True)
class WorkspaceStatus:
    """Repo-relative posix paths by kind of change (like `git status`, untracked=all)."""

    modified: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    untracked: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.modified or self.deleted or self.added or self.untracked)


def _sync_config_search_paths() -> None:
    """libgit2 reads HOME once at import; follow the current HOME like the git CLI does."""
    global _SEARCH_PATHS, _SYSTEM_DEFAULT
    home = os.environ.get("HOME") or os.path.expanduser("~")
    xdg = os.path.join(os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config"), "git")
    nosystem = os.environ.get("GIT_CONFIG_NOSYSTEM", "").lower() in ("1", "true", "yes")
    wanted = (home, xdg, nosystem)
    if wanted == _SEARCH_PATHS:
        return
    paths = pygit2.settings.search_path
    if _SYSTEM_DEFAULT is None:
        _SYSTEM_DEFAULT = paths[ConfigLevel.SYSTEM]
    paths[ConfigLevel.GLOBAL] = home
    paths[ConfigLevel.XDG] = xdg
    paths[ConfigLevel.SYSTEM] = "" if nosystem else _SYSTEM_DEFAULT
    _SEARCH_PATHS = wanted


@contextlib.contextmanager
def _translated(what: str) -> Iterator[None]:
    """Turn pygit2/OS failures into one-line ScmErrors naming the operation."""
    try:
        yield
    except ScmError:
        raise
    except (pygit2.GitError, OSError, KeyError, ValueError) as exc:
        raise ScmError(f"git: {what} failed: {exc}") from exc


def norm_path(path: str) -> str:
    """Repo-relative posix path without `./`; refuses paths leaving the repository."""
    clean = posixpath.normpath(path.replace(os.sep, "/")).lstrip("/") if path else ""
    if clean in ("", "."):
        return ""
    if clean == ".." or clean.startswith("../"):
        raise ScmError(f"path '{path}' is outside the git repository")
    return clean


_norm_path_memo = functools.lru_cache(maxsize=1024)(norm_path)
"""`norm_path` of the few paths every revision's reader is asked for, again and again."""


def _parse_date(var: str, value: str) -> tuple[int, int]:
    """(epoch, offset minutes) from GIT_*_DATE: `@<epoch> [+hhmm]`, `<epoch> [+hhmm]`, ISO."""
    parts = value.strip().lstrip("@").split()
    try:
        if parts and parts[0].isdigit():
            offset = 0
            if len(parts) > 1:
                sign = -1 if parts[1][0] == "-" else 1
                digits = parts[1].lstrip("+-")
                offset = sign * (int(digits[:2]) * 60 + int(digits[2:4]))
            return int(parts[0]), offset
        moment = datetime.datetime.fromisoformat(value.strip())
    except (ValueError, IndexError) as exc:
        raise ScmError(f"cannot parse {var}='{value}'", hint="use `@<epoch> +0000`") from exc
    if moment.tzinfo is None:
        moment = moment.astimezone()
    utcoffset = moment.utcoffset() or datetime.timedelta(0)
    return int(moment.timestamp()), int(utcoffset.total_seconds() // 60)


def _now() -> tuple[int, int]:
    moment = datetime.datetime.now().astimezone()
    utcoffset = moment.utcoffset() or datetime.timedelta(0)
    return int(time.time()), int(utcoffset.total_seconds() // 60)


def _refspec_dst(spec: str) -> str:
    src, _, dst = spec.lstrip("+").partition(":")
    return dst or src


def _config_text(settings: dict[str, str]) -> str:
    """A git config file holding `settings` ("section.key" -> value), values quoted."""
    sections: dict[str, list[str]] = {}
    for name, value in settings.items():
        section, key = name.split(".", 1)
        quoted = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        sections.setdefault(section, []).append(f'\t{key} = "{quoted}"\n')
    return "".join(f"[{section}]\n" + "".join(lines) for section, lines in sections.items())


class Git:
    """A git repository with a work tree, found from any path inside it."""

    def __init__(self, root: Path | str) -> None:
        _sync_config_search_paths()
        path = os.fspath(root)
        try:
            gitdir = pygit2.discover_repository(path)
        except (pygit2.GitError, OSError, KeyError):
            gitdir = None
        if gitdir is None:
            raise ScmError(f"'{path}' is not a git repository", hint="run `git init`")
        with _translated(f"opening the repository at '{path}'"):
            self._repo = pygit2.Repository(gitdir)
        self._infos: dict[str, CommitInfo] = {}
        self._named: dict[str, list[str]] = {}
        workdir = self._repo.workdir
        if self._repo.is_bare or not workdir:
            raise ScmError(
                f"'{path}' is a bare git repository", hint="use a clone with a work tree"
            )
        self.root = Path(workdir.rstrip("/") or "/")
        self._attach_shared_objects()

    def __repr__(self) -> str:
        return f"Git({str(self.root)!r})"

    @property
    def git_dir(self) -> Path:
        return Path(self._repo.path)

    # -- commits ------------------------------------------------------------------

    def head_sha(self) -> str | None:
        """The commit HEAD points at; None in a repository without commits."""
        with _translated("reading HEAD"):
            if self._repo.head_is_unborn:
                return None
            return str(self._repo.head.target)

    def head_branch(self) -> str | None:
        """Short name of the current branch (even if unborn); None when detached."""
        with _translated("reading HEAD"):
            if self._repo.head_is_detached:
                return None
            target = self._repo.references["HEAD"].target
        if isinstance(target, str) and target.startswith("refs/heads/"):
            return target[len("refs/heads/") :]
        return None

    def resolve(self, rev: str) -> str | None:
        """Full sha of a commit named by sha, short sha, branch, tag, `HEAD~n`, ref name."""
        if not rev:
            return None
        try:
            obj = self._repo.revparse_single(rev)
            return str(obj.peel(pygit2.Commit).id)
        except (KeyError, ValueError, pygit2.GitError):
            return None

    def _commit(self, rev: str) -> pygit2.Commit:
        """The commit object for a full sha (fast path) or any revision."""
        sha = rev if len(rev) == 40 and set(rev) <= _HEX else self.resolve(rev)
        try:
            if sha is None:
                raise KeyError(rev)
            return self._repo[sha].peel(pygit2.Commit)
        except (KeyError, ValueError, pygit2.GitError) as exc:
            raise ScmError(
                f"'{rev}' is not a commit in {self.root}", hint="check it with `git log`"
            ) from exc

    def commit_info(self, sha: str) -> CommitInfo:
        """A commit's metadata; memoised by full sha (commits never change)."""
        info = self._infos.get(sha)
        if info is None:
            info = self._commit_info(sha)
            if info.sha == sha:
                self._infos[sha] = info
        return info

    def _commit_info(self, sha: str) -> CommitInfo:
        commit = self._commit(sha)
        return CommitInfo(
            sha=str(commit.id),
            parents=tuple(str(p) for p in commit.parent_ids),
            message=commit.message,
            time=int(commit.commit_time),
            tz_offset_minutes=int(commit.commit_time_offset),
            author=commit.author.name,
            author_email=commit.author.email,
            tree=str(commit.tree_id),
        )

    def first_parents(self, sha: str, n: int) -> list[str]:
        """`sha` and its first-parent ancestors, at most `n` commits."""
        out: list[str] = []
        commit: pygit2.Commit | None = self._commit(sha)
        while commit is not None and len(out) < n:
            out.append(str(commit.id))
            commit = commit.parents[0] if commit.parent_ids else None
        return out

    def branches(self) -> dict[str, str]:
        """Local branch short name -> commit sha."""
        prefix = "refs/heads/"
        return {name[len(prefix) :]: sha for name, sha in self.list_refs(prefix).items()}

    def tags(self) -> dict[str, str]:
        """Tag name -> commit sha (annotated tags peeled; tags of non-commits skipped)."""
        out: dict[str, str] = {}
        prefix = "refs/tags/"
        for ref in self._repo.references.iterator():
            if not ref.name.startswith(prefix):
                continue
            with contextlib.suppress(KeyError, ValueError, pygit2.GitError):
                out[ref.name[len(prefix) :]] = str(ref.peel(pygit2.Commit).id)
        return out

    def all_commits(self) -> list[str]:
        """Every commit reachable from HEAD, branches and tags (newest first)."""
        starts = {*self.branches().values(), *self.tags().values()}
        head = self.head_sha()
        if head:
            starts.add(head)
        if not starts:
            return []
        with _translated("walking history"):
            walker = self._repo.walk(None, SortMode.TIME)
            for sha in sorted(starts):
                walker.push(pygit2.Oid(hex=sha))
            return [str(c.id) for c in walker]

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        a, d = self._commit(ancestor).id, self._commit(descendant).id
        if a == d:
            return True
        with _translated("comparing commits"):
            return bool(self._repo.descendant_of(d, a))

    def merge_base(self, a: str, b: str) -> str | None:
        oid_a, oid_b = self._commit(a).id, self._commit(b).id
        try:
            base = self._repo.merge_base(oid_a, oid_b)
        except (KeyError, pygit2.GitError):
            return None
        return str(base) if base else None

    # -- trees ----------------------------------------------------------------------

    def reader(self, rev: str) -> Reader:
        """A function reading repo-relative files as they are in commit `rev`."""
        repo = self._repo
        info = self._infos.get(rev)  # `exp show` has read the commit already: its tree
        tree = repo[info.tree].peel(pygit2.Tree) if info is not None else self._commit(rev).tree

        def read(path: str) -> bytes | None:
            try:
                rel = _norm_path_memo(path)
            except ScmError:
                return None
            if not rel:
                return None
            try:
                obj = tree[rel]
            except (KeyError, ValueError):
                return None
            if obj.type != ObjectType.BLOB:
                return None
            key = obj.id.raw
            data = _BLOB_MEMO.get(key)
            if data is None:
                data = repo[obj.id].read_raw()
                if len(data) <= _BLOB_MEMO_MAX_SIZE:
                    if len(_BLOB_MEMO) >= _BLOB_MEMO_MAX_ENTRIES:
                        _BLOB_MEMO.clear()
                    _BLOB_MEMO[key] = data
            return data

        # the revision's own pipeline files, for data commands covering many revisions
        read.pipeline_files = lambda: self._find_in(tree, "\0pipeline", is_pipeline_file)  # type: ignore[attr-defined]
        return read

    def list_tree(self, rev: str, prefix: str = "") -> dict[str, tuple[str, int]]:
        """path -> (blob oid hex, mode) for every file of commit `rev` under `prefix`."""
        tree = self._commit(rev).tree
        rel = norm_path(prefix)
        out: dict[str, tuple[str, int]] = {}
        if not rel:
            self._walk_tree(tree, "", out)
            return out
        try:
            obj = tree[rel]
        except (KeyError, ValueError):
            return out
        if isinstance(obj, pygit2.Tree):
            self._walk_tree(obj, rel + "/", out)
        else:
            out[rel] = (str(obj.id), int(obj.filemode))
        return out

    def find_named(self, rev: str, name: str) -> list[str]:
        """Paths of every file called `name` in commit `rev`, sorted.

        Subtrees are memoised by id, so the experiments of one baseline (which share
        almost every subtree) cost about one walk together.
        """
        return self._find_in(self._commit(rev).tree, name, lambda n: n == name)

    def _find_in(self, tree: pygit2.Tree, key: str, match: Callable[[str], bool]) -> list[str]:
        """Sorted paths of the files of `tree` whose name `match`es (memo: subtree id + key)."""
        memo = self._named

        def walk(tree: pygit2.Tree) -> list[str]:
            slot = f"{tree.id}\0{key}"
            if slot not in memo:
                found: list[str] = []
                for obj in tree:
                    if isinstance(obj, pygit2.Tree):
                        found.extend(f"{obj.name}/{p}" for p in walk(obj))
                    elif obj.name is not None and match(obj.name):
                        found.append(obj.name)
                memo[slot] = found
            return memo[slot]

        return sorted(walk(tree))

    def _walk_tree(self, tree: pygit2.Tree, base: str, out: dict[str, tuple[str, int]]) -> None:
        """Files of `tree`; a crafted entry name (`..`, `.git`, `a/b`, absolute, twice) is refused."""
        seen: set[str | None] = set()
        for obj in tree:
            if not is_safe_tree_name(obj.name) or obj.name in seen:
                twice = " twice" if obj.name in seen else ""
                raise UnsafePath(
                    f"git tree {str(tree.id)[:7]} has an entry named {obj.name!r}{twice} at "
                    f"'{base or './'}': refusing to write it into a work tree",
                    hint="the commit was crafted; remove the experiment or branch holding it",
                )
            seen.add(obj.name)
            path = base + (obj.name or "")
            if isinstance(obj, pygit2.Tree):
                self._walk_tree(obj, path + "/", out)
            else:
                out[path] = (str(obj.id), int(obj.filemode))

    # -- workspace inspection -----------------------------------------------------------

    def status(self) -> WorkspaceStatus:
        """Changes against HEAD/index; untracked files are listed one by one."""
        with _translated("reading the workspace status"):
            entries = self._repo.status(untracked_files="all", ignored=False)
        st = WorkspaceStatus()
        for path, flags in sorted(entries.items()):
            if flags & FileStatus.INDEX_NEW:
                st.added.append(path)
            elif flags & FileStatus.WT_NEW:
                st.untracked.append(path)
            if flags & _DELETED:
                st.deleted.append(path)
            elif flags & _MODIFIED and not flags & FileStatus.INDEX_NEW:
                st.modified.append(path)
        return st

    def is_tracked(self, path: str) -> bool:
        """True if the file, or any file under the directory, is in the index."""
        rel = norm_path(path)
        idx = self._scratch_index()
        if not rel:
            return len(idx) > 0
        if rel in idx:
            return True
        return _index_has_prefix(idx, rel + "/")

    def is_ignored(self, path: str) -> bool:
        """True if git's ignore rules match `path` (tracked or not)."""
        rel = norm_path(path)
        if not rel:
            return False
        with _translated(f"checking whether '{rel}' is ignored"):
            return bool(self._repo.path_is_ignored(rel))

    def add(self, paths: Iterable[str]) -> None:
        """`git add` these paths to the user's index (used by `init`, never by experiments)."""
        with _translated("updating the git index"):
            idx = self._repo.index
            idx.read(False)
            for path in paths:
                rel = norm_path(path)
                if os.path.lexists(self.root / rel):
                    idx.add(rel)
                elif rel in idx:
                    idx.remove(rel)
            idx.write()

    def index_state(self) -> tuple[tuple[int, int, int], dict[str, tuple[str, int]]]:
        """The user's index: its file's (inode, size, mtime) and every entry's (oid, mode)."""
        path = os.path.join(self._repo.path, "index")
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return (0, 0, 0), {}
        key = (st.st_ino, st.st_size, st.st_mtime_ns)
        return key, {e.path: (str(e.id), int(e.mode)) for e in self._scratch_index()}

    def restore_index(
        self, before: tuple[tuple[int, int, int], dict[str, tuple[str, int]]]
    ) -> None:
        """Undo what was staged since `index_state()` (dvclive `git add`s its files during
        `exp run`; DVC leaves the user's index as it was). Other entries keep their stat."""
        key, entries = before
        if self.index_state()[0] == key:
            return
        with _translated("updating the git index"):
            idx = self._repo.index
            idx.read(False)
            now = {e.path: (str(e.id), int(e.mode)) for e in idx}
            for path, item in now.items():
                if path not in entries:
                    idx.remove(path)
                elif entries[path] != item:
                    oid, mode = entries[path]
                    idx.add(pygit2.IndexEntry(path, pygit2.Oid(hex=oid), FileMode(mode)))
            for path in entries.keys() - now.keys():
                oid, mode = entries[path]
                idx.add(pygit2.IndexEntry(path, pygit2.Oid(hex=oid), FileMode(mode)))
            idx.write()

    # -- building commits in memory -------------------------------------------------------

    def snapshot_commit(
        self,
        parent: str,
        *,
        include_untracked: Iterable[str] = (),
        message: str,
        extra_files: Mapping[str, bytes] | None = None,
        exclude: Iterable[str] = (),
    ) -> str:
        """Commit the workspace as a child of `parent` without touching index, HEAD, branch.

        Tree = the user's index (HEAD + staged changes) + tracked files as they are in
        the work tree + the listed untracked paths + `extra_files`, minus `exclude`.
        """
        tree = self._workspace_tree(include_untracked, extra_files or {}, exclude)
        return self._make_commit(tree, [self._commit(parent).id], message)

    def create_commit(self, parents: list[str], tree_from_commit: str, message: str) -> str:
        """A new commit with the tree of `tree_from_commit` (e.g. to rebuild a chain)."""
        tree = self._commit(tree_from_commit).tree_id
        return self._make_commit(tree, [self._commit(p).id for p in parents], message)

    def backup_workspace(
        self, message: str, *, extra_files: Mapping[str, bytes] | None = None
    ) -> str | None:
        """Commit (parent HEAD) of tracked changes + untracked files; None if clean."""
        st = self.status()
        if st.clean:
            return None
        tree = self._workspace_tree(st.untracked, extra_files or {}, ())
        head = self.head_sha()
        return self._make_commit(tree, [pygit2.Oid(hex=head)] if head else [], message)

    def _workspace_tree(
        self, include: Iterable[str], extra: Mapping[str, bytes], exclude: Iterable[str]
    ) -> pygit2.Oid:
        idx = self._scratch_index()
        filemode = self._config_bool("core.filemode", True)
        with _translated("reading the workspace status"):
            changes = self._repo.status(untracked_files="no", ignored=False)
        with _translated("building the experiment tree"):
            for path, flags in changes.items():
                if flags & _TRACKED_CHANGE:
                    self._stage_from_workdir(idx, path, filemode, allow_dir=False)
            for path in include:
                self._stage_from_workdir(idx, norm_path(path), filemode, allow_dir=True)
            for path, data in extra.items():
                rel = norm_path(path)
                mode = idx[rel].mode if rel in idx else MODE_FILE
                mode = mode if mode in (MODE_FILE, MODE_EXEC) else MODE_FILE
                idx.add(pygit2.IndexEntry(rel, self._repo.create_blob(data), mode))
            _drop_paths(idx, [norm_path(p) for p in exclude])
        try:
            return idx.write_tree(self._repo)
        except pygit2.GitError as exc:
            if idx.conflicts is not None:
                raise ScmError(
                    "the git index has unresolved merge conflicts",
                    hint="resolve them and `git add` the files first",
                ) from exc
            raise ScmError(f"git: writing the experiment tree failed: {exc}") from exc

    def _stage_from_workdir(
        self, idx: pygit2.Index, rel: str, filemode: bool, *, allow_dir: bool
    ) -> None:
        """Put the work-tree state of `rel` (file, symlink or directory) into `idx`."""
        if not rel:
            return
        full = os.path.join(self.root, rel)
        try:
            st = os.lstat(full)
        except (FileNotFoundError, NotADirectoryError):
            if rel in idx:
                idx.remove(rel)
            return
        if stat.S_ISDIR(st.st_mode):
            if rel in idx:
                idx.remove(rel)
            if allow_dir:
                ignored = bool(self._repo.path_is_ignored(rel + "/"))
                self._stage_directory(idx, rel, filemode, honour_ignores=not ignored)
            return
        entry = self._workdir_entry(idx, rel, st, filemode)
        if entry is not None:
            idx.add(entry)

    def _stage_directory(
        self, idx: pygit2.Index, rel: str, filemode: bool, *, honour_ignores: bool
    ) -> None:
        for dirpath, dirnames, filenames in os.walk(os.path.join(self.root, rel)):
            base = Path(os.path.relpath(dirpath, self.root)).as_posix()
            keep = []
            for name in sorted(dirnames):
                sub = f"{base}/{name}"
                full = os.path.join(dirpath, name)
                if name == ".git" or (honour_ignores and self._repo.path_is_ignored(sub + "/")):
                    continue
                if os.path.islink(full):
                    filenames.append(name)
                    continue
                keep.append(name)
            dirnames[:] = keep
            for name in sorted(filenames):
                sub = f"{base}/{name}"
                if honour_ignores and self._repo.path_is_ignored(sub):
                    continue
                st = os.lstat(os.path.join(dirpath, name))
                entry = self._workdir_entry(idx, sub, st, filemode)
                if entry is not None:
                    idx.add(entry)

    def _workdir_entry(
        self, idx: pygit2.Index, rel: str, st: os.stat_result, filemode: bool
    ) -> pygit2.IndexEntry | None:
        full = os.path.join(self.root, rel)
        if stat.S_ISLNK(st.st_mode):
            oid = self._repo.create_blob(os.fsencode(os.readlink(full)))
            return pygit2.IndexEntry(rel, oid, MODE_LINK)
        if not stat.S_ISREG(st.st_mode):
            return None
        oid = self._repo.create_blob_fromworkdir(rel)
        if filemode:
            mode = MODE_EXEC if st.st_mode & 0o111 else MODE_FILE
        else:
            mode = idx[rel].mode if rel in idx else MODE_FILE
        return pygit2.IndexEntry(rel, oid, mode)

    def _scratch_index(self) -> pygit2.Index:
        """A private in-memory copy of the user's index (never written back)."""
        path = os.path.join(self._repo.path, "index")
        with _translated("reading the git index"):
            if os.path.exists(path):
                return pygit2.Index(path)
            idx = pygit2.Index()
            head = self.head_sha()
            if head:
                idx.read_tree(self._commit(head).tree)
            return idx

    def _make_commit(self, tree: pygit2.Oid, parents: list[pygit2.Oid], message: str) -> str:
        author = self._signature("AUTHOR")
        committer = self._signature("COMMITTER")
        text = message if message.endswith("\n") else message + "\n"
        with _translated("creating a commit"):
            return str(self._repo.create_commit(None, author, committer, text, tree, parents))

    def _signature(self, kind: Literal["AUTHOR", "COMMITTER"]) -> pygit2.Signature:
        """The user's identity the way `git commit` finds it (env first, then config)."""
        name = os.environ.get(f"GIT_{kind}_NAME") or self._config(f"{kind.lower()}.name")
        name = name or self._config("user.name")
        email = os.environ.get(f"GIT_{kind}_EMAIL") or self._config(f"{kind.lower()}.email")
        email = email or self._config("user.email") or os.environ.get("EMAIL")
        if not name or not email:
            raise ScmError("git identity is not configured (user.name/user.email)", IDENTITY_HINT)
        date = os.environ.get(f"GIT_{kind}_DATE")
        when, offset = _parse_date(f"GIT_{kind}_DATE", date) if date else _now()
        return pygit2.Signature(name, email, when, offset)

    def _config(self, key: str) -> str | None:
        try:
            value = self._repo.config[key]
        except (KeyError, ValueError, pygit2.GitError):
            return None
        return str(value) if value else None

    def _config_bool(self, key: str, default: bool) -> bool:
        try:
            return bool(self._repo.config.get_bool(key))
        except (KeyError, ValueError, pygit2.GitError):
            return default

    # -- writing the work tree -------------------------------------------------------

    def checkout_commit_files(self, sha: str, *, base: str | None) -> None:
        """Make work-tree files equal to commit `sha`; HEAD, branch and index stay put.

        Files in `base` (usually HEAD) or in the index but absent from the commit are
        deleted; other untracked files are left alone. Paths whose content now differs
        from the index show up as unstaged modifications, like after a mixed reset.
        """
        target = self.list_tree(sha)
        old = self.list_tree(base) if base else {}
        index = {e.path: (str(e.id), int(e.mode)) for e in self._scratch_index()}
        with _translated("reading the workspace status"):
            dirty = set(self._repo.status(untracked_files="all", ignored=False))
        gone = sorted((old.keys() | index.keys()) - target.keys(), reverse=True)
        for path in gone:  # refuse before anything changes
            resolve_inside(self.root, path, replace_leaf=True)
        with _translated(f"checking out the files of {sha[:7]}"):
            for path in gone:
                self._delete_workfile(path)
            for path, (oid, mode) in sorted(target.items()):
                if mode == MODE_GITLINK:
                    continue
                full = os.path.join(self.root, path)
                if index.get(path) == (oid, mode) and path not in dirty and os.path.lexists(full):
                    continue
                self._write_workfile(path, oid, mode)

    def _delete_workfile(self, rel: str) -> None:
        full = resolve_inside(self.root, rel, replace_leaf=True)
        if os.path.lexists(full) and not (os.path.isdir(full) and not os.path.islink(full)):
            os.unlink(full)
        parent = os.path.dirname(full)
        while parent != str(self.root) and parent.startswith(str(self.root)):
            try:
                os.rmdir(parent)
            except OSError:
                break
            parent = os.path.dirname(parent)

    def _write_workfile(self, rel: str, oid: str, mode: int) -> None:
        self._clear_parents(rel)
        full = resolve_inside(self.root, rel, replace_leaf=True)
        if os.path.isdir(full) and not os.path.islink(full):
            shutil.rmtree(full)
        data = self._repo[oid].read_raw()
        if mode == MODE_LINK:
            if os.path.lexists(full):
                os.unlink(full)
            os.symlink(os.fsdecode(data), full)
            return
        perms = (0o777 if mode == MODE_EXEC else 0o666) & ~current_umask()
        atomic_write_bytes(full, data, mode=perms)

    def _clear_parents(self, rel: str) -> None:
        """Remove files or symlinks standing where a parent directory must be."""
        current = str(self.root)
        for part in rel.split("/")[:-1]:
            current = os.path.join(current, part)
            if os.path.islink(current) or (os.path.lexists(current) and not os.path.isdir(current)):
                os.unlink(current)
        os.makedirs(os.path.dirname(os.path.join(self.root, rel)), exist_ok=True)

    # -- refs ------------------------------------------------------------------------

    def get_ref(self, name: str) -> str | None:
        """The commit a ref points at (symbolic refs followed); None if absent."""
        try:
            ref = self._repo.references.get(name)
            if ref is None:
                return None
            return str(ref.resolve().target)
        except (KeyError, ValueError, pygit2.GitError):
            return None

    def set_ref(
        self, name: str, sha: str, *, expected_old: Expected = "any", message: str = ""
    ) -> None:
        """Point `name` at `sha`; with `expected_old` (None = must not exist) as a CAS."""
        self._check_ref_name(name)
        oid = self._commit(sha).id
        log = message or None
        if expected_old not in ("any", None):
            ref = self._repo.references.get(name)
            current = self.get_ref(name)
            if ref is None or current != expected_old:
                raise _cas_error(name, expected_old, current)
            try:
                ref.resolve().set_target(oid, message)
            except pygit2.GitError as exc:  # the ref moved between lookup and update
                raise _cas_error(name, expected_old, self.get_ref(name)) from exc
            return
        try:
            self._repo.create_reference_direct(name, oid, expected_old == "any", log)
        except pygit2.AlreadyExistsError as exc:
            raise _cas_error(name, expected_old, self.get_ref(name)) from exc
        except pygit2.GitError as exc:
            raise ScmError(f"git: updating ref '{name}' failed: {exc}") from exc

    def delete_ref(self, name: str, *, expected_old: Expected = "any") -> None:
        """Delete `name` (missing is fine unless a sha is expected), CAS on `expected_old`."""
        ref = self._repo.references.get(name)
        if ref is None:
            if expected_old not in ("any", None):
                raise _cas_error(name, expected_old, None)
            return
        current = self.get_ref(name)
        if expected_old is None or (expected_old != "any" and current != expected_old):
            raise _cas_error(name, expected_old, current)
        try:
            ref.delete()
        except pygit2.GitError as exc:
            raise _cas_error(name, expected_old, self.get_ref(name)) from exc

    def reflog(self, name: str) -> list[tuple[str, str]]:
        """(new sha, message) of each reflog entry of `name`, newest first; [] if no such ref.

        Stash-style refs (DVC's queues) keep one entry per item in their reflog.
        """
        with _translated(f"reading the reflog of '{name}'"):
            ref = self._repo.references.get(name)
            if ref is None:
                return []
            return [(str(entry.oid_new), entry.message or "") for entry in ref.log()]

    def list_refs(self, prefix: str) -> dict[str, str]:
        """ref name -> commit sha for every ref (loose or packed) starting with `prefix`."""
        out: dict[str, str] = {}
        with _translated("listing refs"):
            for ref in self._repo.references.iterator():
                if not ref.name.startswith(prefix):
                    continue
                target = ref.target
                if isinstance(target, str):
                    try:
                        target = ref.resolve().target
                    except (KeyError, pygit2.GitError):
                        continue
                out[ref.name] = str(target)
        return out

    def create_branch(self, name: str, sha: str) -> None:
        """`git branch name sha` without checking it out; an existing branch is an error."""
        if not self.check_ref_format(f"refs/heads/{name}"):
            raise ScmError(
                f"'{name}' is not a valid branch name", hint="see `git check-ref-format`"
            )
        commit = self._commit(sha)
        try:
            self._repo.create_branch(name, commit, False)
        except pygit2.AlreadyExistsError as exc:
            raise ScmError(
                f"a branch named '{name}' already exists",
                hint=f"choose another name, or delete it with `git branch -D {name}`",
            ) from exc
        except pygit2.GitError as exc:
            raise ScmError(f"git: creating branch '{name}' failed: {exc}") from exc

    @staticmethod
    def check_ref_format(ref: str) -> bool:
        """True if `ref` is a valid full ref name (`git check-ref-format` rules)."""
        try:
            return bool(pygit2.reference_is_valid_name(ref))
        except (ValueError, TypeError):
            return False

    def _check_ref_name(self, name: str) -> None:
        if not self.check_ref_format(name):
            raise ScmError(f"'{name}' is not a valid git ref name")

    # -- isolated workspaces -----------------------------------------------------------

    def make_executor_repo(self, ws_root: Path, sha: str) -> Git:
        """A fresh repository at `ws_root`, checked out (detached) at commit `sha`.

        It reads this repository's objects (alternates) and writes new objects into
        this repository's object store, so its commits can be referenced from here.
        """
        commit = self._commit(sha)
        self.list_tree(sha)  # refuses crafted entry names before anything is written
        objects = self._objects_dir()
        settings = {"core.repositoryformatversion": "0", "core.bare": "false", "gc.auto": "0"}
        for key in _EXECUTOR_CONFIG:
            value = self._config(key)
            if value is not None:
                settings[key] = value
        exclude = Path(self._repo.path) / "info" / "exclude"
        with _translated(f"creating the workspace repository '{ws_root}'"):
            # written by hand, not by `init_repository`: a queue runs one per experiment,
            # and the template files, capability probes and one config lock per key
            # cost ~20 file creations (ext4 inode allocation) for nothing
            gitdir = ws_root / ".git"
            (gitdir / "objects" / "info").mkdir(parents=True, exist_ok=True)
            (gitdir / "refs").mkdir(exist_ok=True)
            (gitdir / "HEAD").write_text(f"{commit.id}\n")  # detached at the snapshot
            (gitdir / "config").write_text(_config_text(settings))
            (gitdir / "objects" / "info" / "alternates").write_text(str(objects) + "\n")
            (gitdir / SHARED_OBJECTS_MARKER).write_text(str(objects) + "\n")
            if exclude.is_file():
                (gitdir / "info").mkdir(exist_ok=True)
                (gitdir / "info" / "exclude").write_bytes(exclude.read_bytes())
        ws = Git(ws_root)
        with _translated(f"checking out {sha[:7]} in '{ws_root}'"):
            ws._repo.checkout_tree(ws._repo[commit.id], strategy=CheckoutStrategy.FORCE)
        return ws

    def _objects_dir(self) -> Path:
        gitdir = Path(self._repo.path)
        common = gitdir / "commondir"
        if common.is_file():
            gitdir = (gitdir / common.read_text().strip()).resolve()
        return gitdir / "objects"

    def _attach_shared_objects(self) -> None:
        """In an executor repo, write new objects straight into the main repository."""
        marker = Path(self._repo.path) / SHARED_OBJECTS_MARKER
        if not marker.is_file():
            return
        with _translated("opening the shared object store"):
            objects = marker.read_text().strip()
            backend = pygit2.OdbBackendLoose(objects, -1, False)
            self._repo.odb.add_backend(backend, 1000)

    # -- network (git CLI, so the user's credentials and config apply) -----------------

    def remote_url(self, name: str) -> str | None:
        """URL of a configured remote; None if there is no such remote."""
        return self._config(f"remote.{name}.url")

    def push(self, remote: str, refspecs: Iterable[str], force: bool = False) -> dict[str, str]:
        """Push refspecs; dst ref -> new|updated|forced|deleted|up-to-date|rejected."""
        specs = [("+" + s.lstrip("+")) if force else s for s in refspecs]
        if not specs:
            return {}
        res = self._run_network(["push", "--porcelain", "--no-verify", remote, *specs])
        statuses = _parse_push_porcelain(res.stdout)
        if res.returncode != 0 and not statuses:
            raise _network_error("push to", remote, res.stderr)
        return statuses

    def fetch(self, remote: str, refspecs: Iterable[str], force: bool = False) -> dict[str, str]:
        """Fetch refspecs into local refs; dst ref -> new|updated|up-to-date|rejected."""
        specs = [("+" + s.lstrip("+")) if force else s for s in refspecs]
        if not specs:
            return {}
        specs = [s if ":" in s else f"{s}:{s.lstrip('+')}" for s in specs]
        before = {_refspec_dst(s): self.get_ref(_refspec_dst(s)) for s in specs}
        res = self._run_network(["fetch", "--no-tags", "--no-write-fetch-head", remote, *specs])
        rejected = _parse_fetch_rejections(res.stderr)
        if res.returncode != 0 and not rejected:
            raise _network_error("fetch from", remote, res.stderr)
        out: dict[str, str] = {}
        for dst, old in before.items():
            new = self.get_ref(dst)
            if dst in rejected:
                out[dst] = "rejected"
            elif old is None and new is not None:
                out[dst] = "new"
            elif old != new:
                out[dst] = "updated"
            else:
                out[dst] = "up-to-date"
        return out

    def ls_remote(self, remote: str, prefix: str) -> dict[str, str]:
        """ref -> sha of the remote's refs starting with `prefix`."""
        res = self._run_network(["ls-remote", "--refs", remote, prefix.rstrip("*") + "*"])
        if res.returncode != 0:
            raise _network_error("listing refs of", remote, res.stderr)
        out: dict[str, str] = {}
        for line in res.stdout.splitlines():
            sha, _, ref = line.partition("\t")
            if ref.startswith(prefix):
                out[ref] = sha
        return out

    def _run_network(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "LC_ALL": "C", "LANGUAGE": "C"}
        try:
            return subprocess.run(
                ["git", *args], cwd=self.root, env=env, capture_output=True, text=True, check=False
            )
        except FileNotFoundError as exc:
            raise ScmError("the `git` executable was not found", hint="install git") from exc


_PUSH_FLAGS = {
    " ": "updated",
    "+": "forced",
    "-": "deleted",
    "*": "new",
    "!": "rejected",
    "=": "up-to-date",
}


def _parse_push_porcelain(stdout: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in stdout.splitlines():
        if len(line) < 3 or line[1] != "\t" or line[0] not in _PUSH_FLAGS:
            continue
        spec = line[2:].split("\t", 1)[0]
        out[_refspec_dst(spec)] = _PUSH_FLAGS[line[0]]
    return out


def _parse_fetch_rejections(stderr: str) -> set[str]:
    rejected: set[str] = set()
    for line in stderr.splitlines():
        text = line.strip()
        if text.startswith("! [") and "->" in text:
            rejected.add(text.split("->", 1)[1].split()[0])
    return rejected


def _network_error(action: str, remote: str, stderr: str) -> ScmError:
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    detail = next((ln for ln in lines if ln.startswith(("fatal:", "error:"))), "")
    detail = detail or (lines[-1] if lines else "git failed")
    return ScmError(
        f"git {action} remote '{remote}' failed: {detail}",
        hint="check the remote with `git remote -v` and that you can reach it",
    )


def _cas_error(name: str, expected: Expected, current: str | None) -> ScmError:
    want = "absent" if expected is None else str(expected)[:7]
    found = "absent" if current is None else current[:7]
    return ScmError(
        f"ref '{name}' changed concurrently: expected {want}, found {found}",
        hint="another xpt or dvc process updated it; retry the command",
    )


def _index_has_prefix(idx: pygit2.Index, prefix: str) -> bool:
    """Binary search of the (byte-sorted) index for an entry under `prefix`."""
    want = prefix.encode()
    lo, hi = 0, len(idx)
    while lo < hi:
        mid = (lo + hi) // 2
        if str(idx[mid].path).encode() < want:
            lo = mid + 1
        else:
            hi = mid
    return lo < len(idx) and str(idx[lo].path).startswith(prefix)


def _drop_paths(idx: pygit2.Index, paths: list[str]) -> None:
    """Remove these paths and everything below them from `idx`."""
    wanted = [p for p in paths if p]
    if not wanted:
        return
    dirs = tuple(p + "/" for p in wanted)
    doomed = [str(e.path) for e in idx if str(e.path) in wanted or str(e.path).startswith(dirs)]
    for path in doomed:
        idx.remove(path)


def clone(url: str, dest: Path) -> Git:
    """`git clone --no-checkout` of a repository URL (the git CLI: users' credentials)."""
    env = {**os.environ, "LC_ALL": "C", "LANGUAGE": "C", "GIT_TERMINAL_PROMPT": "0"}
    try:
        res = subprocess.run(
            ["git", "clone", "--quiet", "--no-checkout", url, str(dest)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError as exc:
        raise ScmError("the `git` executable was not found", hint="install git") from exc
    if res.returncode != 0:
        lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
        detail = lines[-1] if lines else f"exit {res.returncode}"
        raise ScmError(f"failed to clone '{url}': {detail}", hint="check the URL and your access")
    return Git(dest)
