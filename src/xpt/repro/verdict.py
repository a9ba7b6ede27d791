"""Record "nothing to do" verdicts that `xpt.fastpath` replays (the full-path side).

After a `repro` or `status` found every selected stage up to date, this module lists
everything that verdict rests on and stores it with the printed output, keyed by the
command line (with the variables that locate config files, see `fastpath.memo_key`).
What it watches, and why each matters:

- every path the command read, as noted by the readers themselves (`utils/readlog.py`):
  files read through the workspace reader (dvc.yaml, dvc.lock, params and vars files),
  the folders searched for dvc.yaml, every `.dvcignore` consulted (nested ones too),
  every config file (global, repo, local and xpt's siblings), cache objects read;
  present or absent;
- each stage's dependencies and outputs, recursively;
- the cache objects of cached outputs (a deleted object makes a stage "not in cache"):
  the object file, and for directories every cache prefix folder its files live in;
- the source files of every xpt module the command ran (the build identity: an
  edited or reinstalled xpt never replays an older build's verdict).

A verdict is not recorded if any watched path changed in the last moments (a later
change could then keep the same mtime), so replaying it can never hide a change.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from xpt.config import config_path
from xpt.errors import XptError
from xpt.fastpath import (
    MAX_ENTRIES,
    MEMO_FORMAT,
    Watch,
    load,
    memo_path,
    timed_snapshot,
)
from xpt.pipeline.lockfile import read_lock
from xpt.pipeline.lockformat import LockEntry
from xpt.pipeline.model import Reader, Stage
from xpt.pipeline.parse import find_dvcfiles
from xpt.project import Project
from xpt.utils import readlog
from xpt.utils.fsutil import atomic_write_bytes
from xpt.utils.oids import DIR_SUFFIX

if TYPE_CHECKING:  # the workspace (hasher, state DB) is not needed to record exp show
    from xpt.repro.workspace import Workspace

RACY_NS = 100_000_000
"""Paths changed less than this long before the snapshot make a verdict unsafe to keep."""


class ReadLog:
    """Wraps a workspace reader to remember every repo path it was asked for."""

    def __init__(self, read: Reader) -> None:
        self._read = read
        self.paths: list[str] = []

    def __call__(self, path: str) -> bytes | None:
        self.paths.append(path)
        return self._read(path)


def track_reads(ws: Workspace) -> ReadLog:
    """Make `ws` log its reads from now on."""
    log = ReadLog(ws.read)
    ws.read = log
    return log


def _cache_watch(ws: Workspace, stage: Stage, entry: LockEntry | None) -> list[Watch]:
    if not entry:
        return []
    recorded = entry.outs_by_path()
    watch: list[Watch] = []
    for out in stage.outs:
        item = recorded.get(out.path)
        md5 = item.md5 if item else None
        if not out.cache or item is None or md5 is None:
            continue
        legacy = item.legacy
        watch.append((ws.odb.object_path(md5, legacy), False))
        if md5.endswith(DIR_SUFFIX):
            try:
                children = ws.odb.load_tree(md5, legacy)
            except (XptError, OSError):
                continue
            folders = {os.path.dirname(ws.odb.object_path(c, legacy)) for _r, c in children}
            watch.extend((folder, False) for folder in sorted(folders))
    return watch


def watch_list(ws: Workspace, stages: Iterable[Stage], reads: ReadLog) -> list[Watch]:
    """Everything the verdict over `stages` depends on (see the module docstring)."""
    root = str(ws.root)
    watch: dict[str, bool] = {}

    def add(path: str, recursive: bool) -> None:
        watch[path] = watch.get(path, False) or recursive

    find_dvcfiles(ws.root)  # noted: the folders where a new dvc.yaml would matter
    locks: dict[str, dict[str, LockEntry]] = {}
    for stage in stages:
        for dep in stage.deps:
            add(os.path.join(root, stage.repo_path(dep)), True)
        for out in stage.outs:
            add(os.path.join(root, stage.repo_path(out.path)), True)
        if stage.lockfile not in locks:
            locks[stage.lockfile] = read_lock(reads(stage.lockfile), stage.lockfile)
        for path, recursive in _cache_watch(ws, stage, locks[stage.lockfile].get(stage.name)):
            add(path, recursive)
    for rel in reads.paths:
        add(os.path.join(root, rel), False)
    return list(watch.items())


@contextlib.contextmanager
def noting() -> Iterator[int]:
    """Note reads inside the block; yields the clock reading to pass to `record`/`store`.

    Enter it before the command reads anything (before the workspace or config is opened).
    Noting stops on the way out, stored or not.
    """
    readlog.start()
    try:
        yield time.time_ns()
    finally:
        readlog.stop()


def code_watch() -> list[Watch]:
    """The source files of the xpt modules loaded now (the verdict's build identity)."""
    files = (
        getattr(module, "__file__", None)
        for name, module in list(sys.modules.items())
        if name == "xpt" or name.startswith("xpt.")
    )
    return [(path, False) for path in sorted({f for f in files if f})]


def store(
    root: str,
    key: str,
    watch: list[Watch],
    stdout: str,
    since_ns: int,
    written: frozenset[str] = frozenset(),
) -> bool:
    """Keep a verdict computed from reads made after `since_ns`; False if unsafe (racy).

    A watched path that changed after `since_ns - RACY_NS` may have changed while the
    verdict was computed, or may change again without its mtime moving: not kept.
    Paths in `written` are the command's own output files (watched only so that a
    replay happens while they still exist unchanged): they are exempt from that check.
    """
    watch = list(dict.fromkeys([*watch, *readlog.stop().items(), *code_watch()]))
    rows, newest = timed_snapshot(watch, written)
    if newest > since_ns - RACY_NS:
        return False
    entries = load(root)
    entries.pop(key, None)
    entries[key] = {"watch": watch, "snapshot": rows, "stdout": stdout, "code": 0}
    while len(entries) > MAX_ENTRIES:
        entries.pop(next(iter(entries)))
    data = marshal.dumps({"format": MEMO_FORMAT, "entries": entries})
    os.makedirs(os.path.dirname(memo_path(root)), exist_ok=True)
    atomic_write_bytes(memo_path(root), data)
    return True


def record(
    ws: Workspace, key: str, stages: Iterable[Stage], reads: ReadLog, stdout: str, since_ns: int
) -> bool:
    """Store a repro/status verdict over `stages` (see `store`)."""
    return store(str(ws.root), key, watch_list(ws, stages, reads), stdout, since_ns)


def git_watch(root: str) -> list[Watch] | None:
    """HEAD, packed refs and every loose ref of the repo at `root` (None: not a plain repo).

    Git objects never change, so refs are all a view over commits depends on.
    """
    git_dir = os.path.join(root, ".git")
    if not os.path.isdir(git_dir):
        return None
    return [
        (os.path.join(git_dir, "HEAD"), False),
        (os.path.join(git_dir, "packed-refs"), False),
        (os.path.join(git_dir, "refs"), True),
    ]


def record_show(
    project: Project,
    key: str,
    reads: ReadLog,
    visited: list[str],
    stdout: str,
    since_ns: int,
    *,
    queue_files: list[str],
) -> bool:
    """Store an `exp show --json` result: it rests on git refs (commits never change),
    the work-tree files it read, the folders searched for dvc.yaml and the queue's
    `queue_files` (named by the queue, a layer above)."""
    root = str(project.root)
    refs = git_watch(root)
    if refs is None:
        return False
    watch = [(os.path.join(root, rel) if rel else root, False) for rel in visited]
    watch += [(os.path.join(root, rel), False) for rel in reads.paths]
    watch += [(path, False) for path in queue_files]
    watch += refs
    return store(root, key, list(dict.fromkeys(watch)), stdout, since_ns)


def record_commits(
    project: Project, key: str, written: list[str], stdout: str, since_ns: int
) -> bool:
    """Store a result computed from commits only (`plots diff --json REV...`): it rests on
    git refs, the config and plot templates, and the files the command wrote."""
    root = str(project.root)
    refs = git_watch(root)
    if refs is None:
        return False
    dvc_dir = str(project.dvc_dir)
    watch: list[Watch] = [
        (str(config_path(project.dvc_dir, local)), False) for local in (False, True)
    ]
    watch += [(os.path.join(dvc_dir, "plots"), True)]
    watch += [(path, False) for path in written]
    watch += refs
    # the command wrote these files, and so changed the folders holding them
    ours = frozenset(written) | {os.path.dirname(path) for path in written}
    return store(root, key, list(dict.fromkeys(watch)), stdout, since_ns, ours)
