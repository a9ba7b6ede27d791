"""`.gitignore` entries for cached outputs, written the way DVC writes them.

Each cached output gets `/<basename>` (gitignore-escaped) in the `.gitignore` of its
parent directory, unless git already ignores it; removing the output removes the line
and an emptied `.gitignore` is deleted. An output git already tracks is refused.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path
from typing import TYPE_CHECKING

from xpt.errors import ScmError
from xpt.utils.fsutil import atomic_write_bytes

if TYPE_CHECKING:
    from xpt.scm.git import Git

GITIGNORE = ".gitignore"


def gitignore_for(repo_path: str) -> str:
    """The repo-relative `.gitignore` that lists an output (`/`-separated path)."""
    parent = posixpath.dirname(repo_path)
    return posixpath.join(parent, GITIGNORE) if parent else GITIGNORE


SPECIAL = set("\\*?[]#!")


def escape(name: str) -> str:
    """Backslash-escape gitignore pattern characters (and trailing spaces) in a basename."""
    escaped = "".join("\\" + c if c in SPECIAL else c for c in name)
    stripped = escaped.rstrip(" ")
    return stripped + "\\ " * (len(escaped) - len(stripped))


def entry_for(path: str) -> str:
    """The line that ignores `path` from the `.gitignore` next to it."""
    return "/" + escape(os.path.basename(path.rstrip("/")))


def _locate(root: Path, git: Git, repo_path: str) -> tuple[str, str] | None:
    """(absolute output path, path relative to the git root); None outside the repo."""
    full = os.path.join(os.path.abspath(root), repo_path)
    parent = os.path.realpath(os.path.dirname(full))
    rel_parent = os.path.relpath(parent, os.path.realpath(git.root))
    if rel_parent == ".." or rel_parent.startswith(".." + os.sep):
        return None
    base = os.path.basename(os.path.normpath(full))
    rel = base if rel_parent == "." else Path(rel_parent, base).as_posix()
    return os.path.join(parent, base), rel


def _read(path: str) -> str:
    """File content ('' if absent); undecodable bytes survive a rewrite unchanged."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape", newline="") as f:
            return f.read()
    except FileNotFoundError:
        return ""
    except OSError as exc:
        raise ScmError(f"cannot read '{path}': {exc.strerror}") from exc


def _write(path: str, text: str) -> None:
    try:
        atomic_write_bytes(path, text.encode("utf-8", "surrogateescape"))
    except OSError as exc:
        raise ScmError(f"cannot write '{path}': {exc.strerror}") from exc


def ignore_output(root: Path, git: Git, repo_path: str) -> str | None:
    """Make git ignore a cached output; returns the `.gitignore` it changed, if any.

    `repo_path` is relative to `root` (the project root).
    """
    located = _locate(root, git, repo_path)
    if located is None:
        return None
    full, rel = located
    if git.is_tracked(rel):
        raise ScmError(
            f"output '{repo_path}' is already tracked by SCM (e.g. Git)",
            hint=f"stop tracking it with `git rm -r --cached '{repo_path}'` and commit",
        )
    if git.is_ignored(rel):
        return None
    gitignore = os.path.join(os.path.dirname(full), GITIGNORE)
    entry = entry_for(full)
    text = _read(gitignore)
    if entry in (line.rstrip("\r") for line in text.splitlines()):
        return None
    if text and not text.endswith("\n"):
        text += "\n"
    _write(gitignore, text + entry + "\n")
    return gitignore


def unignore_output(root: Path, git: Git, repo_path: str) -> str | None:
    """Remove the output's line; delete an emptied `.gitignore`. Returns the file changed."""
    located = _locate(root, git, repo_path)
    if located is None:
        return None
    full, _rel = located
    gitignore = os.path.join(os.path.dirname(full), GITIGNORE)
    entry = entry_for(full)
    lines = _read(gitignore).splitlines()
    kept = [line for line in lines if line.rstrip("\r") != entry]
    if len(kept) == len(lines):
        return None
    if not any(line.strip() for line in kept):
        try:
            os.unlink(gitignore)
        except OSError as exc:
            raise ScmError(f"cannot remove '{gitignore}': {exc.strerror}") from exc
        return gitignore
    _write(gitignore, "\n".join(kept) + "\n")
    return gitignore
