"""Hash workspace files and folders through the stat memo, in parallel.

A no-op `repro` must not re-read anything: files are stat'ed, the memo is asked once
for all of them, and only misses are read. Misses are hashed on a thread pool (hashlib
releases the GIL on 1 MiB buffers); many small files are batched per task so the pool
does not cost more than it saves.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import stat
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import NamedTuple, TypeVar

from xpt.cache.digest import CHUNK, HashInfo, TreeEntry, md5_file, md5_file_dos2unix, tree_info
from xpt.cache.ignore import DvcIgnore
from xpt.cache.state import StateDB
from xpt.errors import CacheError
from xpt.utils.parallel import Forked, fork_start
from xpt.utils.progress import ByteProgress

T = TypeVar("T")
R = TypeVar("R")

_BATCH_BYTES = 4 * CHUNK
"""Small files are grouped into pool tasks of about this many bytes."""
_BATCH_FILES = 256
_RANGE_LOOKUP_MIN = 64
"""From this many files of one folder on, the memo is read with one range scan."""


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


_FORK_MIN_FILES = 1000
"""Small items per process from which `parallel_map` shares them out to forked helpers."""


def parallel_map(
    fn: Callable[[T], R],
    items: Sequence[T],
    sizes: Sequence[int],
    jobs: int,
    *,
    forkable: Sequence[int] = (),
) -> list[R]:
    """`[fn(x) for x in items]` on a thread pool; small items are batched per task.

    `forkable` lists small items that may run in forked helper processes (`fn` then must
    only act on files and return picklable values). A small file costs a few system
    calls wrapped in Python, so two threads mostly trade the GIL: with enough of them,
    helpers (forked before any thread starts) and this thread each take a share while
    the pool's threads hash the other items.
    """
    procs = min(jobs, len(forkable) // _FORK_MIN_FILES)
    if procs > 1:
        shares = [list(forkable[k::procs]) for k in range(procs)]
        helpers = [(share, fork_start(lambda i: fn(items[i]), share)) for share in shares[1:]]
        try:
            if any(helper is not None for _share, helper in helpers):
                return _map_beside_helpers(fn, items, sizes, jobs, shares[0], helpers)
        finally:
            for _share, helper in helpers:
                if helper is not None:
                    helper.close()
    if jobs <= 1 or len(items) <= 1 or sum(sizes) < CHUNK:
        return [fn(x) for x in items]
    with ByteProgress("hashing", sum(sizes), len(items)) as progress:
        return _pool_map(fn, items, sizes, list(range(len(items))), jobs, progress)


def _map_beside_helpers(
    fn: Callable[[T], R],
    items: Sequence[T],
    sizes: Sequence[int],
    jobs: int,
    mine: list[int],
    helpers: list[tuple[list[int], Forked[R] | None]],
) -> list[R]:
    """Our share in this thread while the pool does the rest, then the helpers' results."""
    out: list[R | None] = [None] * len(items)
    taken = set(mine).union(*(share for share, _helper in helpers))
    rest = [i for i in range(len(items)) if i not in taken]
    shown = rest + mine
    with ByteProgress("hashing", sum(sizes[i] for i in shown), len(shown)) as progress:

        def run_mine() -> None:
            for i in mine:
                out[i] = fn(items[i])
                progress.advance(sizes[i])

        _pool_map(fn, items, sizes, rest, jobs, progress, out, run_mine)
    for share, helper in helpers:
        theirs = helper.result() if helper is not None else None
        if theirs is None:  # no helper, or it failed: do its share here (errors surface)
            theirs = [fn(items[i]) for i in share]
        for i, value in zip(share, theirs, strict=True):
            out[i] = value
    return out  # type: ignore[return-value]


def _pool_map(
    fn: Callable[[T], R],
    items: Sequence[T],
    sizes: Sequence[int],
    indexes: list[int],
    jobs: int,
    progress: ByteProgress,
    out: list[R | None] | None = None,
    alongside: Callable[[], None] | None = None,
) -> list[R]:
    """`fn(items[i])` for `indexes` on up to `jobs` threads, into `out`.

    `alongside` runs in the calling thread meanwhile.
    """
    results: list[R | None] = out if out is not None else [None] * len(items)
    batches = [[indexes[b] for b in batch] for batch in _batches([sizes[i] for i in indexes])]

    def run(batch: list[int]) -> None:
        for i in batch:
            results[i] = fn(items[i])
            progress.advance(sizes[i])

    if not batches:
        if alongside is not None:
            alongside()
        return results  # type: ignore[return-value]
    from concurrent.futures import ThreadPoolExecutor  # and logging: not on start-up paths

    with ThreadPoolExecutor(max_workers=min(jobs, len(batches))) as pool:
        futures = [pool.submit(run, batch) for batch in batches]
        try:
            if alongside is not None:
                alongside()
            for future in futures:
                future.result()
        except BaseException:
            for future in futures:
                future.cancel()  # running batches end before the pool is left
            raise
    return results  # type: ignore[return-value]


def _batches(sizes: Sequence[int]) -> list[list[int]]:
    """Indexes grouped per pool task: big items alone (biggest first), small ones batched."""
    batches: list[list[int]] = []
    current: list[int] = []
    current_bytes = 0
    for idx in sorted(range(len(sizes)), key=lambda i: -sizes[i]):
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
    return batches


def read_small(path: str, size: int) -> bytes | None:
    """All of a file expected to hold `size` (< CHUNK) bytes; None if it has CHUNK or more.

    One read of exactly the expected length (no 1 MiB buffer per file); a file that grew
    since it was scanned is read on until EOF.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.read(fd, size + 1)
        if len(data) <= size:
            return data
        parts = [data]
        total = len(data)
        while total < CHUNK:
            more = os.read(fd, CHUNK - total)
            if not more:
                break
            parts.append(more)
            total += len(more)
    finally:
        os.close(fd)
    return None if total >= CHUNK else b"".join(parts)


def hash_scanned(item: Scanned, legacy: bool = False) -> str:
    """md5 of one file (small files in a single read)."""
    try:
        if legacy:
            return md5_file_dos2unix(item.path)
        if item.size < CHUNK:
            data = read_small(item.path, item.size)
            if data is not None:
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
        out: list[Scanned] = []
        append = out.append
        make = tuple.__new__
        for relpath, entry in self.ignore.walk_files(os.fspath(abs_path)):
            try:
                st = entry.stat()
            except OSError as exc:
                raise CacheError(
                    f"cannot read '{entry.path}': {exc.strerror}",
                    hint="remove the broken symlink or add it to .dvcignore",
                ) from exc
            append(
                make(
                    Scanned,
                    (
                        entry.path,
                        relpath,
                        st.st_ino,
                        st.st_mtime_ns,
                        st.st_size,
                        bool(st.st_mode & 0o111),
                    ),
                )
            )
        return out

    # -- memo ----------------------------------------------------------------------

    def lookup(
        self, files: Sequence[Scanned], *, legacy: bool = False, under: str | None = None
    ) -> dict[str, str]:
        """{path: md5} known to the memo for unchanged files (`under`: their common folder)."""
        if self.state is None or not files:
            return {}
        if under is None or len(files) < _RANGE_LOOKUP_MIN:
            under = None
        return self.state.get_many((f.key for f in files), legacy=legacy, under=under)

    def remember(self, pairs: Iterable[tuple[Scanned, str]], *, legacy: bool = False) -> None:
        """Record (file, md5) pairs in the memo."""
        if self.state is not None:
            self.state.put_many(((*f.key, md5) for f, md5 in pairs), legacy=legacy)

    def md5s(
        self, files: Sequence[Scanned], *, legacy: bool = False, under: str | None = None
    ) -> list[str]:
        """md5 of each file: memo first (one query), the rest hashed in parallel."""
        known = self.lookup(files, legacy=legacy, under=under)
        todo = [f for f in files if f.path not in known]
        if todo:
            digests = self._hash_all(todo, legacy)
            self.remember(zip(todo, digests, strict=True), legacy=legacy)
            known.update(zip((f.path for f in todo), digests, strict=True))
        return [known[f.path] for f in files]

    def _hash_all(self, todo: list[Scanned], legacy: bool) -> list[str]:
        """md5 of each file (memo misses), small files shared out to forked helpers."""
        small = [i for i, f in enumerate(todo) if f.size < CHUNK]
        return parallel_map(
            lambda f: hash_scanned(f, legacy),
            todo,
            [f.size for f in todo],
            self.jobs,
            forkable=small,
        )

    def known_tree(
        self, folder: str, files: list[Scanned], *, legacy: bool = False
    ) -> HashInfo | None:
        """The folder's HashInfo if its scan is exactly as when it was last hashed."""
        if self.state is None:
            return None
        stored = self.state.get_value(_tree_key(folder, legacy))
        if not stored:
            return None
        fingerprint, md5, size, nfiles = stored.split(" ")
        if fingerprint != _fingerprint(files):
            return None
        return HashInfo(md5, int(size), int(nfiles), legacy=legacy)

    def remember_tree(
        self, folder: str, files: list[Scanned], info: HashInfo, *, legacy: bool = False
    ) -> None:
        """Record a folder's hash against a fingerprint of its scan (stat data of every file)."""
        if self.state is not None:
            value = f"{_fingerprint(files)} {info.md5} {info.size} {info.nfiles}"
            self.state.put_value(_tree_key(folder, legacy), value)

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
        folder = os.path.abspath(os.fspath(abs_path))
        files = self.scan_dir(folder)
        info, entries = self._tree(files, self.md5s(files, legacy=legacy, under=folder), legacy)
        self.remember_tree(folder, files, info, legacy=legacy)
        return info, entries

    def hash_path(self, abs_path: str | os.PathLike[str], *, legacy: bool = False) -> HashInfo:
        """File or folder, whichever `abs_path` is."""
        return self.hash_many([abs_path], legacy=legacy)[os.fspath(abs_path)]

    def hash_many(
        self, paths: Iterable[str | os.PathLike[str]], *, legacy: bool = False
    ) -> dict[str, HashInfo]:
        """HashInfo of several files/folders (keyed by the path as given), one pool for all.

        An unchanged folder is answered from its fingerprint without per-file lookups.
        """
        result: dict[str, HashInfo] = {}
        folders: list[tuple[str, str, list[Scanned]]] = []
        lone: list[tuple[str, Scanned]] = []
        for p in paths:
            key = os.fspath(p)
            if _is_dir(key):
                folder = os.path.abspath(key)
                files = self.scan_dir(folder)
                info = self.known_tree(folder, files, legacy=legacy)
                if info is not None:
                    result[key] = info
                else:
                    folders.append((key, folder, files))
            else:
                lone.append((key, self.stat_file(key)))
        known: dict[str, str] = {}
        for _key, folder, files in folders:
            known.update(self.lookup(files, legacy=legacy, under=folder))
        known.update(self.lookup([f for _k, f in lone], legacy=legacy))
        flat = [f for _k, _d, files in folders for f in files] + [f for _k, f in lone]
        todo = [f for f in flat if f.path not in known]
        if todo:
            digests = self._hash_all(todo, legacy)
            self.remember(zip(todo, digests, strict=True), legacy=legacy)
            known.update(zip((f.path for f in todo), digests, strict=True))
        for key, folder, files in folders:
            info, _entries = self._tree(files, [known[f.path] for f in files], legacy)
            self.remember_tree(folder, files, info, legacy=legacy)
            result[key] = info
        for key, f in lone:
            result[key] = HashInfo(known[f.path], f.size, isexec=f.isexec, legacy=legacy)
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


def _tree_key(folder: str, legacy: bool) -> str:
    return f"tree:{int(legacy)}:{folder}"


def _fingerprint(files: list[Scanned]) -> str:
    """Digest of a folder scan (names, inodes, mtimes, sizes, exec bits, in walk order)."""
    return hashlib.md5(marshal.dumps([f[1:] for f in files])).hexdigest()


def _is_dir(path: str | os.PathLike[str]) -> bool:
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except OSError as exc:
        raise CacheError(f"cannot read '{os.fspath(path)}': {exc.strerror}") from exc
