"""The content-addressed object cache `.dvc/cache` (docs/dvc-formats.md §5.1-5.3).

Objects live at `files/md5/XX/YYYY...` (3.x) or `XX/YYYY...` (2.x legacy), trees with a
`.dir` suffix. Every object is written once, atomically (temp file in the target folder,
then rename) and made read-only (0444); an existing object is never rewritten. A 0444
object is trusted; any other mode makes `exists` re-hash it first.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import json
import marshal
import os
import stat
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from xpt.cache.digest import (
    DIR_SUFFIX,
    HashInfo,
    TreeEntry,
    md5_bytes,
    md5_bytes_dos2unix,
    md5_file,
    md5_file_dos2unix,
    tree_info,
)
from xpt.cache.tmpfile import write_new
from xpt.errors import CacheError
from xpt.utils import readlog
from xpt.utils.fsutil import current_umask
from xpt.utils.oids import bad_oid, is_oid, is_safe_relpath

if TYPE_CHECKING:  # sqlite3 and mmap stay unloaded for readers such as `exp show`
    from xpt.cache.state import StateDB

OBJECT_MODE = 0o444
_TRUSTED_MODES = (OBJECT_MODE, OBJECT_MODE | stat.S_IEXEC)
"""0544 is what DVC leaves on an object hardlinked to an executable output."""
_BULK_LISTDIR = 64
"""Above this many objects, `missing` lists prefix folders instead of stat'ing each object."""

_SETTLED_NS = 50_000_000
"""A folder modified more recently than this may still change within one clock tick."""

_counter = itertools.count()

VERIFIED_MEMO_MIN = 8 << 20
"""Objects this big remember the stat they had when xpt last hashed their bytes, so a push
or a copy checkout need not hash them again: any change to the file moves its ctime."""


def tmp_name(target: str) -> str:
    """A unique temp name next to `target` (same folder, so rename is atomic)."""
    return f"{target}.{os.getpid()}-{threading.get_ident()}-{next(_counter)}.tmp"


_NO_COPY_RANGE = frozenset({errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EBADF})
"""copy_file_range cannot do this pair of files (sendfile can); a full disk is not one."""


def copy_fd(src: int, dst: int, direct: bool = False) -> None:
    """Copy all of `src` into the empty `dst` in the kernel (copy_file_range, else sendfile).

    Explicit offsets: neither file position moves, so another thread may read `src`
    meanwhile (a download hashes the bytes while they are copied). `direct`: a big
    file's bulk may go around the page cache (`cache/direct.py`).
    """
    if direct:
        from xpt.cache.direct import copy_direct

        offset = copy_direct(src, dst, os.fstat(src).st_size)
    else:
        offset = 0
    try:
        while n := os.copy_file_range(src, dst, 1 << 30, offset, offset):
            offset += n
        return
    except OSError as exc:
        if exc.errno not in _NO_COPY_RANGE:
            raise
    os.lseek(dst, offset, os.SEEK_SET)
    while n := os.sendfile(dst, src, offset, 1 << 30):
        offset += n


def _suspicious(relpath: str) -> bool:
    """Cheap pre-check: only paths with these shapes can escape their folder."""
    return (
        not relpath
        or relpath[0] in "/."
        or relpath[-1] == "/"
        or "/." in relpath
        or "//" in relpath
        or "\\" in relpath
        or "\x00" in relpath
    )


OBJECTS_DIR = "files/md5"
"""Where DVC 3 keeps objects, in a cache and in a remote alike (DVC 2 kept them at the top)."""


_TOP, _ALGO = OBJECTS_DIR.split("/")


def prefix_relpath(prefix: str, legacy: bool) -> str:
    """Relative path of the folder holding objects whose id starts with `prefix` (2 digits)."""
    return prefix if legacy else f"{OBJECTS_DIR}/{prefix}"


def object_relpath(md5: str, legacy: bool = False) -> str:
    """Relative path of an object inside a cache or remote (a malformed id: CacheError)."""
    if not is_oid(md5):
        raise bad_object_id(md5)
    rest = md5[2:]
    return f"{md5[:2]}/{rest}" if legacy else f"{OBJECTS_DIR}/{md5[:2]}/{rest}"


def relpath_oid(relpath: str) -> tuple[str, bool] | None:
    """(md5, legacy) of an object's relative path; None for anything else (runs/, temp files)."""
    parts = relpath.split("/")
    if len(parts) == 4 and parts[0] == _TOP and parts[1] == _ALGO:
        prefix, name, legacy = parts[2], parts[3], False
    elif len(parts) == 2:
        prefix, name, legacy = parts[0], parts[1], True
    else:
        return None
    md5 = prefix + name
    if len(prefix) != 2 or not is_oid(md5):
        return None
    return md5, legacy


def bad_object_id(md5: str, where: str = "") -> CacheError:
    """The error for a hash that is not an object id (nothing is read or deleted)."""
    return CacheError(
        f"{where + ': ' if where else ''}{bad_oid(md5)}",
        hint="the file that recorded it was edited or crafted: restore it from git",
    )


class ODB:
    """Object store rooted at a cache folder (usually `.dvc/cache`)."""

    def __init__(self, cache_dir: Path, state: StateDB | None = None) -> None:
        self.cache_dir = Path(cache_dir)
        self.state = state
        """Optional memo: remembers trees found complete, so a no-op run skips the check."""
        self._root = os.fspath(self.cache_dir)
        self._made: set[str] = set()
        self._trees: dict[tuple[str, bool], list[tuple[str, str]]] = {}
        self._protect = bool(current_umask() & OBJECT_MODE)

    # -- locations -------------------------------------------------------------------

    def oid_path(self, md5: str, legacy: bool = False) -> Path:
        """Where the object `md5` (file hash or `<hash>.dir`) lives."""
        return Path(self.object_path(md5, legacy))

    def object_path(self, md5: str, legacy: bool = False) -> str:
        """`oid_path` as a str (cheaper in loops); a malformed id is refused (CacheError).

        Every caller validates where it reads a hash; this is the last guard before a
        hash becomes a path, so no `../..` ever reaches open, link or unlink.
        """
        if not is_oid(md5):
            raise bad_object_id(md5)
        if legacy:
            return f"{self._root}/{md5[:2]}/{md5[2:]}"
        return f"{self._root}/files/md5/{md5[:2]}/{md5[2:]}"

    def _ensure_parent(self, path: str) -> None:
        parent = os.path.dirname(path)
        if parent not in self._made:
            try:
                os.makedirs(parent, exist_ok=True)
            except OSError as exc:
                raise CacheError(f"cannot write to the cache '{parent}': {exc.strerror}") from exc
            self._made.add(parent)

    # -- presence --------------------------------------------------------------------

    def object_stat(self, md5: str, legacy: bool = False) -> os.stat_result | None:
        """stat of a present, trusted object; a corrupt object is deleted (None)."""
        path = self.object_path(md5, legacy)
        try:
            st = os.stat(path)
        except OSError:
            return None
        if stat.S_IMODE(st.st_mode) in _TRUSTED_MODES:
            return st
        if not object_ok(path, md5, legacy):
            if stat.S_ISREG(st.st_mode) and not os.path.islink(path):
                with contextlib.suppress(OSError):  # a valid id: a real file of this cache
                    os.unlink(path)
            return None
        with contextlib.suppress(OSError):
            os.chmod(path, OBJECT_MODE)
        return st

    def exists(self, md5: str, legacy: bool = False) -> bool:
        """Is the object present (and, unless its mode is 0444, does its content match)?"""
        return self.object_stat(md5, legacy) is not None

    def missing(self, info: HashInfo) -> list[str]:
        """Object ids of a file or tree that the cache lacks (the `.dir` first)."""
        if not info.is_dir:
            return [] if self.exists(info.md5, info.legacy) else [info.md5]
        if not self.exists(info.md5, info.legacy):
            return [info.md5]
        key = f"complete:{int(info.legacy)}:{self._root}:{info.md5}"
        stored = self.state.get_value(key) if self.state is not None else None
        if stored:
            prefixes, _sep, fingerprint = stored.partition(" ")
            if self._folders_fingerprint(prefixes, info.legacy)[0] == fingerprint:
                return []
        md5s = sorted(self._tree_md5s(info.md5, info.legacy))
        prefixes = "".join(sorted({m[:2] for m in md5s}))
        fingerprint, newest = self._folders_fingerprint(prefixes, info.legacy)
        absent = self.missing_objects(md5s, info.legacy)
        if not absent and self.state is not None and newest < time.time_ns() - _SETTLED_NS:
            self.state.put_value(key, f"{prefixes} {fingerprint}")
        return absent

    def _tree_md5s(self, md5_dir: str, legacy: bool) -> set[str]:
        """Object ids a tree refers to (no path validation: nothing is written from them)."""
        cached = self._trees.get((md5_dir, legacy))
        if cached is not None:
            return {md5 for _rel, md5 in cached}
        try:
            with open(self.object_path(md5_dir, legacy), "rb") as f:
                raw = json.loads(f.read())
            md5s = {item["md5"] for item in raw}
            if all(is_oid(m, allow_dir=False) for m in md5s):
                return md5s
        except (OSError, ValueError, TypeError, KeyError):
            pass
        return {md5 for _rel, md5 in self.load_tree(md5_dir, legacy)}  # raises the error

    def _folders_fingerprint(self, prefixes: str, legacy: bool) -> tuple[str, int]:
        """Digest of (inode, mtime) of the prefix folders, and the newest mtime.

        Adding or deleting an object changes its folder's mtime, so an unchanged digest
        means a tree found complete is still complete.
        """
        base = f"{self._root}/" if legacy else f"{self._root}/files/md5/"
        stats: list[tuple[int, int]] = []
        for i in range(0, len(prefixes), 2):
            try:
                st = os.stat(base + prefixes[i : i + 2])
                stats.append((st.st_ino, st.st_mtime_ns))
            except OSError:
                stats.append((0, 0))
        newest = max((m for _i, m in stats), default=0)
        return md5_bytes(marshal.dumps(stats)), newest

    def missing_objects(self, md5s: Iterable[str], legacy: bool = False) -> list[str]:
        """Which of these file objects are absent; big sets list prefix folders in bulk."""
        wanted = list(md5s)
        if len(wanted) <= _BULK_LISTDIR:
            return [m for m in wanted if not self.exists(m, legacy)]
        listings: dict[str, set[str]] = {}
        absent = []
        for md5 in wanted:
            prefix = md5[:2]
            names = listings.get(prefix)
            if names is None:
                folder = os.path.dirname(self.object_path(md5, legacy))
                try:
                    names = set(os.listdir(folder))
                except OSError:
                    names = set()
                listings[prefix] = names
            if md5[2:] not in names:
                absent.append(md5)
        return absent

    # -- writing -----------------------------------------------------------------------

    def write_object(
        self,
        md5: str,
        writer: Callable[[str], None],
        legacy: bool = False,
        *,
        created_readonly: bool = False,
    ) -> bool:
        """Create object `md5` via `writer(tmp_path)` + rename; False if it already existed.

        `writer` must create `tmp_path` (any way: copy, clone, link). With
        `created_readonly` the writer created it with mode 0444 (saves a chmod).
        """
        dst = self.object_path(md5, legacy)
        if self.exists(md5, legacy):
            return False
        self._ensure_parent(dst)
        tmp = tmp_name(dst)
        try:
            writer(tmp)
            if self._protect or not created_readonly:
                os.chmod(tmp, OBJECT_MODE)
            os.replace(tmp, dst)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise CacheError(f"cannot write cache object '{dst}': {exc.strerror}") from exc
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return True

    def staging_path(self) -> str:
        """A fresh temp path inside the cache for content whose hash is not known yet."""
        folder = f"{self._root}/files/md5"
        self._ensure_parent(f"{folder}/x")
        return tmp_name(f"{folder}/.staging")

    def commit_staged(self, tmp: str, md5: str, *, created_readonly: bool = False) -> bool:
        """Name a staged file as object `md5` (discarded if the object exists); False then."""
        try:
            if self.exists(md5):
                os.unlink(tmp)
                return False
            dst = self.object_path(md5)
            self._ensure_parent(dst)
            if self._protect or not created_readonly:
                os.chmod(tmp, OBJECT_MODE)
            os.replace(tmp, dst)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise CacheError(f"cannot write cache object '{md5}': {exc.strerror}") from exc
        self.mark_verified(md5)  # the caller hashed these very bytes
        return True

    # -- verified objects (the bytes were hashed by xpt and the file has not changed) ---------

    def mark_verified(self, md5: str, legacy: bool = False) -> None:
        """Remember that object `md5` as it is now hashes to its name (big objects only)."""
        if self.state is None:
            return
        path = self.object_path(md5, legacy)
        try:
            st = os.stat(path)
        except OSError:
            return
        if st.st_size >= VERIFIED_MEMO_MIN:
            self.state.put_value(f"verified:{path}", _stamp(st, md5))

    def known_intact(self, path: str, st: os.stat_result, md5: str) -> bool:
        """Was the object file at `path` (whose stat is `st`) verified, and unchanged since?"""
        if self.state is None or st.st_size < VERIFIED_MEMO_MIN:
            return False
        return self.state.get_value(f"verified:{path}") == _stamp(st, md5)

    def add_bytes(self, md5: str, data: bytes, legacy: bool = False) -> bool:
        """Store an in-memory object; False if it was already there.

        Created unnamed and then linked under its name where the filesystem allows
        (`cache/tmpfile.py`): no stat, temp name or rename per object.
        """
        dst = self.object_path(md5, legacy)
        self._ensure_parent(dst)
        try:
            created = write_new(dst, data, OBJECT_MODE)
        except OSError as exc:
            raise CacheError(f"cannot write cache object '{dst}': {exc.strerror}") from exc
        if created or (created is False and self.exists(md5, legacy)):
            return created
        return self._add_bytes_renamed(md5, data, legacy)  # unsupported, or a corrupt one went

    def _add_bytes_renamed(self, md5: str, data: bytes, legacy: bool) -> bool:
        def write(tmp: str) -> None:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OBJECT_MODE)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)

        return self.write_object(md5, write, legacy, created_readonly=True)

    def add_file(self, src: Path, md5: str, *, move: bool = False, legacy: bool = False) -> bool:
        """Store a file under the (trusted) id `md5`; False if it was already there.

        With `move=True` the source is consumed: renamed into the cache when possible
        (falling back to a copy across filesystems), and deleted if already cached.
        """
        src_path = os.fspath(src)

        def write(tmp: str) -> None:
            if move:
                try:
                    os.rename(src_path, tmp)
                    return
                except OSError as exc:
                    if exc.errno != errno.EXDEV:
                        raise
            copy_file(src_path, tmp, OBJECT_MODE)

        added = self.write_object(md5, write, legacy)
        if move and not added:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(src_path)
        elif move and os.path.lexists(src_path):
            os.unlink(src_path)
        return added

    def add_tree(self, entries: list[TreeEntry], legacy: bool = False) -> HashInfo:
        """Write the `.dir` object of these entries; its HashInfo."""
        data, info = tree_info(entries)
        self.add_bytes(info.md5, data, legacy)
        self._trees[(info.md5, legacy)] = sorted((e.relpath, e.md5) for e in entries)
        if legacy:
            info = HashInfo(info.md5, info.size, info.nfiles, legacy=True)
        return info

    # -- reading ---------------------------------------------------------------------

    def read_object(self, md5: str, legacy: bool = False) -> bytes | None:
        """Bytes of a file object; None when the id is malformed, the object absent or corrupt.

        The content is checked against its id: callers read small files (metrics, plots)
        whose values would otherwise be reported silently wrong.
        """
        if not is_oid(md5, allow_dir=False):
            return None
        path = self.object_path(md5, legacy)
        readlog.note(path)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            return None
        actual = md5_bytes_dos2unix(data) if legacy else md5_bytes(data)
        return data if actual == md5 else None

    def load_tree(self, md5_dir: str, legacy: bool = False) -> list[tuple[str, str]]:
        """(relpath, md5) of every file of a tree object, sorted by relpath."""
        readlog.note(self.object_path(md5_dir, legacy))
        cached = self._trees.get((md5_dir, legacy))
        if cached is not None:
            return cached
        path = self.object_path(md5_dir, legacy)
        try:
            with open(path, "rb") as f:
                raw = json.loads(f.read())
        except FileNotFoundError:
            raise CacheError(
                f"missing cache object '{md5_dir}'",
                hint="fetch it with `xpt pull`, or reproduce the stage that makes it",
            ) from None
        except (OSError, ValueError) as exc:
            raise CacheError(
                f"corrupt tree object '{path}': {exc}", hint="delete it and reproduce"
            ) from exc
        if not isinstance(raw, list):
            raise CacheError(f"corrupt tree object '{path}': not a JSON list")
        try:
            tree = [(item["relpath"], item["md5"]) for item in raw]
        except (TypeError, KeyError) as exc:
            raise CacheError(f"corrupt tree object '{path}': bad entry") from exc
        for relpath, md5 in tree:
            if not isinstance(relpath, str) or (
                _suspicious(relpath) and not is_safe_relpath(relpath)
            ):
                raise CacheError(
                    f"corrupt tree object '{path}': entry path {relpath!r} leaves its folder",
                    hint="delete the object and fetch or reproduce it again",
                )
            if not is_oid(md5, allow_dir=False):
                raise CacheError(
                    f"corrupt tree object '{path}': entry {relpath!r}: "
                    + bad_oid(md5, allow_dir=False),
                    hint="delete the object and fetch or reproduce it again",
                )
        tree.sort()
        self._trees[(md5_dir, legacy)] = tree
        return tree


def _stamp(st: os.stat_result, md5: str) -> str:
    return f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{md5}"


def object_hash(path: str, md5: str, legacy: bool) -> str:
    """The id the bytes at `path` hash to, the way object `md5` was named (OSError)."""
    if md5.endswith(DIR_SUFFIX):
        with open(path, "rb") as f:
            return md5_bytes(f.read()) + DIR_SUFFIX
    return md5_file_dos2unix(path) if legacy else md5_file(path)


def object_ok(path: str, md5: str, legacy: bool) -> bool:
    """Do the bytes at `path` hash to the object id `md5`? (unreadable: no)"""
    try:
        return object_hash(path, md5, legacy) == md5
    except OSError:
        return False


def copy_file(src: str, dst: str, mode: int = 0o666, direct: bool = False) -> None:
    """Copy `src` to a new file `dst` (must not exist) created with `mode` (umask applies).

    `direct`: `dst` is a cache object, not read again soon (see `copy_fd`)."""
    sfd = os.open(src, os.O_RDONLY)
    try:
        dfd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            copy_fd(sfd, dfd, direct)
        finally:
            os.close(dfd)
    finally:
        os.close(sfd)
