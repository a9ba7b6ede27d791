"""Replay a memoised "nothing to do" verdict without loading the pipeline machinery.

A no-op `repro` or `status` spends almost all its time importing Python modules (YAML,
hashing, SQLite, dataclasses); the work itself is a few stats. When a full run finds
every selected stage up to date it records a *verdict*: the exact output it printed and
a stat snapshot of everything the verdict depends on (dvc.yaml and dvc.lock files,
params and vars files, every dependency and output down to each file of a directory,
the cache objects of cached outputs, the folders searched for dvc.yaml, the config).
The next identical command in the same folder takes one snapshot again; if it is
equal, nothing can have changed and the recorded output is printed. Anything unusual
(another flag, a different xpt, a busy workspace, a changed stat, an unreadable memo)
falls through to the full command, so the memo can make a command faster, never wrong.
`XPT_NO_MEMO=1` turns the memo off (nothing replayed, nothing recorded).

This module must stay import-light: only builtins and `os`.
"""

from __future__ import annotations

import os
import stat
import sys

MEMO_NAME = "verdicts.marshal"
MEMO_FORMAT = 1
MAX_ENTRIES = 32

# Paths in a watch list: (absolute path, recursive). A recursive directory is
# snapshotted with everything under it; a flat one only by its own stat (a cache
# prefix folder changes its mtime when an object is added or removed).
Watch = tuple[str, bool]
Snapshot = list[tuple[object, ...]]

# Command lines the fast path accepts: command words -> (allowed flags, required flags).
# `exp show` only as JSON: its table depends on the terminal and on today's date.
_COMMANDS: dict[tuple[str, ...], tuple[frozenset[str], frozenset[str]]] = {
    ("repro",): (frozenset(), frozenset()),
    ("status",): (frozenset({"--json"}), frozenset()),
    ("exp", "show"): (frozenset({"--json"}), frozenset({"--json"})),
    # recorded only when every revision is a commit (no workspace) and nothing failed;
    # VS Code's extension runs `plots diff REV... -o DIR --split --json`
    ("plots", "diff"): (
        frozenset({"--json", "--split", "-o", "--out", "--targets"}),
        frozenset({"--json"}),
    ),
    ("data", "status"): (frozenset({"--json", "--granular", "--unchanged"}), frozenset({"--json"})),
}
FIRST_WORDS = frozenset(cmd[0] for cmd in _COMMANDS)
NO_MEMO_VAR = "XPT_NO_MEMO"
_KEY_VARS = ("HOME", "XDG_CONFIG_HOME", "TZ")
"""Variables that locate files a command reads (the global config) or shape its output;
every `DVC_*` and `XPT_*` variable is part of the key as well."""


def memo_key(argv: list[str], cwd: str) -> str | None:
    """The memo key of a command line, or None when it is not eligible."""
    words = next((w for w in _COMMANDS if tuple(argv[: len(w)]) == w), None)
    if words is None:
        return None
    allowed, required = _COMMANDS[words]
    env = os.environ
    if env.get("GIT_DIR") or env.get("GIT_WORK_TREE"):
        return None  # the repository is not the one the memo's paths describe
    if env.get(NO_MEMO_VAR, "") not in ("", "0"):
        return None
    rest = argv[len(words) :]
    if any(a.startswith("-") and a not in allowed for a in rest) or not required <= set(rest):
        return None
    import xpt

    # The build: this install's version and folder (its source files are watched).
    build = (xpt.__version__, os.path.dirname(xpt.__file__ or ""), sys.version_info[:2])
    variables = sorted(
        (k, v) for k, v in env.items() if k in _KEY_VARS or k.startswith(("DVC_", "XPT_"))
    )
    return "\0".join([repr((build, variables, cwd)), *argv])


def find_root(start: str) -> str | None:
    """The nearest ancestor of `start` holding `.dvc/` (as `Project.find` does)."""
    here = start
    while True:
        if os.path.isdir(os.path.join(here, ".dvc")):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def memo_path(root: str) -> str:
    return os.path.join(root, ".dvc", "tmp", "xpt", MEMO_NAME)


def _file_row(path: str, st: os.stat_result) -> tuple[object, ...]:
    return (path, st.st_mode, st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns)


class _Walker:
    """Collects stat rows; symlinks are followed (a link's target may change under it)."""

    def __init__(self) -> None:
        self.rows: Snapshot = []
        self._dirs: set[tuple[int, int]] = set()

    def add(self, path: str, recursive: bool) -> None:
        try:
            st = os.lstat(path)
        except OSError:
            self.rows.append((path,))
            return
        self.rows.append(_file_row(path, st))
        if stat.S_ISLNK(st.st_mode):
            try:
                st = os.stat(path)
            except OSError:
                self.rows.append((path, "dangling"))
                return
            self.rows.append(_file_row(path, st))
        if recursive and stat.S_ISDIR(st.st_mode) and (st.st_dev, st.st_ino) not in self._dirs:
            self._dirs.add((st.st_dev, st.st_ino))
            self._walk(path)

    def _walk(self, path: str) -> None:
        try:
            with os.scandir(path) as it:
                names = sorted(entry.name for entry in it)
        except OSError:
            self.rows.append((path, "unreadable"))
            return
        for name in names:
            self.add(os.path.join(path, name), True)


def snapshot(watch: list[Watch]) -> Snapshot:
    """Stat rows of every watched path (recursive ones with all they contain)."""
    walker = _Walker()
    for path, recursive in watch:
        walker.add(path, recursive)
    return walker.rows


def newest_change_ns(rows: Snapshot) -> int:
    """The latest mtime/ctime in a snapshot (to refuse recording racy verdicts)."""
    newest = 0
    for row in rows:
        if len(row) == 6:
            newest = max(newest, int(row[4]), int(row[5]))  # type: ignore[call-overload]
    return newest


def load(root: str) -> dict[str, object]:
    """The memo file's entries (empty when absent or unreadable)."""
    import marshal

    try:
        with open(memo_path(root), "rb") as f:
            data = marshal.load(f)
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if not isinstance(data, dict) or data.get("format") != MEMO_FORMAT:
        return {}
    entries = data.get("entries")
    return entries if isinstance(entries, dict) else {}


def _workspace_free(root: str) -> bool:
    """True when no repro / exp run holds the workspace lock right now."""
    import fcntl

    path = os.path.join(root, ".dvc", "tmp", "xpt", "workspace.lock")
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def replay(argv: list[str]) -> int | None:
    """Print a recorded verdict and return its exit code, or None to run normally."""
    try:
        cwd = os.getcwd()
        key = memo_key(argv, cwd)
        if key is None:
            return None
        root = find_root(cwd)
        if root is None:
            return None
        entry = load(root).get(key)
        if not isinstance(entry, dict) or not _workspace_free(root):
            return None
        if snapshot(entry["watch"]) != entry["snapshot"]:
            return None
        sys.stdout.write(entry["stdout"])
        sys.stdout.flush()
        return int(entry["code"])
    except Exception:  # noqa: BLE001 - any surprise means: take the full path
        return None
