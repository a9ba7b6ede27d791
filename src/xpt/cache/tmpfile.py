"""Files that appear whole or not at all, without a temp name: `O_TMPFILE` + `linkat`.

A temp file + rename costs a directory entry created and renamed, and (for cache
objects) a stat first to see whether the object exists. An `O_TMPFILE` inode has no
name until `linkat` gives it one, and `linkat` refuses an existing name (EEXIST), which
is the existence check. A kill before the link leaves nothing behind: the kernel frees
the unnamed inode when its fd closes. Where the filesystem or kernel lacks it, callers
get None and fall back to temp + rename.
"""

from __future__ import annotations

import errno
import os

_FLAG = getattr(os, "O_TMPFILE", 0)
_NO_TMPFILE = frozenset({errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOSYS})
_NO_LINKAT = frozenset({errno.ENOENT, errno.EXDEV, errno.EPERM, errno.EACCES, errno.ENOSYS})
_root_fd: list[int] = []
_unsupported: set[str] = set()
"""Folders where O_TMPFILE failed; "" when naming unnamed files fails everywhere."""


def name_fd(fd: int, path: str) -> None:
    """Give the unnamed file open as `fd` the name `path` (FileExistsError if taken).

    `os.link` calls linkat(AT_SYMLINK_FOLLOW) only when given dir fds; through
    /proc/self/fd/N it then names the inode itself.
    """
    if not _root_fd:
        _root_fd.append(os.open("/", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC))
    os.link(f"/proc/self/fd/{fd}", path, src_dir_fd=_root_fd[0], dst_dir_fd=_root_fd[0])


def unnamed_file(folder: str, flags: int = os.O_WRONLY) -> int | None:
    """An fd of a new unnamed file on `folder`'s filesystem, or None where unsupported."""
    if not _FLAG or folder in _unsupported or "" in _unsupported:
        return None
    try:
        return os.open(folder, flags | _FLAG | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        if exc.errno in _NO_TMPFILE:
            _unsupported.add(folder)
            return None
        raise


def write_new(path: str, data: bytes, mode: int) -> bool | None:
    """Create `path` holding `data` with `mode`, in one step.

    True when created, False when `path` already existed (left as it is), None when it
    cannot be done here (the caller uses temp + rename). Other failures (a missing
    folder, a full disk) raise OSError.
    """
    fd = unnamed_file(os.path.dirname(path))
    if fd is None:
        return None
    try:
        os.fchmod(fd, mode)  # the umask applies to O_TMPFILE too
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        try:
            name_fd(fd, path)
        except FileExistsError:
            return False
        except OSError as exc:
            if exc.errno in _NO_LINKAT:
                _unsupported.add("")  # no /proc, or linkat may not follow here
                return None
            raise
        return True
    finally:
        os.close(fd)
