"""The files a pipeline declares, read at any revision: from git, else from the cache.

A metrics or plots file is often not in git: it lives inside a cached output (dvclive
writes `dvclive/metrics.json` into the `dvclive/` output). DVC then reads it from the
cache through the lock entry of the output holding it, and so does `RevisionFiles`:

1. the revision's own tree (a commit, or a work tree: the workspace, or a running
   experiment's temporary workspace);
2. else the lock entry (`dvc.lock`, any nested `X.lock`) of the output equal to the path or
   containing it, through the `.dir` manifest for a directory output.

Every hash read from a lock file or manifest is validated before it names a cache path,
and an object's bytes must match its hash. Used by `exp show`, `exp diff`,
`metrics show/diff`, `params diff`, `plots` and `xpt ui`.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from xpt.cache.digest import DIR_SUFFIX
from xpt.cache.odb import ODB
from xpt.errors import CacheError
from xpt.pipeline.lockformat import LockEntry
from xpt.pipeline.model import Pipeline, Reader
from xpt.utils.oids import is_oid

WORKSPACE = "workspace"


@dataclass(frozen=True)
class CachedOut:
    """A cached output of one revision as its lock entry records it."""

    path: str
    """Repo-relative posix path."""
    md5: str
    legacy: bool
    """DVC 2 entry (no `hash: md5`): dos2unix hash, legacy cache location."""


def cached_outs(
    pipelines: Iterable[Pipeline], locks: dict[str, dict[str, LockEntry]]
) -> list[CachedOut]:
    """Cached outputs (outs, metrics, plots) with a valid hash in their stage's lock entry.

    `locks` is {lockfile: {stage: entry}}.
    """
    found: list[CachedOut] = []
    for pipeline in pipelines:
        for stage in pipeline.stages.values():
            entry = locks.get(stage.lockfile, {}).get(stage.name)
            items = entry.outs_by_path() if entry else {}
            for out in stage.outs:
                item = items.get(out.path)
                if not out.cache or item is None or item.md5 is None or not is_oid(item.md5):
                    continue
                legacy = item.hash != "md5"
                found.append(CachedOut(stage.repo_path(out.path), item.md5, legacy))
    # longest path first: the innermost output holding a file wins
    found.sort(key=lambda o: len(o.path), reverse=True)
    return found


class RevisionFiles:
    """Read repo-relative files of one revision: its tree first, then the cache.

    `read` is the revision's Reader (`Git.reader(sha)` or a work-tree reader). To list
    directories, `root` is the work tree's folder, or `list_tree(path)` the files git has
    at or under `path` in that commit.
    """

    def __init__(
        self,
        read: Reader,
        outs: list[CachedOut],
        odb: ODB,
        *,
        root: Path | None = None,
        list_tree: Callable[[str], Iterable[str]] | None = None,
    ) -> None:
        self._read = read
        self.outs = outs
        """The revision's cached outputs, innermost first."""
        self._odb = odb
        self._root = root
        self._list_tree = list_tree
        self._seen: dict[str, bytes | None] = {}
        """Files read so far: one collection reads params.yaml twice, say."""

    def _holder(self, path: str) -> CachedOut | None:
        for out in self.outs:
            if path == out.path or path.startswith(out.path + "/"):
                return out
        return None

    def _tree(self, out: CachedOut) -> list[tuple[str, str]]:
        try:
            return self._odb.load_tree(out.md5, out.legacy)
        except CacheError:
            return []

    def read_cached(self, path: str) -> bytes | None:
        """The file's bytes from the cache (None: not in a cached output, or not cached)."""
        out = self._holder(path)
        if out is None:
            return None
        if not out.md5.endswith(DIR_SUFFIX):
            return self._odb.read_object(out.md5, out.legacy) if path == out.path else None
        rel = path[len(out.path) + 1 :]
        for relpath, md5 in self._tree(out):
            if relpath == rel:
                return self._odb.read_object(md5, out.legacy)
        return None

    def read(self, path: str) -> bytes | None:
        """Bytes of repo-relative `path` at this revision, or None when it is nowhere."""
        if path in self._seen:
            return self._seen[path]
        clean = posixpath.normpath(path)
        data = None
        if not (clean.startswith(("/", "../")) or clean == ".."):  # stay inside the repository
            data = self._read(clean)
            if data is None:
                data = self.read_cached(clean)
        self._seen[path] = data
        return data

    def is_cached(self, path: str) -> bool:
        """Does a cached output hold `path` (so a missing file is 'not in the cache')?"""
        return self._holder(posixpath.normpath(path)) is not None

    def files_under(self, path: str) -> list[str]:
        """Repo-relative files at or under `path`, sorted (a plots directory, say).

        The tree's files (git's listing, or the work tree on disk), plus the files of the
        cached output holding `path` (its `.dir` manifest for a directory).
        """
        path = posixpath.normpath(path)
        found: set[str] = set()
        if self._list_tree is not None:
            found.update(self._list_tree(path))
        if self._root is not None:
            found.update(_walk(self._root, path))
        out = self._holder(path)
        if out is not None:
            if out.md5.endswith(DIR_SUFFIX):
                for relpath, _md5 in self._tree(out):
                    full = f"{out.path}/{relpath}"
                    if full == path or full.startswith(path + "/"):
                        found.add(full)
            elif out.path == path:
                found.add(path)
        return sorted(found)


def _walk(root: Path, path: str) -> list[str]:
    """Files at or under `path` in a work tree (symlinks are not followed out)."""
    base = root / path
    if base.is_file():
        return [path]
    found: list[str] = []
    for dirpath, _dirs, files in os.walk(base):
        rel = os.path.relpath(dirpath, root).replace(os.sep, "/")
        found.extend(f"{rel}/{name}" for name in files)
    return found
