"""Link types between the object cache and the workspace (docs/dvc-formats.md §5.4, `cache.type`).

Types are tried in the configured order (default `reflink,copy`). A type that fails
because the filesystem cannot do it (no reflinks on ext4, no hardlinks across devices)
is remembered as broken for that (cache, device) pair for the rest of the process, so
the probe happens once per run and later files go straight to a type that works.
Every workspace path is created under a temp name and renamed into place.

A pull may leave *spare copies*: unnamed files (O_TMPFILE) holding a verified object's
bytes, written while the download was being hashed. A copy-type checkout of that object
then names the spare instead of copying the object again. Unnamed files need no
cleanup: the kernel frees any spare nobody took when its fd is closed or the process ends.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import threading
from collections.abc import Sequence

from xpt.cache import tmpfile
from xpt.cache.odb import ODB, copy_fd, copy_file, tmp_name
from xpt.errors import CacheError
from xpt.utils.fsutil import remove

LINK_TYPES = ("reflink", "hardlink", "symlink", "copy")
DEFAULT_LINK_TYPES = ("reflink", "copy")

FICLONE = 0x40049409
UNSUPPORTED = {
    "reflink": {
        errno.EOPNOTSUPP,
        errno.ENOTSUP,
        errno.EXDEV,
        errno.EINVAL,
        errno.ENOTTY,
        errno.ENOSYS,
        errno.EBADF,
        errno.EPERM,
    },
    "hardlink": {errno.EXDEV, errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EACCES},
    "symlink": {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP},
    "copy": set(),
}
_BROKEN: dict[tuple[str, int], set[str]] = {}
"""(cache root, device of the workspace folder) -> link types that failed there."""


class Unsupported(Exception):
    """This link type cannot work here; try the next one."""


# -- link-type plumbing -------------------------------------------------------------------


def check_types(link_types: Sequence[str]) -> tuple[str, ...]:
    types = tuple(link_types) or DEFAULT_LINK_TYPES
    for t in types:
        if t not in LINK_TYPES:
            raise CacheError(
                f"unknown cache.type '{t}' in .dvc/config",
                hint="use a comma-separated list of reflink, hardlink, symlink, copy",
            )
    return types


class Linker:
    """Link types usable between one cache and one workspace device."""

    def __init__(self, odb: ODB, where: str, link_types: Sequence[str]) -> None:
        self.odb = odb
        self.types = check_types(link_types)
        self.broken = _BROKEN.setdefault((os.fspath(odb.cache_dir), device_of(where)), set())

    def usable(self) -> list[str]:
        usable = [t for t in self.types if t not in self.broken]
        if not usable:
            raise CacheError(
                f"no cache.type of {', '.join(self.types)} works between "
                f"'{self.odb.cache_dir}' and the workspace",
                hint="add `copy` to cache.type in .dvc/config",
            )
        return usable

    def first(self) -> str:
        return self.usable()[0]

    def attempt(self, link_type: str, exc: OSError) -> None:
        """Mark `link_type` broken if `exc` says the filesystem cannot do it, else re-raise."""
        if exc.errno in UNSUPPORTED[link_type]:
            self.broken.add(link_type)
            return
        raise exc

    def link(self, obj: str, dest: str, md5: str | None = None) -> str:
        """Create `dest` from object file `obj` with the first type that works.

        Empty objects are copied instead of hardlinked, as DVC does. Where a copy is what
        this makes, a spare copy of `obj` (see the module doc) is used when there is one;
        otherwise, given the object's raw `md5`, the copy is hashed while it is made and
        refused (CorruptObject, `dest` untouched) if the bytes do not match.
        """
        usable = self.usable()
        if _SPARES and "copy" in usable and usable[0] in ("reflink", "copy"):
            spare = take_spare(obj)
            if spare is not None and place_spare(spare, dest):
                return "copy"
        for link_type in usable:
            if link_type == "hardlink" and os.stat(obj).st_size == 0:
                link_type = "copy"
            try:
                place(obj, dest, link_type, md5, self.odb)
                return link_type
            except OSError as exc:
                if exc.errno == errno.EMLINK:
                    continue  # too many links to this one object: next type, not broken
                self.attempt(link_type, exc)
        raise CacheError(f"cannot link '{dest}' from the cache", hint="add `copy` to cache.type")


def device_of(path: str) -> int:
    probe = path
    while True:
        try:
            return os.stat(probe).st_dev
        except OSError:
            parent = os.path.dirname(probe)
            if parent == probe:
                return -1
            probe = parent


def clone(src: str, dst: str, mode: int) -> None:
    """Reflink `src` into a new file `dst` (FICLONE); OSError if unsupported."""
    sfd = os.open(src, os.O_RDONLY)
    try:
        dfd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            fcntl.ioctl(dfd, FICLONE, sfd)
        finally:
            os.close(dfd)
    finally:
        os.close(sfd)


def make(src: str, dst: str, link_type: str, mode: int = 0o666) -> None:
    """Create new path `dst` from `src` with one link type."""
    if link_type == "hardlink":
        os.link(src, dst)
    elif link_type == "symlink":
        os.symlink(os.path.abspath(src), dst)
    elif link_type == "reflink":
        try:
            clone(src, dst, mode)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(dst)
            raise
    else:
        copy_file(src, dst, mode)


def place(
    obj: str, dest: str, link_type: str, md5: str | None = None, odb: ODB | None = None
) -> None:
    """Atomically make `dest` a link/copy of `obj` (temp name + rename over `dest`).

    A copy of an object whose raw `md5` is given is verified while it is made, unless
    `odb` knows the object file is unchanged since xpt last hashed it.
    """
    ensure_dir(os.path.dirname(dest))
    tmp = tmp_name(dest)
    try:
        if link_type == "copy" and md5 is not None:
            copy_verified(obj, tmp, md5, odb)
        else:
            make(obj, tmp, link_type)
        replace_path(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def copy_verified(obj: str, dst: str, md5: str, odb: ODB | None = None) -> None:
    """Copy the object `obj` to the new file `dst`, hashing the bytes as they are read
    (CorruptObject if they do not hash to `md5`); a big object `odb` knows intact is
    copied by the kernel alone."""
    from xpt.cache.remote_backends import SourceChanged, copy_local, corrupt_object

    with open(obj, "rb") as src, open(dst, "xb") as out:
        if odb is not None and odb.known_intact(obj, os.fstat(src.fileno()), md5):
            copy_fd(src.fileno(), out.fileno())
            return
        try:
            actual = copy_local(src, out)
        except SourceChanged:
            actual = "(it changed while it was read)"
    if actual != md5:
        raise corrupt_object(obj, md5, actual)


def replace_path(tmp: str, dest: str) -> None:
    try:
        os.replace(tmp, dest)
    except OSError as exc:
        if exc.errno not in (errno.EISDIR, errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):
            raise
        remove(dest)
        os.replace(tmp, dest)


def ensure_dir(folder: str) -> None:
    """makedirs that replaces a file standing where a folder must be."""
    try:
        os.makedirs(folder, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        probe = folder
        while probe and not os.path.isdir(probe):
            if os.path.lexists(probe):
                remove(probe)
                break
            probe = os.path.dirname(probe)
        os.makedirs(folder, exist_ok=True)


def add_exec(path: str) -> None:
    """Owner +x, as DVC restores `isexec` (on hardlinks this marks the object too)."""
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if not mode & stat.S_IEXEC:
        os.chmod(path, mode | stat.S_IEXEC)


# -- spare copies (pull) ------------------------------------------------------------------

_SPARES: dict[str, int] = {}
"""Object path -> fd of an unnamed file holding a private copy of that object."""
_SPARES_LOCK = threading.Lock()
SPARE_LIMIT = 256
"""Spares held at once (each is an open fd)."""


def unnamed_file(folder: str) -> int | None:
    """A new unnamed file in `folder`, open for reading and writing (mode 0666 less umask).

    None where O_TMPFILE is unsupported, or when SPARE_LIMIT spares are already held.
    """
    if len(_SPARES) >= SPARE_LIMIT:
        return None
    try:
        return tmpfile.unnamed_file(folder, os.O_RDWR)
    except OSError:
        return None


def offer_spare(obj: str, fd: int) -> None:
    """Hand over `fd`, a complete copy of the verified object file `obj`, for a checkout."""
    with _SPARES_LOCK:
        old = _SPARES.pop(obj, None)
        _SPARES[obj] = fd
    if old is not None:
        os.close(old)


def take_spare(obj: str) -> int | None:
    """The spare copy of `obj` (the caller now owns the fd), or None."""
    with _SPARES_LOCK:
        return _SPARES.pop(obj, None)


def drop_spares() -> None:
    """Free every spare nobody took."""
    with _SPARES_LOCK:
        fds = list(_SPARES.values())
        _SPARES.clear()
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def place_spare(fd: int, dest: str) -> bool:
    """Give the unnamed file `fd` the name `dest` (temp name + rename); closes `fd`.

    False when it cannot be named there (another mount, no /proc): copy instead.
    """
    tmp = os.path.abspath(tmp_name(dest))
    try:
        ensure_dir(os.path.dirname(tmp))
        tmpfile.name_fd(fd, tmp)
    except OSError:
        return False
    finally:
        os.close(fd)
    try:
        replace_path(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return True
