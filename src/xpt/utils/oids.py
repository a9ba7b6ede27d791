"""What a hash and a tree path may look like before either becomes a file path.

The one owner of these rules: hashes come from files a repository or a remote controls
(dvc.lock, `.dvc` files, `.dir` manifests, run-cache entries, remote listings), and
each is joined into a cache path. Lives in `utils` so that `pipeline`, `cache` and
`scm` (independent layers) all check with the same rules.
"""

from __future__ import annotations

from typing import Any

_HEX = "0123456789abcdef"

DIR_SUFFIX = ".dir"
"""Ends the id of a tree object (a `.dir` manifest listing a folder's files)."""
DIR_HINT = "32 lowercase hex digits, plus `.dir` for a folder"
FILE_HINT = "32 lowercase hex digits"


def is_oid(value: Any, *, allow_dir: bool = True) -> bool:
    """A cache object id: 32 lowercase hex digits, plus `.dir` for a tree if allowed.

    `.dir` is allowed for the hash of a whole output (lock and `.dvc` entries, run-cache
    outs); never for an entry inside a `.dir` manifest, which always names a file.
    """
    if type(value) is not str:  # noqa: E721 - exact str: cheap, and no str subclass tricks
        return False
    if len(value) == 32:
        return not value.strip(_HEX)  # C-speed: this runs once per object path
    return (
        allow_dir and len(value) == 36 and value[32:] == DIR_SUFFIX and not value[:32].strip(_HEX)
    )


def bad_oid(value: Any, *, allow_dir: bool = True) -> str:
    """The message part saying why `value` is not a hash."""
    shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
    return f"md5 {shown} is not a valid hash ({DIR_HINT if allow_dir else FILE_HINT})"


def is_safe_relpath(relpath: Any) -> bool:
    """A '/'-separated path that stays inside its folder.

    Relative, no empty, '.' or '..' component, no NUL, no backslash (a Windows checkout
    would read it as a separator).
    """
    if not isinstance(relpath, str) or not relpath or "\x00" in relpath or "\\" in relpath:
        return False
    return all(part not in ("", ".", "..") for part in relpath.split("/"))


def is_safe_tree_name(name: Any) -> bool:
    """A git tree entry name xpt may write into a work tree (git's own rules, and more).

    Refused: empty, `.`, `..`, any case of `.git`, names with '/', NUL or backslash.
    """
    if not isinstance(name, str) or not name or "/" in name:
        return False
    return is_safe_relpath(name) and name.lower() != ".git"
