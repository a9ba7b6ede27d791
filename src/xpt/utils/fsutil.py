"""Filesystem helpers: atomic writes and path utilities.

Every file xpt writes for the user (dvc.lock, params, .gitignore, cache objects) goes
through `atomic_write_*`: a temp file in the same directory and `os.replace`, so a kill
never leaves a half-written file.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, mode: int | None = None) -> None:
    """Write `data` to `path` atomically (temp + fsync-free rename in the same folder)."""
    import tempfile

    path = os.fspath(path)
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".xpt-tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        if mode is not None:
            os.chmod(tmp, mode)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
            if not os.path.exists(path):
                os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str, mode: int | None = None) -> None:
    """Text flavour of `atomic_write_bytes` (UTF-8, newlines untouched)."""
    atomic_write_bytes(path, text.encode("utf-8"), mode=mode)


_UMASK: int | None = None


def current_umask() -> int:
    """The process umask (read once; reading it requires setting it)."""
    global _UMASK
    if _UMASK is None:
        _UMASK = os.umask(0o022)
        os.umask(_UMASK)
    return _UMASK


@contextlib.contextmanager
def atomic_open_write(path: str | os.PathLike[str]) -> Iterator[tuple[str, int]]:
    """Yield (tmp_path, fd) for streaming writes; renamed over `path` on success."""
    import tempfile

    path = os.fspath(path)
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".xpt-tmp-")
    try:
        yield tmp, fd
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def remove(path: str | os.PathLike[str]) -> None:
    """Remove a file, symlink or directory tree; missing paths are fine."""
    path = os.fspath(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        import shutil

        def _onerror(func, p, _exc):  # type: ignore[no-untyped-def]
            with contextlib.suppress(OSError):
                os.chmod(os.path.dirname(p), 0o700)
            func(p)

        for root, dirs, _files in os.walk(path):
            for d in dirs:
                with contextlib.suppress(OSError):
                    os.chmod(os.path.join(root, d), 0o700)
        shutil.rmtree(path, onerror=_onerror)
    else:
        os.unlink(path)


def is_inside(child: str, parent: str) -> bool:
    """True if posix relative path `child` equals or lies under `parent`."""
    if parent in ("", "."):
        return True
    return child == parent or child.startswith(parent.rstrip("/") + "/")


def posix_rel(path: str | os.PathLike[str], start: str | os.PathLike[str]) -> str:
    """Relative path from `start` to `path` with '/' separators."""
    return Path(os.path.relpath(path, start)).as_posix()


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


_ESCAPE_HINT = "remove or replace that symlink (or move the data inside the repository) and retry"


def resolve_inside(
    root: str | os.PathLike[str],
    path: str | os.PathLike[str],
    *,
    allow: Iterable[str] = (),
    replace_leaf: bool = False,
) -> str:
    """`path` (absolute, or relative to `root`) if writing or deleting it stays inside `root`.

    The one check before xpt writes or deletes a path a repository names: the path must
    lie inside `root`, no folder above it may be a symlink leading out of `root`, and the
    path itself may be a symlink only to somewhere inside `root` or one of the `allow`
    folders (the cache, for symlink-type checkouts). With `replace_leaf` the caller only
    unlinks or renames over the path itself, never follows it, so any symlink there is
    fine. Otherwise UnsafePath; nothing is touched. Returns the absolute path, with
    `root` as given.
    """
    from xpt.errors import UnsafePath

    top = os.path.abspath(root)
    full = os.path.abspath(os.path.join(top, path))
    rel = os.path.relpath(full, top)
    if not _under(full, top) or rel == ".":
        raise UnsafePath(f"'{path}' is outside the repository '{top}'")
    real_top = os.path.realpath(top)
    parent = os.path.realpath(os.path.dirname(full))
    if not _under(parent, real_top):
        raise UnsafePath(
            f"'{rel}': a folder above it is a symlink leading outside the repository "
            f"(to '{parent}'); refusing to write or delete through it",
            hint=_ESCAPE_HINT,
        )
    if not replace_leaf and os.path.islink(full):
        target = os.path.realpath(full)
        if not _under(target, real_top) and not any(
            _under(target, os.path.realpath(a)) for a in allow
        ):
            raise UnsafePath(
                f"'{rel}' is a symlink leading outside the repository (to '{target}'); "
                "refusing to write or delete through it",
                hint=_ESCAPE_HINT,
            )
    return full


def check_folders_inside(root: str | os.PathLike[str], top: str, relpaths: Iterable[str]) -> None:
    """`resolve_inside` for the folders holding `relpaths` ('/'-separated, under `top`).

    Each distinct folder is resolved once, so a tree of many files in few folders is cheap.
    """
    seen: set[str] = set()
    for rel in relpaths:
        folder = rel.rpartition("/")[0]
        while folder and folder not in seen:
            seen.add(folder)
            resolve_inside(root, os.path.join(top, *folder.split("/")))
            folder = folder.rpartition("/")[0]
