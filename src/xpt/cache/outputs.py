"""Outputs in and out of the object cache, per `cache.type` (docs/dvc-formats.md §5.4).

`save_output` hashes a workspace output, stores every file once in the cache and leaves
the workspace linked per the link type; `checkout_output` makes the workspace equal to
a recorded hash (removing extra files of folders); `unprotect` turns links into the
cache back into private writable copies. Link-type mechanics live in `cache.links`.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from xpt.cache.digest import CHUNK, HashInfo, TreeEntry
from xpt.cache.hasher import Hasher, Scanned, hash_scanned, parallel_map, read_small, scanned
from xpt.cache.links import (
    DEFAULT_LINK_TYPES,
    LINK_TYPES,
    UNSUPPORTED,
    Linker,
    Unsupported,
    add_exec,
    clone,
    make,
    place,
)
from xpt.cache.odb import ODB, copy_file, tmp_name
from xpt.errors import CacheError
from xpt.utils.fsutil import check_folders_inside, current_umask, remove, resolve_inside

__all__ = [
    "DEFAULT_LINK_TYPES",
    "LINK_TYPES",
    "OutputChange",
    "checkout_output",
    "remove_output",
    "restore_output",
    "save_output",
    "save_outputs",
    "unprotect",
    "unsaved_files",
]


def _translate(exc: OSError, what: str) -> CacheError:
    return CacheError(f"cannot {what} '{exc.filename or ''}': {exc.strerror}")


# -- save ------------------------------------------------------------------------------------


class _Saver:
    """Stores workspace files into the cache and leaves them linked per the link type."""

    def __init__(self, odb: ODB, linker: Linker, relink: bool) -> None:
        self.odb = odb
        self.linker = linker
        self.relink = relink

    def stores_bytes(self) -> bool:
        """Are new files stored by writing their bytes (the workspace file stays as it is)?"""
        return not self.relink or self.linker.first() in ("copy", "reflink")

    def save(self, item: Scanned, md5: str | None) -> tuple[str, bool]:
        """(md5, workspace file replaced?) for one file."""
        if md5 is None and self.stores_bytes():
            stored = self._save_small(item) if item.size < CHUNK else self._save_big(item)
            if stored is not None:
                md5, added = stored  # a new object cannot be what the workspace links to
                return md5, False if added else self._fix_link(item, md5)
        if md5 is None:
            md5 = hash_scanned(item)
        try:
            replaced = self._store(item, md5)
        except OSError as exc:
            raise _translate(exc, "save to the cache") from exc
        return md5, replaced

    def _save_small(self, item: Scanned) -> tuple[str, bool] | None:
        """Read a small file once: hash it and write the object from the same bytes."""
        try:
            data = read_small(item.path, item.size)
        except OSError as exc:
            raise _translate(exc, "read") from exc
        if data is None:
            return None  # it grew: take the big-file path
        md5 = hashlib.md5(data).hexdigest()
        return md5, self.odb.add_bytes(md5, data)

    def _save_big(self, item: Scanned) -> tuple[str, bool] | None:
        """Stage a clone (or a copy made while hashing, on a second thread), then name it.

        The copy is speculative: it is thrown away if the object turns out to exist.
        None when neither works here (the caller falls back to hash-then-link).
        """
        tmp = self.odb.staging_path()
        if self.relink and "reflink" in self.linker.usable():
            try:
                clone(item.path, tmp, 0o444)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                self.linker.attempt("reflink", exc)
            else:
                try:
                    return self._commit(tmp, hash_scanned(item))
                except BaseException:
                    with contextlib.suppress(OSError):
                        os.unlink(tmp)
                    raise
        if self.relink and "copy" not in self.linker.usable():
            return None
        failure: list[BaseException] = []

        def copy() -> None:
            try:
                copy_file(item.path, tmp, 0o444, direct=True)
            except BaseException as exc:  # re-raised in the hashing thread
                failure.append(exc)

        copier = threading.Thread(target=copy, name="xpt-copy")
        copier.start()
        try:
            md5 = hash_scanned(item)
        except BaseException as exc:
            failure.append(exc)
        copier.join()
        if failure:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(failure[0], OSError):
                raise _translate(failure[0], "save to the cache") from failure[0]
            raise failure[0]
        return self._commit(tmp, md5)

    def _commit(self, tmp: str, md5: str) -> tuple[str, bool]:
        return md5, self.odb.commit_staged(tmp, md5, created_readonly=True)

    def _store(self, item: Scanned, md5: str) -> bool:
        if not self.relink:
            self.odb.write_object(
                md5, lambda tmp: copy_file(item.path, tmp, 0o444), created_readonly=True
            )
            return False
        for link_type in self.linker.usable():
            try:
                return self._store_as(item, md5, link_type)
            except Unsupported:
                continue
            except OSError as exc:
                if exc.errno == errno.EMLINK:
                    continue
                self.linker.attempt(link_type, exc)
        raise CacheError(f"cannot save '{item.path}' to the cache", hint="add `copy` to cache.type")

    def _store_as(self, item: Scanned, md5: str, link_type: str) -> bool:
        src = item.path
        kind = link_type
        if link_type == "symlink":
            kind = "hardlink"  # move the content in; the workspace then gets the symlink
        elif link_type == "hardlink" and item.size == 0:
            kind = "copy"  # DVC never hardlinks empty files (one object, endless links)

        def writer(tmp: str) -> None:
            try:
                make(src, tmp, kind, 0o444)
            except OSError as exc:
                if link_type == "symlink":  # no hardlink here: the object is a copy
                    copy_file(src, tmp, 0o444)
                elif exc.errno in UNSUPPORTED[link_type]:
                    self.linker.broken.add(link_type)
                    raise Unsupported() from exc
                else:
                    raise

        added = self.odb.write_object(md5, writer, created_readonly=kind in ("copy", "reflink"))
        obj = self.odb.object_path(md5)
        lone = not item.relpath  # DVC restores +x for file outputs, not inside folders
        if added and link_type == "hardlink":
            if item.isexec and lone and kind == "hardlink":
                add_exec(obj)
            return False  # the workspace file *is* the object now (or an empty file)
        if added and link_type == "symlink":
            place(obj, src, "symlink")
            if item.isexec and lone:
                add_exec(obj)
            return True
        return self._fix_link(item, md5, link_type)

    def _fix_link(self, item: Scanned, md5: str, link_type: str | None = None) -> bool:
        """Make an existing workspace file conform to the link type; True if replaced."""
        if not self.relink:
            return False
        link_type = link_type or self.linker.first()
        obj_st = self.odb.object_stat(md5)
        if obj_st is None:
            return False
        obj = self.odb.object_path(md5)
        linked = obj_st.st_ino == item.inode and obj_st.st_dev == _dev(item.path)
        if link_type in ("copy", "reflink"):
            if not linked:
                return False
            self.linker.link(obj, item.path)  # a link to the cache: make it a private copy
        elif link_type == "hardlink":
            if (linked or item.size == 0) and not os.path.islink(item.path):
                return False  # hardlinked already, or an empty file (never hardlinked)
            self.linker.link(obj, item.path)
        else:
            if linked and os.path.islink(item.path):
                return False
            self.linker.link(obj, item.path)
        if item.isexec and not item.relpath:
            add_exec(item.path)
        return True


def _dev(path: str) -> int:
    try:
        return os.stat(path).st_dev
    except OSError:
        return -1


SaveResult = tuple[HashInfo, list[TreeEntry] | None]


def save_output(
    odb: ODB,
    hasher: Hasher,
    abs_path: str | os.PathLike[str],
    link_types: Sequence[str],
    *,
    relink: bool = True,
) -> SaveResult:
    """Hash an output, store it in the cache, leave the workspace linked per `link_types`.

    Already-cached objects are not rewritten. With `relink=False` the workspace is
    left untouched (objects are copied in). Returns the HashInfo and, for folders, the
    tree entries.
    """
    return save_outputs(odb, hasher, [abs_path], link_types, relink=relink)[0]


def save_outputs(
    odb: ODB,
    hasher: Hasher,
    abs_paths: Sequence[str | os.PathLike[str]],
    link_types: Sequence[str],
    *,
    relink: bool = True,
) -> list[SaveResult]:
    """`save_output` for several outputs at once: one thread pool for all their files.

    Saving a stage's outputs together lets big files of different outputs be hashed on
    different cores (md5 of one file cannot be split).
    """
    jobs: list[tuple[str, bool, list[Scanned]]] = []
    tasks: list[tuple[_Saver, Scanned, str | None]] = []
    for abs_path in abs_paths:
        path = os.path.abspath(os.fspath(abs_path))
        try:
            is_dir = stat.S_ISDIR(os.stat(path).st_mode)
        except OSError as exc:
            raise CacheError(f"output '{path}' does not exist", hint="reproduce the stage") from exc
        files = hasher.scan_dir(path) if is_dir else [hasher.stat_file(path)]
        known = hasher.lookup(files, under=path if is_dir else None)
        saver = _Saver(odb, Linker(odb, os.path.dirname(path), link_types), relink)
        jobs.append((path, is_dir, files))
        tasks.extend((saver, f, known.get(f.path)) for f in files)
    done = _save_all(tasks, hasher.jobs)
    _remember_saved(hasher, [(t[1], t[2]) for t in tasks], done)
    results: list[SaveResult] = []
    offset = 0
    for path, is_dir, files in jobs:
        mine = done[offset : offset + len(files)]
        offset += len(files)
        if not is_dir:
            item = files[0]
            results.append((HashInfo(mine[0][0], item.size, isexec=item.isexec), None))
            continue
        entries = [
            TreeEntry(f.relpath, md5, f.size, f.isexec)
            for f, (md5, _r) in zip(files, mine, strict=True)
        ]
        info = odb.add_tree(entries)
        if not any(replaced for _md5, replaced in mine):
            hasher.remember_tree(path, files, info)  # the next status needs no per-file lookup
        results.append((info, entries))
    return results


_Task = tuple[_Saver, Scanned, str | None]


def _save_task(task: _Task) -> tuple[str, bool]:
    return task[0].save(task[1], task[2])


def _save_all(tasks: list[_Task], jobs: int) -> list[tuple[str, bool]]:
    """Save every file; small new files stored from their bytes may go to forked helpers."""
    small = [
        i
        for i, (saver, item, md5) in enumerate(tasks)
        if md5 is None and item.size < CHUNK and saver.stores_bytes()
    ]
    return parallel_map(_save_task, tasks, [t[1].size for t in tasks], jobs, forkable=small)


def _remember_saved(
    hasher: Hasher, files: list[tuple[Scanned, str | None]], results: list[tuple[str, bool]]
) -> None:
    """Memo rows for files hashed now (no memo md5 before) or re-linked (stat changed)."""
    rows = []
    for (f, known), (md5, replaced) in zip(files, results, strict=True):
        if replaced:
            with contextlib.suppress(OSError):
                rows.append((scanned(f.path, f.relpath, os.stat(f.path)), md5))
        elif known is None:
            rows.append((f, md5))
    hasher.remember(rows)


# -- checkout --------------------------------------------------------------------------------


def _missing_error(path: str, missing: list[str]) -> CacheError:
    shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
    return CacheError(
        f"missing cache objects for '{path}': {shown}",
        hint="fetch them with `xpt pull`, or reproduce the stage with `xpt repro`",
    )


@dataclass(frozen=True)
class OutputChange:
    """What checking out one output did, as DVC reports it: `added` when nothing was at
    the path before, else `modified`; and how many files it added, modified and deleted."""

    kind: Literal["added", "modified"]
    files_added: int = 0
    files_modified: int = 0
    files_deleted: int = 0


def checkout_output(
    odb: ODB,
    abs_path: str | os.PathLike[str],
    info: HashInfo,
    link_types: Sequence[str],
    isexec: bool = False,
    *,
    hasher: Hasher | None = None,
    relink: bool = False,
    root: str | os.PathLike[str],
) -> bool:
    """`restore_output`; True if anything changed."""
    change = restore_output(
        odb, abs_path, info, link_types, isexec, hasher=hasher, relink=relink, root=root
    )
    return change is not None


def restore_output(
    odb: ODB,
    abs_path: str | os.PathLike[str],
    info: HashInfo,
    link_types: Sequence[str],
    isexec: bool = False,
    *,
    hasher: Hasher | None = None,
    relink: bool = False,
    root: str | os.PathLike[str],
) -> OutputChange | None:
    """Make the workspace path equal to `info` from the cache; what changed, None if nothing.

    Pass the command's `hasher` so unchanged files are recognised through the memo
    (without it they are re-hashed). Raises CacheError naming missing objects, and
    UnsafePath, before touching anything, when the path or a folder above it is a
    symlink leading out of the repository `root`.
    """
    path = resolve_inside(root, abs_path, allow=(os.fspath(odb.cache_dir),))
    hasher = hasher or Hasher(Path(os.path.dirname(path)), None)
    linker = Linker(odb, os.path.dirname(path), link_types)
    try:
        if info.is_dir:
            return _checkout_tree(odb, hasher, linker, path, info, relink, os.fspath(root))
        return _checkout_file(odb, hasher, linker, path, info, isexec or info.isexec, relink)
    except OSError as exc:
        raise _translate(exc, "check out") from exc


def unsaved_files(
    odb: ODB,
    abs_path: str | os.PathLike[str],
    info: HashInfo,
    *,
    hasher: Hasher,
    root: str | os.PathLike[str],
) -> list[str]:
    """Workspace files that checking out `info` would delete or overwrite, and whose
    content is in no cache object: replacing them loses data, so it needs `--force`.

    Nothing is checked when the recorded object itself is missing (the checkout then
    touches nothing). Files equal to the record, or already cached, are safe.
    """
    path = resolve_inside(root, abs_path, allow=(os.fspath(odb.cache_dir),))
    if not os.path.lexists(path) or not odb.exists(info.md5, info.legacy):
        return []
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            files = hasher.scan_dir(path)
            desired = dict(odb.load_tree(info.md5, info.legacy)) if info.is_dir else {}
        else:
            st = os.stat(path)
            if not stat.S_ISREG(st.st_mode):
                return []
            files = [scanned(path, "", st)]
            desired = {} if info.is_dir else {"": info.md5}
        md5s = hasher.md5s(files, legacy=info.legacy)
    except FileNotFoundError:
        return []  # a dangling symlink holds no data
    except OSError as exc:
        raise _translate(exc, "check out") from exc
    return [
        f.path
        for f, md5 in zip(files, md5s, strict=True)
        if desired.get(f.relpath) != md5 and not odb.exists(md5, info.legacy)
    ]


def _checkout_file(
    odb: ODB, hasher: Hasher, linker: Linker, path: str, info: HashInfo, isexec: bool, relink: bool
) -> OutputChange | None:
    current: Scanned | None = None
    existed = os.path.lexists(path)
    change = OutputChange("modified", files_modified=1) if existed else OutputChange("added", 1)
    if existed and not relink:
        try:
            st = os.stat(path)
        except OSError:
            st = None
        if st is not None and stat.S_ISREG(st.st_mode):
            current = scanned(path, "", st)
            if hasher.md5s([current], legacy=info.legacy)[0] == info.md5:
                if isexec and not current.isexec:
                    add_exec(path)
                    return change
                return None
    if not odb.exists(info.md5, info.legacy):
        raise _missing_error(path, [info.md5])
    if os.path.isdir(path) and not os.path.islink(path):
        remove(path)
    linker.link(odb.object_path(info.md5, info.legacy), path, _raw_md5(info.md5, info.legacy))
    if isexec:
        add_exec(path)
    with contextlib.suppress(OSError):
        hasher.remember([(scanned(path, "", os.stat(path)), info.md5)], legacy=info.legacy)
    return change


def _checkout_tree(
    odb: ODB, hasher: Hasher, linker: Linker, path: str, info: HashInfo, relink: bool, root: str
) -> OutputChange | None:
    if not odb.exists(info.md5, info.legacy):
        raise _missing_error(path, [info.md5])
    desired = dict(odb.load_tree(info.md5, info.legacy))
    current: dict[str, str] = {}
    existed = os.path.lexists(path)
    if os.path.isdir(path):
        files = hasher.scan_dir(path)
        if not relink:
            current = dict(
                zip((f.relpath for f in files), hasher.md5s(files, legacy=info.legacy), strict=True)
            )
        extras = [f.relpath for f in files if f.relpath not in desired]
    else:
        extras = []
        if os.path.lexists(path):
            remove(path)
    todo = [rel for rel, md5 in desired.items() if current.get(rel) != md5]
    if todo:
        missing = odb.missing_objects(sorted({desired[rel] for rel in todo}), info.legacy)
        if missing:
            raise _missing_error(path, missing)
    check_folders_inside(root, path, [*todo, *extras])
    _remove_extras(path, extras)

    def link_one(rel: str) -> Scanned:
        dest = os.path.join(path, *rel.split("/"))
        md5 = desired[rel]
        linker.link(odb.object_path(md5, info.legacy), dest, _raw_md5(md5, info.legacy))
        return scanned(dest, rel, os.stat(dest))

    linked = parallel_map(link_one, todo, [CHUNK] * len(todo), hasher.jobs)
    hasher.remember(((f, desired[f.relpath]) for f in linked), legacy=info.legacy)
    if not (todo or extras):
        return None
    modified = sum(1 for rel in todo if rel in current)
    return OutputChange(
        "modified" if existed else "added", len(todo) - modified, modified, len(extras)
    )


def _raw_md5(md5: str, legacy: bool) -> str | None:
    """The md5 an object's raw bytes must have; None for 2.x ids (dos2unix hashes)."""
    return None if legacy else md5


def _remove_extras(top: str, extras: list[str]) -> None:
    """Delete files not in the tree, then folders that this left empty."""
    folders: set[str] = set()
    for rel in extras:
        dest = os.path.join(top, *rel.split("/"))
        remove(dest)
        parent = os.path.dirname(dest)
        while parent != top and parent.startswith(top):
            folders.add(parent)
            parent = os.path.dirname(parent)
    for folder in sorted(folders, key=len, reverse=True):
        with contextlib.suppress(OSError):
            os.rmdir(folder)


# -- unprotect / remove ----------------------------------------------------------------------


def _unprotect_file(path: str) -> None:
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode) or st.st_nlink > 1:
        mode = stat.S_IMODE(os.stat(path).st_mode) | stat.S_IWUSR
        tmp = tmp_name(path)
        try:
            copy_file(os.path.realpath(path), tmp, 0o600)
            os.chmod(tmp, mode & ~current_umask() | stat.S_IWUSR)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    elif stat.S_ISREG(st.st_mode) and not st.st_mode & stat.S_IWUSR:
        os.chmod(path, stat.S_IMODE(st.st_mode) | stat.S_IWUSR)


def unprotect(abs_path: str | os.PathLike[str]) -> None:
    """Replace links into the cache by writable copies (before a persist output is reused)."""
    path = os.fspath(abs_path)
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            for folder, _dirs, names in os.walk(path):
                for name in names:
                    _unprotect_file(os.path.join(folder, name))
        elif os.path.lexists(path):
            _unprotect_file(path)
    except OSError as exc:
        raise _translate(exc, "unprotect") from exc


def remove_output(abs_path: str | os.PathLike[str]) -> None:
    """Delete an output (file, link or folder); a missing one is fine."""
    try:
        remove(abs_path)
    except OSError as exc:
        raise _translate(exc, "remove") from exc
