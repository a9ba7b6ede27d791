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

This module must stay import-light: only builtins (`marshal`, `_blake2`) and `os`.
"""

from __future__ import annotations

import marshal
import os
import stat
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds to import
    from typing import Any

try:  # the builtin module hashlib re-exports: no OpenSSL to load
    from _blake2 import blake2b as _blake2b
except ImportError:  # pragma: no cover - CPython always has it
    from hashlib import blake2b as _blake2b

MEMO_NAME = "verdicts.marshal"
MEMO_FORMAT = 4
MAX_ENTRIES = 32

# Paths in a watch list: (absolute path, recursive). A recursive directory is
# snapshotted with everything under it; a flat one only by its own stat (a cache
# prefix folder changes its mtime when an object is added or removed).
Watch = tuple[str, bool]
Row = tuple[object, ...]
Snapshot = list[Row]

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


def _file_row(path: str, st: os.stat_result) -> Row:
    return (path, st.st_mode, st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns)


_S_IFMT = 0o170000
_S_IFREG = 0o100000


SPLIT_MIN = 10_000
"""A replay walks a folder recorded with this many entries or more on two cores."""
_SHARE_MIN = 16
"""Subfolders to share out between the two (every other one: enough for a fair split)."""


class _Reentry(Exception):
    """A folder reachable twice (symlink, bind mount): a split walk would not be exact."""


class _Walker:
    """Collects stat rows; symlinks are followed (a link's target may change under it).

    A watched path gives its own row (two for a symlink: the link, then its target).
    A recursive folder adds one row for all it holds: (path, "tree", entries, digest,
    whether a folder in it is reached through a symlink or twice).
    The digest covers the folder's own listing, then the digest of each subfolder's
    subtree in listing order; a subtree's digest covers each of its folders' path and
    the name, mode, size, inode, mtime and ctime of every entry, in listing order (an
    unchanged folder lists the same way; a different order costs one full run, never a
    wrong replay). One digest instead of a row per file keeps the memo small, its load
    cheap and the walk a tight loop. `timed` also keeps the newest mtime/ctime seen,
    for `store`'s racy check; `split` names the folders worth walking on two cores.
    """

    def __init__(self, timed: bool = False, split: frozenset[str] = frozenset()) -> None:
        self.rows: Snapshot = []
        self.newest = 0
        self._timed = timed
        self._split = split
        self._strict = False
        self._linked = 0  # folders met through a symlink or met again (see `_walk_split`)
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
        if recursive and stat.S_ISDIR(st.st_mode) and self._enter(st):
            self.rows.append(self._tree(path))

    def _enter(self, st: os.stat_result) -> bool:
        """True the first time a folder is met (a symlink loop is walked once)."""
        key = (st.st_dev, st.st_ino)
        if key in self._dirs:
            return False
        self._dirs.add(key)
        return True

    def _tree(self, top: str) -> Row:
        """The summary row of everything under folder `top` (see the class docstring)."""
        parts = self._walk_split(top) if top in self._split else None
        linked = self._linked
        count, digest = parts or self._subtree(top)
        return (top, "tree", count, digest.hex(), self._linked > linked)

    def _subtree(self, top: str) -> tuple[int, bytes]:
        """(entries, digest) of folder `top` and everything under it, walked in order.

        A folder's digest covers its own listing, then each subfolder's digest in
        listing order (a tree of digests: any subfolder may be walked elsewhere).
        """
        rows, folders = self._list(top)
        root: list[Any] = [_folder_digest(top, rows), len(rows), iter(folders)]
        stack = [root]
        while stack:
            frame = stack[-1]
            folder = next(frame[2], None)
            if folder is None:
                stack.pop()
                if stack:
                    stack[-1][0].update(frame[0].digest())
                    stack[-1][1] += frame[1]
            else:
                rows, folders = self._list(folder)
                stack.append([_folder_digest(folder, rows), len(rows), iter(folders)])
        return root[1], root[0].digest()

    def _list(self, folder: str) -> tuple[list[Row], list[str]]:
        """The stat rows of a folder's entries, and the subfolders to walk."""
        rows: list[Row] = []
        folders: list[str] = []
        append = rows.append
        try:
            with os.scandir(folder) as it:
                for entry in it:  # the hot loop: one lstat per entry, one tuple
                    st = entry.stat(follow_symlinks=False)
                    mode = st.st_mode
                    append(
                        (entry.name, mode, st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns)
                    )
                    if mode & _S_IFMT != _S_IFREG:
                        self._special(entry, st, rows, folders)
        except OSError:
            append(("", "unreadable"))
        if self._timed:
            self.newest = max(self.newest, _newest(rows))
        return rows, folders

    def _special(
        self, entry: os.DirEntry[str], st: os.stat_result, rows: list[Row], folders: list[str]
    ) -> None:
        """A folder to enter, or a symlink to follow (its target's stat is a row too)."""
        if stat.S_ISLNK(st.st_mode):
            try:
                st = os.stat(entry.path)
            except OSError:
                rows.append((entry.name, "dangling"))
                return
            rows.append((entry.name, "->", *_file_row("", st)[1:]))
            if stat.S_ISDIR(st.st_mode):
                self._reached_twice(entry.path)
        if stat.S_ISDIR(st.st_mode):
            if self._enter(st):
                folders.append(entry.path)
            else:
                self._reached_twice(entry.path)
                rows.append((entry.name, "seen"))

    def _reached_twice(self, path: str) -> None:
        """Note a folder that may be reached twice; a split walk gives up on it."""
        if self._strict:
            raise _Reentry(path)
        self._linked += 1

    def _walk_split(self, top: str) -> tuple[int, bytes] | None:
        """`_subtree(top)` on two cores, or None: walk it in order after all.

        The upper folders are listed here, level by level, until there are enough
        subfolders below them to share; a forked helper walks every other one of
        those, this process the rest, and the upper digests are then put together.
        Exact only while no folder is reachable twice (then each subtree's walk is
        independent of the others): a symlinked folder or one met again makes either
        side give up.
        """
        before = set(self._dirs)
        self._strict = True
        try:
            upper, frontier = self._upper(top)
            done = self._share(frontier) if frontier else {}
        except _Reentry:
            done = None
        finally:
            self._strict = False
        if done is None:
            self._dirs = before
            return None
        for folder, rows, folders in reversed(upper):  # deepest first
            digest = _folder_digest(folder, rows)
            count = len(rows)
            for sub in folders:
                n, sub_digest = done[sub]
                count += n
                digest.update(sub_digest)
            done[folder] = (count, digest.digest())
        return done[top]

    def _upper(self, top: str) -> tuple[list[tuple[str, list[Row], list[str]]], list[str]]:
        """The folders listed before sharing out (breadth first), and those left below."""
        upper: list[tuple[str, list[Row], list[str]]] = []
        frontier = [top]
        while frontier and len(frontier) < _SHARE_MIN:
            below: list[str] = []
            for folder in frontier:
                rows, folders = self._list(folder)
                upper.append((folder, rows, folders))
                below.extend(folders)
            frontier = below
        return upper, frontier

    def _share(self, folders: list[str]) -> dict[str, tuple[int, bytes]] | None:
        """`_subtree` of each folder, every other one walked by a forked helper."""
        read_fd, write_fd = os.pipe()
        try:
            pid = os.fork()
        except OSError:  # no process to spare: walk them here
            os.close(read_fd)
            os.close(write_fd)
            return None
        if pid == 0:  # the helper: its half, then its digests and folders down the pipe
            code = 1
            try:
                os.close(read_fd)
                theirs = {f: self._subtree(f) for f in folders[1::2]}
                with open(write_fd, "wb") as out:
                    out.write(marshal.dumps((theirs, list(self._dirs))))
                code = 0
            finally:
                os._exit(code)
        os.close(write_fd)
        try:
            done = {f: self._subtree(f) for f in folders[0::2]}
        except BaseException:
            os.kill(pid, 9)  # SIGKILL: its half is of no use now
            raise
        finally:
            with open(read_fd, "rb") as pipe:
                data = pipe.read()
            _pid, status = os.waitpid(pid, 0)
        if status != 0:
            return None
        theirs, dirs = marshal.loads(data)
        self._dirs.update(dirs)
        done.update(theirs)
        return done


def _folder_digest(folder: str, rows: list[Row]) -> Any:
    """A folder's digest, fed its listing (its subfolders' digests follow)."""
    return _blake2b(marshal.dumps((folder, rows), 2), digest_size=16)  # v2: no sharing refs


def _newest(rows: Snapshot) -> int:
    """The latest mtime/ctime among stat rows (the last two fields of a full row)."""
    newest = 0
    for row in rows:
        if len(row) >= 6 and isinstance(row[-1], int):
            newest = max(newest, row[-1], row[-2])  # type: ignore[call-overload]
    return newest


def snapshot(watch: list[Watch]) -> Snapshot:
    """Stat rows of every watched path (recursive folders summed up in one row each)."""
    walker = _Walker()
    for path, recursive in watch:
        walker.add(path, recursive)
    return walker.rows


def timed_snapshot(watch: list[Watch], exempt: frozenset[str]) -> tuple[Snapshot, int]:
    """`snapshot`, and the latest mtime/ctime in it (watched paths in `exempt` left out;
    everything inside a recursive folder counts)."""
    walker = _Walker(timed=True)
    for path, recursive in watch:
        walker.add(path, recursive)
    own = [row for row in walker.rows if row[0] not in exempt]
    return walker.rows, max(walker.newest, _newest(own))


def _cores() -> int:
    """How many CPUs this process may run on."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity else os.cpu_count() or 1


def unchanged(watch: list[Watch], recorded: object, split_min: int = SPLIT_MIN) -> bool:
    """True when a snapshot of `watch` equals `recorded`; stops at the first difference.

    Folders recorded with `split_min` entries or more are walked on two cores when the
    process may use two.
    """
    if not isinstance(recorded, list):
        return False
    big = frozenset(  # a tree with symlinked folders (its last field) is walked in order
        str(row[0])
        for row in recorded
        if isinstance(row, tuple)
        and row[1:2] == ("tree",)
        and row[4:] == (False,)
        and row[2] >= split_min
    )
    if big and _cores() < 2:
        big = frozenset()
    walker = _Walker(split=big)
    done = 0
    for path, recursive in watch:
        walker.add(path, recursive)
        now = len(walker.rows)
        if walker.rows[done:now] != recorded[done:now]:
            return False
        done = now
    return done == len(recorded)


def load(root: str) -> dict[str, object]:
    """The memo file's entries (empty when absent or unreadable)."""
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
        if not unchanged(entry["watch"], entry["snapshot"]):
            return None
        sys.stdout.write(entry["stdout"])
        sys.stdout.flush()
        return int(entry["code"])
    except Exception:  # noqa: BLE001 - any surprise means: take the full path
        return None
