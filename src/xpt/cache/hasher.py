"""Hash workspace files and folders through the stat memo, in parallel.

A no-op `repro` must not re-read anything: files are stat'ed, the memo is asked once
for all of them, and only misses are read. Misses are hashed on a thread pool (hashlib
releases the GIL on 1 MiB buffers); many small files are batched per task so the pool
does not cost more than it saves.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple, TypeVar

from xpt.cache.hashing import CHUNK, HashInfo, TreeEntry, md5_file, md5_file_dos2unix, tree_info
from xpt.cache.ignore import DvcIgnore
from xpt.cache.state import StateDB
from xpt.errors import CacheError

T = TypeVar("T")
R = TypeVar("R")

_BATCH_BYTES = 4 * CHUNK
"""Small files are grouped into pool tasks of about this many bytes."""
_BATCH_FILES = 256


class Scanned(NamedTuple):
    """One workspace file as seen by `stat` (symlinks followed)."""

    path: str
    """Absolute path."""
    relpath: str
    """'/'-separated path inside the scanned folder ('' for a lone file)."""
    inode: int
    mtime_ns: int
    size: int
    isexec: bool

    @property
    def key(self) -> tuple[str, int, int, int]:
        return (self.path, self.inode, self.mtime_ns, self.size)


def scanned(path: str, relpath: str, st: os.stat_result) -> Scanned:
    """A `Scanned` from a stat result."""
    return Scanned(path, relpath, st.st_ino, st.st_mtime_ns, st.st_size, bool(st.st_mode & 0o111))


def default_jobs() -> int:
    """One thread per core: md5 is CPU bound once files are in the page cache."""
    return max(1, os.cpu_count() or 1)


def parallel_map(
    fn: Callable[[T], R], items: Sequence[T], sizes: Sequence[int], jobs: int
) -> list[R]:
    """`[fn(x) for x in items]` on a thread pool; small items are batched per task."""
    if jobs <= 1 or len(items) <= 1 or sum(sizes) < CHUNK:
        return [fn(x) for x in items]
    batches: list[list[int]] = []
    current: list[int] = []
    current_bytes = 0
    for idx in sorted(range(len(items)), key=lambda i: -sizes[i]):
        if sizes[idx] >= _BATCH_BYTES:
            batches.append([idx])
            continue
        current.append(idx)
        current_bytes += sizes[idx]
        if current_bytes >= _BATCH_BYTES or len(current) >= _BATCH_FILES:
            batches.append(current)
            current, current_bytes = [], 0
    if current:
        batches.append(current)
    results: list[R | None] = [None] * len(items)

    def run(batch: list[int]) -> None:
        for i in batch:
            results[i] = fn(items[i])

    with ThreadPoolExecutor(max_workers=min(jobs, len(batches))) as pool:
        for _ in pool.map(run, batches):
            pass
    return results  # type: ignore[return-value]


def hash_scanned(item: Scanned, legacy: bool = False) -> str:
    """md5 of one file (small files in a single read)."""
    try:
        if legacy:
            return md5_file_dos2unix(item.path)
        if item.size < CHUNK:
            fd = os.open(item.path, os.O_RDONLY)
            try:
                data = os.read(fd, CHUNK)
            finally:
                os.close(fd)
            if len(data) < CHUNK:
                return hashlib.md5(data).hexdigest()
        return md5_file(item.path)
    except OSError as exc:
        raise CacheError(f"cannot read '{item.path}': {exc.strerror}") from exc


class Hasher:
    """Hashes paths of one project (for `.dvcignore`), memoised in `state`."""

    def __init__(self, root: Path, state: StateDB | None, jobs: int | None = None) -> None:
        self.root = Path(root)
        self.state = state
        self.jobs = jobs or default_jobs()
        self.ignore = DvcIgnore(self.root)

    # -- scanning -------------------------------------------------------------------

    def stat_file(self, abs_path: str | os.PathLike[str], relpath: str = "") -> Scanned:
        """Stat one file (following symlinks); CacheError if it is missing."""
        path = os.fspath(abs_path)
        try:
            st = os.stat(path)
        except OSError as exc:
            raise CacheError(f"cannot read '{path}': {exc.strerror}") from exc
        return scanned(path, relpath, st)

    def scan_dir(self, abs_path: str | os.PathLike[str]) -> list[Scanned]:
        """Every file under a folder that `.dvcignore` lets through."""
        out = []
        for relpath, entry in self.ignore.walk_files(os.fspath(abs_path)):
            try:
                st = entry.stat()
            except OSError as exc:
                raise CacheError(
                    f"cannot read '{entry.path}': {exc.strerror}",
                    hint="remove the broken symlink or add it to .dvcignore",
                ) from exc
            out.append(scanned(entry.path, relpath, st))
        return out

    # -- memo ----------------------------------------------------------------------

    def lookup(self, files: Iterable[Scanned], *, legacy: bool = False) -> dict[str, str]:
        """{path: md5} known to the memo for unchanged files."""
        if self.state is None:
            return {}
        return self.state.get_many((f.key for f in files), legacy=legacy)

    def remember(self, pairs: Iterable[tuple[Scanned, str]], *, legacy: bool = False) -> None:
        """Record (file, md5) pairs in the memo."""
        if self.state is not None:
            self.state.put_many(((*f.key, md5) for f, md5 in pairs), legacy=legacy)

    def md5s(self, files: Sequence[Scanned], *, legacy: bool = False) -> list[str]:
        """md5 of each file: memo first (one query), the rest hashed in parallel."""
        known = self.lookup(files, legacy=legacy)
        todo = [f for f in files if f.path not in known]
        if todo:
            digests = parallel_map(
                lambda f: hash_scanned(f, legacy), todo, [f.size for f in todo], self.jobs
            )
            fresh = dict(zip((f.path for f in todo), digests, strict=True))
            self.remember(zip(todo, digests, strict=True), legacy=legacy)
            known.update(fresh)
        return [known[f.path] for f in files]

    # -- public hashing API --------------------------------------------------------------

    def hash_file(self, abs_path: str | os.PathLike[str], *, legacy: bool = False) -> HashInfo:
        """HashInfo of one file (md5, size, isexec)."""
        item = self.stat_file(abs_path)
        (md5,) = self.md5s([item], legacy=legacy)
        return HashInfo(md5=md5, size=item.size, isexec=item.isexec, legacy=legacy)

    def hash_dir(
        self, abs_path: str | os.PathLike[str], *, legacy: bool = False
    ) -> tuple[HashInfo, list[TreeEntry]]:
        """HashInfo of a folder (the `.dir` id) and its file entries."""
        files = self.scan_dir(abs_path)
        return self._tree(files, self.md5s(files, legacy=legacy), legacy)

    def hash_path(self, abs_path: str | os.PathLike[str], *, legacy: bool = False) -> HashInfo:
        """File or folder, whichever `abs_path` is."""
        if _is_dir(abs_path):
            return self.hash_dir(abs_path, legacy=legacy)[0]
        return self.hash_file(abs_path, legacy=legacy)

    def hash_many(
        self, paths: Iterable[str | os.PathLike[str]], *, legacy: bool = False
    ) -> dict[str, HashInfo]:
        """HashInfo of several files/folders with one memo query and one pool."""
        groups: list[tuple[str, bool, list[Scanned]]] = []
        for p in paths:
            path = os.fspath(p)
            if _is_dir(path):
                groups.append((path, True, self.scan_dir(path)))
            else:
                groups.append((path, False, [self.stat_file(path)]))
        flat = [f for _p, _d, files in groups for f in files]
        digests = iter(self.md5s(flat, legacy=legacy))
        result: dict[str, HashInfo] = {}
        for path, is_dir, files in groups:
            md5s = [next(digests) for _ in files]
            if is_dir:
                result[path] = self._tree(files, md5s, legacy)[0]
            else:
                f = files[0]
                result[path] = HashInfo(md5s[0], f.size, isexec=f.isexec, legacy=legacy)
        return result

    @staticmethod
    def _tree(
        files: list[Scanned], md5s: list[str], legacy: bool
    ) -> tuple[HashInfo, list[TreeEntry]]:
        entries = [
            TreeEntry(f.relpath, md5, f.size, f.isexec) for f, md5 in zip(files, md5s, strict=True)
        ]
        _data, info = tree_info(entries)
        if legacy:
            info = HashInfo(info.md5, info.size, info.nfiles, legacy=True)
        return info, entries


def _is_dir(path: str | os.PathLike[str]) -> bool:
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except OSError as exc:
        raise CacheError(f"cannot read '{os.fspath(path)}': {exc.strerror}") from exc
